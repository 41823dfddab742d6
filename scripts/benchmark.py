"""Benchmark gru-hf against the seed recipe, TF-IDF + logistic regression and fastText, in one run.

Accuracy (MR and SST-2) and speed (training engine, execution strategy, utilisation, inference, tokenizer, peak
memory) are measured side by side in the same process, on the same data and splits, so the ratios can be trusted
even where absolute numbers drift on a shared machine.

    python scripts/benchmark.py                          # full run, ~25 min on 2 CPU cores
    python scripts/benchmark.py --quick --out /tmp/bench  # tiny smoke run, < 60 s, asserts nothing about speed
    python scripts/benchmark.py --sections speed          # one part only (accuracy, speed, inference, memory)

Data layout under --data_dir (CSV files with `text,label` columns):
    mr/train.csv, mr/test.csv, sst2/train.csv, sst2/dev.csv, glove/glove.6B.50d.subset.txt

Splits: a 10% validation split is carved from each training file (seeded by SPLIT_SEED) by gru-hf's own data
loader; every model trains on the remaining 90%, hyperparameters are chosen on the validation split only, and the
test set (MR test, SST-2 GLUE dev) is scored once. MR and SST-2 are never mixed.

Writes `results.json` and `results.md` into --out.
"""

import argparse
import contextlib
import csv
import datetime
import gc
import json
import logging
import math
import os
import platform
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from functools import partial

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

import gru_hf  # noqa: E402
from gru_hf.tokenization_gru import WORD_PATTERN  # noqa: E402

# ---------------------------------------------------------------------------------------------------------------
# Settings. Everything below was chosen on the validation splits (see benchmarks/NOTES.md), never on test.
# ---------------------------------------------------------------------------------------------------------------

DATASETS = {
    "mr": {"train": "mr/train.csv", "test": "mr/test.csv", "test_name": "MR test"},
    "sst2": {"train": "sst2/train.csv", "test": "sst2/dev.csv", "test_name": "SST-2 GLUE dev"},
}
GLOVE_FILE = "glove/glove.6B.50d.subset.txt"
SPLIT_SEED = 42
VALIDATION_PERCENT = 10

# gru-hf training job: ModelArguments / GRUTrainingArguments overrides of the package defaults, per dataset and init.
# Chosen on the MR validation split (960 texts, so +-1 point is noise), mean of 2 seeds:
# - random init: learning_rate 1e-3 (76.4 vs 74.7 at the default 2e-3); dropout 0.5 75.8, mean pooling + dropout
#   0.5 74.5. Second round (see below): learning_rate 1e-3 77.3 (kept); up to 20 epochs 76.6; 2 layers and up to 20
#   epochs 76.9.
# - GloVe: all training words kept (min_frequency 1, GloVe knows most singletons), mean pooling, dropout 0.5,
#   learning_rate 1e-3: 77.0 vs 75.7 with the defaults; frozen embeddings 73.2, hidden 64 75.7. A second round
#   (after packing; the split had been made stratified, so its numbers are not comparable with the first round's):
#   those settings 78.2; up to 20 epochs 78.8; hidden 256 78.3; 2 layers (hidden_dropout 0.3) 78.6; 2 layers and up
#   to 20 epochs 79.2 (chosen); --glove_extra_words 50000 77.4, 20000 77.5.
# SST-2 (seed 0, 3 epochs, the most the time budget allows): random init keeps the default learning_rate 2e-3 (92.4
# vs 91.1 at 1e-3). GloVe: the MR choices do not transfer (90.4); the model defaults give 91.5, with min_frequency 1
# 91.6 (chosen). This split is carved from GLUE train, whose phrases overlap the training sentences: it says little
# about the full sentences of the dev set.
MR_RANDOM = {"model": {}, "training": {"learning_rate": 1e-3}}
MR_GLOVE = {
    "model": {
        "min_frequency": 1,
        "pooling": "mean",
        "embedding_dropout": 0.5,
        "classifier_dropout": 0.5,
        "num_hidden_layers": 2,
        "hidden_dropout": 0.3,
    },
    "training": {"learning_rate": 1e-3, "num_train_epochs": 20},
}
GRU_HF_SETTINGS = {
    "mr": {"random": MR_RANDOM, "glove": MR_GLOVE},
    "sst2": {
        "random": {"model": {}, "training": {"num_train_epochs": 3}},
        "glove": {"model": {"min_frequency": 1}, "training": {"num_train_epochs": 3}},
    },
}
# The seed recipe: fixed epochs, chosen on validation.
SEED_SIZES = {"embedding_dim": 50, "hidden_size": 100}
# Validation accuracy by epoch (mean of 2 seeds): MR 65.9/70.9/71.2/71.7/71.3 at epochs 4-8 -> 7; SST-2
# 79.2/86.5/88.7/89.9 at epochs 1-4, still rising -> 4 (the time budget's cap).
SEED_EPOCHS = {"mr": 7, "sst2": 4}
SEED_BATCH = 64
SEED_LR = 1e-3
# Baseline grids, searched on validation inside the run (cheap).
TFIDF_C_GRID = (1.0, 3.0, 10.0, 30.0)
FASTTEXT_GRID = ({"epoch": 5, "lr": 0.1}, {"epoch": 10, "lr": 0.1}, {"epoch": 10, "lr": 0.5}, {"epoch": 25, "lr": 0.5})

TARGETS = {  # test accuracy (%) the gru-hf rows must reach
    "mr": {"gru-hf (GloVe 50d)": 80.0, "gru-hf (random init)": 77.0},
    "sst2": {"gru-hf (GloVe 50d)": 87.0, "gru-hf (random init)": 84.5},
}
PROJECT_DEFAULT_SIZES = {"embedding_dim": 100, "hidden_size": 128, "bidirectional": True}

# Speed: SST-2 training texts used for the engine and strategy measurements (the first N of the train split).
SPEED_EXAMPLES = {"full": 20000, "quick": 256}
SPEED_BATCH = 64
SPEED_REPEATS = 2  # each timing is run this many times, interleaved with the others; the best run is kept
SEED_NO_FTZ = "seed loop, random batches, no flush-to-zero"
PACKED = "pack_padded_sequence + nn.GRU"

logger = logging.getLogger("benchmark")


