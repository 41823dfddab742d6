"""Sharing a trained model directory on the Hugging Face Hub (or any Hub-compatible server: `HF_ENDPOINT`)."""

import os

from .model_dir import check_model_directory, validate_model_directory  # noqa: F401  (validate_*: old import path)

# Pickles never leave the machine: loading one runs arbitrary code (the Trainer writes training_args.bin).
PICKLE_PATTERNS = ["*.bin", "*.pt", "*.pkl", "*.pth", "*.pickle"]
# Training leftovers that are not part of the model, and pickles.
IGNORE_PATTERNS = ["checkpoint-*", "checkpoint-*/**", "runs/**", "*.tmp", ".*", *PICKLE_PATTERNS]


def write_training_arguments_json(path: str | os.PathLike) -> str | None:
    """Write `training_args.json` (JSON, safe to share) next to the Trainer's `training_args.bin` (a pickle, never
    pushed). The pickle is our own training job's file on this machine. Returns the JSON path, or None."""
    pickled = os.path.join(path, "training_args.bin")
    target = os.path.join(path, "training_args.json")
    if not os.path.isfile(pickled) or os.path.isfile(target):
        return target if os.path.isfile(target) else None
    import torch

    arguments = torch.load(pickled, weights_only=False)
    text = arguments.to_json_string() if hasattr(arguments, "to_json_string") else None
    if text is None:
        return None
    with open(target, "w", encoding="utf-8") as f:
        f.write(text)
    return target


class PushError(ValueError):
    """The Hub refused or failed an upload."""


def check_hub_reachable(option: str) -> None:
    """A push with the Hub switched off (HF_HUB_OFFLINE=1) is refused before any work, not after training."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        raise PushError(
            f"{option}: the Hugging Face Hub is switched off (HF_HUB_OFFLINE=1): unset it to push, or push the saved "
            "directory later with `gru-hf push DIR REPO_ID`"
        )


def push_directory(
    path: str | os.PathLike,
    repo_id: str,
    token: str | None = None,
    private: bool | None = None,
    commit_message: str = "Upload gru-hf model",
) -> str:
    """Upload weights, config, tokenizer, code files, model card, pictures and the training arguments as JSON of
    `path` to the model repo `repo_id` (created if needed); checkpoints and pickles (`PICKLE_PATTERNS`) are left
    out. Returns the commit URL."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    check_model_directory(path)
    check_hub_reachable("gru-hf push")
    write_training_arguments_json(path)
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


__all__ = [
    "IGNORE_PATTERNS",
    "PICKLE_PATTERNS",
    "PushError",
    "check_hub_reachable",
    "push_directory",
    "write_training_arguments_json",
]
