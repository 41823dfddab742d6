"""Carving validation / test splits out of the training data (seeded, stratified for single-label data) and the
max-samples cut."""

import math

import datasets
import numpy as np

from .arguments import DataArguments
from .common import arrow_column, label_key, plural, set_source, source_of
from .labels import SINGLE_LABEL, LabelInfo, label_names


def carve_count(total: int, percentage: float) -> int:
    return math.ceil(round(total * percentage / 100, 6)) if percentage > 0 else 0


def _quotas(sizes: np.ndarray, n_out: int, total: int) -> np.ndarray:
    """How many of each class to hold out: proportional (largest remainders first), each class keeping one."""
    exact = n_out * sizes / total
    quota = np.minimum(np.floor(exact).astype(int), sizes - 1)
    order = sorted(range(len(sizes)), key=lambda j: (-(exact[j] - math.floor(exact[j])), j))
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
    return quota


def split_indices(keys: list, n_out: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split of `len(keys)` rows into (kept, held-out) index arrays, both shuffled, stratified by `keys`:
    each class is held out in proportion to its size, and keeps at least one example in the kept part."""
    groups: dict = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    labels = sorted(groups, key=str)
    quota = _quotas(np.array([len(groups[k]) for k in labels]), n_out, len(keys))
    kept, held_out = [], []
    for label, count in zip(labels, quota):
        shuffled = rng.permutation(groups[label])
        held_out.extend(shuffled[:count])
        kept.extend(shuffled[count:])
    return rng.permutation(np.array(kept, dtype=np.int64)), rng.permutation(np.array(held_out, dtype=np.int64))


def carve(ds: datasets.Dataset, n_out: int, info: LabelInfo, rng: np.random.Generator, name: str):
    """Hold `n_out` rows of `ds` out as a new split (stratified for single-label data)."""
    if info.problem_type == SINGLE_LABEL:
        names = label_names(ds.features["labels"])
        keys = [label_key(value, names) for value in arrow_column(ds, "labels").to_pylist()]
        kept, held_out = split_indices(keys, n_out, rng)
    else:
        permutation = rng.permutation(ds.num_rows)
        kept, held_out = permutation[n_out:], permutation[:n_out]
    source = source_of(ds, "train")
    return ds.select(kept), set_source(ds.select(held_out), f"{name} split carved from the {source}")


# The test split carved from the BBC News default and from Hub datasets that have none.
DEFAULT_TEST_SPLIT_PERCENTAGE = 10.0


def carve_splits(raw: dict, info: LabelInfo, args: DataArguments, carve_test: bool) -> None:
    """Carve a missing validation split (and a missing test split: `carve_test` says whether the source carves one by
    default, `--test_split_percentage` given carves one from any source) from `raw["train"]`, in place. Sizes are
    percentages of the whole training data. Streams are never carved."""
    train = raw["train"]
    test_percentage = args.test_split_percentage
    if test_percentage is None:
        test_percentage = DEFAULT_TEST_SPLIT_PERCENTAGE if carve_test else 0.0
    carve_test = "test" not in raw and test_percentage > 0
    if args.streaming or ("validation" in raw and not carve_test):
        return
    total = train.num_rows
    n_validation = 0 if "validation" in raw else carve_count(total, args.validation_split_percentage)
    n_test = carve_count(total, test_percentage) if carve_test else 0
    # --validation_split_percentage 0 without a validation file: no validation split (the job then needs
    # --eval_strategy no; see gru_hf.training.check_validation_split).
    if n_validation + n_test >= total:
        raise ValueError(
            f"{source_of(train, 'train')} has {plural(total, 'row')}: too few to hold out {n_validation} for "
            f"validation and {n_test} for testing"
        )
    rng = np.random.default_rng(args.split_seed)
    if n_test:
        train, raw["test"] = carve(train, n_test, info, rng, "test")
    if n_validation:
        train, raw["validation"] = carve(train, n_validation, info, rng, "validation")
    raw["train"] = train


def cut_train(train, max_samples: int | None):
    """The first `max_samples` training examples (all when None); a stream is cut lazily."""
    if max_samples is None:
        return train
    if isinstance(train, datasets.IterableDataset):
        return train.take(max_samples)
    return train.select(range(min(max_samples, train.num_rows)))


def cut_samples(raw: dict, args: DataArguments) -> None:
    """Keep only the first `max_train_samples` / `max_eval_samples` examples, in place, after splitting."""
    raw["train"] = cut_train(raw["train"], args.max_train_samples)
    if args.max_eval_samples is not None:
        for split in ("validation", "test"):
            if split in raw:
                raw[split] = raw[split].select(range(min(args.max_eval_samples, raw[split].num_rows)))
