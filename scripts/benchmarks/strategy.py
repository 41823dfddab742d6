"""The GRU's execution strategy alone, same data and loop: gru-hf (packs ragged batches) against a bare
pack_padded_sequence + nn.GRU and a naive padded nn.GRU (incorrect: padding enters the states), on length-grouped
and random batches, one and two directions."""

from functools import partial

from .data import speed_data
from .engine import peak_line, timed_loop
from .peers import GRUHFAdapter, SeedClassifier
from .report import fmt, table
from .settings import SPEED_REPEATS
from .timing import interleaved, log, measure_peak, utilisation

PACKED = "pack_padded_sequence + nn.GRU"
STRATEGIES = {
    "gru-hf (packs ragged batches)": (GRUHFAdapter, {}),
    PACKED: (SeedClassifier, {"packed": True}),
    "naive padded nn.GRU (incorrect)": (SeedClassifier, {}),
}


def run(data_dir: str, workdir: str, quick: bool) -> dict:
    log("strategy: peak GEMM")
    peak = measure_peak(quick)
    data = speed_data(data_dir, workdir, quick)
    sizes_base = {"embedding_dim": 16, "hidden_size": 16} if quick else {"embedding_dim": 100, "hidden_size": 128}
    repeats = 1 if quick else SPEED_REPEATS
    section = {
        "peak": peak,
        "data": data["stats"],
        "sizes": sizes_base,
        "flush_denormal": True,
        "repeats": repeats,
        "rows": {},
    }
    for bidirectional in (False, True):
        sizes = {**sizes_base, "bidirectional": bidirectional}
        for order in ("grouped", "random"):
            key = f"{'bidirectional' if bidirectional else 'unidirectional'}, " + (
                "length-grouped batches" if order == "grouped" else "random batches"
            )
            log(f"strategy: {key}")
            jobs = {
                name: partial(timed_loop, cls, data, sizes, order, 1, True, **kwargs)
                for name, (cls, kwargs) in STRATEGIES.items()
            }
            rows = interleaved(jobs, repeats)
            base = rows[PACKED]["tokens_per_s"]
            for row in rows.values():
                row["speedup_vs_packed"] = row["tokens_per_s"] / base
                row["utilisation"] = utilisation(row["tokens_per_s"], sizes, peak)
            section["rows"][key] = rows
    return section


def render(results: dict) -> str:
    rows = [
        [
            key,
            name,
            fmt(row["tokens_per_s"], 0),
            f"{row['speedup_vs_packed']:.2f}x",
            f"{100 * row['utilisation']['of_peak_step_gemm']:.1f}",
            f"{100 * row['clean_fraction']:.0f}",
        ]
        for key, block in results["rows"].items()
        for name, row in block.items()
    ]
    d, sizes = results["data"], results["sizes"]
    lines = [
        f"E={sizes['embedding_dim']}, H={sizes['hidden_size']}, batch 64, flush-to-zero, 1 epoch over the first "
        f"{d['texts']:,} SST-2 training texts ({d['tokens']:,} real tokens); best of {results['repeats']} "
        f"interleaved runs. {peak_line(results['peak'])}",
        "",
        *table(
            ["direction, batching", "strategy", "real tokens/s", "vs packed", "% of step-GEMM peak", "clean %"],
            ["l", "l", "r", "r", "r", "r"],
            rows,
        ),
    ]
    return "\n".join(lines)
