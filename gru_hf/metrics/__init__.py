# Copyright 2025 The gru-hf Authors.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""Offline evaluation metrics and `Trainer` `compute_metrics` builders.

`evaluate.load("accuracy")` fetches the metric script from the Hub. This package ships its own pure-numpy metric
scripts (`accuracy.py`, `f1.py`, `mse.py`, `pearsonr.py`) next to this file and loads them by path, which needs no
network. Note that `evaluate` still copies each script into its modules cache (`$HF_MODULES_CACHE`, by default
`$HF_HOME/modules/evaluate_modules/metrics/<name>/<hash>/`), read once when `evaluate` is imported, so that
directory must be writable.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import evaluate
import numpy as np
from transformers import EvalPrediction

from ..configuration_gru import PROBLEM_TYPES

METRICS_DIR = Path(__file__).resolve().parent
METRIC_NAMES = ("accuracy", "f1", "mse", "pearsonr")
# Keys of a Trainer metrics dict that are bookkeeping, not quality metrics (the one list the package uses).
NON_METRIC_SUFFIXES = (
    "loss",
    "runtime",
    "samples_per_second",
    "steps_per_second",
    "epoch",
    "step",
    "model_preparation_time",  # the Trainer adds it when it evaluates a model it did not train (autotune)
)

_DEFAULT_METRIC_FOR_BEST_MODEL = {
    "single_label_classification": "f1_macro",
    "multi_label_classification": "f1_micro",
    "regression": "mse",
}
_LOWER_IS_BETTER = frozenset({"loss", "mse", "rmse", "mae"})
# The keys `build_compute_metrics` returns for each problem type (the Trainer adds "loss" and the "eval_" prefix).
METRIC_KEYS = {
    "single_label_classification": ("accuracy", "f1_macro"),
    "multi_label_classification": ("f1_micro", "f1_macro", "accuracy"),
    "regression": ("mse", "rmse", "pearsonr"),
}


def load_metric(name: str, **kwargs) -> evaluate.EvaluationModule:
    """Load one of the metric modules shipped with gru_hf, without network access.

    Args:
        name (`str`):
            One of `"accuracy"`, `"f1"`, `"mse"` and `"pearsonr"`.
        kwargs:
            Passed to `evaluate.load`. `keep_in_memory` defaults to `True` (no cache files for the
            predictions under `$HF_HOME/metrics`).

    Returns:
        `evaluate.EvaluationModule`: a fresh metric instance.

    Example:
        >>> from gru_hf.metrics import load_metric
        >>> load_metric("accuracy").compute(predictions=[0, 1], references=[0, 0])
        {'accuracy': 0.5}
    """
    if name not in METRIC_NAMES:
        raise ValueError(f"Unknown metric {name!r}; known metrics: {', '.join(METRIC_NAMES)}.")
    kwargs.setdefault("keep_in_memory", True)
    return evaluate.load(str(METRICS_DIR / f"{name}.py"), **kwargs)


def _to_numpy(array: Any) -> np.ndarray:
    """A numpy array from a numpy array, a list or a (CPU or GPU, any dtype) torch tensor."""
    if hasattr(array, "detach"):
        array = array.detach().float().cpu().numpy() if array.is_floating_point() else array.detach().cpu().numpy()
    return np.asarray(array)


def _unpack(eval_pred: EvalPrediction | tuple) -> tuple[np.ndarray, np.ndarray]:
    """(logits, labels) from an `EvalPrediction` or a `(predictions, label_ids)` tuple."""
    if isinstance(eval_pred, EvalPrediction):
        predictions, label_ids = eval_pred.predictions, eval_pred.label_ids
    else:
        predictions, label_ids = eval_pred[0], eval_pred[1]
    if isinstance(predictions, (tuple, list)):
        predictions = predictions[0]
    if isinstance(label_ids, (tuple, list)):
        label_ids = label_ids[0]
    if label_ids is None:
        raise ValueError("compute_metrics needs label_ids; the evaluation dataset has no labels.")
    return _to_numpy(predictions), _to_numpy(label_ids)


