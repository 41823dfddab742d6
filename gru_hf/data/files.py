"""Local data files: cheap checks (existence, extension, emptiness, Parquet magic, UTF-8), the column names read
from a file's head, and loading a file with `datasets`."""

import codecs
import csv
import json
import os
from collections.abc import Mapping
from pathlib import Path

import datasets

from .common import one_line, set_source

SUPPORTED_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}
_UTF8_CHUNK = 1 << 20


def check_file(path: str, split: str, extensions: Mapping[str, str] = SUPPORTED_EXTENSIONS) -> str:
    """Cheap checks of one data file; returns its format (the value of its extension in `extensions`)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"The {split} file {path} does not exist")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"The {split} file {path} is not a file")
    extension = Path(path).suffix.lower()
    if extension not in extensions:
        supported = ", ".join(sorted(extensions))
        raise ValueError(f"The {split} file {path} has an unsupported extension {extension!r}; use one of {supported}")
    fmt = extensions[extension]
    if os.path.getsize(path) == 0:
        raise ValueError(f"The {split} file {path} is empty")
    if fmt == "parquet":
        with open(path, "rb") as f:
            if f.read(4) != b"PAR1":
                raise ValueError(f"The {split} file {path} is not a Parquet file")
    else:
        check_utf8(path, split)
        if fmt in ("csv", "tsv"):
            check_csv_head(path, split, fmt)
    return fmt


def check_csv_head(path: str, split: str, fmt: str) -> None:
    """A first row with more fields than the header makes pandas (behind `datasets`' csv loader) read the first
    column as a row index and drop it without a word: texts with unquoted commas would lose their start and the
    other columns shift. Refuse that file, naming the row."""
    delimiter = "\t" if fmt == "tsv" else ","
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = csv.reader(f, delimiter=delimiter)
        header = next(rows, None)
        first = next((row for row in rows if row), None)
    if header is None or first is None or len(first) <= len(header):
        return
    separator = "tab" if fmt == "tsv" else "comma"
    raise ValueError(
        f"The {split} file {path}: its first row has {len(first)} fields but the header has {len(header)} "
        f'({", ".join(header)}); a text with an unquoted {separator}? Quote such texts ("like, this")'
    )


def check_utf8(path: str, split: str) -> None:
    """Decode the whole file as UTF-8 in chunks; report the first bad byte's offset and line."""
    offset, lines, pending, has_content = 0, 0, b"", False
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_UTF8_CHUNK)
            data, final = pending + chunk, not chunk
            try:
                text, consumed = codecs.utf_8_decode(data, "strict", final)
            except UnicodeDecodeError as err:
                line = lines + data[: err.start].count(b"\n") + 1
                raise ValueError(
                    f"The {split} file {path} is not valid UTF-8: byte 0x{data[err.start]:02x} at offset "
                    f"{offset + err.start} (line {line}); re-save it as UTF-8"
                ) from None
            has_content = has_content or bool(text.lstrip("\ufeff").strip())
            lines += data[:consumed].count(b"\n")
            offset += consumed
            pending = data[consumed:]
            if final:
                break
    if not has_content:
        raise ValueError(f"The {split} file {path} is empty")


def peek_columns(path: str, fmt: str) -> list[str] | None:
    """The column names, read cheaply from the file's head (None when that is not possible)."""
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        with open(path, encoding="utf-8-sig", newline="") as f:
            if fmt in ("csv", "tsv"):
                return next(csv.reader(f, delimiter="\t" if fmt == "tsv" else ","))
            for line in f:
                if line.strip():
                    record = json.loads(line)
                    return list(record) if isinstance(record, dict) else None
    except Exception:  # the real load reports any problem
        return None
    return None


def load_file(path: str, fmt: str, split: str, streaming: bool = False):
    """One file as a `datasets.Dataset` (or `IterableDataset` when streaming), its source recorded."""
    builder, kwargs = fmt, {}
    if fmt in ("csv", "tsv"):
        # Only empty fields are missing: "NA", "null" or "None" are legitimate texts.
        builder, kwargs = "csv", {"encoding": "utf-8-sig", "keep_default_na": False, "na_values": [""]}
        if fmt == "tsv":
            kwargs["delimiter"] = "\t"
    try:
        ds = datasets.load_dataset(builder, data_files={split: path}, split=split, streaming=streaming, **kwargs)
    except Exception as err:
        reason = one_line(err)
        if "corresponds to no data" in reason:
            raise ValueError(f"The {split} file {path} has no rows") from None
        raise ValueError(f"Could not read the {split} file {path} as {fmt}: {reason}") from None
    if not streaming and ds.num_rows == 0:
        raise ValueError(f"The {split} file {path} has no rows")
    return set_source(ds, f"{split} file {path}")
