"""The Hub model card (`README.md`) of a trained gru-hf model directory, with its training curves and confusion
matrix: typed card data (`card_data`), filled during training by `ModelCardCallback` (`callback`), rendered from
`template.md` with `huggingface_hub.ModelCard` (`render`), pictures drawn by `plots`.

A job fills a `GRUModelCardData`, gives the Trainer a `ModelCardCallback` over it, sets what only it knows (test
metrics, confusion, vectors) after evaluation, then calls `write_model_card(output_dir, card_data)`.
"""

from .callback import ModelCardCallback, argument_groups, non_default_arguments
from .card_data import (
    Confusion,
    DatasetFacts,
    GRUModelCardData,
    SearchFacts,
    SearchTrial,
    TeacherFacts,
    VectorsFacts,
)
from .plots import plot_confusion_matrix, plot_training_curves
from .render import CARD_NAME, card_metadata, write_model_card

__all__ = [
    "CARD_NAME",
    "Confusion",
    "DatasetFacts",
    "GRUModelCardData",
    "ModelCardCallback",
    "SearchFacts",
    "SearchTrial",
    "TeacherFacts",
    "VectorsFacts",
    "argument_groups",
    "card_metadata",
    "non_default_arguments",
    "plot_confusion_matrix",
    "plot_training_curves",
    "write_model_card",
]
