"""Data loading: formats, column guessing, label kinds, splits, the BBC default and clear errors."""

import json

import datasets
import pytest

from gru_hf.data import DataArguments, encode_labels, infer_labels, load_bbc_news, load_raw_datasets

ROWS = [{"text": f"text number {i}", "label": ["neg", "pos"][i % 2]} for i in range(40)]


def write(path, rows, kind=None):
    kind = kind or path.suffix[1:]
    if kind in ("csv", "tsv"):
        sep = "," if kind == "csv" else "\t"
        lines = [sep.join(rows[0])] + [sep.join(str(v) for v in row.values()) for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif kind == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif kind == "json":
        path.write_text(json.dumps(rows), encoding="utf-8")
    elif kind == "parquet":
        datasets.Dataset.from_list(rows).to_parquet(str(path))
    return str(path)


def load(**kwargs):
    raw = load_raw_datasets(DataArguments(**kwargs))
    info = infer_labels(raw["train"])
    return encode_labels(raw, info), info


@pytest.mark.parametrize("extension", ["csv", "tsv", "json", "jsonl", "parquet"])
def test_every_file_format(tmp_path, extension):
    data, info = load(train_file=write(tmp_path / f"train.{extension}", ROWS))
    assert set(data) == {"train", "validation"}
    assert len(data["train"]) == 36 and len(data["validation"]) == 4
    assert data["train"].column_names == ["text", "labels"]
    assert info.problem_type == "single_label_classification" and info.id2label == {0: "neg", 1: "pos"}


def test_guessed_and_explicit_columns(tmp_path):
    rows = [{"id": i, "Sentence": r["text"], "target": r["label"]} for i, r in enumerate(ROWS)]
    data, _ = load(train_file=write(tmp_path / "a.jsonl", rows))
    assert data["train"].column_names == ["text", "labels"]
    rows = [{"body": r["text"], "stars": i % 3} for i, r in enumerate(ROWS)]
    data, info = load(train_file=write(tmp_path / "b.jsonl", rows), text_column="body", label_column="stars")
    assert info.id2label == {0: "0", 1: "1", 2: "2"}
    with pytest.raises(
        ValueError, match=r"cannot tell which column holds the texts; pass --text_column \(columns: body"
    ):
        load(train_file=write(tmp_path / "c.jsonl", rows))
    with pytest.raises(ValueError, match=r"c.jsonl: no column 'review' \(columns: body, stars\)"):
        load(train_file=str(tmp_path / "c.jsonl"), text_column="review", label_column="stars")


def test_label_kinds(tmp_path):
    multi = [{"text": f"t {i}", "labels": [["a"], ["b", "c"], []][i % 3]} for i in range(30)]
    data, info = load(train_file=write(tmp_path / "multi.jsonl", multi), validation_split_percentage=20)
    assert info.problem_type == "multi_label_classification" and info.id2label == {0: "a", 1: "b", 2: "c"}
    assert {tuple(v) for v in data["train"]["labels"]} <= {(1.0, 0.0, 0.0), (0.0, 1.0, 1.0), (0.0, 0.0, 0.0)}
    scores = [{"text": f"t {i}", "label": i / 7} for i in range(30)]
    data, info = load(train_file=write(tmp_path / "reg.jsonl", scores))
    assert info.problem_type == "regression" and info.num_labels == 1
    assert all(isinstance(v, float) for v in data["train"]["labels"])


def test_carved_validation_split_is_seeded(tmp_path):
    path = write(tmp_path / "train.csv", ROWS)
    first = load(train_file=path, split_seed=1)[0]["validation"]["text"]
    assert load(train_file=path, split_seed=1)[0]["validation"]["text"] == first
    assert load(train_file=path, split_seed=2)[0]["validation"]["text"] != first


def test_bbc_news_default():
    bbc = load_bbc_news()
    assert len(bbc) == 2127  # 2,225 files, 98 exact duplicates dropped
    assert bbc.features["labels"].names == ["business", "entertainment", "politics", "sport", "tech"]
    data, info = load()
    assert {k: len(v) for k, v in data.items()} == {"train": 1722, "validation": 192, "test": 213}
    assert info.num_labels == 5
    again, _ = load()
    assert again["test"]["text"] == data["test"]["text"]
    assert not set(data["test"]["text"]) & set(data["train"]["text"])


def test_unseen_test_label_names_file_and_value(tmp_path):
    test = write(tmp_path / "test.csv", [{"text": "x y", "label": "neutral"}])
    with pytest.raises(ValueError, match=r"test.csv \(test\): label 'neutral' in row 0 is not in the training data"):
        load(train_file=write(tmp_path / "train.csv", ROWS), test_file=test)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"text,label\n", "has no rows"),
        (b"text,label\ncaf\xe9,1\n", r"is not valid UTF-8 \(line 2, byte 14\)"),
        (b"text,label\nfine,1\n   ,0\n", "1 empty texts, first at row 1"),
        (b"text,label\nfine,1\n,0\n", "text in row 1 is NoneType, not a string"),
    ],
)
def test_bad_files_are_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load(train_file=str(path))


def test_missing_file_and_unsupported_type(tmp_path):
    with pytest.raises(FileNotFoundError, match="data file .*nope.csv does not exist"):
        load(train_file=str(tmp_path / "nope.csv"))
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(ValueError, match="unsupported file type '.xlsx'"):
        load(train_file=str(tmp_path / "data.xlsx"))
