"""A word-level tokenizer trained with `tokenizers`, usable by `AutoTokenizer` and `pipeline`."""

import json
import os
from collections.abc import Iterable, Iterator

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from .words import CONTROL_PATTERN, PAD_TOKEN, UNK_TOKEN, WORD_PATTERN


class GRUTokenizerFast(PreTrainedTokenizerFast):
    """A `PreTrainedTokenizerFast` that saves itself so that transformers 4.x and 5.x both load it with
    `AutoTokenizer`: v5 would write `"tokenizer_class": "TokenizersBackend"`, which v4 does not know."""

    model_input_names = ["input_ids", "attention_mask"]

    def save_pretrained(self, save_directory, *args, **kwargs):
        files = super().save_pretrained(save_directory, *args, **kwargs)
        config_file = os.path.join(save_directory, "tokenizer_config.json")
        with open(config_file, encoding="utf-8") as f:
            tokenizer_config = json.load(f)
        tokenizer_config["tokenizer_class"] = "PreTrainedTokenizerFast"
        tokenizer_config["model_input_names"] = list(self.model_input_names)
        with open(config_file, "w", encoding="utf-8") as f:
            f.write(json.dumps(tokenizer_config, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        return files


def build_backend(lowercase: bool = True) -> Tokenizer:
    """An untrained WordLevel `tokenizers.Tokenizer` with the normaliser and pre-tokeniser used by gru-hf."""
    tokenizer = Tokenizer(models.WordLevel(unk_token=UNK_TOKEN))
    steps = [normalizers.NFKC(), normalizers.Replace(Regex(CONTROL_PATTERN), " ")]
    if lowercase:
        steps.append(normalizers.Lowercase())
    tokenizer.normalizer = normalizers.Sequence(steps)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex(WORD_PATTERN), behavior="isolated")]
    )
    tokenizer.decoder = decoders.WordPiece(prefix="##", cleanup=True)
    return tokenizer


def train_tokenizer(
    texts: Iterable[str],
    vocab_size: int = 20000,
    min_frequency: int = 2,
    lowercase: bool = True,
    model_max_length: int = 256,
    padding_side: str = "right",
) -> GRUTokenizerFast:
    """Train a word-level tokenizer on `texts` (the training split only).

    Args:
        texts (`Iterable[str]`):
            Training texts; may be a generator.
        vocab_size (`int`, *optional*, defaults to 20000):
            Largest vocabulary, `[PAD]` (id 0) and `[UNK]` (id 1) included; the most frequent words are kept.
        min_frequency (`int`, *optional*, defaults to 2):
            Words seen fewer times become `[UNK]`.
        lowercase (`bool`, *optional*, defaults to `True`):
            Lower-case before splitting (GloVe 6B vectors are lower-case).
        model_max_length (`int`, *optional*, defaults to 256):
            Longest input in tokens; longer texts are cut when called with `truncation=True` (as `pipeline` does).
        padding_side (`str`, *optional*, defaults to `"right"`):
            Side to pad on. The model gives the same results with either.

    Examples:

    ```python
    >>> from gru_hf import train_tokenizer
    >>> tokenizer = train_tokenizer(["a good film", "a bad film"], min_frequency=1)
    >>> tokenizer("A good, GOOD film!")["input_ids"]
    [2, 5, 1, 5, 3, 1]
    ```"""
    if vocab_size < 3:
        raise ValueError(f"vocab_size must be at least 3 ([PAD], [UNK] and one word), got {vocab_size}")
    if min_frequency < 1:
        raise ValueError(f"min_frequency must be 1 or more, got {min_frequency}")
    if isinstance(texts, (str, bytes)):  # iterating would train on its characters
        raise ValueError("texts must be an iterable of strings (e.g. a list), not a single string")
    counted = _Counted(texts)
    backend = build_backend(lowercase=lowercase)
    trainer = trainers.WordLevelTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[PAD_TOKEN, UNK_TOKEN], show_progress=False
    )
    backend.train_from_iterator(counted, trainer=trainer)
    if counted.count == 0:
        raise ValueError("no training texts: the tokenizer learns its vocabulary from them")
    if backend.get_vocab_size() <= 2:
        raise ValueError(
            f"no word occurs at least min_frequency={min_frequency} times in the training texts: the vocabulary "
            "would hold only [PAD] and [UNK], and every text would read as unknown words; lower min_frequency "
            "(--min_frequency)"
        )
    return wrap_backend(backend, model_max_length=model_max_length, padding_side=padding_side)


def wrap_backend(backend: Tokenizer, model_max_length: int = 256, padding_side: str = "right") -> GRUTokenizerFast:
    """Wrap a `tokenizers.Tokenizer` that has `[PAD]` and `[UNK]` as a transformers tokenizer."""
    for token in (PAD_TOKEN, UNK_TOKEN):
        if backend.token_to_id(token) is None:
            raise ValueError(f"the tokenizer vocabulary has no {token} token")
    return GRUTokenizerFast(
        tokenizer_object=backend,
        pad_token=PAD_TOKEN,
        unk_token=UNK_TOKEN,
        model_max_length=model_max_length,
        padding_side=padding_side,
        truncation_side="right",
        clean_up_tokenization_spaces=False,
    )


def extend_vocabulary(tokenizer: GRUTokenizerFast, words: Iterable[str], limit: int) -> GRUTokenizerFast:
    """A copy of `tokenizer` that also knows up to `limit` of `words`, taken in order, that it did not know.

    A word is added only if the tokenizer can produce it: a word the normaliser would change (an upper-case word
    for a lower-casing tokenizer) or the pre-tokeniser would split (`"don't"`) would never be looked up.

    Examples:

    ```python
    >>> from gru_hf.tokenization_gru import extend_vocabulary, train_tokenizer
    >>> tokenizer = train_tokenizer(["a good film"], min_frequency=1)
    >>> bigger = extend_vocabulary(tokenizer, ["film", "superb", "Superb", "don't", "awful"], limit=5)
    >>> len(tokenizer), len(bigger), bigger.tokenize("a superb film")
    (5, 7, ['a', 'superb', 'film'])
    ```"""
    if limit < 0:
        raise ValueError(f"limit must be 0 or more, got {limit}")
    backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    vocab = backend.get_vocab()
    added: dict[str, int] = {}
    for word in words:
        if len(added) >= limit:
            break
        if word in vocab or word in added or not isinstance(word, str):
            continue
        normalized = backend.normalizer.normalize_str(word) if backend.normalizer else word
        pieces = backend.pre_tokenizer.pre_tokenize_str(normalized) if backend.pre_tokenizer else [(word, None)]
        if normalized == word and len(pieces) == 1 and pieces[0][0] == word:
            added[word] = len(vocab) + len(added)
    backend.model = models.WordLevel({**vocab, **added}, unk_token=UNK_TOKEN)
    return wrap_backend(backend, model_max_length=tokenizer.model_max_length, padding_side=tokenizer.padding_side)


class _Counted:
    """The training texts, checked to be strings and counted as the trainer reads them."""

    def __init__(self, texts: Iterable[str]):
        self.texts, self.count = texts, 0

    def __iter__(self) -> Iterator[str]:
        for index, text in enumerate(self.texts):
            if not isinstance(text, str):
                raise ValueError(f"tokenizer training text {index} is {type(text).__name__}, not a string")
            self.count += 1
            yield text


__all__ = [
    "GRUTokenizerFast",
    "PAD_TOKEN",
    "UNK_TOKEN",
    "build_backend",
    "extend_vocabulary",
    "train_tokenizer",
    "wrap_backend",
]
