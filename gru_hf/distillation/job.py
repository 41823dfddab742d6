"""`gru-hf distill`: the `gru-hf train` job's stages, with a transfer set labelled by a teacher and the
distillation loss. The student is a plain gru-hf model."""

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from datasets import Dataset, Features, Sequence, Value

from ..data import DataArguments
from ..metrics import build_compute_metrics, metric_values
from ..model_card import ModelCardCallback, TeacherFacts
from ..training import (
    GRUTrainingArguments,
    JobData,
    ModelArguments,
    apply_recipe,
    build_model,
    build_trainer,
    check_inputs,
    check_metric_for_best_model,
    check_resume_matches,
    check_validation_split,
    evaluate_splits,
    job_arguments,
    load_splits,
    model_card_data,
    prepare_data,
    record_results,
    remove_previous_run_files,
    save_and_publish,
    tokenize_splits,
)
from .augment import (
    REPLACEMENTS,
    Augmenter,
    AugmentSettings,
    WordSplitter,
    cooccurrence_neighbours,
    glove_neighbours,
)
from .cache import LogitCache, cached_teacher_logits, default_cache_dir, teacher_key
from .labels import TeacherLabels, check_teacher, match_teacher_labels
from .trainer import DISTILL_LOSSES, TEACHER_COLUMN, DistillationTrainer
from .unlabelled import check_unlabelled_file, read_unlabelled_texts

logger = logging.getLogger(__name__)


@dataclass
class DistillArguments:
    """The teacher, the transfer set and the distillation loss."""

    teacher: str | None = field(
        default=None,
        metadata={
            "help": "The teacher: a directory written by `gru-hf teacher` (or any sequence classifier with a "
            "tokenizer), a Hub id, or all-MiniLM-L6-v2 fine-tuned elsewhere. Required."
        },
    )
    teacher_trust_remote_code: bool = field(default=False, metadata={"help": "Allow the teacher's own code."})
    teacher_cache_dir: str | None = field(
        default=None,
        metadata={
            "help": "Where teacher logits are cached. Default: $GRU_HF_CACHE/teacher_logits or "
            "~/.cache/gru_hf/teacher_logits."
        },
    )
    teacher_batch_size: int = field(default=64, metadata={"help": "Texts per teacher batch (sorted by length)."})
    teacher_max_seq_length: int | None = field(
        default=None, metadata={"help": "Teacher input length. Default: the one it was fine-tuned with."}
    )
    augment_factor: int = field(
        default=4,
        metadata={
            "help": "Augmented copies of each training text in the transfer set (0: none). Each copy costs one "
            "teacher call (cached) and one training example per epoch; Tang et al. used 20. Default 4: on MR "
            "validation x4 read 81.35 against 80.94 for x2 and 79.17 for none, at about twice the training time of x2."
        },
    )
    augment_replacement: str = field(
        default="auto",
        metadata={
            "help": "Word replacement: glove (neighbours by --glove vectors), cooccurrence (by training-text "
            "contexts), none, or auto (glove with --glove, else cooccurrence)."
        },
    )
    augment_mask_prob: float = field(default=0.1, metadata={"help": "Probability a word becomes [UNK]."})
    augment_replace_prob: float = field(default=0.1, metadata={"help": "Probability a word is replaced."})
    augment_ngram_prob: float = field(default=0.25, metadata={"help": "Probability a copy is cut to an n-gram."})
    augment_max_ngram: int = field(default=5, metadata={"help": "Longest n-gram kept by n-gram sampling."})
    augment_neighbours: int = field(default=10, metadata={"help": "Replacement candidates per word."})
    augment_seed: int | None = field(
        default=None,
        metadata={
            "help": "Seed of the augmented copies. Default: --seed. Fix it to keep one transfer set (and its cached "
            "teacher logits) while --seed varies the student."
        },
    )
    unlabelled_file: str | None = field(
        default=None, metadata={"help": "In-domain texts without labels (csv/tsv/json/jsonl/parquet/txt)."}
    )
    unlabelled_text_column: str | None = field(default=None, metadata={"help": "Text column of --unlabelled_file."})
    distill_alpha: float = field(
        default=0.0,
        metadata={"help": "Weight of cross-entropy on gold labels (where known); 1 - alpha on the teacher."},
    )
    distill_loss: str = field(default="mse", metadata={"help": "mse (on logits, Tang et al.) or kl (softened)."})
    distill_temperature: float = field(default=1.0, metadata={"help": "Softening temperature of --distill_loss kl."})
    speed_texts: int = field(
        default=512, metadata={"help": "Test (else validation) texts timed for the speed-up (0: skip)."}
    )

    def check(self) -> None:
        if not self.teacher:
            raise ValueError("--teacher is required: a directory written by `gru-hf teacher`, or a Hub id")
        if not 0.0 <= self.distill_alpha <= 1.0:
            raise ValueError(f"--distill_alpha must be in [0, 1], got {self.distill_alpha}")
        if self.distill_loss not in DISTILL_LOSSES:
            raise ValueError(f"--distill_loss must be one of {', '.join(DISTILL_LOSSES)}, got {self.distill_loss!r}")
        if self.distill_temperature <= 0:
            raise ValueError(f"--distill_temperature must be > 0, got {self.distill_temperature}")
        if self.distill_loss == "mse" and self.distill_temperature != 1.0:
            raise ValueError("--distill_temperature applies to --distill_loss kl only (mse compares raw logits)")
        if self.augment_factor < 0:
            raise ValueError(f"--augment_factor must be 0 or more, got {self.augment_factor}")
        if self.augment_replacement not in REPLACEMENTS:
            raise ValueError(
                f"--augment_replacement must be one of {', '.join(REPLACEMENTS)}, got {self.augment_replacement!r}"
            )
        if self.teacher_batch_size < 1:
            raise ValueError(f"--teacher_batch_size must be at least 1, got {self.teacher_batch_size}")
        self.settings()

    def settings(self) -> AugmentSettings:
        return AugmentSettings(
            p_mask=self.augment_mask_prob,
            p_replace=self.augment_replace_prob,
            p_ngram=self.augment_ngram_prob,
            max_ngram=self.augment_max_ngram,
            neighbours=self.augment_neighbours,
        )


