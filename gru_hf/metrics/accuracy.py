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
"""Accuracy metric, a local `evaluate` module (load it with `evaluate.load(<path to this file>)`).

Pure numpy. This file is copied by `evaluate` into its modules cache and imported from there, so it must stay
self-contained: no relative imports, and only `import evaluate` (a `from evaluate import Metric` would make
`evaluate` pick `Metric` itself as the module's main class).
"""

import evaluate
import numpy as np

from ._shared import SKLEARN_CITATION, checked_pair, checked_weights, scalar_or_row_features

_DESCRIPTION = """
Accuracy: the proportion of correct predictions. For 2-D multi-hot (multi-label) inputs a sample counts as correct
only if its whole row matches (subset accuracy, as `sklearn.metrics.accuracy_score`).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[int]` or `list[list[int]]`):
        Predicted labels, or multi-hot rows for multi-label inputs.
    references (`list[int]` or `list[list[int]]`):
        Ground-truth labels, same shape as `predictions`.
    normalize (`bool`, defaults to `True`):
        Return the fraction of correct samples; if `False`, their (weighted) count.
    sample_weight (`list[float]`, *optional*):
        Per-sample weights.

Returns:
    `dict`: `{"accuracy": float}`.

Example:
    >>> metric = evaluate.load("gru_hf/metrics/accuracy.py")
    >>> metric.compute(predictions=[0, 1, 1, 0], references=[0, 1, 0, 0])
    {'accuracy': 0.75}
"""

_CITATION = SKLEARN_CITATION


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Accuracy(evaluate.Metric):
    """Accuracy (subset accuracy for multi-label inputs)."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=scalar_or_row_features("int32"),
            reference_urls=["https://scikit-learn.org/stable/modules/generated/sklearn.metrics.accuracy_score.html"],
        )

    def _compute(self, predictions, references, normalize=True, sample_weight=None):
        y_pred, y_true = checked_pair(predictions, references)
        correct = y_pred == y_true
        if correct.ndim == 2:
            correct = correct.all(axis=1)
        correct = correct.astype(np.float64)
        sample_weight = checked_weights(sample_weight, correct.shape[0])
        if normalize:
            if correct.size == 0:
                return {"accuracy": 0.0}
            return {"accuracy": float(np.average(correct, weights=sample_weight))}
        weights = np.ones_like(correct) if sample_weight is None else sample_weight
        return {"accuracy": float(np.dot(correct, weights))}


__all__ = ["Accuracy"]
