"""ONNX export of a gru-hf classifier (`gru-hf export`), int8 quantization, and `OnnxClassifier`, a runtime that
needs only onnxruntime, numpy and `tokenizers` (never torch).

The model's packed-sequence path does not go through torch's exporter, and the padded path it could trace needs a
gather per direction and layer to reverse each row. `build_graph` writes the graph itself from the model's weights:
each row's real tokens are moved to the front (a scatter to `cumsum(mask) - 1`), one ONNX `GRU` node per layer runs
both directions with `sequence_lens` (each row's backward pass starts at its own last token), and pooling reads
real tokens only; a large batch runs in groups of rows of similar length. Tests compare onnxruntime's logits with
the PyTorch model's.
"""

import contextlib
import json
import logging
import os
import shutil
import tempfile

QUANTIZE_MODES = ("int8",)
DEFAULT_OPSET = 17
MIN_OPSET = 14  # GRU with linear_before_reset and sequence_lens, CumSum, Range, ScatterElements
# Batches of more than GROUP_ROWS rows run inside the graph as GRAPH_GROUPS groups of similar length. Measured on one
# thread with a 50-128 bidirectional model, onnxruntime on SST-2 dev in batches of 64 in the given order: 1.51x the
# graph without groups; a batch of up to GROUP_ROWS rows (the runtime's own groups) pays about 5 us for the `If`.
GRAPH_GROUPS = 4
GROUP_ROWS = 12
# Max pooling reads the states (width, ...) as (width / POOL_STEPS, POOL_STEPS, ...) and reduces the second axis,
# then the first: onnxruntime's ReduceMax over a leading axis has no fast path (3-4x slower than over a middle one).
# Measured on one thread, 12 rows of a 128 bidirectional GRU, microseconds for the plain ReduceMax against chunks of
# 8 steps: width 16 25 / 12, 32 50 / 16, 64 93 / 25, 128 163 / 59 (chunks of 2, 4 and 16 were slower from width
# 24 on). A graph with max pooling pads its width up to a multiple of POOL_STEPS (onnxruntime's GRU only steps up to
# the longest row of `sequence_lens`, so padding steps cost a zero fill).
POOL_STEPS = 8


def _check_opset(opset):
    import onnx

    newest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= newest:
        raise ValueError(f"--opset {opset} is not supported: choose from {MIN_OPSET} to {newest}")


class _GraphBuilder:
    """Nodes and initializers of one ONNX graph; reductions and Unsqueeze take their axes the way `opset` wants."""

    # The opset from which each op reads its axes from an input instead of an attribute.
    AXES_INPUT_SINCE = {"ReduceSum": 13, "Unsqueeze": 13, "ReduceMax": 18}

    def __init__(self, opset):
        self.opset = opset
        self.nodes = []
        self.initializers = []
        self.count = 0  # nodes made so far, in every branch: names stay unique across the subgraphs
        self.scalars = {}  # (dtype, shape, bytes) -> name: each small constant is stored once, whoever asks

    def const(self, name, value):
        import numpy as np
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def scalar(self, value, dtype="int64"):
        import numpy as np

        value = np.array(value, dtype=dtype)
        key = (value.dtype.str, value.shape, value.tobytes())
        if key not in self.scalars:
            self.scalars[key] = self.const(f"const_{len(self.initializers)}", value)
        return self.scalars[key]

    def op(self, op_type, *inputs, outputs=None, **attributes):
        from onnx import helper

        number, self.count = self.count, self.count + 1
        outputs = outputs or [f"{op_type}_{number}"]
        self.nodes.append(helper.make_node(op_type, list(inputs), outputs, name=f"{op_type}_{number}", **attributes))
        return outputs[0] if len(outputs) == 1 else outputs

    def branch(self, name, make):
        """An `If` branch: the nodes `make()` adds go to a subgraph of their own, which returns `make()`'s output
        (a float tensor); initializers and the outer graph's values stay readable from it."""
        from onnx import TensorProto, helper

        outer, self.nodes = self.nodes, []
        try:
            output = make()
            body = self.nodes
        finally:
            self.nodes = outer
        result = f"{name}_out"
        body.append(helper.make_node("Identity", [output], [result], name=result))
        return helper.make_graph(body, name, [], [helper.make_tensor_value_info(result, TensorProto.FLOAT, None)])

    def with_axes(self, op_type, x, axes, **attributes):
        if self.opset >= self.AXES_INPUT_SINCE[op_type]:
            return self.op(op_type, x, self.scalar(axes), **attributes)
        return self.op(op_type, x, axes=axes, **attributes)


