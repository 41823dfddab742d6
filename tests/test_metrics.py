"""Tests for the offline metric modules in `gru_hf.metrics`, checked against scikit-learn and numpy."""

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import evaluate
import numpy as np
import pytest
from evaluate.loading import get_imports
from transformers import EvalPrediction

from gru_hf.metrics import (
    METRIC_KEYS,
    METRIC_NAMES,
    METRICS_DIR,
    build_compute_metrics,
    default_metric_for_best_model,
    greater_is_better,
    is_metric,
    load_metric,
)

sklearn_metrics = pytest.importorskip("sklearn.metrics")

REPO_ROOT = Path(__file__).resolve().parents[1]


def _refuse_network(*args, **kwargs):
    raise OSError("network access attempted in an offline test")


@pytest.fixture(scope="module", autouse=True)
def offline(tmp_path_factory):
    """No network, and an empty HF_HOME for everything that reads it after this point.

    `evaluate` reads HF_HOME once, at import, so its metrics cache is patched directly. Its modules cache is left
    alone in this process (a second `evaluate_modules` package cannot be imported next to the first one);
    `test_load_in_subprocess_offline_with_empty_hf_home` covers a fresh, empty HF_HOME.
    """
    hf_home = tmp_path_factory.mktemp("hf_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("HF_EVALUATE_OFFLINE", "1")
        mp.setenv("HF_HOME", str(hf_home))
        mp.setattr(evaluate.config, "HF_EVALUATE_OFFLINE", True)
        mp.setattr(evaluate.config, "HF_METRICS_CACHE", hf_home / "metrics")
        mp.setattr(socket.socket, "connect", _refuse_network)
        yield hf_home


@pytest.fixture(scope="module")
def metrics(offline):
    return {name: load_metric(name) for name in METRIC_NAMES}


def approx(value):
    return pytest.approx(value, rel=1e-12, abs=1e-15)


# ---------------------------------------------------------------------------------------------------------------------
# Loading


def test_metric_files_are_shipped_with_only_their_shared_helpers():
    for name in METRIC_NAMES:
        path = METRICS_DIR / f"{name}.py"
        assert path.is_file()
        # evaluate copies relative imports next to the script and requires every library import: keep them minimal.
        # The one relative import is the shared helpers' file, which itself imports libraries only.
        imports = get_imports(str(path))
        assert {module for kind, module, *_ in imports if kind != "library"} <= {"_shared"}
        assert {module for kind, module, *_ in imports if kind == "library"} <= {"datasets", "evaluate", "numpy"}
    shared = get_imports(str(METRICS_DIR / "_shared.py"))
    assert {kind for kind, *_ in shared} == {"library"}
    assert {module for _, module, *_ in shared} <= {"datasets", "numpy"}


def test_load_metric_returns_local_modules(metrics):
    for name, metric in metrics.items():
        assert isinstance(metric, evaluate.Metric)
        assert type(metric) is not evaluate.Metric
        assert metric.name == name
        assert type(metric).__module__.startswith(f"evaluate_modules.metrics.{name}.")
        assert metric.keep_in_memory


def test_load_metric_unknown_name():
    with pytest.raises(ValueError, match=r"Unknown metric 'rouge'; known metrics: accuracy, f1, mse, pearsonr"):
        load_metric("rouge")


def test_load_in_subprocess_offline_with_empty_hf_home(tmp_path):
    hf_home = tmp_path / "hf_home"
    hf_home.mkdir()
    script = textwrap.dedent(
        """
        import json, socket

        def refuse(*args, **kwargs):
            raise OSError("network access attempted")

        socket.socket.connect = refuse
        from gru_hf.metrics import METRIC_NAMES, load_metric

        results = {}
        for name in METRIC_NAMES:
            results.update(load_metric(name).compute(predictions=[0, 1, 1], references=[0, 1, 0]))
        print(json.dumps(results))
        """
    )
    env = {k: v for k, v in os.environ.items() if not (k.startswith("HF_") or k == "XDG_CACHE_HOME")}
    env.update(HF_HUB_OFFLINE="1", HF_HOME=str(hf_home))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    expected = {"accuracy": 2 / 3, "f1": 2 / 3, "mse": 1 / 3, "rmse": np.sqrt(1 / 3), "pearsonr": 0.5}
    assert results == {name: approx(value) for name, value in expected.items()}
    for name in METRIC_NAMES:
        assert list((hf_home / "modules" / "evaluate_modules" / "metrics" / name).glob(f"*/{name}.py"))


# ---------------------------------------------------------------------------------------------------------------------
# Metric modules against scikit-learn / numpy


@pytest.mark.parametrize("seed", [0, 1])
def test_accuracy_matches_sklearn(metrics, seed):
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.integers(0, 5, 200), rng.integers(0, 5, 200)
    weights = rng.random(200)
    accuracy = metrics["accuracy"]
    assert accuracy.compute(predictions=y_pred, references=y_true)["accuracy"] == approx(
        sklearn_metrics.accuracy_score(y_true, y_pred)
    )
    assert accuracy.compute(predictions=y_pred, references=y_true, sample_weight=weights)["accuracy"] == approx(
        sklearn_metrics.accuracy_score(y_true, y_pred, sample_weight=weights)
    )
    assert accuracy.compute(predictions=y_pred, references=y_true, normalize=False)["accuracy"] == approx(
        sklearn_metrics.accuracy_score(y_true, y_pred, normalize=False)
    )
    # Multi-label: subset accuracy.
    y_true, y_pred = rng.integers(0, 2, (200, 3)), rng.integers(0, 2, (200, 3))
    assert accuracy.compute(predictions=y_pred, references=y_true)["accuracy"] == approx(
        sklearn_metrics.accuracy_score(y_true, y_pred)
    )


@pytest.mark.parametrize("average", ["micro", "macro", "weighted"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_f1_multiclass_matches_sklearn(metrics, average, seed):
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.integers(0, 4, 100), rng.integers(0, 4, 100)
    y_pred[y_pred == 3] = 2  # class 3 is never predicted
    weights = rng.random(100)
    f1 = metrics["f1"]
    assert f1.compute(predictions=y_pred, references=y_true, average=average)["f1"] == approx(
        sklearn_metrics.f1_score(y_true, y_pred, average=average, zero_division=0)
    )
    assert f1.compute(predictions=y_pred, references=y_true, average=average, sample_weight=weights)["f1"] == approx(
        sklearn_metrics.f1_score(y_true, y_pred, average=average, sample_weight=weights, zero_division=0)
    )
    # Labels 5 and 6 are absent from both: they score 0 (and count in the macro average).
    labels = [0, 2, 5, 6, 1]
    assert f1.compute(predictions=y_pred, references=y_true, average=average, labels=labels)["f1"] == approx(
        sklearn_metrics.f1_score(y_true, y_pred, average=average, labels=labels, zero_division=0)
    )


@pytest.mark.parametrize("pos_label", [0, 1])
def test_f1_binary_matches_sklearn(metrics, pos_label):
    rng = np.random.default_rng(3)
    y_true, y_pred = rng.integers(0, 2, 100), rng.integers(0, 2, 100)
    f1 = metrics["f1"]
    assert f1.compute(predictions=y_pred, references=y_true, average="binary", pos_label=pos_label)["f1"] == approx(
        sklearn_metrics.f1_score(y_true, y_pred, average="binary", pos_label=pos_label, zero_division=0)
    )
    for average in ["micro", "macro", "weighted"]:  # pos_label is ignored
        assert f1.compute(predictions=y_pred, references=y_true, average=average, pos_label=pos_label)["f1"] == approx(
            sklearn_metrics.f1_score(y_true, y_pred, average=average, zero_division=0)
        )
    # The positive class never predicted nor true.
    zeros = np.zeros(10, dtype=int)
    assert f1.compute(predictions=zeros, references=zeros, average="binary")["f1"] == 0.0
    assert sklearn_metrics.f1_score(zeros, zeros, average="binary", zero_division=0) == 0.0


@pytest.mark.parametrize("average", ["micro", "macro", "weighted", "samples"])
@pytest.mark.parametrize("seed", [0, 1])
def test_f1_multilabel_matches_sklearn(metrics, average, seed):
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.integers(0, 2, (100, 5)), rng.integers(0, 2, (100, 5))
    y_true[:, 4] = 0  # label 4 is never true ...
    y_pred[:, 4] = 0  # ... nor predicted
    y_pred[:, 3] = 0  # label 3 is never predicted
    y_true[:5] = y_pred[:5] = 0  # samples without any label
    weights = rng.random(100)
    f1 = metrics["f1"]
    assert f1.compute(predictions=y_pred, references=y_true, average=average)["f1"] == approx(
        sklearn_metrics.f1_score(y_true, y_pred, average=average, zero_division=0)
    )
    assert f1.compute(predictions=y_pred, references=y_true, average=average, sample_weight=weights)["f1"] == approx(
        sklearn_metrics.f1_score(y_true, y_pred, average=average, sample_weight=weights, zero_division=0)
    )
    assert f1.compute(predictions=y_pred, references=y_true, average=average, labels=[4, 0])["f1"] == approx(
        sklearn_metrics.f1_score(y_true, y_pred, average=average, labels=[4, 0], zero_division=0)
    )


def test_f1_hand_made(metrics):
    f1 = metrics["f1"]
    # Per class: 0 -> 1, 1 -> 2/3, 2 -> 0 (never predicted).
    result = f1.compute(predictions=[0, 1, 1, 0], references=[0, 1, 2, 0], average="macro")
    assert result == {"f1": approx(5 / 9)}
    assert f1.compute(predictions=[0, 1, 1, 0], references=[0, 1, 2, 0], average="micro") == {"f1": approx(0.75)}
    assert f1.compute(predictions=[0, 0], references=[0, 0], average="macro") == {"f1": 1.0}


def test_f1_invalid_inputs(metrics):
    f1 = metrics["f1"]
    with pytest.raises(ValueError, match="multiclass"):
        f1.compute(predictions=[0, 1, 2], references=[0, 1, 1], average="binary")
    with pytest.raises(ValueError, match="pos_label=1 is not a valid label"):
        f1.compute(predictions=[0, 2, 2], references=[0, 2, 0], average="binary")
    with pytest.raises(ValueError, match="multilabel"):
        f1.compute(predictions=[[0, 1]], references=[[0, 1]], average="binary")
    with pytest.raises(ValueError, match="samples"):
        f1.compute(predictions=[0, 1], references=[0, 1], average="samples")
    with pytest.raises(ValueError, match="average must be one of"):
        f1.compute(predictions=[0, 1], references=[0, 1], average="macr")
    with pytest.raises(ValueError, match="0/1 multi-hot"):
        f1.compute(predictions=[[0, 2]], references=[[0, 1]], average="micro")


@pytest.mark.parametrize("seed", [0, 1])
def test_mse_matches_sklearn(metrics, seed):
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.normal(size=50), rng.normal(size=50)
    weights = rng.random(50)
    mse = metrics["mse"]
    result = mse.compute(predictions=y_pred, references=y_true)
    assert result["mse"] == approx(sklearn_metrics.mean_squared_error(y_true, y_pred))
    assert result["rmse"] == approx(sklearn_metrics.root_mean_squared_error(y_true, y_pred))
    result = mse.compute(predictions=y_pred, references=y_true, sample_weight=weights)
    assert result["mse"] == approx(sklearn_metrics.mean_squared_error(y_true, y_pred, sample_weight=weights))
    assert result["rmse"] == approx(sklearn_metrics.root_mean_squared_error(y_true, y_pred, sample_weight=weights))
    # Several outputs.
    y_true, y_pred = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    result = mse.compute(predictions=y_pred, references=y_true)
    assert result["mse"] == approx(sklearn_metrics.mean_squared_error(y_true, y_pred))
    assert result["rmse"] == approx(sklearn_metrics.root_mean_squared_error(y_true, y_pred))
    result = mse.compute(predictions=y_pred, references=y_true, multioutput="raw_values")
    np.testing.assert_allclose(
        result["mse"], sklearn_metrics.mean_squared_error(y_true, y_pred, multioutput="raw_values"), rtol=1e-12
    )


def test_mse_hand_made(metrics):
    result = metrics["mse"].compute(predictions=[2.5, 0.0, 2.0, 8.0], references=[3.0, -0.5, 2.0, 7.0])
    assert result == {"mse": 0.375, "rmse": approx(0.375**0.5)}
    # float64 end to end: no float32 rounding of the inputs.
    result = metrics["mse"].compute(predictions=[0.1], references=[0.1 + 1e-12])
    assert result["mse"] == approx(((0.1 + 1e-12) - 0.1) ** 2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pearsonr_matches_numpy(metrics, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=40)
    y = 0.5 * x + rng.normal(size=40)
    assert metrics["pearsonr"].compute(predictions=x, references=y)["pearsonr"] == approx(np.corrcoef(x, y)[0, 1])


def test_pearsonr_edge_cases(metrics):
    pearsonr = metrics["pearsonr"]
    assert pearsonr.compute(predictions=[1.0, 2.0, 3.0], references=[2.0, 4.0, 6.0])["pearsonr"] == approx(1.0)
    assert pearsonr.compute(predictions=[1.0, 2.0, 3.0], references=[3.0, 2.0, 1.0])["pearsonr"] == approx(-1.0)
    # Undefined correlation (numpy gives NaN): 0.0.
    assert pearsonr.compute(predictions=[0.1, 0.1, 0.1], references=[1.0, 2.0, 3.0])["pearsonr"] == 0.0
    assert pearsonr.compute(predictions=[1.0, 2.0, 3.0], references=[5.0, 5.0, 5.0])["pearsonr"] == 0.0
    assert pearsonr.compute(predictions=[1.0], references=[2.0])["pearsonr"] == 0.0
    # Non-finite inputs are not hidden.
    assert np.isnan(pearsonr.compute(predictions=[1.0, np.nan, 3.0], references=[1.0, 2.0, 3.0])["pearsonr"])


# ---------------------------------------------------------------------------------------------------------------------
# compute_metrics


def _assert_floats(result):
    assert all(type(value) is float for value in result.values()), result


def test_compute_metrics_single_label(offline):
    compute_metrics = build_compute_metrics("single_label_classification", num_labels=3)
    logits = np.array([[2.0, 0.0, 1.0], [0.0, 1.0, -1.0], [0.5, 3.0, 2.0], [4.0, 1.0, 1.0]], dtype=np.float32)
    labels = np.array([0, 1, 2, 0])  # argmax: [0, 1, 1, 0]; class 2 is never predicted
    result = compute_metrics(EvalPrediction(predictions=logits, label_ids=labels))
    assert result == {"accuracy": 0.75, "f1_macro": approx(5 / 9)}
    _assert_floats(result)
    # Logits as the first element of a tuple of outputs, and a plain (predictions, labels) tuple.
    hidden = np.zeros((4, 7))
    assert compute_metrics(EvalPrediction(predictions=(logits, hidden), label_ids=labels)) == result
    assert compute_metrics((logits, labels)) == result
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        compute_metrics(EvalPrediction(predictions=logits[:, :2], label_ids=labels))


def test_compute_metrics_multi_label(offline):
    compute_metrics = build_compute_metrics("multi_label_classification", num_labels=3)
    logits = np.array([[3.0, -2.0, -1.0], [1.0, 2.0, -3.0], [-1.0, -1.0, -1.0], [-2.0, 1.5, -0.5]])
    labels = np.array([[1, 0, 0], [1, 0, 0], [0, 0, 0], [0, 1, 1]], dtype=np.float32)
    # Predictions (logit > 0): [1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 1, 0]; per label F1: 1, 2/3, 0 (never predicted).
    result = compute_metrics(EvalPrediction(predictions=logits, label_ids=labels))
    assert result == {"f1_micro": approx(0.75), "f1_macro": approx(5 / 9), "accuracy": 0.5}
    _assert_floats(result)
    # sigmoid(1.0) = 0.73, sigmoid(1.5) = 0.82, sigmoid(2.0) = 0.88, sigmoid(3.0) = 0.95: with threshold 0.85,
    # predictions [1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 0]; per label F1: 2/3, 0, 0; micro: 2 * 1 / (2 * 1 + 1 + 3).
    strict = build_compute_metrics("multi_label_classification", num_labels=3, threshold=0.85)
    result = strict(EvalPrediction(predictions=logits, label_ids=labels))
    assert result == {"f1_micro": approx(1 / 3), "f1_macro": approx(2 / 9), "accuracy": 0.5}
    # Huge logits do not overflow.
    result = compute_metrics(EvalPrediction(predictions=logits * 1e4, label_ids=labels))
    assert result["accuracy"] == 0.5


def test_compute_metrics_regression(offline):
    compute_metrics = build_compute_metrics("regression", num_labels=1)
    logits = np.array([[1.0], [2.0], [3.0], [4.0]], dtype=np.float32)
    labels = np.array([1.0, 2.0, 3.0, 5.0], dtype=np.float32)
    result = compute_metrics(EvalPrediction(predictions=logits, label_ids=labels))
    # Centered: x = [-1.5, -0.5, 0.5, 1.5], y = [-1.75, -0.75, 0.25, 2.25]: x.y = 6.5, |x|^2 = 5, |y|^2 = 8.75.
    assert result == {"mse": 0.25, "rmse": 0.5, "pearsonr": approx(6.5 / np.sqrt(5 * 8.75))}
    _assert_floats(result)
    # All-equal predictions: correlation undefined -> 0.0.
    result = compute_metrics(EvalPrediction(predictions=np.full((4, 1), 2.0), label_ids=labels))
    assert result == {"mse": approx((1 + 0 + 1 + 9) / 4), "rmse": approx(np.sqrt(11 / 4)), "pearsonr": 0.0}
    # A single sample stays one-dimensional.
    result = compute_metrics(EvalPrediction(predictions=np.array([[1.0]]), label_ids=np.array([3.0])))
    assert result == {"mse": 4.0, "rmse": 2.0, "pearsonr": 0.0}


def test_compute_metrics_regression_several_outputs(offline):
    compute_metrics = build_compute_metrics("regression", num_labels=2)
    logits = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 1.0]])
    labels = np.array([[1.0, 1.0], [2.0, 1.0], [4.0, 1.0]])
    result = compute_metrics(EvalPrediction(predictions=logits, label_ids=labels))
    assert result["mse"] == approx((1 / 3 + 2 / 3) / 2)
    assert result["rmse"] == approx((np.sqrt(1 / 3) + np.sqrt(2 / 3)) / 2)
    assert result["pearsonr"] == approx(np.corrcoef([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])[0, 1] / 2)


def test_build_compute_metrics_invalid_arguments():
    with pytest.raises(ValueError, match="Unknown problem_type"):
        build_compute_metrics("multi_class", num_labels=2)
    with pytest.raises(ValueError, match="num_labels"):
        build_compute_metrics("regression", num_labels=0)
    with pytest.raises(ValueError, match="threshold"):
        build_compute_metrics("multi_label_classification", num_labels=2, threshold=1.5)


@pytest.mark.parametrize(
    "problem_type, logits, labels",
    [
        ("single_label_classification", [[0.1, 0.9], [0.8, 0.2]], [1, 1]),
        ("multi_label_classification", [[2.0, -1.0], [-1.0, 2.0]], [[1.0, 0.0], [1.0, 1.0]]),
        ("regression", [[0.5], [1.5], [2.0]], [0.0, 1.0, 3.0]),
    ],
)
def test_metric_keys_are_what_compute_metrics_returns(problem_type, logits, labels):
    compute = build_compute_metrics(problem_type, num_labels=len(logits[0]) if problem_type != "regression" else 1)
    result = compute(EvalPrediction(predictions=np.array(logits), label_ids=np.array(labels)))
    assert tuple(result) == METRIC_KEYS[problem_type]


def test_bookkeeping_keys_are_not_metrics():
    for key in ("eval_loss", "test_runtime", "eval_samples_per_second", "epoch", "eval_model_preparation_time"):
        assert not is_metric(key), key
    for key in ("eval_accuracy", "test_f1_macro", "eval_mse", "eval_pearsonr"):
        assert is_metric(key), key


def test_best_model_selection():
    assert default_metric_for_best_model("single_label_classification") == "f1_macro"
    assert default_metric_for_best_model("multi_label_classification") == "f1_micro"
    assert default_metric_for_best_model("regression") == "mse"
    with pytest.raises(ValueError, match="Unknown problem_type"):
        default_metric_for_best_model("ranking")
    for name in ["f1_macro", "f1_micro", "accuracy", "pearsonr", "eval_f1_macro"]:
        assert greater_is_better(name)
    for name in ["mse", "rmse", "loss", "eval_mse", "eval_loss", "test_rmse"]:
        assert not greater_is_better(name)
