"""--autotune_seconds: a search on the validation split within the budget, the best trial chosen by validation, and
the saved model exactly what `train()` makes of the chosen values."""

import dataclasses
import json
import math
import time

import pytest
import torch
from conftest import tiny_args, tiny_config, write_csv
from safetensors.torch import load_file

from gru_hf.autotune import choose_trial, chosen_arguments, neighbour_trials, noise_margin, search_space
from gru_hf.cli import parse_train_arguments
from gru_hf.modeling_gru import GRUForSequenceClassification
from gru_hf.training import GRUTrainer, GRUTrainingArguments, train

BUDGET = 15.0  # one tiny trial takes ~1 s on idle cores (CI), ~11 s with the machine fully loaded
# Over the budget: the end of a step and an evaluation, the test evaluation, the retrain's data preparation and
# its model card's plots (matplotlib: ~5 s on a loaded 2-core machine).
MARGIN = 10.0


def autotune_files(tmp_path):
    positive = ["good film", "great acting", "a wonderful movie", "truly great", "good fun", "lovely story"]
    negative = ["bad film", "awful acting", "a terrible movie", "truly awful", "boring fun", "dull story"]
    rows = [(t, "pos") for t in positive * 5] + [(t, "neg") for t in negative * 5]
    return {
        "train": write_csv(tmp_path / "train.csv", rows),
        "test": write_csv(tmp_path / "test.csv", [(t, "pos") for t in positive] + [(t, "neg") for t in negative]),
    }


def test_autotune_within_budget_best_trial_and_same_model_as_train(tmp_path):
    files = autotune_files(tmp_path)
    out = tmp_path / "tuned"
    extra = ("--autotune_seconds", str(BUDGET), "--num_train_epochs", "3", "--early_stopping_patience", "2")
    model_args, data_args, training_args = parse_train_arguments(tiny_args(files, out, *extra))
    start = time.monotonic()
    results = train(model_args, data_args, training_args)
    elapsed = time.monotonic() - start
    assert elapsed <= BUDGET + MARGIN

    search = json.loads((out / "results.json").read_text())["search"]
    assert search == results["search"]
    assert search["budget_s"] == BUDGET and search["search_s"] <= BUDGET
    completed = [t for t in search["trials"] if t["state"] == "complete"]
    assert len(completed) >= 2
    assert search["trials"][0]["number"] == 0 and search["trials"][0]["params"]["learning_rate"] == 0.02
    # Trial 0 (your settings) gives way only to a trial that beats it by more than one standard error.
    best = max(completed, key=lambda t: t["value"])
    first = search["trials"][0]
    assert search["validation_size"] == 6  # tiny_args: 10% of 60 training texts
    assert search["min_gain"] == pytest.approx(math.sqrt(first["value"] * (1 - first["value"]) / 6))
    assert search["best"] == {"trial": best["number"], "value": best["value"]}
    expected = best if best["value"] - first["value"] > search["min_gain"] else first
    assert search["chosen"]["trial"] == expected["number"] and search["chosen"]["value"] == expected["value"]
    assert search["chosen"]["params"] == expected["params"]
    for trial in completed:
        assert trial["value"] == max(trial["evaluations"])  # a trial's score: its best validation accuracy
    # every trial that was cut short says why
    assert all(t["stopped"] for t in search["trials"] if t["state"] == "pruned")

    # The same values through a plain train(): the same weights.
    plain_out = tmp_path / "plain"
    model_args, data_args, training_args = parse_train_arguments(tiny_args(files, plain_out, *extra))
    chosen_model, chosen_training = chosen_arguments(model_args, training_args, search["chosen"]["params"])
    chosen_training.output_dir = str(plain_out)
    plain = train(chosen_model, data_args, chosen_training)
    tuned_weights = load_file(str(out / "model.safetensors"))
    plain_weights = load_file(str(plain_out / "model.safetensors"))
    assert tuned_weights.keys() == plain_weights.keys()
    for name, tensor in tuned_weights.items():
        torch.testing.assert_close(tensor, plain_weights[name], rtol=0, atol=1e-6)
    assert plain["test"]["test_accuracy"] == results["test"]["test_accuracy"]
    card = (out / "README.md").read_text()
    assert f"{len(search['trials'])} trials ({len(completed)} completed), maximising `eval_f1_macro`" in card
    assert f"Chosen: trial {search['chosen']['trial']}, {search['chosen']['reason']}." in card
    # The command's options, not those of the job that trained the chosen values (search off, overwriting).
    assert (
        f"| `autotune_seconds` | `{BUDGET:g}` |" in card and "`overwrite_output_dir`" not in card.split("<details>")[0]
    )
    assert "Model preparation time" not in card  # the Trainer's bookkeeping when it evaluates an adopted model
    config = json.loads((out / "config.json").read_text())
    for key in ("hidden_size", "num_hidden_layers", "pooling"):
        assert config[key] == search["chosen"]["params"][key]


