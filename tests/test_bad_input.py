"""Bad input at prediction and training time: texts with nothing to read, only unknown words, non-strings, lone
surrogates, and labels a model cannot take. Each gives a defined result or a clear error, never a guess."""

import pytest
import torch
import transformers
from conftest import TEXTS, assert_same, copy_dir, shared_tokenizer, tiny_config
from packaging.version import Version
from transformers import AutoTokenizer, pipeline

from gru_hf import GRUForSequenceClassification
from gru_hf.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


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
    Version(transformers.__version__) < Version("5.25.0"),
    strict=True,
    raises=RuntimeError,
    reason="transformers < 5.25 bug: pipelines.base._pad pads a row of length 0 on the left with tensor[i, -0:]",
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
