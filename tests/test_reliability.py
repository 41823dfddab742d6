"""Reliability: invariances over random batches, bad input, bad files, sustained and concurrent load, and what
loading a saved directory may execute."""

import functools
import itertools
import json
import os
import pickle
import random
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import torch
from conftest import TEXTS, WITHOUT_GRU_HF, tiny_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

from gru_hf import GRUForSequenceClassification, train_tokenizer
from gru_hf.cli import main
from gru_hf.hub import check_model_directory, validate_model_directory

VARIANTS = list(itertools.product(["last", "mean", "max"], [True, False], [1, 2]))
# Known words, words the tokenizer never saw, punctuation and a clitic; texts may be empty.
WORDS = ["a", "good", "film", "bad", ",", "the", "movie", "boring", "don't", "zyzzyva", "qwxq", "Ünknown", "!"]
text_strategy = st.lists(st.sampled_from(WORDS), max_size=24).map(" ".join)
batch_strategy = st.lists(text_strategy, min_size=1, max_size=8)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Tiny models gain nothing from intra-op threads, and on a shared CPU their spinning makes these tests ~10x
    slower and their timings noisy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@functools.lru_cache(maxsize=1)
def shared_tokenizer():
    return train_tokenizer(TEXTS, min_frequency=1, model_max_length=16)


@functools.cache
def variant_model(pooling, bidirectional, layers):
    torch.manual_seed(0)
    config = tiny_config(shared_tokenizer(), pooling=pooling, bidirectional=bidirectional, num_hidden_layers=layers)
    return GRUForSequenceClassification(config).eval()


@torch.no_grad()
def reference_logits(model, text):
    """One text at a time through the model's own `nn.GRU` on the unpadded embeddings."""
    base, config = model.model, model.config
    ids = shared_tokenizer()(text)["input_ids"]
    if not ids:
        pooled = torch.zeros(config.output_size)  # documented: an empty text has a zero sentence vector
    else:
        states, h_n = base.gru(base.embeddings(torch.tensor([ids])))
        if config.pooling == "last":
            pooled = torch.cat([h_n[-2, 0], h_n[-1, 0]]) if config.bidirectional else h_n[-1, 0]
        elif config.pooling == "mean":
            pooled = states[0].mean(0)
        else:
            pooled = states[0].max(0).values
    return model.classifier(pooled)


@torch.no_grad()
def batch_logits(model, texts, side="right", extra_padding=0):
    tokenizer = shared_tokenizer()
    tokenizer.padding_side = side
    longest = max(len(ids) for ids in tokenizer(texts)["input_ids"])
    batch = tokenizer(texts, padding="max_length", max_length=longest + extra_padding, return_tensors="pt")
    return model(**batch).logits


def assert_same(got, expected):
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


# 1. Invariances -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pooling, bidirectional, layers", VARIANTS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=batch_strategy, data=st.data())
def test_logits_depend_only_on_the_text(pooling, bidirectional, layers, texts, data):
    model = variant_model(pooling, bidirectional, layers)
    expected = torch.stack([reference_logits(model, text) for text in texts])

    # Whole batch, either padding side, with extra padding columns.
    side = data.draw(st.sampled_from(["left", "right"]), label="side")
    extra = data.draw(st.integers(0, 5), label="extra padding")
    assert_same(batch_logits(model, texts, side, extra), expected)

    # Cut into smaller batches (other batch sizes, other longest texts).
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(texts) - 1))), label="cuts")) if len(texts) > 1 else []
    bounds = [0, *cuts, len(texts)]
    pieces = [batch_logits(model, texts[a:b], side) for a, b in zip(bounds, bounds[1:]) if b > a]
    assert_same(torch.cat(pieces), expected)

    # Shuffled batch.
    order = data.draw(st.permutations(range(len(texts))), label="order")
    assert_same(batch_logits(model, [texts[i] for i in order], side), expected[list(order)])

    # One text among other neighbours, at any position.
    index = data.draw(st.integers(0, len(texts) - 1), label="index")
    neighbours = data.draw(st.lists(text_strategy, max_size=6), label="neighbours")
    position = data.draw(st.integers(0, len(neighbours)), label="position")
    batch = neighbours[:position] + [texts[index]] + neighbours[position:]
    assert_same(batch_logits(model, batch, data.draw(st.sampled_from(["left", "right"])))[position], expected[index])