def _squeeze_single_output(array: np.ndarray) -> np.ndarray:
    """(N, 1) -> (N,), keeping N = 1 one-dimensional."""
    return array[:, 0] if array.ndim == 2 and array.shape[1] == 1 else array


def build_compute_metrics(
    problem_type: str, num_labels: int, threshold: float = 0.5
) -> Callable[[EvalPrediction], dict[str, float]]:
    """Build a `compute_metrics` function for `transformers.Trainer`.

    The metric modules are loaded once, here. The returned function takes an `EvalPrediction` whose `predictions`
    are the logits (or a tuple whose first element they are) and returns plain python floats:

    - `"single_label_classification"`: `{"accuracy", "f1_macro"}` of the argmax of the logits. The macro F1 averages
      over the labels present in predictions or references, as `sklearn.metrics.f1_score(average="macro")`.
    - `"multi_label_classification"`: with `sigmoid(logits) > threshold` as predictions (references: `label_ids >=
      0.5`), `{"f1_micro", "f1_macro", "accuracy"}`; the F1 scores cover all `num_labels` columns (a label that
      is never true nor predicted scores 0) and `"accuracy"` is exact-match (subset) accuracy.
    - `"regression"`: `{"mse", "rmse", "pearsonr"}` of the logits squeezed to 1-D. With `num_labels > 1` outputs,
      they are averaged over the outputs (RMSE and Pearson correlation per output, then averaged).

    Args:
        problem_type (`str`):
            `"single_label_classification"`, `"multi_label_classification"` or `"regression"` (as
            `PretrainedConfig.problem_type`).
        num_labels (`int`):
            Number of labels (logit columns).
        threshold (`float`, defaults to 0.5):
            Probability threshold for multi-label predictions.

    Returns:
        `Callable[[EvalPrediction], dict[str, float]]`

    Example:
        >>> import numpy as np
        >>> from transformers import EvalPrediction
        >>> compute_metrics = build_compute_metrics("single_label_classification", num_labels=2)
        >>> compute_metrics(EvalPrediction(predictions=np.array([[2.0, 1.0], [0.0, 3.0]]), label_ids=np.array([0, 0])))
        {'accuracy': 0.5, 'f1_macro': 0.3333333333333333}
    """
    if problem_type not in PROBLEM_TYPES:
        raise ValueError(f"Unknown problem_type {problem_type!r}; expected one of {', '.join(PROBLEM_TYPES)}.")
    if not isinstance(num_labels, (int, np.integer)) or num_labels < 1:
        raise ValueError(f"num_labels must be a positive integer, got {num_labels!r}.")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a probability in [0, 1], got {threshold!r}.")

    if problem_type == "single_label_classification":
        return _single_label_metrics(num_labels)
    if problem_type == "multi_label_classification":
        return _multi_label_metrics(num_labels, threshold)
    return _regression_metrics()


def _check_columns(logits: np.ndarray, num_labels: int) -> None:
    if logits.ndim != 2 or logits.shape[1] != num_labels:
        raise ValueError(f"Expected logits of shape (N, {num_labels}), got {logits.shape}.")


def _single_label_metrics(num_labels: int) -> Callable[[EvalPrediction], dict[str, float]]:
    accuracy, f1 = load_metric("accuracy"), load_metric("f1")

    def compute_single_label(eval_pred: EvalPrediction) -> dict[str, float]:
        logits, labels = _unpack(eval_pred)
        _check_columns(logits, num_labels)
        predictions = logits.argmax(axis=-1)
        references = labels.reshape(-1).astype(np.int64)
        return {
            "accuracy": float(accuracy.compute(predictions=predictions, references=references)["accuracy"]),
            "f1_macro": float(f1.compute(predictions=predictions, references=references, average="macro")["f1"]),
        }

    return compute_single_label


