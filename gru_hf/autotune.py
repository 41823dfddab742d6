"""`--autotune_seconds N`: a hyperparameter search on the validation split within a time budget, your own settings
kept unless a trial clearly beats them, the test split evaluated once. Nothing is trained twice.

Trial 0 is the job itself: your own settings (the defaults unless changed), trained by the `fit` stage of `train()`
into the output directory, with its checkpoints and best model, so the chosen values are never worse on validation
than what the same command without `--autotune_seconds` would train, and keeping them costs no retrain. The other
trials are `Trainer.hyperparameter_search(backend="optuna")` over a `model_init` built by the `build_model` stage,
in a temporary directory: first your settings with one change each, the changes measured to matter most
(`neighbour_trials`), then the TPE sampler's draws. Each trial reports its best validation metric so far after
every evaluation; a trial whose report falls below the median of the completed trials' reports at the same
evaluation is pruned (from the third trial on, after its first evaluation; the one-change trials only by the
clock). A trial trains exactly as `train()` trains its values (same seed, same random stream), so a winning
trial's best weights and log are handed to `fit` as the job's (`_BestTrialState`), not retrained: the saved model
is what `train()` of the chosen values saves.

The time budget covers the whole job: trial 0 must finish within it (otherwise the budget is too small for one
trial: a clear error naming the time it needs, and what trial 0 wrote is removed); another trial starts, and
keeps running, while the budget lasts, less a reserve for finishing the job (about the data preparation's time).
A running trial stopped by the clock is recorded as pruned ("time budget"). Data preparation (reading, tokenising,
GloVe) is counted too; the margin over the budget is at most one training step and one evaluation, the final
evaluations and the model card's plots (measured: a 20 s budget on tiny data took 25.8 s in all on a loaded
2-core machine, the card's matplotlib plots about 5 s of it).

Trial 0 is replaced only by a trial that beats it on validation by more than `--autotune_min_gain`: by default
one standard error of the metric on the validation split (about 1.3 accuracy points on 1,000 texts at 80%). A
smaller gain is within the sampling noise of a split of that size: the search then keeps your settings, and the
record says which trial scored best and by how much.

Runs in one process: under torchrun (or any multi-process launch) it refuses.
"""

import copy
import dataclasses
import gc
import json
import logging
import math
import os
import shutil
import statistics
import tempfile
import time

from transformers import EarlyStoppingCallback, TrainerCallback, set_seed
from transformers.trainer_utils import SaveStrategy

from .training import (
    TrainedState,
    apply_recipe,
    build_model,
    build_trainer,
    check_class_weight,
    check_inputs,
    check_metric_for_best_model,
    finish,
    fit,
    job_arguments,
    load_splits,
    prepare_data,
    train,
)

logger = logging.getLogger(__name__)

# Parameters of the search that belong to the model (ModelArguments); the others are TrainingArguments fields.
MODEL_PARAMETERS = ("hidden_size", "num_hidden_layers", "pooling", "embedding_dropout", "classifier_dropout")
MODEL_PARAMETERS_CONDITIONAL = ("hidden_dropout",)
TRAINING_PARAMETERS = (
    "learning_rate",
    "num_train_epochs",
    "per_device_train_batch_size",
    "weight_decay",
    "word_dropout",
)
POOLINGS = ("last", "mean", "max", "max_mean")
# The embeddings' learning rate as a share of the learning rate (searched with pretrained vectors, or when
# --embedding_learning_rate is given): `embedding_lr_scale` in the trials, `embedding_learning_rate` when trained.
EMBEDDING_LR_SCALES = (0.25, 0.5, 1.0)
# The user attribute that marks your settings' one-change trials in the study (never pruned by the median).
ONE_CHANGE_ATTR = "one_change_from_your_settings"


def _check_optuna():
    try:
        import optuna  # noqa: F401
    except ImportError as error:
        raise ImportError("--autotune_seconds needs optuna: pip install 'gru-hf[autotune]'") from error