# ---------------------------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return float("nan"), float("nan")
    return float(statistics.fmean(values)), float(statistics.stdev(values)) if len(values) > 1 else 0.0


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def set_all_seeds(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def read_csv(path: str) -> tuple[list[str], list[int]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [int(r["label"]) for r in rows]


def peak_rss_mb() -> float:
    """Peak resident set size of this process. VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so a
    subprocess would report its parent's peak if that was higher."""
    with contextlib.suppress(OSError), open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def gru_train_flops_per_token(embedding_dim: int, hidden_size: int, directions: int) -> float:
    """performance.md: forward FLOPs per token and direction 2 * 3H * (E + H); a training step ~3x forward."""
    return 3.0 * directions * 2.0 * 3 * hidden_size * (embedding_dim + hidden_size)


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    flags = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line
    import transformers

    commit = None
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    return {
        "git": commit or None,
        "cpu_model": cpu,
        "logical_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "avx512": "avx512f" in flags,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_average_at_start": list(os.getloadavg()),
    }


# ---------------------------------------------------------------------------------------------------------------
# Data: the training job's own split, shared by every model
# ---------------------------------------------------------------------------------------------------------------


def data_arguments(data_dir: str, name: str):
    from gru_hf.data import DataArguments

    spec = DATASETS[name]
    return DataArguments(
        train_file=os.path.join(data_dir, spec["train"]),
        test_file=os.path.join(data_dir, spec["test"]),
        validation_split_percentage=VALIDATION_PERCENT,
        split_seed=SPLIT_SEED,
    )


def load_splits(data_dir: str, name: str) -> dict:
    """{split: (texts, labels)} for train / validation / test, exactly as `gru_hf.training.train` sees them."""
    from gru_hf.data import encode_labels, infer_labels, load_raw_datasets

    raw = load_raw_datasets(data_arguments(data_dir, name))
    label_info = infer_labels(raw["train"])
    raw = encode_labels(raw, label_info)
    splits = {split: (list(raw[split]["text"]), [int(v) for v in raw[split]["labels"]]) for split in raw}
    splits["num_labels"] = label_info.num_labels
    return splits


def make_quick_data(data_dir: str, workdir: str, train_rows: int = 400, test_rows: int = 200) -> str:
    """A tiny copy of the data directory (the first rows of each file) for --quick."""
    out = os.path.join(workdir, "quick-data")
    for spec in DATASETS.values():
        for key, rows in (("train", train_rows), ("test", test_rows)):
            texts, labels = read_csv(os.path.join(data_dir, spec[key]))
            os.makedirs(os.path.dirname(os.path.join(out, spec[key])), exist_ok=True)
            write_csv(os.path.join(out, spec[key]), texts[:rows], labels[:rows])
    # Only the vectors of words that occur in the tiny data: reading all of a large file would dominate --quick.
    words = set()
    for spec in DATASETS.values():
        for key in ("train", "test"):
            for text in read_csv(os.path.join(out, spec[key]))[0]:
                words.update(text.split())
                words.update(re.findall(WORD_PATTERN, text.lower()))
    os.makedirs(os.path.join(out, os.path.dirname(GLOVE_FILE)), exist_ok=True)
    with (
        open(os.path.join(data_dir, GLOVE_FILE), encoding="utf-8") as source,
        open(os.path.join(out, GLOVE_FILE), "w", encoding="utf-8") as target,
    ):
        for line in source:
            if line.split(" ", 1)[0] in words:
                target.write(line)
    return out


def write_csv(path: str, texts: list[str], labels: list[int]) -> str:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels))
    return path


def encode(tokenizer, texts: list[str]) -> list[list[int]]:
    return tokenizer(texts, truncation=True)["input_ids"]


# ---------------------------------------------------------------------------------------------------------------
# Batching (shared by every hand-written loop, so only the order differs)
# ---------------------------------------------------------------------------------------------------------------


def random_order(n: int, generator: torch.Generator) -> list[int]:
    return torch.randperm(n, generator=generator).tolist()


def length_grouped_order(lengths: list[int], batch_size: int, generator: torch.Generator) -> list[int]:
    """The Trainer's own sampler (`train_sampling_strategy="group_by_length"`)."""
    from transformers.trainer_pt_utils import get_length_grouped_indices

    return get_length_grouped_indices(lengths, batch_size, generator=generator)


