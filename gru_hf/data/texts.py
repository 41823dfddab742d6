"""Texts without labels: a bounded sample of a dataset's texts, and the texts of a file (e.g. to predict on)."""

import itertools
from collections.abc import Iterable, Mapping

from .columns import LABEL_COLUMN_CANDIDATES, by_name, check_texts, columns_of, guess_text_column
from .common import source_of
from .files import SUPPORTED_EXTENSIONS, check_file, load_file, peek_columns

TEXT_FILE_EXTENSIONS = {**SUPPORTED_EXTENSIONS, ".txt": "txt"}
_ROLE = "input"


def sample_texts(dataset: Iterable, n: int) -> list[str]:
    """The first `n` texts of a dataset (in-memory or streaming) or of any iterable of examples or strings: a bounded
    sample, e.g. to train a tokenizer on a stream."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return [item["text"] if isinstance(item, Mapping) else item for item in itertools.islice(iter(dataset), n)]


def _read_lines(path: str) -> list[str]:
    """One text per line: a BOM dropped, `\\r` stripped, blank lines skipped."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        lines = (line.rstrip("\n").rstrip("\r") for line in f)
        return [line for line in lines if line.strip()]


def _text_column(columns: list[str], features, text_column: str | None, source: str, option: str) -> str:
    if text_column is not None:
        if text_column not in columns:
            raise ValueError(f"{source} has no column {text_column!r} ({option}); its columns are {columns}")
        return text_column
    text = guess_text_column(columns, features, by_name(columns, LABEL_COLUMN_CANDIDATES))
    if text is None:
        raise ValueError(f"Cannot tell which column of {source} holds the texts; pass {option} (columns: {columns})")
    return text


def load_texts(path: str, text_column: str | None = None, option: str = "--text_column") -> list[str]:
    """The texts of a file: csv, tsv, json, jsonl or parquet with the text column resolved as for training files
    (`text_column`, else text/sentence/content/review/document, else the only string column that is not a label
    column), or .txt with one text per line (a BOM dropped, `\\r` stripped, blank lines skipped).

    Raises:
        `FileNotFoundError`, `ValueError`: a one-line message naming the file (and column): a missing or empty file,
        an unsupported extension, invalid UTF-8, a missing column, null or empty texts. `option` is the command-line
        flag the messages name for the text column.
    """
    fmt = check_file(path, _ROLE, TEXT_FILE_EXTENSIONS)
    if fmt == "txt":
        if text_column is not None:
            raise ValueError(f"The {_ROLE} file {path} has one text per line and no columns: drop {option}")
        return _read_lines(path)
    header = peek_columns(path, fmt)
    if header is not None and text_column is not None:
        _text_column(header, None, text_column, f"The {_ROLE} file {path}", option)
    ds = load_file(path, fmt, _ROLE)
    source = source_of(ds, _ROLE)
    columns, features = columns_of(ds)
    column = _text_column(columns, features, text_column, source, option)
    ds = ds.select_columns([column])
    if column != "text":
        ds = ds.rename_column(column, "text")
    check_texts(ds, source, column)
    return list(ds["text"])