def check_autotune_inputs(model_args, data_args, training_args) -> None:
    """The autotune-specific checks, before any data is read."""
    budget = training_args.autotune_seconds
    if not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget > 0):
        raise ValueError(f"--autotune_seconds must be a positive number of seconds, got {budget}")
    trials = training_args.autotune_trials
    if trials is not None and trials < 1:
        raise ValueError(f"--autotune_trials must be 1 or more, got {trials}")
    gain = training_args.autotune_min_gain
    if gain is not None and not (math.isfinite(gain) and gain >= 0):
        raise ValueError(f"--autotune_min_gain must be 0 or more, got {gain}")
    if data_args.streaming:
        raise ValueError(
            "--autotune_seconds cannot be used with --streaming: trials need a training set of known size"
        )
    if training_args.world_size > 1 or int(os.environ.get("WORLD_SIZE", "1")) > 1:
        raise ValueError(
            "--autotune_seconds runs in one process: run it without torchrun/accelerate launch, then train the "
            "chosen values (results.json 'search.chosen') under torchrun if you like"
        )
    if training_args.eval_strategy == "no":
        raise ValueError("--autotune_seconds needs evaluations on the validation split: leave --eval_strategy epoch")
    if training_args.resume_from_checkpoint:
        raise ValueError("--autotune_seconds cannot resume from a checkpoint: a search starts from scratch")
    _check_optuna()


def learning_rate_range(training_args) -> tuple[float, float]:
    """The learning rates searched (log-uniform): 3e-4 to 1e-2, widened to contain yours."""
    return min(3e-4, training_args.learning_rate), max(1e-2, training_args.learning_rate)


def search_space(model_args, training_args):
    """An optuna search space (a function of the trial) that contains the user's values, and those values."""
    epochs = max(1, int(math.ceil(training_args.num_train_epochs)))
    layers = max(2, model_args.num_hidden_layers)
    hidden_sizes = sorted({64, 128, 256, model_args.hidden_size})
    batch_sizes = sorted({16, 32, 64, training_args.per_device_train_batch_size})
    lr_low, lr_high = learning_rate_range(training_args)

    # The embeddings' own rate, as a share of the trial's learning rate: measured to matter for pretrained vectors
    # (README, "Default recipe": half the rate read +1.01 on SST-2 validation and -0.94 on BBC).
    own_rate = training_args.embedding_learning_rate
    embedding_scales, user_scale = [], None
    if (model_args.glove or own_rate is not None) and training_args.learning_rate > 0:
        user_scale = 1.0 if own_rate is None else own_rate / training_args.learning_rate
        embedding_scales = sorted({*EMBEDDING_LR_SCALES, user_scale})

    def dropout(value, high):
        return 0.0, max(high, value)

    def space(trial) -> dict:
        values = {
            "learning_rate": trial.suggest_float("learning_rate", lr_low, lr_high, log=True),
            "num_train_epochs": trial.suggest_int("num_train_epochs", min(2, epochs), epochs),
            "per_device_train_batch_size": trial.suggest_categorical("per_device_train_batch_size", batch_sizes),
            "weight_decay": trial.suggest_float("weight_decay", *dropout(training_args.weight_decay, 0.1)),
            "word_dropout": trial.suggest_float("word_dropout", *dropout(training_args.word_dropout, 0.3)),
            "hidden_size": trial.suggest_categorical("hidden_size", hidden_sizes),
            "num_hidden_layers": trial.suggest_int("num_hidden_layers", 1, layers),
            "pooling": trial.suggest_categorical("pooling", list(POOLINGS)),
            "embedding_dropout": trial.suggest_float("embedding_dropout", *dropout(model_args.embedding_dropout, 0.6)),
            "classifier_dropout": trial.suggest_float(
                "classifier_dropout", *dropout(model_args.classifier_dropout, 0.6)
            ),
        }
        if values["num_hidden_layers"] > 1:
            values["hidden_dropout"] = trial.suggest_float("hidden_dropout", *dropout(model_args.hidden_dropout, 0.5))
        if embedding_scales:
            scale = trial.suggest_categorical("embedding_lr_scale", embedding_scales)
            values["embedding_learning_rate"] = embedding_rate(values["learning_rate"], scale)
        return values

    user = {
        "learning_rate": training_args.learning_rate,
        "num_train_epochs": epochs,
        "per_device_train_batch_size": training_args.per_device_train_batch_size,
        "weight_decay": training_args.weight_decay,
        "word_dropout": training_args.word_dropout,
        **{name: getattr(model_args, name) for name in MODEL_PARAMETERS},
    }
    if model_args.num_hidden_layers > 1:
        user["hidden_dropout"] = model_args.hidden_dropout
    if embedding_scales:
        user["embedding_lr_scale"] = user_scale
    return space, user


