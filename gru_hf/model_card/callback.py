"""`ModelCardCallback`: the `TrainerCallback` that records the training facts of a run into its card data."""

from __future__ import annotations

from dataclasses import fields
from enum import Enum
from typing import Any

from transformers import TrainerCallback

from ..metrics import metric_values
from .card_data import GRUModelCardData

# The ModelArguments fields that configure the tokenizer rather than the model.
TOKENIZER_FIELDS = ("vocab_size", "min_frequency", "lowercase", "max_seq_length")
_PLAIN = (int, float, str, bool, type(None))


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):  # `IntervalStrategy.STEPS` is shown as the option is typed: steps
        return _plain(value.value)
    return value if isinstance(value, _PLAIN) else str(value)


def _public(values: dict) -> dict:
    """Without secrets: every key naming a token (`hub_token`, ...) is left out of the card."""
    return {key: value for key, value in values.items() if "token" not in key}


def _default_instance(cls):
    """`cls()`, leaving accelerate's process state as it was: building a `TrainingArguments` resets that shared
    state, which a live Trainer (this runs in `on_init_end`) still needs."""
    from accelerate.state import AcceleratorState, PartialState

    saved = [(state._shared_state, dict(state._shared_state)) for state in (PartialState, AcceleratorState)]
    try:
        return cls()
    finally:
        for shared, values in saved:
            shared.clear()
            shared.update(values)


def non_default_arguments(*instances) -> dict:
    """The arguments a user changed, compared with a default instance of each class (not those that `--recipe`
    filled in)."""
    changed = {}
    from_recipe = {name for instance in instances for name in getattr(instance, "recipe_values", None) or ()}
    for instance in instances:
        defaults = _default_instance(type(instance))
        for f in fields(instance):
            if not f.init or f.name.startswith("_") or f.name in {"output_dir", "logging_dir"} | from_recipe:
                continue
            value = getattr(instance, f.name)
            if value != getattr(defaults, f.name):
                changed[f.name] = _plain(value)
    return changed


def argument_groups(training_args, *arguments) -> dict[str, dict[str, Any]]:
    """The hyperparameters by group: "tokenizer" (from whichever argument class has the tokenizer fields) and
    "training" (the `TrainingArguments` as run)."""
    tokenizer = {}
    for instance in arguments:
        tokenizer.update({name: getattr(instance, name) for name in TOKENIZER_FIELDS if hasattr(instance, name)})
    training = {key: _plain(value) for key, value in _public(training_args.to_dict()).items()}
    return {"tokenizer": tokenizer, "training": training}


class ModelCardCallback(TrainerCallback):
    """Fills a `GRUModelCardData` during training, as sentence-transformers and setfit fill theirs: the
    hyperparameters (all, and the changed ones), the parameter count and the config when the Trainer is built; the
    log of the run (as it is logged, then whole at its end) and its runtime; and the latest validation metrics
    (after training: those of the model the Trainer ends with, the best checkpoint's with `load_best_model_at_end`).

    Args:
        card_data (`GRUModelCardData`): The card to fill.
        arguments: The job's other argument dataclasses (e.g. `ModelArguments`, `DataArguments`); their changed
            values are shown beside the `TrainingArguments`'.
    """

    def __init__(self, card_data: GRUModelCardData, *arguments):
        self.card_data = card_data
        self.arguments = arguments
        self.training = False

    def on_init_end(self, args, state, control, model=None, **kwargs):
        card = self.card_data
        if model is not None:
            card.config = model.config
            card.num_parameters = sum(p.numel() for p in model.parameters())
        card.hyperparameters = argument_groups(args, *self.arguments)
        card.non_default_hyperparameters = _public(non_default_arguments(*self.arguments, args))

    def on_train_begin(self, args, state, control, **kwargs):
        self.training = True
        self.card_data.log_history = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not self.training or not state.log_history:
            return
        self.card_data.log_history.append(dict(state.log_history[-1]))  # the entry as logged, with its step
        if "train_runtime" in (logs or {}):
            self.card_data.train_runtime_s = round(float(logs["train_runtime"]), 2)

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        values = metric_values(metrics, "eval_")
        if values:  # an evaluation under another prefix (`metric_key_prefix="test"`) is no validation
            self.card_data.validation_metrics = values

    def on_train_end(self, args, state, control, **kwargs):
        # The whole log: a resumed run's state (loaded after on_train_begin) also holds the entries logged before.
        self.card_data.log_history = [dict(entry) for entry in state.log_history]
        self.training = False  # the evaluations after training are the card's results, not its log


__all__ = ["ModelCardCallback", "argument_groups", "non_default_arguments"]
