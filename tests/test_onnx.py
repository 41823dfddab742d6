"""ONNX export, int8 quantization and the torch-free runtime."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import NEGATIVE, POSITIVE, TEXTS, tiny_config

import gru_hf
from gru_hf.cli import main
from gru_hf.onnx import GRAPH_GROUPS, GROUP_ROWS, MIN_OPSET, OnnxClassifier, build_graph, export

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


def _batch(vocab_size, generator, rows=6, width=9):
    """Rows padded on either side, an empty text and a hole first, then random lengths (ties and empty texts
    among them)."""
    ids = torch.randint(1, vocab_size, (rows, width), generator=generator)
    lengths = torch.randint(0, width + 1, (rows,), generator=generator)
    mask = (torch.arange(width) < lengths[:, None]).long()
    mask[:5] = 1
    mask[1, 4:] = 0  # right padding
    mask[2, :5] = 0  # left padding
    mask[3] = 0  # empty text
    mask[4, 2] = 0  # a hole
    return ids * mask, mask


def _nodes(graph):
    """Every node of a graph, those of its `If` branches included."""
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                yield from _nodes(attribute.g)


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "max_mean"])
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("layers", [1, 2])
def test_onnx_equals_pytorch(tmp_path, tokenizer, pooling, bidirectional, layers):
    torch.manual_seed(0)
    config = tiny_config(tokenizer, pooling=pooling, bidirectional=bidirectional, num_hidden_layers=layers)
    model = gru_hf.GRUForSequenceClassification(config).eval()
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    # The oldest opset supported, the default and the newest onnx knows: the graph's axes inputs differ.
    opset = {("last", 1): MIN_OPSET, ("mean", 2): onnx.defs.onnx_opset_version()}.get((pooling, layers), 17)
    paths = export(tmp_path, opset=opset)
    graph = onnx.load(paths["model.onnx"]).graph
    grus = [node for node in _nodes(graph) if node.op_type == "GRU"]
    assert grus and all(
        next(a.i for a in node.attribute if a.name == "linear_before_reset") == 1 for node in grus
    )  # pytorch issue 189225: linear_before_reset=0 is a silent error
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
    assert [o.name for o in graph.output] == ["logits"]
    session = ort.InferenceSession(paths["model.onnx"], providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(1)
    # One group (up to GROUP_ROWS rows); two groups and two empty ones; four groups. Widths 9 and 21: max pooling
    # reduces chunks of POOL_STEPS steps, two and three of them.
    for rows, width in ((6, 9), (13, 9), (40, 21)):
        ids, mask = _batch(config.vocab_size, generator, rows, width)
        with torch.no_grad():
            expected = model(input_ids=ids, attention_mask=mask).logits
        got = session.run(["logits"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
        np.testing.assert_allclose(got, expected.numpy(), atol=1e-4)
        # Alone or in a batch, padded left or right: the same logits.
        for row in range(ids.shape[0]):
            n = int(mask[row].sum())
            real = ids[row][mask[row].bool()].numpy()[None]
            for pad_left in (True, False):
                padded = np.zeros((1, n + 3), dtype=np.int64)
                m = np.zeros_like(padded)
                sl = slice(3, None) if pad_left else slice(0, n)
                padded[0, sl], m[0, sl] = real, 1
                alone = session.run(["logits"], {"input_ids": padded, "attention_mask": m})[0]
                np.testing.assert_allclose(alone[0], expected[row].numpy(), atol=1e-4)


def test_length_groups_give_each_rows_own_logits_at_every_batch_size(tmp_path, tokenizer):
    """A batch of more than GROUP_ROWS rows runs in GRAPH_GROUPS groups sorted by length, and groups past the last
    row run a stand-in row: around every group boundary, in any row order, each row gets the logits of the graph
    without groups and of the model."""
    torch.manual_seed(0)
    model = gru_hf.GRUForSequenceClassification(tiny_config(tokenizer, num_hidden_layers=2)).eval()
    plain = ort.InferenceSession(build_graph(model, groups=1).SerializeToString(), providers=["CPUExecutionProvider"])
    graph = build_graph(model)
    branches = {a.name: a.g for node in graph.graph.node if node.op_type == "If" for a in node.attribute}
    assert [n.op_type for n in _nodes(branches["else_branch"])].count("GRU") == GRAPH_GROUPS * 2  # 2 layers
    assert [n.op_type for n in _nodes(branches["then_branch"])].count("GRU") == 2
    grouped = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
    generator = torch.Generator().manual_seed(2)
    for rows in (1, 2, GROUP_ROWS, GROUP_ROWS + 1, 2 * GROUP_ROWS + 1, GRAPH_GROUPS * GROUP_ROWS + 1, 101):
        ids, mask = _batch(tokenizer.vocab_size, generator, max(rows, 5), width=12)
        ids, mask = ids[:rows], mask[:rows]
        feed = {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}
        got = grouped.run(["logits"], feed)[0]
        np.testing.assert_allclose(got, plain.run(["logits"], feed)[0], atol=1e-5)
        with torch.no_grad():
            np.testing.assert_allclose(got, model(input_ids=ids, attention_mask=mask).logits.numpy(), atol=1e-4)


def test_node_order_is_restored_after_tools_shuffle_it(tokenizer):
    """onnxruntime's quantizer appends a node after the `If` that reads it; the export puts every node after the
    nodes it reads (the branches' reads of outer values included), as ONNX requires."""
    from gru_hf.onnx import _sort_nodes

    torch.manual_seed(0)
    graph = build_graph(gru_hf.GRUForSequenceClassification(tiny_config(tokenizer)).eval())
    onnx.checker.check_model(graph, full_check=True)
    expected = [node.name for node in graph.graph.node]
    shuffled = list(reversed(graph.graph.node))
    del graph.graph.node[:]
    graph.graph.node.extend(shuffled)
    with pytest.raises(onnx.checker.ValidationError, match="topologically sorted"):
        onnx.checker.check_model(graph)
    _sort_nodes(graph.graph)
    onnx.checker.check_model(graph, full_check=True)
    assert sorted(node.name for node in graph.graph.node) == sorted(expected)


def test_runtime_matches_pipeline(tiny_model_dir):
    from transformers import pipeline

    export(tiny_model_dir)
    runtime = OnnxClassifier.from_pretrained(tiny_model_dir)
    classifier = pipeline("text-classification", model=str(tiny_model_dir))
    texts = [*TEXTS, "", "unseen words only"]
    for kwargs in ({}, {"top_k": None}, {"top_k": 2}, {"function_to_apply": "sigmoid"}, {"function_to_apply": "none"}):
        got, want = runtime(texts, batch_size=3, **kwargs), classifier(texts, batch_size=3, **kwargs)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            g, w = (g, w) if isinstance(w, list) else ([g], [w])
            assert [d["label"] for d in g] == [d["label"] for d in w]
            np.testing.assert_allclose([d["score"] for d in g], [d["score"] for d in w], atol=1e-5)
    assert runtime("a good film")[0]["label"] == classifier("a good film")[0]["label"]
    assert len(runtime("a good film", top_k=None)) == 2


def _shape(result):
    """A result's structure: lists kept, each label/score dict replaced by its label."""
    return [_shape(r) for r in result] if isinstance(result, list) else result["label"]


@pytest.mark.parametrize(
    "inputs", [["a good film", "boring and bad"], "a good film", {"text": "boring and bad"}, ("a good film",)]
)
@pytest.mark.parametrize(
    "kwargs", [{}, {"top_k": 1}, {"top_k": 2}, {"top_k": None}, {"function_to_apply": "NONE", "top_k": 1}]
)
def test_runtime_results_are_shaped_as_the_pipelines(tiny_model_dir, inputs, kwargs):
    from transformers import pipeline

    if not (tiny_model_dir / "onnx").exists():
        export(tiny_model_dir)
    runtime = OnnxClassifier.from_pretrained(tiny_model_dir)
    classifier = pipeline("text-classification", model=str(tiny_model_dir))
    pipeline_inputs = list(inputs) if isinstance(inputs, tuple) else inputs
    assert _shape(runtime(inputs, **kwargs)) == _shape(classifier(pipeline_inputs, **kwargs))


@pytest.mark.parametrize(
    "inputs, message",
    [
        (None, "OnnxClassifier takes a string, a {'text': ...} dict or a list of them, got NoneType"),
        (5, "got int"),
        ([None], "input 0 is NoneType, not a string"),
        (["fine", 3], "input 1 is int, not a string"),
        ({"text": "a", "text_pair": "b"}, "is a dict with keys ['text', 'text_pair']"),
    ],
)
def test_runtime_rejects_what_is_not_text(tiny_model_dir, inputs, message):
    if not (tiny_model_dir / "onnx").exists():
        export(tiny_model_dir)
    runtime = OnnxClassifier.from_pretrained(tiny_model_dir)
    with pytest.raises(ValueError, match=re.escape(message)):
        runtime(inputs)
    with pytest.raises(ValueError, match="always truncates texts to the tokenizer's model_max_length"):
        runtime("a good film", truncation=False)


def test_runtime_groups_rows_by_length_without_changing_logits(tiny_model_dir):
    """The runtime runs the graph on small groups of similar length (`rows_per_run`); the logits are each text's
    own, in the caller's order, whatever the group size."""
    export(tiny_model_dir)
    runtime = OnnxClassifier.from_pretrained(tiny_model_dir)
    texts = [" ".join(TEXTS[: 1 + i % len(TEXTS)]) for i in range(30)] + ["", "a"]
    grouped = runtime.logits(texts, batch_size=64)
    alone = np.concatenate([runtime.logits([text]) for text in texts])
    np.testing.assert_allclose(grouped, alone, atol=1e-5)
    runtime.rows_per_run = 64
    np.testing.assert_allclose(runtime.logits(texts, batch_size=64), alone, atol=1e-5)
    assert len({len(ids) for ids in runtime.encode(texts)}) > 3  # several lengths, so groups had different widths


def test_runtime_never_imports_torch(tiny_model_dir):
    """In a process where `import torch` fails, `import gru_hf` and the runtime still serve the export; the model
    classes then raise an ImportError naming torch."""
    export(tiny_model_dir)
    code = (
        "import sys\nsys.modules['torch'] = None\n"
        "import gru_hf\nfrom gru_hf.onnx import OnnxClassifier\n"
        f"c = OnnxClassifier.from_pretrained({str(tiny_model_dir)!r})\n"
        "print(c(['a good film', 'boring and bad'])[1]['label'])\n"
        "try:\n    gru_hf.GRUConfig\nexcept ImportError as err:\n    print('ImportError', err)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    label, error = out.stdout.splitlines()
    assert label in {"negative", "positive"}
    assert error.startswith("ImportError") and "torch" in error


def test_serving_an_export_leaves_torch_and_transformers_unimported(tiny_model_dir):
    """With torch installed, a process that serves an export never pays for importing it; importing transformers
    afterwards still finds gru-hf registered (no trust_remote_code needed)."""
    export(tiny_model_dir)
    code = (
        "import sys\nimport gru_hf\nfrom gru_hf.onnx import OnnxClassifier\n"
        f"c = OnnxClassifier.from_pretrained({str(tiny_model_dir)!r})\n"
        "print(c('a good film')[0]['label'], 'torch' in sys.modules, 'transformers' in sys.modules)\n"
        "from transformers import AutoModelForSequenceClassification\n"
        f"print(type(AutoModelForSequenceClassification.from_pretrained({str(tiny_model_dir)!r})).__module__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    served, loaded = out.stdout.splitlines()
    label, torch_imported, transformers_imported = served.split()
    assert label in {"negative", "positive"}
    assert (torch_imported, transformers_imported) == ("False", "False")
    assert loaded == "gru_hf.modeling_gru"


def test_int8_keeps_accuracy_on_a_trained_model(tmp_path, tiny_files):
    from conftest import tiny_args

    from gru_hf.cli import train_main

    out = tmp_path / "trained"
    train_main(tiny_args(tiny_files, out, "--num_train_epochs", "8"))
    assert main(["export", str(out), "--quantize", "int8"]) == 0
    texts = POSITIVE + NEGATIVE
    truth = ["pos"] * len(POSITIVE) + ["neg"] * len(NEGATIVE)
    fp32 = [r["label"] for r in OnnxClassifier.from_pretrained(out)(texts)]
    int8 = [r["label"] for r in OnnxClassifier.from_pretrained(out, quantized=True)(texts)]
    accuracy = lambda labels: np.mean([a == b for a, b in zip(labels, truth)])  # noqa: E731
    # Tolerance: int8 may lose at most one of the ten texts against fp32.
    assert accuracy(fp32) >= 0.9
    assert accuracy(int8) >= accuracy(fp32) - 0.1
    quantized = onnx.load(out / "onnx" / "model_quantized.onnx")
    ops = {node.op_type for node in quantized.graph.node}
    assert {"MatMulInteger", "DynamicQuantizeLinear"} <= ops  # the classifier runs in int8
    embedding_type = {i.name: i.data_type for i in quantized.graph.initializer}["embeddings_quantized"]
    assert embedding_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8)  # the lookup table is 8-bit
    # The int8 graph's length groups (a batch of more than GROUP_ROWS rows) give each row its logits alone, up to
    # dynamic quantization, whose scale for the classifier's input is the batch's (measured: 9e-4 here; a row put
    # in another row's place would be off by the logits' own size, 5e-2).
    session = ort.InferenceSession(quantized.SerializeToString(), providers=["CPUExecutionProvider"])
    ids, mask = _batch(json.loads((out / "config.json").read_text())["vocab_size"], torch.Generator(), 40)
    together = session.run(["logits"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy()})[0]
    alone = [
        session.run(["logits"], {"input_ids": i[None].numpy(), "attention_mask": m[None].numpy()})[0][0]
        for i, m in zip(ids, mask)
    ]
    np.testing.assert_allclose(together, np.stack(alone), atol=3e-3)


def test_export_errors_are_one_line(tmp_path, tiny_model_dir, capsys):
    assert main(["export", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.strip().count("\n") == 0
    (tmp_path / "notamodel").mkdir()
    assert main(["export", str(tmp_path / "notamodel")]) == 2
    assert "is not a complete gru-hf model directory" in capsys.readouterr().err
    assert main(["export", str(tiny_model_dir), "--quantize", "int4"]) == 2
    err = capsys.readouterr().err
    assert "unknown --quantize value 'int4'" in err and err.count("\n") == 1
    assert main(["export", str(tiny_model_dir), "--opset", "11"]) == 2
    err = capsys.readouterr().err
    assert f"--opset 11 is not supported: choose from {MIN_OPSET} to" in err and err.count("\n") == 1
    assert not (tiny_model_dir / "onnx").exists()  # refused before any work


def test_export_unwritable_and_never_half_overwritten(tiny_model_dir, capsys, monkeypatch):
    umask = os.umask(0o022)
    try:
        assert main(["export", str(tiny_model_dir)]) == 0
    finally:
        os.umask(umask)
    assert (tiny_model_dir / "onnx").stat().st_mode & 0o777 == 0o755  # as any directory the user makes, not 0700
    before = (tiny_model_dir / "onnx" / "model.onnx").read_bytes()
    import gru_hf.onnx as module

    def broken_quantize(*args, **kwargs):
        raise ValueError("quantization failed")

    import onnxruntime.quantization as quantization

    monkeypatch.setattr(quantization, "quantize_dynamic", broken_quantize)
    assert main(["export", str(tiny_model_dir), "--quantize", "int8"]) == 2
    assert (tiny_model_dir / "onnx" / "model.onnx").read_bytes() == before
    assert not (tiny_model_dir / "onnx" / "model_quantized.onnx").exists()
    assert not [p for p in os.listdir(tiny_model_dir) if p.startswith(".onnx-")]
    del module
    if os.geteuid() != 0:
        os.chmod(tiny_model_dir, 0o555)
        try:
            assert main(["export", str(tiny_model_dir)]) == 2
            assert "not writable" in capsys.readouterr().err
        finally:
            os.chmod(tiny_model_dir, 0o755)


def test_predict_onnx_cli(tiny_model_dir, capsys):
    assert main(["export", str(tiny_model_dir), "--quantize", "int8"]) == 0
    capsys.readouterr()
    assert main(["predict", str(tiny_model_dir), "a good film", "boring and bad"]) == 0
    torch_out = capsys.readouterr().out
    assert main(["predict", str(tiny_model_dir), "a good film", "boring and bad", "--onnx"]) == 0
    onnx_out = capsys.readouterr()
    assert [line.split("\t")[0] for line in onnx_out.out.splitlines()] == [
        line.split("\t")[0] for line in torch_out.splitlines()
    ]
    assert main(["predict", str(tiny_model_dir), "a good film", "--quantized"]) == 0
    assert capsys.readouterr().out.endswith("\ta good film\n")


def test_truncated_weights_error_names_the_file(tiny_model_dir):
    from transformers import AutoModelForSequenceClassification

    weights = tiny_model_dir / "model.safetensors"
    data = weights.read_bytes()
    for cut in (4, 40, len(data) - 10):
        weights.write_bytes(data[:cut])
        with pytest.raises(OSError, match=r"model\.safetensors is truncated or corrupt") as info:
            AutoModelForSequenceClassification.from_pretrained(tiny_model_dir)
        assert str(weights) in str(info.value) and "\n" not in str(info.value)
    weights.write_bytes(data)
    assert AutoModelForSequenceClassification.from_pretrained(tiny_model_dir).config.model_type == "gru_hf"
