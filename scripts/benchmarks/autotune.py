"""`--autotune_seconds` against the defaults (issue 12): the same `gru-hf train` command a user would type, with and
without `--autotune_seconds AUTOTUNE_BUDGET_S`, on the embedded BBC News default, MR, SST-2 and BBC's titles, GloVe
6B 50d (`--glove glove-6b-50d`), for SEEDS seeds.

Splits: BBC the package's own (stratified 80/10/10, seed 42, duplicates dropped); MR 10% of train.csv carved for
validation; SST-2 the sentence-held-out validation split of data.py, GLUE dev as test; BBC titles (the defaults
sweep's `bbc_titles` CSV, written into the workdir) 10% carved for test and 10% for validation, seed 42. The
search sees validation only; the test split is scored once per job. Jobs run AUTOTUNE_WORKERS at a time, each with
its share of the machine's cores as torch threads: one at a time with every core, as a user runs the command (the
budget is wall-clock seconds, so a search sharing the machine would get less done). Each finished job is appended to
`<workdir>/autotune.jsonl`, so an interrupted run keeps what it measured.

    python scripts/benchmark.py --sections autotune --data_dir ../shared/data

GRU_HF_AUTOTUNE_DATASETS and GRU_HF_AUTOTUNE_SEEDS (comma-separated) limit a run to some datasets or seeds; the
rendered table says which were measured. GRU_HF_AUTOTUNE_ROWS=defaults runs the plain command only (the defaults'
test accuracy, e.g. after a change of the defaults, without the hour of searches); no target is then checked.
GRU_HF_AUTOTUNE_SECONDS=N gives the searches N seconds instead of AUTOTUNE_BUDGET_S (the record names the budget).
"""

import json
import multiprocessing
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

from .accuracy import summarise_runs
from .report import fmt, table
from .settings import (
    AUTOTUNE_BUDGET_S,
    AUTOTUNE_DATASETS,
    AUTOTUNE_QUICK_BUDGET_S,
    AUTOTUNE_QUICK_DATASETS,
    AUTOTUNE_WORKERS,
    DATASETS,
    GLOVE_FILE,
    QUICK_SEEDS,
    SEEDS,
    SPLIT_SEED,
    VALIDATION_PERCENT,
)
from .timing import log

DEFAULTS_ROW = "defaults"
AUTOTUNE_ROW = "--autotune_seconds"
TEST_NAMES = {
    "bbc": "BBC News test (package split)",
    "bbc_titles": "BBC titles test (10% carved)",
    **{k: v["test_name"] for k, v in DATASETS.items()},
}


def data_argv(data_dir: str, name: str, workdir: str) -> list[str]:
    """The data flags of dataset `name` (none for the embedded BBC default)."""
    from .data import sst2_sentence_split

    if name == "bbc":
        return []
    if name == "sst2":
        files = sst2_sentence_split(data_dir, workdir)
        return [
            f"--{k}" if i % 2 == 0 else files[k]
            for k in ("train_file", "validation_file", "test_file")
            for i in (0, 1)
        ]
    if name == "bbc_titles":
        from .defaults import bbc_short_file

        train_file, test = bbc_short_file(name, workdir), ["--test_split_percentage", str(VALIDATION_PERCENT)]
    else:
        spec = DATASETS[name]
        train_file, test = os.path.join(data_dir, spec["train"]), ["--test_file", os.path.join(data_dir, spec["test"])]
    return [
        "--train_file",
        train_file,
        *test,
        "--validation_split_percentage",
        str(VALIDATION_PERCENT),
        "--split_seed",
        str(SPLIT_SEED),
    ]


def job_argv(job: dict) -> list[str]:
    """`gru-hf train` arguments of one job: the dataset's data flags, GloVe 50d, the seed, and the budget for the
    autotune row; --quick adds tiny sizes and one epoch."""
    argv = [*job["data_argv"], "--glove", job["glove"], "--seed", str(job["seed"])]
    argv += ["--output_dir", job["output_dir"], "--overwrite_output_dir", "true", "--disable_tqdm", "true"]
    if job["row"] == AUTOTUNE_ROW:
        argv += ["--autotune_seconds", str(job["budget_s"])]
    if job["quick"]:
        argv += ["--hidden_size", "8", "--num_train_epochs", "2", "--max_train_samples", "120"]
    return argv


