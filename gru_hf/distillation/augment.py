"""The transfer set's augmented copies (Tang et al. 2019, section 3.2), without a part-of-speech tagger.

Each word of a training text is, independently, replaced by the student's `[UNK]` with probability `p_mask`
(masking), else by a neighbouring word with probability `p_replace` (Tang et al. pick a word of the same part of
speech; here a nearest neighbour by GloVe vectors, or by co-occurrence vectors of the training texts when there are
no GloVe vectors), else kept; then, with probability `p_ngram`, only a random n-gram (n in 1..`max_ngram`) of the
result is kept. Copies equal to a training text or to an earlier copy, or made of `[UNK]` only, are drawn again (up
to `tries` times).

Only training texts are augmented: validation and test never pass through here.
"""

import logging
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..tokenization_gru import UNK_TOKEN, build_backend

logger = logging.getLogger(__name__)

REPLACEMENTS = ("auto", "glove", "cooccurrence", "none")


@dataclass
class AugmentSettings:
    p_mask: float = 0.1
    p_replace: float = 0.1
    p_ngram: float = 0.25
    max_ngram: int = 5
    neighbours: int = 10
    tries: int = 10

    def __post_init__(self):
        for name in ("p_mask", "p_replace", "p_ngram"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"--augment_{name[2:]}_prob must be in [0, 1], got {value}")
        if self.p_mask + self.p_replace > 1.0:
            raise ValueError(
                f"--augment_mask_prob + --augment_replace_prob must be <= 1, got {self.p_mask + self.p_replace}"
            )
        if self.max_ngram < 1 or self.neighbours < 1:
            raise ValueError("--augment_max_ngram and --augment_neighbours must be at least 1")


class WordSplitter:
    """The student tokenizer's normaliser and pre-tokeniser: the words the student will see. `backend` is the
    student's `tokenizers.Tokenizer` (default: gru-hf's untrained one)."""

    def __init__(self, backend=None, lowercase: bool = True):
        self.backend = backend if backend is not None else build_backend(lowercase=lowercase)

    def __call__(self, text: str) -> list[str]:
        normalized = self.backend.normalizer.normalize_str(text)
        return [word for word, _ in self.backend.pre_tokenizer.pre_tokenize_str(normalized)]


def training_words(texts: list[str], split: WordSplitter, min_frequency: int = 2, limit: int = 30000) -> list[str]:
    """The words a student tokenizer would keep, most frequent first."""
    counts = Counter(word for text in texts for word in split(text))
    return [word for word, count in counts.most_common(limit) if count >= min_frequency]


def replaceable(word: str) -> bool:
    """Words, not punctuation: a comma is never swapped for a word, nor a word for a comma."""
    return any(character.isalnum() for character in word)


def nearest_neighbours(words: list[str], matrix: np.ndarray, k: int) -> dict[str, list[str]]:
    """For each word (row of `matrix`), its `k` most cosine-similar other words."""
    if len(words) < 2:
        return {}
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    unit = (matrix / np.maximum(norms, 1e-12)).astype(np.float32)
    k = min(k, len(words) - 1)
    result = {}
    for start in range(0, len(words), 2048):
        sims = unit[start : start + 2048] @ unit.T  # (chunk, words)
        rows = np.arange(sims.shape[0])
        sims[rows, start + rows] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(sims, top, axis=1).argsort(axis=1)[:, ::-1]
        top = np.take_along_axis(top, order, axis=1)
        for row, neighbours in enumerate(top):
            result[words[start + row]] = [words[j] for j in neighbours]
    return result


def glove_neighbours(words: list[str], vectors: dict[str, np.ndarray], k: int) -> dict[str, list[str]]:
    """Neighbours among the student's vocabulary words that have a vector (`vectors`: word -> GloVe vector, as read
    by `gru_hf.vectors.read_vectors`): the training words, and the vectors' own words with `--glove_extra_words`."""
    known = [word for word in words if word in vectors and replaceable(word)]
    logger.info("augmentation: GloVe neighbours for %d of %d vocabulary words", len(known), len(words))
    if not known:
        return {}
    return nearest_neighbours(known, np.stack([vectors[word] for word in known]), k)


