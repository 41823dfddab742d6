"""`DataArguments`: where the training data comes from and how it is split, with its argument checks."""

from dataclasses import dataclass, field

from ..configuration_gru import PROBLEM_TYPES


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
    test_split_percentage: float | None = field(
        default=None,
        metadata={
            "help": "Percent of the training data held out for testing when there is no test split. Default: 10 for "
            "the BBC News default and Hub datasets, none for your own files (give it to carve one from them)."
        },
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
    problem_type: str | None = field(
        default=None,
        metadata={
            "help": "single_label_classification, multi_label_classification or regression. Default: from the "
            "labels (strings and integers: classes; lists: multi-label; other numbers: regression). regression "
            "makes whole-number labels such as 1.0-5.0 ratings a number to predict instead of classes."
        },
    )

    def __post_init__(self):
        for name in ("validation_split_percentage", "test_split_percentage"):
            value = getattr(self, name)
            if value is not None and not 0 <= value < 100:
                raise ValueError(f"--{name} must be in [0, 100), got {value}")
        for name in ("max_train_samples", "max_eval_samples"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{name} must be a positive number of examples, got {value}")
        if self.problem_type is not None and self.problem_type not in PROBLEM_TYPES:
            raise ValueError(f"--problem_type must be one of {', '.join(PROBLEM_TYPES)}, got {self.problem_type!r}")


def check_arguments(args: DataArguments) -> None:
    """Reject argument combinations that cannot work, before loading anything."""
    if args.dataset_name and (args.train_file or args.validation_file or args.test_file):
        raise ValueError("Pass either --dataset_name or --train_file (with --validation_file/--test_file), not both")
    if not args.train_file and (args.validation_file or args.test_file):
        raise ValueError("--validation_file and --test_file need --train_file")
    if args.streaming and not (args.dataset_name or args.train_file):
        raise ValueError("--streaming needs --dataset_name or --train_file (the BBC News default is small)")
    if args.streaming and args.train_file and not args.validation_file and args.validation_split_percentage != 0:
        raise ValueError(
            "--streaming needs a --validation_file: no validation split is carved from a stream (or "
            "--validation_split_percentage 0 --eval_strategy no to train without one)"
        )