def _gates_zrh(weight, hidden):
    """PyTorch stacks a GRU's gates r, z, n; ONNX wants z, r, h."""
    import numpy as np

    return np.concatenate([weight[hidden : 2 * hidden], weight[:hidden], weight[2 * hidden :]])


def _array(tensor):
    return tensor.detach().float().cpu().numpy()


def _layer_constants(g, model) -> list[tuple[str, str, str]]:
    """Each GRU layer's ONNX `W`, `R` and `B` initializers (directions stacked, gates in ONNX's z, r, h order)."""
    import numpy as np

    config, gru = model.config, model.model.gru
    suffixes = ("", "_reverse")[: 2 if config.bidirectional else 1]
    layers = []
    for layer in range(config.num_hidden_layers):

        def stacked(kind, layer=layer):
            return [_gates_zrh(_array(getattr(gru, f"{kind}_l{layer}{s}")), config.hidden_size) for s in suffixes]

        biases = [np.concatenate(pair) for pair in zip(stacked("bias_ih"), stacked("bias_hh"))]
        layers.append(
            (
                g.const(f"gru_{layer}_W", np.stack(stacked("weight_ih"))),
                g.const(f"gru_{layer}_R", np.stack(stacked("weight_hh"))),
                g.const(f"gru_{layer}_B", np.stack(biases)),
            )
        )
    return layers


def _round_up(g, n, multiple):
    if multiple == 1:
        return n
    up = g.op("Div", g.op("Add", n, g.scalar([multiple - 1])), g.scalar([multiple]))
    return g.op("Mul", up, g.scalar([multiple]))


def _width_multiple(config) -> int:
    """What each graph rounds its width up to: POOL_STEPS for max pooling's chunks, else 1."""
    return POOL_STEPS if config.pooling in ("max", "max_mean") else 1


def _encode(g, config, layers, x, lengths, name):
    """The sentence vectors (rows, pooled_size) of right-padded, time-major embeddings `x` (width, rows,
    embedding_dim) with `lengths` (rows,): the GRU layers, then pooling over real tokens only (zero for a row with
    no tokens). The width is a multiple of `_width_multiple(config)`."""
    import numpy as np
    from onnx import TensorProto

    hidden, one = config.hidden_size, g.scalar(1)
    lengths_column = g.with_axes("Unsqueeze", lengths, [1])  # (rows, 1)
    width = g.op("Gather", g.op("Shape", x), g.scalar(0))
    positions = g.op("Range", g.scalar(0), width, one)
    real = g.op("Less", g.with_axes("Unsqueeze", positions, [0]), lengths_column)  # (rows, width)
    empty = g.op("Equal", lengths_column, g.scalar(0))  # (rows, 1)
    sequence_lens = g.op("Cast", g.op("Max", lengths, one), to=TensorProto.INT32)
    for layer, (weights, recurrent, bias) in enumerate(layers):
        states, finals = g.op(
            "GRU",
            x,
            weights,
            recurrent,
            bias,
            sequence_lens,
            outputs=[f"{name}gru_{layer}_Y", f"{name}gru_{layer}_Y_h"],
            hidden_size=hidden,
            linear_before_reset=1,  # PyTorch's GRU (pytorch issue 189225: 0 is a silent error)
            direction="bidirectional" if config.bidirectional else "forward",
        )  # states (width, directions, rows, hidden), finals (directions, rows, hidden)
        if layer < len(layers) - 1:
            x = g.op("Reshape", g.op("Transpose", states, perm=[0, 2, 1, 3]), g.scalar([0, 0, -1]))
    if config.pooling == "last":
        pooled = finals
    else:
        real_states = g.with_axes("Unsqueeze", g.op("Transpose", real, perm=[1, 0]), [1, 3])  # (width, 1, rows, 1)
        parts = []  # each (directions, rows, hidden)
        # The masks are made on (width, 1, rows, 1) and broadcast by Add and Mul: onnxruntime's Where is about
        # three times slower than Add on the states' full shape.
        if config.pooling in ("max", "max_mean"):
            padding_bias = g.op("Where", real_states, g.scalar(0.0, "float32"), g.scalar(-np.inf, "float32"))
            masked = g.op("Add", states, padding_bias)
            steps_last = g.op("Slice", g.op("Shape", masked), g.scalar([1]), g.scalar([4]))  # directions, rows, hidden
            chunks = g.op("Reshape", masked, g.op("Concat", g.scalar([-1, POOL_STEPS]), steps_last, axis=0))
            chunk_max = g.with_axes("ReduceMax", chunks, [1], keepdims=0)  # (width / POOL_STEPS, directions, ...)
            parts.append(g.with_axes("ReduceMax", chunk_max, [0], keepdims=0))
        if config.pooling in ("mean", "max_mean"):
            masked = g.op("Mul", states, g.op("Cast", real_states, to=TensorProto.FLOAT))
            counts = g.op("Cast", g.with_axes("Unsqueeze", sequence_lens, [0, 2]), to=TensorProto.FLOAT)
            parts.append(g.op("Div", g.with_axes("ReduceSum", masked, [0], keepdims=0), counts))
        pooled = parts[0] if len(parts) == 1 else g.op("Concat", *parts, axis=0)  # (parts x directions, rows, hidden)
    pooled = g.op("Reshape", g.op("Transpose", pooled, perm=[1, 0, 2]), g.scalar([0, -1]))  # (rows, pooled_size)
    return g.op("Where", empty, g.scalar(0.0, "float32"), pooled)


