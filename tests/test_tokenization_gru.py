import json

import pytest
from conftest import TEXTS
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from gru_hf import GRUTokenizerFast, train_tokenizer


def test_special_token_ids(tokenizer):
    assert isinstance(tokenizer, PreTrainedTokenizerFast)
    assert (tokenizer.pad_token, tokenizer.pad_token_id) == ("[PAD]", 0)
    assert (tokenizer.unk_token, tokenizer.unk_token_id) == ("[UNK]", 1)
    assert tokenizer.model_input_names == ["input_ids", "attention_mask"]
    assert "token_type_ids" not in tokenizer("a good film")


def test_normalisation_and_splitting(tokenizer):
    assert tokenizer.tokenize("I DON'T like it,it's  GOOD!") == [
        "i",
        "do",
        "n't",
        "like",
        "it",
        ",",
        "it",
        "'s",
        "good",
        "[UNK]",
    ]  # '!' is not in the vocabulary
    assert tokenizer.tokenize("Ｇｏｏｄ\u200b\x07film") == ["good", "film"]  # NFKC, format and control characters
    unknown = tokenizer("zebra good")["input_ids"]
    assert unknown == [tokenizer.unk_token_id, tokenizer.convert_tokens_to_ids("good")]


def test_vocabulary_is_most_frequent_first_and_bounded():
    tok = train_tokenizer(["b b b a a c", "b a"], vocab_size=4, min_frequency=1)
    assert tok.get_vocab() == {"[PAD]": 0, "[UNK]": 1, "b": 2, "a": 3}
    tok = train_tokenizer(["b b b a a c", "b a"], min_frequency=4)
    assert set(tok.get_vocab()) == {"[PAD]", "[UNK]", "b"}


def test_lowercase_off_keeps_case():
    tok = train_tokenizer(["Good good"], min_frequency=1, lowercase=False)
    assert tok.convert_ids_to_tokens(tok("Good good")["input_ids"]) == ["Good", "good"]


def test_truncation_and_padding(tokenizer):
    long_text = " ".join(["good"] * 100)
    assert len(tokenizer(long_text)["input_ids"]) == 100
    assert len(tokenizer(long_text, truncation=True)["input_ids"]) == 16  # model_max_length
    batch = tokenizer(["good", "a good film"], padding=True)
    assert batch["input_ids"][0][1:] == [0, 0] and batch["attention_mask"][0] == [1, 0, 0]
    tokenizer.padding_side = "left"
    assert tokenizer(["good", "a good film"], padding=True)["input_ids"][0][:2] == [0, 0]


def test_round_trip_with_auto_tokenizer(tmp_path, tokenizer):
    tokenizer.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"  # loadable by transformers 4.x too
    assert config["model_input_names"] == ["input_ids", "attention_mask"]
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(loaded, PreTrainedTokenizerFast)
    assert (loaded.pad_token_id, loaded.unk_token_id, loaded.model_max_length) == (0, 1, 16)
    for text in TEXTS + ["", "unseen words here"]:
        assert loaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert GRUTokenizerFast.from_pretrained(tmp_path).get_vocab() == tokenizer.get_vocab()


def test_training_texts_must_be_strings():
    with pytest.raises(ValueError, match="tokenizer training text 1 is NoneType, not a string"):
        train_tokenizer(["good", None])
    with pytest.raises(ValueError, match="vocab_size must be at least 3"):
        train_tokenizer(["good"], vocab_size=2)


def test_a_vocabulary_without_words_is_refused():
    assert len(train_tokenizer(["good film", "good plot"], min_frequency=2)) == 3  # [PAD], [UNK], good
    with pytest.raises(ValueError, match="no word occurs at least min_frequency=3 times in the training texts"):
        train_tokenizer(["good film", "good plot"], min_frequency=3)


@pytest.mark.parametrize(
    "texts, kwargs, message",
    [
        ("a good film", {}, "texts must be an iterable of strings \\(e.g. a list\\), not a single string"),
        ([], {}, "no training texts"),
        (iter([]), {}, "no training texts"),
        (["good film"], {"min_frequency": 0}, "min_frequency must be 1 or more, got 0"),
    ],
)
def test_training_inputs_that_cannot_give_a_vocabulary(texts, kwargs, message):
    with pytest.raises(ValueError, match=message):
        train_tokenizer(texts, **kwargs)


def test_training_is_deterministic():
    texts = [f"w{i % 7} w{i % 5} w{i % 3}" for i in range(50)]
    assert train_tokenizer(texts).get_vocab() == train_tokenizer(iter(texts)).get_vocab()


@pytest.mark.parametrize("lowercase", [True, False])
def test_ascii_twin_gives_the_rust_tokenizers_ids_or_defers(tmp_path, lowercase):
    """The ONNX runtime's pure-Python tokenizer: for 3,000 random ASCII texts built from the characters the rules
    care about (clitics, underscores, digits, controls, punctuation, case) the ids equal the saved tokenizer's;
    non-ASCII texts and texts with an added token written in them go back to the Rust tokenizer (None)."""
    import random

    from gru_hf.words import AsciiWordTokenizer

    rng = random.Random(0)
    pieces = ["do", "n't", "can", "'s", "'re", "'ll", "'d", "'m", "'ve", "it", "It", "GOOD", "_a", "b_", "42", "x1"]
    pieces += list(" \t\n\r\x0b\x0c\x07\x1f\x7f!?,.-'\"()[]") + ["don't", "WON'T", "o'clock", "''", "n'tx", "  "]
    corpus = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(3000)]
    tok = train_tokenizer(corpus[:1500], min_frequency=2, lowercase=lowercase, model_max_length=7)
    tok.save_pretrained(tmp_path)
    data = json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))
    twin = AsciiWordTokenizer.from_tokenizer_json(data, max_length=7)
    assert twin is not None and twin.lowercase is lowercase
    expected = tok(corpus, truncation=True)["input_ids"]
    assert [twin.encode(text) for text in corpus] == expected
    assert sum(1 for ids in expected if tok.unk_token_id in ids) > 100  # unknown words were exercised
    for text in ("caf\u00e9 good", "good\u200bfilm", "a [UNK] film", "[PAD]"):
        assert twin.encode(text) is None


def test_ascii_twin_refuses_a_tokenizer_that_is_not_gru_hfs(tmp_path, tokenizer):
    from gru_hf.words import AsciiWordTokenizer

    tokenizer.save_pretrained(tmp_path)
    data = json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))
    assert AsciiWordTokenizer.from_tokenizer_json(data, 512) is not None
    changed = json.loads(json.dumps(data))
    changed["pre_tokenizer"]["pretokenizers"][1]["pattern"]["Regex"] = r"\w+"
    assert AsciiWordTokenizer.from_tokenizer_json(changed, 512) is None
    changed = json.loads(json.dumps(data))
    changed["normalizer"]["normalizers"] = changed["normalizer"]["normalizers"][:1]
    assert AsciiWordTokenizer.from_tokenizer_json(changed, 512) is None
    changed = json.loads(json.dumps(data))
    changed["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [],
        "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [1], "tokens": ["[CLS]"]}},
    }
    assert AsciiWordTokenizer.from_tokenizer_json(changed, 512) is None