@pytest.mark.parametrize(
    "extra, message",
    [
        (("--autotune_seconds", "-5"), "--autotune_seconds must be a positive number of seconds, got -5"),
        (("--autotune_seconds", "30", "--autotune_trials", "0"), "--autotune_trials must be 1 or more, got 0"),
        (("--autotune_seconds", "30", "--autotune_min_gain", "-0.01"), "--autotune_min_gain must be 0 or more"),
        (
            ("--autotune_seconds", "30", "--streaming", "true", "--max_steps", "5"),
            "--autotune_seconds cannot be used with --streaming",
        ),
        (
            ("--autotune_seconds", "30", "--eval_strategy", "no"),
            "--autotune_seconds needs evaluations on the validation split",
        ),
    ],
)
def test_autotune_refuses_bad_inputs_before_any_work(tmp_path, tiny_files, extra, message):
    out = tmp_path / "model"
    model_args, data_args, training_args = parse_train_arguments(tiny_args(tiny_files, out, *extra))
    with pytest.raises(ValueError, match=message.replace("-", r"\-")):
        train(model_args, data_args, training_args)
    assert not out.exists()


def test_autotune_needs_a_validation_split(tmp_path, tiny_files):
    out = tmp_path / "model"
    extra = ("--autotune_seconds", "30", "--validation_split_percentage", "0")
    model_args, data_args, training_args = parse_train_arguments(tiny_args(tiny_files, out, *extra))
    with pytest.raises(ValueError, match="--autotune_seconds needs a validation split"):
        train(model_args, data_args, training_args)


def test_budget_too_small_for_one_trial_is_a_clear_error(tmp_path, tiny_files):
    out = tmp_path / "model"
    extra = ("--autotune_seconds", "0.5", "--num_train_epochs", "50")
    model_args, data_args, training_args = parse_train_arguments(tiny_args(tiny_files, out, *extra))
    start = time.monotonic()
    with pytest.raises(ValueError, match=r"--autotune_seconds 0.5 is too small: the first trial \(your settings\)"):
        train(model_args, data_args, training_args)
    assert time.monotonic() - start < 10
    assert not (out / "model.safetensors").exists()


def test_autotune_refuses_multiple_processes(tmp_path, tiny_files, monkeypatch):
    out = tmp_path / "model"
    model_args, data_args, training_args = parse_train_arguments(
        tiny_args(tiny_files, out, "--autotune_seconds", "30")
    )
    monkeypatch.setenv("WORLD_SIZE", "2")  # as torchrun sets it in each process
    with pytest.raises(ValueError, match="--autotune_seconds runs in one process"):
        train(model_args, data_args, training_args)


def _study(values, direction="maximize"):
    """An optuna study whose trials scored `values` (None: pruned), in order."""
    optuna = pytest.importorskip("optuna")
    study = optuna.create_study(direction=direction)
    for number, value in enumerate(values):
        state = optuna.trial.TrialState.COMPLETE if value is not None else optuna.trial.TrialState.PRUNED
        study.add_trial(
            optuna.trial.create_trial(
                params={"learning_rate": 0.001 * (number + 1)},
                distributions={"learning_rate": optuna.distributions.FloatDistribution(1e-4, 1e-1)},
                value=value,
                state=state,
            )
        )
    return study


def test_noise_margin_is_one_standard_error_of_the_metric():
    assert noise_margin("eval_accuracy", 0.8, 1000) == pytest.approx(0.012649, abs=1e-6)
    assert noise_margin("eval_f1_macro", 0.9, 100) == pytest.approx(0.03)
    assert noise_margin("eval_pearsonr", 0.6, 101) == pytest.approx(0.064)
    assert noise_margin("eval_mse", 0.2, 1000) == pytest.approx(0.2 * (2 / 1000) ** 0.5)  # normal errors
    assert noise_margin("eval_rmse", 0.4, 50) == pytest.approx(0.04)
    assert noise_margin("eval_loss", 0.3, 1000) == 0.0