def _grouped(g, encode, x, lengths, batch, groups, group_rows, width_multiple):
    """`encode` on groups of rows: the rows sorted by length (longest first) and cut into `groups` groups of at least
    `group_rows` rows, each run only up to its own longest row (onnxruntime's GRU steps every row of a batch to the
    longest), its width rounded up to `width_multiple`. A group past the last row runs the last row for one step,
    since onnxruntime cannot run a GRU on zero rows; the first `batch` sentence vectors are then the sorted rows in
    order, and a gather puts them back."""
    from onnx import TensorProto, helper

    one = g.scalar(1)
    order = g.op("TopK", lengths, batch, outputs=["sorted_lengths", "order"], axis=0, largest=1, sorted=1)[1]
    x_sorted = g.op("Gather", x, order, axis=1)
    lengths_sorted = g.op("Gather", lengths, order, axis=0)
    rows = g.op(
        "Max", g.op("Div", g.op("Add", batch, g.scalar([groups - 1])), g.scalar([groups])), g.scalar([group_rows])
    )
    last = g.op("Sub", batch, one)
    vectors = []
    for i in range(groups):
        first = g.op("Mul", rows, g.scalar([i]))
        start = g.op("Min", first, last)  # (1,)
        end = g.op("Max", g.op("Min", g.op("Mul", rows, g.scalar([i + 1])), batch), g.op("Add", start, one))
        longest = g.op("Max", g.op("Gather", lengths_sorted, start), one)
        group_width = g.op("Where", g.op("Less", first, batch), longest, one)  # one step past the last row
        padded_width = _round_up(g, group_width, width_multiple)  # within x's width, itself such a multiple
        group_x = g.op(
            "Slice", x_sorted, g.op("Concat", g.scalar([0]), start, axis=0), g.op("Concat", padded_width, end, axis=0)
        )
        group_lengths = g.op("Min", g.op("Slice", lengths_sorted, start, end), group_width)
        vectors.append(encode(group_x, group_lengths, f"group{i}_"))
    pooled_sorted = g.op("Slice", g.op("Concat", *vectors, axis=0), g.scalar([0]), batch)
    places = g.op(
        "ScatterElements",
        g.op("ConstantOfShape", batch, value=helper.make_tensor("zero", TensorProto.INT64, [1], [0])),
        order,
        g.op("Range", g.scalar(0), g.op("Squeeze", batch, g.scalar([0])), one),
        axis=0,
    )  # places[i]: where row i went in the sorted order
    return g.op("Gather", pooled_sorted, places, axis=0)