DISTILL_ARGUMENT_CLASSES = (ModelArguments, DataArguments, GRUTrainingArguments, DistillArguments)


def _replacement(distill_args: DistillArguments, model_args: ModelArguments) -> str:
    mode = distill_args.augment_replacement
    if mode == "auto":
        return "glove" if model_args.glove else "cooccurrence"
    if mode == "glove" and not model_args.glove:
        raise ValueError("--augment_replacement glove needs --glove (the neighbours come from the word vectors)")
    return mode


def build_transfer_set(data: JobData, distill_args: DistillArguments, replacement: str, seed: int, unlabelled):
    """The training texts with their gold labels, `augment_factor` augmented copies of each and the unlabelled
    texts (label -100). Copies or unlabelled texts equal to a validation or test text are left out.
    Returns `(texts, labels, sizes)`."""
    train_texts = list(data.raw["train"]["text"])
    train_labels = [int(v) for v in data.raw["train"]["labels"]]
    held_out = {text for split in ("validation", "test") if split in data.raw for text in data.raw[split]["text"]}
    split = WordSplitter(data.tokenizer.backend_tokenizer)
    held_out |= {" ".join(split(text)) for text in held_out}
    augmented = []
    if distill_args.augment_factor:
        vocab = data.tokenizer.get_vocab()  # a dict in no set order: sorted by id (most frequent first)
        words = [w for w in sorted(vocab, key=vocab.get) if w not in data.tokenizer.all_special_tokens]
        settings = distill_args.settings()
        if replacement == "glove":
            neighbours = glove_neighbours(words, data.vectors or {}, settings.neighbours)
        elif replacement == "cooccurrence":
            neighbours = cooccurrence_neighbours(train_texts, words, split, settings.neighbours)
        else:
            neighbours = {}
        augmenter = Augmenter(split, neighbours, settings, seed=seed, unk_token=data.tokenizer.unk_token)
        augmented, _ = augmenter.augment(train_texts, distill_args.augment_factor)
        augmented = [text for text in augmented if text not in held_out]
    extra = []
    if unlabelled:
        known = set(train_texts) | set(augmented)
        extra = [t for t in dict.fromkeys(unlabelled) if t not in known and t not in held_out]
        if len(extra) < len(unlabelled):
            logger.warning(
                "--unlabelled_file: %d of %d texts left out (repeated, or a training, validation or test text)",
                len(unlabelled) - len(extra),
                len(unlabelled),
            )
    texts = train_texts + augmented + extra
    labels = train_labels + [-100] * (len(augmented) + len(extra))
    sizes = {"train": len(train_texts), "augmented": len(augmented), "unlabelled": len(extra), "total": len(texts)}
    return texts, labels, sizes


