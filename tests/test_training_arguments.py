"""Standard `TrainingArguments` combinations keep their meaning in `gru-hf train`: where gru-hf changed a default
(checkpoints at every evaluation, the best one kept at the end), a conflicting user choice wins and the dependent
default follows instead of failing."""

import copy
import csv
import json
import os

import pytest
from conftest import tiny_args
from transformers import pipeline

from gru_hf.cli import main, parse_train_arguments
from gru_hf.training import check_metric_for_best_model, train


def parsed(*extra):
    return parse_train_arguments(["--output_dir", "unused", *extra])[2]


@pytest.mark.parametrize(
    "extra, save_strategy, load_best",
    [
        ((), "epoch", True),  # gru-hf's defaults
        (("--save_strategy", "no"), "no", False),
        (("--eval_strategy", "no"), "epoch", False),
        (("--eval_strategy", "steps", "--eval_steps", "3"), "steps", True),
        (
            ("--eval_strategy", "steps", "--eval_steps", "3", "--save_strategy", "steps", "--save_steps", "4"),
            "steps",
            False,
        ),
        (
            ("--eval_strategy", "steps", "--eval_steps", "3", "--save_strategy", "steps", "--save_steps", "6"),
            "steps",
            True,
        ),
        (("--save_strategy", "best"), "best", True),
        (("--load_best_model_at_end", "false"), "epoch", False),
        (("--save_strategy", "steps"), "steps", False),
        (("--eval_strategy", "steps"), "steps", True),  # every 10% of training, not every logging step (2%)
    ],
)
def test_dependent_defaults_follow_the_user(extra, save_strategy, load_best):
    args = parsed(*extra)
    assert args.save_strategy.value == save_strategy
    assert args.load_best_model_at_end is load_best
    if "steps" in extra and "--save_strategy" not in extra:
        expected = 3 if "--eval_steps" in extra else 0.1
        assert args.save_steps == args.eval_steps == expected  # a checkpoint at every evaluation


def test_explicit_conflicting_choice_still_fails_as_in_transformers():
    with pytest.raises(ValueError, match="requires the save and eval strategy to match"):
        parsed("--save_strategy", "no", "--load_best_model_at_end", "true")


@pytest.mark.parametrize(
    "extra",
    [
        ("--save_strategy", "no"),
        ("--eval_strategy", "no"),
        ("--eval_strategy", "steps", "--eval_steps", "2"),
        ("--max_steps", "3"),
        ("--load_best_model_at_end", "false", "--early_stopping_patience", "2"),
    ],
    ids=["save-no", "eval-no", "eval-steps", "max-steps", "no-best-model"],
)
def test_standard_flag_combinations_train(tmp_path, tiny_files, extra):
    out = tmp_path / "model"
    model_args, data_args, training_args = parse_train_arguments(tiny_args(tiny_files, out, *extra))
    before = copy.deepcopy(training_args.to_dict())
    results = train(model_args, data_args, training_args)
    assert training_args.to_dict() == before  # the caller's arguments are left as they were
    assert results["test"]["test_accuracy"] >= 0.0 and (out / "model.safetensors").is_file()
    assert json.loads((out / "results.json").read_text())["test"] == results["test"]
    checkpoints = [name for name in os.listdir(out) if name.startswith("checkpoint-")]
    if "--save_strategy" in extra:
        assert checkpoints == []
    if "--max_steps" in extra:
        state = json.loads((out / checkpoints[0] / "trainer_state.json").read_text())
        assert state["global_step"] == 3 and state["max_steps"] == 3
    if extra == ("--eval_strategy", "no"):
        state = json.loads((out / sorted(checkpoints)[-1] / "trainer_state.json").read_text())
        assert state["global_step"] > 0 and not any("eval_loss" in entry for entry in state["log_history"])
        assert state["best_model_checkpoint"] is None


@pytest.mark.parametrize(
    "extra, min_frequency",
    [
        ((), 2),  # random embeddings: words seen once are mostly noise
        (("--glove", "vectors.txt"), 1),  # the vectors know most words seen once
        (("--glove", "vectors.txt", "--min_frequency", "3"), 3),  # your choice wins
        (("--min_frequency", "1"), 1),
    ],
)
def test_min_frequency_default_follows_glove(extra, min_frequency):
    model_args = parse_train_arguments(["--output_dir", "unused", *extra])[0]
    assert model_args.min_frequency == min_frequency


