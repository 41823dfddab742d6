"""GRU text classifier configuration.

This file travels to the Hub with saved models (remote code): it imports only transformers.
"""

from transformers import PretrainedConfig

POOLING_MODES = ("last", "mean", "max", "max_mean")

AUTO_MAP = {
    "AutoConfig": "configuration_gru.GRUConfig",
    "AutoModel": "modeling_gru.GRUModel",
    "AutoModelForSequenceClassification": "modeling_gru.GRUForSequenceClassification",
}


# The problem types of transformers' sequence-classification heads; the one list the package uses.
PROBLEM_TYPES = ("single_label_classification", "multi_label_classification", "regression")


class GRUConfig(PretrainedConfig):
    r"""
    Configuration of a [`GRUModel`] or [`GRUForSequenceClassification`]: token embeddings, a (bi)directional
    multi-layer GRU that never reads padding, a pooling of its states into one sentence vector, and a linear
    classifier.

    Args:
        vocab_size (`int`, *optional*, defaults to 20000):
            Number of tokens in the vocabulary (rows of the embedding matrix).
        embedding_dim (`int`, *optional*, defaults to 100):
            Size of the token embeddings (50, 100, 200 or 300 to match GloVe vectors).
        hidden_size (`int`, *optional*, defaults to 128):
            Size of the GRU state, per direction. The seed's name `hidden_dim` is accepted.
        num_hidden_layers (`int`, *optional*, defaults to 1):
            Number of stacked GRU layers. The seed's name `n_layers` is accepted.
        bidirectional (`bool`, *optional*, defaults to `True`):
            Whether each layer also reads the text right to left; the sentence vector then has `2 * hidden_size`
            values.
        embedding_dropout (`float`, *optional*, defaults to 0.25):
            Dropout applied to the token embeddings.
        hidden_dropout (`float`, *optional*, defaults to 0.0):
            Dropout applied between stacked GRU layers (no effect with one layer).
        classifier_dropout (`float`, *optional*, defaults to 0.25):
            Dropout applied to the sentence vector before the classifier.
        pooling (`str`, *optional*, defaults to `"max"`):
            How the per-token states become one sentence vector: `"last"` (final state of each direction, taken at
            each text's last real token), `"mean"` or `"max"` over the real tokens, or `"max_mean"`: the max and the
            mean side by side (a sentence vector of twice the size).
        pad_token_id (`int`, *optional*, defaults to 0):
            Id of the padding token; its embedding is zero and receives no gradient.
        initializer_range (`float`, *optional*, defaults to 0.1):
            Standard deviation of the normal initialisation of the embeddings and the classifier.
        num_labels (`int`, *optional*, defaults to 2):
            Number of classes; set `id2label` instead to name them. The seed's name `output_dim` is accepted.

    Examples:

    ```python
    >>> from gru_hf import GRUConfig, GRUForSequenceClassification
    >>> config = GRUConfig(vocab_size=1000, hidden_dim=64, id2label={0: "neg", 1: "pos"})
    >>> config.hidden_size, config.num_labels
    (64, 2)
    >>> model = GRUForSequenceClassification(config)
    >>> model.config.model_type
    'gru_hf'
    ```"""

    model_type = "gru_hf"
    attribute_map = {"hidden_dim": "hidden_size", "n_layers": "num_hidden_layers"}

    def __init__(
        self,
        vocab_size: int = 20000,
        embedding_dim: int = 100,
        hidden_size: int = 128,
        num_hidden_layers: int = 1,
        bidirectional: bool = True,
        embedding_dropout: float = 0.25,
        hidden_dropout: float = 0.0,
        classifier_dropout: float = 0.25,
        pooling: str = "max",
        pad_token_id: int = 0,
        initializer_range: float = 0.1,
        **kwargs,
    ):
        # The seed's names; `output_dim` maps onto the base config's num_labels, which must go through kwargs.
        if "output_dim" in kwargs:
            output_dim = kwargs.pop("output_dim")
            if "id2label" not in kwargs and "num_labels" not in kwargs:
                kwargs["num_labels"] = output_dim
        hidden_size = kwargs.pop("hidden_dim", hidden_size)
        num_hidden_layers = kwargs.pop("n_layers", num_hidden_layers)
        kwargs.setdefault("auto_map", dict(AUTO_MAP))
        if kwargs.get("id2label") and not kwargs.get("label2id"):
            kwargs["label2id"] = {label: int(i) for i, label in kwargs["id2label"].items()}

        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.bidirectional = bidirectional
        self.embedding_dropout = embedding_dropout
        self.hidden_dropout = hidden_dropout
        self.classifier_dropout = classifier_dropout
        self.pooling = pooling
        self.initializer_range = initializer_range
        super().__init__(pad_token_id=pad_token_id, **kwargs)
        self.validate_fields()

    def validate_fields(self):
        """Raise a `ValueError` naming the first field whose value is out of range."""
        for name in ("vocab_size", "embedding_dim", "hidden_size", "num_hidden_layers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"GRUConfig.{name} must be a positive integer, got {value!r}")
        if not isinstance(self.bidirectional, bool):
            raise ValueError(f"GRUConfig.bidirectional must be True or False, got {self.bidirectional!r}")
        for name in ("embedding_dropout", "hidden_dropout", "classifier_dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ValueError(f"GRUConfig.{name} must be a probability in [0, 1), got {value!r}")
        if self.pooling not in POOLING_MODES:
            raise ValueError(f"GRUConfig.pooling must be one of {', '.join(POOLING_MODES)}, got {self.pooling!r}")
        pad = self.pad_token_id
        if isinstance(pad, bool) or not isinstance(pad, int) or not 0 <= pad < self.vocab_size:
            raise ValueError(
                f"GRUConfig.pad_token_id must be an integer in [0, vocab_size={self.vocab_size}), got {pad!r}"
            )
        value = self.initializer_range
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"GRUConfig.initializer_range must be a positive number, got {value!r}")
        if self.num_labels < 1:
            raise ValueError(f"GRUConfig.num_labels must be at least 1, got {self.num_labels!r}")
        if self.problem_type is not None and self.problem_type not in PROBLEM_TYPES:
            raise ValueError(
                f"GRUConfig.problem_type must be one of {', '.join(PROBLEM_TYPES)}, got {self.problem_type!r}"
            )

    @property
    def output_size(self) -> int:
        """Size of the GRU's state at each token (both directions)."""
        return self.hidden_size * (2 if self.bidirectional else 1)

    @property
    def pooled_size(self) -> int:
        """Size of the pooled sentence vector the classifier reads."""
        return self.output_size * (2 if self.pooling == "max_mean" else 1)


__all__ = ["PROBLEM_TYPES", "GRUConfig"]
