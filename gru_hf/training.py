"""The end-to-end job: data -> tokenizer -> model (optionally GloVe) -> Trainer -> evaluation -> saved directory
with a model card -> optionally the Hub."""

import copy
import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from datasets import Dataset, DatasetDict
from transformers import (
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    Trainer,
    TrainingArguments,
    set_seed,
)
from transformers.trainer_utils import get_last_checkpoint

from .configuration_gru import GRUConfig
from .data import DataArguments, LabelInfo, load_data, sample_texts
from .distributed import check_mixed_precision, check_process_group_setup
from .embedding_rows import ROW_WISE_OPTIMIZERS, TrainedRowsEmbedding, looked_up_rows
from .hardware import hardware_description
from .metrics import (
    METRIC_KEYS,
    build_compute_metrics,
    default_metric_for_best_model,
    greater_is_better,
    metric_values,
)
from .model_card import Confusion, DatasetFacts, GRUModelCardData, ModelCardCallback, VectorsFacts
from .modeling_gru import GRUForSequenceClassification
from .tokenization_gru import PAD_TOKEN, UNK_TOKEN, GRUTokenizerFast, extend_vocabulary, train_tokenizer

logger = logging.getLogger(__name__)

# The recipes of --recipe (README, "Default recipe"): the values that the options left unset take. With pretrained
# vectors, on the short texts of MR and SST-2 (sentences) the short recipe read +0.25 and +1.83 validation points
# above the long one (3 seeds each); on BBC News (articles) two of its three changes read lower alone, the extra
# words equal.
RECIPES = ("auto", "short", "long")
LONG_RECIPE = {"hidden_size": 128, "glove_extra_words": 0}
SHORT_RECIPE = {"hidden_size": 256, "glove_extra_words": 100_000}
SHORT_RECIPE_EMBEDDING_RATE = 0.5  # the embeddings' peak rate, as a share of --learning_rate
SHORT_RECIPE_ADVERSARIAL_EPSILON = 0.5  # --adversarial_epsilon (the long recipe leaves it unset: off)
SHORT_TEXT_WORDS = 64  # auto: short when the median training text has at most this many words (with --glove)
RECIPE_SAMPLE = 10_000  # auto counts the words of at most this many training texts, evenly spread


@dataclass
class ModelArguments:
    """Model and tokenizer hyperparameters (the `GRUConfig` fields and the tokenizer's)."""

    embedding_dim: int | None = field(
        default=None, metadata={"help": "Embedding size. Default 100, or the dimension of the --glove vectors."}
    )
    hidden_size: int | None = field(
        default=None,
        metadata={"help": "GRU state size per direction. Default 128, or 256 with the short-text recipe (--recipe)."},
    )
    num_hidden_layers: int = field(default=1, metadata={"help": "Stacked GRU layers."})
    bidirectional: bool = field(default=True, metadata={"help": "Read each text in both directions."})
    pooling: str = field(
        default="max",
        metadata={"help": "Sentence vector: last, mean or max over the GRU states, or max_mean (both side by side)."},
    )
    embedding_dropout: float = field(default=0.25, metadata={"help": "Dropout on the token embeddings."})
    hidden_dropout: float = field(default=0.0, metadata={"help": "Dropout between stacked GRU layers."})
    classifier_dropout: float = field(default=0.25, metadata={"help": "Dropout before the classifier."})
    vocab_size: int = field(default=30000, metadata={"help": "Largest vocabulary, [PAD] and [UNK] included."})
    min_frequency: int | None = field(
        default=None,
        metadata={
            "help": "Words seen fewer times in training become [UNK]. Default 1 with --glove (the vectors know most "
            "words seen once), else 2."
        },
    )
    lowercase: bool = field(default=True, metadata={"help": "Lower-case texts before tokenising."})
    max_seq_length: int = field(
        default=512,
        metadata={
            "help": "Longer texts are truncated to this many tokens. Default 512: on BBC News validation (84%% of "
            "articles longer than 256 tokens) 96.71 against 96.08 at 256 over 3 seeds, no change on sentences."
        },
    )
    glove: str | None = field(
        default=None,
        metadata={"help": "Initialise embeddings from GloVe/word2vec text (.txt or .gz) or the name 'glove-6b-50d'."},
    )
    freeze_embeddings: bool = field(default=False, metadata={"help": "Keep the (GloVe) embeddings fixed."})
    glove_extra_words: int | None = field(
        default=None,
        metadata={
            "help": "Also add up to this many of the --glove file's words (its first, most frequent ones) that the "
            "training data did not put in the vocabulary, so words unseen in training keep their pretrained vector. "
            "Default 0, or 100000 with the short-text recipe (--recipe)."
        },
    )
    recipe: str = field(
        default="auto",
        metadata={
            "help": "Defaults for the kind of text: short (with --glove: --hidden_size 256, --glove_extra_words "
            "100000, the embeddings at half the learning rate and --adversarial_epsilon 0.5), long (128, 0, the "
            "learning rate and no adversarial training), or auto: "
            "short when --glove is given and the median training text has at most 64 words, else long. An option "
            "you give always wins over the recipe's value."
        },
    )
    # The options that --recipe filled in (name -> value), set by `apply_recipe`.
    recipe_values: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        # Chosen on validation (scripts/benchmarks/defaults.py: full training splits, GloVe 50d, 3 seeds): with
        # GloVe, keeping words seen once gained 0.17 (MR), 0.44 (SST-2 sentences) and 0.62 (BBC) points.
        if self.min_frequency is None:
            self.min_frequency = 1 if self.glove else 2
        if self.recipe not in RECIPES:
            raise ValueError(f"--recipe must be one of {', '.join(RECIPES)}, got {self.recipe!r}")


