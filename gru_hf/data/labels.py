"""Labels: the problem type and label names inferred from the training split, the check for labels unseen in
training, and encoding labels into what the model trains on."""

import logging
import math
from dataclasses import dataclass

import datasets
import pyarrow.compute as pc

from ..configuration_gru import PROBLEM_TYPES
from .common import arrow_column, is_list_type, label_key, list_inner, plural, source_of

SINGLE_LABEL, MULTI_LABEL, REGRESSION = PROBLEM_TYPES

logger = logging.getLogger(__name__)


@dataclass
class LabelInfo:
    """What the model needs to know about the labels: the problem type and the id <-> name mappings."""

    problem_type: str
    id2label: dict[int, str]
    label2id: dict[str, int]
    num_labels: int


def label_names(feature) -> list[str] | None:
    if isinstance(feature, datasets.ClassLabel):
        return list(feature.names)
    inner = list_inner(feature)
    if isinstance(inner, datasets.ClassLabel):
        return list(inner.names)
    return None


def _unique_streamed(ds: datasets.IterableDataset) -> tuple[list, bool]:
    values, is_list = set(), False
    for example in ds.select_columns(["labels"]):
        value = example["labels"]
        if isinstance(value, (list, tuple)):
            is_list = True
            values.update(value)
        else:
            values.add(value)
    return list(values), is_list


def unique_label_values(ds) -> tuple[list, bool]:
    """The distinct label values (list elements for multi-label) and whether the labels are lists."""
    if isinstance(ds, datasets.IterableDataset):
        return _unique_streamed(ds)
    labels = arrow_column(ds, "labels")
    is_list = is_list_type(labels)
    if is_list:
        labels = pc.list_flatten(labels)
    return pc.unique(labels).to_pylist(), is_list


def _check_values(values: list, source: str) -> None:
    if any(value is None for value in values):
        raise ValueError(f"{source}: some labels are missing (null)")


def _is_regression(values: list, is_list: bool, source: str) -> bool:
    """Non-integral floats mean regression (not allowed in label lists); other values must be flat."""
    if any(isinstance(value, (list, dict, tuple)) for value in values):
        raise ValueError(f"{source}: labels must be strings, numbers or flat lists")
    floats = [value for value in values if isinstance(value, float)]
    if any(math.isnan(value) for value in floats):
        raise ValueError(f"{source}: some labels are NaN")
    if floats and not all(value.is_integer() for value in floats):
        if is_list:
            raise ValueError(f"{source}: multi-label lists must hold strings or integers")
        return True
    return False


def _names_of_values(values: list) -> list[str]:
    """Numbers -> "0", "1", ... in numeric order; anything else -> its sorted string forms."""
    if all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in values):
        names = [str(int(value)) for value in sorted(values)]
    else:
        names = sorted({label_key(value) for value in values})
    return list(dict.fromkeys(names))


def _check_names(names: list[str], problem_type: str, source: str) -> None:
    if problem_type == SINGLE_LABEL and len(names) < 2:
        raise ValueError(
            f"{source} has a single label value ({', '.join(map(repr, names))}); classification needs at least two"
        )
    if not names:
        raise ValueError(f"{source}: every label list is empty")