@pytest.mark.parametrize(
    "values, direction, min_gain, chosen",
    [
        ([0.80, 0.81, 0.79], "maximize", 0.0126, 0),  # +0.01 is within one standard error: your settings stay
        ([0.80, 0.83, 0.79], "maximize", 0.0126, 1),  # +0.03 is not
        ([0.80, 0.81, None], "maximize", 0.0, 1),  # no minimum gain: the best trial wins
        ([0.85, 0.81, 0.84], "maximize", 0.0126, 0),  # your settings scored best
        ([0.30, 0.20, 0.29], "minimize", 0.05, 1),  # a loss: lower is better
        ([0.30, 0.27, 0.29], "minimize", 0.05, 0),
        ([0.80, 0.83, 0.83], "maximize", 0.0, 1),  # equal scores: the earlier trial, whose weights were kept
    ],
)
def test_a_trial_replaces_your_settings_only_by_more_than_the_minimum_gain(values, direction, min_gain, chosen):
    assert choose_trial(_study(values, direction), min_gain).number == chosen


def test_your_settings_kept_are_the_job_itself_not_retrained(tmp_path, monkeypatch):
    """Trial 0 trains into the output directory; when it is kept nothing is trained again, and the saved model is
    what `train()` without --autotune_seconds saves."""
    import gru_hf.autotune as autotune_module

    files = autotune_files(tmp_path)
    out = tmp_path / "tuned"
    extra = ("--autotune_seconds", "60", "--autotune_trials", "1", "--num_train_epochs", "2")
    model_args, data_args, training_args = parse_train_arguments(tiny_args(files, out, *extra))
    fits = []
    real_fit = autotune_module.fit
    monkeypatch.setattr(autotune_module, "fit", lambda *a, **k: fits.append(1) or real_fit(*a, **k))

    def no_retrain(*args, **kwargs):
        raise AssertionError("trial 0 was kept: nothing may be retrained")

    monkeypatch.setattr(autotune_module, "train", no_retrain)
    results = train(model_args, data_args, training_args)
    assert fits == [1]
    search = results["search"]
    assert [t["number"] for t in search["trials"]] == [0]
    assert search["chosen"]["trial"] == 0
    assert sorted(p.name for p in out.glob("checkpoint-*"))  # trial 0's own checkpoints, in the output directory

    plain_out = tmp_path / "plain"
    model_args, data_args, training_args = parse_train_arguments(
        tiny_args(files, plain_out, "--num_train_epochs", "2")
    )
    plain = train(model_args, data_args, training_args)
    tuned_weights = load_file(str(out / "model.safetensors"))
    for name, tensor in load_file(str(plain_out / "model.safetensors")).items():
        torch.testing.assert_close(tuned_weights[name], tensor, rtol=0, atol=0)
    for key in ("test_accuracy", "test_f1_macro", "test_loss"):
        assert plain["test"][key] == results["test"][key]


