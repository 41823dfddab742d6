"""gru-hf: a small, fast GRU text classifier that is a native Hugging Face Transformers model.

After `import gru_hf`, `AutoConfig`, `AutoModel` and `AutoModelForSequenceClassification` know `GRUConfig`, `GRUModel`
and `GRUForSequenceClassification` (see `gru_hf.auto`), so `from_pretrained` and `pipeline` load gru-hf directories
without `trust_remote_code`.

The registration imports transformers' model classes and with them torch (seconds), so it happens when it can
matter: at once if transformers is already imported, otherwise right after the process first imports transformers,
or when a public name (`gru_hf.GRUConfig`, ...) is first used. A process that never imports transformers, such as
one serving an export with `gru_hf.onnx.OnnxClassifier`, or `gru-hf --help`, never imports torch.
"""

import importlib.abc
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


def __getattr__(name: str):
    if name in _PUBLIC:
        from . import auto  # registers the Auto classes

        return getattr(auto, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _try_to_register() -> bool:
    """Register now if the model classes can be imported; False where they cannot yet (no torch, or one of their
    modules is itself still being imported)."""
    try:
        from . import auto
    except ImportError:
        return False
    return getattr(auto, "REGISTERED", False)  # False while gru_hf.auto itself is still running


class _RegisterWithTransformers(importlib.abc.MetaPathFinder):
    """Until gru-hf is registered: wraps the loaders of `transformers` and of gru_hf's own modules so that, after
    each has run and once transformers is imported, the registration is tried (the first try can meet a gru_hf
    module that is half imported, when that module's own import brought transformers in)."""

    def find_spec(self, name, path=None, target=None):
        if name != "transformers" and not (name.startswith("gru_hf.") and name != "gru_hf.auto"):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _RegisteringLoader(spec.loader, self)
                return spec
        return None


class _RegisteringLoader(importlib.abc.Loader):
    def __init__(self, loader, finder):
        self.loader = loader
        self.finder = finder

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        if "transformers" in sys.modules and self.finder in sys.meta_path and _try_to_register():
            if self.finder in sys.meta_path:  # a nested import may have finished the job and removed it
                sys.meta_path.remove(self.finder)

    def __getattr__(self, name):  # is_package, get_resource_reader, ...: the wrapped loader's
        return getattr(self.loader, name)


if not ("transformers" in sys.modules and _try_to_register()):
    if not any(type(finder).__name__ == "_RegisterWithTransformers" for finder in sys.meta_path):
        sys.meta_path.insert(0, _RegisterWithTransformers())
