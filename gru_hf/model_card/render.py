"""`write_model_card`: the card data rendered through `template.md` with `huggingface_hub.ModelCard`, its YAML
front matter (with the `model-index` the Hub shows) from `ModelCardData` and `EvalResult`s."""

from __future__ import annotations

import os
import pathlib
import platform
from importlib.metadata import PackageNotFoundError, version

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..metrics import is_metric
from .card_data import GRUModelCardData, SearchFacts, TeacherFacts, VectorsFacts
from .format import (
    cell,
    fmt_count,
    fmt_duration,
    fmt_epoch,
    fmt_metric,
    fmt_value,
    is_number,
    metric_name,
    metric_type,
    numeric,
    table,
    value_table,
    vectors_name,
)
from .plots import CONFUSION_NAME, CURVES_NAME, draw, has_matplotlib, plot_confusion_matrix, plot_training_curves

CARD_NAME = "README.md"
TEMPLATE_PATH = pathlib.Path(__file__).with_name("template.md")

_FRAMEWORKS = ("gru-hf", "torch", "transformers", "tokenizers", "datasets", "accelerate", "evaluate")
_PROBLEM_NAMES = {
    "single_label_classification": "single-label classification",
    "multi_label_classification": "multi-label classification",
    "regression": "regression",
}
_DEFAULT_CODE_FILES = ("configuration_gru.py", "modeling_gru.py")
_EXAMPLE_TEXT = "Write the text to classify here."
# Per problem type: the pipeline's extra arguments and how the Auto-classes example reads the logits.
_PIPELINE_ARGS = {
    "multi_label_classification": ", top_k=None",  # every label with its own sigmoid score
    "regression": ', function_to_apply="none"',  # the raw predicted value
}
_DECODE = {
    "single_label_classification": "print([model.config.id2label[i] for i in logits.argmax(-1).tolist()])",
    "multi_label_classification": (
        "probabilities = logits.sigmoid().tolist()\n"
        "print([[model.config.id2label[i] for i, p in enumerate(row) if p > 0.5] for row in probabilities])"
    ),
    "regression": "print(logits.squeeze(-1).tolist())",
}
_UNCONFIGURED_KEYS = {"auto_map", "id2label", "label2id"}


# Model and data.


def _labels(card: GRUModelCardData) -> list[str]:
    return [str(label) for _, label in sorted(card.config.id2label.items(), key=lambda item: int(item[0]))]


def _architecture(card: GRUModelCardData) -> str:
    """One line: `1-layer bidirectional GRU, 128 units per direction, max pooling, 100-d embeddings`."""
    config = card.config
    direction = "bidirectional" if config.bidirectional else "unidirectional"
    parts = [
        f"{config.num_hidden_layers}-layer {direction} GRU",
        f"{config.hidden_size} units" + (" per direction" if config.bidirectional else ""),
        "last-state pooling" if config.pooling == "last" else f"{config.pooling} pooling",
    ]
    embedding = f"{config.embedding_dim}-d embeddings"
    if card.vectors:
        frozen = ", frozen" if card.vectors.frozen else ""
        embedding += f" ({vectors_name(card.vectors.coverage.source)} init{frozen})"
    return ", ".join([*parts, embedding])


def _head(problem_type: str, num_labels: int) -> str:
    if problem_type == "regression":
        return f"a linear regression head ({num_labels} output{'s' if num_labels != 1 else ''})"
    if problem_type == "multi_label_classification":
        return f"a linear classifier with an independent sigmoid for each of the {num_labels} labels"
    return f"a linear classifier with a softmax over the {num_labels} labels"


def _description(card: GRUModelCardData) -> str:
    """The card's first sentence (the template adds the second)."""
    problem_type, dataset = card.config.problem_type, card.dataset
    on = f" on {dataset.hub_id or dataset.name}" if dataset else ""
    text = (
        f"A gru-hf text classification model trained{on} for {_PROBLEM_NAMES[problem_type]}: a "
        f"{_architecture(card)}, followed by {_head(problem_type, card.config.num_labels)}"
    )
    if is_number(card.num_parameters):
        text += f"; {fmt_count(card.num_parameters)} parameters in all"
    return text


def _labels_line(card: GRUModelCardData) -> str:
    labels = _labels(card)
    if card.config.problem_type == "regression":
        return f"**Outputs:** {len(labels)}"
    shown = ", ".join(f"`{cell(label)}`" for label in labels[:30])
    return f"**Labels ({len(labels)}):** {shown}{', ...' if len(labels) > 30 else ''}"