def embedding_rate(learning_rate: float, scale: float) -> float:
    """The embeddings' peak learning rate of a trial: `scale` times the trial's learning rate."""
    return float(learning_rate * scale)


def neighbour_trials(training_args, user: dict) -> list[dict]:
    """The first search trials: your settings with one change each, the changes measured to matter most on the
    development datasets (README, "Default recipe"), so a budget that fits only one or two trials spends them
    there rather than on random draws: the embeddings at the next lower share of the learning rate (with
    pretrained vectors; half the rate read +1.01 on SST-2 validation), then half the learning rate (+0.45 on MR).
    The sampler's own draws follow."""
    trials = []
    scale = user.get("embedding_lr_scale")
    if scale is not None:
        lower = [s for s in sorted({*EMBEDDING_LR_SCALES, scale}) if s < scale]
        if lower:
            trials.append({**user, "embedding_lr_scale": lower[-1]})
    low, _ = learning_rate_range(training_args)
    if user["learning_rate"] / 2 >= low:
        trials.append({**user, "learning_rate": user["learning_rate"] / 2})
    return trials


def chosen_arguments(model_args, training_args, params: dict):
    """The job's arguments with a trial's values: what the chosen trial's job (and a user's plain `train()`) runs."""
    model_values = {k: v for k, v in params.items() if k in MODEL_PARAMETERS + MODEL_PARAMETERS_CONDITIONAL}
    chosen_model = dataclasses.replace(model_args, **model_values)
    chosen_model.recipe_values = {k: v for k, v in model_args.recipe_values.items() if k not in params}
    chosen_training = copy.copy(training_args)
    for key in TRAINING_PARAMETERS:
        if key in params:
            setattr(chosen_training, key, type(getattr(training_args, key))(params[key]))
    if "embedding_lr_scale" in params:
        chosen_training.embedding_learning_rate = embedding_rate(
            chosen_training.learning_rate, params["embedding_lr_scale"]
        )
    chosen_training.autotune_seconds = 0.0
    chosen_training.autotune_trials = None
    return chosen_model, chosen_training


def _pruner():
    import optuna

    class EvaluationMedianPruner(optuna.pruners.BasePruner):
        """Prune when a trial's latest report is worse than the median of the completed trials' reports at the
        same evaluation (counted, not by step: trials differ in batch size, so in steps per epoch). Your settings'
        one-change trials (`neighbour_trials`) are not pruned, only stopped by the clock: half the learning rate
        learns more slowly in its first epochs, and this rule pruned it at its first evaluation in all 9
        searches of the record at git 6cb8e5e."""

        def __init__(self, n_startup_trials: int = 2, n_warmup_evaluations: int = 1):
            self.n_startup_trials = n_startup_trials
            self.n_warmup_evaluations = n_warmup_evaluations

        def prune(self, study, trial) -> bool:
            if trial.user_attrs.get(ONE_CHANGE_ATTR):
                return False
            reports = [v for _, v in sorted(trial.intermediate_values.items())]
            if len(reports) <= self.n_warmup_evaluations - 1 or not reports:
                return False
            n = len(reports)
            others = []
            for done in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
                values = [v for _, v in sorted(done.intermediate_values.items())]
                if values:
                    others.append(values[min(n, len(values)) - 1])
            if len(others) < self.n_startup_trials or n < self.n_warmup_evaluations:
                return False
            median = statistics.median(others)
            worse = (
                reports[-1] < median
                if study.direction == optuna.study.StudyDirection.MAXIMIZE
                else reports[-1] > median
            )
            if worse:
                trial.set_user_attr("stopped", f"pruned at evaluation {n}: {reports[-1]:.4f} vs median {median:.4f}")
            return worse

    return EvaluationMedianPruner()


