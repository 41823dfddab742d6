"""Tokenizer speed: gru-hf's tokenizer (what AutoTokenizer and pipeline load) in one batch call, its Rust backend's
`encode_batch`, and the ONNX runtime's tokenizer (`gru_hf.words`: a pure-Python twin for ASCII texts, the Rust
backend for the rest) against a pure Python `re.findall` + dict lookup with the same pattern and vocabulary, on the
SST-2 training texts; the ids must agree."""

import json
import os
import re

from gru_hf.words import WORD_PATTERN

from .data import read_csv
from .inference import timed_model_dir
from .report import fmt, table
from .settings import DATASETS
from .timing import Meter, log

PYTHON = "pure Python re.findall + dict lookup"
RUST = "its Rust backend, encode_batch"
RUNTIME = "the ONNX runtime's (gru_hf.words twin, Rust for non-ASCII)"


def run(data_dir: str, workdir: str, quick: bool) -> dict:
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    from gru_hf.words import AsciiWordTokenizer, encode_texts

    model_dir = timed_model_dir(data_dir, workdir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    with open(os.path.join(model_dir, "tokenizer.json"), encoding="utf-8") as f:
        saved = f.read()
    rust = Tokenizer.from_str(saved)
    twin = AsciiWordTokenizer.from_tokenizer_json(json.loads(saved), tokenizer.model_max_length)
    texts = read_csv(os.path.join(data_dir, DATASETS["sst2"]["train"]))[0]
    pattern = re.compile(WORD_PATTERN)
    vocab = tokenizer.get_vocab()
    unk = tokenizer.unk_token_id

    def python_split(chunk):
        get = vocab.get
        return [[get(w, unk) for w in pattern.findall(t.lower())] for t in chunk]

    def hf(chunk):
        return tokenizer(chunk)["input_ids"]

    def rust_batch(chunk):
        return [e.ids for e in rust.encode_batch(chunk)]

    def runtime(chunk):
        return encode_texts(chunk, rust, twin)

    log("tokenizer: batch encoding")
    jobs = {"gru-hf tokenizer, batch call": hf, RUST: rust_batch, RUNTIME: runtime, PYTHON: python_split}
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
    for row in rows.values():
        row["ratio_vs_python"] = row["texts_per_s"] / rows[PYTHON]["texts_per_s"]
    reference = hf(texts)
    for name, fn in jobs.items():
        rows[name]["identical_ids_fraction"] = sum(a == b for a, b in zip(reference, fn(texts))) / max(len(texts), 1)
    return {"texts": len(texts), "rows": rows, "identical_ids_fraction": rows[PYTHON]["identical_ids_fraction"]}


def render(results: dict) -> str:
    rows = [
        [
            name,
            fmt(row["texts_per_s"], 0),
            f"{row['ratio_vs_python']:.2f}x",
            f"{100 * row.get('identical_ids_fraction', results['identical_ids_fraction']):.1f}",
        ]
        for name, row in results["rows"].items()
    ]
    lines = [
        f"{results['texts']:,} SST-2 training texts, chunks of 1,000; identical ids: % of texts whose ids equal the "
        "gru-hf tokenizer's.",
        "",
        *table(["tokenizer", "texts/s", "ratio", "identical ids %"], ["l", "r", "r", "r"], rows),
    ]
    return "\n".join(lines)