def cooccurrence_neighbours(
    texts: list[str], words: list[str], split: WordSplitter, k: int, dim: int = 50, window: int = 2
) -> dict[str, list[str]]:
    """Neighbours by positive PMI co-occurrence vectors of the training texts, reduced to `dim` by SVD: words that
    appear in the same contexts (often the same part of speech)."""
    import torch

    index = {word: i for i, word in enumerate(words)}
    contexts = {word: i for i, word in enumerate(words[:2000])}
    counts = np.zeros((len(words), len(contexts)), dtype=np.float32)
    for text in texts:
        tokens = split(text)
        for position, word in enumerate(tokens):
            row = index.get(word)
            if row is None:
                continue
            for other in tokens[max(0, position - window) : position] + tokens[position + 1 : position + 1 + window]:
                column = contexts.get(other)
                if column is not None:
                    counts[row, column] += 1
    total = counts.sum()
    if total == 0:
        return {}
    expected = counts.sum(1, keepdims=True) * counts.sum(0, keepdims=True) / total
    with np.errstate(divide="ignore", invalid="ignore"):
        ppmi = np.maximum(np.log(np.where(counts > 0, counts / np.maximum(expected, 1e-12), 1.0)), 0.0)
    rank = max(1, min(dim, min(ppmi.shape) - 1))
    # A randomised SVD, seeded, in float64 on one thread: its rounding (and so the order of near-equal neighbours)
    # then does not depend on the caller's torch thread count, and a rerun draws the same copies (on 1 and 2 threads
    # the float32 SVD gave 785 different copies of SST-2's 230k).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            u, s, _ = torch.svd_lowrank(torch.from_numpy(ppmi.astype(np.float64)), q=rank, niter=4)
    finally:
        torch.set_num_threads(threads)
    vectors = (u * s).numpy()
    keep = (np.linalg.norm(vectors, axis=1) > 0) & np.array([replaceable(word) for word in words])
    kept = [word for word, flag in zip(words, keep) if flag]
    return nearest_neighbours(kept, vectors[keep], k)


class Augmenter:
    """Seeded augmentation: the same (seed, texts) give the same copies, whatever else runs."""

    def __init__(
        self,
        split: WordSplitter,
        neighbours: dict[str, list[str]] | None = None,
        settings: AugmentSettings | None = None,
        seed: int = 42,
        unk_token: str = UNK_TOKEN,
    ):
        self.split = split
        self.neighbours = neighbours or {}
        self.settings = settings or AugmentSettings()
        self.seed = seed
        self.unk_token = unk_token

    def one(self, words: list[str], rng: np.random.Generator) -> list[str]:
        s = self.settings
        out = []
        for word in words:
            draw = rng.random()
            if draw < s.p_mask:
                out.append(self.unk_token)
            elif draw < s.p_mask + s.p_replace and self.neighbours.get(word):
                choices = self.neighbours[word]
                out.append(choices[int(rng.integers(len(choices)))])
            else:
                out.append(word)
        if len(out) > 1 and rng.random() < s.p_ngram:
            n = int(rng.integers(1, min(s.max_ngram, len(out)) + 1))
            start = int(rng.integers(0, len(out) - n + 1))
            out = out[start : start + n]
        return out

    def augment(self, texts: list[str], factor: int) -> tuple[list[str], list[int]]:
        """Up to `factor` new distinct texts per input text, and for each the index of the text it came from."""
        if factor < 0:
            raise ValueError(f"--augment_factor must be 0 or more, got {factor}")
        seen = {" ".join(self.split(text)) for text in texts}
        seen.update(texts)
        new, sources = [], []
        for i, text in enumerate(texts):
            if factor == 0:
                break
            rng = np.random.default_rng([self.seed, i])
            words = self.split(text)
            made = 0
            for _ in range(factor * self.settings.tries):
                copy = self.one(words, rng)
                candidate = " ".join(copy)
                if any(word != self.unk_token for word in copy) and candidate not in seen:
                    seen.add(candidate)
                    new.append(candidate)
                    sources.append(i)
                    made += 1
                    if made == factor:
                        break
        return new, sources


__all__ = [
    "AugmentSettings",
    "Augmenter",
    "REPLACEMENTS",
    "WordSplitter",
    "cooccurrence_neighbours",
    "glove_neighbours",
    "nearest_neighbours",
    "training_words",
]
