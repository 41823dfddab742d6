"""gru-hf: a small, fast GRU text classifier that is a native Hugging Face Transformers model.

`import gru_hf` registers `GRUConfig`, `GRUModel` and `GRUForSequenceClassification` with `AutoConfig`, `AutoModel`
and `AutoModelForSequenceClassification` (see `gru_hf.auto`), so `from_pretrained` and `pipeline` load gru-hf
directories without `trust_remote_code`.

Two kinds of process defer that registration (it imports torch, the cost of `import gru_hf`) until a public name is
first used: the `gru-hf` command, which registers only for the commands that load a model (`gru-hf --help` and
`gru-hf predict --onnx` never import torch), and a process without torch, where `gru_hf.onnx.OnnxClassifier` still
serves an exported model.
"""

import importlib.util
import os
import sys

__version__ = "0.1.0"

__all__ = [
    "GRUConfig",
    "GRUForSequenceClassification",
    "GRUModel",
    "GRUPreTrainedModel",
    "GRUTokenizerFast",
    "train_tokenizer",
    "__version__",
]
_PUBLIC = frozenset(__all__) - {"__version__"}


def _defers_registration() -> bool:
    """True in the `gru-hf` console script and where torch cannot be imported."""
    script = os.path.splitext(os.path.basename(sys.argv[0] if sys.argv else ""))[0]
    return script == "gru-hf" or importlib.util.find_spec("torch") is None


def __getattr__(name: str):
    if name in _PUBLIC:
        from . import auto  # registers the Auto classes

        return getattr(auto, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if not _defers_registration():
    from .auto import (  # noqa: E402  (registers the Auto classes)
        GRUConfig,
        GRUForSequenceClassification,
        GRUModel,
        GRUPreTrainedModel,
        GRUTokenizerFast,
        train_tokenizer,
    )