@pytest.mark.parametrize("name", ["accuracy", "eval_accuracy", "f1_macro", "loss", "eval_loss"])
def test_metric_for_best_model_the_evaluation_reports(name):
    check_metric_for_best_model(parsed("--metric_for_best_model", name), "single_label_classification")


def test_metric_for_best_model_not_reported_is_one_line_before_training(tmp_path, tiny_files, capsys):
    out = tmp_path / "model"
    assert main(["train", *tiny_args(tiny_files, out), "--metric_for_best_model", "f1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert [line for line in err.splitlines() if "error" in line] == [
        "gru-hf train: error: --metric_for_best_model f1: a single_label_classification job's evaluation reports "
        "accuracy, f1_macro, loss (with or without the eval_ prefix)"
    ]
    assert not out.exists()
    with pytest.raises(ValueError, match="a regression job's evaluation reports mse, rmse, pearsonr, loss"):
        check_metric_for_best_model(parsed("--metric_for_best_model", "accuracy"), "regression")


@pytest.mark.parametrize(
    "name, message",
    [
        ("tensorbord", "--report_to tensorbord: unknown; use none, all or one of azure_ml, comet_ml"),
        ("not-installed", "--report_to {name}: {name} is not installed (pip install {name}); or use --report_to none"),
    ],
)
def test_report_to_a_logger_that_cannot_run_is_one_line_before_loading(tmp_path, capsys, name, message):
    from transformers.integrations import get_available_reporting_integrations
    from transformers.integrations.integration_utils import INTEGRATION_TO_CALLBACK

    if name == "not-installed":
        absent = [n for n in INTEGRATION_TO_CALLBACK if n not in get_available_reporting_integrations()]
        if not absent:
            pytest.skip("every reporting integration is installed")
        name = absent[0]
    out = tmp_path / "model"
    assert (
        main(
            ["train", "--train_file", str(tmp_path / "never-read.csv"), "--output_dir", str(out), "--report_to", name]
        )
        == 2
    )
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"gru-hf train: error: {message.format(name=name)}"), err
    assert not out.exists()


def test_training_on_all_the_data_without_a_validation_split(tmp_path, tiny_files, capsys):
    """As run_classification.py without --do_eval: no validation split, no evaluation during training."""
    out = tmp_path / "model"
    results = train(
        *parse_train_arguments(
            tiny_args(tiny_files, out, "--validation_split_percentage", "0", "--eval_strategy", "no")
        )
    )
    assert "validation" not in results and results["test"]["test_accuracy"] >= 0
    assert json.loads((out / "results.json").read_text())["train_runtime_s"] > 0
    streamed = (
        "--streaming",
        "true",
        "--max_steps",
        "4",
        "--validation_split_percentage",
        "0",
        "--eval_strategy",
        "no",
    )
    results = train(*parse_train_arguments(tiny_args(tiny_files, tmp_path / "streamed", *streamed)))
    assert "validation" not in results and "test" in results
    assert main(["train", *tiny_args(tiny_files, tmp_path / "evaluating", "--validation_split_percentage", "0")]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert err == [
        "gru-hf train: error: there is no validation split (--validation_split_percentage 0 and no "
        "--validation_file), but --eval_strategy epoch evaluates on one: pass --eval_strategy no to train without "
        "it, or give a validation split"
    ]


def test_do_predict_writes_the_test_predictions_as_run_classification_does(tmp_path, tiny_files):
    out = tmp_path / "model"
    train(*parse_train_arguments(tiny_args(tiny_files, out, "--do_predict", "true")))
    lines = (out / "predict_results.txt").read_text().splitlines()
    classifier = pipeline("text-classification", model=str(out))
    with open(tiny_files["test"], newline="", encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    assert lines[0] == "index\tprediction"
    assert lines[1:] == [f"{i}\t{r['label']}" for i, r in enumerate(classifier(texts, truncation=True))]
    train(*parse_train_arguments(tiny_args(tiny_files, tmp_path / "plain")))
    assert not (tmp_path / "plain" / "predict_results.txt").exists()  # only when asked
