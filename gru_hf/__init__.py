"""gru-hf: a small, fast GRU text classifier that is a native Hugging Face Transformers model.

Importing the package registers `GRUConfig`, `GRUModel` and `GRUForSequenceClassification` with `AutoConfig`,
`AutoModel` and `AutoModelForSequenceClassification`, and marks the model classes so that `save_pretrained` copies
their code next to the weights (loadable with `trust_remote_code=True` where gru_hf is not installed).
"""

from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

from .configuration_gru import GRUConfig
from .modeling_gru import GRUForSequenceClassification, GRUModel, GRUPreTrainedModel
from .tokenization_gru import GRUTokenizerFast, train_tokenizer

__version__ = "0.1.0"

AutoConfig.register(GRUConfig.model_type, GRUConfig, exist_ok=True)
AutoModel.register(GRUConfig, GRUModel, exist_ok=True)
AutoModelForSequenceClassification.register(GRUConfig, GRUForSequenceClassification, exist_ok=True)
GRUConfig.register_for_auto_class("AutoConfig")
GRUModel.register_for_auto_class("AutoModel")
GRUForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")

__all__ = [
    "GRUConfig",
    "GRUForSequenceClassification",
    "GRUModel",
    "GRUPreTrainedModel",
    "GRUTokenizerFast",
    "train_tokenizer",
    "__version__",
]
