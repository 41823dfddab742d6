"""In-domain texts without labels (`--unlabelled_file`), for the transfer set: labelled by the teacher only."""

import json
import os
from pathlib import Path

FORMATS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "json", ".parquet": "parquet", ".txt": "txt"}


def check_unlabelled_file(path: str) -> str:
    """Cheap checks, before any long work; returns the format."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--unlabelled_file {path} does not exist")
    extension = Path(path).suffix.lower()
    if extension not in FORMATS:
        raise ValueError(
            f"--unlabelled_file {path} has an unsupported extension {extension!r}; use one of {', '.join(FORMATS)}"
        )
    if os.path.getsize(path) == 0:
        raise ValueError(f"--unlabelled_file {path} is empty")
    return FORMATS[extension]


def read_unlabelled_texts(path: str, text_column: str | None = None) -> list[str]:
    """The non-empty texts of `path` (csv/tsv/json/jsonl/parquet: `text_column`, else the column gru-hf's loaders
    would pick; txt: one text per line), in file order."""
    try:
        from ..data import load_texts  # the data module's reader, where it exists
    except ImportError:
        load_texts = None
    if load_texts is not None:
        texts = list(load_texts(path, text_column=text_column))
    else:
        texts = _read(path, check_unlabelled_file(path), text_column)
    texts = [text for text in texts if isinstance(text, str) and text.strip()]
    if not texts:
        raise ValueError(f"--unlabelled_file {path} has no non-empty texts")
    return texts


def _read(path: str, fmt: str, text_column: str | None) -> list:
    if fmt == "txt":
        try:
            with open(path, encoding="utf-8-sig") as f:
                return [line.rstrip("\n") for line in f]
        except UnicodeDecodeError as err:
            raise ValueError(f"--unlabelled_file {path} is not valid UTF-8 (byte {err.start})") from None
    import pandas as pd

    try:
        if fmt in ("csv", "tsv"):
            frame = pd.read_csv(
                path, sep="\t" if fmt == "tsv" else ",", encoding="utf-8-sig", keep_default_na=False, dtype=str
            )
        elif fmt == "parquet":
            frame = pd.read_parquet(path)
        else:
            with open(path, encoding="utf-8-sig") as f:
                head = f.read(1).strip() or f.read(64).strip()[:1]
            frame = pd.read_json(path, lines=path.lower().endswith(".jsonl") or head != "[")
    except (ValueError, UnicodeDecodeError, json.JSONDecodeError, OSError) as err:
        reason = " ".join(str(err).split())[:200]
        raise ValueError(f"could not read --unlabelled_file {path} as {fmt}: {reason}") from None
    from ..data import TEXT_COLUMN_CANDIDATES

    columns = [str(c) for c in frame.columns]
    if text_column is not None:
        if text_column not in columns:
            raise ValueError(f"--unlabelled_file {path} has no column {text_column!r}; its columns are {columns}")
        column = text_column
    else:
        lowered = {c.lower(): c for c in reversed(columns)}
        column = next((lowered[c] for c in TEXT_COLUMN_CANDIDATES if c in lowered), None)
        if column is None:
            strings = [c for c in columns if frame[c].map(lambda v: isinstance(v, str)).all()]
            column = strings[0] if len(strings) == 1 else None
        if column is None:
            raise ValueError(
                f"cannot tell which column of --unlabelled_file {path} holds the texts; pass "
                f"--unlabelled_text_column (columns: {columns})"
            )
    return frame[column].tolist()


__all__ = ["check_unlabelled_file", "read_unlabelled_texts"]
