"""GRU training engines on CPU: `nn.GRU` over packed batches (as gru-hf ran before) against gru-hf's own packed
recurrence (`_PackedGRULayer` in gru_hf/modeling_gru.py), forward + backward, with the recurrent-step GEMM peak.
A third engine, tried and not kept, runs the same recurrence with its two step loops (`_recurrence_forward`,
`_backward_steps`) compiled by `torch.jit.script`, which moves the per-step Python into TorchScript's interpreter
(torch 2.13 warns that `torch.jit.script` is deprecated, in favour of `torch.compile` and `torch.export`).

Usage: `cd scripts && python -m benchmarks.gru_engine [--quick]` prints JSON. Timings are interleaved (engine A,
engine B, A, B, ...) and the best repeat of each is kept, so that load from other processes penalises both alike.
FLOPs per real token for training: 3 (forward + two backward GEMMs) * 2 * 3H(E+H) per direction per layer.
"""

import contextlib
import json
import sys
import time
import warnings

import torch
from torch import nn

from gru_hf import modeling_gru
from gru_hf.modeling_gru import _PackedGRULayer

ENGINES = ("nn.GRU", "gru-hf packed recurrence", "gru-hf recurrence, loops in TorchScript")

SIZES = [  # (name, embedding_dim, hidden_size, bidirectional)
    ("seed sizes E=50 H=100 unidirectional", 50, 100, False),
    ("default sizes E=100 H=128 bidirectional", 100, 128, True),
]


def _batches(batch: int, embedding_dim: int, count: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(count):
        lengths = torch.randint(5, 51, (batch,), generator=g)  # SST-2-like lengths
        x = torch.randn(batch, int(lengths.max()), embedding_dim, generator=g)
        out.append((x, lengths))
    return out


_SCRIPTED = {}


@contextlib.contextmanager
def _scripted_loops():
    """gru-hf's recurrence with its step loops compiled by TorchScript, for the duration of the block."""
    if not _SCRIPTED:  # compiled once, at the warm-up
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            for name in ("_recurrence_forward", "_backward_steps"):
                _SCRIPTED[name] = torch.jit.script(getattr(modeling_gru, name))
    originals = {name: getattr(modeling_gru, name) for name in _SCRIPTED}
    for name, function in _SCRIPTED.items():
        setattr(modeling_gru, name, function)
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(modeling_gru, name, function)


def _step(gru: nn.GRU, x: torch.Tensor, lengths: torch.Tensor, engine: str) -> torch.Tensor:
    """Forward + backward of one batch; returns the gradient of the input."""
    x = x.detach().requires_grad_()
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    with _scripted_loops() if engine == ENGINES[2] else contextlib.nullcontext():
        if engine == "nn.GRU":
            out = gru(packed)[0].data
        else:
            out = _PackedGRULayer.apply(
                packed.data, packed.batch_sizes, *[getattr(gru, n) for n in gru._flat_weights_names]
            )
        out.sum().backward()
    return x.grad


def _gemm_peak(batch: int, hidden: int, repeats: int) -> float:
    a, b = torch.randn(batch, hidden), torch.randn(hidden, 3 * hidden)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(200):
            torch.mm(a, b)
        best = min(best, (time.perf_counter() - start) / 200)
    return 2 * batch * hidden * 3 * hidden / best


def run(data_dir: str | None = None, workdir: str | None = None, quick: bool = False) -> dict:
    """Forward + backward tokens/s of `nn.GRU` (packed) and gru-hf's own packed recurrence on the same synthetic
    batches (lengths 5..50), interleaved, best of `repeats`; the data and work folders are not needed."""
    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    engines = ENGINES
    repeats, count = (1, 2) if quick else (5, 6)
    results = {"threads": torch.get_num_threads(), "torch": torch.__version__, "rows": []}
    for name, embedding_dim, hidden, bidirectional in SIZES[:1] if quick else SIZES:
        for batch in (32,) if quick else (32, 64):
            gru = nn.GRU(embedding_dim, hidden, bidirectional=bidirectional, batch_first=True)
            batches = _batches(batch, embedding_dim, count)
            tokens = sum(int(lengths.sum()) for _, lengths in batches)
            for x, lengths in batches[:1]:  # warm-up, and the TorchScript loops compute what the Python ones do
                grads = [_step(gru, x, lengths, engine) for engine in engines]
                if not torch.equal(grads[1], grads[2]):
                    raise AssertionError("the TorchScript loops' gradients differ from the Python loops'")
            best = dict.fromkeys(engines, float("inf"))
            for _ in range(repeats):
                for engine in engines:
                    start = time.perf_counter()
                    for x, lengths in batches:
                        _step(gru, x, lengths, engine)
                    best[engine] = min(best[engine], time.perf_counter() - start)
            peak = _gemm_peak(batch, hidden, repeats)
            directions = 2 if bidirectional else 1
            flops_per_token = 3 * 2 * 3 * hidden * (embedding_dim + hidden) * directions
            row = {"sizes": name, "batch": batch, "gemm_peak_gflops": peak / 1e9}
            for engine in engines:
                rate = tokens / best[engine]
                row[engine] = {"tokens_per_s": rate, "utilisation": rate * flops_per_token / peak}
            row["speedup"] = row[engines[1]]["tokens_per_s"] / row[engines[0]]["tokens_per_s"]
            row["torchscript_vs_python"] = row[engines[2]]["tokens_per_s"] / row[engines[1]]["tokens_per_s"]
            results["rows"].append(row)
    return results


def render(results: dict) -> str:
    """The engine table: tokens/s of each engine, the speed-up and the share of the step-GEMM peak."""
    lines = [
        f"Forward + backward on synthetic batches (lengths 5-50), {results['threads']} threads, torch "
        f"{results['torch']}; best of interleaved repeats.",
        "",
        "| sizes | batch | nn.GRU tokens/s | gru-hf recurrence tokens/s | speed-up | loops in TorchScript (not kept) "
        "tokens/s | TorchScript vs Python loops | step-GEMM peak GFLOP/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        scripted = row.get(ENGINES[2])  # records before the TorchScript engine have no such column
        lines.append(
            f"| {row['sizes']} | {row['batch']} | {row['nn.GRU']['tokens_per_s']:,.0f} | "
            f"{row['gru-hf packed recurrence']['tokens_per_s']:,.0f} | {row['speedup']:.2f}x | "
            + (f"{scripted['tokens_per_s']:,.0f} | {row['torchscript_vs_python']:.2f}x | " if scripted else "- | - | ")
            + f"{row['gemm_peak_gflops']:.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    results = run(quick="--quick" in sys.argv)
    print(json.dumps(results, indent=2))
    print(render(results))