def test_a_better_trial_is_adopted_not_retrained_and_equals_train(tmp_path, monkeypatch):
    """A search trial that beats your settings hands over its best evaluation's weights and its log: nothing is
    trained again, and the saved model, its scores and its training log are what a plain `train()` of the chosen
    values makes (trials train exactly as the job does)."""
    import gru_hf.autotune as autotune_module

    files = autotune_files(tmp_path)
    out = tmp_path / "tuned"
    # A learning rate too high for this data: trial 1, the first search trial, is your settings at half of it, and
    # it wins (no minimum gain asked for).
    extra = ("--autotune_seconds", "60", "--autotune_trials", "3", "--autotune_min_gain", "0")
    extra += ("--learning_rate", "1.0", "--num_train_epochs", "3", "--early_stopping_patience", "2")
    model_args, data_args, training_args = parse_train_arguments(tiny_args(files, out, *extra))
    fits = []
    real_fit = autotune_module.fit
    monkeypatch.setattr(autotune_module, "fit", lambda *a, **k: fits.append("trained" in k) or real_fit(*a, **k))

    def no_retrain(*args, **kwargs):
        raise AssertionError("a search trial won: its weights are adopted, nothing may be retrained")

    monkeypatch.setattr(autotune_module, "train", no_retrain)
    results = train(model_args, data_args, training_args)
    search = results["search"]
    chosen = search["chosen"]["trial"]
    assert chosen > 0 and fits == [False, True]  # trial 0 trained by fit; the winner handed to fit, not trained
    first, second = search["trials"][0]["params"], search["trials"][1]["params"]
    assert second == {**first, "learning_rate": 0.5}
    assert not list(out.glob("checkpoint-*"))  # trial 0's files were replaced by the chosen trial's

    plain_out = tmp_path / "plain"
    model_args, data_args, training_args = parse_train_arguments(tiny_args(files, plain_out, *extra))
    chosen_model, chosen_training = chosen_arguments(model_args, training_args, search["chosen"]["params"])
    chosen_training.output_dir = str(plain_out)
    monkeypatch.undo()
    plain = train(chosen_model, data_args, chosen_training)
    tuned_weights = load_file(str(out / "model.safetensors"))
    plain_weights = load_file(str(plain_out / "model.safetensors"))
    assert tuned_weights.keys() == plain_weights.keys()
    for name, tensor in plain_weights.items():
        torch.testing.assert_close(tuned_weights[name], tensor, rtol=0, atol=0)
    for split, key in (("validation", "eval_f1_macro"), ("test", "test_accuracy"), ("test", "test_loss")):
        assert results[split][key] == plain[split][key]
    assert results["validation"]["eval_f1_macro"] == search["chosen"]["value"]  # the trial's score, reproduced
    card = (out / "README.md").read_text()
    plain_card = (plain_out / "README.md").read_text()

    def training_log(text):
        return text.split("### Training log", 1)[1].split("###", 1)[0]

    assert "| 3 | 21 |" in training_log(plain_card)  # 3 epochs of 7 steps
    assert training_log(card) == training_log(plain_card)  # the trial's own log, epoch by epoch
    assert f"Chosen: trial {chosen}, {search['chosen']['reason']}." in card
    assert sorted(p.name for p in out.iterdir()) == sorted(
        p.name for p in plain_out.iterdir() if not p.name.startswith("checkpoint-")
    )


def test_a_winner_whose_weights_were_not_kept_is_retrained(tmp_path, monkeypatch):
    """The safety net: should the search not hold the winning trial's weights, its values are retrained into the
    output directory (with checkpoints, as `train()` leaves them) and give the same model."""
    import gru_hf.autotune as autotune_module

    files = autotune_files(tmp_path)
    extra = ("--autotune_seconds", "60", "--autotune_trials", "2", "--autotune_min_gain", "0")
    extra += ("--learning_rate", "1.0", "--num_train_epochs", "3", "--early_stopping_patience", "2")
    runs = {}
    for name, keep in (("adopted", True), ("retrained", False)):
        if not keep:
            monkeypatch.setattr(autotune_module._BestTrialState, "weights_of", lambda self, number: None)
        out = tmp_path / name
        runs[name] = train(*parse_train_arguments(tiny_args(files, out, *extra)))
        assert runs[name]["search"]["chosen"]["trial"] == 1
    assert not list((tmp_path / "adopted").glob("checkpoint-*"))
    assert list((tmp_path / "retrained").glob("checkpoint-*"))
    adopted = load_file(str(tmp_path / "adopted" / "model.safetensors"))
    for name, tensor in load_file(str(tmp_path / "retrained" / "model.safetensors")).items():
        torch.testing.assert_close(adopted[name], tensor, rtol=0, atol=0)


def test_the_first_search_trials_are_your_settings_with_one_measured_change(tmp_path):
    """Trials 1 and 2 (before the sampler's draws): the embeddings at the next lower share of the learning rate
    (with pretrained vectors), then half the learning rate, when it is inside the searched range."""
    files = autotune_files(tmp_path)
    model_args, _, training_args = parse_train_arguments(
        tiny_args(files, tmp_path / "out", "--autotune_seconds", "30")
    )
    glove_args = dataclasses.replace(model_args, glove="vectors.txt")
    _, user = search_space(glove_args, training_args)
    assert neighbour_trials(training_args, user) == [
        {**user, "embedding_lr_scale": 0.5},
        {**user, "learning_rate": 0.01},
    ]
    _, user = search_space(model_args, training_args)  # no vectors: no embedding rate searched
    assert neighbour_trials(training_args, user) == [{**user, "learning_rate": 0.01}]
    own = dataclasses.replace(training_args, embedding_learning_rate=3e-4, learning_rate=4e-4)
    _, user = search_space(glove_args, own)  # a share of 0.75 -> 0.5; 2e-4 is below the searched 3e-4
    assert neighbour_trials(own, user) == [{**user, "embedding_lr_scale": 0.5}]