def _dataset_text(card: GRUModelCardData) -> str | None:
    dataset = card.dataset
    if dataset is None:
        return None
    text = f"[{dataset.hub_id}](https://huggingface.co/datasets/{dataset.hub_id})" if dataset.hub_id else None
    return (text or f"`{dataset.name}`") + (f" (config `{dataset.config}`)" if dataset.config else "")


def _data_text(card: GRUModelCardData) -> str:
    dataset = card.dataset
    if dataset is None:
        return "<!-- Training data unknown. -->"
    columns = f"text column `{dataset.text_column}`, label column `{dataset.label_column}`"
    text = f"Trained on {_dataset_text(card)}, {columns}."
    if not dataset.splits:
        return text
    rows = [[cell(name), "streamed" if n is None else fmt_count(n)] for name, n in dataset.splits.items()]
    return text + "\n\n" + table(["Split", "Texts"], rows)


def _vectors_line(vectors: VectorsFacts) -> str:
    coverage = vectors.coverage
    special = coverage.special or 0  # special tokens ([PAD], [UNK]) are never looked up: not counted as words
    text = (
        f"- **Pretrained vectors:** {vectors_name(coverage.source)} (`{coverage.source}`): of the "
        f"{fmt_count(coverage.vocab_size - special)} vocabulary words, {fmt_count(coverage.found_exact)} found "
        f"exactly, {fmt_count(coverage.found_lower)} lower-cased, {fmt_count(coverage.missing - special)} missing"
    )
    if vectors.extra_words:
        text += f" ({fmt_count(vectors.extra_words)} of them added from the vectors, not seen in training)"
    if is_number(coverage.token_coverage):
        text += f"; token coverage {coverage.token_coverage:.2%} of the training tokens"
    return text + ("; embeddings frozen." if vectors.frozen else "; embeddings fine-tuned.")


# Front matter.


def _eval_results(card: GRUModelCardData) -> list[EvalResult]:
    dataset = card.dataset
    name = dataset.name if dataset else "unknown"
    common = dict(
        task_type="text-classification",
        task_name="Text Classification",
        dataset_name=name,
        dataset_type=(dataset.hub_id if dataset else None) or name,
        dataset_config=dataset.config if dataset else None,
        dataset_split="test",
    )
    results = []
    for key, value in numeric(card.test_metrics).items():
        kind, args = metric_type(key)
        results.append(
            EvalResult(**common, metric_type=kind, metric_value=value, metric_name=metric_name(key), metric_args=args)
        )
    return results


def card_metadata(card: GRUModelCardData) -> ModelCardData:
    """The YAML front matter: library, pipeline, tags, license, dataset, metrics and the `model-index`."""
    results = _eval_results(card)
    return ModelCardData(
        library_name="transformers",
        pipeline_tag="text-classification",
        tags=["gru-hf", "gru", "text-classification"],
        license=card.license,
        datasets=[card.dataset.hub_id] if card.dataset and card.dataset.hub_id else None,
        metrics=list(dict.fromkeys(result.metric_type for result in results)) or None,
        model_name=card.model_id if results else None,
        eval_results=results or None,
    )


# Evaluation, extra sections.


def _evaluation(card: GRUModelCardData) -> str:
    test, validation = numeric(card.test_metrics), numeric(card.validation_metrics)
    keys = list(dict.fromkeys([*test, *validation]))
    if not keys:
        return "<!-- No evaluation metrics were recorded. -->"
    test_size = card.dataset.splits.get("test") if card.dataset else None
    test_header = "Test" + (f" ({fmt_count(test_size)} texts)" if is_number(test_size) else "")
    rows = [[metric_name(k), fmt_metric(test.get(k)), fmt_metric(validation.get(k))] for k in keys]
    training = (card.hyperparameters or {}).get("training", {})
    best = training.get("load_best_model_at_end", True)  # unknown (a card built by hand): the job's default
    text = table(["Metric", test_header, "Validation (best checkpoint)" if best else "Validation (final model)"], rows)
    return text + ("" if test else "\n\n<!-- No test split was given: no test metrics. -->")


