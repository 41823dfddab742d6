"""How gru-hf's tokenizer splits text into words, and a pure-Python twin of it for ASCII texts.

`tokenization_gru.build_backend` builds the `tokenizers` pipeline from these rules. `AsciiWordTokenizer` gives the
same ids for every ASCII text without the Rust backend's per-call cost (about 4.5x its `encode_batch` on SST-2's
training texts), which is what the ONNX runtime spends most of its non-model time on. On ASCII the pipeline's steps
are plain string operations: NFKC changes nothing, the control characters (`\\p{Cc}`; ASCII has no `\\p{Cf}`) become
spaces, and Python's `re` reads `\\w`, `\\s` and `\\b` as Oniguruma does. A text with any other character, or with an
added token such as `[UNK]` written in it, is left to the Rust tokenizer. This module imports nothing heavy.
"""

import re

PAD_TOKEN = "[PAD]"
UNK_TOKEN = "[UNK]"

# Words, English clitics split the way GloVe's corpus was tokenised ("do" "n't", "it" "'s"), numbers, and every
# other non-space character on its own.
WORD_PATTERN = r"\w+(?=n't\b)|n't\b|'(?:s|re|ve|ll|d|m)\b|\w+|[^\w\s]"
CONTROL_PATTERN = r"[\p{Cc}\p{Cf}]"

_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _normalizer_steps(lowercase: bool) -> list[dict]:
    steps = [{"type": "NFKC"}, {"type": "Replace", "pattern": {"Regex": CONTROL_PATTERN}, "content": " "}]
    return steps + ([{"type": "Lowercase"}] if lowercase else [])


_PRE_TOKENIZER = {
    "type": "Sequence",
    "pretokenizers": [
        {"type": "WhitespaceSplit"},
        {"type": "Split", "pattern": {"Regex": WORD_PATTERN}, "behavior": "Isolated", "invert": False},
    ],
}


class AsciiWordTokenizer:
    """Ids of ASCII texts as gru-hf's WordLevel tokenizer gives them (no special tokens, truncated to
    `max_length`); `encode` returns None for a text it cannot vouch for."""

    def __init__(self, vocab: dict[str, int], unk_id: int, lowercase: bool, max_length: int, added: list[str]):
        self.vocab = vocab
        self.unk_id = unk_id
        self.lowercase = lowercase
        self.max_length = max_length
        self.added = added
        self._words = re.compile(WORD_PATTERN)

    @classmethod
    def from_tokenizer_json(cls, data: dict, max_length: int) -> "AsciiWordTokenizer | None":
        """The twin of a parsed `tokenizer.json`, or None unless its pipeline is exactly gru-hf's."""
        model = data.get("model") or {}
        if model.get("type") != "WordLevel" or model.get("unk_token") not in model.get("vocab", {}):
            return None
        normalizer = data.get("normalizer") or {}
        lowercase = normalizer.get("normalizers") == _normalizer_steps(True)
        if normalizer.get("type") != "Sequence" or normalizer.get("normalizers") != _normalizer_steps(lowercase):
            return None
        if data.get("pre_tokenizer") != _PRE_TOKENIZER:
            return None
        post = data.get("post_processor")
        if post is not None and not (
            post.get("type") == "TemplateProcessing"
            and post.get("single") == [{"Sequence": {"id": "A", "type_id": 0}}]
            and not post.get("special_tokens")
        ):
            return None
        vocab = model["vocab"]
        added = [token["content"] for token in data.get("added_tokens") or []]
        return cls(vocab, vocab[model["unk_token"]], lowercase, max_length, added)

    def encode(self, text: str) -> list[int] | None:
        if not text.isascii() or any(token in text for token in self.added):
            return None
        text = _ASCII_CONTROL.sub(" ", text)
        if self.lowercase:
            text = text.lower()
        vocab, unk = self.vocab, self.unk_id
        return [vocab.get(word, unk) for word in self._words.findall(text)[: self.max_length]]


def encode_texts(texts: list[str], tokenizer, twin: AsciiWordTokenizer | None = None) -> list[list[int]]:
    """Token ids of each text: `twin`'s where it vouches for the text, else the Rust `tokenizers.Tokenizer`'s (one
    `encode_batch` call for the rest)."""
    texts = list(texts)
    ids = [twin.encode(text) for text in texts] if twin else [None] * len(texts)
    rest = [i for i, row in enumerate(ids) if row is None]
    if rest:
        for i, encoding in zip(rest, tokenizer.encode_batch([texts[i] for i in rest])):
            ids[i] = encoding.ids
    return ids


__all__ = ["CONTROL_PATTERN", "PAD_TOKEN", "UNK_TOKEN", "WORD_PATTERN", "AsciiWordTokenizer", "encode_texts"]