# 2. Bad input ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """The same tiny saved directory as conftest's `tiny_model_dir`, shared by this module's read-only tests."""
    tokenizer = train_tokenizer(TEXTS, min_frequency=1, model_max_length=16)  # right padding, as saved by default
    torch.manual_seed(0)
    model = GRUForSequenceClassification(tiny_config(tokenizer, id2label={0: "negative", 1: "positive"}))
    path = tmp_path_factory.mktemp("reliability") / "model"
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def classifier(model_dir):
    return pipeline("text-classification", model=str(model_dir))


def raw_logits(classifier, texts):
    results = classifier(texts, top_k=None, function_to_apply="none")
    return torch.tensor([[d["score"] for d in sorted(r, key=lambda d: d["label"])] for r in results])


NOTHING_TO_READ = ["", " ", "\t\n \r ", "\x00\x01\x07\x1b", "\u200b\u200d\ufeff\u2060", " \x00 \u200b "]
# Texts made only of words the tokenizer never saw, with the number of [UNK] tokens each becomes.
ONLY_UNKNOWN = [
    ("zyzzyva qwxq", 2),
    ("😀🎉", 2),
    ("👨‍👩‍👧", 3),  # a ZWJ family: its joiners are format characters, replaced by spaces
    ("日本語のテキスト", 1),
    ("مرحبا بالعالم", 2),
    ("नमस्ते", 1),
    ("e\u0301\u0301\u0301", 1),
    ("Z̷̢a̶l̸g̵o̴", 1),
    ("Ω≈ç√∫", 5),
]


def test_unusual_texts_give_probability_distributions(classifier):
    texts = (
        NOTHING_TO_READ
        + [text for text, _ in ONLY_UNKNOWN]
        + ["ＧＯＯＤ　ｆｉｌｍ", "\u202egood film\u202c", "good\x00film"]
    )
    for text, result in zip(texts, classifier(texts, top_k=None)):
        scores = [d["score"] for d in result]
        assert sorted(d["label"] for d in result) == ["negative", "positive"], text
        assert all(0.0 <= s <= 1.0 for s in scores) and sum(scores) == pytest.approx(1.0, abs=1e-6), text


def test_texts_with_nothing_to_read_equal_the_empty_text(classifier):
    logits = raw_logits(classifier, NOTHING_TO_READ)
    bias = classifier.model.classifier.bias.detach()  # an empty text: zero sentence vector, logits = bias
    assert_same(logits, bias.expand(len(NOTHING_TO_READ), -1))


def test_only_unknown_words_equal_as_many_unk_tokens(classifier):
    tokenizer, model = classifier.tokenizer, classifier.model
    for text, count in ONLY_UNKNOWN:
        assert tokenizer(text)["input_ids"] == [tokenizer.unk_token_id] * count, text
        with torch.no_grad():
            expected = model(input_ids=torch.full((1, count), tokenizer.unk_token_id)).logits
        assert_same(raw_logits(classifier, [text]), expected)
    # Normalisation: full-width letters, ligatures and bidi controls read as the plain words.
    assert_same(
        raw_logits(classifier, ["ＧＯＯＤ　ｆｉｌｍ", "\u202egood film\u202c"]),
        raw_logits(classifier, ["good film"] * 2),
    )
    assert_same(raw_logits(classifier, ["good\x00film"]), raw_logits(classifier, ["good film"]))


class PeakRss:
    """Highest resident memory of this process while the block runs (sampled every 2 ms)."""

    def __enter__(self):
        self.process = psutil.Process()
        self.start = self.peak = self.process.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.002)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth_mb(self):
        return (self.peak - self.start) / 2**20