@dataclass
class GRUTrainingArguments(TrainingArguments):
    """`TrainingArguments` with defaults that suit a small GRU on a CPU, plus a few of gru-hf's own."""

    output_dir: str | None = field(default="outputs/gru-hf", metadata={"help": "Where the model is written."})
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "Allow writing into an existing non-empty output directory."}
    )
    early_stopping_patience: int = field(
        default=3, metadata={"help": "Stop after this many evaluations without improvement (0: never)."}
    )
    learning_rate: float = field(default=2e-3, metadata={"help": "Peak learning rate of AdamW."})
    num_train_epochs: float = field(default=10.0, metadata={"help": "Most epochs to train."})
    per_device_train_batch_size: int = field(default=32, metadata={"help": "Training batch size per device."})
    per_device_eval_batch_size: int = field(default=128, metadata={"help": "Evaluation batch size per device."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay."})
    warmup_steps: float = field(default=0.05, metadata={"help": "Warm-up steps, or a fraction of all steps if < 1."})
    eval_strategy: str = field(default="epoch", metadata={"help": "When to evaluate: no, steps or epoch."})
    save_strategy: str | None = field(
        default=None,
        metadata={"help": "When to save checkpoints: no, steps, epoch, best. Default: as --eval_strategy (epoch)."},
    )
    logging_strategy: str = field(default="steps", metadata={"help": "When to log: no, steps or epoch."})
    logging_steps: float = field(default=0.02, metadata={"help": "Log every N steps, or a fraction of all if < 1."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Checkpoints kept (the best one is kept)."})
    load_best_model_at_end: bool | None = field(
        default=None,
        metadata={
            "help": "End with the best checkpoint's weights. Default: on whenever the save and eval strategies allow "
            "it; an explicit true or false wins."
        },
    )
    train_sampling_strategy: str = field(
        default="group_by_length", metadata={"help": "random, sequential or group_by_length (fastest on CPU)."}
    )
    ddp_find_unused_parameters: bool | None = field(
        default=False, metadata={"help": "Every gru-hf parameter is used in every step: no search needed."}
    )
    report_to: None | str | list[str] = field(default="none", metadata={"help": "Loggers: none, tensorboard, ..."})
    class_weight: str = field(
        default="none",
        metadata={
            "help": "none, or balanced: weigh each class's training loss by n_samples / (n_classes * count) of the "
            "training split (single-label only; evaluation and the saved model are unchanged)."
        },
    )
    word_dropout: float = field(
        default=0.0,
        metadata={"help": "In training batches only, replace each word by [UNK] with this probability."},
    )
    adversarial_epsilon: float | None = field(
        default=None,
        metadata={
            "help": "Adversarial training on the embeddings (Miyato et al. 2017): each training step also learns "
            "the batch with each text's embedded words moved by this L2 distance (over the whole text) along the "
            "loss gradient. About twice the training time; the logged loss is the unmoved batch's. 0: off. "
            "Default: 0.5 with the short-text recipe (--recipe), else 0."
        },
    )
    embedding_learning_rate: float | None = field(
        default=None,
        metadata={
            "help": "Peak learning rate of the embeddings. Default: --learning_rate, or half of it with the "
            "short-text recipe (--recipe)."
        },
    )
    autotune_seconds: float = field(
        default=0.0,
        metadata={
            "help": "Search hyperparameters on the validation split for this many seconds (optuna): your settings "
            "are trial 0, trained into the output directory and kept unless a trial beats them by "
            "--autotune_min_gain (then that trial is retrained); the test split is evaluated once. Needs the "
            "autotune extra."
        },
    )
    autotune_trials: int | None = field(
        default=None, metadata={"help": "Most trials of --autotune_seconds (default: as many as the time allows)."}
    )
    autotune_min_gain: float | None = field(
        default=None,
        metadata={
            "help": "How much a trial must beat your own settings (trial 0) on the validation metric to replace "
            "them. Default: one standard error of that metric on the validation split (sqrt(p(1-p)/n) for accuracy "
            "and F1, (1-r^2)/sqrt(n-1) for Pearson's r, MSE*sqrt(2/n) for MSE, RMSE/sqrt(2n) for RMSE, 0 for the "
            "loss). 0: the best trial always wins."
        },
    )
    export_onnx: bool = field(
        default=True,
        metadata={
            "help": "At the end, also write onnx/model.onnx (as `gru-hf export` does) when onnx and onnxruntime are "
            "installed, so that `gru-hf predict` starts without torch; false: never."
        },
    )
    # TrainingArguments turns a missing metric into "loss"; gru-hf picks one per problem type once it is known.
    metric_chosen_by_user: bool = field(default=False, init=False, repr=False)

    def __post_init__(self):
        check_process_group_setup(self)
        check_mixed_precision(self)  # after it: torchrun on a CPU-only host has just become use_cpu
        self.metric_chosen_by_user = self.metric_for_best_model is not None
        resolve_dependent_defaults(self)
        super().__post_init__()


# --eval_strategy steps without --eval_steps: a fraction of all training steps.
DEFAULT_EVAL_STEPS = 0.1


def _strategy(value) -> str:
    return str(getattr(value, "value", value))


def resolve_dependent_defaults(args: TrainingArguments) -> None:
    """gru-hf's own defaults (checkpoints as often as evaluations, the best one kept) give way to the user's
    strategies instead of failing TrainingArguments' checks: `save_strategy` follows `eval_strategy` unless given,
    and `load_best_model_at_end` is on only when the strategies allow it, unless given. `--eval_strategy steps`
    without `--eval_steps` evaluates every `DEFAULT_EVAL_STEPS` of training instead of every `--logging_steps`."""
    evaluation = _strategy(args.eval_strategy)
    if evaluation == "steps" and args.eval_steps is None:
        # The Trainer would evaluate every --logging_steps, 2% of training in gru-hf: 50 evaluations and
        # checkpoints, and early stopping after 6% of training without a gain.
        args.eval_steps = DEFAULT_EVAL_STEPS
        logger.info(
            "--eval_steps %s: evaluating every %d%% of the training steps", args.eval_steps, 100 * args.eval_steps
        )
    if args.save_strategy is None:
        args.save_strategy = evaluation if evaluation != "no" else "epoch"
        if evaluation == "steps":  # save at every evaluation: the best model needs its checkpoint
            args.save_steps = args.eval_steps or args.logging_steps
    if args.load_best_model_at_end is not None:
        return
    saving = _strategy(args.save_strategy)
    eval_steps = args.eval_steps or args.logging_steps
    compatible = evaluation != "no" and (
        saving == "best" or (saving == evaluation and (saving != "steps" or _is_multiple(args.save_steps, eval_steps)))
    )
    args.load_best_model_at_end = compatible
    if not compatible:
        logger.info(
            "--load_best_model_at_end off: evaluation %s and saving %s do not allow keeping the best checkpoint",
            evaluation,
            saving,
        )


def _is_multiple(save_steps: float, eval_steps: float) -> bool:
    if (save_steps < 1) != (eval_steps < 1):
        return False
    scale = 1_000_000  # integer arithmetic, as TrainingArguments does for ratios
    return round(save_steps * scale) % round(eval_steps * scale) == 0


ARGUMENT_CLASSES = (ModelArguments, DataArguments, GRUTrainingArguments)


def last_complete_checkpoint(output_dir: str) -> str | None:
    """The newest checkpoint that was written completely (a run killed while saving leaves a partial one)."""
    if not os.path.isdir(output_dir):
        return None
    steps = []
    for name in os.listdir(output_dir):
        path = os.path.join(output_dir, name)
        if name.startswith("checkpoint-") and name[len("checkpoint-") :].isdigit() and os.path.isdir(path):
            steps.append((int(name[len("checkpoint-") :]), path))
    for _, path in sorted(steps, reverse=True):
        if all(os.path.isfile(os.path.join(path, f)) for f in ("trainer_state.json", "model.safetensors")):
            return path
        logger.warning("skipping incomplete checkpoint %s", path)
    return None


def remove_previous_run_files(args: TrainingArguments) -> None:
    """--overwrite_output_dir on a fresh run: the checkpoints of the run being replaced go (they would mix with
    this run's in the Trainer's rotation, and a later --resume_from_checkpoint would pick the newest of them), and
    so does its ONNX export (a card would advertise it and `gru-hf push` upload it)."""
    if not (args.overwrite_output_dir and args.should_save and os.path.isdir(args.output_dir)):
        return
    import shutil

    for name in sorted(os.listdir(args.output_dir)):
        path = os.path.join(args.output_dir, name)
        if (name.startswith("checkpoint-") or name == "onnx") and os.path.isdir(path):
            shutil.rmtree(path)
            logger.info("--overwrite_output_dir: removed %s of the previous run", path)


# Config fields a checkpoint must share with the run resuming it: its weights' shapes and its labels.
_RESUME_FIELDS = (
    "vocab_size",
    "embedding_dim",
    "hidden_size",
    "num_hidden_layers",
    "bidirectional",
    "pooling",
    "problem_type",
    "id2label",
)


def check_resume_matches(resume: str, config) -> None:
    """One line before training when the checkpoint being resumed is not this run's model (other labels or
    sizes), instead of a state-dict size mismatch from the Trainer."""
    path = os.path.join(resume, "config.json")
    if not os.path.isfile(path):
        return
    with open(path, encoding="utf-8") as f:
        saved = json.load(f)
    ours = config.to_dict()
    differences = []
    for name in _RESUME_FIELDS:
        theirs, mine = saved.get(name), ours.get(name)
        if name == "id2label":
            theirs = list((theirs or {}).values())
            mine = [str(v) for v in (mine or {}).values()]
        if name in saved and theirs != mine:
            differences.append(f"{name} {theirs} against {mine}")
    if differences:
        raise ValueError(
            f"--resume_from_checkpoint {resume} holds another model than this run builds: "
            f"{'; '.join(differences)} (checkpoint against this run). Resume with the run's own data and options, "
            "or train anew with --overwrite_output_dir"
        )


def prepare_output_dir(args: GRUTrainingArguments) -> str | None:
    """Refuse to write into a non-empty output directory unless asked to; return the checkpoint to resume from."""
    resume = args.resume_from_checkpoint
    out = args.output_dir
    if resume in (True, "True", "true", "latest"):
        resume = last_complete_checkpoint(out)
        if resume is None:
            raise ValueError(f"--resume_from_checkpoint: no complete checkpoint-* directory in {out}")
    elif resume:
        if not os.path.isdir(resume):
            raise FileNotFoundError(f"--resume_from_checkpoint: {resume} is not a directory")
    elif os.path.isdir(out) and os.listdir(out) and not args.overwrite_output_dir:
        raise FileExistsError(
            f"output directory {out} exists and is not empty: pass --overwrite_output_dir to replace its model, "
            "--resume_from_checkpoint to continue it, or choose another --output_dir"
        )
    elif os.path.exists(out) and not os.path.isdir(out):
        raise NotADirectoryError(f"--output_dir {out} is a file")
    return resume or None


def configure_cpu() -> None:
    """Flush denormals to zero: GRU gradients decay into denormal floats, which cost ~7x on x86 CPUs."""
    torch.set_flush_denormal(True)


def build_model_config(model_args: ModelArguments, tokenizer, label_info, embedding_dim: int) -> GRUConfig:
    return GRUConfig(
        vocab_size=len(tokenizer),
        embedding_dim=embedding_dim,
        hidden_size=model_args.hidden_size,
        num_hidden_layers=model_args.num_hidden_layers,
        bidirectional=model_args.bidirectional,
        embedding_dropout=model_args.embedding_dropout,
        hidden_dropout=model_args.hidden_dropout,
        classifier_dropout=model_args.classifier_dropout,
        pooling=model_args.pooling,
        pad_token_id=tokenizer.pad_token_id,
        id2label=dict(label_info.id2label),
        label2id=dict(label_info.label2id),
        problem_type=label_info.problem_type,
    )


class LengthSortedSampler(torch.utils.data.Sampler):
    """Indices of a dataset ordered by text length (stable): the same order in every process."""

    def __init__(self, lengths: list[int]):
        self.order = sorted(range(len(lengths)), key=lengths.__getitem__)

    def __iter__(self):
        return iter(self.order)

    def __len__(self) -> int:
        return len(self.order)


class RowsInMemory(torch.utils.data.Dataset):
    """The rows of an unformatted `datasets.Dataset` for the training DataLoader, without a trip through Arrow's row
    access per batch: columns of number lists (token ids, masks, logits) as one flat numpy array with row offsets
    (the memory Arrow uses, not a Python object per token), other columns as Python lists. `__getitems__` returns
    what the Dataset's own returns (the same dicts, values and Python types, in the same order), so the collator,
    the samplers and the batches are unchanged."""

    def __init__(self, dataset: Dataset):
        import pyarrow as pa

        table = dataset.with_format("arrow")[:]  # the rows in the Dataset's order (select / shuffle applied)
        self.column_names = list(table.column_names)
        self.num_rows = table.num_rows
        self.flat, self.lists = {}, {}
        for name in self.column_names:
            column = table.column(name).combine_chunks()
            kind = column.type
            if (
                (pa.types.is_list(kind) or pa.types.is_large_list(kind))
                and (pa.types.is_integer(kind.value_type) or pa.types.is_floating(kind.value_type))
                and column.null_count == 0
                and column.values.null_count == 0
            ):
                self.flat[name] = (column.offsets.to_numpy(), column.values.to_numpy(zero_copy_only=False))
            else:
                self.lists[name] = column.to_pylist()

    def __len__(self) -> int:
        return self.num_rows

    def _value(self, name: str, index: int):
        if name in self.lists:
            return self.lists[name][index]
        offsets, values = self.flat[name]
        return values[offsets[index] : offsets[index + 1]].tolist()

    def __getitem__(self, index: int) -> dict:
        if not -self.num_rows <= index < self.num_rows:
            raise IndexError(f"row {index} of {self.num_rows}")
        index %= self.num_rows
        return {name: self._value(name, index) for name in self.column_names}

    def __getitems__(self, indices: list[int]) -> list[dict]:
        return [self[index] for index in indices]


class PaddingCollator:
    """What `DataCollatorWithPadding(tokenizer)` returns (the same keys, values and dtypes), built with torch
    directly: lists of token ids (and their attention masks) padded to the longest text on the tokenizer's padding
    side, and `label` / `label_ids` / `labels` as "labels". Batches it does not cover (other columns, tensors, no
    pad token) go to `DataCollatorWithPadding` itself.

    `tokenizer.pad` is Python bookkeeping per text: 300 random batches of 64 SST-2 texts (mean length 10.1) took
    1.17-1.41 ms per batch through DataCollatorWithPadding against 0.18-0.21 ms here (1 thread, loaded machine,
    2026-12-02). In the Trainer step profile of record (scripts/benchmarks/profile.py) this collator is 0.40 ms of
    a 9.60 ms step at the seed's sizes; the one-epoch comparison with DataCollatorWithPadding beside it is within
    that run's noise.
    """

    LABEL_KEYS = ("label", "label_ids", "labels")

    def __init__(self, tokenizer, pad_to: int | None = None):
        self.tokenizer = tokenizer
        self.pad_to = pad_to  # every batch at least this wide (streamed batches dispatched to several processes)
        self.fallback = (
            DataCollatorWithPadding(tokenizer, padding="max_length", max_length=pad_to)
            if pad_to
            else DataCollatorWithPadding(tokenizer)
        )
        self.pad_token_id = tokenizer.pad_token_id
        self.left = tokenizer.padding_side == "left"
        self.attention_mask = "attention_mask" in tokenizer.model_input_names

    def _covers(self, features) -> bool:
        keys = set(features[0]) if features else set()
        if "input_ids" not in keys or self.pad_token_id is None:
            return False
        if not keys <= {"input_ids", "attention_mask", *self.LABEL_KEYS} or len(keys & set(self.LABEL_KEYS)) > 1:
            return False
        return all(set(f) == keys and isinstance(f["input_ids"], list) for f in features)

    def _real(self, lengths: torch.Tensor, width: int) -> torch.Tensor:
        """(batch, width) booleans: where each text's tokens go."""
        positions = torch.arange(width)
        return positions >= (width - lengths).unsqueeze(1) if self.left else positions < lengths.unsqueeze(1)

    def _pad(self, rows: list[list], real: torch.Tensor, value: int) -> torch.Tensor:
        out = torch.full(real.shape, value, dtype=torch.int64)
        out[real] = torch.tensor([v for row in rows for v in row], dtype=torch.int64)
        return out

    def __call__(self, features: list[dict]) -> dict:
        if not self._covers(features):
            return self.fallback(features)
        ids = [f["input_ids"] for f in features]
        lengths = torch.tensor([len(row) for row in ids], dtype=torch.int64)
        real = self._real(lengths, max(int(lengths.max()), self.pad_to or 0))
        batch = {"input_ids": self._pad(ids, real, self.pad_token_id)}
        if "attention_mask" in features[0]:
            batch["attention_mask"] = self._pad([f["attention_mask"] for f in features], real, 0)
        elif self.attention_mask:
            batch["attention_mask"] = real.to(torch.int64)
        key = next((k for k in self.LABEL_KEYS if k in features[0]), None)
        if key is not None:
            labels = [f[key] for f in features]
            if isinstance(labels[0], np.ndarray):
                batch["labels"] = torch.from_numpy(np.array(labels))
            else:
                batch["labels"] = torch.tensor(labels)
        return batch


def data_collator(tokenizer, pad_to: int | None = None) -> PaddingCollator:
    """The training and evaluation collator of gru-hf's Trainer (`pad_to`: see `build_trainer`)."""
    return PaddingCollator(tokenizer, pad_to)


CLASS_WEIGHT_CHOICES = ("none", "balanced")


def balanced_class_weights(labels, num_labels: int, id2label: dict | None = None) -> list[float]:
    """`n_samples / (n_classes * count)` per class, from the training split's encoded labels (scikit-learn's
    "balanced"). A class without training texts is an error: its weight would be infinite."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64), minlength=num_labels)
    missing = [i for i in range(num_labels) if counts[i] == 0]
    if missing:
        name = (id2label or {}).get(missing[0], missing[0])
        raise ValueError(f"--class_weight balanced: label {name!r} has no text in the training split")
    return [float(counts.sum() / (num_labels * c)) for c in counts]


def weighted_cross_entropy(logits, labels, weights, label_smoothing: float = 0.0):
    """The class-weighted mean of the texts' cross-entropies: `sum_i w[y_i] * CE_i / sum_i w[y_i]` over the batch,
    where with label smoothing e, `CE_i = (1 - e) * -log p_i[y_i] + e * mean_k -log p_i[k]` (the Trainer's own
    smoothing, per text)."""
    log_p = torch.log_softmax(logits.view(-1, logits.shape[-1]).float(), dim=-1)
    labels = labels.view(-1)
    per_text = -log_p.gather(1, labels.unsqueeze(1)).squeeze(1)
    if label_smoothing:
        per_text = (1 - label_smoothing) * per_text - label_smoothing * log_p.mean(dim=-1)
    w = weights.to(device=logits.device, dtype=log_p.dtype)[labels]
    return (w * per_text).sum() / w.sum()


def adversarial_shift(gradient: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Miyato et al.'s adversarial perturbation of embedded texts, `epsilon * g / ||g||`: the loss gradient `g`
    of each text's embeddings (batch first), scaled to L2 norm `epsilon` over the whole text; zero for a text whose
    gradient is zero."""
    norm = gradient.flatten(1).norm(dim=1).view(-1, *([1] * (gradient.dim() - 1)))
    return (epsilon * gradient / norm.clamp_min(torch.finfo(gradient.dtype).tiny)).detach()


def apply_word_dropout(input_ids, attention_mask, probability: float, unk_token_id: int, generator=None):
    """A copy of `input_ids` where each real token (attention_mask 1) is [UNK] with the given probability."""
    drop = torch.rand(input_ids.shape, generator=generator, device=input_ids.device) < probability
    if attention_mask is not None:
        drop &= attention_mask.bool()
    return input_ids.masked_fill(drop, unk_token_id)


class GRUTrainer(Trainer):
    """The Trainer with gru-hf's model card instead of the generic one (`create_model_card`, which
    `Trainer.push_to_hub` calls too, writes the card data of the Trainer's `ModelCardCallback`), evaluation batches
    sorted by length, training rows fetched from memory (`RowsInMemory`), and gru-hf's training-only options: class
    weights in the loss, word dropout on training batches, adversarial training on the embeddings and a separate
    embedding learning rate."""

    class_weights: torch.Tensor | None = None
    # The training rows are handed to the DataLoader as `RowsInMemory` (see `_remove_unused_columns`) when their
    # Arrow table is at most this size: a copy in each process's memory, where Arrow maps its cache files from disk
    # (shared by the processes of one machine), so larger training sets keep Arrow.
    training_rows_in_memory = True
    training_rows_in_memory_max_bytes = 512 * 2**20

    def _remove_unused_columns(self, dataset, description=None):
        dataset = super()._remove_unused_columns(dataset, description)
        # Every training batch otherwise reads its rows from Arrow (datasets' `__getitems__`); evaluation keeps the
        # Dataset, which its length-sorted sampler reads.
        if (
            self.training_rows_in_memory
            and description == "Training"
            and isinstance(dataset, Dataset)
            and dataset.format["type"] is None
        ):
            if dataset.data.nbytes <= self.training_rows_in_memory_max_bytes:
                return RowsInMemory(dataset)
            logger.info(
                "training rows read from Arrow: %.0f MiB is more than the %.0f MiB held in memory",
                dataset.data.nbytes / 2**20,
                self.training_rows_in_memory_max_bytes / 2**20,
            )
        return dataset

    def training_step(self, model, inputs, num_items_in_batch=None):
        probability = getattr(self.args, "word_dropout", 0.0)
        if probability > 0 and "input_ids" in inputs:
            inputs = dict(inputs)
            inputs["input_ids"] = apply_word_dropout(
                inputs["input_ids"], inputs.get("attention_mask"), probability, self.processing_class.unk_token_id
            )
        epsilon = getattr(self.args, "adversarial_epsilon", None) or 0.0
        if epsilon > 0:
            return self._adversarial_training_step(model, inputs, num_items_in_batch, epsilon)
        return super().training_step(model, inputs, num_items_in_batch)

    def _adversarial_training_step(self, model, inputs, num_items_in_batch, epsilon: float):
        """`--adversarial_epsilon`: the Trainer's own step (forward, backward) on the batch, then a second one on
        the same batch with its embeddings moved by `adversarial_shift` of their gradient in the first; the
        gradients add up before the optimizer steps. Returns the first step's loss."""
        embedding = self.model.get_input_embeddings()
        embedded = []

        def keep(module, args, output):
            if output.requires_grad:
                output.retain_grad()
            else:  # frozen embeddings: the output is a leaf, and its gradient is still wanted
                output.requires_grad_(True)
            embedded.append(output)

        handle = embedding.register_forward_hook(keep)
        try:
            loss = super().training_step(model, inputs, num_items_in_batch)
        finally:
            handle.remove()
        if len(embedded) != 1 or embedded[0].grad is None:
            raise RuntimeError("--adversarial_epsilon: the training step did not look up the input embeddings once")
        shift = adversarial_shift(embedded[0].grad, epsilon)
        handle = embedding.register_forward_hook(lambda module, args, output: output + shift)
        try:
            super().training_step(model, inputs, num_items_in_batch)
        finally:
            handle.remove()
        return loss

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.class_weights is None or not model.training or "labels" not in inputs:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        inputs = dict(inputs)
        labels = inputs.pop("labels")
        outputs = model(**inputs)
        loss = weighted_cross_entropy(outputs.logits, labels, self.class_weights, self.args.label_smoothing_factor)
        return (loss, outputs) if return_outputs else loss

    # Train only the embedding rows that the training split looks up (`gru_hf.embedding_rows`), where the other
    # rows would stay exactly as they are: the same training up to floating-point rounding (bit-identical in the
    # tests and on MR's whole job), and each step is cheaper.
    train_looked_up_rows_only = True
    _whole_embedding: torch.nn.Module | None = None  # the model's own embedding while a `TrainedRowsEmbedding` trains
    _resume_from: str | bool | None = None  # the checkpoint `train()` resumes

    def train(self, resume_from_checkpoint=None, *args, **kwargs):
        self._resume_from = resume_from_checkpoint
        try:
            return super().train(resume_from_checkpoint, *args, **kwargs)
        finally:
            if self._whole_embedding is not None:
                self.model.get_input_embeddings().whole_table()  # the trained rows into the embedding's weight
                self.model.set_input_embeddings(self._whole_embedding)
                self._whole_embedding = None
                # The optimizer holds the rows' parameter, which is gone: a later `train()` builds its own, as it
                # builds its own scheduler.
                self.optimizer = None

    def _train_looked_up_rows(self) -> None:
        """Swap the model's embedding for a `TrainedRowsEmbedding` of the rows the training split looks up, when
        the other rows would stay exactly as they are: an element-wise optimizer, no weight decay on them, a plain
        `nn.Embedding` (no max_norm, gradient scaling or sparse gradient), the model unwrapped (not DeepSpeed or
        FSDP), a training split whose token ids can be read, and no resumed checkpoint whose optimizer moments
        cover every row."""
        embedding = self.model.get_input_embeddings()
        if (
            not self.train_looked_up_rows_only
            or not isinstance(embedding, torch.nn.Embedding)
            or not embedding.weight.requires_grad
            or embedding.max_norm is not None  # renormalises the rows it looks up: kept as nn.Embedding does it
            or embedding.scale_grad_by_freq
            or embedding.sparse
            or self.args.optim not in ROW_WISE_OPTIMIZERS
            or getattr(self, "optimizer_cls_and_kwargs", None) is not None
            or self.is_deepspeed_enabled
            or self.is_fsdp_enabled
        ):
            return
        names = {id(p): n for n, p in self.model.named_parameters()}
        if self.args.weight_decay and names.get(id(embedding.weight)) in self.get_decay_parameter_names(self.model):
            return
        rows = looked_up_rows(self.train_dataset)
        if rows is None or rows >= embedding.num_embeddings or self._resumed_moments_cover(embedding.weight):
            return
        total = embedding.num_embeddings
        logger.info("Training %d of the %d embedding rows: no training text looks up the others", rows, total)
        self._whole_embedding = embedding
        self.model.set_input_embeddings(TrainedRowsEmbedding(embedding, rows))

    def _resumed_moments_cover(self, weight: torch.Tensor) -> bool:
        """Whether the checkpoint being resumed holds optimizer moments of `weight`'s whole shape: saved while every
        row trained (by an earlier gru-hf), so the resumed run trains every row too."""
        checkpoint = self._resume_from
        if checkpoint is True:
            checkpoint = get_last_checkpoint(self.args.output_dir)
        path = os.path.join(checkpoint, "optimizer.pt") if isinstance(checkpoint, str) else ""
        if not os.path.isfile(path):
            return False
        state = torch.load(path, map_location="cpu", weights_only=True).get("state", {})
        return any(getattr(s.get("exp_avg"), "shape", None) == weight.shape for s in state.values())

    def create_optimizer(self, model=None):
        if self.optimizer is None and model is None:
            self._train_looked_up_rows()
        rate = getattr(self.args, "embedding_learning_rate", None)
        if rate is None or self.optimizer is not None:
            return super().create_optimizer(model)
        opt_model = self.model if model is None else model
        embedding = {id(p) for p in opt_model.get_input_embeddings().parameters()}
        decay = set(self.get_decay_parameter_names(opt_model))
        groups = []
        for in_embedding in (False, True):
            for decayed in (True, False):
                params = [
                    p
                    for n, p in opt_model.named_parameters()
                    if p.requires_grad and (id(p) in embedding) == in_embedding and (n in decay) == decayed
                ]
                if params:
                    group = {"params": params, "weight_decay": self.args.weight_decay if decayed else 0.0}
                    if in_embedding:
                        group["lr"] = rate
                    groups.append(group)
        optimizer_cls, optimizer_kwargs = self.get_optimizer_cls_and_kwargs(self.args, opt_model)
        self.optimizer = optimizer_cls(groups, **optimizer_kwargs)
        return self.optimizer

    def _get_eval_sampler(self, eval_dataset):
        # With group_by_length, transformers evaluates through its LengthGroupedSampler, which shuffles with an
        # unseeded generator: under DDP each process draws its own order, so the shards overlap and some texts are
        # evaluated twice, others never (seen with 2 processes). A length-sorted order is as fast and the same
        # everywhere.
        if self.args.train_sampling_strategy != "group_by_length" or not isinstance(eval_dataset, Dataset):
            return super()._get_eval_sampler(eval_dataset)
        return LengthSortedSampler([len(ids) for ids in eval_dataset["input_ids"]])

    @property
    def model_card_data(self) -> GRUModelCardData | None:
        for callback in self.callback_handler.callbacks:
            if isinstance(callback, ModelCardCallback):
                return callback.card_data
        return None

    def create_model_card(self, *args, **kwargs):
        card_data = self.model_card_data
        if not self.is_world_process_zero() or card_data is None:
            return
        from .model_card import write_model_card  # looked up at call time: a test records the call

        write_model_card(self.args.output_dir, card_data)


@dataclass
class JobData:
    """What the data stages hand to the model and Trainer stages."""

    raw: DatasetDict  # "train", "validation" and maybe "test": columns "text" and "label" (encoded)
    labels: LabelInfo
    tokenizer: GRUTokenizerFast
    tokenized: dict  # split name -> tokenised dataset (input_ids, attention_mask, label)
    vectors: dict | None = None  # word -> vector, when --glove is given
    vectors_dim: int | None = None
    extra_words: int = 0  # words added from the vectors file (--glove_extra_words)
    columns: tuple[str, str] = ("text", "label")  # the source's text and label columns (for the card)


def train(
    model_args: ModelArguments,
    data_args: DataArguments,
    training_args: GRUTrainingArguments,
    callbacks: list | None = None,
    search: dict | None = None,
) -> dict:
    """Run the whole job and return the final metrics. Every input check happens before the first long step, and
    the caller's arguments are left as they were. `callbacks` are extra `TrainerCallback`s. With
    `--autotune_seconds` the job is `gru_hf.autotune.autotune` (which calls back here with the chosen values and
    its `search` record, written into results.json)."""
    if training_args.autotune_seconds:
        from .autotune import autotune

        return autotune(model_args, data_args, training_args, callbacks)
    start = time.time()
    resume = check_inputs(model_args, data_args, training_args)
    raw, labels, columns = load_splits(data_args)
    check_validation_split(raw, training_args)
    check_class_weight(training_args, labels)
    check_metric_for_best_model(training_args, labels.problem_type)
    model_args, training_args = apply_recipe(model_args, training_args, raw["train"], data_args)
    data = prepare_data(model_args, data_args, raw, labels, resume)
    data.columns = columns
    job = fit(model_args, data_args, training_args, data, callbacks, resume=resume, start=start)
    return finish(job, search=search)


@dataclass
class FittedJob:
    """A trained and saved job, before its final evaluation: what `fit` hands to `finish`."""

    trainer: Trainer
    data: JobData
    card: GRUModelCardData
    coverage: object  # the vectors' VectorCoverage, None without --glove
    model_args: ModelArguments
    training_args: GRUTrainingArguments
    train_runtime_s: float
    start: float


@dataclass
class TrainedState:
    """What a finished training run leaves that `fit` needs to stand in for training it again: the weights of its
    best evaluation (what `load_best_model_at_end` restores), its log and its runtime. An autotune trial trained
    exactly as the job would train its values hands its state to `fit` instead of being retrained."""

    weights: dict
    log_history: list
    train_runtime_s: float
    global_step: int
    epoch: float | None


def fit(
    model_args,
    data_args,
    training_args,
    data: JobData,
    callbacks=None,
    resume: str | None = None,
    start=None,
    trained: TrainedState | None = None,
) -> FittedJob:
    """The training stages of `train` on prepared data: the model, the card facts, the Trainer, training, and the
    (best) model saved into the output directory. With `trained` (a run of the same values, already trained) its
    weights and log take the place of training."""
    model, coverage = build_model(model_args, data, seed=training_args.seed)
    if resume:
        check_resume_matches(resume, model.config)
    elif trained is None:
        remove_previous_run_files(training_args)
    card = model_card_data(data_args, training_args, data.raw, data.columns)
    callbacks = [*(callbacks or []), ModelCardCallback(card, model_args, data_args)]
    trainer = build_trainer(model, job_arguments(training_args, data.labels.problem_type), data, callbacks)
    if trained is None:
        train_result = trainer.train(resume_from_checkpoint=resume)
        runtime = round(train_result.metrics.get("train_runtime", 0.0), 2)
    else:
        model.load_state_dict(trained.weights)
        trainer.state.log_history = [dict(entry) for entry in trained.log_history]
        trainer.state.global_step, trainer.state.epoch = trained.global_step, trained.epoch
        card.log_history = [dict(entry) for entry in trained.log_history]
        card.train_runtime_s = runtime = trained.train_runtime_s
    trainer.save_model()
    return FittedJob(trainer, data, card, coverage, model_args, training_args, runtime, start or time.time())


def finish(job: FittedJob, search: dict | None = None) -> dict:
    """The final stages of `train`: validation and test evaluated once, results.json, the model card (with the
    `search` record of --autotune_seconds, if any) and the Hub push when asked for. Returns the results."""
    trainer, data = job.trainer, job.data
    results, confusion = evaluate_splits(trainer, data)
    results["train_runtime_s"] = job.train_runtime_s
    if getattr(trainer, "class_weights", None) is not None:
        results["class_weights"] = {
            data.labels.id2label[i]: round(float(w), 6) for i, w in enumerate(trainer.class_weights.tolist())
        }
    if search is not None:
        from .autotune import search_card_facts

        results["search"] = search
        job.card.search = search_card_facts(search)
        # The job trained the chosen values with the search switched off; the card shows the command's options.
        searched = {"autotune_seconds": search["budget_s"], "autotune_trials": search["trials_limit"]}
        job.card.hyperparameters.get("training", {}).update(searched)
        if job.card.non_default_hyperparameters is not None:
            job.card.non_default_hyperparameters.update({k: v for k, v in searched.items() if v})
    record_results(job.card, results, confusion, job.coverage, job.model_args, data, job.start)
    save_and_publish(trainer, job.training_args, results)
    return results


def check_inputs(model_args: ModelArguments, data_args: DataArguments, training_args: TrainingArguments) -> str | None:
    """The cheap checks, before anything is read or written: output directory, vectors source, option
    combinations. Returns the checkpoint to resume from, if any."""
    if not torch.cuda.is_available():
        configure_cpu()
    resume = prepare_output_dir(training_args)
    if model_args.glove:
        from .vectors import check_vectors_source

        check_vectors_source(model_args.glove, dim=model_args.embedding_dim)
    if model_args.glove_extra_words is not None and model_args.glove_extra_words < 0:
        raise ValueError(f"--glove_extra_words must be 0 or more, got {model_args.glove_extra_words}")
    if model_args.glove_extra_words and not model_args.glove:
        raise ValueError("--glove_extra_words needs --glove: the extra words are taken from the word vectors")
    if training_args.push_to_hub and not training_args.hub_model_id:
        raise ValueError("--push_to_hub needs --hub_model_id (e.g. your-name/gru-hf-bbc-news)")
    if training_args.push_to_hub:
        from .hub import check_hub_reachable

        check_hub_reachable("--push_to_hub")
    if data_args.streaming and training_args.max_steps <= 0:
        raise ValueError("--streaming needs --max_steps: a streamed training set has no length, so no epochs")
    check_training_options(training_args)
    return resume


def check_training_options(training_args) -> None:
    """gru-hf's own training options: --class_weight, --word_dropout, --adversarial_epsilon,
    --embedding_learning_rate."""
    class_weight = getattr(training_args, "class_weight", "none")
    if class_weight not in CLASS_WEIGHT_CHOICES:
        raise ValueError(f"--class_weight must be one of {', '.join(CLASS_WEIGHT_CHOICES)}, got {class_weight!r}")
    word_dropout = getattr(training_args, "word_dropout", 0.0)
    if not 0.0 <= word_dropout < 1.0:
        raise ValueError(f"--word_dropout must be in [0, 1), got {word_dropout}")
    epsilon = getattr(training_args, "adversarial_epsilon", None)
    if epsilon is not None and not (epsilon >= 0.0 and math.isfinite(epsilon)):
        raise ValueError(f"--adversarial_epsilon must be a finite number, 0 or more, got {epsilon}")
    rate = getattr(training_args, "embedding_learning_rate", None)
    if rate is not None and rate < 0:
        raise ValueError(f"--embedding_learning_rate must be 0 or more, got {rate}")
    check_report_to(training_args.report_to)


def check_report_to(report_to) -> None:
    """--report_to names loggers that are installed (the Trainer raises when it builds their callbacks, after the
    data are loaded)."""
    from transformers.integrations import get_available_reporting_integrations
    from transformers.integrations.integration_utils import INTEGRATION_TO_CALLBACK

    names = [report_to] if isinstance(report_to, str) else list(report_to or [])
    unknown = [name for name in names if name not in (*INTEGRATION_TO_CALLBACK, "all", "none")]
    if unknown:
        raise ValueError(
            f"--report_to {unknown[0]}: unknown; use none, all or one of {', '.join(INTEGRATION_TO_CALLBACK)}"
        )
    available = get_available_reporting_integrations()
    missing = [name for name in names if name in INTEGRATION_TO_CALLBACK and name not in available]
    if missing:
        raise ValueError(
            f"--report_to {missing[0]}: {missing[0]} is not installed (pip install {missing[0]}); "
            "or use --report_to none"
        )


def check_class_weight(training_args, labels: LabelInfo) -> None:
    """--class_weight balanced weighs a single label per text; other problem types refuse it."""
    if getattr(training_args, "class_weight", "none") == "none":
        return
    if labels.problem_type != "single_label_classification":
        raise ValueError(
            f"--class_weight {training_args.class_weight} needs single-label classification, but the data is "
            f"{labels.problem_type}: leave --class_weight none"
        )


def check_validation_split(raw, training_args, command: str = "gru-hf train") -> None:
    """Without a validation split (--validation_split_percentage 0 and no --validation_file) the job can train, but
    not evaluate during training."""
    if "validation" in raw:
        return
    if command != "gru-hf train":
        raise ValueError(
            f"{command} needs a validation split: give --validation_file, or a --validation_split_percentage above 0"
        )
    if _strategy(training_args.eval_strategy) != "no":
        raise ValueError(
            "there is no validation split (--validation_split_percentage 0 and no --validation_file), but "
            f"--eval_strategy {_strategy(training_args.eval_strategy)} evaluates on one: pass --eval_strategy no "
            "to train without it, or give a validation split"
        )


def check_metric_for_best_model(training_args, problem_type: str) -> None:
    """A --metric_for_best_model the job's evaluation reports, checked before training (the Trainer raises a
    KeyError at the first evaluation)."""
    if not getattr(training_args, "metric_chosen_by_user", False):
        return
    name = training_args.metric_for_best_model
    reported = (*METRIC_KEYS[problem_type], "loss")
    if name.removeprefix("eval_") not in reported:
        raise ValueError(
            f"--metric_for_best_model {name}: a {problem_type} job's evaluation reports {', '.join(reported)} "
            "(with or without the eval_ prefix)"
        )


def load_splits(data_args: DataArguments) -> tuple[DatasetDict, LabelInfo, tuple[str, str]]:
    """Train / validation / test splits with labels encoded from the training split, and the text and label
    columns as the source names them."""
    data = load_data(data_args)
    logger.info("Text column %r, label column %r", *data.columns)
    for split, ds in data.splits.items():
        logger.info("%s: %s texts", split, len(ds) if isinstance(ds, Dataset) else "streamed")
    return data.splits, data.labels, data.columns


def median_words(train_split, data_args: DataArguments) -> int:
    """The median number of words (separated by white space) of the training texts: of at most RECIPE_SAMPLE of
    them, evenly spread over an in-memory split, or the first `tokenizer_sample_size` of a stream."""
    if isinstance(train_split, Dataset):
        step = max(1, -(-len(train_split) // RECIPE_SAMPLE))
        texts = train_split.select(range(0, len(train_split), step))["text"]
    else:
        texts = sample_texts(train_split, min(RECIPE_SAMPLE, data_args.tokenizer_sample_size))
    return int(np.median([len(text.split()) for text in texts])) if texts else 0


def apply_recipe(model_args, training_args, train_split, data_args, auto_short: bool = True):
    """The job's arguments with the recipe's values (`--recipe`) in the options left unset: copies, the caller's
    are left as they were. `auto` is short with --glove on texts of at most SHORT_TEXT_WORDS words (median), unless
    `auto_short` is false (`gru-hf distill`, whose students were measured with the long one). The names of the
    options the recipe set are kept in the model arguments' `recipe_values` (the model card does not list them
    as changed by you)."""
    import dataclasses

    kind, words = model_args.recipe, None
    if kind == "auto":
        kind = "long"
        if model_args.glove and auto_short:
            words = median_words(train_split, data_args)
            kind = "short" if words <= SHORT_TEXT_WORDS else "long"
    values = dict(SHORT_RECIPE if kind == "short" else LONG_RECIPE)
    if not model_args.glove:
        values["glove_extra_words"] = 0  # the extra words come from the vectors
    filled = {name: value for name, value in values.items() if getattr(model_args, name) is None}
    resolved = dataclasses.replace(model_args, **filled)
    resolved_training = training_args
    if kind == "short":  # the recipe's training options, in those left unset (None)
        training_values = {
            "embedding_learning_rate": training_args.learning_rate * SHORT_RECIPE_EMBEDDING_RATE,
            "adversarial_epsilon": SHORT_RECIPE_ADVERSARIAL_EPSILON,
        }
        unset = {name: value for name, value in training_values.items() if getattr(training_args, name, 0) is None}
        if unset:
            resolved_training = copy.copy(training_args)
            for name, value in unset.items():
                setattr(resolved_training, name, value)
            filled.update(unset)
    resolved.recipe_values = dict(filled)
    if kind == "short" or model_args.recipe != "auto":
        why = f"--recipe {model_args.recipe}"
        if words is not None:
            why = f"the median training text has {words} words (at most {SHORT_TEXT_WORDS})"
        chosen = ", ".join(f"--{name} {value:g}" for name, value in filled.items()) or "every option given"
        logger.info("Recipe %s (%s): %s", kind, why, chosen)
    elif words is not None:
        logger.info("Recipe long (the median training text has %d words, more than %d)", words, SHORT_TEXT_WORDS)
    return resolved, resolved_training


def build_tokenizer(
    model_args: ModelArguments, data_args: DataArguments, train_split, resume: str | None
) -> GRUTokenizerFast:
    """A word-level tokenizer trained on the training split only (a stream is sampled: its first
    `tokenizer_sample_size` texts), or the one of the checkpoint being resumed."""
    if resume:
        return GRUTokenizerFast.from_pretrained(resume)
    if isinstance(train_split, Dataset):
        texts = train_split["text"]
    else:
        texts = sample_texts(train_split, data_args.tokenizer_sample_size)
    return train_tokenizer(
        texts,
        vocab_size=model_args.vocab_size,
        min_frequency=model_args.min_frequency,
        lowercase=model_args.lowercase,
        model_max_length=model_args.max_seq_length,
    )


def tokenize_splits(raw: DatasetDict, tokenizer) -> dict:
    """Each split as `input_ids` / `attention_mask` / `label` (truncated to the tokenizer's maximum length)."""
    return {
        split: data.map(
            lambda batch: tokenizer(batch["text"], truncation=True),
            batched=True,
            remove_columns=["text"],
            **({"desc": f"Tokenising {split}"} if isinstance(data, Dataset) else {}),
        )
        for split, data in raw.items()
    }


def prepare_data(model_args, data_args, raw: DatasetDict, labels: LabelInfo, resume: str | None) -> JobData:
    """Tokenizer, word vectors (and the vocabulary they extend) and the tokenised splits."""
    tokenizer = build_tokenizer(model_args, data_args, raw["train"], resume)
    data = JobData(raw=raw, labels=labels, tokenizer=tokenizer, tokenized={})
    if model_args.glove:
        from .vectors import read_vectors

        # With extra words the whole file is read, in its order (GloVe's: most frequent first).
        extra = model_args.glove_extra_words and not resume
        needed = None if extra else set(tokenizer.get_vocab())
        data.vectors, data.vectors_dim = read_vectors(model_args.glove, needed=needed)
        if extra:
            known = len(tokenizer)
            data.tokenizer = extend_vocabulary(tokenizer, data.vectors, model_args.glove_extra_words)
            data.extra_words = len(data.tokenizer) - known
            logger.info("Added %d words of %s to the %d training words", data.extra_words, model_args.glove, known)
    data.tokenized = tokenize_splits(raw, data.tokenizer)
    return data


def build_model(model_args: ModelArguments, data: JobData, seed: int):
    """A freshly initialised (seeded) model for the tokenizer and labels, then the pretrained vectors: they are
    copied after construction, since `post_init` would overwrite them. Returns the model and the vectors'
    `VectorCoverage` (None without --glove)."""
    set_seed(seed)
    embedding_dim = model_args.embedding_dim or data.vectors_dim or 100
    config = build_model_config(model_args, data.tokenizer, data.labels, embedding_dim)
    model = GRUForSequenceClassification(config)
    if not model_args.glove:
        return model, None
    from .vectors import build_embedding_matrix

    matrix, coverage = build_embedding_matrix(
        data.tokenizer.get_vocab(),
        model_args.glove,
        dim=config.embedding_dim,
        init=model.get_input_embeddings().weight.detach().numpy(),
        token_counts=training_token_counts(data),
        special_tokens=[PAD_TOKEN, UNK_TOKEN],
        vectors=data.vectors,
    )
    model.load_pretrained_embeddings(matrix, freeze=model_args.freeze_embeddings)
    logger.info(coverage.summary())
    return model, coverage


def training_token_counts(data: JobData) -> dict[str, int] | None:
    """How often each token occurs in the tokenised training split (None for a stream), for the vectors' coverage
    of running tokens."""
    train = data.tokenized["train"]
    if not isinstance(train, Dataset):
        return None
    counts = np.bincount(np.concatenate([np.asarray(ids) for ids in train["input_ids"]] or [[]]).astype(np.int64))
    vocab = data.tokenizer.get_vocab()
    return {token: int(counts[i]) for token, i in vocab.items() if i < len(counts) and counts[i]}


def job_arguments(training_args: GRUTrainingArguments, problem_type: str) -> GRUTrainingArguments:
    """A copy of the arguments as the Trainer runs them: the best model chosen by the problem type's metric unless
    the user named one, and no Trainer push (`save_and_publish` pushes gru-hf's own card and files)."""
    args = copy.copy(training_args)
    args.push_to_hub = False
    if not training_args.metric_chosen_by_user:
        args.metric_for_best_model = default_metric_for_best_model(problem_type)
        args.greater_is_better = greater_is_better(args.metric_for_best_model)
    return args


def build_trainer(model, args: TrainingArguments, data: JobData, callbacks=None, trainer_class=None, **kwargs):
    """The Trainer over the tokenised splits, with early stopping whenever evaluation runs. `trainer_class`
    (default `GRUTrainer`) and `kwargs` let other jobs (distillation) reuse the stage."""
    callbacks = list(callbacks or [])
    if args.early_stopping_patience > 0 and args.eval_strategy != "no":
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=args.early_stopping_patience))
    trainer = (trainer_class or GRUTrainer)(
        model=model,
        args=args,
        train_dataset=data.tokenized["train"],
        eval_dataset=data.tokenized.get("validation"),
        processing_class=data.tokenizer,
        data_collator=data_collator(data.tokenizer, _dispatch_width(args, data)),
        compute_metrics=build_compute_metrics(data.labels.problem_type, data.labels.num_labels),
        callbacks=callbacks,
        **kwargs,
    )
    if getattr(args, "class_weight", "none") == "balanced":
        weights = balanced_class_weights(data.raw["train"]["labels"], data.labels.num_labels, data.labels.id2label)
        trainer.class_weights = torch.tensor(weights, dtype=torch.float32)
        logger.info("Class weights (balanced): %s", weights)
    return trainer


def _dispatch_width(args: TrainingArguments, data: JobData) -> int | None:
    """The width every batch is padded to when a stream is trained on by several processes: accelerate's main
    process reads the stream and concatenates one batch per process before slicing it out, so all must have the
    same width. The model trims each batch to its longest text, so the padding costs no GRU steps."""
    if args.world_size > 1 and not isinstance(data.tokenized["train"], Dataset):
        return data.tokenizer.model_max_length
    return None


def evaluate_splits(trainer: Trainer, data: JobData) -> tuple[dict, dict | None]:
    """The final evaluation: the (best) model on validation, then on the test split, once. Returns the metrics and,
    for single-label data with a test split, the test confusion facts (labels, y_true, y_pred)."""
    results = {}
    if "validation" in data.tokenized:
        results["validation"] = trainer.evaluate(data.tokenized["validation"], metric_key_prefix="eval")
    if "test" not in data.tokenized:
        return results, None
    prediction = trainer.predict(data.tokenized["test"], metric_key_prefix="test")
    results["test"] = prediction.metrics
    if trainer.args.do_predict and trainer.is_world_process_zero():
        write_predictions(
            trainer.args.output_dir, in_dataset_order(trainer, data.tokenized["test"], prediction), data.labels
        )
    if data.labels.problem_type != "single_label_classification":
        return results, None
    confusion = {
        "labels": [data.labels.id2label[i] for i in range(data.labels.num_labels)],
        "y_true": [int(v) for v in prediction.label_ids],
        "y_pred": [int(v) for v in np.argmax(prediction.predictions, axis=-1)],
    }
    return results, confusion


PREDICTIONS_FILE = "predict_results.txt"


def in_dataset_order(trainer: Trainer, dataset, prediction):
    """`trainer.predict`'s outputs come in its evaluation sampler's order (length-sorted with group_by_length):
    back to the dataset's row order."""
    sampler = trainer._get_eval_sampler(dataset)
    order = list(sampler) if sampler is not None else list(range(len(dataset)))
    outputs = np.empty_like(prediction.predictions)
    outputs[order] = prediction.predictions
    return outputs


def write_predictions(output_dir: str, logits, labels: LabelInfo) -> str:
    """--do_predict: the test split's predictions in `predict_results.txt`, one line per text in the split's order,
    as transformers' run_classification.py writes them (label names; a list of names for multi-label data, the
    value for regression)."""
    logits = np.asarray(logits)
    path = os.path.join(output_dir, PREDICTIONS_FILE)
    with open(path, "w", encoding="utf-8") as f:
        f.write("index\tprediction\n")
        for index, row in enumerate(logits):
            if labels.problem_type == "regression":
                item = f"{float(row.reshape(-1)[0]):3.3f}"
            elif labels.problem_type == "multi_label_classification":
                item = str([labels.id2label[i] for i in range(len(row)) if row[i] > 0])  # sigmoid > 0.5
            else:
                item = labels.id2label[int(np.argmax(row))]
            f.write(f"{index}\t{item}\n")
    return path


def record_results(card, results: dict, confusion: dict | None, coverage, model_args, data: JobData, start: float):
    """Add what evaluation found to results.json's dict and to the card: test metrics, confusion, vectors."""
    if coverage is not None:
        frozen = model_args.freeze_embeddings
        results["glove"] = {**coverage.as_dict(), "frozen": frozen, "extra_words": data.extra_words}
        card.vectors = VectorsFacts(coverage, frozen=frozen, extra_words=data.extra_words)
    card.test_metrics = metric_values(results.get("test"), "test_")
    card.confusion = Confusion(**confusion) if confusion else None
    card.total_runtime_s = round(time.time() - start, 1)


def save_and_publish(trainer: Trainer, training_args: TrainingArguments, results: dict) -> None:
    """Main process only: results.json, the ONNX export (`--export_onnx`), the model card
    (`trainer.create_model_card`), and the Hub push when asked for. The other processes wait for it: one that ended
    first could take the job down with it (torchrun stops every process when one fails at exit)."""
    try:
        if trainer.is_world_process_zero():
            _save_and_publish(trainer, training_args, results)
    finally:
        trainer.accelerator.wait_for_everyone()


def _save_and_publish(trainer: Trainer, training_args: TrainingArguments, results: dict) -> None:
    with open(os.path.join(training_args.output_dir, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2, sort_keys=True)
    if getattr(training_args, "export_onnx", False):  # first: the card shows how to use the export it finds
        export_onnx_if_installed(training_args.output_dir)
    trainer.create_model_card()
    if training_args.push_to_hub:
        from .hub import push_directory

        push_directory(
            training_args.output_dir,
            training_args.hub_model_id,
            token=training_args.hub_token,
            private=training_args.hub_private_repo,
        )


def export_onnx_if_installed(output_dir: str) -> dict[str, str]:
    """`gru-hf export output_dir` when onnx and onnxruntime are importable (the `onnx` extra): the written paths, or
    {} with a log line saying why not (a failed export is a warning: the trained model is already saved)."""
    import importlib.util

    missing = [name for name in ("onnx", "onnxruntime") if importlib.util.find_spec(name) is None]
    if missing:
        logger.info("no onnx/ export: %s not installed (pip install 'gru-hf[onnx]')", " and ".join(missing))
        return {}
    from .onnx import export

    try:
        paths = export(output_dir)
    except Exception as error:  # the model is saved already: an export that fails must not fail the job
        logger.warning("no onnx/ export: %s (the trained model is saved; `gru-hf export` retries)", error)
        return {}
    logger.info("ONNX export written: %s", paths["model.onnx"])
    return paths


def model_card_data(
    data_args: DataArguments, training_args: TrainingArguments, raw: DatasetDict, columns=("text", "label")
) -> GRUModelCardData:
    """The card facts known before training: names, dataset, command line, hardware, license. The Trainer's
    `ModelCardCallback` adds the training facts; `train` adds the test results and vectors after evaluation."""
    default_name = os.path.basename(data_args.train_file) if data_args.train_file else "bbc_news"
    dataset = DatasetFacts(
        name=data_args.dataset_name or default_name,
        hub_id=None if data_args.dataset_name and os.path.exists(data_args.dataset_name) else data_args.dataset_name,
        config=data_args.dataset_config_name,
        splits={split: len(data) if isinstance(data, Dataset) else None for split, data in raw.items()},
        text_column=columns[0],
        label_column=columns[1],
    )
    return GRUModelCardData(
        model_name=os.path.basename(os.path.abspath(training_args.output_dir)),
        hub_model_id=training_args.hub_model_id,
        license="apache-2.0",
        dataset=dataset,
        hardware=hardware_description(),
        command=command_line(),
    )


def command_line() -> str:
    """How this run was started, as a user would type it; a run of several processes says how many (its batches
    are `per_device_train_batch_size` x that number)."""
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if program in ("gru-hf", "__main__.py"):
        command = " ".join(["gru-hf", *sys.argv[1:]])
    else:
        command = " ".join(["python", sys.argv[0], *sys.argv[1:]]) if program else "train() from Python"
    processes = int(os.environ.get("WORLD_SIZE", "1") or 1)
    return (
        f"{command}  # in each of {processes} processes (torchrun / accelerate launch)" if processes > 1 else command
    )


__all__ = [
    "ARGUMENT_CLASSES",
    "CLASS_WEIGHT_CHOICES",
    "GRUTrainer",
    "GRUTrainingArguments",
    "adversarial_shift",
    "apply_word_dropout",
    "balanced_class_weights",
    "JobData",
    "PaddingCollator",
    "ModelArguments",
    "build_model",
    "build_tokenizer",
    "build_trainer",
    "data_collator",
    "check_inputs",
    "evaluate_splits",
    "finish",
    "fit",
    "FittedJob",
    "job_arguments",
    "load_splits",
    "model_card_data",
    "prepare_data",
    "prepare_output_dir",
    "save_and_publish",
    "tokenize_splits",
    "train",
    "weighted_cross_entropy",
    "check_metric_for_best_model",
    "check_resume_matches",
    "remove_previous_run_files",
    "check_validation_split",
]