def build_graph(model, opset: int = DEFAULT_OPSET, groups: int = GRAPH_GROUPS, group_rows: int = GROUP_ROWS):
    """The ONNX graph (a `onnx.ModelProto`) of a `GRUForSequenceClassification` in eval mode: `input_ids` and
    `attention_mask` (int64, batch x sequence, any padding side) in, `logits` out.

    One ONNX `GRU` node per layer runs both directions with `sequence_lens`, so each text's backward pass starts
    at its own last token. Real tokens are first moved to the front of their row (a scatter to `cumsum(mask) - 1`),
    so left padding and holes in the mask give the logits of the compact text; pooling reads real tokens only, and
    a text with no tokens gets a zero sentence vector, as in the model. A batch of more than `group_rows` rows runs
    as `groups` groups of rows of similar length (an `If` node; `groups=1`: never), each up to its own longest row,
    so a batch in any order wastes little on padding."""
    import onnx
    from onnx import TensorProto, helper

    _check_opset(opset)
    config = model.config
    g = _GraphBuilder(opset)

    # Lengths and the right-aligned layout of the real tokens.
    real_in = g.op("Greater", "attention_mask", g.scalar(0))
    mask = g.op("Cast", real_in, to=TensorProto.INT64)
    lengths = g.with_axes("ReduceSum", mask, [1], keepdims=0)  # (batch,)
    lengths_column = g.with_axes("Unsqueeze", lengths, [1])  # (batch, 1)
    one, axis1 = g.scalar(1), g.scalar(1)
    to_real = g.op("Sub", g.op("CumSum", mask, axis1), one)
    to_padding = g.op("Sub", g.op("Add", lengths_column, g.op("CumSum", g.op("Sub", one, mask), axis1)), one)
    destination = g.op("Where", real_in, to_real, to_padding)
    shape = g.op("Shape", "input_ids")
    batch = g.op("Gather", shape, g.scalar([0]))
    width = g.op("Max", g.op("Gather", shape, g.scalar([1])), g.scalar([1]))  # one step even for empty texts
    width_multiple = _width_multiple(config)
    width = _round_up(g, width, width_multiple)
    pad = helper.make_tensor("pad", TensorProto.INT64, [1], [int(config.pad_token_id)])
    canvas = g.op("ConstantOfShape", g.op("Concat", batch, width, axis=0), value=pad)
    ids = g.op("ScatterElements", canvas, destination, "input_ids", axis=1)  # (batch, width), right-padded

    layers = _layer_constants(g, model)
    embeddings = g.const("embeddings", _array(model.model.embeddings.weight))
    x = g.op("Gather", embeddings, g.op("Transpose", ids, perm=[1, 0]))  # (width, batch, embedding_dim)
    # Read by the `If` branches through an Identity: onnxruntime's quantizer replaces the lookup by an int8 one and
    # restores its float output only for consumers it sees in the same graph.
    x = g.op("Identity", x)

    def encode(x, lengths, name):
        return _encode(g, config, layers, x, lengths, name)

    if groups == 1:
        pooled = encode(x, lengths, "")
    else:  # batches of more than `group_rows` rows run in groups of similar length

        def length_groups():
            return _grouped(g, encode, x, lengths, batch, groups, group_rows, width_multiple)

        pooled = g.op(
            "If",
            g.op("LessOrEqual", batch, g.scalar([group_rows])),
            then_branch=g.branch("whole_batch", lambda: encode(x, lengths, "whole_")),
            else_branch=g.branch("length_groups", length_groups),
        )
    classifier = model.classifier
    g.op(
        "Gemm",
        pooled,
        g.const("classifier_weight", _array(classifier.weight)),
        g.const("classifier_bias", _array(classifier.bias)),
        outputs=["logits"],
        transB=1,
    )
    graph = helper.make_graph(
        g.nodes,
        "gru_hf",
        [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", config.num_labels])],
        g.initializers,
    )
    graph_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="gru-hf")
    onnx.checker.check_model(graph_model, full_check=True)
    return graph_model


