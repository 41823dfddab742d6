"""Inference: `pipeline("text-classification")` against the model's own tokenizer + forward on the same SST-2 dev
sentences, at batch 1 (with latencies) and batch 64, interleaved so other processes disturb every row alike."""

import os
import statistics
import time

import numpy as np
import torch

import gru_hf

from .data import read_csv
from .peers import GRUHFAdapter, encode, random_order, train_loop
from .report import fmt, table
from .settings import DATASETS
from .timing import Meter, log

ROWS = ("pipeline, batch 1", "tokenizer + forward, batch 1", "pipeline, batch 64", "tokenizer + forward, batch 64")
MODEL_TEXTS = 2000


def timed_model_dir(data_dir: str, workdir: str) -> str:
    """A saved gru-hf model at the project's default sizes (E=100, H=128, bidirectional, max pooling), trained for
    one epoch on the first MODEL_TEXTS SST-2 training texts: what the inference, tokenizer and memory sections time.
    Speed does not depend on how well it was trained. Built once per workdir."""
    out = os.path.join(workdir, "timed-model")
    if os.path.exists(os.path.join(out, "config.json")):
        return out
    log("inference: training a small model to time")
    texts, labels = read_csv(os.path.join(data_dir, DATASETS["sst2"]["train"]))
    texts, labels = texts[:MODEL_TEXTS], labels[:MODEL_TEXTS]
    tokenizer = gru_hf.train_tokenizer(texts, vocab_size=30000, min_frequency=1)
    model = GRUHFAdapter(len(tokenizer), 100, 128, 2, bidirectional=True, pooling="max")
    ids = encode(tokenizer, texts)
    torch.set_flush_denormal(True)
    train_loop(model, ids, labels, 1, lambda generator: random_order(len(ids), generator), 0)
    model.model.config.id2label = {0: "negative", 1: "positive"}
    model.model.config.label2id = {"negative": 0, "positive": 1}
    model.model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def run(data_dir: str, workdir: str, quick: bool) -> dict:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

    model_dir = timed_model_dir(data_dir, workdir)
    texts = read_csv(os.path.join(data_dir, DATASETS["sst2"]["test"]))[0]
    repeats = 1 if quick else 3
    torch.set_flush_denormal(True)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    classifier = pipeline("text-classification", model=model, tokenizer=tokenizer, device="cpu")
    n = len(texts)

    def direct(batch):
        with torch.inference_mode():
            encoded = tokenizer(batch, padding=True, truncation=True, return_tensors="pt")
            return model(**encoded).logits.softmax(-1)

    log("inference: warm-up")  # the first call at each new (batch, length) shape builds kernels
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

    log("inference: pipeline vs tokenizer + forward")
    meters = {name: Meter(slice_s=0.25) for name in ROWS}
    latencies = {name: [] for name in ROWS[:2]}
    for _ in range(repeats):
        batch1(classifier, meters[ROWS[0]], latencies[ROWS[0]])
        batch1(lambda t: direct([t]), meters[ROWS[1]], latencies[ROWS[1]])
        batch64(lambda chunk: classifier(chunk, batch_size=64), meters[ROWS[2]])
        batch64(direct, meters[ROWS[3]])
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
            rows[name]["latency_p95_ms"] = 1000 * float(np.percentile(latencies[name], 95))
    for pipe, bare in ((ROWS[0], ROWS[1]), (ROWS[2], ROWS[3])):
        rows[pipe]["ratio_vs_direct"] = rows[pipe]["sentences_per_s"] / rows[bare]["sentences_per_s"]
        rows[bare]["ratio_vs_direct"] = 1.0
    return {
        "texts": n,
        "mean_words": statistics.fmean(len(t.split()) for t in texts),
        "repeats": repeats,
        "model": {k: getattr(model.config, k) for k in ("embedding_dim", "hidden_size", "bidirectional", "pooling")},
        "rows": rows,
    }


def render(results: dict) -> str:
    m = results["model"]
    rows = [
        [
            name,
            fmt(row["sentences_per_s"], 0),
            f"{row['ratio_vs_direct']:.2f}x",
            fmt(row.get("latency_median_ms", float("nan"))),
            fmt(row.get("latency_p95_ms", float("nan"))),
        ]
        for name, row in results["rows"].items()
    ]
    lines = [
        f"{results['texts']} SST-2 dev sentences (mean {results['mean_words']:.1f} words); "
        f"model E={m['embedding_dim']}, "
        f"H={m['hidden_size']}, {'bidirectional' if m['bidirectional'] else 'unidirectional'}, {m['pooling']} "
        f"pooling; {results['repeats']} interleaved passes.",
        "",
        *table(
            ["path", "sentences/s", "vs tokenizer+forward", "median ms", "p95 ms"], ["l", "r", "r", "r", "r"], rows
        ),
    ]
    return "\n".join(lines)