def test_one_change_trials_are_stopped_by_the_clock_not_by_the_median(tmp_path):
    """The median pruner stops a sampler's draw that trails the completed trials at an evaluation, but not one of
    your settings' one-change trials (half the learning rate trails early and catches up)."""
    import optuna

    from gru_hf.autotune import ONE_CHANGE_ATTR, _pruner

    study = optuna.create_study(direction="maximize")
    for scores in ([0.70, 0.80], [0.72, 0.82]):  # two completed trials
        trial = study.ask()
        for step, score in enumerate(scores):
            trial.report(score, step)
        study.tell(trial, max(scores))
    study.enqueue_trial({}, user_attrs={ONE_CHANGE_ATTR: True})
    one_change, draw = study.ask(), study.ask()
    pruner = _pruner()
    for trial in (one_change, draw):
        trial.report(0.60, 0)  # behind the median (0.71) at the first evaluation
    frozen = {t.number: t for t in study.get_trials()}  # what optuna hands a pruner
    assert pruner.prune(study, frozen[draw.number]) and not pruner.prune(study, frozen[one_change.number])


def _trial_values(space, user, **changes):
    import optuna

    return space(optuna.trial.FixedTrial({**user, **changes}))


def test_embedding_rate_is_searched_as_a_share_of_the_learning_rate(tmp_path, tokenizer):
    """With pretrained vectors a trial draws the embeddings' rate as 1/4, 1/2 or 1x its learning rate; the trial's
    Trainer trains with it, and the retrain of the chosen values gets the same rate."""
    import optuna
    from transformers.trainer_utils import HPSearchBackend

    files = autotune_files(tmp_path)
    model_args, _, training_args = parse_train_arguments(
        tiny_args(files, tmp_path / "out", "--autotune_seconds", "30")
    )
    space, user = search_space(model_args, training_args)
    assert "embedding_lr_scale" not in user and "embedding_learning_rate" not in _trial_values(space, user)

    glove_args = dataclasses.replace(model_args, glove="vectors.txt")
    space, user = search_space(glove_args, training_args)
    assert user["embedding_lr_scale"] == 1.0  # your settings: the embeddings at the learning rate
    values = _trial_values(space, user, learning_rate=0.01, embedding_lr_scale=0.25)
    assert values["embedding_learning_rate"] == pytest.approx(0.0025)
    _, chosen = chosen_arguments(
        glove_args, training_args, {**user, "learning_rate": 0.01, "embedding_lr_scale": 0.25}
    )
    assert (chosen.learning_rate, chosen.embedding_learning_rate) == (0.01, values["embedding_learning_rate"])

    # The trial's values set on the Trainer's arguments (as hyperparameter_search does) reach the optimizer.
    model = GRUForSequenceClassification(tiny_config(tokenizer, id2label={0: "neg", 1: "pos"}))
    arguments = GRUTrainingArguments(output_dir=str(tmp_path / "t"), eval_strategy="no", use_cpu=True)
    trainer = GRUTrainer(model=model, args=arguments)
    trainer.hp_search_backend = HPSearchBackend.OPTUNA
    trainer.hp_space = space
    trainer._hp_search_setup(optuna.trial.FixedTrial({**user, "learning_rate": 0.01, "embedding_lr_scale": 0.25}))
    rates = {id(p): group["lr"] for group in trainer.create_optimizer().param_groups for p in group["params"]}
    assert rates.pop(id(model.get_input_embeddings().weight)) == pytest.approx(0.0025)
    assert set(rates.values()) == {0.01}

    # An embedding rate of your own is searched with its share of your learning rate (0.003 / 0.02).
    own = dataclasses.replace(training_args, embedding_learning_rate=0.003)
    space, user = search_space(model_args, own)
    assert user["embedding_lr_scale"] == pytest.approx(0.15)
    assert _trial_values(space, user)["embedding_learning_rate"] == pytest.approx(0.003)
