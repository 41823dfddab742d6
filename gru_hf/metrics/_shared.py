"""Pieces the metric scripts share. `evaluate.load(<script path>)` copies a script's relative imports
(`from ._shared import ...`) from the script's own folder into its modules cache, so this file travels with each
script. What stays in the scripts is what `evaluate` reads from the script module itself: the `Metric` subclass
with its `_info` (description, citation and inputs text are per metric) and `_compute`."""

import datasets
import numpy as np

SKLEARN_CITATION = """
@article{scikit-learn,
  title={Scikit-learn: Machine Learning in {P}ython},
  author={Pedregosa, F. and others},
  journal={Journal of Machine Learning Research},
  volume={12},
  pages={2825--2830},
  year={2011}
}
"""


def scalar_or_row_features(dtype: str) -> list:
    """Input features accepting 1-D values (single-label, one output) or 2-D rows (multi-label, several outputs)."""
    return [
        datasets.Features({"predictions": datasets.Value(dtype), "references": datasets.Value(dtype)}),
        datasets.Features(
            {
                "predictions": datasets.Sequence(datasets.Value(dtype)),
                "references": datasets.Sequence(datasets.Value(dtype)),
            }
        ),
    ]


def checked_pair(predictions, references, dtype=None, what: str = "1-D labels or 2-D multi-hot rows"):
    """`predictions` and `references` as arrays of one shape, 1-D or 2-D, or a `ValueError` saying what is off."""
    y_pred = np.asarray(predictions, dtype=dtype)
    y_true = np.asarray(references, dtype=dtype)
    if y_pred.shape != y_true.shape:
        raise ValueError(f"predictions {y_pred.shape} and references {y_true.shape} must have the same shape.")
    if y_true.ndim not in (1, 2):
        raise ValueError(f"Expected {what}, got shape {y_true.shape}.")
    return y_pred, y_true


def checked_weights(sample_weight, samples: int):
    """Per-sample weights as a float64 array of shape `(samples,)`, or None."""
    if sample_weight is None:
        return None
    weights = np.asarray(sample_weight, dtype=np.float64)
    if weights.shape != (samples,):
        raise ValueError(f"sample_weight must have shape {(samples,)}, got {weights.shape}.")
    return weights
