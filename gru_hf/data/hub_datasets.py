"""Datasets from the Hugging Face Hub (or anything else `datasets.load_dataset` takes by name)."""

import os

import datasets

from .arguments import DataArguments
from .common import one_line, set_source

VALIDATION_SPLIT_NAMES = ("validation", "valid", "val", "dev")


def _fetch(args: DataArguments, name: str):
    try:
        return datasets.load_dataset(args.dataset_name, args.dataset_config_name, streaming=args.streaming)
    except ValueError as err:
        raise ValueError(f"Could not load the Hub dataset {name}: {one_line(err)}") from None
    except Exception as err:
        hint = " (HF_HUB_OFFLINE is set and it is not cached)" if os.environ.get("HF_HUB_OFFLINE") else ""
        raise OSError(f"Could not load the Hub dataset {name}{hint}: {one_line(err)}") from None


def load_hub(args: DataArguments) -> dict:
    """The Hub dataset's `train`, validation (the first of `VALIDATION_SPLIT_NAMES`) and `test` splits; with
    `streaming`, only `train` streams (the evaluation splits are small and kept in memory)."""
    name = args.dataset_name + (f" ({args.dataset_config_name})" if args.dataset_config_name else "")
    loaded = _fetch(args, name)
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
        raw[split] = set_source(ds, f"Hub dataset {name}, split {split!r}")
    return raw
