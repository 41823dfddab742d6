"""Which columns hold the texts and the labels (asked for or guessed), renaming them to `text` / `labels`, and the
row checks: texts are non-empty strings, labels are present and not NaN."""

import math

import datasets
import pyarrow as pa
import pyarrow.compute as pc

from .arguments import DataArguments
from .common import arrow_column, feature_name, first_true, is_list_type, is_string_feature, plural, source_of

TEXT_COLUMN_CANDIDATES = ("text", "sentence", "content", "review", "document")
LABEL_COLUMN_CANDIDATES = ("label", "labels", "target", "class", "category")


def named_columns(args: DataArguments) -> list[tuple[str, str]]:
    """The (column, option) pairs the user named explicitly."""
    pairs = ((args.text_column, "text_column"), (args.label_column, "label_column"))
    return [(wanted, option) for wanted, option in pairs if wanted is not None]


def check_named_columns(columns: list[str], args: DataArguments, source: str) -> None:
    """Every explicitly named column is among `columns` (`source` names the file or split in the error)."""
    for wanted, option in named_columns(args):
        if wanted not in columns:
            raise ValueError(f"{source} has no column {wanted!r} (--{option}); its columns are {columns}")


def columns_of(ds) -> tuple[list[str], datasets.Features | None]:
    if ds.features is not None:
        return list(ds.features), ds.features
    first = next(iter(ds), None)  # a stream without a schema: look at its first example
    return (list(first) if first else []), None


def by_name(columns: list[str], candidates: tuple[str, ...]) -> str | None:
    lowered = {column.lower(): column for column in reversed(columns)}
    return next((lowered[c] for c in candidates if c in lowered), None)


def guess_text_column(columns: list[str], features, label: str | None) -> str | None:
    """A text column by name, else the only string column other than the labels (None when unsure)."""
    text = by_name(columns, TEXT_COLUMN_CANDIDATES)
    if text is None and features is not None:
        strings = [c for c in columns if c != label and is_string_feature(features.get(c))]
        text = strings[0] if len(strings) == 1 else None
    return text


def resolve_columns(columns: list[str], features, args: DataArguments, source: str) -> tuple[str, str]:
    """The (text, label) column names: the ones asked for, or guessed. Named columns are checked by the caller."""
    label = args.label_column or by_name(columns, LABEL_COLUMN_CANDIDATES)
    text = args.text_column or guess_text_column(columns, features, label)
    missing = [option for option, value in (("--text_column", text), ("--label_column", label)) if value is None]
    if missing:
        options = " and ".join(missing)
        raise ValueError(f"Cannot tell which columns of {source} to use; pass {options} (columns: {columns})")
    if text == label:
        raise ValueError(f"--text_column and --label_column are both {text!r}")
    return text, label


def check_guessed_columns(ds, split: str, guessed: list[str], train_columns: list[str]) -> None:
    """A split other than `train` has the columns guessed from the training split."""
    split_columns = list(ds.features) if ds.features is not None else train_columns
    for wanted in guessed:
        if wanted not in split_columns:
            raise ValueError(f"{source_of(ds, split)} has no column {wanted!r}; its columns are {split_columns}")


def select_columns(ds, text: str, label: str):
    ds = ds.select_columns([text, label])
    if (text, label) == ("text", "labels"):
        return ds
    ds = ds.rename_columns({text: "__gru_hf_text__", label: "__gru_hf_labels__"})
    return ds.rename_columns({"__gru_hf_text__": "text", "__gru_hf_labels__": "labels"})


def check_texts(ds: datasets.Dataset, source: str, text_column: str) -> None:
    """Texts must be non-empty strings. Row numbers count from 0, header excluded."""
    if ds.num_rows == 0:
        raise ValueError(f"{source} has no rows")
    feature = ds.features["text"]
    if not is_string_feature(feature):
        values = list(ds["text"]) if isinstance(feature, datasets.Json) else [None]
        first = next((i for i, value in enumerate(values) if value is not None and not isinstance(value, str)), 0)
        kind = type(values[first]).__name__ if isinstance(feature, datasets.Json) else feature_name(feature)
        raise ValueError(
            f"{source}: text column {text_column!r} holds {kind} values, not strings (first at row {first})"
        )
    texts = arrow_column(ds, "text")
    if texts.null_count:
        first = first_true(pc.is_null(texts))
        missing = plural(texts.null_count, "missing (null) text")
        raise ValueError(f"{source}: {missing} in column {text_column!r}, first at row {first}")
    empty = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(texts)), 0)
    count = pc.sum(empty).as_py() or 0
    if count:
        raise ValueError(
            f"{source}: {plural(count, 'empty text')} in column {text_column!r}, first at row {first_true(empty)}"
        )


def check_labels(ds: datasets.Dataset, source: str, label_column: str) -> None:
    """Labels must be present, of one type, and not NaN (nor null inside a label list)."""
    labels = arrow_column(ds, "labels")
    if labels.null_count:
        first = first_true(pc.is_null(labels))
        missing = plural(labels.null_count, "missing (null) label")
        raise ValueError(f"{source}: {missing} in column {label_column!r}, first at row {first}")
    if isinstance(ds.features["labels"], datasets.Json):
        raise ValueError(f"{source}: label column {label_column!r} mixes value types (e.g. numbers and strings)")
    values, parents = labels, None
    if is_list_type(labels):
        values, parents = pc.list_flatten(labels), pc.list_parent_indices(labels)
        if values.null_count:
            row = parents[first_true(pc.is_null(values))].as_py()
            raise ValueError(f"{source}: a label list in column {label_column!r} holds a null value, at row {row}")
    if pa.types.is_floating(values.type):
        nan = pc.is_nan(values)
        if pc.any(nan).as_py():
            index = first_true(nan)
            row = index if parents is None else parents[index].as_py()
            nans = plural(pc.sum(nan).as_py(), "NaN label")
            raise ValueError(f"{source}: {nans} in column {label_column!r}, first at row {row}")


def check_rows(ds: datasets.Dataset, source: str, text_column: str, label_column: str) -> None:
    """`check_texts` then `check_labels`."""
    check_texts(ds, source, text_column)
    check_labels(ds, source, label_column)


def lazy_row_checks(ds: datasets.IterableDataset) -> datasets.IterableDataset:
    """The row checks of a stream, made as the examples come."""
    source = source_of(ds, "train")

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


def unlabelled(ds: datasets.Dataset) -> bool:
    """True for a split without labels (all null, or all -1 as GLUE test sets have)."""
    labels = arrow_column(ds, "labels")
    if labels.null_count == len(labels):
        return True
    return pa.types.is_integer(labels.type) and bool(pc.all(pc.equal(labels, -1)).as_py())
