"""Helpers every data module needs: where a dataset comes from (for error messages), Arrow columns, plurals and
one-line error text."""

import datasets
import pyarrow as pa
import pyarrow.compute as pc

_SOURCE_PREFIX = "gru_hf source: "


def one_line(err: BaseException, limit: int = 300) -> str:
    """The innermost cause of `err`, as one short line."""
    seen = set()
    while (err.__cause__ or err.__context__) is not None and id(err) not in seen:
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def set_source(ds, source: str):
    """Record where `ds` comes from (kept through `select`, `map`, ...) so later errors can name it."""
    info = ds._info.copy()
    info.description = _SOURCE_PREFIX + source
    ds._info = info
    return ds


def source_of(ds, split: str) -> str:
    description = getattr(getattr(ds, "info", None), "description", None) or ""
    return description[len(_SOURCE_PREFIX) :] if description.startswith(_SOURCE_PREFIX) else f"{split} split"


def arrow_column(ds: datasets.Dataset, name: str) -> pa.Array:
    """One column as a single Arrow array, with any indices mapping applied."""
    return ds.select_columns([name]).with_format("arrow")[:].column(name).combine_chunks()


def is_list_type(array: pa.Array) -> bool:
    return pa.types.is_list(array.type) or pa.types.is_large_list(array.type)


def first_true(mask) -> int:
    return int(pc.index(mask.fill_null(False), True).as_py())


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def is_string_feature(feature) -> bool:
    return isinstance(feature, datasets.Value) and feature.dtype in ("string", "large_string")


def feature_name(feature) -> str:
    return feature.dtype if isinstance(feature, datasets.Value) else type(feature).__name__


def list_inner(feature):
    """The element feature of a list-like feature, else None."""
    if isinstance(feature, (datasets.List, datasets.LargeList)):
        return feature.feature
    if isinstance(feature, datasets.Sequence):  # pragma: no cover - datasets < 4
        return feature.feature
    if isinstance(feature, list) and len(feature) == 1:
        return feature[0]
    return None


def label_key(value, names=None) -> str:
    """The name a raw label value goes by: ClassLabel ids -> names, 3 / 3.0 / "3" -> "3"."""
    if names is not None and isinstance(value, int) and 0 <= value < len(names):
        return names[value]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