@pytest.mark.parametrize("unit", ["good bad film zyzzyva , ", "x"])
def test_million_character_text_is_truncated_with_bounded_memory(classifier, unit):
    text = (unit * (1_000_000 // len(unit) + 1))[:1_000_000]
    classifier(["warm up"] * 2, truncation=True)
    with PeakRss() as rss:
        result = classifier(text, truncation=True, top_k=None)
        ids = classifier.tokenizer(text, truncation=True)["input_ids"]
    print(f"\n1,000,000 characters ({unit!r}): peak RSS growth {rss.growth_mb:.1f} MB")
    assert rss.growth_mb < 200
    assert len(ids) == min(classifier.tokenizer.model_max_length, len(classifier.tokenizer(text[:1000])["input_ids"]))
    first_words = classifier.tokenizer.decode(ids)
    assert result == classifier(first_words, top_k=None)


@pytest.mark.parametrize(
    "inputs, message",
    [
        (None, "text"),
        (["a good film", None], "text"),
        (3, "must be of type `str`"),
        (["a good film", 5], "must be of type `str`"),
        ([b"a good film"], "must be of type `str`"),
        ([1.5, "a good film"], "must be of type `str`"),
    ],
)
def test_pipeline_rejects_non_strings_with_a_clear_error(classifier, inputs, message):
    # The tokenizer (the pipeline's preprocess) refuses them before any tensor is built.
    with pytest.raises(ValueError, match=message):
        classifier(inputs)


@pytest.mark.xfail(
    strict=True,
    raises=RuntimeError,
    reason="transformers bug: pipelines.base._pad pads a row of length 0 on the left with tensor[i, -0:]",
)
def test_left_padding_pipeline_with_an_empty_text_in_a_batch(model_dir, tmp_path):
    path = copy_dir(model_dir, tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(path, padding_side="left")
    tokenizer.save_pretrained(path)
    left = pipeline("text-classification", model=str(path))
    assert left.tokenizer.padding_side == "left"
    texts = ["a good film", "", "bad"]
    right = pipeline("text-classification", model=str(model_dir))
    assert left(texts, batch_size=3) == right(texts, batch_size=3)


def test_lone_surrogates_raise_instead_of_being_guessed(classifier):
    # `str` that is not valid Unicode (e.g. bytes decoded with errors="surrogateescape", as sys.argv is on Linux):
    # the Rust tokenizer refuses it. The message is transformers'/tokenizers' and opaque; `gru-hf predict` should
    # catch it first (see test_predict_reports_text_that_is_not_unicode).
    with pytest.raises((TypeError, ValueError)):
        classifier("good \udcff film")


def test_predict_reports_text_that_is_not_unicode(model_dir, capsys):
    code = main(["predict", str(model_dir), "good \udcff film"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "UTF-8" in err[0], err


def train_one_step(tmp_path, model, rows):
    from datasets import Dataset
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    tokenizer = shared_tokenizer()
    tokenizer.padding_side = "right"
    data = Dataset.from_dict({"text": [t for t, _ in rows], "labels": [label for _, label in rows]})
    data = data.map(lambda b: tokenizer(b["text"]), batched=True, remove_columns=["text"])
    args = TrainingArguments(
        output_dir=str(tmp_path / "run"),
        per_device_train_batch_size=len(rows),
        max_steps=1,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        disable_tqdm=True,
    )
    Trainer(model=model, args=args, train_dataset=data, data_collator=DataCollatorWithPadding(tokenizer)).train()


@pytest.mark.parametrize(
    "labels, num_labels, message",
    [
        ([0, 1, 5, 0], 3, "label 5 is out of range for a model with num_labels=3"),
        ([0, -3, 1, 0], 3, "label -3 is out of range for a model with num_labels=3"),
        ([0.5, float("nan"), 1.0, 2.0], 1, r"labels contain NaN \(regression\)"),
    ],
)
def test_trainer_stops_on_a_bad_label(tmp_path, labels, num_labels, message):
    torch.manual_seed(0)
    id2label = {i: f"class{i}" for i in range(num_labels)}
    model = GRUForSequenceClassification(tiny_config(shared_tokenizer(), id2label=id2label))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ValueError, match=message):
        train_one_step(tmp_path, model, list(zip(TEXTS[:4], labels)))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # no step was taken


# 3. Bad files ---------------------------------------------------------------------------------------------------


def copy_dir(model_dir, tmp_path):
    path = tmp_path / "broken"
    shutil.copytree(model_dir, path)
    return path


def _truncate(fraction):
    def change(path):
        data = (path / "model.safetensors").read_bytes()
        (path / "model.safetensors").write_bytes(data[: int(len(data) * fraction)])

    return change


def _overwrite(offset, payload):
    def change(path):
        data = bytearray((path / "model.safetensors").read_bytes())
        data[offset : offset + len(payload)] = payload
        (path / "model.safetensors").write_bytes(bytes(data))

    return change


WEIGHT_DAMAGE = {
    "missing": lambda path: (path / "model.safetensors").unlink(),
    "empty": _truncate(0.0),
    "truncated_in_header": lambda path: (path / "model.safetensors").write_bytes(
        (path / "model.safetensors").read_bytes()[:20]
    ),
    "truncated_in_data": _truncate(0.6),
    "header_garbage": _overwrite(8, b"\xff" * 32),
    "huge_header_length": _overwrite(0, (2**60).to_bytes(8, "little")),
    "not_safetensors": lambda path: (path / "model.safetensors").write_bytes(b"PK\x03\x04" + os.urandom(2000)),
}


@pytest.mark.parametrize("damage", sorted(WEIGHT_DAMAGE))
def test_damaged_weights_file(model_dir, tmp_path, capsys, damage):
    path = copy_dir(model_dir, tmp_path)
    WEIGHT_DAMAGE[damage](path)
    weights = str(path / "model.safetensors")
    # transformers refuses to load it, in both ways a user loads a model ...
    with pytest.raises(Exception) as auto_error:
        AutoModelForSequenceClassification.from_pretrained(path)
    with pytest.raises(Exception) as pipeline_error:
        pipeline("text-classification", model=str(path))
    if damage == "missing":
        assert isinstance(auto_error.value, OSError) and "model.safetensors" in str(auto_error.value)
        assert "model.safetensors" in str(pipeline_error.value)
    else:  # ... and after `import gru_hf` the error names the file (safetensors' own does not)
        assert isinstance(auto_error.value, OSError), type(auto_error.value)
        assert weights in str(auto_error.value) and "truncated or corrupt" in str(auto_error.value)
        assert weights in str(pipeline_error.value)
    # gru-hf's directory check names the file too, before anything is loaded.
    error = FileNotFoundError if damage == "missing" else ValueError
    with pytest.raises(error, match="model.safetensors"):
        validate_model_directory(path)
    with pytest.raises(error, match="model.safetensors"):
        check_model_directory(path)
    code = main(["predict", str(path), "a good film"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and ("missing model.safetensors" in err[0] or weights in err[0]), err


def _edit_config(**changes):
    def change(path):
        config = json.loads((path / "config.json").read_text())
        config.update(changes)
        (path / "config.json").write_text(json.dumps(config))

    return change


CONFIG_DAMAGE = {
    # name: (change, what transformers' error says, what gru-hf's check says)
    "not_json": (
        lambda p: (p / "config.json").write_text("{not json"),
        "config.json",
        "config.json is not valid JSON",
    ),
    "truncated": (
        lambda p: (p / "config.json").write_text((p / "config.json").read_text()[:40]),
        "config.json",
        "config.json is not valid JSON",
    ),
    "hidden_size_big": (
        _edit_config(hidden_size="big"),
        "GRUConfig.hidden_size must be a positive integer, got 'big'",
        "config.json: GRUConfig.hidden_size must be a positive integer, got 'big'",
    ),
    "pooling_number": (_edit_config(pooling=3), "GRUConfig.pooling must be one of", "config.json: GRUConfig.pooling"),
    "negative_layers": (
        _edit_config(num_hidden_layers=-1),
        "GRUConfig.num_hidden_layers must be a positive integer",
        "config.json: GRUConfig.num_hidden_layers",
    ),
}


@pytest.mark.parametrize("damage", sorted(CONFIG_DAMAGE))
def test_damaged_config_names_the_file_or_field(model_dir, tmp_path, capsys, damage):
    change, transformers_message, check_message = CONFIG_DAMAGE[damage]
    path = copy_dir(model_dir, tmp_path)
    change(path)
    with pytest.raises((OSError, ValueError), match=transformers_message):
        AutoModelForSequenceClassification.from_pretrained(path)
    with pytest.raises((OSError, ValueError), match=transformers_message):
        pipeline("text-classification", model=str(path))
    with pytest.raises(ValueError, match=check_message):
        validate_model_directory(path)
    assert main(["predict", str(path), "a good film"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and check_message in err[0], err


def test_tokenizer_larger_than_the_model_vocabulary(model_dir, tmp_path, capsys):
    """A tokenizer from another training run: loading works, using a token the model lacks is a clear error."""
    path = copy_dir(model_dir, tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    small = len(tokenizer) - 10
    torch.manual_seed(0)
    GRUForSequenceClassification(
        tiny_config(vocab_size=small, id2label={0: "negative", 1: "positive"})
    ).save_pretrained(path)
    assert len(AutoTokenizer.from_pretrained(path)) == len(tokenizer)  # loading works
    classifier = pipeline("text-classification", model=str(path))
    known = [w for w, i in tokenizer.get_vocab().items() if i < small]
    assert classifier(" ".join(known))[0]["label"] in {"negative", "positive"}  # low ids are fine
    high = max(tokenizer.get_vocab(), key=tokenizer.get_vocab().get)
    high_id = tokenizer.get_vocab()[high]
    message = rf"token id {high_id}, outside the vocabulary \[0, {small}\): the tokenizer does not match this model"
    with pytest.raises(ValueError, match=message):
        classifier(f"a good {high}")
    with pytest.raises(ValueError, match=message):
        classifier([f"a good {high}"], batch_size=4)
    # gru-hf's directory check finds the mismatch before loading anything.
    with pytest.raises(ValueError, match=f"tokenizer.json has token ids up to {len(tokenizer) - 1}, but .*vocab_size"):
        validate_model_directory(path)
    assert main(["predict", str(path), "a good film"]) == 2
    assert "the tokenizer does not match this model" in capsys.readouterr().err


class Unpickled:
    """A pickle payload that creates `MARKER` when (and only when) it is unpickled with plain pickle."""

    marker = None

    def __reduce__(self):
        return (open, (self.marker, "w"))


def write_malicious_bin(path, marker):
    Unpickled.marker = str(marker)
    with open(path / "pytorch_model.bin", "wb") as f:
        pickle.dump({"model.classifier.weight": Unpickled()}, f)


def test_malicious_pickle_payload_works(tmp_path):
    # Proof that the payload used below would be noticed if anything unpickled it.
    write_malicious_bin(tmp_path, tmp_path / "proof")
    with open(tmp_path / "pytorch_model.bin", "rb") as f:
        pickle.load(f)["model.classifier.weight"].close()
    assert (tmp_path / "proof").exists()


def test_pytorch_model_bin_is_never_unpickled_next_to_safetensors(
    model_dir, tmp_path, classifier, monkeypatch, capsys
):
    path = copy_dir(model_dir, tmp_path)
    marker = tmp_path / "UNPICKLED"
    write_malicious_bin(path, marker)
    loads = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    expected = classifier(["a good film", "bad"], top_k=None)
    assert type(AutoModelForSequenceClassification.from_pretrained(path)) is GRUForSequenceClassification
    assert pipeline("text-classification", model=str(path))(["a good film", "bad"], top_k=None) == expected
    check_model_directory(path)
    assert main(["predict", str(path), "a good film"]) == 0
    capsys.readouterr()
    assert not marker.exists() and loads == []


def test_pytorch_model_bin_alone_is_refused(model_dir, tmp_path):
    path = copy_dir(model_dir, tmp_path)
    (path / "model.safetensors").unlink()
    marker = tmp_path / "UNPICKLED"
    write_malicious_bin(path, marker)
    # transformers falls back to the .bin but reads it with torch.load(weights_only=True), which refuses the payload.
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        AutoModelForSequenceClassification.from_pretrained(path)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        pipeline("text-classification", model=str(path))
    with pytest.raises(OSError, match="no file named model.safetensors"):
        AutoModelForSequenceClassification.from_pretrained(path, use_safetensors=True)
    with pytest.raises(FileNotFoundError, match="missing model.safetensors"):
        check_model_directory(path)  # gru-hf predict and push never get as far as loading
    assert not marker.exists()


# 6. Load ----------------------------------------------------------------------------------------------------------


def load_texts(rng, count):
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 40))) for _ in range(count)]


@pytest.mark.slow
def test_sustained_load_is_stable(classifier):
    rng = random.Random(0)
    pool = load_texts(rng, 4096)
    # One quarter of the calls, repeated four times so that every quarter does the same work. Sizes 1 to 256,
    # skewed towards small calls as a service sees them (mean about 26 texts).
    quarter = [(int(256 ** (rng.random() ** 2)), rng.randrange(len(pool))) for _ in range(5_000)]
    process = psutil.Process()
    # Throughput is judged on CPU time: wall time on a CPU shared with other jobs varies by 2x between quarters.
    rss, seconds, cpu_seconds, errors = [process.memory_info().rss], [], [], 0
    texts_per_quarter = sum(size for size, _ in quarter)
    for _ in range(4):
        start, cpu_start = time.perf_counter(), time.process_time()
        for size, offset in quarter:
            texts = (pool * 2)[offset : offset + size]
            results = classifier(texts, batch_size=size, truncation=True)
            errors += len(results) != size or any(r["label"] not in ("negative", "positive") for r in results)
        seconds.append(time.perf_counter() - start)
        cpu_seconds.append(time.process_time() - cpu_start)
        rss.append(process.memory_info().rss)
    growth_after_warm_up = (rss[4] - rss[1]) / 2**20
    throughput = [texts_per_quarter / s for s in cpu_seconds]
    print(
        f"\n20,000 calls, {4 * texts_per_quarter} texts in {sum(seconds):.1f} s; RSS MB per quarter "
        f"{[round(r / 2**20, 1) for r in rss]}; growth after warm-up {growth_after_warm_up:.1f} MB; "
        f"texts per CPU second per quarter {[round(t) for t in throughput]}, "
        f"texts/s (wall) {[round(texts_per_quarter / s) for s in seconds]}"
    )
    assert errors == 0
    assert growth_after_warm_up < 30
    assert throughput[3] > 0.6 * throughput[0]


def test_threads_sharing_one_pipeline_match_sequential_calls(classifier):
    rng = random.Random(1)
    jobs = [(load_texts(rng, rng.randint(1, 40)), rng.choice([1, 3, 8, 64])) for _ in range(48)]

    def run(job):
        texts, batch_size = job
        return classifier(texts, batch_size=batch_size, truncation=True, top_k=None)

    sequential = [run(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(run, jobs))
    assert concurrent == sequential


# 7. What loading may execute --------------------------------------------------------------------------------------


def test_only_the_model_needs_trust_remote_code(model_dir, tmp_path):
    code = f"""
        import json, sys

        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, pipeline

        path = {str(model_dir)!r}
        out = {{}}
        tokenizer = AutoTokenizer.from_pretrained(path)  # no trust_remote_code
        out["tokenizer"] = [type(tokenizer).__module__, tokenizer("a good film , zyzzyva")["input_ids"]]
        for name, load in [
            ("config", lambda: AutoConfig.from_pretrained(path)),
            ("model", lambda: AutoModelForSequenceClassification.from_pretrained(path)),
            ("pipeline", lambda: pipeline("text-classification", model=path)),
        ]:
            try:
                out[name] = ["loaded", type(load()).__module__]
            except Exception as err:
                out[name] = [type(err).__name__, str(err)]
        out["modules"] = sorted(m for m in sys.modules if m.startswith(("gru_hf", "transformers_modules")))
        print(json.dumps(out))
    """
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_GRU_HF + textwrap.dedent(code)],
        stdin=subprocess.DEVNULL,  # transformers asks "Do you wish to run the custom code? [y/N]" on a terminal
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout[result.stdout.rindex('{"tokenizer"') :])
    assert out["tokenizer"][0].startswith("transformers.")
    assert out["tokenizer"][1] == shared_tokenizer()("a good film , zyzzyva")["input_ids"]
    for name in ("config", "model", "pipeline"):
        kind, message = out[name]
        assert kind == "ValueError", (name, out[name])
        assert "trust_remote_code=True" in message and "custom code" in message, (name, message)
    assert out["modules"] == []  # no code from the directory was imported
