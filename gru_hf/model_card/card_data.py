"""The facts a model card shows, as typed data: filled by the training job and `ModelCardCallback`, rendered by
`write_model_card`. A fact left at `None` is shown in the card as an HTML comment (or its section is left out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..configuration_gru import GRUConfig
    from ..vectors import VectorCoverage


@dataclass
class DatasetFacts:
    """The training data: `name` as the user gave it (file or Hub id), `hub_id` only for a Hub dataset, the size of
    each split (`None` for a streamed one) and the columns read."""

    name: str
    hub_id: str | None = None
    config: str | None = None
    splits: dict[str, int | None] = field(default_factory=dict)
    text_column: str = "text"
    label_column: str = "label"


@dataclass
class VectorsFacts:
    """The pretrained word vectors the embeddings started from: their `coverage` of the vocabulary, whether they
    were `frozen`, and how many `extra_words` of the vectors file joined the vocabulary."""

    coverage: VectorCoverage
    frozen: bool = False
    extra_words: int = 0


@dataclass
class Confusion:
    """Test-split label ids, true and predicted, of a single-label model; `labels` names the ids in order."""

    labels: list[str]
    y_true: list[int]
    y_pred: list[int]


@dataclass
class TeacherFacts:
    """The teacher of a distilled model: its name (Hub id or path), its test metrics (same keys as the student's),
    the share of test texts on which student and teacher agree, the size of the transfer set, and how many times
    faster the student is. `split` names the split these were measured on: "test", or "validation" when the data
    had no test split (`test_metrics` then holds the validation metrics)."""

    name: str
    test_metrics: dict[str, float] = field(default_factory=dict)
    agreement: float | None = None
    transfer_set_size: int | None = None
    speedup: float | None = None
    split: str = "test"


@dataclass
class SearchTrial:
    """One trial of a hyperparameter search: the values tried and the score reached (`None`: pruned or failed)."""

    number: int
    values: dict[str, Any]
    score: float | None = None


@dataclass
class SearchFacts:
    """A hyperparameter search: the `metric` it optimised (`direction` "maximize" or "minimize"), its trials,
    the values it chose (those of trial `chosen_trial`) and why (`reason`)."""

    metric: str
    direction: str
    trials: list[SearchTrial]
    chosen: dict[str, Any]
    chosen_trial: int | None = None
    reason: str | None = None

    @property
    def best_score(self) -> float | None:
        scores = [trial.score for trial in self.trials if trial.score is not None]
        if not scores:
            return None
        return max(scores) if self.direction == "maximize" else min(scores)


@dataclass
class GRUModelCardData:
    """Everything the model card of one trained gru-hf model says.

    `model_name` names the model where it has no Hub id (the output directory's name). `config` gives the task,
    labels and architecture. `hyperparameters` maps a group ("tokenizer", "training") to its values; the model's
    come from `config`. `non_default_hyperparameters` is `None` when unknown, `{}` when all are defaults.
    `log_history` is the Trainer's log of the run (without the evaluations after it).
    """

    model_name: str
    config: GRUConfig | None = None
    hub_model_id: str | None = None
    license: str | None = None
    dataset: DatasetFacts | None = None
    test_metrics: dict[str, float] = field(default_factory=dict)
    validation_metrics: dict[str, float] = field(default_factory=dict)
    hyperparameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    non_default_hyperparameters: dict[str, Any] | None = None
    vectors: VectorsFacts | None = None
    log_history: list[dict[str, Any]] = field(default_factory=list)
    confusion: Confusion | None = None
    num_parameters: int | None = None
    train_runtime_s: float | None = None
    total_runtime_s: float | None = None
    hardware: str | None = None
    command: str | None = None
    teacher: TeacherFacts | None = None
    search: SearchFacts | None = None

    @property
    def model_id(self) -> str:
        """The name the card's title and usage examples load the model by."""
        return self.hub_model_id or self.model_name


__all__ = [
    "Confusion",
    "DatasetFacts",
    "GRUModelCardData",
    "SearchFacts",
    "SearchTrial",
    "TeacherFacts",
    "VectorsFacts",
]
