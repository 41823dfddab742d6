"""scripts/benchmark.py --quick on a tiny synthetic data directory: every section is written, with finite numbers."""

import csv
import json
import math
import os
import random
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO_ROOT, "scripts", "benchmark.py")

POSITIVE = ["good", "great", "wonderful", "fine", "moving", "funny", "best", "charming"]
NEGATIVE = ["bad", "awful", "boring", "dull", "worst", "silly", "weak", "tedious"]
NEUTRAL = ["the", "a", "film", "movie", "story", "plot", "acting", "is", "and", "it", "'s", "was", "of", ","]


def synthetic_rows(rng: random.Random, n: int) -> list[tuple[str, int]]:
    rows = []
    for i in range(n):
        label = i % 2
        cue = POSITIVE if label else NEGATIVE
        words = [rng.choice(NEUTRAL) for _ in range(rng.randint(2, 14))]
        for _ in range(rng.randint(1, 2)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(cue))
        rows.append((" ".join(words) + " .", label))
    rng.shuffle(rows)
    return rows


def glue_phrases(rng: random.Random, sentences: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """GLUE-style SST-2 train: every sentence and two of its word spans (lower case, trailing space as in GLUE)."""
    rows = []
    for text, label in sentences:
        words = text.split()
        rows.append((text + " ", label))
        for _ in range(2):
            i = rng.randrange(len(words))
            rows.append((" ".join(words[i : rng.randint(i + 1, len(words))]), label))
    rng.shuffle(rows)
    return rows


def write_csv(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)


def make_data_dir(root) -> str:
    """The layout of ../shared/data: mr/{train,test}.csv, sst2/{train,dev}.csv, glove/glove.6B.50d.subset.txt."""
    rng = random.Random(0)
    data = os.path.join(root, "data")
    write_csv(os.path.join(data, "mr", "train.csv"), synthetic_rows(rng, 300))
    write_csv(os.path.join(data, "mr", "test.csv"), synthetic_rows(rng, 80))
    sentences = synthetic_rows(rng, 150)
    write_csv(os.path.join(data, "sst2", "sst_sentences", "train.csv"), sentences)
    write_csv(os.path.join(data, "sst2", "train.csv"), glue_phrases(rng, sentences))
    write_csv(os.path.join(data, "sst2", "dev.csv"), synthetic_rows(rng, 80))
    os.makedirs(os.path.join(data, "glove"))
    with open(os.path.join(data, "glove", "glove.6B.50d.subset.txt"), "w", encoding="utf-8") as f:
        for word in POSITIVE + NEGATIVE + NEUTRAL + ["."]:
            f.write(word + " " + " ".join(f"{rng.gauss(0, 0.5):.5f}" for _ in range(50)) + "\n")
    return data


def numbers(value, path="results"):
    """Every number in a JSON value, with where it is."""
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from numbers(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from numbers(item, f"{path}[{i}]")


def test_quick_benchmark_writes_every_section(tmp_path):
    data = make_data_dir(tmp_path)
    out = tmp_path / "out"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(
        [sys.executable, SCRIPT, "--quick", "--data_dir", data, "--out", str(out)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    markdown = (out / "results.md").read_text(encoding="utf-8")

    for section in ("machine", "settings", "accuracy", "speed", "inference", "tokenizer", "memory", "total_s"):
        assert section in results, section
    assert set(results["accuracy"]) == {"mr", "sst2"}
    for dataset in results["accuracy"].values():
        assert set(dataset["models"]) == {
            "gru-hf (random init)",
            "gru-hf (GloVe 50d)",
            "seed recipe (Embedding-GRU-Linear)",
            "TF-IDF 1-2 grams + LR",
            "fastText (wordNgrams=2)",
        }
        for row in dataset["models"].values():
            assert 0.0 <= row["test_accuracy_mean"] <= 100.0
            assert row["n_runs"] >= 1
        assert dataset["targets"]
    for section in ("peak", "engine", "strategy"):
        assert section in results["speed"], section
    assert results["speed"]["engine"]["rows"] and results["speed"]["strategy"]["rows"]
    for row in results["inference"]["rows"].values():
        assert row["sentences_per_s"] > 0
    for name in ("training", "inference"):
        assert any(
            key.startswith(name) and row["peak_rss_mb"] > 0
            for key, row in results["memory"].items()
            if isinstance(row, dict)
        )

    found = list(numbers(results))
    assert len(found) > 100
    bad = [(path, value) for path, value in found if not math.isfinite(value)]
    assert not bad, bad[:10]
    for heading in (
        "## Accuracy",
        "## Speed",
        "### Training engine",
        "### GRU execution strategy",
        "### Inference",
        "### Tokenizer",
        "### Peak memory",
    ):
        assert heading in markdown, heading
