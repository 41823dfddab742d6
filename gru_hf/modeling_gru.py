"""GRU text classifier as a Transformers model.

This file travels to the Hub with saved models (remote code): it imports only torch, transformers and
`.configuration_gru`.

Padding never reaches a GRU state. Each batch is re-laid so that every text's real tokens come first (right
padding) and trimmed to the longest text. A ragged batch is then packed (`pack_padded_sequence`), so each direction
starts and ends at the text's own tokens; a batch without padding, or a causal one at least 80% full, runs padded in
one call (a forward GRU never looks past a text's last real token). Measured (README, "Results"): on randomly
ordered batches a padded run is 0.61-0.69x as fast as packing (scripts/benchmarks/strategy.py).

CPU float32 training runs the packed batch through `_PackedGRULayer`, a plain-torch GRU with the same weights and
maths as `nn.GRU` (outputs and gradients equal to 1e-5, tested): 1.54-1.74x `nn.GRU`'s forward + backward tokens/s
on an idle 2-core CPU (scripts/benchmarks/gru_engine.py, results of record). GPUs keep cuDNN; inference keeps
`nn.GRU`.
"""

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F
from transformers import PreTrainedModel
from transformers.modeling_outputs import BaseModelOutputWithPooling, SequenceClassifierOutput

from .configuration_gru import GRUConfig

try:  # transformers >= 5: init functions that leave loaded weights alone
    from transformers import initialization as init
except ImportError:  # transformers 4.x
    from torch.nn import init


class GRUPreTrainedModel(PreTrainedModel):
    config_class = GRUConfig
    base_model_prefix = "model"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = False
    _no_split_modules = []

    def _init_weights(self, module):
        std = self.config.initializer_range
        if isinstance(module, nn.GRU):
            # transformers' default `_init_weights` knows nn.LSTM but not nn.GRU: without this branch, missing or
            # resized GRU weights stay uninitialised memory.
            for name, param in module.named_parameters():
                if name.startswith("weight_ih"):
                    init.xavier_uniform_(param)
                elif name.startswith("weight_hh"):
                    init.orthogonal_(param)
                else:
                    init.zeros_(param)
        elif isinstance(module, nn.Embedding):
            init.normal_(module.weight, mean=0.0, std=std)
            if module.padding_idx is not None and not getattr(module.weight, "_is_hf_initialized", False):
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.Linear):
            init.normal_(module.weight, mean=0.0, std=std)
            if module.bias is not None:
                init.zeros_(module.bias)

    @torch.no_grad()
    def load_pretrained_embeddings(self, vectors: torch.Tensor, freeze: bool = False):
        """Copy a `(vocab_size, embedding_dim)` matrix (e.g. GloVe rows matched to the vocabulary) into the
        embeddings; the padding row stays zero. Call after the model is built: `__init__`, `post_init` and
        `from_pretrained` would overwrite or ignore anything set earlier."""
        embeddings = self.get_input_embeddings()
        if tuple(vectors.shape) != tuple(embeddings.weight.shape):
            raise ValueError(
                f"pretrained embeddings have shape {tuple(vectors.shape)}, the model expects "
                f"(vocab_size, embedding_dim) = {tuple(embeddings.weight.shape)}"
            )
        embeddings.weight.copy_(vectors.to(embeddings.weight.dtype))
        if embeddings.padding_idx is not None:
            embeddings.weight[embeddings.padding_idx].zero_()
        embeddings.weight.requires_grad_(not freeze)


def _gather_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """`x[b, index[b, t]]` for a (batch, seq_len, dim) tensor."""
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.size(-1)))