def export(directory: str | os.PathLike, quantize: str | None = None, opset: int = DEFAULT_OPSET) -> dict[str, str]:
    """Write `directory/onnx/model.onnx` (and `model_quantized.onnx` with `quantize="int8"`). The files are
    written to a temporary folder next to `onnx/` and moved in only when complete. Returns the written paths."""
    from .model_dir import EXPORT_RECORD, check_model_directory, source_digests

    if quantize is not None and quantize not in QUANTIZE_MODES:
        raise ValueError(f"unknown --quantize value {quantize!r}: choose from {', '.join(QUANTIZE_MODES)}")
    _check_opset(opset)
    check_model_directory(directory)
    directory = os.fspath(directory)
    target = os.path.join(directory, "onnx")
    if not os.access(directory, os.W_OK):
        raise PermissionError(f"cannot write the export into {directory}: the directory is not writable")

    from transformers.utils import logging as hf_logging

    from . import GRUForSequenceClassification

    shown = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a "Loading weights" bar for a dozen tensors says nothing
    try:
        model = GRUForSequenceClassification.from_pretrained(directory).float().eval()
    finally:
        if shown:
            hf_logging.enable_progress_bar()
    import onnx

    graph = build_graph(model, opset)
    work = tempfile.mkdtemp(prefix=".onnx-", dir=directory)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(work, 0o777 & ~umask)  # mkdtemp's 0700 would hide the export from other users once renamed
        path = os.path.join(work, "model.onnx")
        onnx.save(graph, path)
        if quantize == "int8":
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantized = os.path.join(work, "model_quantized.onnx")
            with _quiet_root_logger():  # "consider pre-processing" and shape-inference notes, logged per tensor
                quantize_dynamic(path, quantized, weight_type=QuantType.QInt8, per_channel=False)
            # The quantizer appends the embedding's DequantizeLinear after the `If` that reads it.
            quantized_graph = onnx.load(quantized)
            _sort_nodes(quantized_graph.graph)
            onnx.checker.check_model(quantized_graph, full_check=True)
            onnx.save(quantized_graph, quantized)
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


def _reads(node) -> set[str]:
    """The names a node reads, those its subgraphs read from outside them included."""
    from onnx import AttributeProto

    names = set(node.input) - {""}
    for attribute in node.attribute:
        if attribute.type == AttributeProto.GRAPH:
            graph = attribute.g
            made = {o for n in graph.node for o in n.output}
            made |= {t.name for t in graph.initializer} | {i.name for i in graph.input}
            names |= set().union(*(_reads(n) for n in graph.node)) - made
    return names


