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
"""Mean squared error metric, a local `evaluate` module (load it with `evaluate.load(<path to this file>)`).

Pure numpy. This file is copied by `evaluate` into its modules cache and imported from there, so it must stay
self-contained: no relative imports, and only `import evaluate` (a `from evaluate import Metric` would make
`evaluate` pick `Metric` itself as the module's main class).
"""

import evaluate
import numpy as np

from ._shared import SKLEARN_CITATION, checked_pair, checked_weights, scalar_or_row_features

_MULTIOUTPUT = ("uniform_average", "raw_values")

_DESCRIPTION = """
Mean squared error (MSE) and root mean squared error (RMSE) between predicted and true values, as
`sklearn.metrics.mean_squared_error` and `sklearn.metrics.root_mean_squared_error`. Inputs are float64.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[float]` or `list[list[float]]`):
        Predicted values, 1-D or 2-D (one column per output).
    references (`list[float]` or `list[list[float]]`):
        True values, same shape as `predictions`.
    sample_weight (`list[float]`, *optional*):
        Per-sample weights.
    multioutput (`str`, defaults to `"uniform_average"`):
        For 2-D inputs: `"uniform_average"` averages the per-output errors (RMSE: the mean of the per-output
        RMSEs, as sklearn), `"raw_values"` returns lists with one error per output.

Returns:
    `dict`: `{"mse": float, "rmse": float}` (lists of floats with `multioutput="raw_values"`).

Example:
    >>> metric = evaluate.load("gru_hf/metrics/mse.py")
    >>> metric.compute(predictions=[2.5, 0.0, 2.0, 8.0], references=[3.0, -0.5, 2.0, 7.0])
    {'mse': 0.375, 'rmse': 0.6123724356957945}
"""

_CITATION = SKLEARN_CITATION


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Mse(evaluate.Metric):
    """Mean squared error and its square root."""

    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=scalar_or_row_features("float64"),
            reference_urls=[
                "https://scikit-learn.org/stable/modules/generated/sklearn.metrics.mean_squared_error.html"
            ],
        )

    def _compute(self, predictions, references, sample_weight=None, multioutput="uniform_average"):
        if multioutput not in _MULTIOUTPUT:
            raise ValueError(f"multioutput must be one of {_MULTIOUTPUT}, got {multioutput!r}.")
        what = "non-empty 1-D values or 2-D rows"
        y_pred, y_true = checked_pair(predictions, references, dtype=np.float64, what=what)
        if y_true.shape[0] == 0:
            raise ValueError(f"Expected {what}, got shape {y_true.shape}.")
        sample_weight = checked_weights(sample_weight, y_true.shape[0])
        mse = np.average((y_pred - y_true) ** 2, axis=0, weights=sample_weight)
        rmse = np.sqrt(mse)
        if y_true.ndim == 1:
            return {"mse": float(mse), "rmse": float(rmse)}
        if multioutput == "raw_values":
            return {"mse": mse.tolist(), "rmse": rmse.tolist()}
        return {"mse": float(np.mean(mse)), "rmse": float(np.mean(rmse))}


__all__ = ["Mse"]
