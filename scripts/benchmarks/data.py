"""Data for every section: the training job's own splits, the honest SST-2 validation split, tiny copies for --quick.

SST-2: GLUE's train.tsv holds every phrase of the training sentences, so a validation split carved from it at random
shares phrases with train and reads optimistic (92% against 84% on the dev sentences). `sst2_sentence_split` holds
out whole training sentences instead, together with every GLUE phrase that occurs inside one of them."""

import csv
import os
import random
import re

from gru_hf.tokenization_gru import WORD_PATTERN

from .settings import DATASETS, GLOVE_FILE, SPLIT_SEED, SST2_SENTENCES, VALIDATION_PERCENT


def read_csv(path: str) -> tuple[list[str], list[int]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [int(r["label"]) for r in rows]


def write_csv(path: str, texts: list[str], labels: list[int]) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(zip(texts, labels))
    return path


def normalise(text: str) -> str:
    """Lower case, single spaces: GLUE phrases and SST sentences differ in case and trailing spaces only."""
    return " ".join(text.lower().split())


def word_spans(text: str) -> set[str]:
    """Every contiguous run of words of a normalised text: the phrases that can occur inside it."""
    words = text.split()
    return {" ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)}


def sentence_held_out_split(
    phrases: tuple[list[str], list[int]],
    sentences: tuple[list[str], list[int]],
    validation_percent: float = VALIDATION_PERCENT,
    seed: int = SPLIT_SEED,
) -> dict:
    """Split GLUE-style phrase data by sentence.

    `validation_percent` % of `sentences` (seeded) are held out; validation holds them and every phrase that is a
    word-aligned substring of one of them after `normalise` (each distinct text once); train holds every other
    phrase. So no phrase of a validation sentence is trained on. Returns {"train": (texts, labels), "validation":
    (texts, labels), "held_out_sentences": n}."""
    order = list(range(len(sentences[0])))
    random.Random(seed).shuffle(order)
    n_out = max(1, round(len(order) * validation_percent / 100.0))
    held = [order[i] for i in range(n_out)]
    inside = set()
    for i in held:
        inside |= word_spans(normalise(sentences[0][i]))
    validation = {}
    for i in held:
        validation.setdefault(normalise(sentences[0][i]), (sentences[0][i], sentences[1][i]))
    train_texts, train_labels = [], []
    for text, label in zip(*phrases):
        key = normalise(text)
        if not key:
            continue
        if key in inside:
            validation.setdefault(key, (text, label))
        else:
            train_texts.append(text)
            train_labels.append(label)
    rows = list(validation.values())
    return {
        "train": (train_texts, train_labels),
        "validation": ([t for t, _ in rows], [y for _, y in rows]),
        "held_out_sentences": n_out,
    }


def sst2_sentence_split(data_dir: str, workdir: str, seed: int = SPLIT_SEED) -> dict:
    """Write the honest SST-2 train / validation CSVs into `workdir` (never into the repository) and return
    {"train_file", "validation_file", "test_file", "sizes"}: what every SST-2 choice (accuracy, distillation,
    autotune) should train and validate on."""
    out = os.path.join(workdir, f"sst2-sentence-split-seed{seed}")
    split = sentence_held_out_split(
        read_csv(os.path.join(data_dir, DATASETS["sst2"]["train"])),
        read_csv(os.path.join(data_dir, SST2_SENTENCES)),
        seed=seed,
    )
    return {
        "train_file": write_csv(os.path.join(out, "train.csv"), *split["train"]),
        "validation_file": write_csv(os.path.join(out, "validation.csv"), *split["validation"]),
        "test_file": os.path.join(data_dir, DATASETS["sst2"]["test"]),
        "sizes": {
            "train": len(split["train"][0]),
            "validation": len(split["validation"][0]),
            "held_out_sentences": split["held_out_sentences"],
        },
    }


def data_arguments(data_dir: str, name: str, workdir: str):
    """The `DataArguments` of dataset `name`: MR carves 10% of train.csv; SST-2 uses the sentence-held-out split."""
    from gru_hf.data import DataArguments

    spec = DATASETS[name]
    if name == "sst2":
        files = sst2_sentence_split(data_dir, workdir)
        return DataArguments(
            train_file=files["train_file"], validation_file=files["validation_file"], test_file=files["test_file"]
        )
    return DataArguments(
        train_file=os.path.join(data_dir, spec["train"]),
        test_file=os.path.join(data_dir, spec["test"]),
        validation_split_percentage=VALIDATION_PERCENT,
        split_seed=SPLIT_SEED,
    )


def load_splits(data_dir: str, name: str, workdir: str) -> dict:
    """{split: (texts, labels)} for train / validation / test exactly as `gru_hf.training.train` sees them, and
    "num_labels"."""
    from gru_hf.training import load_splits as job_splits

    raw, label_info, _ = job_splits(data_arguments(data_dir, name, workdir))
    splits = {split: (list(raw[split]["text"]), [int(v) for v in raw[split]["labels"]]) for split in raw}
    splits["num_labels"] = label_info.num_labels
    return splits


def make_quick_data(data_dir: str, workdir: str, train_rows: int = 400, test_rows: int = 200) -> str:
    """A tiny copy of the data directory (the first rows of each file) for --quick."""
    out = os.path.join(workdir, "quick-data")
    sizes = (("train", train_rows), ("test", test_rows))
    files = [(spec[key], rows) for spec in DATASETS.values() for key, rows in sizes]
    for path, rows in [*files, (SST2_SENTENCES, train_rows)]:
        texts, labels = read_csv(os.path.join(data_dir, path))
        write_csv(os.path.join(out, path), texts[:rows], labels[:rows])
    # Only the vectors of words that occur in the tiny data: reading all of a large file would dominate --quick.
    words = set()
    for path, _ in files:
        for text in read_csv(os.path.join(out, path))[0]:
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


def speed_data(data_dir: str, workdir: str, quick: bool) -> dict:
    """Pre-tokenised SST-2 training texts (the first settings.SPEED_EXAMPLES of the training split), shared by every
    speed row."""
    import statistics

    import gru_hf

    from .settings import SPEED_EXAMPLES

    texts, labels = load_splits(data_dir, "sst2", workdir)["train"]
    n = SPEED_EXAMPLES["quick" if quick else "full"]
    texts, labels = texts[:n], labels[:n]
    tokenizer = gru_hf.train_tokenizer(texts, vocab_size=30000, min_frequency=1 if quick else 2)
    ids = [row or [tokenizer.unk_token_id] for row in tokenizer(texts, truncation=True)["input_ids"]]
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
