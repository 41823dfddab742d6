"""Checks that a directory is a complete, readable gru-hf model before `predict`, `push` or `export` load it."""

import json
import os

# GRUConfig.model_type, here without importing transformers (which imports torch); a test checks they agree.
MODEL_TYPE = "gru_hf"
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "modeling_gru.py")
# `gru-hf export` records the SHA-256 of these files in onnx/export.json: an export is current while they match.
EXPORT_RECORD = os.path.join("onnx", "export.json")
EXPORT_SOURCES = ("model.safetensors", "config.json", "tokenizer.json")


def looks_like_local_path(name: str) -> bool:
    """A name that can only mean a local path (a Hub repo id is `name` or `namespace/name`)."""
    return (
        os.path.exists(name)
        or name.startswith((".", "/", "~"))
        or name.count("/") > 1
        or (os.sep != "/" and os.sep in name)
    )


def hub_load_error(subject: str, err: Exception) -> FileNotFoundError:
    """One line for a name that is no local directory and that the Hub did not give either: `subject` (e.g. "x is
    not a local model directory") and the first sentence of the Hub's reason."""
    reason = " ".join(str(err).split()).split(". ")[0][:300]
    return FileNotFoundError(f"{subject}, and loading it from the Hub failed: {reason}")


def _check_is_directory(path: str | os.PathLike) -> None:
    if os.path.isfile(path):
        raise NotADirectoryError(f"{path} is a file, not a model directory")
    if not os.path.isdir(path):
        raise FileNotFoundError(f"model directory {path} does not exist")


def check_model_directory(path: str | os.PathLike) -> None:
    """Raise a one-line error unless `path` is a complete gru-hf model directory whose config, weights and
    tokenizer can be read (see `validate_model_directory`)."""
    _check_is_directory(path)
    missing = [name for name in REQUIRED_FILES if not os.path.isfile(os.path.join(path, name))]
    if missing:
        raise FileNotFoundError(f"{path} is not a complete gru-hf model directory: missing {', '.join(missing)}")
    validate_model_directory(path)


def check_onnx_directory(path: str | os.PathLike, quantized: bool = False) -> tuple[str, dict, dict]:
    """Raise a one-line error unless `path` holds what `OnnxClassifier` reads (config, tokenizer and the exported
    graph), checked without torch; return the graph's path, the config's values and the parsed `tokenizer.json`."""
    _check_is_directory(path)
    graph = os.path.join(path, "onnx", "model_quantized.onnx" if quantized else "model.onnx")
    if not os.path.isfile(graph):
        hint = " --quantize int8" if quantized else ""
        raise FileNotFoundError(f"{graph} does not exist: run `gru-hf export {os.fspath(path)}{hint}` first")
    missing = [name for name in ("config.json", "tokenizer.json") if not os.path.isfile(os.path.join(path, name))]
    if missing:
        raise FileNotFoundError(f"{path} is not a complete gru-hf model directory: missing {', '.join(missing)}")
    values = read_config(path)
    vocab_size = values.get("vocab_size")
    tokenizer = _check_tokenizer(path, int(vocab_size) if vocab_size else None)
    changed = changed_since_export(path)
    if changed:
        raise ValueError(
            f"{graph} is out of date: {', '.join(changed)} changed after it was exported; run "
            f"`gru-hf export {os.fspath(path)}{' --quantize int8' if quantized else ''}` again"
        )
    return graph, values, tokenizer


def source_digests(path: str | os.PathLike) -> dict[str, str]:
    """{file name: SHA-256 hex} of the `EXPORT_SOURCES` present in `path` (what an ONNX export is made from)."""
    import hashlib

    digests = {}
    for name in EXPORT_SOURCES:
        file = os.path.join(path, name)
        if os.path.isfile(file):
            digest = hashlib.sha256()
            with open(file, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            digests[name] = digest.hexdigest()
    return digests


def changed_since_export(path: str | os.PathLike) -> list[str] | None:
    """The source files of `path` that differ from what `onnx/export.json` recorded at export (a file now absent
    is not counted: a serving-only copy may leave the weights out); `[]` when the export is current, `None` when
    there is no readable record (an export written before gru-hf recorded one)."""
    record = os.path.join(path, EXPORT_RECORD)
    try:
        with open(record, encoding="utf-8") as f:
            recorded = json.load(f)["sources"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    now = source_digests(path)
    return [name for name in EXPORT_SOURCES if name in now and recorded.get(name) != now[name]]


def read_config(path: str | os.PathLike) -> dict:
    """The JSON object of `path/config.json`, or a one-line `ValueError` naming the file when it is not JSON, not
    an object, or not a gru-hf config."""
    config_file = os.path.join(path, "config.json")
    if not os.path.isfile(config_file):
        raise FileNotFoundError(f"{config_file} does not exist")
    try:
        with open(config_file, encoding="utf-8") as f:
            values = json.load(f)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{config_file} is not valid JSON: {err}") from None
    if not isinstance(values, dict):
        raise ValueError(f"{config_file} must hold a JSON object, got {type(values).__name__}")
    if values.get("model_type") != MODEL_TYPE:
        raise ValueError(f"{config_file}: model_type is {values.get('model_type')!r}, not {MODEL_TYPE!r}")
    return values


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
    values = read_config(path)
    try:
        config = GRUConfig.from_dict(values)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{config_file}: {err}") from None

    try:
        with safe_open(weights_file, framework="pt") as f:
            f.keys()
    except (SafetensorError, OSError) as err:
        raise ValueError(f"{weights_file} is truncated or corrupt: {err}") from None
    _check_tokenizer(path, config.vocab_size)


def _check_tokenizer(path: str | os.PathLike, vocab_size: int | None) -> dict | None:
    """A `path/tokenizer.json` (if present) must be a word-level tokenizer whose ids fit `vocab_size`; returns it
    parsed (None without the file)."""
    tokenizer_file = os.path.join(path, "tokenizer.json")
    if not os.path.isfile(tokenizer_file):
        return None
    try:
        with open(tokenizer_file, encoding="utf-8") as f:
            tokenizer = json.load(f)
        ids = [int(i) for i in tokenizer["model"]["vocab"].values()]
        ids += [int(token["id"]) for token in tokenizer.get("added_tokens") or []]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError(f"{tokenizer_file} is not a readable word-level tokenizer: {err!r}") from None
    if ids and vocab_size is not None and max(ids) >= vocab_size:
        raise ValueError(
            f"{tokenizer_file} has token ids up to {max(ids)}, but {os.path.join(path, 'config.json')} has "
            f"vocab_size={vocab_size}: the tokenizer does not match this model"
        )
    return tokenizer


__all__ = [
    "EXPORT_RECORD",
    "EXPORT_SOURCES",
    "MODEL_TYPE",
    "REQUIRED_FILES",
    "changed_since_export",
    "check_model_directory",
    "check_onnx_directory",
    "read_config",
    "source_digests",
    "validate_model_directory",
]