class _QuietSearchSetup(logging.Filter):
    """The model's parameters are not TrainingArguments fields: `model_init` applies them, so the Trainer's
    warning about each of them at every trial says nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Trying to set ") and "hyperparameter search" in message)


class _FirstTrialTooLong(Exception):
    """Raised out of the first trial's training when it cannot finish within the budget."""


class _SearchClock(TrainerCallback):
    """Tracks each trial's best metric (the objective) and stops trials that would overrun the budget."""

    def __init__(self, start: float, budget: float):
        self.start = start
        self.budget = budget
        self.overhead = 0.0  # building, saving and evaluating the chosen model: about the data preparation's time
        self.best = None
        self.trainer = None  # the search's Trainer (trials 1, 2, ...)
        self.first_trial = False  # True while trial 0, the job itself, trains

    def time_left(self) -> float:
        """Seconds a search trial may still use: the budget less the time kept for finishing the job after the
        search (`overhead`). Nothing is retrained: trial 0 is the job, and a search trial that beats it hands over
        the weights of its best evaluation (`_BestTrialState`)."""
        return self.start + self.budget - self.overhead - time.monotonic()

    def on_train_begin(self, args, state, control, **kwargs):
        import optuna

        self.best = None
        if self.first_trial:
            self.first_train_start = time.monotonic()
            return
        for callback in self.trainer.callback_handler.callbacks:  # early stopping counts per trial
            if isinstance(callback, EarlyStoppingCallback):
                callback.early_stopping_patience_counter = 0
        trial = self.trainer._trial
        if trial is not None and trial.number > 0 and self.time_left() <= 0:
            trial.set_user_attr("stopped", "time budget: none left for another trial")
            trial.study.stop()
            raise optuna.TrialPruned("time budget spent")

    def on_step_end(self, args, state, control, **kwargs):
        import optuna

        now = time.monotonic()
        if self.first_trial:
            if now - self.start > self.budget:
                done, total = state.global_step, state.max_steps
                needed = (self.overhead - 1.0) + (now - self.first_train_start) * total / max(done, 1)
                raise _FirstTrialTooLong(
                    f"--autotune_seconds {self.budget:g} is too small: the first trial (your settings) had done "
                    f"{done} of {total} steps after {now - self.start:.0f} s, and it must finish within the "
                    f"budget; give at least {math.ceil(needed * 1.1):.0f} s (with time for other trials: about "
                    f"twice that), or fewer --num_train_epochs / --max_train_samples"
                )
            return
        trial = self.trainer._trial
        if trial is not None and self.time_left() <= 0:
            trial.set_user_attr("stopped", f"time budget: stopped at step {state.global_step} of {state.max_steps}")
            trial.study.stop()
            raise optuna.TrialPruned("time budget spent")


