"""The card's pictures: training curves and the confusion matrix, drawn by matplotlib's Agg backend when it is
installed (`pip install gru-hf[plots]`)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..metrics import is_metric
from .format import is_number, metric_name

logger = logging.getLogger(__name__)

CURVES_NAME = "training_curves.png"
CONFUSION_NAME = "confusion_matrix.png"
DPI = 100


def has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _new_figure(width: float, height: float):
    """A figure drawn by the Agg backend, without pyplot: no global backend switch, no figure left open."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _curves(log_history: list[dict]) -> tuple[str, list, list, dict[str, list]]:
    """From a Trainer log: the x axis ("epoch" when every entry has one, else "step"), the (x, training loss) and
    (x, validation loss) points, and the (x, value) points of each validation metric."""
    entries = [e for e in log_history or [] if "loss" in e or any(k.startswith("eval_") for k in e)]
    x_key = "epoch" if entries and all(is_number(e.get("epoch")) for e in entries) else "step"
    entries = [e for e in entries if is_number(e.get(x_key))]
    train = [(e[x_key], e["loss"]) for e in entries if is_number(e.get("loss"))]
    evals = [e for e in entries if any(k.startswith("eval_") for k in e)]
    valid = [(e[x_key], e["eval_loss"]) for e in evals if is_number(e.get("eval_loss"))]
    keys = dict.fromkeys(k for e in evals for k in e if k.startswith("eval_") and is_metric(k))
    metrics = {key: [(e[x_key], e[key]) for e in evals if is_number(e.get(key))] for key in keys}
    return x_key, train, valid, {key: points for key, points in metrics.items() if points}


def _plot_losses(axes, x_key: str, train: list, valid: list) -> None:
    if train:
        axes.plot(*zip(*train), label="training loss", color="tab:blue", alpha=0.8)
    if valid:
        axes.plot(*zip(*valid), label="validation loss", color="tab:orange", marker="o")
    axes.set(title="Loss", xlabel=x_key, ylabel="loss")
    if train or valid:
        axes.legend()
    axes.grid(alpha=0.3)


def _plot_metrics(axes, x_key: str, metrics: dict[str, list]) -> None:
    for key, points in metrics.items():
        axes.plot(*zip(*points), label=metric_name(key[5:]), marker="o")
    axes.set(title="Validation metrics", xlabel=x_key, ylabel="value")
    axes.legend()
    axes.grid(alpha=0.3)


def plot_training_curves(log_history: list[dict], path) -> bool:
    """Draw training and validation loss (left) and validation metrics (right) against the epoch into the PNG
    file `path`. Returns `False`, writing nothing, when matplotlib is missing or nothing was logged."""
    if not has_matplotlib():
        return False
    x_key, train, valid, metrics = _curves(log_history)
    if not train and not valid and not metrics:
        return False
    figure = _new_figure(10 if metrics else 5.5, 4)
    axes = figure.subplots(1, 2 if metrics else 1, squeeze=False)[0]
    _plot_losses(axes[0], x_key, train, valid)
    if metrics:
        _plot_metrics(axes[1], x_key, metrics)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    return True


def _confusion_counts(n: int, y_true: Sequence[int], y_pred: Sequence[int]) -> list[list[int]]:
    if n == 0:
        raise ValueError("plot_confusion_matrix needs at least one label")
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred differ in length: {len(y_true)} != {len(y_pred)}")
    counts = [[0] * n for _ in range(n)]
    for true, pred in zip(y_true, y_pred):
        if not (0 <= int(true) < n and 0 <= int(pred) < n):
            raise ValueError(f"label id out of range [0, {n}): true {true}, predicted {pred}")
        counts[int(true)][int(pred)] += 1
    return counts


def plot_confusion_matrix(labels: list[str], y_true: Sequence[int], y_pred: Sequence[int], path) -> bool:
    """Draw the confusion matrix of `y_true` (rows) against `y_pred` (columns) into the PNG file `path`: counts in
    the cells, colour by the share of each true label's examples. Returns `False`, writing nothing, when matplotlib
    is missing."""
    if not has_matplotlib():
        return False
    n = len(labels)
    counts = _confusion_counts(n, y_true, y_pred)
    shares = [[c / sum(row) if sum(row) else 0.0 for c in row] for row in counts]

    side = min(max(4.0, 0.55 * n + 2.5), 14.0)
    figure = _new_figure(side + 1.0, side)
    axes = figure.subplots()
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of true label")
    font = 10 if n <= 10 else max(5, 10 - (n - 10) // 4)
    if n <= 40:  # beyond that the numbers no longer fit their cells
        for i, j in ((i, j) for i in range(n) for j in range(n)):
            colour = "white" if shares[i][j] > 0.5 else "black"
            axes.text(j, i, f"{counts[i][j]:,}", ha="center", va="center", color=colour, fontsize=font)
    axes.set_xticks(range(n), [str(label) for label in labels], rotation=45, ha="right", fontsize=font)
    axes.set_yticks(range(n), [str(label) for label in labels], fontsize=font)
    axes.set(xlabel="predicted", ylabel="true", title="Confusion matrix")
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    return True


def draw(name: str, plot, *args) -> str | None:
    """Run one plot function; a failure costs the picture, never the card. Returns the file name when drawn."""
    try:
        return name if plot(*args) else None
    except Exception as error:  # the run has finished: losing the card over a plot would be worse
        logger.warning("Could not draw %s: %s", name, error)
        return None


__all__ = ["CONFUSION_NAME", "CURVES_NAME", "draw", "has_matplotlib", "plot_confusion_matrix", "plot_training_curves"]
