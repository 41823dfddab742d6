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
"""F1 metric, a local `evaluate` module (load it with `evaluate.load(<path to this file>)`).

Pure numpy re-implementation of `sklearn.metrics.f1_score(..., zero_division=0)`. This file is copied by `evaluate`
into its modules cache and imported from there, so it must stay self-contained: no relative imports, and only
`import evaluate` (a `from evaluate import Metric` would make `evaluate` pick `Metric` itself as the main class).
"""

import evaluate
import numpy as np

from ._shared import SKLEARN_CITATION, checked_pair, checked_weights, scalar_or_row_features

_AVERAGES = ("binary", "micro", "macro", "weighted", "samples")

_DESCRIPTION = """
F1 score, the harmonic mean of precision and recall: F1 = 2 * TP / (2 * TP + FP + FN). Works on single-label integer
labels (1-D) and on multi-label multi-hot rows (2-D). A 0 / 0 division gives 0, as sklearn with `zero_division=0`.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[int]` or `list[list[int]]`):
        Predicted labels, or 0/1 multi-hot rows for multi-label inputs.
    references (`list[int]` or `list[list[int]]`):
        Ground-truth labels, same shape as `predictions`.
    average (`str`, defaults to `"binary"`):
        - `"binary"`: F1 of the class `pos_label` (single-label inputs with at most two distinct labels).
        - `"micro"`: F1 of the summed true positives, false positives and false negatives of all labels.
        - `"macro"`: unweighted mean of the per-label F1 scores.
        - `"weighted"`: mean of the per-label F1 scores weighted by their support (number of true instances).
        - `"samples"`: mean of the per-sample F1 scores (multi-label inputs only).
    labels (`list[int]`, *optional*):
        Labels (single-label) or column indices (multi-label) to score. Defaults to the sorted labels present in
        `predictions` or `references` (single-label) or to all columns (multi-label). A label absent from both
        scores 0 and still counts in `"macro"`.
    pos_label (`int`, defaults to 1):
        The positive class for `average="binary"`.
    sample_weight (`list[float]`, *optional*):
        Per-sample weights.

Returns:
    `dict`: `{"f1": float}`.

Example:
    >>> metric = evaluate.load("gru_hf/metrics/f1.py")
    >>> metric.compute(predictions=[0, 2, 1, 0], references=[0, 1, 2, 0], average="macro")
    {'f1': 0.3333333333333333}
"""

_CITATION = SKLEARN_CITATION


def _divide(numerator, denominator):
    """Element-wise `numerator / denominator`, 0 where `denominator` is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.zeros(np.broadcast(numerator, denominator).shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _label_index(values, labels):
    """Position of each of `values` in `labels`, -1 for values not in `labels`."""
    if labels.size == 0:
        return np.full(values.shape, -1, dtype=np.int64)
    sorter = np.argsort(labels, kind="stable")
    pos = np.clip(np.searchsorted(labels, values, sorter=sorter), 0, labels.size - 1)
    index = sorter[pos]
    return np.where(labels[index] == values, index, -1)


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class F1(evaluate.Metric):
    """F1 score for single-label and multi-label classification."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=scalar_or_row_features("int32"),
            reference_urls=["https://scikit-learn.org/stable/modules/generated/sklearn.metrics.f1_score.html"],
        )

    def _compute(self, predictions, references, average="binary", labels=None, pos_label=1, sample_weight=None):  # noqa: C901  one branch per averaging mode, as sklearn's f1_score
        if average not in _AVERAGES:
            raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}.")
        y_pred, y_true = checked_pair(predictions, references)
        weights = checked_weights(sample_weight, y_true.shape[0])

        if y_true.ndim == 2:
            tp, pred_sum, true_sum = self._multilabel_counts(y_pred, y_true, average, labels, weights)
            if average == "samples":
                # `tp`, `pred_sum` and `true_sum` are per sample here.
                return {"f1": float(np.average(_divide(2 * tp, true_sum + pred_sum), weights=weights))}
        else:
            if average == "samples":
                raise ValueError("average='samples' is only available for multi-label (2-D multi-hot) inputs.")
            if average == "binary":
                present = np.union1d(y_true, y_pred)
                if present.size > 2:
                    raise ValueError(
                        f"Target is multiclass (labels {present.tolist()}) but average='binary'; "
                        "choose another average setting, one of ['micro', 'macro', 'weighted']."
                    )
                if present.size == 2 and pos_label not in present:
                    raise ValueError(f"pos_label={pos_label} is not a valid label: it should be one of {present}.")
                label_array = np.asarray([pos_label])
            elif labels is None:
                label_array = np.union1d(y_true, y_pred)
            else:
                label_array = np.asarray(labels)
            tp, pred_sum, true_sum = self._single_label_counts(y_pred, y_true, label_array, weights)

        if average == "micro":
            tp, pred_sum, true_sum = tp.sum(), pred_sum.sum(), true_sum.sum()
        f1 = _divide(2 * tp, true_sum + pred_sum)
        if average == "weighted":
            if true_sum.sum() == 0:
                return {"f1": 0.0}
            return {"f1": float(np.average(f1, weights=true_sum))}
        if f1.size == 0:
            return {"f1": 0.0}
        return {"f1": float(np.mean(f1))}

    @staticmethod
    def _single_label_counts(y_pred, y_true, labels, weights):
        """Per-label (true positives, predicted count, true count), weighted by `weights`."""
        if weights is None:
            weights = np.ones(y_true.shape[0], dtype=np.float64)
        true_index = _label_index(y_true, labels)
        pred_index = _label_index(y_pred, labels)
        n = labels.size
        in_true = true_index >= 0
        in_pred = pred_index >= 0
        hit = in_true & (y_true == y_pred)
        true_sum = np.bincount(true_index[in_true], weights=weights[in_true], minlength=n)
        pred_sum = np.bincount(pred_index[in_pred], weights=weights[in_pred], minlength=n)
        tp = np.bincount(true_index[hit], weights=weights[hit], minlength=n)
        return tp, pred_sum, true_sum

    @staticmethod
    def _multilabel_counts(y_pred, y_true, average, labels, weights):
        """Per-label (or, for `average="samples"`, per-sample) (true positives, predicted count, true count)."""
        if average == "binary":
            raise ValueError(
                "Target is multilabel-indicator but average='binary'; "
                "choose another average setting, one of ['micro', 'macro', 'weighted', 'samples']."
            )
        for name, array in (("predictions", y_pred), ("references", y_true)):
            if not np.isin(array, (0, 1)).all():
                raise ValueError(f"Multi-label {name} must be 0/1 multi-hot rows.")
        if labels is not None:
            columns = np.asarray(labels, dtype=np.int64)
            y_pred, y_true = y_pred[:, columns], y_true[:, columns]
        y_pred = y_pred.astype(bool)
        y_true = y_true.astype(bool)
        both = y_pred & y_true
        if average == "samples":
            return both.sum(axis=1), y_pred.sum(axis=1), y_true.sum(axis=1)
        if weights is None:
            return both.sum(axis=0), y_pred.sum(axis=0), y_true.sum(axis=0)
        return weights @ both, weights @ y_pred, weights @ y_true


__all__ = ["F1"]
