"""Labelled text datasets for training: local files, Hub datasets or the embedded BBC News corpus, as a
`datasets.DatasetDict` with exactly two columns, `text` and `labels`, plus label inference and encoding.

Every problem with the input (a missing file or column, an empty dataset, a file that is not UTF-8, null or empty
texts, missing labels, labels unseen in training) raises one exception with a one-line message, before any long work.

The one entry point is `load_data`; `load_raw_datasets`, `infer_labels` and `encode_labels` are its steps, kept for
callers that need them apart.
"""

import logging
from dataclasses import dataclass

import datasets

from .arguments import DataArguments, check_arguments
from .bbc import BBC_NEWS_LABELS, load_bbc_news
from .columns import (
    check_guessed_columns,
    check_named_columns,
    check_rows,
    columns_of,
    lazy_row_checks,
    resolve_columns,
    select_columns,
    unlabelled,
)
from .common import source_of
from .files import SUPPORTED_EXTENSIONS, check_file, load_file, peek_columns
from .hub_datasets import load_hub
from .labels import LabelInfo, check_unseen, encode_checked, encode_labels, infer_labels
from .splits import carve_splits, cut_samples, cut_train
from .texts import load_texts, sample_texts

logger = logging.getLogger(__name__)

_SPLITS = ("train", "validation", "test")


@dataclass
class LoadedData:
    """The output of `load_data`: `splits` (`train`, `validation` and, when there is one, `test`, with the columns
    `text` and `labels`, labels encoded) and what the model needs to know about the labels."""

    splits: datasets.DatasetDict
    labels: LabelInfo
    columns: tuple[str, str] = ("text", "label")  # the text and label columns as the source names them


def _load_local(args: DataArguments) -> tuple[dict, set[str]]:
    """The local files, loaded; and the splits whose named columns were checked on the file's head."""
    files = {split: path for split, path in zip(_SPLITS, (args.train_file, args.validation_file, args.test_file))}
    files = {split: path for split, path in files.items() if path}
    formats = {split: check_file(path, split) for split, path in files.items()}
    checked = set()
    for split, path in files.items():  # named columns checked on the file heads, before loading anything
        columns = peek_columns(path, formats[split])
        if columns is not None:
            check_named_columns(columns, args, f"The {split} file {path}")
            checked.add(split)
    raw = {
        split: load_file(path, formats[split], split, args.streaming and split == "train")
        for split, path in files.items()
    }
    return raw, checked


def _load_sources(args: DataArguments) -> tuple[dict, set[str], bool]:
    """The raw splits, the splits whose named columns are already checked, and whether a test split may be carved."""
    check_arguments(args)
    if args.train_file:
        raw, checked = _load_local(args)
        return raw, checked, False
    if args.dataset_name:
        return load_hub(args), set(), True
    return {"train": load_bbc_news()}, set(), True


def _pick_columns(raw: dict, args: DataArguments, checked: set[str]) -> tuple[str, str]:
    """Resolve the text and label columns on `train`, check them once per split and rename them, in place."""
    columns, features = columns_of(raw["train"])
    for split, ds in raw.items():
        if split not in checked:
            split_columns = list(ds.features) if ds.features is not None else columns
            check_named_columns(split_columns, args, source_of(ds, split))
    text, label = resolve_columns(columns, features, args, source_of(raw["train"], "train"))
    guessed = [column for column, named in ((text, args.text_column), (label, args.label_column)) if named is None]
    for split, ds in raw.items():
        if split != "train":
            check_guessed_columns(ds, split, guessed, columns)
        raw[split] = select_columns(ds, text, label)
    return text, label


def _checked_splits(args: DataArguments) -> tuple[dict, bool, tuple[str, str]]:
    """Load the data, pick its columns, drop an unlabelled Hub test split and check the rows (lazily for a stream).
    Returns the splits, whether a test split may be carved, and the source's text and label column names."""
    raw, checked, carve_test = _load_sources(args)
    text, label = _pick_columns(raw, args, checked)
    if "test" in raw and args.dataset_name and unlabelled(raw["test"]):
        logger.warning("The test split of %s has no labels: it is left out", args.dataset_name)
        del raw["test"]
        carve_test = False
    for split, ds in raw.items():
        if isinstance(ds, datasets.IterableDataset):
            raw[split] = lazy_row_checks(ds)
        else:
            check_rows(ds, source_of(ds, split), text, label)
    return raw, carve_test, (text, label)


def _split(raw: dict, info: LabelInfo | None, args: DataArguments, carve_test: bool) -> datasets.DatasetDict:
    """Check the given evaluation splits for unseen labels, carve the missing ones, cut to the max samples."""
    if info is not None:
        for split in ("validation", "test"):
            if split in raw:
                check_unseen(raw[split], info, split)
    carve_splits(raw, info, args, carve_test)
    cut_samples(raw, args)
    return datasets.DatasetDict({split: raw[split] for split in _SPLITS if split in raw})


def load_raw_datasets(args: DataArguments) -> datasets.DatasetDict:
    """Load, check and split the data (labels not encoded; see `load_data` for the whole job).

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
    raw, carve_test, _ = _checked_splits(args)
    info = None if args.streaming else infer_labels(raw["train"], args.problem_type)
    return _split(raw, info, args, carve_test)


def load_data(args: DataArguments) -> LoadedData:
    """Load, check, split and encode the data: the one entry point of training.

    Args:
        args (`DataArguments`): where the data comes from and how to split it.

    Returns:
        `LoadedData`: `splits` as `load_raw_datasets` returns them but with labels encoded (`encode_labels`), and
        `labels`, inferred once from the training data (all of it, before validation/test are carved from it; for a
        stream, its first `max_train_samples` examples).

    Raises:
        `FileNotFoundError`, `ValueError`, `OSError`, `ImportError`: with a one-line message naming the problem.
    """
    raw, carve_test, columns = _checked_splits(args)
    train = raw["train"]
    if isinstance(train, datasets.IterableDataset):
        train = cut_train(train, args.max_train_samples)
    info = infer_labels(train, args.problem_type)
    splits = _split(raw, info, args, carve_test)
    return LoadedData(encode_checked(splits, info), info, columns)


__all__ = [
    "BBC_NEWS_LABELS",
    "DataArguments",
    "LabelInfo",
    "LoadedData",
    "SUPPORTED_EXTENSIONS",
    "encode_labels",
    "infer_labels",
    "load_bbc_news",
    "load_data",
    "load_raw_datasets",
    "load_texts",
    "sample_texts",
]