def _teacher(teacher: TeacherFacts, student: dict) -> str:
    lines = [f"Distilled from the teacher `{teacher.name}`"]
    if is_number(teacher.transfer_set_size):
        lines[0] += f" on a transfer set of {fmt_count(teacher.transfer_set_size)} texts"
    lines[0] += "."
    facts = []
    if is_number(teacher.agreement):
        facts.append(f"- **Agreement with the teacher on the {teacher.split} split:** {teacher.agreement:.2%}")
    if is_number(teacher.speedup):
        facts.append(f"- **Speed-up over the teacher:** {teacher.speedup:.1f}x")
    lines += [""] + facts if facts else []
    metrics = numeric(teacher.test_metrics)
    if metrics:
        rows = [[metric_name(k), fmt_metric(v), fmt_metric(numeric(student).get(k))] for k, v in metrics.items()]
        split = teacher.split
        lines += ["", table(["Metric", f"Teacher ({split})", f"This model ({split})"], rows)]
    return "\n".join(lines)


def _search(search: SearchFacts) -> str:
    scored = [trial for trial in search.trials if trial.score is not None]
    best = "" if search.best_score is None else f"; best score {fmt_metric(search.best_score)}"
    goal = "maximising" if search.direction == "maximize" else "minimising"
    trials = f"{len(search.trials)} trial{'' if len(search.trials) == 1 else 's'}"
    text = f"{trials} ({len(scored)} completed), {goal} `{search.metric}`{best}."
    if search.chosen_trial is not None:
        text += f" Chosen: trial {search.chosen_trial}" + (f", {search.reason}." if search.reason else ".")
    text += "\n\nChosen values:\n\n" + value_table(search.chosen, ["Hyperparameter", "Value"])
    names = list(dict.fromkeys(name for trial in search.trials for name in trial.values))
    rows = [
        [str(t.number), fmt_metric(t.score), *(f"`{cell(fmt_value(t.values.get(n, '-')))}`" for n in names)]
        for t in search.trials
    ]
    header = ["Trial", "Score", *(f"`{cell(name)}`" for name in names)]
    return text + "\n\n<details><summary>All trials</summary>\n\n" + table(header, rows) + "\n\n</details>"


# Training.


def _non_default(card: GRUModelCardData) -> str:
    changed = card.non_default_hyperparameters
    if changed is None:
        return "<!-- Non-default hyperparameters unknown. -->"
    if not changed:
        return "All hyperparameters at their defaults."
    return "Non-default hyperparameters:\n\n" + value_table(changed, ["Hyperparameter", "Value"])


def _all_hyperparameters(card: GRUModelCardData) -> str:
    model = {k: v for k, v in card.config.to_diff_dict().items() if k not in _UNCONFIGURED_KEYS}
    groups = {name: values for name, values in {"model": model, **card.hyperparameters}.items() if values}
    return "\n\n".join(f"#### {name.capitalize()}\n\n{value_table(values)}" for name, values in groups.items())


def _log_table(log_history: list[dict]) -> str:
    """One row per evaluation, with the last training loss logged before it."""
    rows, metric_keys, last_loss = [], {}, None
    for entry in log_history:
        evaluation = [key for key in entry if key.startswith("eval_")]
        if "loss" in entry and not evaluation:
            last_loss = entry["loss"]
        if "eval_loss" in entry or any(is_metric(key) for key in evaluation):
            rows.append((entry, last_loss))
            metric_keys.update(dict.fromkeys(key for key in evaluation if is_metric(key)))
    if not rows:
        return "<!-- No evaluation was logged during training. -->"
    header = [
        "Epoch",
        "Step",
        "Training Loss",
        "Validation Loss",
        *(f"Validation {metric_name(k[5:])}" for k in metric_keys),
    ]
    body = [
        [
            fmt_epoch(e.get("epoch")),
            fmt_count(e.get("step")),
            fmt_metric(loss),
            fmt_metric(e.get("eval_loss")),
            *(fmt_metric(e.get(key)) for key in metric_keys),
        ]
        for e, loss in rows
    ]
    return table(header, body)


def _runtime(card: GRUModelCardData) -> str:
    if not is_number(card.train_runtime_s):
        return "<!-- - **Training time:** Unknown -->"
    text = f"- **Training time:** {fmt_duration(card.train_runtime_s)}"
    if is_number(card.total_runtime_s):
        text += f" ({fmt_duration(card.total_runtime_s)} for the whole job)"
    return text


