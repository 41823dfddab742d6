"""ONNX export of a gru-hf classifier (`gru-hf export`), int8 quantization, and `OnnxClassifier`, a runtime that
needs only onnxruntime, numpy and `tokenizers` (never torch).

The model's packed-sequence path does not export. `ExportableGRUClassifier` computes the same logits on a padded
batch with the model's own parameters: each row's real tokens are moved to the front (a scatter to
`cumsum(mask) - 1`), the forward direction reads its state at the last real token, the backward direction runs on a
per-row reversal of the real tokens, and pooling sees only real tokens.
"""

import contextlib
import json
import logging
import os
import shutil
import tempfile
import warnings

QUANTIZE_MODES = ("int8",)
DEFAULT_OPSET = 17


def _pool(pooling, x, finals, real, lengths):
    """The sentence vector from masked states `x` (batch, seq_len, output_size), right-padded `real` mask."""
    import torch

    empty = (lengths == 0).unsqueeze(-1)
    if pooling == "last":
        return torch.cat(finals, dim=-1).masked_fill(empty, 0.0)
    if pooling == "mean":
        return x.sum(dim=1) / lengths.clamp(min=1).unsqueeze(-1).to(x.dtype)
    return x.masked_fill(~real.unsqueeze(-1), float("-inf")).max(dim=1).values.masked_fill(empty, 0.0)


def _exportable(model):
    import torch
    from torch import nn

    class ExportableGRUClassifier(nn.Module):
        """Padded, export-friendly twin of `GRUForSequenceClassification.forward` (eval mode), sharing its
        parameters."""

        def __init__(self, classifier):
            super().__init__()
            config = classifier.config
            self.pooling = config.pooling
            self.num_layers = config.num_hidden_layers
            self.bidirectional = config.bidirectional
            self.hidden = config.hidden_size
            self.pad_token_id = config.pad_token_id
            self.embeddings = classifier.model.embeddings
            self.classifier = classifier.classifier
            gru = classifier.model.gru
            self.cells = nn.ModuleList()
            for layer in range(self.num_layers):
                for suffix in ("", "_reverse") if self.bidirectional else ("",):
                    size = config.embedding_dim if layer == 0 else config.output_size
                    cell = nn.GRU(size, self.hidden, num_layers=1, batch_first=True)
                    for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                        setattr(cell, f"{kind}_l0", getattr(gru, f"{kind}_l{layer}{suffix}"))
                    self.cells.append(cell)

        def forward(self, input_ids, attention_mask):
            # One trailing padding column: texts that tokenise to nothing still give the GRU one step.
            input_ids = torch.nn.functional.pad(input_ids, (0, 1), value=self.pad_token_id)
            mask = torch.nn.functional.pad(attention_mask, (0, 1), value=0) > 0
            seq_len = input_ids.shape[1]
            lengths = mask.sum(dim=1)
            maskl = mask.long()
            # Right padding, keeping token order: real tokens go to cumsum-1, padding after them.
            dest = torch.where(mask, maskl.cumsum(1) - 1, lengths.unsqueeze(1) + (1 - maskl).cumsum(1) - 1)
            ids = torch.zeros_like(input_ids).scatter(1, dest, input_ids)
            positions = torch.arange(seq_len, device=ids.device).unsqueeze(0)
            real = positions < lengths.unsqueeze(1)  # (batch, seq_len), right-padded
            keep = real.unsqueeze(-1).to(torch.float32)
            # Per-row reversal of the real tokens (padding stays in place); it is its own inverse.
            reverse = torch.where(real, lengths.unsqueeze(1) - 1 - positions, positions)
            x = self.embeddings(ids)
            finals = []
            for layer in range(self.num_layers):
                directions = 2 if self.bidirectional else 1
                outputs = []
                for direction in range(directions):
                    cell = self.cells[layer * directions + direction]
                    if direction == 0:
                        states, _ = cell(x)
                        if layer == self.num_layers - 1:
                            index = (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, self.hidden)
                            finals.append(states.gather(1, index).squeeze(1))
                    else:
                        index = reverse.unsqueeze(-1).expand(-1, -1, x.shape[-1])
                        states, _ = cell(x.gather(1, index))
                        if layer == self.num_layers - 1:
                            finals.append(
                                states.gather(
                                    1, (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, self.hidden)
                                ).squeeze(1)
                            )
                        states = states.gather(1, reverse.unsqueeze(-1).expand(-1, -1, self.hidden))
                    outputs.append(states)
                x = torch.cat(outputs, dim=-1) * keep
            pooled = _pool(self.pooling, x, finals, real, lengths)
            return self.classifier(pooled)

    return ExportableGRUClassifier(model).eval()


def exportable_model(model):
    """The export wrapper of a loaded `GRUForSequenceClassification`: `wrapper(input_ids, attention_mask)` ->
    logits, equal to `model(...).logits` in eval mode."""
    return _exportable(model)


