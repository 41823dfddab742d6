"""Peak memory: one training job and one inference pass, each in a fresh interpreter (multiprocessing "spawn", so
nothing this process has allocated counts), reporting VmHWM after imports and at the end."""

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from .data import data_arguments
from .inference import timed_model_dir
from .report import fmt, table
from .settings import DATASETS
from .timing import log, peak_rss_mb


def measure_training(spec: dict) -> dict:
    """Runs in the fresh process: one `gru_hf.training.train` job on SST-2."""
    from gru_hf.training import GRUTrainingArguments, ModelArguments, train

    from .runner import quiet_libraries

    quiet_libraries()
    baseline = peak_rss_mb()
    train(
        ModelArguments(**spec["model"]),
        data_arguments(spec["data_dir"], "sst2", spec["workdir"]),
        GRUTrainingArguments(
            output_dir=spec["output_dir"],
            overwrite_output_dir=True,
            disable_tqdm=True,
            logging_strategy="no",
            **spec["training"],
        ),
    )
    return {"baseline_after_imports_mb": baseline, "peak_rss_mb": peak_rss_mb()}


def measure_inference(spec: dict) -> dict:
    """Runs in the fresh process: the pipeline over every text at batch 64, then the first 200 at batch 1."""
    from transformers import pipeline

    from .data import read_csv
    from .runner import quiet_libraries

    quiet_libraries()
    baseline = peak_rss_mb()
    texts = read_csv(spec["texts_file"])[0]
    classifier = pipeline("text-classification", model=spec["model_dir"], device="cpu")
    classifier(texts, batch_size=64)
    for t in texts[:200]:
        classifier(t)
    return {"baseline_after_imports_mb": baseline, "peak_rss_mb": peak_rss_mb()}


def in_fresh_processes(*jobs) -> list[dict]:
    """Each `(function, spec)` in a fresh process of its own, side by side (a process's peak is its own)."""
    with ProcessPoolExecutor(max_workers=len(jobs), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(function, spec) for function, spec in jobs]
        return [future.result() for future in futures]


def run(data_dir: str, workdir: str, quick: bool) -> dict:
    model = {"hidden_size": 16, "embedding_dim": 16, "min_frequency": 1} if quick else {}
    training = {"num_train_epochs": 1, "seed": 0, "save_strategy": "no", "load_best_model_at_end": False}
    train_spec = {
        "data_dir": data_dir,
        "workdir": workdir,
        "model": model,
        "training": training,
        "output_dir": os.path.join(workdir, "memory-train"),
    }
    model_dir = timed_model_dir(data_dir, workdir)
    log("memory: a training job and an inference pass, each in a fresh process")
    texts_file = os.path.join(data_dir, DATASETS["sst2"]["test"])
    train_rss, infer_rss = in_fresh_processes(
        (measure_training, train_spec), (measure_inference, {"model_dir": model_dir, "texts_file": texts_file})
    )
    return {
        "method": "VmHWM from /proc/self/status in a fresh spawned process (ru_maxrss survives execve)",
        "rows": {
            "training job (tiny)" if quick else "training job (SST-2, 1 epoch, project default sizes)": train_rss,
            "inference (pipeline over SST-2 dev, batch 64 and batch 1)": infer_rss,
        },
    }


def render(results: dict) -> str:
    rows = [
        [name, fmt(row["baseline_after_imports_mb"], 0), fmt(row["peak_rss_mb"], 0)]
        for name, row in results["rows"].items()
    ]
    lines = [
        f"Resident memory, {results['method']}.",
        "",
        *table(["process", "after imports MB", "peak MB"], ["l", "r", "r"], rows),
    ]
    return "\n".join(lines)