def pad_batch(ids: list[list[int]], rows: list[int], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad the texts `rows` to the longest of them: (batch, longest) ids and the lengths."""
    lengths = [max(len(ids[r]), 1) for r in rows]
    out = torch.full((len(rows), max(lengths)), pad_id, dtype=torch.long)
    for i, r in enumerate(rows):
        if ids[r]:
            out[i, : len(ids[r])] = torch.tensor(ids[r], dtype=torch.long)
    return out, torch.tensor(lengths, dtype=torch.long)


def batches(order: list[int], batch_size: int) -> list[list[int]]:
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


# ---------------------------------------------------------------------------------------------------------------
# Timing on a shared machine
# ---------------------------------------------------------------------------------------------------------------


def _cpu_ticks() -> tuple[int, int]:
    """(busy ticks of the whole machine, ticks of this process) from /proc; (0, 0) where there is no /proc."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        with open("/proc/self/stat", encoding="ascii") as f:
            own = f.read().rsplit(")", 1)[1].split()
        busy = sum(values[:8]) - values[3] - values[4]  # everything but idle and iowait
        return busy, int(own[11]) + int(own[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0, 0


class Meter:
    """Throughput measured in slices of about `slice_s` seconds, each tagged with how much CPU the *other*
    processes used meanwhile (from /proc/stat). Slices where others used more than `max_other_cores` are
    counted as disturbed; throughput is reported over the undisturbed slices (all slices if too few are clean),
    so tests that other people run on the same 2 cores do not decide the result."""

    TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, slice_s: float = 0.5, max_other_cores: float = 0.25):
        self.slice_s, self.max_other_cores = slice_s, max_other_cores
        self.slices = []  # (seconds, tokens, other_cores)
        self._t0 = None

    def start(self) -> None:
        """Start (or resume) the clock: call right before the timed work."""
        self._t0, self._tokens, self._ticks = time.perf_counter(), 0, _cpu_ticks()

    def tick(self, tokens: int) -> None:
        if self._t0 is None:
            raise RuntimeError("Meter.tick() while paused: call start() before the timed work")
        self._tokens += tokens
        now = time.perf_counter()
        if now - self._t0 >= self.slice_s:
            self._close(now)
            self.start()

    def pause(self) -> None:
        """Close the current slice and stop the clock (call before anything that must not be timed)."""
        if self._t0 is not None and self._tokens:
            self._close(time.perf_counter())
        self._t0 = None

    def _close(self, now: float) -> None:
        busy, own = _cpu_ticks()
        seconds = now - self._t0
        other = max(0, (busy - self._ticks[0]) - (own - self._ticks[1])) / self.TICK / max(seconds, 1e-9)
        self.slices.append((seconds, self._tokens, other))

    def result(self) -> dict:
        self.pause()
        seconds = sum(s for s, _, _ in self.slices)
        tokens = sum(t for _, t, _ in self.slices)
        clean = [(s, t) for s, t, o in self.slices if o <= self.max_other_cores]
        clean_s = sum(s for s, _ in clean)
        use_clean = clean_s > 0 and (clean_s >= 0.25 * seconds or clean_s >= 1.0)
        rate = sum(t for _, t in clean) / clean_s if use_clean else tokens / max(seconds, 1e-9)
        return {
            "tokens_per_s": rate,
            "tokens_per_s_all_slices": tokens / max(seconds, 1e-9),
            "seconds": seconds,
            "tokens": tokens,
            "clean_fraction": clean_s / max(seconds, 1e-9),
            "measured_on_clean_slices": use_clean,
            "other_cores_mean": sum(s * o for s, _, o in self.slices) / max(seconds, 1e-9),
        }


# ---------------------------------------------------------------------------------------------------------------
# The seed recipe (plain PyTorch), and two other execution strategies for the GRU
# ---------------------------------------------------------------------------------------------------------------


class SeedClassifier(nn.Module):
    """nn.Embedding -> nn.GRU -> nn.Linear on the final hidden state, run over right-padded batches.

    Textbook and wrong on padded input: `hidden[-1]` is the state after the padding. With `packed=True` the batch
    is packed first (`pack_padded_sequence`), which makes it correct."""

    def __init__(self, vocab_size, embedding_dim, hidden_size, num_labels, bidirectional=False, packed=False):
        super().__init__()
        self.packed = packed
        self.bidirectional = bidirectional
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.gru = nn.GRU(embedding_dim, hidden_size, batch_first=True, bidirectional=bidirectional)
        self.fc = nn.Linear(hidden_size * (2 if bidirectional else 1), num_labels)

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        x = self.embedding(input_ids)  # (batch, seq_len, embedding_dim)
        if self.packed:
            x = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, hidden = self.gru(x)  # (directions, batch, hidden)
        final = torch.cat([hidden[-2], hidden[-1]], dim=-1) if self.bidirectional else hidden[-1]
        return self.fc(final)


class GRUHFAdapter(nn.Module):
    """gru-hf's GRUForSequenceClassification behind the same call signature as SeedClassifier."""

    def __init__(self, vocab_size, embedding_dim, hidden_size, num_labels, bidirectional=False, **config):
        super().__init__()
        config = {"embedding_dropout": 0.0, "classifier_dropout": 0.0, "pooling": "last", **config}
        self.model = gru_hf.GRUForSequenceClassification(
            gru_hf.GRUConfig(
                vocab_size=vocab_size,
                embedding_dim=embedding_dim,
                hidden_size=hidden_size,
                bidirectional=bidirectional,
                num_labels=num_labels,
                **config,
            )
        )

    def forward(self, input_ids: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        mask = torch.arange(input_ids.size(1)).unsqueeze(0) < lengths.unsqueeze(1)
        return self.model(input_ids=input_ids, attention_mask=mask).logits


def train_loop(model, ids, labels, epochs, order_fn, seed, batch_size=SEED_BATCH, lr=SEED_LR, after_epoch=None):
    """Adam + cross-entropy over padded batches. Returns a `Meter` over the training steps (batch building
    included, evaluation excluded)."""
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    label_tensor = torch.tensor(labels, dtype=torch.long)
    meter = Meter()
    for epoch in range(epochs):
        model.train()
        order = order_fn(generator)
        meter.start()
        for rows in batches(order, batch_size):
            input_ids, lengths = pad_batch(ids, rows)
            optimizer.zero_grad()
            loss = F.cross_entropy(model(input_ids, lengths), label_tensor[rows])
            loss.backward()
            optimizer.step()
            meter.tick(sum(len(ids[r]) for r in rows))
        meter.pause()
        if after_epoch is not None:
            after_epoch(epoch)
    return meter


@torch.inference_mode()
def predict(model, ids, batch_size=256) -> np.ndarray:
    """Batches in data order, padded to their longest text (the textbook evaluation)."""
    model.eval()
    out = []
    for rows in batches(list(range(len(ids))), batch_size):
        input_ids, lengths = pad_batch(ids, rows)
        out.append(model(input_ids, lengths).argmax(-1).numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def accuracy(pred, labels) -> float:
    return float(np.mean(np.asarray(pred) == np.asarray(labels))) if len(labels) else float("nan")


# ---------------------------------------------------------------------------------------------------------------
# 0. The ceiling: peak GEMM throughput in this process
# ---------------------------------------------------------------------------------------------------------------


def measure_peak(quick: bool) -> dict:
    torch.set_flush_denormal(True)
    results = {}
    for name, (m, k, n), seconds in (
        ("gemm_2048x2048", (2048, 2048, 2048), 0.3 if quick else 2.0),
        ("gemm_64x128_128x384", (64, 128, 384), 0.2 if quick else 1.5),
    ):
        a, b = torch.randn(m, k), torch.randn(k, n)
        flops = 2.0 * m * k * n
        for _ in range(3):
            torch.mm(a, b)
        best = 0.0
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            reps = 2 if m >= 1024 else 500
            start = time.perf_counter()
            for _ in range(reps):
                torch.mm(a, b)
            best = max(best, reps * flops / (time.perf_counter() - start))
        results[name] = {"gflops": best / 1e9, "shape": f"{m}x{k} @ {k}x{n}", "threads": torch.get_num_threads()}
    # For information: small GEMMs are often faster on one thread than on two (no fork/join per call).
    threads = torch.get_num_threads()
    a, b = torch.randn(64, 128), torch.randn(128, 384)
    torch.set_num_threads(1)
    try:
        best = 0.0
        for _ in range(3 if quick else 10):
            start = time.perf_counter()
            for _ in range(500):
                torch.mm(a, b)
            best = max(best, 500 * 2.0 * 64 * 128 * 384 / (time.perf_counter() - start))
    finally:
        torch.set_num_threads(threads)
    results["gemm_64x128_128x384_one_thread"] = {"gflops": best / 1e9, "shape": "64x128 @ 128x384", "threads": 1}
    return results


# ---------------------------------------------------------------------------------------------------------------
# 1. Accuracy
# ---------------------------------------------------------------------------------------------------------------


def run_gru_hf_job(data_dir, name, init, seed, workdir, quick, glove_path) -> dict:
    from gru_hf.training import GRUTrainingArguments, ModelArguments, train

    settings = GRU_HF_SETTINGS[name][init]
    model_kwargs = dict(settings["model"])
    training_kwargs = dict(settings["training"])
    if init == "glove":
        model_kwargs["glove"] = glove_path
    data_args = data_arguments(data_dir, name)
    if quick:
        model_kwargs.update(hidden_size=16, min_frequency=1)
        if init != "glove":
            model_kwargs["embedding_dim"] = 16
        training_kwargs.update(num_train_epochs=1, per_device_eval_batch_size=64)
    output_dir = os.path.join(workdir, f"{name}-{init}-seed{seed}")
    training_args = GRUTrainingArguments(
        output_dir=output_dir,
        overwrite_output_dir=True,
        seed=seed,
        disable_tqdm=True,
        logging_strategy="no",
        **training_kwargs,
    )
    start = time.perf_counter()
    results = train(ModelArguments(**model_kwargs), data_args, training_args)
    job_seconds = time.perf_counter() - start
    return {
        "seed": seed,
        "test_accuracy": 100.0 * results["test"]["test_accuracy"],
        "validation_accuracy": 100.0 * results["validation"]["eval_accuracy"],
        "train_s": float(results["train_runtime_s"]),
        "job_s": job_seconds,
        "epochs_run": float(results["validation"].get("epoch", float("nan"))),
        "output_dir": output_dir,
        "glove_coverage": results.get("glove"),
    }


def run_seed_recipe(splits, name, seed, quick, tokenizer) -> dict:
    ids = {split: encode(tokenizer, splits[split][0]) for split in ("train", "validation", "test")}
    train_labels = splits["train"][1]
    set_all_seeds(seed)
    sizes = {"embedding_dim": 16, "hidden_size": 16} if quick else SEED_SIZES
    model = SeedClassifier(len(tokenizer), sizes["embedding_dim"], sizes["hidden_size"], splits["num_labels"])
    epochs = 1 if quick else SEED_EPOCHS[name]
    curve = []

    def validate(epoch):
        curve.append(100.0 * accuracy(predict(model, ids["validation"]), splits["validation"][1]))

    torch.set_flush_denormal(False)  # the textbook loop: no flush-to-zero
    n = len(ids["train"])
    meter = train_loop(
        model, ids["train"], train_labels, epochs, lambda g: random_order(n, g), seed, after_epoch=validate
    )
    torch.set_flush_denormal(True)
    timing = meter.result()
    return {
        "seed": seed,
        "test_accuracy": 100.0 * accuracy(predict(model, ids["test"]), splits["test"][1]),
        "validation_accuracy": curve[-1],
        "validation_curve": curve,
        "train_s": timing["seconds"],
        "tokens_per_s": timing["tokens_per_s"],
    }


def run_tfidf(splits, quick) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    train_texts, train_labels = splits["train"]
    grid = {}
    best = None
    for c in TFIDF_C_GRID[:1] if quick else TFIDF_C_GRID:
        start = time.perf_counter()
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
        x = vectorizer.fit_transform(train_texts)
        classifier = LogisticRegression(C=c, max_iter=2000).fit(x, train_labels)
        seconds = time.perf_counter() - start
        val = 100.0 * accuracy(
            classifier.predict(vectorizer.transform(splits["validation"][0])), splits["validation"][1]
        )
        grid[str(c)] = val
        if best is None or val > best[0]:
            best = (val, c, vectorizer, classifier, seconds)
    val, c, vectorizer, classifier, seconds = best
    test = 100.0 * accuracy(classifier.predict(vectorizer.transform(splits["test"][0])), splits["test"][1])
    return {
        "runs": [{"seed": 0, "test_accuracy": test, "validation_accuracy": val, "train_s": seconds}],
        "chosen": {"C": c, "ngram_range": [1, 2], "sublinear_tf": True},
        "validation_grid": grid,
    }


def run_fasttext(splits, seeds, quick, workdir) -> dict:
    import fasttext

    def fasttext_file(path, texts, labels):
        with open(path, "w", encoding="utf-8") as f:
            for text, label in zip(texts, labels):
                f.write(f"__label__{label} {' '.join(text.split())}\n")
        return path

    def fit(params, seed):
        start = time.perf_counter()
        model = fasttext.train_supervised(input=train_file, wordNgrams=2, thread=1, seed=seed, verbose=0, **params)
        return model, time.perf_counter() - start

    def score(model, split):
        texts, labels = splits[split]
        predicted, _ = model.predict([" ".join(t.split()) for t in texts])
        return 100.0 * accuracy([int(p[0].replace("__label__", "")) for p in predicted], labels)

    train_file = fasttext_file(os.path.join(workdir, "fasttext.train.txt"), *splits["train"])
    grid = {}
    for params in FASTTEXT_GRID[:1] if quick else FASTTEXT_GRID:
        model, _ = fit(params, seeds[0])
        grid[json.dumps(params, sort_keys=True)] = score(model, "validation")
    chosen = json.loads(max(grid, key=grid.get))
    runs = []
    for seed in seeds:
        model, seconds = fit(chosen, seed)
        runs.append(
            {
                "seed": seed,
                "test_accuracy": score(model, "test"),
                "validation_accuracy": score(model, "validation"),
                "train_s": seconds,
            }
        )
    return {"runs": runs, "chosen": {**chosen, "wordNgrams": 2, "thread": 1}, "validation_grid": grid}


def summarise_runs(runs: list[dict]) -> dict:
    test_mean, test_std = mean_std([r["test_accuracy"] for r in runs])
    val_mean, val_std = mean_std([r["validation_accuracy"] for r in runs])
    train_mean, _ = mean_std([r["train_s"] for r in runs])
    return {
        "test_accuracy_mean": test_mean,
        "test_accuracy_std": test_std,
        "validation_accuracy_mean": val_mean,
        "validation_accuracy_std": val_std,
        "train_s_mean": train_mean,
        "n_runs": len(runs),
    }


def accuracy_section(args, workdir) -> dict:
    seeds = list(range(args.seeds))
    glove_path = os.path.join(args.data_dir, GLOVE_FILE)
    section = {}
    for name in args.datasets:
        log(f"accuracy: {name}: loading splits")
        splits = load_splits(args.data_dir, name)
        dataset = {
            "sizes": {split: len(splits[split][0]) for split in ("train", "validation", "test")},
            "test_name": DATASETS[name]["test_name"],
            "models": {},
        }
        models = dataset["models"]
        for init, label in (("random", "gru-hf (random init)"), ("glove", "gru-hf (GloVe 50d)")):
            runs = []
            for seed in seeds:
                log(f"accuracy: {name}: {label} seed {seed}")
                runs.append(run_gru_hf_job(args.data_dir, name, init, seed, workdir, args.quick, glove_path))
                log(
                    f"  test {runs[-1]['test_accuracy']:.2f}  val {runs[-1]['validation_accuracy']:.2f}  "
                    f"{runs[-1]['job_s']:.0f} s"
                )
            settings = GRU_HF_SETTINGS[name][init]
            models[label] = {"runs": runs, "settings": settings, **summarise_runs(runs)}

        tokenizer = gru_hf.train_tokenizer(splits["train"][0], vocab_size=30000, min_frequency=1 if args.quick else 2)
        runs = []
        for seed in seeds:
            log(f"accuracy: {name}: seed recipe seed {seed}")
            runs.append(run_seed_recipe(splits, name, seed, args.quick, tokenizer))
            log(
                f"  test {runs[-1]['test_accuracy']:.2f}  validation by epoch "
                f"{[round(v, 2) for v in runs[-1]['validation_curve']]}"
            )
        models["seed recipe (Embedding-GRU-Linear)"] = {
            "runs": runs,
            "settings": {**SEED_SIZES, "epochs": SEED_EPOCHS[name], "batch_size": SEED_BATCH, "lr": SEED_LR},
            **summarise_runs(runs),
        }

        log(f"accuracy: {name}: TF-IDF + LR")
        result = run_tfidf(splits, args.quick)
        models["TF-IDF 1-2 grams + LR"] = {**result, **summarise_runs(result["runs"])}
        log(f"accuracy: {name}: fastText")
        result = run_fasttext(splits, seeds, args.quick, workdir)
        models["fastText (wordNgrams=2)"] = {**result, **summarise_runs(result["runs"])}

        checks = {}
        for label, target in TARGETS[name].items():
            got = models[label]["test_accuracy_mean"]
            checks[f"{label} >= {target}"] = {"met": got >= target, "value": got, "margin": got - target}
        for label in ("gru-hf (random init)", "gru-hf (GloVe 50d)"):
            for baseline in ("TF-IDF 1-2 grams + LR", "fastText (wordNgrams=2)"):
                got, other = models[label]["test_accuracy_mean"], models[baseline]["test_accuracy_mean"]
                checks[f"{label} > {baseline}"] = {"met": got > other, "value": got, "margin": got - other}
        dataset["targets"] = checks
        section[name] = dataset
    return section


# ---------------------------------------------------------------------------------------------------------------
# 2. Speed: training engine, execution strategy, utilisation
# ---------------------------------------------------------------------------------------------------------------


def speed_data(args) -> dict:
    """Pre-tokenised SST-2 training texts (the first N of the training split), shared by every speed row."""
    texts, labels = load_splits(args.data_dir, "sst2")["train"]
    n = SPEED_EXAMPLES["quick" if args.quick else "full"]
    texts, labels = texts[:n], labels[:n]
    tokenizer = gru_hf.train_tokenizer(texts, vocab_size=30000, min_frequency=1 if args.quick else 2)
    ids = [row or [tokenizer.unk_token_id] for row in encode(tokenizer, texts)]
    lengths = [len(row) for row in ids]
    return {
        "ids": ids,
        "labels": labels,
        "lengths": lengths,
        "vocab_size": len(tokenizer),
        "tokenizer": tokenizer,
        "num_labels": max(labels) + 1,
        "stats": {
            "texts": len(ids),
            "tokens": sum(lengths),
            "mean_length": statistics.fmean(lengths),
            "max_length": max(lengths),
        },
    }


def timed_loop(model_cls, data, sizes, order, epochs, flush_denormal, seed=0, **model_kwargs) -> dict:
    set_all_seeds(seed)
    model = model_cls(
        data["vocab_size"],
        sizes["embedding_dim"],
        sizes["hidden_size"],
        data["num_labels"],
        bidirectional=sizes["bidirectional"],
        **model_kwargs,
    )
    n = len(data["ids"])
    if order == "random":
        order_fn = lambda g: random_order(n, g)  # noqa: E731
    else:
        order_fn = lambda g: length_grouped_order(data["lengths"], SPEED_BATCH, g)  # noqa: E731
    torch.set_flush_denormal(flush_denormal)
    try:
        meter = train_loop(model, data["ids"], data["labels"], epochs, order_fn, seed, SPEED_BATCH)
    finally:
        torch.set_flush_denormal(True)
    return meter.result()


def timed_trainer(data, sizes, epochs, workdir, model_config) -> dict:
    """gru-hf's own Trainer path on the pre-tokenised data: length-grouped batches, flush-to-zero."""
    from datasets import Dataset
    from transformers import DataCollatorWithPadding, Trainer, TrainerCallback

    from gru_hf.training import GRUTrainingArguments, configure_cpu

    configure_cpu()
    set_all_seeds(0)
    config = gru_hf.GRUConfig(
        vocab_size=data["vocab_size"],
        embedding_dim=sizes["embedding_dim"],
        hidden_size=sizes["hidden_size"],
        bidirectional=sizes["bidirectional"],
        num_labels=data["num_labels"],
        **model_config,
    )
    model = gru_hf.GRUForSequenceClassification(config)
    dataset = Dataset.from_dict({"input_ids": data["ids"], "labels": data["labels"]})
    training_args = GRUTrainingArguments(
        output_dir=os.path.join(workdir, "trainer-speed"),
        overwrite_output_dir=True,
        num_train_epochs=epochs,
        per_device_train_batch_size=SPEED_BATCH,
        learning_rate=SEED_LR,
        warmup_steps=0,
        eval_strategy="no",
        save_strategy="no",
        logging_strategy="no",
        load_best_model_at_end=False,
        early_stopping_patience=0,
        disable_tqdm=True,
        seed=0,
    )
    meter = Meter()
    collator = DataCollatorWithPadding(data["tokenizer"])

    def counting_collator(features):
        meter.pending += sum(len(f["input_ids"]) for f in features)
        return collator(features)

    class MeterCallback(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            meter.start()

        def on_step_end(self, args, state, control, **kwargs):
            meter.tick(meter.pending)
            meter.pending = 0

    meter.pending = 0
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=dataset,
        processing_class=data["tokenizer"],
        data_collator=counting_collator,
        callbacks=[MeterCallback()],
    )
    runtime = trainer.train().metrics["train_runtime"]
    tokens = epochs * data["stats"]["tokens"]
    return {**meter.result(), "train_runtime_s": runtime, "tokens_per_s_train_runtime": tokens / runtime}


def utilisation(tokens_per_s: float, sizes: dict, peak: dict) -> dict:
    flops = tokens_per_s * gru_train_flops_per_token(
        sizes["embedding_dim"], sizes["hidden_size"], 2 if sizes["bidirectional"] else 1
    )
    return {
        "gflops": flops / 1e9,
        "of_peak_2048": flops / 1e9 / peak["gemm_2048x2048"]["gflops"],
        "of_peak_step_gemm": flops / 1e9 / peak["gemm_64x128_128x384"]["gflops"],
    }


def interleaved(jobs: dict, repeats: int) -> dict:
    """Run every timing job `repeats` times, round-robin, and keep each job's best run: on a shared machine,
    other processes slow some runs down; interleaving spreads that over all jobs, the best run is the least
    disturbed one."""
    runs = {name: [] for name in jobs}
    for _ in range(repeats):
        for name, job in jobs.items():
            log(f"  {name}")
            runs[name].append(job())
            gc.collect()
    rows = {}
    for name, results in runs.items():
        best = max(results, key=lambda r: (r["measured_on_clean_slices"], r["tokens_per_s"]))
        rows[name] = {**best, "all_tokens_per_s": [r["tokens_per_s"] for r in results]}
    return rows


def engine_section(args, data, peak, workdir) -> dict:
    """gru-hf training path vs the seed loop at identical sizes, same data, same epochs."""
    size_sets = {
        "seed sizes (E=50, H=100, unidirectional)": (
            {"embedding_dim": 50, "hidden_size": 100, "bidirectional": False},
            {"pooling": "last", "embedding_dropout": 0.0, "classifier_dropout": 0.0},
        ),
        "project default sizes (E=100, H=128, bidirectional)": (PROJECT_DEFAULT_SIZES, {}),
    }
    if args.quick:
        size_sets = {
            "tiny sizes (E=16, H=16, unidirectional)": (
                {"embedding_dim": 16, "hidden_size": 16, "bidirectional": False},
                {"pooling": "last"},
            )
        }
    epochs, repeats = 1, 1 if args.quick else SPEED_REPEATS
    section = {
        "data": data["stats"],
        "epochs": epochs,
        "repeats": repeats,
        "batch_size": SPEED_BATCH,
        "optimizer": "Adam lr 1e-3",
        "rows": {},
    }
    for size_name, (sizes, model_config) in size_sets.items():
        log(f"speed/engine: {size_name}")
        jobs = {
            SEED_NO_FTZ: partial(timed_loop, SeedClassifier, data, sizes, "random", epochs, False),
            "seed loop, random batches, flush-to-zero": partial(
                timed_loop, SeedClassifier, data, sizes, "random", epochs, True
            ),
            "gru-hf model, hand loop, length-grouped, flush-to-zero": partial(
                timed_loop, GRUHFAdapter, data, sizes, "grouped", epochs, True, **model_config
            ),
            "gru-hf Trainer (train_runtime), length-grouped, flush-to-zero": partial(
                timed_trainer, data, sizes, epochs, workdir, model_config
            ),
        }
        rows = interleaved(jobs, repeats)
        base = rows[SEED_NO_FTZ]["tokens_per_s"]
        for row in rows.values():
            row["speedup_vs_seed"] = row["tokens_per_s"] / base
            row["utilisation"] = utilisation(row["tokens_per_s"], sizes, peak)
        section["rows"][size_name] = {"sizes": sizes, "model_config": model_config, "rows": rows}
    return section


def strategy_section(args, data, peak) -> dict:
    """The GRU's execution strategy alone: gru-hf (packs ragged batches) vs packed vs naive padded (incorrect)."""
    sizes_base = {"embedding_dim": 16, "hidden_size": 16} if args.quick else {"embedding_dim": 100, "hidden_size": 128}
    strategies = {
        "gru-hf (packs ragged batches)": (GRUHFAdapter, {}),
        PACKED: (SeedClassifier, {"packed": True}),
        "naive padded nn.GRU (incorrect)": (SeedClassifier, {}),
    }
    repeats = 1 if args.quick else SPEED_REPEATS
    section = {"data": data["stats"], "sizes": sizes_base, "flush_denormal": True, "repeats": repeats, "rows": {}}
    for bidirectional in (False, True):
        sizes = {**sizes_base, "bidirectional": bidirectional}
        for order in ("grouped", "random"):
            key = f"{'bidirectional' if bidirectional else 'unidirectional'}, " + (
                "length-grouped batches" if order == "grouped" else "random batches"
            )
            log(f"speed/strategy: {key}")
            jobs = {
                name: partial(timed_loop, cls, data, sizes, order, 1, True, **kwargs)
                for name, (cls, kwargs) in strategies.items()
            }
            rows = interleaved(jobs, repeats)
            base = rows[PACKED]["tokens_per_s"]
            for row in rows.values():
                row["speedup_vs_packed"] = row["tokens_per_s"] / base
                row["utilisation"] = utilisation(row["tokens_per_s"], sizes, peak)
            section["rows"][key] = rows
    return section


# ---------------------------------------------------------------------------------------------------------------
# 3. Inference and tokenizer
# ---------------------------------------------------------------------------------------------------------------


INFERENCE_ROWS = (
    "pipeline, batch 1",
    "tokenizer + forward, batch 1",
    "pipeline, batch 64",
    "tokenizer + forward, batch 64",
)


def inference_section(model_dir: str, texts: list[str], repeats: int) -> dict:
    """`pipeline("text-classification")` vs the model's own tokenizer + forward on the same texts."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    torch.set_flush_denormal(True)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    classifier = pipeline("text-classification", model=model, tokenizer=tokenizer, device="cpu")
    n = len(texts)
    result = {"texts": n, "mean_words": statistics.fmean(len(t.split()) for t in texts)}

    def direct(batch):
        with torch.inference_mode():
            encoded = tokenizer(batch, padding=True, truncation=True, return_tensors="pt")
            return model(**encoded).logits.softmax(-1)

    # Warm-up over every text and batch shape: the first call at each new (batch, length) shape builds kernels.
    for t in texts:
        classifier(t)
        direct([t])
    for i in range(0, n, 64):
        classifier(texts[i : i + 64], batch_size=64)
        direct(texts[i : i + 64])

    def batch1(fn, meter, latencies):
        meter.start()
        for t in texts:
            start = time.perf_counter()
            fn(t)
            latencies.append(time.perf_counter() - start)
            meter.tick(1)
        meter.pause()

    def batch64(fn, meter):
        meter.start()
        for i in range(0, n, 64):
            fn(texts[i : i + 64])
            meter.tick(len(texts[i : i + 64]))
        meter.pause()

    meters = {name: Meter(slice_s=0.25) for name in INFERENCE_ROWS}
    latencies = {name: [] for name in INFERENCE_ROWS[:2]}
    for _ in range(repeats):  # interleaved, so that other processes disturb every row alike
        batch1(lambda t: classifier(t), meters[INFERENCE_ROWS[0]], latencies[INFERENCE_ROWS[0]])
        batch1(lambda t: direct([t]), meters[INFERENCE_ROWS[1]], latencies[INFERENCE_ROWS[1]])
        batch64(lambda chunk: classifier(chunk, batch_size=64), meters[INFERENCE_ROWS[2]])
        batch64(direct, meters[INFERENCE_ROWS[3]])
    rows = {}
    for name, meter in meters.items():
        timing = meter.result()
        rows[name] = {
            "sentences_per_s": timing["tokens_per_s"],
            "clean_fraction": timing["clean_fraction"],
            "other_cores_mean": timing["other_cores_mean"],
        }
        if name in latencies:
            rows[name]["latency_median_ms"] = 1000 * statistics.median(latencies[name])
            rows[name]["latency_p95_ms"] = 1000 * percentile(latencies[name], 95)
    for pipe, direct_name in ((INFERENCE_ROWS[0], INFERENCE_ROWS[1]), (INFERENCE_ROWS[2], INFERENCE_ROWS[3])):
        rows[pipe]["ratio_vs_direct"] = rows[pipe]["sentences_per_s"] / rows[direct_name]["sentences_per_s"]
    result["rows"] = rows
    result["model"] = {
        k: getattr(model.config, k) for k in ("embedding_dim", "hidden_size", "bidirectional", "pooling")
    }
    return result


def tokenizer_section(texts: list[str], tokenizer) -> dict:
    pattern = re.compile(WORD_PATTERN)
    vocab = tokenizer.get_vocab()
    unk = tokenizer.unk_token_id

    def python_split(chunk):
        get = vocab.get
        return [[get(w, unk) for w in pattern.findall(t.lower())] for t in chunk]

    def hf(chunk):
        return tokenizer(chunk)["input_ids"]

    jobs = {"gru-hf tokenizer, batch call": hf, "pure Python re.findall + dict lookup": python_split}
    meters = {name: Meter(slice_s=0.1) for name in jobs}
    for _ in range(3):
        for name, fn in jobs.items():
            meters[name].start()
            for i in range(0, len(texts), 1000):
                fn(texts[i : i + 1000])
                meters[name].tick(len(texts[i : i + 1000]))
            meters[name].pause()
    rows = {}
    for name, meter in meters.items():
        timing = meter.result()
        rows[name] = {"texts_per_s": timing["tokens_per_s"], "clean_fraction": timing["clean_fraction"]}
    base = rows["pure Python re.findall + dict lookup"]["texts_per_s"]
    for row in rows.values():
        row["ratio_vs_python"] = row["texts_per_s"] / base
    same = sum(a == b for a, b in zip(hf(texts), python_split(texts)))
    return {"texts": len(texts), "rows": rows, "identical_ids_fraction": same / max(len(texts), 1)}


# ---------------------------------------------------------------------------------------------------------------
# 4. Peak memory, each in its own process
# ---------------------------------------------------------------------------------------------------------------


def child_main(args) -> None:
    """Runs in a subprocess: one training job or one inference pass; prints its peak RSS as JSON."""
    import transformers

    transformers.logging.set_verbosity_error()
    baseline = peak_rss_mb()
    spec = json.loads(args.child_spec)
    if args.child == "train":
        from gru_hf.training import GRUTrainingArguments, ModelArguments, train

        data_args = data_arguments(spec["data_dir"], spec["dataset"])
        train(
            ModelArguments(**spec["model"]),
            data_args,
            GRUTrainingArguments(
                output_dir=spec["output_dir"],
                overwrite_output_dir=True,
                disable_tqdm=True,
                logging_strategy="no",
                **spec["training"],
            ),
        )
    else:
        from transformers import pipeline

        texts = read_csv(spec["texts_file"])[0]
        classifier = pipeline("text-classification", model=spec["model_dir"], device="cpu")
        classifier(texts, batch_size=64)
        for t in texts[:200]:
            classifier(t)
    print(json.dumps({"baseline_after_imports_mb": baseline, "peak_rss_mb": peak_rss_mb()}))


def run_child(kind: str, spec: dict) -> dict:
    command = [sys.executable, os.path.abspath(__file__), "--child", kind, "--child_spec", json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"memory child {kind} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def memory_section(args, workdir, model_dir) -> dict:
    training = {"num_train_epochs": 1, "seed": 0, "save_strategy": "no", "load_best_model_at_end": False}
    model = {}
    if args.quick:
        model = {"hidden_size": 16, "embedding_dim": 16, "min_frequency": 1}
    train_spec = {
        "data_dir": args.data_dir,
        "dataset": "sst2",
        "model": model,
        "training": training,
        "output_dir": os.path.join(workdir, "memory-train"),
    }
    log("memory: training job in a subprocess")
    train_rss = run_child("train", train_spec)
    log("memory: inference in a subprocess")
    texts_file = os.path.join(args.data_dir, DATASETS["sst2"]["test"])
    infer_rss = run_child("infer", {"model_dir": model_dir, "texts_file": texts_file})
    return {
        "training job (SST-2, 1 epoch, project default sizes)" if not args.quick else "training job (tiny)": train_rss,
        "inference (pipeline over SST-2 dev, batch 64 and batch 1)": infer_rss,
        "method": "VmHWM from /proc/self/status in a fresh subprocess (ru_maxrss survives execve)",
    }


# ---------------------------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------------------------


def fmt(value, digits=2) -> str:
    if isinstance(value, bool):
        return "yes" if value else "**no**"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "n/a"
        if abs(value) >= 1e4:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def markdown(results: dict) -> str:  # noqa: C901  the whole report renderer; to move into the benchmark package
    lines = ["# gru-hf benchmark", ""]
    m = results["machine"]
    lines += [
        f"- Machine: {m['logical_cores']} logical cores, {m['cpu_model']} (AVX-512: {fmt(m['avx512'])}), "
        f"torch {m['torch']} ({m['torch_threads']} threads for speed, {m.get('accuracy_threads', m['torch_threads'])} "
        f"for the accuracy runs), transformers {m['transformers']}, Python {m['python']}",
        f"- Date: {m['date']}; load average at start {m['load_average_at_start']}; total wall time "
        f"{results['total_s'] / 60:.1f} min; mode: {'quick' if results['quick'] else 'full'}",
        f"- Command: `{results['command']}` (git {m.get('git')})",
        "",
    ]
    if "accuracy" in results:
        lines += [
            f"## Accuracy (test %, mean ± std over seeds; validation split = 10% of train, seed {SPLIT_SEED})",
            "",
        ]
        lines += [
            "| dataset | model | test acc | val acc | seeds | train s (mean) |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for dataset in results["accuracy"].values():
            for label, row in dataset["models"].items():
                lines.append(
                    f"| {dataset['test_name']} | {label} | {fmt(row['test_accuracy_mean'])} ± "
                    f"{fmt(row['test_accuracy_std'])} | {fmt(row['validation_accuracy_mean'])} | {row['n_runs']} | "
                    f"{fmt(row['train_s_mean'], 1)} |"
                )
        lines += ["", "Targets:", "", "| dataset | check | value | margin | met |", "|---|---|---:|---:|---|"]
        for dataset in results["accuracy"].values():
            for check, row in dataset["targets"].items():
                lines.append(
                    f"| {dataset['test_name']} | {check} | {fmt(row['value'])} | {row['margin']:+.2f} "
                    f"| {fmt(row['met'])} |"
                )
        lines += [
            "",
            "Train s: gru-hf = the Trainer's train_runtime (includes per-epoch validation and checkpoints); seed = "
            "training loop only; TF-IDF/fastText = fit of the chosen setting. Splits sizes: "
            + "; ".join(f"{d['test_name']}: {d['sizes']}" for d in results["accuracy"].values()),
            "",
        ]
    if "speed" in results:
        speed = results["speed"]
        peak = speed["peak"]
        lines += [
            "## Speed",
            "",
            f"Peak measured in this process: torch.mm 2048x2048 {fmt(peak['gemm_2048x2048']['gflops'], 1)} GFLOP/s, "
            f"64x128 @ 128x384 {fmt(peak['gemm_64x128_128x384']['gflops'], 1)} GFLOP/s. Utilisation = GRU training "
            "FLOP/s (3 x 2 x 3H(E+H) per real token and direction) / peak.",
            "",
        ]
        engine = speed["engine"]
        d = engine["data"]
        lines += [
            f"### Training engine (SST-2 train, first {d['texts']:,} texts, {d['tokens']:,} real tokens, mean length "
            f"{d['mean_length']:.1f}, max {d['max_length']}; {engine['epochs']} epoch, batch {engine['batch_size']}, "
            f"{engine['optimizer']})",
            "",
            "| sizes | path | real tokens/s | vs seed | GFLOP/s | % of 2048² peak | % of step-GEMM peak | clean % |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for size_name, block in engine["rows"].items():
            for path, row in block["rows"].items():
                u = row["utilisation"]
                lines.append(
                    f"| {size_name} | {path} | {fmt(row['tokens_per_s'])} | {row['speedup_vs_seed']:.2f}x | "
                    f"{fmt(u['gflops'], 1)} | {100 * u['of_peak_2048']:.1f} | {100 * u['of_peak_step_gemm']:.1f} | "
                    f"{100 * row['clean_fraction']:.0f} |"
                )
        lines += [
            "",
            "gru-hf hand loop = GRUForSequenceClassification in a plain Adam loop over the Trainer's length-grouped "
            "order; gru-hf Trainer = `Trainer.train()` on the same pre-tokenised data (its train_runtime, AdamW). "
            "At seed sizes gru-hf uses pooling=last and no dropout (the seed's computation); at project sizes its "
            "defaults (max pooling, dropout 0.25) against a seed BiGRU reading both final states.",
            "",
        ]
        strategy = speed["strategy"]
        lines += [
            f"### GRU execution strategy (E={strategy['sizes']['embedding_dim']}, "
            f"H={strategy['sizes']['hidden_size']}, batch 64, flush-to-zero, same data)",
            "",
            "| direction, batching | strategy | real tokens/s | vs packed | % of step-GEMM peak | clean % |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for key, rows in strategy["rows"].items():
            for name, row in rows.items():
                lines.append(
                    f"| {key} | {name} | {fmt(row['tokens_per_s'])} | {row['speedup_vs_packed']:.2f}x | "
                    f"{100 * row['utilisation']['of_peak_step_gemm']:.1f} | {100 * row['clean_fraction']:.0f} |"
                )
        lines.append("")
    if "inference" in results:
        inf = results["inference"]
        lines += [
            f"### Inference ({inf['texts']} SST-2 dev sentences, model {inf['model']})",
            "",
            "| path | sentences/s | vs tokenizer+forward | median ms | p95 ms |",
            "|---|---:|---:|---:|---:|",
        ]
        for name, row in inf["rows"].items():
            ratio = f"{row['ratio_vs_direct']:.2f}x" if "ratio_vs_direct" in row else "1.00x"
            lines.append(
                f"| {name} | {fmt(row['sentences_per_s'], 0)} | {ratio} "
                f"| {fmt(row.get('latency_median_ms', math.nan))} | {fmt(row.get('latency_p95_ms', math.nan))} |"
            )
        tok = results["tokenizer"]
        lines += [
            "",
            f"### Tokenizer ({tok['texts']:,} SST-2 training texts; identical ids for "
            f"{100 * tok['identical_ids_fraction']:.1f}% of texts)",
            "",
            "| tokenizer | texts/s | ratio |",
            "|---|---:|---:|",
        ]
        for name, row in tok["rows"].items():
            lines.append(f"| {name} | {fmt(row['texts_per_s'], 0)} | {row['ratio_vs_python']:.2f}x |")
        lines.append("")
    if "memory" in results:
        lines += [
            "### Peak memory (RSS, each in a fresh process)",
            "",
            "| process | after imports MB | peak MB |",
            "|---|---:|---:|",
        ]
        for name, row in results["memory"].items():
            if isinstance(row, dict):
                lines.append(f"| {name} | {fmt(row['baseline_after_imports_mb'], 0)} | {fmt(row['peak_rss_mb'], 0)} |")
        lines.append("")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", default=os.path.join(REPO_ROOT, "..", "shared", "data"))
    parser.add_argument("--out", default=os.path.join(REPO_ROOT, "outputs", "benchmark"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--datasets", nargs="+", default=["mr", "sst2"], choices=sorted(DATASETS))
    parser.add_argument("--quick", action="store_true", help="tiny smoke run: a few hundred texts, 1 epoch, 1 seed")
    parser.add_argument(
        "--sections",
        nargs="+",
        default=["accuracy", "speed", "inference", "memory"],
        choices=["accuracy", "speed", "inference", "memory"],
    )
    parser.add_argument(
        "--accuracy_threads",
        type=int,
        default=1,
        help="torch threads for the accuracy runs (0: torch's default). One thread keeps them from crawling when "
        "other processes share the cores; the speed section always uses torch's default.",
    )
    parser.add_argument("--child", choices=["train", "infer"], help=argparse.SUPPRESS)
    parser.add_argument("--child_spec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds = 1
    args.data_dir = os.path.abspath(args.data_dir)
    return args


def quiet_libraries() -> None:
    import datasets
    import transformers

    transformers.logging.set_verbosity_error()
    datasets.logging.set_verbosity_error()
    datasets.disable_progress_bars()
    logging.getLogger("gru_hf").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")


def fallback_model_dir(args, workdir) -> str:
    """A small trained model for the inference and memory sections when the accuracy section did not run."""
    out = os.path.join(workdir, "inference-model")
    texts, labels = read_csv(os.path.join(args.data_dir, DATASETS["sst2"]["train"]))
    texts, labels = texts[:2000], labels[:2000]
    tokenizer = gru_hf.train_tokenizer(texts, vocab_size=30000, min_frequency=1)
    model = GRUHFAdapter(len(tokenizer), 100, 128, 2, bidirectional=True, pooling="max")
    ids = encode(tokenizer, texts)
    torch.set_flush_denormal(True)
    train_loop(model, ids, labels, 1, lambda g: random_order(len(ids), g), 0)
    model.model.config.id2label = {0: "negative", 1: "positive"}
    model.model.config.label2id = {"negative": 0, "positive": 1}
    model.model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.child:
        child_main(args)
        return {}
    quiet_libraries()
    os.makedirs(args.out, exist_ok=True)
    started = time.perf_counter()
    results = {
        "quick": args.quick,
        "command": " ".join(["python", "scripts/benchmark.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine_info(),
        "settings": {
            "split_seed": SPLIT_SEED,
            "validation_percent": VALIDATION_PERCENT,
            "gru_hf": GRU_HF_SETTINGS,
            "seed_recipe": {**SEED_SIZES, "epochs": SEED_EPOCHS, "batch_size": SEED_BATCH, "lr": SEED_LR},
            "seeds": args.seeds,
        },
    }
    log(f"machine: {results['machine']['cpu_model']}, {results['machine']['logical_cores']} cores")
    with tempfile.TemporaryDirectory(prefix="gru-hf-bench-") as workdir:
        if args.quick:
            args.data_dir = make_quick_data(args.data_dir, workdir)
            # One thread: a smoke run must not crawl when other processes share the cores (two OpenMP threads
            # fighting other processes for 2 cores can be 10-100x slower).
            torch.set_num_threads(1)
            os.environ["OMP_NUM_THREADS"] = "1"
        model_dir = None
        if "accuracy" in args.sections:
            threads = torch.get_num_threads()
            if args.accuracy_threads:
                torch.set_num_threads(args.accuracy_threads)
            results["machine"]["accuracy_threads"] = torch.get_num_threads()
            try:
                results["accuracy"] = accuracy_section(args, workdir)
            finally:
                torch.set_num_threads(threads)
            if "sst2" in results["accuracy"]:
                model_dir = results["accuracy"]["sst2"]["models"]["gru-hf (random init)"]["runs"][0]["output_dir"]
        if "speed" in args.sections:
            log("speed: peak GEMM")
            peak = measure_peak(args.quick)
            data = speed_data(args)
            results["speed"] = {
                "peak": peak,
                "engine": engine_section(args, data, peak, workdir),
                "strategy": strategy_section(args, data, peak),
            }
            results["speed"]["peak_after"] = measure_peak(args.quick)
        if {"inference", "memory"} & set(args.sections) and model_dir is None:
            log("inference: training a small model to time")
            model_dir = fallback_model_dir(args, workdir)
        if "inference" in args.sections:
            log("inference: pipeline vs tokenizer + forward")
            texts = read_csv(os.path.join(args.data_dir, DATASETS["sst2"]["test"]))[0]
            results["inference"] = inference_section(model_dir, texts, 1 if args.quick else 3)
            train_texts = read_csv(os.path.join(args.data_dir, DATASETS["sst2"]["train"]))[0]
            from transformers import AutoTokenizer

            log("tokenizer: batch encoding")
            results["tokenizer"] = tokenizer_section(train_texts, AutoTokenizer.from_pretrained(model_dir))
        if "memory" in args.sections:
            results["memory"] = memory_section(args, workdir, model_dir)
        gc.collect()
    results["total_s"] = time.perf_counter() - started
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2, sort_keys=False, default=str)
    with open(os.path.join(args.out, "results.md"), "w", encoding="utf-8") as f:
        f.write(markdown(results))
    log(f"done in {results['total_s'] / 60:.1f} min: {os.path.join(args.out, 'results.md')}")
    return results


if __name__ == "__main__":
    main()
