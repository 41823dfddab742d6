"""Run benchmark sections, merge their results into results.json section by section, render the documents.

    python scripts/benchmark.py                                  # every section, results of record
    python scripts/benchmark.py --sections engine,strategy       # rerun two sections; the others are kept
    python scripts/benchmark.py --quick --out /tmp/bench         # tiny smoke run, < 1 min, asserts nothing on speed
    python scripts/benchmark.py --render                         # README.md / model_card.md tables from results.json

A section is a module `benchmarks/<name>.py` with `run(data_dir, workdir, quick) -> dict` and `render(results) ->
str`. Each section's entry in results.json is {"stamp": {date, git, machine, command, ...}, "results": ...}, so a
section rerun alone replaces only its own entry."""

import argparse
import datetime
import importlib
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings

SCRIPTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(SCRIPTS_DIR)
RECORD_DIR = os.path.join(SCRIPTS_DIR, "benchmarks")
QUICK_DIR = os.path.join(REPO_ROOT, "outputs", "benchmark-quick")
DOCUMENTS = (os.path.join(REPO_ROOT, "README.md"), os.path.join(REPO_ROOT, "model_card.md"))
DEFAULT_DATA_DIR = os.path.join(REPO_ROOT, "..", "shared", "data")

# In run order. gru_engine, serving and distillation are written by other modules' owners; a missing one is
# reported and skipped.
SECTIONS = (
    "accuracy",
    "engine",
    "profile",
    "strategy",
    "inference",
    "tokenizer",
    "memory",
    "gru_engine",
    "serving",
    "distillation",
    "defaults",
    "autotune",
)
TITLES = {
    "accuracy": "Accuracy",
    "engine": "Training engine",
    "profile": "Trainer step profile",
    "strategy": "GRU execution strategy",
    "inference": "Inference",
    "tokenizer": "Tokenizer",
    "memory": "Peak memory",
    "gru_engine": "GRU engine",
    "serving": "Serving",
    "distillation": "Distillation",
    "defaults": "Default recipe candidates (validation)",
    "autotune": "Autotune against the defaults",
}


class MissingSection(Exception):
    pass


def load_section(name: str):
    """The module of section `name`, imported only when it is needed."""
    try:
        return importlib.import_module(f"benchmarks.{name}")
    except ModuleNotFoundError as err:
        if err.name == f"benchmarks.{name}":
            raise MissingSection(f"section {name!r}: scripts/benchmarks/{name}.py does not exist") from None
        raise


def git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def stamp(command: str, quick: bool, wall_s: float, started: str, load: list[float], commit: str | None) -> dict:
    """What a section's numbers were measured with; `commit` is taken when the run starts (edits made while it
    runs do not change it)."""
    import torch
    import transformers

    from gru_hf.hardware import cpu_name, hardware_description

    return {
        "date": started,
        "git": commit,
        "machine": hardware_description(),
        "cpu": cpu_name(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "command": command,
        "quick": quick,
        "wall_s": wall_s,
        "load_average_at_start": load,
    }


def read_results(path: str) -> dict:
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write_results(path: str, results: dict) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, sort_keys=False, allow_nan=False)
        f.write("\n")
    os.replace(tmp, path)


def render_section(name: str, entry: dict) -> str:
    """The generated Markdown of one section: its stamp line, then its tables."""
    from .report import stamp_line

    return f"{stamp_line(entry['stamp'])}\n\n{load_section(name).render(entry['results']).strip()}"


def render_report(results: dict) -> str:
    """Every section in results, as one Markdown page (results.md)."""
    parts = ["# gru-hf benchmark", ""]
    for name in [n for n in SECTIONS if n in results] + [n for n in results if n not in SECTIONS]:
        parts += [f"## {TITLES.get(name, name)}", "", render_section(name, results[name]), ""]
    return "\n".join(parts)


def render_documents(results: dict, documents=DOCUMENTS) -> dict[str, list[str]]:
    """Regenerate the marked blocks of `documents` from `results`; {document: [blocks written]}. A block whose
    section has no results is an error naming both."""
    from .report import block_names, write_blocks

    written = {}
    for path in documents:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        names = block_names(text)
        missing = [n for n in names if n not in results]
        if missing:
            raise SystemExit(f"{path}: benchmark block(s) {', '.join(missing)} have no results in results.json")
        new = write_blocks(text, {n: render_section(n, results[n]) for n in names})
        if new != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(new)
        written[path] = names
    return written


def quiet_libraries() -> None:
    import datasets
    import transformers

    transformers.logging.set_verbosity_error()
    datasets.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    logging.getLogger("gru_hf").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Benchmark gru-hf against the seed recipe, TF-IDF + LR and fastText.")
    parser.add_argument("--sections", help=f"comma-separated, from {','.join(SECTIONS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="tiny smoke run on the first rows of each file")
    parser.add_argument(
        "--out",
        help="folder of results.json and results.md (default: scripts/benchmarks, the results of record; "
        "outputs/benchmark-quick with --quick)",
    )
    parser.add_argument("--data_dir", default=DEFAULT_DATA_DIR, help="MR, SST-2 and GloVe (see settings.DATASETS)")
    parser.add_argument(
        "--render", action="store_true", help="only regenerate the tables in README.md and model_card.md"
    )
    parser.add_argument("--documents", nargs="+", default=list(DOCUMENTS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.out = args.out or (QUICK_DIR if args.quick else RECORD_DIR)
    args.data_dir = os.path.abspath(args.data_dir)
    if args.sections:
        args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
        unknown = [s for s in args.sections if s not in SECTIONS]
        if unknown:
            parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    return args


def run_sections(args, command: str) -> int:
    """Run the chosen sections; each one's entry is merged into results.json as soon as it finishes."""
    import torch

    from .data import make_quick_data
    from .timing import log

    quiet_libraries()
    results_path = os.path.join(args.out, "results.json")
    requested = args.sections or list(SECTIONS)
    status = 0
    commit = git_commit()
    with tempfile.TemporaryDirectory(prefix="gru-hf-bench-") as workdir:
        data_dir = args.data_dir
        if args.quick:
            data_dir = make_quick_data(args.data_dir, workdir)
            # One thread: a smoke run must not crawl when other processes share the cores.
            torch.set_num_threads(1)
        for name in requested:
            try:
                module = load_section(name)
            except MissingSection as err:
                log(str(err))
                status = status or (1 if args.sections else 0)
                continue
            log(f"section {name}")
            started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
            load = [round(v, 2) for v in os.getloadavg()]
            start = time.perf_counter()
            section = module.run(data_dir, workdir, args.quick)
            wall_s = time.perf_counter() - start
            entry = {"stamp": stamp(command, args.quick, wall_s, started, load, commit), "results": section}
            results = read_results(results_path)
            results[name] = entry
            write_results(results_path, results)
    if os.path.abspath(args.out) != RECORD_DIR:  # the record's own Markdown is README.md (--render)
        with open(os.path.join(args.out, "results.md"), "w", encoding="utf-8") as f:
            f.write(render_report(read_results(results_path)))
    log(f"done: {results_path}")
    return status


def main(argv=None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = parse_args(argv)
    if args.render:
        written = render_documents(read_results(os.path.join(args.out, "results.json")), args.documents)
        for path, names in written.items():
            print(f"{os.path.relpath(path, REPO_ROOT)}: {', '.join(names) or 'no benchmark blocks'}")
        return 0
    command = " ".join(["python", "scripts/benchmark.py", *(argv if argv is not None else sys.argv[1:])])
    return run_sections(args, command)
