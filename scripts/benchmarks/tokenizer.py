"""Tokenizer speed: gru-hf's tokenizer (what AutoTokenizer and pipeline load) in one batch call against a pure
Python `re.findall` + dict lookup with the same pattern and vocabulary, on the SST-2 training texts; the ids must
agree."""

import os
import re

from gru_hf.tokenization_gru import WORD_PATTERN

from .data import read_csv
from .inference import timed_model_dir
from .report import fmt, table
from .settings import DATASETS
from .timing import Meter, log

PYTHON = "pure Python re.findall + dict lookup"


def run(data_dir: str, workdir: str, quick: bool) -> dict:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(timed_model_dir(data_dir, workdir))
    texts = read_csv(os.path.join(data_dir, DATASETS["sst2"]["train"]))[0]
    pattern = re.compile(WORD_PATTERN)
    vocab = tokenizer.get_vocab()
    unk = tokenizer.unk_token_id

    def python_split(chunk):
        get = vocab.get
        return [[get(w, unk) for w in pattern.findall(t.lower())] for t in chunk]

    def hf(chunk):
        return tokenizer(chunk)["input_ids"]

    log("tokenizer: batch encoding")
    jobs = {"gru-hf tokenizer, batch call": hf, PYTHON: python_split}
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
    same = sum(a == b for a, b in zip(hf(texts), python_split(texts)))
    return {"texts": len(texts), "rows": rows, "identical_ids_fraction": same / max(len(texts), 1)}


def render(results: dict) -> str:
    rows = [
        [name, fmt(row["texts_per_s"], 0), f"{row['ratio_vs_python']:.2f}x"] for name, row in results["rows"].items()
    ]
    lines = [
        f"{results['texts']:,} SST-2 training texts, chunks of 1,000; identical ids for "
        f"{100 * results['identical_ids_fraction']:.1f}% of texts.",
        "",
        *table(["tokenizer", "texts/s", "ratio"], ["l", "r", "r"], rows),
    ]
    return "\n".join(lines)
