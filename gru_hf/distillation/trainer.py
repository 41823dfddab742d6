"""The distillation loss, in a Trainer subclass: the student stays a plain `GRUForSequenceClassification`."""

import torch
import torch.nn.functional as F

from ..training import GRUTrainer

DISTILL_LOSSES = ("mse", "kl")
TEACHER_COLUMN = "teacher_logits"


def distillation_loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    labels: torch.Tensor | None,
    alpha: float,
    kind: str = "mse",
    temperature: float = 1.0,
) -> torch.Tensor:
    """`alpha` x cross-entropy on the gold labels that are known (not -100) + (1 - alpha) x the distance between
    student and teacher logits: mean squared error on the raw logits (Tang et al.), or the KL divergence of the
    temperature-softened distributions, times temperature^2 (Hinton et al.)."""
    teacher = teacher.to(student.dtype)
    if kind == "mse":
        soft = F.mse_loss(student, teacher)
    elif kind == "kl":
        soft = F.kl_div(
            F.log_softmax(student / temperature, dim=-1),
            F.log_softmax(teacher / temperature, dim=-1),
            log_target=True,
            reduction="batchmean",
        ) * (temperature**2)
    else:
        raise ValueError(f"--distill_loss must be one of {', '.join(DISTILL_LOSSES)}, got {kind!r}")
    if alpha == 0 or labels is None:
        return soft
    labels = labels.view(-1)
    known = labels != -100
    hard = F.cross_entropy(student[known], labels[known]) if known.any() else student.sum() * 0.0
    return alpha * hard + (1 - alpha) * soft


class DistillationTrainer(GRUTrainer):
    """`GRUTrainer` whose training loss uses the `teacher_logits` column (already in the dataset's label order).
    Batches without that column (validation, test) get the model's own loss."""

    def __init__(self, *args, distill_alpha: float = 0.0, distill_loss: str = "mse", distill_temperature=1.0, **kw):
        super().__init__(*args, **kw)
        self.distill_alpha = distill_alpha
        self.distill_loss = distill_loss
        self.distill_temperature = distill_temperature

    def _set_signature_columns_if_needed(self):
        super()._set_signature_columns_if_needed()
        if TEACHER_COLUMN not in self._signature_columns:
            self._signature_columns.append(TEACHER_COLUMN)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        teacher = inputs.pop(TEACHER_COLUMN, None)
        if teacher is None:
            return super().compute_loss(model, inputs, return_outputs=return_outputs)
        labels = inputs.pop("labels", None)
        outputs = model(**inputs)
        loss = distillation_loss(
            outputs.logits, teacher, labels, self.distill_alpha, self.distill_loss, self.distill_temperature
        )
        return (loss, outputs) if return_outputs else loss


__all__ = ["DISTILL_LOSSES", "DistillationTrainer", "TEACHER_COLUMN", "distillation_loss"]