def export(directory: str | os.PathLike, quantize: str | None = None, opset: int = DEFAULT_OPSET) -> dict[str, str]:
    """Write `directory/onnx/model.onnx` (and `model_quantized.onnx` with `quantize="int8"`). The files are
    written to a temporary folder next to `onnx/` and moved in only when complete. Returns the written paths."""
    from .model_dir import EXPORT_RECORD, check_model_directory, source_digests

    if quantize is not None and quantize not in QUANTIZE_MODES:
        raise ValueError(f"unknown --quantize value {quantize!r}: choose from {', '.join(QUANTIZE_MODES)}")
    check_model_directory(directory)
    directory = os.fspath(directory)
    target = os.path.join(directory, "onnx")
    if not os.access(directory, os.W_OK):
        raise PermissionError(f"cannot write the export into {directory}: the directory is not writable")

    import torch
    from transformers.utils import logging as hf_logging

    from . import GRUForSequenceClassification

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a "Loading weights" bar for a dozen tensors says nothing
    try:
        model = GRUForSequenceClassification.from_pretrained(directory).float().eval()
    finally:
        if shown:
            hf_logging.enable_progress_bar()
    wrapper = _exportable(model)
    work = tempfile.mkdtemp(prefix=".onnx-", dir=directory)
    try:
        path = os.path.join(work, "model.onnx")
        ids = torch.tensor([[2, 3, 4], [2, 0, 0]], dtype=torch.long).clamp(max=model.config.vocab_size - 1)
        mask = torch.tensor([[1, 1, 1], [1, 0, 0]], dtype=torch.long)
        # torch's exporter warns about GRU batch sizes and constant folding of Slice; the tests prove the graph's
        # logits for every batch size and padding, so those warnings would only mislead.
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            torch.onnx.export(
                wrapper,
                (ids, mask),
                path,
                input_names=["input_ids", "attention_mask"],
                output_names=["logits"],
                dynamic_axes={
                    "input_ids": {0: "batch", 1: "sequence"},
                    "attention_mask": {0: "batch", 1: "sequence"},
                    "logits": {0: "batch"},
                },
                opset_version=opset,
                dynamo=False,
            )
        if quantize == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            with _quiet_root_logger():  # "consider pre-processing" and shape-inference notes, logged per tensor
                quantize_dynamic(
                    path, os.path.join(work, "model_quantized.onnx"), weight_type=QuantType.QInt8, per_channel=False
                )
        record = {"sources": source_digests(directory), "opset": opset, "quantize": quantize}
        with open(os.path.join(work, os.path.basename(EXPORT_RECORD)), "w", encoding="utf-8") as f:
            json.dump(record, f, indent=2)
        old = None
        if os.path.exists(target):
            old = target + ".old"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(work, target)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return {name: os.path.join(target, name) for name in sorted(os.listdir(target))}


@contextlib.contextmanager
def _quiet_root_logger():
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def _softmax(x):
    import numpy as np

    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class OnnxClassifier:
    """Text in, `{"label", "score"}` dicts out, like `pipeline("text-classification")`, on an exported model.

    Needs onnxruntime, numpy and tokenizers only."""

    def __init__(self, directory, session, tokenizer, config, max_length):
        self.directory = directory
        self.session = session
        self.tokenizer = tokenizer
        self.id2label = {int(k): v for k, v in config.get("id2label", {}).items()}
        self.num_labels = len(self.id2label) or 2
        self.problem_type = config.get("problem_type")
        self.max_length = max_length
        self.pad_id = int(config.get("pad_token_id", 0) or 0)

    @classmethod
    def from_pretrained(cls, directory, quantized: bool = False, threads: int | None = None):
        import onnxruntime
        from tokenizers import Tokenizer

        from .model_dir import check_onnx_directory

        directory = os.fspath(directory)
        path, config = check_onnx_directory(directory, quantized=quantized)
        max_length = 512
        tokenizer_config = os.path.join(directory, "tokenizer_config.json")
        if os.path.isfile(tokenizer_config):
            with open(tokenizer_config, encoding="utf-8") as f:
                max_length = int(json.load(f).get("model_max_length", max_length))
        tokenizer = Tokenizer.from_file(os.path.join(directory, "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or min(os.cpu_count() or 1, 4)
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        return cls(directory, session, tokenizer, config, max_length)

    def logits(self, texts: list[str], batch_size: int = 64):
        import numpy as np

        encodings = self.tokenizer.encode_batch(list(texts), add_special_tokens=True)
        ids = [e.ids for e in encodings]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # length-sorted batches: little padding
        out = np.zeros((len(ids), self.num_labels), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(1, max(len(ids[i]) for i in rows))
            input_ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                input_ids[r, : len(ids[i])] = ids[i]
                mask[r, : len(ids[i])] = 1
            out[rows] = self.session.run(["logits"], {"input_ids": input_ids, "attention_mask": mask})[0]
        return out

    def __call__(self, texts, top_k: int | None = 1, function_to_apply: str | None = None, batch_size: int = 64):
        import numpy as np

        single = isinstance(texts, str)
        logits = self.logits([texts] if single else texts, batch_size=batch_size)
        if function_to_apply is None:
            if self.problem_type == "regression":
                function_to_apply = "none"
            elif self.problem_type == "multi_label_classification" or self.num_labels == 1:
                function_to_apply = "sigmoid"
            else:
                function_to_apply = "softmax"
        if function_to_apply == "softmax":
            scores = _softmax(logits)
        elif function_to_apply == "sigmoid":
            scores = 1.0 / (1.0 + np.exp(-logits))
        elif function_to_apply == "none":
            scores = logits
        else:
            raise ValueError(f"unknown function_to_apply {function_to_apply!r}: use softmax, sigmoid or none")
        results = []
        for row in scores:
            ranked = np.argsort(-row, kind="stable")
            if top_k == 1:
                i = int(ranked[0])
                results.append({"label": self.id2label.get(i, f"LABEL_{i}"), "score": float(row[i])})
            else:
                keep = ranked if top_k is None else ranked[:top_k]
                results.append(
                    [{"label": self.id2label.get(int(i), f"LABEL_{i}"), "score": float(row[i])} for i in keep]
                )
        # As the pipeline: one string and top_k=1 -> a one-item list; one string and several labels -> the list.
        if single:
            return results if top_k == 1 else results[0]
        return results


__all__ = ["DEFAULT_OPSET", "QUANTIZE_MODES", "OnnxClassifier", "export", "exportable_model"]