def _student_predictions(model, tokenizer, texts: list[str], batch_size: int = 128) -> np.ndarray:
    model.eval()
    device = next(model.parameters()).device
    out = []
    with torch.no_grad():
        for i in range(0, len(texts), batch_size):
            batch = tokenizer(texts[i : i + batch_size], truncation=True, padding=True, return_tensors="pt")
            out.append(model(**batch.to(device)).logits.argmax(-1).cpu().numpy())
    return np.concatenate(out)


def _student_sentences_per_second(model, tokenizer, texts: list[str], batch_size: int = 64) -> float:
    model.eval()
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(texts), batch_size):
            model(**tokenizer(texts[i : i + batch_size], truncation=True, padding=True, return_tensors="pt"))
    return len(texts) / (time.perf_counter() - start)


def check_train_options_distill_lacks(training_args) -> None:
    """`gru-hf train` options that distillation does not apply are refused, not silently dropped (the card would
    list them as if they were)."""
    lacking = []
    if getattr(training_args, "autotune_seconds", 0):
        lacking.append("--autotune_seconds (no search over the distillation job)")
    if getattr(training_args, "class_weight", "none") != "none":
        lacking.append("--class_weight (the teacher's logits carry the classes' weights)")
    if training_args.label_smoothing_factor:
        lacking.append("--label_smoothing_factor (the teacher's logits are already soft targets)")
    if lacking:
        raise ValueError(f"gru-hf distill does not apply {'; '.join(lacking)}: leave them out")


