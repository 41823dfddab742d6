"""Sharing a trained model directory on the Hugging Face Hub (or any Hub-compatible server: `HF_ENDPOINT`)."""

import os

from .model_dir import check_model_directory, validate_model_directory  # noqa: F401  (validate_*: old import path)

# Training leftovers that are not part of the model.
IGNORE_PATTERNS = ["checkpoint-*", "checkpoint-*/**", "runs/**", "*.tmp", ".*"]


class PushError(ValueError):
    """The Hub refused or failed an upload."""


def push_directory(
    path: str | os.PathLike,
    repo_id: str,
    token: str | None = None,
    private: bool | None = None,
    commit_message: str = "Upload gru-hf model",
) -> str:
    """Upload weights, config, tokenizer, code files, model card and pictures of `path` to the model repo `repo_id`
    (created if needed); checkpoints are left out. Returns the commit URL."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    check_model_directory(path)
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        commit = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(path),
            repo_type="model",
            commit_message=commit_message,
            ignore_patterns=IGNORE_PATTERNS,
        )
    except HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else "?"
        hint = " (check your token: HF_TOKEN, --token or `hf auth login`)" if status in (401, 403) else ""
        raise PushError(
            f"push of {path} to {repo_id} failed: HTTP {status}{hint}: {str(err).splitlines()[0]}"
        ) from err
    return getattr(commit, "commit_url", str(commit))


__all__ = ["IGNORE_PATTERNS", "PushError", "push_directory"]
