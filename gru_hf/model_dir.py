"""Checks that a directory is a complete, readable gru-hf model before `predict`, `push` or `export` load it."""

import json
import os

REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "modeling_gru.py")


def check_model_directory(path: str | os.PathLike) -> None:
    """Raise a one-line error unless `path` is a complete gru-hf model directory whose config, weights and
    tokenizer can be read (see `validate_model_directory`)."""
    if not os.path.isdir(path):
        raise FileNotFoundError(f"model directory {path} does not exist")
    missing = [name for name in REQUIRED_FILES if not os.path.isfile(os.path.join(path, name))]
    if missing:
        raise FileNotFoundError(f"{path} is not a complete gru-hf model directory: missing {', '.join(missing)}")
    validate_model_directory(path)


def validate_model_directory(path: str | os.PathLike) -> None:
    """Open `config.json`, the header of `model.safetensors` and (if present) `tokenizer.json` of `path`, and
    raise a one-line `ValueError` naming the file (and field) that is unreadable, truncated or inconsistent.

    transformers' own errors for a damaged `model.safetensors` ("Error while deserializing header: ...") do not
    name the file. Nothing is unpickled and no tensor is read."""
    from safetensors import SafetensorError, safe_open

    from .configuration_gru import GRUConfig

    config_file = os.path.join(path, "config.json")
    weights_file = os.path.join(path, "model.safetensors")
    for name in (config_file, weights_file):
        if not os.path.isfile(name):
            raise FileNotFoundError(f"{name} does not exist")
    try:
        with open(config_file, encoding="utf-8") as f:
            values = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{config_file} is not valid JSON: {err}") from None
    if not isinstance(values, dict):
        raise ValueError(f"{config_file} must hold a JSON object, got {type(values).__name__}")
    if values.get("model_type") != GRUConfig.model_type:
        raise ValueError(f"{config_file}: model_type is {values.get('model_type')!r}, not {GRUConfig.model_type!r}")
    try:
        config = GRUConfig.from_dict(values)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{config_file}: {err}") from None

    try:
        with safe_open(weights_file, framework="pt") as f:
            f.keys()
    except (SafetensorError, OSError) as err:
        raise ValueError(f"{weights_file} is truncated or corrupt: {err}") from None

    tokenizer_file = os.path.join(path, "tokenizer.json")
    if os.path.isfile(tokenizer_file):
        try:
            with open(tokenizer_file, encoding="utf-8") as f:
                tokenizer = json.load(f)
            ids = [int(i) for i in tokenizer["model"]["vocab"].values()]
            ids += [int(token["id"]) for token in tokenizer.get("added_tokens") or []]
        except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"{tokenizer_file} is not a readable word-level tokenizer: {err!r}") from None
        if ids and max(ids) >= config.vocab_size:
            raise ValueError(
                f"{tokenizer_file} has token ids up to {max(ids)}, but {config_file} has vocab_size="
                f"{config.vocab_size}: the tokenizer does not match this model"
            )


__all__ = ["REQUIRED_FILES", "check_model_directory", "validate_model_directory"]
