"""In-domain texts without labels (`--unlabelled_file`), for the transfer set: labelled by the teacher only."""

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
    would pick; txt: one text per line), in file order, read by `gru_hf.data.load_texts`."""
    from ..data import load_texts

    check_unlabelled_file(path)
    texts = [
        text
        for text in load_texts(path, text_column=text_column, option="--unlabelled_text_column")
        if isinstance(text, str) and text.strip()
    ]
    if not texts:
        raise ValueError(f"--unlabelled_file {path} has no non-empty texts")
    return texts


__all__ = ["check_unlabelled_file", "read_unlabelled_texts"]
