"""The end-to-end job: data -> tokenizer -> model (optionally GloVe) -> Trainer -> evaluation -> saved directory
with a model card -> optionally the Hub."""

import json
import logging
import os
import platform
import sys
import time
from dataclasses import dataclass, field, fields

import numpy as np
import torch
from datasets import Dataset
from transformers import (
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    Trainer,
    TrainingArguments,
    set_seed,
)

from .configuration_gru import GRUConfig
from .data import DataArguments, encode_labels, infer_labels, load_raw_datasets, sample_texts
from .metrics import build_compute_metrics, default_metric_for_best_model, greater_is_better
from .modeling_gru import GRUForSequenceClassification
from .tokenization_gru import PAD_TOKEN, UNK_TOKEN, GRUTokenizerFast, extend_vocabulary, train_tokenizer

logger = logging.getLogger(__name__)


@dataclass
class ModelArguments:
    """Model and tokenizer hyperparameters (the `GRUConfig` fields and the tokenizer's)."""

    embedding_dim: int | None = field(
        default=None, metadata={"help": "Embedding size. Default 100, or the dimension of the --glove vectors."}
    )
    hidden_size: int = field(default=128, metadata={"help": "GRU state size per direction."})
    num_hidden_layers: int = field(default=1, metadata={"help": "Stacked GRU layers."})
    bidirectional: bool = field(default=True, metadata={"help": "Read each text in both directions."})
    pooling: str = field(default="max", metadata={"help": "Sentence vector: last, mean or max over the GRU states."})
    embedding_dropout: float = field(default=0.25, metadata={"help": "Dropout on the token embeddings."})
    hidden_dropout: float = field(default=0.0, metadata={"help": "Dropout between stacked GRU layers."})
    classifier_dropout: float = field(default=0.25, metadata={"help": "Dropout before the classifier."})
    vocab_size: int = field(default=30000, metadata={"help": "Largest vocabulary, [PAD] and [UNK] included."})
    min_frequency: int = field(default=2, metadata={"help": "Words seen fewer times in training become [UNK]."})
    lowercase: bool = field(default=True, metadata={"help": "Lower-case texts before tokenising."})
    max_seq_length: int = field(default=256, metadata={"help": "Longer texts are truncated to this many tokens."})
    glove: str | None = field(
        default=None,
        metadata={"help": "Initialise embeddings from GloVe/word2vec text (.txt or .gz) or the name 'glove-6b-50d'."},
    )
    freeze_embeddings: bool = field(default=False, metadata={"help": "Keep the (GloVe) embeddings fixed."})
    glove_extra_words: int = field(
        default=0,
        metadata={
            "help": "Also add up to this many of the --glove file's words (its first, most frequent ones) that the "
            "training data did not put in the vocabulary, so words unseen in training keep their pretrained vector."
        },
    )


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
    save_strategy: str = field(default="epoch", metadata={"help": "When to save checkpoints: no, steps, epoch, best."})
    logging_strategy: str = field(default="steps", metadata={"help": "When to log: no, steps or epoch."})
    logging_steps: float = field(default=0.02, metadata={"help": "Log every N steps, or a fraction of all if < 1."})
    save_total_limit: int | None = field(default=2, metadata={"help": "Checkpoints kept (the best one is kept)."})
    load_best_model_at_end: bool = field(default=True, metadata={"help": "End with the best checkpoint's weights."})
    train_sampling_strategy: str = field(
        default="group_by_length", metadata={"help": "random, sequential or group_by_length (fastest on CPU)."}
    )
    ddp_find_unused_parameters: bool | None = field(
        default=False, metadata={"help": "Every gru-hf parameter is used in every step: no search needed."}
    )
    report_to: None | str | list[str] = field(default="none", metadata={"help": "Loggers: none, tensorboard, ..."})

    def __post_init__(self):
        from .distributed import check_mixed_precision

        check_process_group_setup(self)
        check_mixed_precision(self)  # after it: torchrun on a CPU-only host has just become use_cpu
        # TrainingArguments turns a missing metric into "loss"; gru-hf picks one per problem type once it is known.
        self.metric_chosen_by_user = self.metric_for_best_model is not None
        super().__post_init__()