class _BestTrialState(TrainerCallback):
    """Keeps what the job needs of the search trial that may replace trial 0, so that it is never trained twice:
    the weights of the trial's best evaluation (what `load_best_model_at_end` would restore), taken only when that
    evaluation beats trial 0 by more than the minimum gain and every trial kept so far, with the trial's log and
    runtime when it ends. A trial that is pruned afterwards is dropped. Ties go to the earlier trial, as in
    `best_trial`. A search trial trains exactly as the job would train its values (`model_init` reseeds as the
    job's Trainer does), so its state is the retrain's."""

    def __init__(self, metric_key: str, maximize: bool, first_value: float, min_gain: float):
        self.metric_key = metric_key
        self.maximize = maximize
        self.first_value = first_value  # trial 0's score
        self.min_gain = min_gain
        self.trainer = None
        self.study = None
        self.kept = None  # (trial number, value, TrainedState) of a completed trial
        self.running = None  # [trial number, value, weights, TrainedState or None until the trial ends]

    def _beats(self, value: float, other: float | None) -> bool:
        return other is None or _gain(value, other, self.maximize) > 0

    def settle(self) -> None:
        """The running trial's state is kept if optuna completed the trial (and it beats the one kept)."""
        import optuna

        running, self.running = self.running, None
        if running is None or running[3] is None:
            return
        number, value, _, state = running
        trial = self.study.trials[number]
        if trial.state == optuna.trial.TrialState.COMPLETE and self._beats(value, self.kept and self.kept[1]):
            self.kept = (number, value, state)

    def weights_of(self, number: int):
        """The TrainedState of trial `number`, or None when it was not kept."""
        return self.kept[2] if self.kept is not None and self.kept[0] == number else None

    def on_train_begin(self, args, state, control, **kwargs):
        self.settle()

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        trial = self.trainer._trial
        value = (metrics or {}).get(self.metric_key)
        if trial is None or value is None or model is None:
            return
        if not _gain(value, self.first_value, self.maximize) > self.min_gain:
            return
        if self.kept is not None and not self._beats(value, self.kept[1]):
            return
        if self.running is not None and self.running[0] == trial.number and not self._beats(value, self.running[1]):
            return
        weights = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
        self.running = [trial.number, value, weights, None]

    def on_train_end(self, args, state, control, **kwargs):
        trial = self.trainer._trial
        if self.running is None or trial is None or self.running[0] != trial.number:
            return
        runtime = next((e["train_runtime"] for e in reversed(state.log_history) if "train_runtime" in e), 0.0)
        self.running[3] = TrainedState(
            weights=self.running[2],
            log_history=[dict(entry) for entry in state.log_history],
            train_runtime_s=round(float(runtime), 2),
            global_step=state.global_step,
            epoch=state.epoch,
        )