def _multi_label_metrics(num_labels: int, threshold: float) -> Callable[[EvalPrediction], dict[str, float]]:
    accuracy, f1 = load_metric("accuracy"), load_metric("f1")

    def compute_multi_label(eval_pred: EvalPrediction) -> dict[str, float]:
        logits, labels = _unpack(eval_pred)
        _check_columns(logits, num_labels)
        with np.errstate(over="ignore"):
            probabilities = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        predictions = (probabilities > threshold).astype(np.int32)
        references = (labels.reshape(predictions.shape) >= 0.5).astype(np.int32)
        return {
            "f1_micro": float(f1.compute(predictions=predictions, references=references, average="micro")["f1"]),
            "f1_macro": float(f1.compute(predictions=predictions, references=references, average="macro")["f1"]),
            "accuracy": float(accuracy.compute(predictions=predictions, references=references)["accuracy"]),
        }

    return compute_multi_label


def _regression_metrics() -> Callable[[EvalPrediction], dict[str, float]]:
    mse, pearsonr = load_metric("mse"), load_metric("pearsonr")

    def compute_regression(eval_pred: EvalPrediction) -> dict[str, float]:
        logits, labels = _unpack(eval_pred)
        predictions = _squeeze_single_output(logits.astype(np.float64))
        references = _squeeze_single_output(labels.astype(np.float64)).reshape(predictions.shape)
        errors = mse.compute(predictions=predictions, references=references)
        columns = (
            [(predictions, references)]
            if predictions.ndim == 1
            else [(predictions[:, i], references[:, i]) for i in range(predictions.shape[1])]
        )
        correlation = np.mean([pearsonr.compute(predictions=p, references=r)["pearsonr"] for p, r in columns])
        return {"mse": float(errors["mse"]), "rmse": float(errors["rmse"]), "pearsonr": float(correlation)}

    return compute_regression


def default_metric_for_best_model(problem_type: str) -> str:
    """The `TrainingArguments.metric_for_best_model` for a problem type.

    `"f1_macro"` for single-label, `"f1_micro"` for multi-label classification and `"mse"` for regression (pair it
    with `greater_is_better=False`, see [`greater_is_better`]).
    """
    if problem_type not in _DEFAULT_METRIC_FOR_BEST_MODEL:
        raise ValueError(f"Unknown problem_type {problem_type!r}; expected one of {', '.join(PROBLEM_TYPES)}.")
    return _DEFAULT_METRIC_FOR_BEST_MODEL[problem_type]


def greater_is_better(metric_name: str) -> bool:
    """Whether a higher value of `metric_name` is better (the `TrainingArguments.greater_is_better` to use).

    `False` for losses and errors (`"loss"`, `"mse"`, `"rmse"`, `"mae"`), `True` for everything else, as
    `transformers` assumes. An `"eval_"` or `"test_"` prefix is ignored.
    """
    name = metric_name
    for prefix in ("eval_", "test_"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    return name not in _LOWER_IS_BETTER


def is_metric(key: str) -> bool:
    """Whether a Trainer metrics key (`"eval_accuracy"`, `"test_loss"`, `"epoch"`, ...) is a quality metric rather
    than bookkeeping (loss, runtime, throughput, epoch, step)."""
    return not key.endswith(NON_METRIC_SUFFIXES)


def metric_values(metrics: dict | None, prefix: str) -> dict:
    """The quality metrics of a Trainer metrics dict, prefix removed: `{"eval_accuracy": 0.9, "eval_loss": 0.3}`
    with prefix `"eval_"` gives `{"accuracy": 0.9}`."""
    return {k[len(prefix) :]: v for k, v in (metrics or {}).items() if k.startswith(prefix) and is_metric(k)}


__all__ = [
    "METRICS_DIR",
    "METRIC_KEYS",
    "METRIC_NAMES",
    "NON_METRIC_SUFFIXES",
    "PROBLEM_TYPES",
    "build_compute_metrics",
    "default_metric_for_best_model",
    "greater_is_better",
    "is_metric",
    "load_metric",
    "metric_values",
]