def run_job(job: dict) -> dict:
    """One `gru-hf train` job in a worker process (`job["threads"]` torch threads), appended to the section's log."""
    import torch

    from gru_hf.cli import parse_train_arguments
    from gru_hf.training import train

    from .runner import quiet_libraries

    torch.set_num_threads(job["threads"])
    quiet_libraries()
    argv = job_argv(job)
    start = time.perf_counter()
    try:
        results = train(*parse_train_arguments(argv))
    except ValueError as err:  # the job's own refusal (e.g. a budget too small for one trial): a measured outcome
        row = {k: job[k] for k in ("dataset", "row", "seed")} | {
            "error": str(err),
            "job_s": time.perf_counter() - start,
            "argv": ["gru-hf", "train", *argv],
        }
        with open(job["log_path"], "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")
        return row
    row = {
        "dataset": job["dataset"],
        "row": job["row"],
        "seed": job["seed"],
        "test_accuracy": 100.0 * results["test"]["test_accuracy"],
        "validation_accuracy": 100.0 * results["validation"]["eval_accuracy"],
        "train_s": float(results["train_runtime_s"]),
        "job_s": time.perf_counter() - start,
        "argv": ["gru-hf", "train", *argv],
    }
    search = results.get("search")
    if search:
        states = [t["state"] for t in search["trials"]]
        row["search"] = {
            "trials": len(states),
            "complete": states.count("complete"),
            "pruned": states.count("pruned"),
            "chosen_trial": search["chosen"]["trial"],
            "metric": search["metric"],
            "chosen_value": search["chosen"]["value"],
            "chosen_params": search["chosen"]["params"],
            "best_trial": search["best"]["trial"],
            "best_value": search["best"]["value"],
            "min_gain": search["min_gain"],
            "search_s": search["search_s"],
            "total_s": search["total_s"],
        }
    with open(job["log_path"], "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    return row


def _limited(variable: str, default: tuple, cast=str) -> tuple:
    value = os.environ.get(variable, "").strip()
    return tuple(cast(v.strip()) for v in value.split(",") if v.strip()) if value else default


def _threads() -> int:
    """Each worker's share of the cores this process may use."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, cores // AUTOTUNE_WORKERS)


def plan(data_dir: str, workdir: str, quick: bool) -> list[dict]:
    """Seed by seed, dataset by dataset, a defaults job next to its autotune job."""
    from gru_hf.vectors import DEFAULT_VECTORS

    datasets = AUTOTUNE_QUICK_DATASETS if quick else _limited("GRU_HF_AUTOTUNE_DATASETS", AUTOTUNE_DATASETS)
    seeds = QUICK_SEEDS if quick else _limited("GRU_HF_AUTOTUNE_SEEDS", SEEDS, int)
    unknown = [name for name in datasets if name not in AUTOTUNE_DATASETS]
    if unknown:
        raise ValueError(f"GRU_HF_AUTOTUNE_DATASETS: unknown dataset(s) {unknown}; choose from {AUTOTUNE_DATASETS}")
    rows = (AUTOTUNE_ROW, DEFAULTS_ROW) if quick else _limited("GRU_HF_AUTOTUNE_ROWS", (AUTOTUNE_ROW, DEFAULTS_ROW))
    if not rows or not set(rows) <= {AUTOTUNE_ROW, DEFAULTS_ROW}:
        raise ValueError(f"GRU_HF_AUTOTUNE_ROWS: choose from {DEFAULTS_ROW!r} and {AUTOTUNE_ROW!r}, got {list(rows)}")
    glove = os.path.join(data_dir, GLOVE_FILE) if quick else DEFAULT_VECTORS
    threads = 1 if quick else _threads()
    budget_s = AUTOTUNE_QUICK_BUDGET_S if quick else _limited("GRU_HF_AUTOTUNE_SECONDS", (AUTOTUNE_BUDGET_S,), int)[0]
    flags = {name: data_argv(data_dir, name, workdir) for name in datasets}
    return [
        {
            "dataset": name,
            "row": row,
            "seed": seed,
            "data_argv": flags[name],
            "glove": glove,
            "quick": quick,
            "threads": threads,
            "budget_s": budget_s,
            "output_dir": os.path.join(
                workdir, "autotune", f"{name}-{'tuned' if row == AUTOTUNE_ROW else row}-{seed}"
            ),
            "log_path": os.path.join(workdir, "autotune.jsonl"),
        }
        for seed in seeds
        for name in datasets
        for row in rows
    ]


def summarise(runs: list[dict]) -> dict:
    """dataset -> {row: summary over the seeds both rows measured, "targets": checks}."""
    by_dataset, errors = {}, {}
    for run in runs:
        if "error" in run:
            errors.setdefault(run["dataset"], {}).setdefault(run["row"], {})[str(run["seed"])] = run["error"]
            continue
        by_dataset.setdefault(run["dataset"], {}).setdefault(run["row"], []).append(run)
    for name in errors:
        by_dataset.setdefault(name, {})
    out = {}
    for name, rows in by_dataset.items():
        seeds = set.intersection(*({r["seed"] for r in rs} for rs in rows.values())) if rows else set()
        models = {
            row: {**summarise_runs([r for r in rs if r["seed"] in seeds]), "seeds": sorted(seeds)}
            for row, rs in rows.items()
            if seeds
        }
        for row, rs in rows.items():
            if row in models:
                models[row]["job_s_mean"] = statistics.fmean(r["job_s"] for r in rs if r["seed"] in seeds)
        out[name] = {"test_name": TEST_NAMES.get(name, name), "models": models, "errors": errors.get(name, {})}
    return out


def target_checks(summary: dict) -> dict:
    """Issue 12: the autotune row at least the defaults' test accuracy on every dataset, higher on most."""
    checks, higher = {}, 0
    for entry in summary.values():
        models = entry["models"]
        if AUTOTUNE_ROW in entry.get("errors", {}):
            checks[f"{entry['test_name']}: autotune >= defaults"] = {"met": False, "value": None, "margin": None}
            continue
        if AUTOTUNE_ROW not in models or DEFAULTS_ROW not in models:
            continue
        got, base = models[AUTOTUNE_ROW]["test_accuracy_mean"], models[DEFAULTS_ROW]["test_accuracy_mean"]
        checks[f"{entry['test_name']}: autotune >= defaults"] = {
            "met": got >= base,
            "value": got,
            "margin": got - base,
        }
        higher += got > base
    if checks:
        n = len(checks)
        checks["autotune higher than the defaults on most datasets"] = {
            "met": higher > n / 2,
            "value": higher,
            "margin": higher - n / 2,
        }
    return checks


def run(data_dir: str, workdir: str, quick: bool) -> dict:
    os.makedirs(workdir, exist_ok=True)
    jobs = plan(data_dir, workdir, quick)
    log(f"autotune: {len(jobs)} jobs, {AUTOTUNE_WORKERS} at a time")
    if quick:
        runs = [run_job(job) for job in jobs]
    else:
        with ProcessPoolExecutor(AUTOTUNE_WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
            runs = []
            for row in pool.map(run_job, jobs):
                outcome = f"refused: {row['error']}" if "error" in row else f"test {row['test_accuracy']:.2f}"
                log(f"autotune: {row['dataset']} {row['row']} seed {row['seed']}: {outcome}")
                runs.append(row)
    summary = summarise(runs)
    return {
        "budget_s": jobs[0]["budget_s"],
        "workers": 1 if quick else AUTOTUNE_WORKERS,
        "threads": jobs[0]["threads"],
        "seeds": sorted({j["seed"] for j in jobs}),
        "planned_datasets": list(AUTOTUNE_QUICK_DATASETS if quick else AUTOTUNE_DATASETS),
        "planned_seeds": list(QUICK_SEEDS if quick else SEEDS),
        "runs": runs,
        "datasets": summary,
        "targets": target_checks(summary),
        "winner_saved": "adopted",  # a winning trial's own weights are saved (git 1bcf1f5); before: retrained
    }


def _thread_text(results: dict) -> str:
    threads = results.get("threads", 1)  # records before 2026-12-04 ran one thread per job
    return f"{threads} torch thread{'s' if threads != 1 else ''}"


def _refusals(entry: dict) -> list[str]:
    """One line per refused job: row, seed and the package's message (records before 2026-12-04 kept one message
    per row, without its seed)."""
    lines = []
    for row, by_seed in entry.get("errors", {}).items():
        for seed, message in by_seed.items() if isinstance(by_seed, dict) else [(None, by_seed)]:
            where = f"{row}, seed {seed}" if seed is not None else row
            lines.append(f"- {entry['test_name']}, {where}: refused, `{message}`")
    return lines


def _best(search: dict) -> str:
    """The best trial, its score and the gain it needed over trial 0, where the record has them."""
    if "best_trial" not in search:
        return "-"
    return f"{search['best_trial']}: {fmt(search['best_value'], 4)} ({fmt(search['min_gain'], 4)})"


def _signed(value) -> str:
    return "" if value is None else f"{value:+.2f}"


def render(results: dict) -> str:
    rows = []
    for entry in results["datasets"].values():
        for row, m in entry["models"].items():
            rows.append(
                [
                    entry["test_name"],
                    "package defaults" if row == DEFAULTS_ROW else f"--autotune_seconds {results['budget_s']:g}",
                    f"{fmt(m['test_accuracy_mean'])} ± {fmt(m['test_accuracy_std'])}",
                    fmt(m["validation_accuracy_mean"]),
                    m["n_runs"],
                    fmt(m["job_s_mean"], 0),
                ]
            )
    searches = [
        [
            TEST_NAMES.get(r["dataset"], r["dataset"]),
            r["seed"],
            r["search"]["trials"],
            r["search"]["complete"],
            r["search"]["pruned"],
            r["search"]["chosen_trial"],
            f"{r['search']['metric']} {fmt(r['search']['chosen_value'], 4)}",
            _best(r["search"]),
            "your settings"
            if r["search"]["chosen_trial"] == 0
            else ", ".join(
                f"{k}={fmt(v, 4) if isinstance(v, float) else v}" for k, v in r["search"]["chosen_params"].items()
            ),
        ]
        for r in results["runs"]
        if r.get("search")
    ]
    checks = [
        [name, fmt(c["value"]) if c["value"] is not None else "refused", _signed(c["margin"]), fmt(c["met"])]
        for name, c in results["targets"].items()
    ]
    refusals = [line for entry in results["datasets"].values() for line in _refusals(entry)]
    missing = [TEST_NAMES.get(n, n) for n in results["planned_datasets"] if n not in results["datasets"]]
    limited = []
    if missing or results["seeds"] != results["planned_seeds"]:
        limited = [
            f"A limited run (GRU_HF_AUTOTUNE_DATASETS / GRU_HF_AUTOTUNE_SEEDS): seeds {results['seeds']} of "
            f"{results['planned_seeds']}" + (f"; not measured: {', '.join(missing)}." if missing else "."),
            "",
        ]
    tuned = any(r["row"] == AUTOTUNE_ROW for r in results["runs"])
    adopted = results.get("winner_saved") == "adopted"
    finish_text = "saving the chosen trial's model" if adopted else "any retrain"
    chosen_text = "saved with its own weights (not retrained)" if adopted else "retrained"
    if not tuned:  # GRU_HF_AUTOTUNE_ROWS=defaults: the plain command only
        return "\n".join(
            [
                *limited,
                f"`gru-hf train --glove glove-6b-50d` alone (GRU_HF_AUTOTUNE_ROWS=defaults: no search), seeds "
                f"{', '.join(map(str, results['seeds']))}, {results['workers']} job(s) at a time, "
                f"{_thread_text(results)} each. Test accuracy (%) mean ± std; job s: wall time of the whole job.",
                "",
                *table(["dataset", "command", "test acc", "val acc", "seeds", "job s"], ["l"] * 2 + ["r"] * 4, rows),
            ]
        )
    lines = [
        *limited,
        f"`gru-hf train --glove glove-6b-50d` with and without `--autotune_seconds {results['budget_s']:g}`, seeds "
        f"{', '.join(map(str, results['seeds']))}, {results['workers']} job(s) at a time, "
        f"{_thread_text(results)} each. "
        f"Test accuracy (%) mean ± std; job s: wall time of the whole job (trial 0, search, {finish_text}, test, "
        "card).",
        "",
        *table(["dataset", "command", "test acc", "val acc", "seeds", "job s"], ["l", "l", "r", "r", "r", "r"], rows),
        "",
        "Searches (trial 0 is the command's own settings; the best trial by the search metric on validation is "
        f"{chosen_text} if it beats trial 0 by more than the minimum gain, one standard error on the validation "
        "split, and trial 0 otherwise; records before that rule have no best / min gain):",
        "",
        *table(
            [
                "dataset",
                "seed",
                "trials",
                "complete",
                "pruned",
                "chosen",
                "its best validation",
                "best trial (min gain)",
                "chosen values",
            ],
            ["l", "r", "r", "r", "r", "r", "r", "r", "l"],
            searches,
        ),
        "",
        *(["Jobs that stopped with the package's own error:", "", *refusals, ""] if refusals else []),
        "Targets:",
        "",
        *table(["check", "value", "margin", "met"], ["l", "r", "r", "l"], checks),
    ]
    return "\n".join(lines)