def _packed_gru_layer(
    inputs: torch.Tensor,
    batch_sizes: torch.Tensor,
    initial_state: torch.Tensor,
    weights: list[torch.Tensor],
    *,
    training: bool,
    bidirectional: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One GRU layer over packed data: `torch.gru`'s packed-sequence overload with its positional flags named.

    Returns the layer's packed output (total_tokens, directions * hidden) and its final states
    (directions, batch, hidden) in packed (length-sorted) order."""
    has_biases, num_layers, dropout = True, 1, 0.0  # dropout between layers is applied by the caller
    return torch.gru(
        inputs, batch_sizes, initial_state, weights, has_biases, num_layers, dropout, training, bidirectional
    )


# A causal (unidirectional) batch whose real tokens fill at least this share of its (batch, longest text) grid runs
# padded in one call; below it, packed. Measured in scripts/benchmarks/strategy.py.
_PADDED_RUN_MIN_FILL = 0.8


def _packed_positions(batch_sizes: list[int], device: torch.device):
    """For packed data with these per-step batch sizes: each row's time step and its index within the step."""
    sizes = torch.tensor(batch_sizes, device=device)
    offsets = torch.cumsum(sizes, 0) - sizes
    time = torch.repeat_interleave(torch.arange(len(batch_sizes), device=device), sizes)  # (total,)
    return sizes, offsets, time, torch.arange(int(sizes.sum()), device=device) - offsets[time]


def _previous_rows(batch_sizes: list[int], reverse: bool, device: torch.device) -> torch.Tensor:
    """Index of the packed row holding each row's previous state (the row count `total` where it starts at zero)."""
    sizes, offsets, time, row = _packed_positions(batch_sizes, device)
    total, steps = int(sizes.sum()), len(batch_sizes)
    source = time + 1 if reverse else time - 1
    valid = (source >= 0) & (source < steps)
    source = source.clamp(0, steps - 1)
    valid &= row < sizes[source]
    return torch.where(valid, offsets[source] + row, torch.full_like(row, total))


def _recurrence_forward(
    gates_x: torch.Tensor,
    w_hh: torch.Tensor,
    b_hh: torch.Tensor,
    batch_sizes: list[int],
    offsets: list[int],
    steps: list[int],
):
    """The sequential part of one direction: per step one GEMM and five fused element-wise ops, written into
    per-token buffers (total, ...) that the backward pass reads. (Written so that `torch.jit.script` compiles it,
    for the comparison in scripts/benchmarks/gru_engine.py.)"""
    total, hidden = gates_x.size(0), w_hh.size(1)
    out = gates_x.new_empty(total, hidden)
    reset_update = gates_x.new_empty(total, 2 * hidden)
    new_gate = gates_x.new_empty(total, hidden)
    gates_h = gates_x.new_empty(total, 3 * hidden)
    zeros = gates_x.new_zeros(max(batch_sizes), hidden)
    w_hh_t = w_hh.t()
    prev_start, prev_rows = 0, 0  # the previous step's rows; 0 before the first step (its state is zero)
    for t in steps:
        rows, start = batch_sizes[t], offsets[t]
        end = start + rows
        h = out[prev_start : prev_start + min(rows, prev_rows)]
        if prev_rows < rows:  # the first step, or the backward direction: texts that start here start from zero
            h = torch.cat([h, zeros[: rows - prev_rows]]) if prev_rows else zeros[:rows]
        gh = torch.addmm(b_hh, h, w_hh_t, out=gates_h[start:end])  # (rows, 3 * hidden)
        rz = torch.add(gates_x[start:end, : 2 * hidden], gh[:, : 2 * hidden], out=reset_update[start:end]).sigmoid_()
        n = torch.addcmul(
            gates_x[start:end, 2 * hidden :], rz[:, :hidden], gh[:, 2 * hidden :], out=new_gate[start:end]
        )
        torch.lerp(n.tanh_(), h, rz[:, hidden:], out=out[start:end])  # n + z * (h - n)
        prev_start, prev_rows = start, rows
    return out, reset_update, new_gate, gates_h


def _recurrence_backward(grad_out, out, reset_update, new_gate, gates_h, w_hh, batch_sizes, offsets, steps, reverse):
    """Gradients of one direction: everything that does not depend on the carried state gradient is computed for
    all tokens at once; per step there remain one element-wise product and two in-place updates (one GEMM).
    Returns the input-gate gradients (total, 3 * hidden), dW_hh, db_hh."""
    hidden = w_hh.size(1)
    previous_rows = _previous_rows(batch_sizes, reverse, out.device)
    h_prev = torch.cat([out, out.new_zeros(1, hidden)])[previous_rows]  # (total, hidden)
    r, z, n, gh_n = reset_update[:, :hidden], reset_update[:, hidden:], new_gate, gates_h[:, 2 * hidden :]
    c_n = (1 - z) * (1 - n * n)  # d(new gate pre-activation) / dh
    c_z = (h_prev - n) * z * (1 - z)
    c_r = c_n * gh_n * r * (1 - r)
    factor_h = torch.cat([c_r, c_z, c_n * r], dim=1).view(-1, 3, hidden)
    grad_h = grad_out.clone()  # becomes dL/dh_t for every token once the carry is added
    grad_gates_h = out.new_empty(out.size(0), 3 * hidden)
    _backward_steps(grad_h, grad_gates_h, factor_h, z, w_hh, batch_sizes, offsets, steps)
    grad_gates_x = torch.cat([grad_gates_h[:, : 2 * hidden], grad_h * c_n], dim=1)
    return grad_gates_x, grad_gates_h.t() @ h_prev, grad_gates_h.sum(0)


def _backward_steps(
    grad_h: torch.Tensor,
    grad_gates_h: torch.Tensor,
    factor_h: torch.Tensor,
    z: torch.Tensor,
    w_hh: torch.Tensor,
    batch_sizes: list[int],
    offsets: list[int],
    steps: list[int],
):
    """The sequential part of one direction's backward pass, last step first: each step's gate gradients into
    `grad_gates_h`, and the state gradient it carries to the step before added into `grad_h` (both in place).
    (Written so that `torch.jit.script` compiles it, for the comparison in scripts/benchmarks/gru_engine.py.)"""
    hidden = w_hh.size(1)
    for index in range(len(steps) - 1, -1, -1):
        rows, start = batch_sizes[steps[index]], offsets[steps[index]]
        dh = grad_h[start : start + rows]
        g = grad_gates_h[start : start + rows]
        torch.mul(factor_h[start : start + rows], dh.unsqueeze(1), out=g.view(rows, 3, hidden))
        if index > 0:
            prev_start, prev_rows = offsets[steps[index - 1]], batch_sizes[steps[index - 1]]
            carried = min(rows, prev_rows)
            target = grad_h[prev_start : prev_start + carried]
            target.addcmul_(dh[:carried], z[start : start + carried]).addmm_(g[:carried], w_hh)


class _PackedGRULayer(torch.autograd.Function):
    """One (bi)directional GRU layer over packed data, the same maths as `torch.gru`, for CPU training: the input
    projections of all tokens and both directions in one GEMM, fused gate arithmetic per step, and weight
    gradients accumulated with one GEMM per weight after the backward loop."""

    @staticmethod
    def forward(ctx, data, batch_sizes, *weights):
        directions = len(weights) // 4
        sizes = batch_sizes.tolist()
        offsets = [0]
        for rows in sizes[:-1]:
            offsets.append(offsets[-1] + rows)
        w_ih = torch.cat(weights[0::4])  # (directions * 3 * hidden, input)
        gates_x = torch.addmm(torch.cat(weights[2::4]), data, w_ih.t())  # (total, directions * 3 * hidden)
        three_h = weights[1].size(0)
        outputs, saved = [], []
        for d in range(directions):
            steps = list(range(len(sizes)))[:: -1 if d else 1]
            buffers = _recurrence_forward(
                gates_x[:, d * three_h : (d + 1) * three_h],
                weights[4 * d + 1],
                weights[4 * d + 3],
                sizes,
                offsets,
                steps,
            )
            outputs.append(buffers[0])
            saved.extend(buffers)
        ctx.sizes, ctx.offsets, ctx.directions = sizes, offsets, directions
        ctx.save_for_backward(data, w_ih, *weights[1::4], *saved)
        return torch.cat(outputs, dim=1) if directions == 2 else outputs[0]

    @staticmethod
    def backward(ctx, grad_output):
        data, w_ih, *rest = ctx.saved_tensors
        directions, sizes, offsets = ctx.directions, ctx.sizes, ctx.offsets
        w_hhs, saved = rest[:directions], rest[directions:]
        hidden = w_hhs[0].size(1)
        grad_output = grad_output.contiguous()
        grads_gates_x, grads = [], []
        for d in range(directions):
            steps = list(range(len(sizes)))[:: -1 if d else 1]
            grad_gates_x, grad_w_hh, grad_b_hh = _recurrence_backward(
                grad_output[:, d * hidden : (d + 1) * hidden].contiguous(),
                *saved[4 * d : 4 * d + 4],
                w_hhs[d],
                sizes,
                offsets,
                steps,
                reverse=d == 1,
            )
            grads_gates_x.append(grad_gates_x)
            grads.append((grad_w_hh, grad_b_hh))
        grad_gates_x = torch.cat(grads_gates_x, dim=1)  # (total, directions * 3 * hidden)
        grad_data = grad_gates_x @ w_ih
        grad_w_ih = (grad_gates_x.t() @ data).split(3 * hidden)
        grad_b_ih = grad_gates_x.sum(0).split(3 * hidden)
        weight_grads = []
        for d in range(directions):
            weight_grads += [grad_w_ih[d], grads[d][0], grad_b_ih[d], grads[d][1]]
        return (grad_data, None, *weight_grads)


class _FrontLayout(NamedTuple):
    """Where each text's tokens sit after moving them to the front (right padding) and trimming to the longest."""

    lengths: torch.Tensor  # (batch,) real tokens per text
    token_mask: torch.Tensor  # (batch, width, 1) True at real tokens
    order: torch.Tensor | None  # (batch, seq_len) source position of each front position; None if already in place
    width: int  # longest text (at least 1)
    seq_len: int  # padded length the texts were moved within (the input's, or 1 for a zero-width input)
    input_len: int  # the caller's sequence length


class GRUModel(GRUPreTrainedModel):
    """Embeddings and a padding-proof (bi)directional GRU. Returns per-token states (zero at padding) and the
    pooled sentence vector."""

    # CPU float32 training runs gru-hf's own packed recurrence instead of `nn.GRU` (same weights, same maths).
    use_own_cpu_recurrence = True

    def __init__(self, config: GRUConfig):
        super().__init__(config)
        self.embeddings = nn.Embedding(config.vocab_size, config.embedding_dim, padding_idx=config.pad_token_id)
        self.embedding_dropout = nn.Dropout(config.embedding_dropout)
        self.gru = nn.GRU(
            input_size=config.embedding_dim,
            hidden_size=config.hidden_size,
            num_layers=config.num_hidden_layers,
            bidirectional=config.bidirectional,
            dropout=config.hidden_dropout if config.num_hidden_layers > 1 else 0.0,
            batch_first=True,
        )
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings

    def set_input_embeddings(self, value: nn.Embedding):
        self.embeddings = value

    def _layer_weights(self, layer: int) -> list[torch.Tensor]:
        suffixes = ("", "_reverse") if self.config.bidirectional else ("",)
        return [
            getattr(self.gru, f"{kind}_l{layer}{suffix}")
            for suffix in suffixes
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        ]

    def _check_inputs(
        self,
        input_ids: torch.LongTensor | None,
        attention_mask: torch.Tensor | None,
        inputs_embeds: torch.FloatTensor | None,
    ) -> torch.Tensor:
        """Validate the inputs and return the attention mask (batch, seq_len) as booleans, defaulting to
        `input_ids != pad_token_id` (or all ones for `inputs_embeds`)."""
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("GRUModel needs exactly one of input_ids or inputs_embeds")
        if input_ids is not None:
            if input_ids.dim() != 2:
                raise ValueError(
                    f"input_ids must have shape (batch_size, sequence_length), got {tuple(input_ids.shape)}"
                )
            if input_ids.numel() and (input_ids.min() < 0 or input_ids.max() >= self.config.vocab_size):
                bad = input_ids[(input_ids < 0) | (input_ids >= self.config.vocab_size)][0].item()
                raise ValueError(
                    f"input_ids contain token id {bad}, outside the vocabulary [0, {self.config.vocab_size}): "
                    "the tokenizer does not match this model"
                )
            if attention_mask is None:
                attention_mask = input_ids != self.config.pad_token_id
        elif attention_mask is None:
            attention_mask = torch.ones(inputs_embeds.shape[:2], dtype=torch.bool, device=inputs_embeds.device)
        return attention_mask.bool()

    def _embed_at_front(
        self, input_ids: torch.LongTensor | None, inputs_embeds: torch.FloatTensor | None, mask: torch.Tensor
    ) -> tuple[torch.Tensor, _FrontLayout]:
        """Move each text's real tokens to the front (keeping their order: left padding or holes become right
        padding), trim to the longest text and embed. Returns the embeddings (batch, width, embedding_dim), after
        embedding dropout, and the layout that `_to_caller_layout` undoes."""
        batch, input_len = mask.shape
        if input_len == 0:
            # Texts that tokenise to nothing: one padding step keeps the GRU kernels happy.
            mask = F.pad(mask, (0, 1), value=False)
            if input_ids is not None:
                input_ids = F.pad(input_ids, (0, 1), value=self.config.pad_token_id)
            else:
                inputs_embeds = F.pad(inputs_embeds, (0, 0, 0, 1))
        seq_len = mask.shape[1]
        lengths = mask.sum(dim=1)  # (batch,)
        positions = torch.arange(seq_len, device=mask.device)
        right_padded = positions.unsqueeze(0) < lengths.unsqueeze(1)  # (batch, seq_len)
        order = None
        if not torch.equal(mask, right_padded):
            order = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)  # (batch, seq_len)
        width = max(int(lengths.max()), 1) if batch else 1

        if input_ids is not None:
            ids = input_ids if order is None else input_ids.gather(1, order)
            x = self.embeddings(ids[:, :width])  # (batch, width, embedding_dim)
        else:
            x = inputs_embeds if order is None else _gather_time(inputs_embeds, order)
            x = x[:, :width]
        token_mask = right_padded[:, :width].unsqueeze(-1)  # (batch, width, 1)
        layout = _FrontLayout(lengths, token_mask, order, width, seq_len, input_len)
        return self.embedding_dropout(x), layout

    def _to_caller_layout(self, states: torch.Tensor, layout: _FrontLayout) -> torch.Tensor:
        """Undo `_embed_at_front`: (batch, width, dim) states, zero at padding, back to the caller's (batch,
        input_len, dim) layout."""
        if layout.width < layout.seq_len:
            states = F.pad(states, (0, 0, 0, layout.seq_len - layout.width))  # (batch, seq_len, dim)
        if layout.order is not None:
            index = layout.order.unsqueeze(-1).expand(-1, -1, states.size(-1))
            states = torch.zeros_like(states).scatter_(1, index, states)
        return states[:, : layout.input_len]

    def _run_gru(self, x: torch.Tensor, lengths: torch.Tensor, per_layer: bool):
        """Run the GRU over right-padded embeddings `x` (batch, width, embedding_dim), width = longest text.

        Returns the last layer's states (batch, width, output_size; zero at padding),
        each text's final states of both directions (batch, output_size), and each layer's states when
        `per_layer` is set (else None)."""
        batch, width, _ = x.shape
        hidden, directions = self.config.hidden_size, 2 if self.config.bidirectional else 1
        num_tokens, grid = int(lengths.sum()), batch * width
        own_recurrence = self._uses_own_recurrence(x)
        padded_run = num_tokens == grid or (directions == 1 and num_tokens >= _PADDED_RUN_MIN_FILL * grid)
        if padded_run and not per_layer and not own_recurrence:
            return self._run_padded(x, lengths)

        # Ragged batch: pack. Texts of length 0 run one step over padding; the caller zeroes what they return.
        packed = nn.utils.rnn.pack_padded_sequence(
            x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        if own_recurrence:
            packed_layers, final = self._run_own_recurrence(packed)
        elif not per_layer:
            output, final = self.gru(packed)  # final: (num_layers * directions, batch, hidden), caller's order
            packed_layers = [output.data]
        else:
            data, packed_layers = packed.data, []
            for layer in range(self.config.num_hidden_layers):
                if layer > 0:
                    data = F.dropout(data, self.config.hidden_dropout, self.training)
                initial_state = data.new_zeros(directions, batch, hidden)
                data, final = _packed_gru_layer(
                    data,
                    packed.batch_sizes,
                    initial_state,
                    self._layer_weights(layer),
                    training=self.training,
                    bidirectional=directions == 2,
                )
                packed_layers.append(data)
            final = final.index_select(1, packed.unsorted_indices)  # back to the caller's order
        layers = [
            nn.utils.rnn.pad_packed_sequence(packed._replace(data=data), batch_first=True, total_length=width)[0]
            for data in packed_layers
        ]  # each (batch, width, output_size)
        final = final[-directions:].transpose(0, 1).reshape(batch, directions * hidden)
        return layers[-1], final, layers if per_layer else None

    def _uses_own_recurrence(self, x: torch.Tensor) -> bool:
        """CPU float32 training runs `_PackedGRULayer` (faster there, see scripts/benchmarks/gru_engine.py); GPUs
        keep cuDNN, inference and autocast keep `nn.GRU`."""
        return (
            self.use_own_cpu_recurrence
            and self.training
            and torch.is_grad_enabled()
            and x.device.type == "cpu"
            and x.dtype == torch.float32
            and not torch.is_autocast_enabled("cpu")
        )

    def _run_own_recurrence(self, packed) -> tuple[list[torch.Tensor], torch.Tensor]:
        """All layers through `_PackedGRULayer`, with `nn.GRU`'s weights and inter-layer dropout. Returns each
        layer's packed output and the last layer's final states (directions, batch, hidden) in the caller's
        order."""
        hidden, batch_sizes = self.config.hidden_size, packed.batch_sizes
        data, packed_layers = packed.data, []
        for layer in range(self.config.num_hidden_layers):
            if layer > 0:
                data = F.dropout(data, self.config.hidden_dropout, self.training)
            data = _PackedGRULayer.apply(data, batch_sizes, *self._layer_weights(layer))  # (total, output_size)
            packed_layers.append(data)
        sizes, offsets, _, _ = _packed_positions(batch_sizes.tolist(), data.device)
        rows = torch.arange(int(sizes[0]), device=data.device)
        lengths = (sizes.unsqueeze(1) > rows).sum(0)  # (batch,) in packed (length-sorted) order
        finals = [data[offsets[lengths - 1] + rows, :hidden]]  # forward direction: at each text's last token
        if self.config.bidirectional:
            finals.append(data[rows, hidden:])  # backward direction: at the first token
        return packed_layers, torch.stack(finals).index_select(1, packed.unsorted_indices)

    def _run_padded(self, x: torch.Tensor, lengths: torch.Tensor):
        """One GRU call over the padded batch, for batches without padding or nearly full causal ones: a forward
        GRU never looks past a text's last real token, so padding after it changes nothing that is read."""
        hidden = self.config.hidden_size
        states, _ = self.gru(x)  # (batch, width, output_size)
        width = x.size(1)
        if int(lengths.min()) < width:  # a nearly full causal batch: zero the states the GRU ran over padding
            states = states * (torch.arange(width, device=x.device) < lengths.unsqueeze(1)).unsqueeze(-1)
        last_token = (lengths - 1).clamp(min=0)
        forward_final = states[torch.arange(x.size(0), device=x.device), last_token, :hidden]  # (batch, hidden)
        # A full bidirectional batch: the backward direction ends at position 0.
        return states, torch.cat([forward_final, states[:, 0, hidden:]], dim=-1), None

    def _pool(self, states: torch.Tensor, final: torch.Tensor, layout: _FrontLayout) -> torch.Tensor:
        """The sentence vector (batch, pooled_size) from states (batch, width, output_size), zero at padding,
        and final states (batch, output_size); zero for texts of length 0."""
        is_empty = (layout.lengths == 0).unsqueeze(-1)  # (batch, 1)
        if self.config.pooling == "last":
            return final.masked_fill(is_empty, 0.0)
        pooled = []
        if self.config.pooling in ("max", "max_mean"):
            # Padding made -inf by adding a (batch, width, 1) bias: on CPU that is several times faster than
            # masked_fill with the broadcast mask. Without gradients `amax` gives the same values as `max(dim)`
            # 20x faster on CPU (no indices); with them `max(dim)` keeps its gradient (one index per tie).
            padding_bias = torch.zeros_like(layout.token_mask, dtype=states.dtype).masked_fill_(
                ~layout.token_mask, float("-inf")
            )
            masked = states + padding_bias
            if torch.is_grad_enabled() and masked.requires_grad:
                best = masked.max(dim=1).values
            else:
                best = masked.amax(dim=1)
            pooled.append(best.masked_fill(is_empty, 0.0))
        if self.config.pooling in ("mean", "max_mean"):
            mean = states.sum(dim=1) / layout.lengths.clamp(min=1).unsqueeze(-1).to(states.dtype)
            pooled.append(mean.masked_fill(is_empty, 0.0))  # an empty text's one step over padding is not a state
        return pooled[0] if len(pooled) == 1 else torch.cat(pooled, dim=-1)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> BaseModelOutputWithPooling | tuple:
        r"""
        input_ids (`torch.LongTensor` of shape `(batch_size, sequence_length)`):
            Token ids. Padding may be on either side; texts of length 0 give a zero sentence vector.
        attention_mask (`torch.Tensor` of shape `(batch_size, sequence_length)`, *optional*):
            1 for real tokens, 0 for padding. Defaults to `input_ids != pad_token_id`.
        token_type_ids:
            Accepted for compatibility with tokenizers that return it, and ignored.
        """
        del token_type_ids
        output_hidden_states = (
            output_hidden_states if output_hidden_states is not None else self.config.output_hidden_states
        )
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        mask = self._check_inputs(input_ids, attention_mask, inputs_embeds)  # (batch, seq_len)
        if self.gru.weight_ih_l0.is_cuda:
            self.gru.flatten_parameters()  # replicas made by nn.DataParallel are not contiguous

        x, layout = self._embed_at_front(input_ids, inputs_embeds, mask)  # (batch, width, embedding_dim)
        states, final, layers = self._run_gru(x, layout.lengths, per_layer=bool(output_hidden_states))
        pooled = self._pool(states, final, layout)  # (batch, pooled_size)

        hidden_states = tuple(self._to_caller_layout(t, layout) for t in layers) if output_hidden_states else None
        last_hidden_state = hidden_states[-1] if hidden_states else self._to_caller_layout(states, layout)
        if not return_dict:
            return tuple(v for v in (last_hidden_state, pooled, hidden_states) if v is not None)
        return BaseModelOutputWithPooling(
            last_hidden_state=last_hidden_state, pooler_output=pooled, hidden_states=hidden_states
        )


class GRUForSequenceClassification(GRUPreTrainedModel):
    """`GRUModel` with dropout and a linear classifier on the pooled sentence vector. Losses follow
    `BertForSequenceClassification`: regression (MSE), single-label (cross-entropy) or multi-label (BCE)."""

    def __init__(self, config: GRUConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.model = GRUModel(config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(config.pooled_size, config.num_labels)
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.model.embeddings

    def set_input_embeddings(self, value: nn.Embedding):
        self.model.embeddings = value

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
    ) -> SequenceClassifierOutput | tuple:
        r"""
        labels (`torch.Tensor` of shape `(batch_size,)` or `(batch_size, num_labels)`, *optional*):
            Class ids for single-label classification, multi-hot floats for multi-label classification, or
            targets for regression (`num_labels == 1`).
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        outputs = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            inputs_embeds=inputs_embeds,
            output_hidden_states=output_hidden_states,
            return_dict=True,
        )
        logits = self.classifier(self.dropout(outputs.pooler_output))  # (batch, num_labels)

        loss = None
        if labels is not None:
            loss = self._loss(logits, labels.to(logits.device))
        if not return_dict:
            output = (logits,) + ((outputs.hidden_states,) if outputs.hidden_states is not None else ())
            return ((loss,) + output) if loss is not None else output
        return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=outputs.hidden_states)

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.config.problem_type is None:
            if self.num_labels == 1:
                self.config.problem_type = "regression"
            elif labels.dtype in (torch.long, torch.int):
                self.config.problem_type = "single_label_classification"
            else:
                self.config.problem_type = "multi_label_classification"

        if self.config.problem_type == "single_label_classification":
            labels = labels.view(-1)
            valid = labels != -100
            if ((labels[valid] < 0) | (labels[valid] >= self.num_labels)).any():
                bad = labels[valid & ((labels < 0) | (labels >= self.num_labels))][0].item()
                raise ValueError(f"label {bad} is out of range for a model with num_labels={self.num_labels}")
            return F.cross_entropy(logits.view(-1, self.num_labels), labels)
        if torch.isnan(labels).any():
            raise ValueError(f"labels contain NaN ({self.config.problem_type})")
        if self.config.problem_type == "regression":
            if self.num_labels == 1:
                return F.mse_loss(logits.squeeze(-1), labels.view(-1).to(logits.dtype))
            return F.mse_loss(logits, labels.to(logits.dtype))
        if labels.shape != logits.shape:
            raise ValueError(
                f"multi-label targets must have shape (batch_size, num_labels) = {tuple(logits.shape)}, "
                f"got {tuple(labels.shape)}"
            )
        return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


__all__ = ["GRUPreTrainedModel", "GRUModel", "GRUForSequenceClassification"]