def _true(value: str | None) -> bool:
    return str(value).lower() in {"1", "true", "yes"}


def check_process_group_setup(args: TrainingArguments) -> None:
    """Make several processes on a host without GPUs really train together, or refuse.

    - torchrun / `accelerate launch --multi_gpu` on a CPU-only host: without `use_cpu` every process would train its
      own unsynchronised copy; switch to CPU DDP (gloo) instead.
    - `accelerate launch --cpu --num_processes N` (or `--num_processes N` without `--multi_gpu` on a host without
      several GPUs) starts ONE process: refuse rather than silently train alone.
    """
    if not torch.cuda.is_available():
        args.dataloader_pin_memory = False  # nothing to pin to
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size > 1 and not args.use_cpu and not torch.cuda.is_available():
        logger.warning("%d processes and no GPU: training with CPU DDP (gloo), as with --use_cpu", world_size)
        args.use_cpu = True
    mpi = any(name in os.environ for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"))
    if (
        "WORLD_SIZE" not in os.environ
        and "ACCELERATE_USE_CPU" in os.environ  # accelerate's one-process launcher ...
        and os.environ.get("MASTER_ADDR")  # ... asked for several processes
        and os.environ.get("MASTER_PORT")
        and not mpi  # `accelerate launch --mpirun_hostfile`: mpirun starts them all
    ):
        flag = "--cpu " if _true(os.environ.get("ACCELERATE_USE_CPU")) else ""
        raise ValueError(
            f"`accelerate launch {flag}--num_processes N` runs a single process: for N synchronised processes use "
            "`accelerate launch --multi_gpu --num_processes N` or `torchrun --nproc_per_node N` (without GPUs gru-hf "
            "then trains with CPU DDP)"
        )


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


def non_default_arguments(*instances) -> dict:
    """The arguments a user changed, compared with a default instance of each class."""
    changed = {}
    for instance in instances:
        defaults = type(instance)()
        for f in fields(instance):
            if not f.init or f.name.startswith("_") or f.name in {"output_dir", "logging_dir"}:
                continue
            value = getattr(instance, f.name)
            if value != getattr(defaults, f.name):
                changed[f.name] = value if isinstance(value, (int, float, str, bool, type(None))) else str(value)
    return changed


class GRUTrainer(Trainer):
    """The Trainer with gru-hf's model card instead of the generic one."""

    model_card_facts: dict | None = None

    def create_model_card(self, *args, **kwargs):
        if not self.is_world_process_zero() or self.model_card_facts is None:
            return
        from .model_card import write_model_card

        write_model_card(self.args.output_dir, self.model_card_facts)


def train(  # noqa: C901  the whole training job; to be split into named stages
    model_args: ModelArguments,
    data_args: DataArguments,
    training_args: GRUTrainingArguments,
    callbacks: list | None = None,
) -> dict:
    """Run the whole job and return the final metrics. Every input check happens before the first long step.
    `callbacks` are extra `TrainerCallback`s."""
    start = time.time()
    if not torch.cuda.is_available():
        configure_cpu()
    # 1. Cheap checks first: nothing has been read or written yet.
    resume = prepare_output_dir(training_args)
    if model_args.glove:
        from .vectors import check_vectors_source

        check_vectors_source(model_args.glove, dim=model_args.embedding_dim)
    if model_args.glove_extra_words < 0:
        raise ValueError(f"--glove_extra_words must be 0 or more, got {model_args.glove_extra_words}")
    if model_args.glove_extra_words and not model_args.glove:
        raise ValueError("--glove_extra_words needs --glove: the extra words are taken from the word vectors")
    push_to_hub, training_args.push_to_hub = training_args.push_to_hub, False  # we push our own card and files
    if push_to_hub and not training_args.hub_model_id:
        raise ValueError("--push_to_hub needs --hub_model_id (e.g. your-name/gru-hf-bbc-news)")

    if data_args.streaming and training_args.max_steps <= 0:
        raise ValueError("--streaming needs --max_steps: a streamed training set has no length, so no epochs")

    # 2. Data: train / validation / test, labels encoded from the training split.
    raw = load_raw_datasets(data_args)
    label_info = infer_labels(raw["train"])
    raw = encode_labels(raw, label_info)
    for split, data in raw.items():
        logger.info("%s: %s texts", split, len(data) if isinstance(data, Dataset) else "streamed")

    # 3. Tokenizer, trained on the training split only (or taken from the checkpoint being resumed).
    if resume:
        tokenizer = GRUTokenizerFast.from_pretrained(resume)
    else:
        # A stream is sampled (its first `tokenizer_sample_size` texts); a dataset in memory is read whole.
        texts = (
            raw["train"]["text"]
            if isinstance(raw["train"], Dataset)
            else sample_texts(raw["train"], data_args.tokenizer_sample_size)
        )
        tokenizer = train_tokenizer(
            texts,
            vocab_size=model_args.vocab_size,
            min_frequency=model_args.min_frequency,
            lowercase=model_args.lowercase,
            model_max_length=model_args.max_seq_length,
        )
    vectors, extra_words = None, 0
    if model_args.glove:
        from .vectors import read_vectors

        # With extra words the whole file is read, in its order (GloVe's: most frequent first).
        extra = model_args.glove_extra_words and not resume
        vectors, glove_dim = read_vectors(model_args.glove, needed=None if extra else set(tokenizer.get_vocab()))
        if extra:
            known = len(tokenizer)
            tokenizer = extend_vocabulary(tokenizer, vectors, model_args.glove_extra_words)
            extra_words = len(tokenizer) - known
            logger.info(
                "Added %d words of %s to the %d training words", len(tokenizer) - known, model_args.glove, known
            )
    tokenized = {
        split: data.map(
            lambda batch: tokenizer(batch["text"], truncation=True),
            batched=True,
            remove_columns=["text"],
            **({"desc": f"Tokenising {split}"} if isinstance(data, Dataset) else {}),
        )
        for split, data in raw.items()
    }

    # 4. Model, then pretrained vectors (after construction: post_init would overwrite them).
    set_seed(training_args.seed)
    coverage = None
    embedding_dim = model_args.embedding_dim or 100
    if model_args.glove and model_args.embedding_dim is None:
        embedding_dim = glove_dim
    config = build_model_config(model_args, tokenizer, label_info, embedding_dim)
    model = GRUForSequenceClassification(config)
    if model_args.glove:
        from .vectors import build_embedding_matrix

        matrix, coverage = build_embedding_matrix(
            tokenizer.get_vocab(),
            model_args.glove,
            dim=config.embedding_dim,
            init=model.get_input_embeddings().weight.detach().numpy(),
            special_tokens=[PAD_TOKEN, UNK_TOKEN],
            vectors=vectors,
        )
        model.load_pretrained_embeddings(matrix, freeze=model_args.freeze_embeddings)
        logger.info(coverage.summary())

    # 5. Trainer.
    problem_type = label_info.problem_type
    if not getattr(training_args, "metric_chosen_by_user", True):
        training_args.metric_for_best_model = default_metric_for_best_model(problem_type)
        training_args.greater_is_better = greater_is_better(training_args.metric_for_best_model)
    callbacks = list(callbacks or [])
    if training_args.early_stopping_patience > 0 and training_args.eval_strategy != "no":
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=training_args.early_stopping_patience))
    trainer = GRUTrainer(
        model=model,
        args=training_args,
        train_dataset=tokenized["train"],
        eval_dataset=tokenized["validation"],
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=build_compute_metrics(problem_type, label_info.num_labels),
        callbacks=callbacks,
    )
    train_result = trainer.train(resume_from_checkpoint=resume)
    log_history = list(trainer.state.log_history)  # the run itself, without the final evaluations below
    trainer.save_model()

    # 6. Final evaluation: best validation, then the test split, once.
    results = {"train_runtime_s": round(train_result.metrics.get("train_runtime", 0.0), 2)}
    results["validation"] = trainer.evaluate(tokenized["validation"], metric_key_prefix="eval")
    confusion = None
    if "test" in tokenized:
        prediction = trainer.predict(tokenized["test"], metric_key_prefix="test")
        results["test"] = prediction.metrics
        if problem_type == "single_label_classification":
            confusion = {
                "labels": [label_info.id2label[i] for i in range(label_info.num_labels)],
                "y_true": [int(v) for v in prediction.label_ids],
                "y_pred": [int(v) for v in np.argmax(prediction.predictions, axis=-1)],
            }
    if coverage is not None:
        results["glove"] = {**coverage.as_dict(), "frozen": model_args.freeze_embeddings, "extra_words": extra_words}

    # 7. Main process only: results, model card, Hub.
    if trainer.is_world_process_zero():
        with open(os.path.join(training_args.output_dir, "results.json"), "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2, sort_keys=True)
        trainer.model_card_facts = model_card_facts(
            model_args,
            data_args,
            training_args,
            config,
            raw,
            results,
            trainer,
            confusion,
            coverage,
            start,
            log_history,
        )
        trainer.create_model_card()
        if push_to_hub:
            from .hub import push_directory

            push_directory(
                training_args.output_dir,
                training_args.hub_model_id,
                token=training_args.hub_token,
                private=training_args.hub_private_repo,
            )
    return results


def _strip_prefix(metrics: dict | None, prefix: str) -> dict:
    skip = ("runtime", "samples_per_second", "steps_per_second", "loss", "epoch")
    return {k[len(prefix) :]: v for k, v in (metrics or {}).items() if k.startswith(prefix) and not k.endswith(skip)}


def model_card_facts(
    model_args, data_args, training_args, config, raw, results, trainer, confusion, coverage, start, log_history
):
    dataset_name = data_args.dataset_name or (
        os.path.basename(data_args.train_file) if data_args.train_file else "bbc_news"
    )
    return {
        "model_id": training_args.hub_model_id or os.path.basename(os.path.abspath(training_args.output_dir)),
        "dataset": {
            "name": dataset_name,
            "config": data_args.dataset_config_name,
            "hub_id": data_args.dataset_name,
            "splits": {split: len(data) if isinstance(data, Dataset) else "streamed" for split, data in raw.items()},
            "text_column": data_args.text_column or "text",
            "label_column": data_args.label_column or "label",
        },
        "problem_type": config.problem_type,
        "id2label": dict(config.id2label),
        "test_metrics": _strip_prefix(results.get("test"), "test_"),
        "validation_metrics": _strip_prefix(results.get("validation"), "eval_"),
        "hyperparameters": {
            "model": {k: v for k, v in config.to_diff_dict().items() if k not in {"auto_map", "id2label", "label2id"}},
            "tokenizer": {
                "vocab_size": model_args.vocab_size,
                "min_frequency": model_args.min_frequency,
                "lowercase": model_args.lowercase,
                "max_seq_length": model_args.max_seq_length,
            },
            "training": {
                k: (v if isinstance(v, (int, float, str, bool, type(None))) else str(v))
                for k, v in training_args.to_dict().items()
                if "token" not in k
            },
        },
        "non_default_hyperparameters": {
            k: v for k, v in non_default_arguments(model_args, data_args, training_args).items() if "token" not in k
        },
        "glove": (
            {
                **coverage.as_dict(),
                "summary": coverage.summary(),
                "frozen": model_args.freeze_embeddings,
                "extra_words": results["glove"]["extra_words"],
            }
            if coverage is not None
            else None
        ),
        "log_history": log_history,
        "confusion": confusion,
        "num_parameters": sum(p.numel() for p in trainer.model.parameters()),
        "train_runtime_s": results.get("train_runtime_s"),
        "total_runtime_s": round(time.time() - start, 1),
        "hardware": hardware_description(),
        "command": command_line(),
        "hub_model_id": training_args.hub_model_id,
        "license": "apache-2.0",
    }


def command_line() -> str:
    """How this run was started, as a user would type it."""
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if program in ("gru-hf", "__main__.py"):
        return " ".join(["gru-hf", *sys.argv[1:]])
    return " ".join(["python", sys.argv[0], *sys.argv[1:]]) if program else "train() from Python"


def hardware_description() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{os.cpu_count()} CPU cores ({cpu})"


__all__ = ["ARGUMENT_CLASSES", "GRUTrainer", "GRUTrainingArguments", "ModelArguments", "prepare_output_dir", "train"]