def distill(
    model_args: ModelArguments,
    data_args: DataArguments,
    training_args: GRUTrainingArguments,
    distill_args: DistillArguments,
    callbacks: list | None = None,
) -> dict:
    """Distil `distill_args.teacher` into a gru-hf student: the `gru-hf train` job (same options, splits, labels
    and output directory), trained on the teacher's logits over an augmented transfer set. Returns the results
    written to `results.json`, with a `distillation` section: teacher, its test metrics on the same split,
    student/teacher agreement, transfer-set size, teacher-logit time and the measured speed-up."""
    start = time.time()
    # 1. Cheap checks: arguments, teacher config and tokenizer, unlabelled file; then the labels, before long work.
    check_train_options_distill_lacks(training_args)
    resume = check_inputs(model_args, data_args, training_args)
    distill_args.check()
    replacement = _replacement(distill_args, model_args)
    if data_args.streaming:
        raise ValueError("distillation needs the training texts in memory: --streaming is not supported")
    if distill_args.unlabelled_file:
        check_unlabelled_file(distill_args.unlabelled_file)
    teacher_config = check_teacher(distill_args.teacher, distill_args.teacher_trust_remote_code)
    raw, labels, data_columns = load_splits(data_args)
    # The students were measured with the long recipe's values; `--recipe short` gives them the short one.
    model_args, training_args = apply_recipe(model_args, training_args, raw["train"], data_args, auto_short=False)
    check_validation_split(raw, training_args, "gru-hf distill")
    check_metric_for_best_model(training_args, labels.problem_type)
    columns = match_teacher_labels(teacher_config, labels, distill_args.teacher)
    unlabelled = None
    if distill_args.unlabelled_file:
        unlabelled = read_unlabelled_texts(distill_args.unlabelled_file, distill_args.unlabelled_text_column)

    # 2. The train job's data stage, then the transfer set and its teacher logits (cached).
    data = prepare_data(model_args, data_args, raw, labels, resume)
    augment_seed = training_args.seed if distill_args.augment_seed is None else distill_args.augment_seed
    texts, transfer_labels, sizes = build_transfer_set(data, distill_args, replacement, augment_seed, unlabelled)
    logger.info("transfer set: %s", sizes)
    teacher, cache = _load_teacher(distill_args)
    logit_start = time.time()
    with training_args.main_process_first(desc="teacher logits"):  # other processes then read them from the cache
        logits, computed = cached_teacher_logits(
            teacher, texts, cache, distill_args.teacher_batch_size, unk_token=data.tokenizer.unk_token
        )
    logit_seconds = time.time() - logit_start
    transfer = Dataset.from_dict(
        {"text": texts, "labels": transfer_labels, TEACHER_COLUMN: _in_dataset_order(logits, columns).tolist()},
        features=Features(
            {"text": Value("string"), "labels": Value("int64"), TEACHER_COLUMN: Sequence(Value("float32"))}
        ),
    )
    data.tokenized["train"] = tokenize_splits({"train": transfer}, data.tokenizer)["train"]

    # 3. The train job's model, Trainer (with the distillation loss), training and evaluation stages.
    model, coverage = build_model(model_args, data, seed=training_args.seed)
    if resume:
        check_resume_matches(resume, model.config)
    else:
        remove_previous_run_files(training_args)
    card = model_card_data(data_args, training_args, raw, data_columns)
    callbacks = [*(callbacks or []), ModelCardCallback(card, model_args, data_args, distill_args)]
    trainer = build_trainer(
        model,
        job_arguments(training_args, labels.problem_type),
        data,
        callbacks,
        trainer_class=DistillationTrainer,
        distill_alpha=distill_args.distill_alpha,
        distill_loss=distill_args.distill_loss,
        distill_temperature=distill_args.distill_temperature,
    )
    train_result = trainer.train(resume_from_checkpoint=resume)
    trainer.save_model()
    results, confusion = evaluate_splits(trainer, data)
    results["train_runtime_s"] = round(train_result.metrics.get("train_runtime", 0.0), 2)

    # 4. The teacher on the same evaluation split, agreement, speed.
    facts = _teacher_facts(trainer, data, teacher, cache, columns, distill_args, sizes, replacement, augment_seed)
    facts.update({"teacher_texts_computed": computed, "teacher_logits_s": round(logit_seconds, 2)})
    results["distillation"] = facts
    split = facts["split"]
    card.teacher = TeacherFacts(
        name=distill_args.teacher,
        test_metrics=metric_values(facts[f"teacher_{split}_metrics"], f"{split}_"),
        agreement=facts[f"agreement_{split}"],
        transfer_set_size=sizes["total"],
        speedup=facts.get("speed", {}).get("speedup"),
        split=split,
    )
    record_results(card, results, confusion, coverage, model_args, data, start)
    save_and_publish(trainer, training_args, results)
    return results