def infer_labels(train, problem_type: str | None = None) -> LabelInfo:
    """Work out the problem type and label names from the `labels` column of the training split.

    Args:
        train (`datasets.Dataset` or `datasets.IterableDataset`): the training split, after `load_raw_datasets`.
        problem_type (`str`, *optional*): `--problem_type`: the problem type the user asked for; `"regression"`
            makes whole-number labels (1.0, 2.0, ... or 1, 2, ...) a number to predict instead of classes. Another
            type than the labels allow is an error.

    Returns:
        `LabelInfo`: strings -> single-label with sorted names; integers -> single-label with names "0", "1", ...
        (or a `ClassLabel`'s names); lists -> multi-label; non-integral floats -> regression with one output.
    """
    source = source_of(train, "train")
    names = label_names(train.features["labels"] if train.features is not None else None)
    values, is_list = unique_label_values(train)
    _check_values(values, source)
    if problem_type == REGRESSION:
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if is_list or names is not None or not numeric:
            raise ValueError(f"{source}: --problem_type regression needs one number per text as its label")
    inferred = MULTI_LABEL if is_list else SINGLE_LABEL
    if names is None and (_is_regression(values, is_list, source) or problem_type == REGRESSION):
        inferred = REGRESSION
    if problem_type is not None and problem_type != inferred:
        raise ValueError(f"{source}: --problem_type {problem_type}, but its labels make it {inferred}")
    if inferred == REGRESSION:
        return LabelInfo(REGRESSION, {0: "LABEL_0"}, {"LABEL_0": 0}, 1)
    if names is None:
        names = _names_of_values(values)
    if problem_type is None and any(isinstance(v, float) for v in values):
        logger.warning(
            "%s: the labels are whole-number floats (%s): trained as %d classes; pass --problem_type regression to "
            "predict them as a number",
            source,
            ", ".join(names[:5]),
            len(names),
        )
    _check_names(names, inferred, source)
    id2label = dict(enumerate(names))
    return LabelInfo(inferred, id2label, {name: i for i, name in id2label.items()}, len(names))


def check_unseen(ds, info: LabelInfo, split: str) -> None:
    """An in-memory split's label values are all known to `info` (regression and streams are not checked)."""
    if info.problem_type == REGRESSION or isinstance(ds, datasets.IterableDataset):
        return
    names = label_names(ds.features["labels"])
    values, _ = unique_label_values(ds)
    unseen = sorted({label_key(value, names) for value in values} - set(info.label2id))
    if unseen:
        shown = ", ".join(map(repr, unseen[:5])) + (f" and {len(unseen) - 5} more" if len(unseen) > 5 else "")
        raise ValueError(
            f"{source_of(ds, split)} has {plural(len(unseen), 'label')} not seen in the training split: {shown}"
        )


def _regression_encoder(source: str):
    def encode(batch):
        try:
            return {"labels": [float(value) for value in batch["labels"]]}
        except (TypeError, ValueError):
            raise ValueError(f"{source}: regression labels must be numbers") from None

    return encode, datasets.Value("float32")


def _multi_label_encoder(info: LabelInfo, to_id, source: str):
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


def _encoder(info: LabelInfo, feature, source: str):
    """A batched `map` function encoding the `labels`, and the feature it produces."""
    if info.problem_type == REGRESSION:
        return _regression_encoder(source)
    names = label_names(feature)

    def to_id(value):
        try:
            return info.label2id[label_key(value, names)]
        except KeyError:
            raise ValueError(f"{source}: label {value!r} not seen in the training split") from None

    if info.problem_type == MULTI_LABEL:
        return _multi_label_encoder(info, to_id, source)

    def encode(batch):
        return {"labels": [to_id(value) for value in batch["labels"]]}

    return encode, datasets.ClassLabel(names=[info.id2label[i] for i in range(info.num_labels)])


def encode_checked(dsd: datasets.DatasetDict, info: LabelInfo) -> datasets.DatasetDict:
    """`encode_labels` without its unseen-label check, for splits already checked (a stream's unseen labels are
    still caught by the encoder's lookup)."""
    encoded = {}
    for split, ds in dsd.items():
        function, feature = _encoder(info, ds.features["labels"] if ds.features else None, source_of(ds, split))
        features = ds.features.copy() if ds.features is not None else datasets.Features(text=datasets.Value("string"))
        features["labels"] = feature
        kwargs = {} if isinstance(ds, datasets.IterableDataset) else {"desc": f"Encoding {split} labels"}
        encoded[split] = ds.map(function, batched=True, features=features, **kwargs)
    return datasets.DatasetDict(encoded)


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
        check_unseen(ds, info, split)
    return encode_checked(dsd, info)
