"""Accuracy on MR and SST-2: gru-hf (random init and GloVe 50d, through the training job itself), the seed recipe,
TF-IDF + LR and fastText, on the same splits; targets checked against settings.TARGETS.

Splits: MR carves 10% of train.csv for validation (seed settings.SPLIT_SEED); SST-2 validates on held-out training
sentences with all their phrases (data.sst2_sentence_split). Every choice is made on validation; the test set (MR
test, SST-2 GLUE dev) is scored once. MR and SST-2 are never mixed."""

import os
import statistics
import time

import torch

import gru_hf

from .data import data_arguments, load_splits
from .peers import run_fasttext, run_seed_recipe, run_tfidf
from .report import fmt, table
from .settings import (
    DATASETS,
    FASTTEXT_ROW,
    GLOVE_FILE,
    GRU_HF_ROWS,
    GRU_HF_SETTINGS,
    MUST_BEAT,
    QUICK_SEEDS,
    SEED_BATCH,
    SEED_EPOCHS,
    SEED_LR,
    SEED_ROW,
    SEED_SIZES,
    SEEDS,
    TARGETS,
    TFIDF_ROW,
)
from .timing import log

VALIDATION = "MR: 10% of train.csv; SST-2: held-out training sentences with all their phrases"
ACCURACY_THREADS = 1  # one thread keeps the accuracy runs from crawling when other processes share the cores


def job_settings(data_dir: str, name: str, init: str, quick: bool) -> tuple[dict, dict]:
    """`ModelArguments` and `GRUTrainingArguments` keywords of dataset `name` / `init` (settings.GRU_HF_SETTINGS,
    tiny sizes with --quick): shared by every section that trains the accuracy section's gru-hf rows."""
    settings = GRU_HF_SETTINGS[name][init]
    model_kwargs = dict(settings["model"])
    training_kwargs = dict(settings["training"])
    if init == "glove":
        # The full 400k vectors as a user passes them; --quick the tiny data's own. The subset in ../shared/data holds
        # every MR and SST-2 word GloVe has, so the vectors' extra words (the short recipe's, or a section's own
        # --glove_extra_words) read from it would include the test texts' words.
        from gru_hf.vectors import DEFAULT_VECTORS

        model_kwargs.setdefault("glove", os.path.join(data_dir, GLOVE_FILE) if quick else DEFAULT_VECTORS)
    if quick:
        model_kwargs.update(hidden_size=16, min_frequency=1)
        if init != "glove":
            model_kwargs["embedding_dim"] = 16
        training_kwargs.update(num_train_epochs=1, per_device_eval_batch_size=64)
    return model_kwargs, training_kwargs


def job_training_arguments(output_dir: str, seed: int, training_kwargs: dict):
    """The `GRUTrainingArguments` of a benchmark job: quiet, overwriting `output_dir`, seeded."""
    from gru_hf.training import GRUTrainingArguments

    return GRUTrainingArguments(
        output_dir=output_dir,
        overwrite_output_dir=True,
        seed=seed,
        disable_tqdm=True,
        logging_strategy="no",
        **training_kwargs,
    )


def run_gru_hf_job(data_dir: str, name: str, init: str, seed: int, workdir: str, quick: bool) -> dict:
    """One `gru_hf.training.train` job with the settings of `name` / `init`."""
    from gru_hf.training import ModelArguments, train

    model_kwargs, training_kwargs = job_settings(data_dir, name, init, quick)
    training_args = job_training_arguments(os.path.join(workdir, f"{name}-{init}-seed{seed}"), seed, training_kwargs)
    start = time.perf_counter()
    results = train(ModelArguments(**model_kwargs), data_arguments(data_dir, name, workdir), training_args)
    return {
        "seed": seed,
        "test_accuracy": 100.0 * results["test"]["test_accuracy"],
        "validation_accuracy": 100.0 * results["validation"]["eval_accuracy"],
        "train_s": float(results["train_runtime_s"]),
        "job_s": time.perf_counter() - start,
        "epochs_run": float(results["validation"].get("epoch", float("nan"))),
        "glove_coverage": results.get("glove"),
    }


def summarise_runs(runs: list[dict]) -> dict:
    def mean_std(key):
        values = [r[key] for r in runs]
        return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0

    test_mean, test_std = mean_std("test_accuracy")
    val_mean, val_std = mean_std("validation_accuracy")
    return {
        "test_accuracy_mean": test_mean,
        "test_accuracy_std": test_std,
        "validation_accuracy_mean": val_mean,
        "validation_accuracy_std": val_std,
        "train_s_mean": statistics.fmean(r["train_s"] for r in runs),
        "n_runs": len(runs),
    }


