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
"""Pearson correlation metric, a local `evaluate` module (load it with `evaluate.load(<path to this file>)`).

Pure numpy. This file is copied by `evaluate` into its modules cache and imported from there, so it must stay
self-contained: no relative imports, and only `import evaluate` (a `from evaluate import Metric` would make
`evaluate` pick `Metric` itself as the module's main class).
"""

import datasets
import evaluate
import numpy as np

_DESCRIPTION = """
Pearson correlation coefficient between predictions and references, in [-1, 1] (as `numpy.corrcoef`). Where it is
undefined because one input is constant (zero variance) or has fewer than two values, the result is 0.0 instead of
NaN: a constant predictor carries no linear information, and a NaN would break best-model selection. Inputs that
contain NaN or infinity still give NaN.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[float]`):
        Predicted values.
    references (`list[float]`):
        True values, same length as `predictions`.

Returns:
    `dict`: `{"pearsonr": float}`.

Example:
    >>> metric = evaluate.load("gru_hf/metrics/pearsonr.py")
    >>> metric.compute(predictions=[1.0, 2.0, 3.0], references=[2.0, 4.0, 7.0])
    {'pearsonr': 0.9933992677987827}
"""

_CITATION = """
@article{pearson1895,
  title={Note on Regression and Inheritance in the Case of Two Parents},
  author={Pearson, Karl},
  journal={Proceedings of the Royal Society of London},
  volume={58},
  pages={240--242},
  year={1895}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Pearsonr(evaluate.Metric):
    """Pearson correlation coefficient, 0.0 where it is undefined."""

    def _info(self):
        # No `format="numpy"`: the datasets numpy formatter would hand `_compute` float32 arrays.
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("float64"), "references": datasets.Value("float64")}
            ),
            reference_urls=["https://numpy.org/doc/stable/reference/generated/numpy.corrcoef.html"],
        )

    def _compute(self, predictions, references):
        x = np.asarray(predictions, dtype=np.float64)
        y = np.asarray(references, dtype=np.float64)
        if x.shape != y.shape or x.ndim != 1:
            raise ValueError(f"predictions {x.shape} and references {y.shape} must be 1-D and of the same length.")
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            return {"pearsonr": float("nan")}
        if x.size < 2 or (x == x[0]).all() or (y == y[0]).all():
            return {"pearsonr": 0.0}
        xm = x - x.mean()
        ym = y - y.mean()
        denominator = np.sqrt(np.dot(xm, xm)) * np.sqrt(np.dot(ym, ym))
        if denominator == 0.0:
            return {"pearsonr": 0.0}
        return {"pearsonr": float(np.clip(np.dot(xm, ym) / denominator, -1.0, 1.0))}


__all__ = ["Pearsonr"]
