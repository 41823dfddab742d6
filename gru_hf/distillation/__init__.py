"""Distillation: fine-tune a transformer teacher (`gru-hf teacher`), then train a plain gru-hf student on its
logits over an augmented transfer set (`gru-hf distill`), after Tang et al. 2019, "Distilling Task-Specific
Knowledge from BERT into Simple Neural Networks".

From Python: `distill(ModelArguments(), DataArguments(train_file=...), GRUTrainingArguments(output_dir=...),
DistillArguments(teacher="outputs/teacher"))`, with the argument classes of `gru_hf.training`, `gru_hf.data` and
this package.
"""

from .augment import Augmenter, AugmentSettings, WordSplitter
from .cache import LogitCache, cached_teacher_logits, teacher_key, text_hash
from .job import DISTILL_ARGUMENT_CLASSES, DistillArguments, build_transfer_set, distill
from .labels import MINILM_NAME, TeacherLabels, check_teacher, match_teacher_labels, resolve_model_path
from .teacher import TEACHER_ARGUMENT_CLASSES, Teacher, TeacherArguments, TeacherTrainingArguments, train_teacher
from .trainer import DistillationTrainer, distillation_loss
from .unlabelled import read_unlabelled_texts

__all__ = [
    "AugmentSettings",
    "Augmenter",
    "DISTILL_ARGUMENT_CLASSES",
    "DistillArguments",
    "DistillationTrainer",
    "LogitCache",
    "MINILM_NAME",
    "TEACHER_ARGUMENT_CLASSES",
    "Teacher",
    "TeacherArguments",
    "TeacherLabels",
    "TeacherTrainingArguments",
    "WordSplitter",
    "build_transfer_set",
    "cached_teacher_logits",
    "check_teacher",
    "distill",
    "distillation_loss",
    "match_teacher_labels",
    "read_unlabelled_texts",
    "resolve_model_path",
    "teacher_key",
    "text_hash",
    "train_teacher",
]