def _sort_nodes(graph) -> None:
    """Reorder a graph's nodes so that each comes after the nodes making what it reads (its subgraphs' reads of
    outer values included), keeping the given order where it already holds."""
    known = {t.name for t in graph.initializer} | {i.name for i in graph.input}
    pending, ordered = [(node, _reads(node)) for node in graph.node], []
    while pending:
        waiting = []
        for node, reads in pending:
            if reads <= known:
                ordered.append(node)
                known.update(node.output)
            else:
                waiting.append((node, reads))
        if len(waiting) == len(pending):
            raise ValueError(f"the graph's node {waiting[0][0].name} reads a value no node makes")
        pending = waiting
    del graph.node[:]
    graph.node.extend(ordered)


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

    # The texts of a call are sorted by length and the graph runs on groups of at most this many rows: onnxruntime's
    # GRU steps every row of a batch up to the longest, so short groups of similar length waste little. Measured on
    # one thread with a 50-128 bidirectional model, before the graph grouped rows itself (texts/s against groups of
    # 64): SST-2 dev 1.69x, MR test 1.66x, 256 long texts (60-500 words) 1.86x; 8 and 16 rows came within 6% of 12.
    # With the graph's own groups (GROUP_ROWS), feeding it 48 or 64 sorted rows was still 5-11% slower than 12.
    rows_per_run = 12

    def __init__(self, directory, session, tokenizer, config, max_length, words=None):
        self.directory = directory
        self.session = session
        self.tokenizer = tokenizer
        self.words = words  # the pure-Python twin of `tokenizer` for ASCII texts, when it is gru-hf's
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
        from .words import AsciiWordTokenizer

        directory = os.fspath(directory)
        path, config, tokenizer_json = check_onnx_directory(directory, quantized=quantized)
        max_length = 512
        tokenizer_config = os.path.join(directory, "tokenizer_config.json")
        if os.path.isfile(tokenizer_config):
            with open(tokenizer_config, encoding="utf-8") as f:
                max_length = int(json.load(f).get("model_max_length", max_length))
        tokenizer = Tokenizer.from_str(json.dumps(tokenizer_json))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length)
        words = AsciiWordTokenizer.from_tokenizer_json(tokenizer_json, max_length)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or min(os.cpu_count() or 1, 4)
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        return cls(directory, session, tokenizer, config, max_length, words)

    def encode(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, as the saved tokenizer gives them (truncated, no padding)."""
        from .words import encode_texts

        return encode_texts(texts, self.tokenizer, self.words)

    def logits(self, texts: list[str], batch_size: int = 64):
        import numpy as np

        ids = self.encode(texts)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))  # length-sorted batches: little padding
        out = np.zeros((len(ids), self.num_labels), dtype=np.float32)
        step = max(1, min(batch_size, self.rows_per_run))
        for start in range(0, len(order), step):
            rows = order[start : start + step]
            out[rows] = self.session.run(["logits"], self.feed([ids[i] for i in rows]))[0]
        return out

    def feed(self, ids: list[list[int]]) -> dict:
        """The graph's inputs for token ids: right-padded `input_ids` and `attention_mask` (int64, at least one
        column, so that a batch of empty texts still runs)."""
        import numpy as np

        width = max(1, max(len(row) for row in ids))
        input_ids = np.full((len(ids), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for r, row in enumerate(ids):
            input_ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        return {"input_ids": input_ids, "attention_mask": mask}

    def __call__(
        self,
        texts,
        top_k: int | None | str = "",
        function_to_apply: str | None = None,
        batch_size: int = 64,
        truncation: bool = True,
    ):
        """Label/score dicts shaped as `pipeline("text-classification")` shapes them: without `top_k`, the best
        label of each text (a list of dicts for a list of texts, a one-item list for a string, a dict for a
        `{"text": ...}` dict); with `top_k` (`None`: every label), a list per text, or one list for a string.
        Texts are truncated to the tokenizer's `model_max_length`, as in training (`pipeline(...,
        truncation=True)`)."""
        if truncation is not True:
            raise ValueError(
                "OnnxClassifier always truncates texts to the tokenizer's model_max_length "
                f"({self.max_length} tokens), as the model was trained; truncation=False is not supported"
            )
        if isinstance(function_to_apply, str):
            function_to_apply = function_to_apply.lower()
        legacy = top_k == ""
        single = isinstance(texts, (str, dict))
        batch = [_text_of(texts, None)] if single else [_text_of(text, i) for i, text in enumerate(_items(texts))]
        logits = self.logits(batch, batch_size=batch_size)
        results = label_scores(logits, self.id2label, self.problem_type, 1 if legacy else top_k, function_to_apply)
        if legacy:
            return results[0] if isinstance(texts, dict) else results
        if top_k == 1:
            results = [[result] for result in results]
        return results[0] if single else results


def _items(texts) -> list:
    if isinstance(texts, (list, tuple)):
        return list(texts)
    raise ValueError(
        f"OnnxClassifier takes a string, a {{'text': ...}} dict or a list of them, got {type(texts).__name__}"
    )


def _text_of(item, index: int | None) -> str:
    """A text of a call, as the pipeline accepts it: a string or a `{"text": ...}` dict."""
    where = "" if index is None else f" {index}"
    if isinstance(item, dict):
        if set(item) != {"text"}:
            raise ValueError(f"input{where} is a dict with keys {sorted(item)}; OnnxClassifier reads {{'text': ...}}")
        item = item["text"]
    if not isinstance(item, str):
        raise ValueError(f"input{where} is {type(item).__name__}, not a string")
    return item


def label_scores(logits, id2label: dict, problem_type: str | None, top_k: int | None = 1, function_to_apply=None):
    """`pipeline("text-classification")`'s post-processing of a (texts, labels) logit array, without transformers:
    one `{"label", "score"}` dict per text with `top_k=1`, else a list per text, best first (`top_k=None`: all)."""
    import numpy as np

    logits = np.asarray(logits, dtype=np.float32)
    if function_to_apply is None:
        if problem_type == "regression":
            function_to_apply = "none"
        elif problem_type == "multi_label_classification" or logits.shape[1] == 1:
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
    names = [id2label.get(i, f"LABEL_{i}") for i in range(scores.shape[1])]
    if top_k == 1:  # argmax takes the first of equal scores, as the stable sort below does
        best = scores.argmax(axis=1)
        return [
            {"label": names[i], "score": float(s)} for i, s in zip(best.tolist(), scores[np.arange(len(best)), best])
        ]
    results = []
    for row in scores:
        ranked = np.argsort(-row, kind="stable")
        keep = ranked if top_k is None else ranked[:top_k]
        results.append([{"label": names[i], "score": float(row[i])} for i in keep.tolist()])
    return results


__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "QUANTIZE_MODES", "OnnxClassifier", "build_graph", "export", "label_scores"]