def _load_teacher(distill_args: DistillArguments):
    from .teacher import Teacher

    teacher = Teacher(
        distill_args.teacher,
        trust_remote_code=distill_args.teacher_trust_remote_code,
        max_length=distill_args.teacher_max_seq_length,
        device="cuda" if torch.cuda.is_available() else None,
    )
    revision = getattr(teacher.model.config, "_commit_hash", None)
    key = teacher_key(teacher.path, teacher.max_length, name=distill_args.teacher, revision=revision)
    return teacher, LogitCache(distill_args.teacher_cache_dir or default_cache_dir(), key)


def _in_dataset_order(logits: np.ndarray, columns: TeacherLabels) -> np.ndarray:
    return logits[:, columns.columns]


def _teacher_facts(trainer, data, teacher, cache, columns, distill_args, sizes, replacement, augment_seed) -> dict:
    split = "test" if "test" in data.raw else "validation"
    texts = list(data.raw[split]["text"])
    gold = np.array(data.raw[split]["labels"])
    teacher_logits, _ = cached_teacher_logits(teacher, texts, cache, distill_args.teacher_batch_size)
    teacher_logits = _in_dataset_order(teacher_logits, columns)
    metrics = build_compute_metrics(data.labels.problem_type, data.labels.num_labels)((teacher_logits, gold))
    # In the split's own order: the Trainer's evaluation sampler groups by length, so its predictions are reordered.
    student_pred = _student_predictions(trainer.model, data.tokenizer, texts)
    facts = {
        "teacher": distill_args.teacher,
        "teacher_path": str(teacher.path),
        "split": split,
        f"teacher_{split}_metrics": {f"{split}_{k}": float(v) for k, v in metrics.items()},
        f"agreement_{split}": float(np.mean(student_pred == teacher_logits.argmax(-1))),
        "transfer_set": sizes,
        "augment_replacement": replacement if distill_args.augment_factor else None,
        "augment_factor": distill_args.augment_factor,
        "augment_seed": augment_seed if distill_args.augment_factor else None,
        "distill_alpha": distill_args.distill_alpha,
        "distill_loss": distill_args.distill_loss,
        "distill_temperature": distill_args.distill_temperature,
        "cache_dir": cache.directory,
    }
    if distill_args.speed_texts:
        timed = texts[: distill_args.speed_texts]
        student = trainer.model.to("cpu")
        teacher.model.to("cpu")
        warm = timed[:64]
        _student_sentences_per_second(student, data.tokenizer, warm)
        teacher.sentences_per_second(warm)
        student_speed, student_runs = _best_rate(
            lambda t: _student_sentences_per_second(student, data.tokenizer, t), timed
        )
        teacher_speed, teacher_runs = _best_rate(teacher.sentences_per_second, timed)
        facts["speed"] = {
            "texts": len(timed),
            "runs": {"student": student_runs, "teacher": teacher_runs},
            "batch_size": 64,
            "device": "cpu",
            "threads": torch.get_num_threads(),
            "student_sentences_per_s": round(student_speed, 1),
            "teacher_sentences_per_s": round(teacher_speed, 1),
            "speedup": round(student_speed / teacher_speed, 2),
        }
    return facts


# A rate is the best of repeated passes over the timed texts, repeated until they took this long (and twice at
# least): one pass over a few dozen texts lasts milliseconds, and single passes gave speed-ups from 3x to 99x.
SPEED_MIN_SECONDS = 1.0


def _best_rate(measure, texts: list[str], min_seconds: float = SPEED_MIN_SECONDS, min_runs: int = 2):
    """The best sentences/s of `measure(texts)` over passes that together last `min_seconds` (`min_runs` at
    least, 1,000 at most); returns the rate and the number of passes."""
    best, spent, runs = 0.0, 0.0, 0
    while (runs < min_runs or spent < min_seconds) and runs < 1000:
        rate = measure(texts)
        spent, runs, best = spent + len(texts) / rate, runs + 1, max(best, rate)
    return best, runs


__all__ = ["DISTILL_ARGUMENT_CLASSES", "DistillArguments", "build_transfer_set", "distill"]