def _framework_versions() -> str:
    lines = [f"- Python: {platform.python_version()}"]
    for package in _FRAMEWORKS:
        try:
            found = version(package)
        except PackageNotFoundError:
            found = "not installed"
        lines.append(f"- {package.replace('-', '_')}: {found}")
    return "\n".join(lines)


def _code_files(output_dir: pathlib.Path) -> str:
    names = sorted(set(_DEFAULT_CODE_FILES) | {path.name for path in output_dir.glob("*.py")})
    return ", ".join(f"`{name}`" for name in names)


# The card.


def _plots(card: GRUModelCardData, output_dir: pathlib.Path) -> dict:
    """Draw the confusion matrix (single-label, with a test split) and the training curves; say so when
    matplotlib is missing. Returns the template's `confusion_png`, `curves_png` and `plot_note`."""
    confusion = card.confusion if card.config.problem_type == "single_label_classification" else None
    for name in (CONFUSION_NAME, CURVES_NAME):  # a previous run's plots would describe another model
        (output_dir / name).unlink(missing_ok=True)
    wanted = bool(confusion and confusion.y_true) or bool(card.log_history)
    if wanted and not has_matplotlib():
        return {"plot_note": "*Plots not drawn: matplotlib is not installed (`pip install gru-hf[plots]`).*"}
    plots = {}
    if confusion and confusion.y_true:
        args = (confusion.labels or _labels(card), confusion.y_true, confusion.y_pred, output_dir / CONFUSION_NAME)
        plots["confusion_png"] = draw(CONFUSION_NAME, plot_confusion_matrix, *args)
    if card.log_history:
        plots["curves_png"] = draw(CURVES_NAME, plot_training_curves, card.log_history, output_dir / CURVES_NAME)
    return plots


def _check(card: GRUModelCardData) -> None:
    if card.config is None:
        raise ValueError("write_model_card: the card data have no config (it gives the problem_type and labels)")
    if card.config.problem_type not in _PROBLEM_NAMES:
        raise ValueError(
            f"write_model_card: config.problem_type is {card.config.problem_type!r}, expected one of "
            f"{', '.join(_PROBLEM_NAMES)}"
        )


def _template_values(card: GRUModelCardData, output_dir: pathlib.Path) -> dict:
    problem_type = card.config.problem_type
    return {
        "model_id": card.model_id,
        "hub_model_id": card.hub_model_id,
        "license": card.license,
        "description": _description(card),
        "architecture": _architecture(card),
        "task": _PROBLEM_NAMES[problem_type],
        "labels": _labels_line(card),
        "num_parameters": fmt_count(card.num_parameters) if is_number(card.num_parameters) else None,
        "dataset": _dataset_text(card),
        "example_text": _EXAMPLE_TEXT,
        "pipeline_args": _PIPELINE_ARGS.get(problem_type, ""),
        "decode": _DECODE[problem_type],
        "evaluation": _evaluation(card),
        "teacher": _teacher(
            card.teacher, card.test_metrics if card.teacher.split == "test" else card.validation_metrics
        )
        if card.teacher
        else None,
        "search": _search(card.search) if card.search else None,
        "data": _data_text(card),
        "vectors": _vectors_line(card.vectors) if card.vectors else None,
        "command": card.command,
        "non_default_hyperparameters": _non_default(card),
        "all_hyperparameters": _all_hyperparameters(card),
        "log": _log_table(card.log_history),
        "runtime": _runtime(card),
        "hardware": card.hardware,
        "versions": _framework_versions(),
        "code_files": _code_files(output_dir),
        "onnx": (output_dir / "onnx" / "model.onnx").is_file(),
        **_plots(card, output_dir),
    }


def write_model_card(output_dir: str | os.PathLike, card_data: GRUModelCardData) -> pathlib.Path:
    """Write `README.md` (and `confusion_matrix.png`, `training_curves.png` when matplotlib is installed) into
    `output_dir` from the card data of a training run, and return the path of the card. A fact that is not known
    is left in the card as an HTML comment, so that the author can fill it in by hand."""
    _check(card_data)
    output_dir = pathlib.Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    card = ModelCard.from_template(
        card_metadata(card_data), template_path=str(TEMPLATE_PATH), **_template_values(card_data, output_dir)
    )
    path = output_dir / CARD_NAME
    card.save(path)
    return path


__all__ = ["CARD_NAME", "card_metadata", "write_model_card"]