def target_checks(name: str, models: dict) -> dict:
    checks = {}
    for label, target in TARGETS[name].items():
        got = models[label]["test_accuracy_mean"]
        checks[f"{label} >= {target}"] = {"met": got >= target, "value": got, "margin": got - target}
    for label in GRU_HF_ROWS.values():
        for baseline in MUST_BEAT:
            got, other = models[label]["test_accuracy_mean"], models[baseline]["test_accuracy_mean"]
            checks[f"{label} > {baseline}"] = {"met": got > other, "value": got, "margin": got - other}
    return checks


def run_dataset(data_dir: str, workdir: str, name: str, seeds, quick: bool) -> dict:
    log(f"accuracy: {name}: loading splits")
    splits = load_splits(data_dir, name, workdir)
    models = {}
    for init, label in GRU_HF_ROWS.items():
        runs = []
        for seed in seeds:
            log(f"accuracy: {name}: {label} seed {seed}")
            runs.append(run_gru_hf_job(data_dir, name, init, seed, workdir, quick))
            log(f"  test {runs[-1]['test_accuracy']:.2f}  val {runs[-1]['validation_accuracy']:.2f}")
        models[label] = {"runs": runs, "settings": GRU_HF_SETTINGS[name][init], **summarise_runs(runs)}

    tokenizer = gru_hf.train_tokenizer(splits["train"][0], vocab_size=30000, min_frequency=1 if quick else 2)
    runs = []
    for seed in seeds:
        log(f"accuracy: {name}: seed recipe seed {seed}")
        runs.append(run_seed_recipe(splits, name, seed, quick, tokenizer))
    models[SEED_ROW] = {
        "runs": runs,
        "settings": {**SEED_SIZES, "epochs": SEED_EPOCHS[name], "batch_size": SEED_BATCH, "lr": SEED_LR},
        **summarise_runs(runs),
    }
    log(f"accuracy: {name}: TF-IDF + LR, fastText")
    result = run_tfidf(splits, quick)
    models[TFIDF_ROW] = {**result, **summarise_runs(result["runs"])}
    result = run_fasttext(splits, list(seeds), quick, workdir)
    models[FASTTEXT_ROW] = {**result, **summarise_runs(result["runs"])}
    return {
        "sizes": {split: len(splits[split][0]) for split in ("train", "validation", "test")},
        "test_name": DATASETS[name]["test_name"],
        "models": models,
        "targets": target_checks(name, models),
    }


def run(data_dir: str, workdir: str, quick: bool) -> dict:
    seeds = QUICK_SEEDS if quick else SEEDS
    threads = torch.get_num_threads()
    torch.set_num_threads(ACCURACY_THREADS)
    try:
        datasets = {name: run_dataset(data_dir, workdir, name, seeds, quick) for name in DATASETS}
    finally:
        torch.set_num_threads(threads)
    return {"threads": ACCURACY_THREADS, "seeds": list(seeds), "validation": VALIDATION, "datasets": datasets}


def render(results: dict) -> str:
    datasets = results["datasets"].values()
    rows = [
        [
            d["test_name"],
            label,
            f"{fmt(row['test_accuracy_mean'])} ± {fmt(row['test_accuracy_std'])}",
            fmt(row["validation_accuracy_mean"]),
            row["n_runs"],
            fmt(row["train_s_mean"], 1),
        ]
        for d in datasets
        for label, row in d["models"].items()
    ]
    checks = [
        [d["test_name"], check, fmt(row["value"]), f"{row['margin']:+.2f}", fmt(row["met"])]
        for d in datasets
        for check, row in d["targets"].items()
    ]
    sizes = "; ".join(
        f"{d['test_name']}: train {d['sizes']['train']:,}, validation {d['sizes']['validation']:,}, "
        f"test {d['sizes']['test']:,}"
        for d in datasets
    )
    lines = [
        f"Test accuracy (%), mean ± std over seeds. Validation: {results['validation']}. "
        f"{results['threads']} torch thread(s).",
        "",
        *table(
            ["dataset", "model", "test acc", "val acc", "seeds", "train s (mean)"],
            ["l", "l", "r", "r", "r", "r"],
            rows,
        ),
        "",
        "Targets:",
        "",
        *table(["dataset", "check", "value", "margin", "met"], ["l", "l", "r", "r", "l"], checks),
        "",
        "Train s: gru-hf = the Trainer's train_runtime (includes per-epoch validation and checkpoints); seed = "
        f"training loop only; TF-IDF/fastText = fit of the chosen setting. Split sizes: {sizes}.",
    ]
    return "\n".join(lines)
