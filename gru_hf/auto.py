"""Registration with the Auto classes. Importing this module (which `import gru_hf` does) registers `GRUConfig`,
`GRUModel` and `GRUForSequenceClassification` with `AutoConfig`, `AutoModel` and
`AutoModelForSequenceClassification`, and marks the model classes so that `save_pretrained` copies their code next
to the weights (loadable with `trust_remote_code=True` where gru_hf is not installed).

transformers' `PretrainedConfig` imports torch, so this is the part of `import gru_hf` that costs seconds."""

import os

from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

from .configuration_gru import GRUConfig
from .modeling_gru import GRUForSequenceClassification, GRUModel, GRUPreTrainedModel
from .tokenization_gru import GRUTokenizerFast, train_tokenizer  # noqa: F401  (public through gru_hf)

AutoConfig.register(GRUConfig.model_type, GRUConfig, exist_ok=True)
AutoModel.register(GRUConfig, GRUModel, exist_ok=True)
AutoModelForSequenceClassification.register(GRUConfig, GRUForSequenceClassification, exist_ok=True)
GRUConfig.register_for_auto_class("AutoConfig")
GRUModel.register_for_auto_class("AutoModel")
GRUForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")


def _check_safetensors_header(path: str) -> None:
    """Raise a one-line `OSError` naming `path` when its safetensors header (8-byte little-endian length, then
    that many bytes of JSON whose offsets must lie inside the file) is truncated or corrupt."""
    import json

    size = os.path.getsize(path)
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise ValueError("shorter than the 8-byte header length")
            length = int.from_bytes(head, "little")
            if length > size - 8:
                raise ValueError(f"header of {length} bytes, but the file has {size} bytes")
            header = json.loads(f.read(length))
        end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
        if 8 + length + end > size:
            raise ValueError(f"tensors end at byte {8 + length + end}, but the file has {size} bytes")
    except (ValueError, KeyError, TypeError, IndexError, AttributeError) as err:
        raise OSError(f"{path} is truncated or corrupt: {err}") from None


if not getattr(GRUPreTrainedModel.from_pretrained, "_checks_weights_file", False):
    _from_pretrained = GRUPreTrainedModel.from_pretrained.__func__

    def _checked_from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        weights = os.path.join(str(pretrained_model_name_or_path), "model.safetensors")
        if os.path.isfile(weights):
            _check_safetensors_header(weights)
        return _from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs)

    _checked_from_pretrained._checks_weights_file = True
    # Loading a local directory with a damaged model.safetensors names the file (safetensors' own error does not).
    GRUPreTrainedModel.from_pretrained = classmethod(_checked_from_pretrained)

REGISTERED = True  # read by gru_hf/__init__.py: this module ran to the end
