"""Shared test setup: offline, small, deterministic."""

import functools
import os

# Before transformers / huggingface_hub are imported anywhere: nothing may reach the network.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

import gru_hf  # noqa: E402

# Prepended to the code of a subprocess that must behave as if gru_hf were not installed (remote-code tests).
WITHOUT_GRU_HF = """
import sys


class _NoGruHf:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "gru_hf":
            raise ImportError("gru_hf is not installed here")


sys.meta_path.insert(0, _NoGruHf())
"""

TEXTS = [
    "a good film",
    "a bad film",
    "the best movie of the year , truly good",
    "the worst movie , bad bad bad",
    "good acting but a bad plot",
    "I don't like it , it's bad",
    "what a wonderful , good story",
    "boring and bad",
]
LABELS = [1, 0, 1, 0, 0, 0, 1, 0]


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def tokenizer():
    return gru_hf.train_tokenizer(TEXTS, min_frequency=1, model_max_length=16)


def tiny_config(tokenizer=None, **overrides):
    """Tiny sizes in the spirit of transformers' ModelTester."""
    values = dict(
        vocab_size=len(tokenizer) if tokenizer is not None else 99,
        embedding_dim=16,
        hidden_size=12,
        num_hidden_layers=2,
        bidirectional=True,
        embedding_dropout=0.0,
        hidden_dropout=0.0,
        classifier_dropout=0.0,
        pooling="last",
        id2label={0: "negative", 1: "positive", 2: "neutral"},
    )
    values.update(overrides)
    return gru_hf.GRUConfig(**values)


@pytest.fixture
def tiny_model_dir(tmp_path, tokenizer):
    """A saved model + tokenizer directory, as `save_pretrained` writes it."""
    torch.manual_seed(0)
    model = gru_hf.GRUForSequenceClassification(tiny_config(tokenizer, id2label={0: "negative", 1: "positive"}))
    path = tmp_path / "model"
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


# Tiny, trivially separable training data for the end-to-end job.
POSITIVE = ["good film", "great acting , good story", "a wonderful good movie", "truly great", "good good fun"]
NEGATIVE = ["bad film", "awful acting , bad story", "a terrible bad movie", "truly awful", "bad bad boring"]


def write_csv(path, rows, header=("text", "label")):
    import csv

    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def write_tiny_files(directory):
    """Tiny, trivially separable train.csv and test.csv in `directory`; returns their paths by split."""
    train_rows = [(t, "pos") for t in POSITIVE * 4] + [(t, "neg") for t in NEGATIVE * 4]
    test_rows = [(t, "pos") for t in POSITIVE] + [(t, "neg") for t in NEGATIVE]
    return {
        "train": write_csv(directory / "train.csv", train_rows),
        "test": write_csv(directory / "test.csv", test_rows),
    }


@pytest.fixture
def tiny_files(tmp_path):
    return write_tiny_files(tmp_path)


def tiny_args(files, output_dir, *extra):
    return [
        "--train_file",
        files["train"],
        "--test_file",
        files["test"],
        "--output_dir",
        str(output_dir),
        "--embedding_dim",
        "8",
        "--hidden_size",
        "8",
        "--min_frequency",
        "1",
        "--num_train_epochs",
        "4",
        "--per_device_train_batch_size",
        "8",
        "--learning_rate",
        "0.02",
        "--seed",
        "7",
        "--disable_tqdm",
        "true",
        "--early_stopping_patience",
        "0",
        *extra,
    ]


# Shared by the reliability files (batch invariance, bad input, bad files, load safety, threads and memory).
# Known words, words the tokenizer never saw, punctuation and a clitic.
WORDS = ["a", "good", "film", "bad", ",", "the", "movie", "boring", "don't", "zyzzyva", "qwxq", "Ünknown", "!"]


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads, and on a shared CPU their spinning makes these tests ~10x
    slower and their timings noisy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@functools.lru_cache(maxsize=1)
def shared_tokenizer():
    return gru_hf.train_tokenizer(TEXTS, min_frequency=1, model_max_length=16)


def assert_same(got, expected):
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """The same tiny saved directory as `tiny_model_dir`, built once and shared by read-only tests."""
    tokenizer = gru_hf.train_tokenizer(TEXTS, min_frequency=1, model_max_length=16)  # right padding, as saved
    torch.manual_seed(0)
    model = gru_hf.GRUForSequenceClassification(tiny_config(tokenizer, id2label={0: "negative", 1: "positive"}))
    path = tmp_path_factory.mktemp("shared") / "model"
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def classifier(model_dir):
    from transformers import pipeline

    return pipeline("text-classification", model=str(model_dir))


def copy_dir(model_dir, tmp_path):
    """A copy of `model_dir` that a test may damage."""
    import shutil

    path = tmp_path / "broken"
    shutil.copytree(model_dir, path)
    return path