def autotune(model_args, data_args, training_args, callbacks=None) -> dict:
    """Trial 0 is the job itself (`fit` with your settings, into the output directory); then the search; then the
    chosen model is finished (evaluated, its card written): trial 0's, or the best trial's weights and log handed
    to `fit` in place of trial 0's files. Returns the job's results (with a `search` record)."""
    import optuna

    start = time.monotonic()
    data, model_args, training_args = load_search_data(model_args, data_args, training_args)
    space, user_values = search_space(model_args, training_args)
    clock = _SearchClock(start, float(training_args.autotune_seconds))
    clock.overhead = time.monotonic() - start + 1.0  # preparing again, plus a second for saving and evaluating
    study = optuna.create_study(
        study_name=STUDY_NAME, storage=optuna.storages.InMemoryStorage(), direction=_direction(training_args, data)
    )
    search_start = time.monotonic()
    first = run_first_trial(study, space, user_values, model_args, data_args, training_args, data, callbacks, clock)
    trials_dir = tempfile.mkdtemp(prefix="gru-hf-autotune-")
    search_args = search_arguments(training_args, data.labels.problem_type, trials_dir)
    n_validation = len(data.raw["validation"])
    min_gain = training_args.autotune_min_gain
    if min_gain is None:
        min_gain = noise_margin(search_args.metric_for_best_model, study.trials[0].value, n_validation)
    maximize = bool(search_args.greater_is_better)
    keeper = _BestTrialState(_eval_key(search_args.metric_for_best_model), maximize, study.trials[0].value, min_gain)

    def model_init(trial=None):
        params = space(trial) if trial is not None else {}
        trial_model_args, _ = chosen_arguments(model_args, training_args, params)
        model = build_model(trial_model_args, data, seed=training_args.seed)[0]
        set_seed(training_args.seed)  # as the job's Trainer does once its model is built: the same training run
        return model

    trainer = build_trainer(None, search_args, data, [*(callbacks or []), clock, keeper], model_init=model_init)
    clock.trainer = keeper.trainer = trainer
    keeper.study = study
    try:
        run_search(trainer, study, space, clock, training_args, neighbour_trials(training_args, user_values))
    finally:
        shutil.rmtree(trials_dir, ignore_errors=True)
    keeper.settle()
    chosen = choose_trial(study, min_gain)
    record = search_record(study, chosen, min_gain, clock, search_args, training_args, start, search_start)
    record["validation_size"] = n_validation
    logger.info(
        "Autotune: trial %d of %d chosen, %s %.4f (%s)",
        chosen.number,
        len(study.trials),
        record["metric"],
        chosen.value,
        record["chosen"]["reason"],
    )
    if chosen.number == 0:
        results = finish(first.job, search=record)
    else:
        first.discard()
        chosen_model, chosen_training = chosen_arguments(model_args, training_args, chosen.params)
        trained = keeper.weights_of(chosen.number)
        if trained is not None:  # the trial's own best model: what a retrain of its values would train
            job = fit(chosen_model, data_args, chosen_training, data, callbacks, trained=trained)
            job.start = first.job.start  # the whole job's runtime, in the card
            results = finish(job, search=record)
        else:  # not expected (the keeper takes every trial that can be chosen); retrained rather than lost
            logger.warning("Autotune: trial %d's weights were not kept; retraining its values", chosen.number)
            chosen_training.overwrite_output_dir = True  # over trial 0's files only: they were just discarded
            results = train(chosen_model, data_args, chosen_training, callbacks, search=record)
    record["total_s"] = round(time.monotonic() - start, 2)
    results["search"] = record
    if first.job.trainer.is_world_process_zero():
        path = os.path.join(training_args.output_dir, "results.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2, sort_keys=True)
    return results


STUDY_NAME = "gru-hf-autotune"


def _direction(training_args, data) -> str:
    args = job_arguments(training_args, data.labels.problem_type)
    return "maximize" if args.greater_is_better else "minimize"


@dataclasses.dataclass
class FirstTrial:
    """Trial 0: the job with your settings, trained and saved into the output directory (not yet evaluated on
    test), and the entries of that directory it created."""

    job: object  # training.FittedJob
    created: list

    def discard(self) -> None:
        """Remove what trial 0 wrote, before the better trial's model is saved into the same directory."""
        _remove_entries(self.job.training_args.output_dir, self.created)


def _remove_entries(directory: str, names) -> None:
    for name in names:
        path = os.path.join(directory, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        elif os.path.lexists(path):
            os.remove(path)


def run_first_trial(study, space, user_values, model_args, data_args, training_args, data, callbacks, clock):
    """Train your settings as the job itself (`fit`, the stage `train()` runs) and record it in the study as
    trial 0, scored like every trial by its best validation metric, its evaluations reported for the pruner.
    A first trial that cannot finish within the budget is stopped with a clear error, and what it wrote into
    the output directory is removed."""
    import optuna

    out = training_args.output_dir
    before = set(os.listdir(out)) if os.path.isdir(out) else None
    study.enqueue_trial(user_values)
    trial = study.ask()
    space(trial)  # the enqueued values, with the search space's distributions
    clock.first_trial = True
    try:
        job = fit(model_args, data_args, training_args, data, [*(callbacks or []), clock], start=time.time())
    except _FirstTrialTooLong as error:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        if before is None:
            shutil.rmtree(out, ignore_errors=True)
        elif os.path.isdir(out):
            _remove_entries(out, set(os.listdir(out)) - before)
        raise ValueError(str(error)) from None
    finally:
        clock.first_trial = False
    args = job.trainer.args
    metric_key = _eval_key(args.metric_for_best_model)
    best = None
    for entry in job.trainer.state.log_history:
        if metric_key in entry:
            best = _better(entry[metric_key], best, args.greater_is_better)
            trial.report(best, entry["step"])
    if best is None:
        raise ValueError(f"--autotune_seconds: the first trial logged no {metric_key} on the validation split")
    study.tell(trial, best)
    created = sorted(set(os.listdir(out)) - (before or set()))
    return FirstTrial(job, created)


def _eval_key(metric: str) -> str:
    """The key of `metric_for_best_model` in the evaluation metrics."""
    return metric if metric.startswith("eval_") else f"eval_{metric}"


def _better(value: float, best: float | None, maximize: bool) -> float:
    """The best of `value` and the best so far (None: none yet)."""
    if best is None or (value > best if maximize else value < best):
        return value
    return best


def load_search_data(model_args, data_args, training_args):
    """The training job's checks and data stages, plus the search's own: a validation split to score trials on.
    Returns the data and the arguments with the recipe's values (`apply_recipe`): your settings."""
    check_autotune_inputs(model_args, data_args, training_args)
    check_inputs(model_args, data_args, training_args)  # the output directory is checked before the search
    raw, labels, columns = load_splits(data_args)
    check_class_weight(training_args, labels)
    check_metric_for_best_model(training_args, labels.problem_type)
    if "validation" not in raw or len(raw["validation"]) == 0:
        raise ValueError("--autotune_seconds needs a validation split: give --validation_file or a percentage")
    model_args, training_args = apply_recipe(model_args, training_args, raw["train"], data_args)
    data = prepare_data(model_args, data_args, raw, labels, resume=None)
    data.columns = columns
    return data, model_args, training_args


def search_arguments(training_args, problem_type: str, trials_dir: str):
    """The job's arguments for the trials: no checkpoints (each trial reports its best evaluation so far, and
    `_BestTrialState` keeps a possible winner's weights of that evaluation), no reporting, no nested search."""
    search_args = job_arguments(training_args, problem_type)
    search_args.output_dir = trials_dir
    search_args.save_strategy = SaveStrategy.NO
    search_args.load_best_model_at_end = False
    search_args.report_to = []
    search_args.autotune_seconds = 0.0
    return search_args


def run_search(trainer, study, space, clock, training_args, first_values=()) -> None:
    """Trials 1, 2, ... through `Trainer.hyperparameter_search` with optuna, in the `study` that holds trial 0,
    within what is left of the budget (none is started when the budget is spent), `first_values` (each a trial's
    values) first."""
    import optuna

    metric_key = _eval_key(trainer.args.metric_for_best_model)
    maximize = bool(trainer.args.greater_is_better)
    direction = "maximize" if maximize else "minimize"

    def objective(metrics: dict) -> float:
        clock.best = _better(metrics[metric_key], clock.best, maximize)
        return clock.best

    limit = training_args.autotune_trials
    timeout = clock.start + clock.budget - time.monotonic()
    if (limit is not None and limit <= 1) or clock.time_left() <= 0 or timeout <= 0:
        return
    for values in list(first_values)[: None if limit is None else limit - 1]:
        study.enqueue_trial(values, user_attrs={ONE_CHANGE_ATTR: True})
    quiet = _QuietSearchSetup()
    logging.getLogger("transformers.trainer").addFilter(quiet)
    # Each trial ends in accelerate's release_memory, several full gc.collect() passes: over the heap of a loaded
    # transformers/datasets process they cost ~1 s each, more than a small trial's training. Objects alive now
    # (the data, the libraries) are left out of those passes; the trials' own garbage is still collected.
    gc.freeze()
    try:
        trainer.hyperparameter_search(
            hp_space=space,
            compute_objective=objective,
            n_trials=None if limit is None else limit - 1,
            direction=direction,
            backend="optuna",
            timeout=timeout,
            study_name=STUDY_NAME,
            storage=study._storage,
            load_if_exists=True,
            sampler=optuna.samplers.TPESampler(seed=training_args.seed),
            pruner=_pruner(),
        )
    finally:
        logging.getLogger("transformers.trainer").removeFilter(quiet)
        gc.unfreeze()


def noise_margin(metric: str, value: float | None, n: int) -> float:
    """One standard error of the validation metric at `value` (trial 0's score) on `n` validation texts:
    sqrt(p(1-p)/n) for the accuracy and F1 scores (the F1s treated as a proportion), (1-r^2)/sqrt(n-1) for
    Pearson's r, MSE * sqrt(2/n) for the MSE and RMSE / sqrt(2n) for the RMSE (normally distributed errors), 0 for
    other metrics (the loss)."""
    name = metric.removeprefix("eval_")
    if value is None or n < 2:
        return 0.0
    if name.startswith(("accuracy", "f1", "precision", "recall")):
        p = min(max(float(value), 0.0), 1.0)
        return math.sqrt(p * (1 - p) / n)
    if name.startswith("pearsonr"):
        r = min(max(float(value), -1.0), 1.0)
        return (1 - r * r) / math.sqrt(n - 1)
    if name == "mse":
        return abs(float(value)) * math.sqrt(2 / n)
    if name == "rmse":
        return abs(float(value)) / math.sqrt(2 * n)
    return 0.0


def _gain(value: float, first: float, maximize: bool) -> float:
    """How much `value` beats trial 0's `first` (negative: it does not)."""
    return value - first if maximize else first - value


def best_trial(study):
    """The completed trial with the best value, the earliest of equal ones."""
    import optuna

    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    best = None
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if best is None or _gain(trial.value, best.value, maximize) > 0:
            best = trial
    if best is None:
        raise ValueError("no trial completed")
    return best


def choose_trial(study, min_gain: float):
    """The best trial, if it beats trial 0 (your settings) by more than `min_gain`; otherwise trial 0."""
    import optuna

    best = best_trial(study)
    first = study.trials[0]
    if best.number == 0 or first.state != optuna.trial.TrialState.COMPLETE:
        return best
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    return best if _gain(best.value, first.value, maximize) > min_gain else first


def search_record(
    study, chosen, min_gain: float, clock, search_args, training_args, start: float, search_start: float
) -> dict:
    """What results.json and the model card keep of the search: every trial, the chosen one (and why), the best
    one and the times."""
    metric = search_args.metric_for_best_model
    best = best_trial(study)
    if chosen.number != best.number:
        reason = (
            f"your settings kept: the best trial, {best.number}, beat them by {abs(best.value - chosen.value):.4f} "
            f"on validation, not more than the minimum gain {min_gain:.4f}"
        )
    elif chosen.number == 0:
        reason = "your settings scored best on validation"
    elif study.trials[0].value is None:
        reason = "the best trial on validation"
    else:
        reason = (
            f"the best trial: it beat your settings by {abs(best.value - study.trials[0].value):.4f} on "
            f"validation, more than the minimum gain {min_gain:.4f}"
        )
    return {
        "backend": "optuna",
        "metric": _eval_key(metric),
        "direction": "maximize" if search_args.greater_is_better else "minimize",
        "budget_s": float(training_args.autotune_seconds),
        "trials_limit": training_args.autotune_trials,
        "preparation_s": round(search_start - start, 2),
        "search_s": round(time.monotonic() - search_start, 2),
        "trials": [_trial_record(t, clock) for t in study.trials],
        "chosen": {"trial": chosen.number, "value": chosen.value, "params": dict(chosen.params), "reason": reason},
        "best": {"trial": best.number, "value": best.value},
        "min_gain": min_gain,
        "min_gain_source": "--autotune_min_gain"
        if training_args.autotune_min_gain is not None
        else "one standard error on the validation split"
        if min_gain > 0
        else f"0: {_eval_key(metric)} has no standard error here",
        "first_trial": "your settings",
    }


def search_card_facts(record: dict):
    """The model card's view of a search record: each trial's values and score (None unless completed)."""
    from .model_card.card_data import SearchFacts, SearchTrial

    trials = [
        SearchTrial(t["number"], dict(t["params"]), t["value"] if t["state"] == "complete" else None)
        for t in record["trials"]
    ]
    return SearchFacts(
        record["metric"],
        record["direction"],
        trials,
        dict(record["chosen"]["params"]),
        chosen_trial=record["chosen"]["trial"],
        reason=record["chosen"].get("reason"),
    )


def _trial_record(trial, clock: _SearchClock) -> dict:
    return {
        "number": trial.number,
        "state": trial.state.name.lower(),
        "value": trial.value,
        "evaluations": [v for _, v in sorted(trial.intermediate_values.items())],
        "params": dict(trial.params),
        "duration_s": round(trial.duration.total_seconds(), 2) if trial.duration is not None else None,
        "stopped": trial.user_attrs.get("stopped"),
    }


__all__ = [
    "MODEL_PARAMETERS",
    "TRAINING_PARAMETERS",
    "autotune",
    "choose_trial",
    "chosen_arguments",
    "noise_margin",
    "search_card_facts",
    "search_space",
]
