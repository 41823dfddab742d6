"""scripts/benchmark.py: --quick writes every section with finite numbers and merges reruns section by section,
--render regenerates the documents' tables from results.json, and the SST-2 validation split holds out whole
sentences with all their phrases."""

import csv
import json
import math
import os
import random
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO_ROOT, "scripts", "benchmark.py")
if os.path.join(REPO_ROOT, "scripts") not in sys.path:
    sys.path.insert(0, os.path.join(REPO_ROOT, "scripts"))

from benchmarks import report, runner  # noqa: E402
from benchmarks.data import normalise, read_csv, sentence_held_out_split, sst2_sentence_split, word_spans  # noqa: E402

OWN_SECTIONS = ("accuracy", "engine", "strategy", "inference", "tokenizer", "memory", "autotune")

POSITIVE = ["good", "great", "wonderful", "fine", "moving", "funny", "best", "charming"]
NEGATIVE = ["bad", "awful", "boring", "dull", "worst", "silly", "weak", "tedious"]
NEUTRAL = ["the", "a", "film", "movie", "story", "plot", "acting", "is", "and", "it", "'s", "was", "of", ","]


def synthetic_rows(rng: random.Random, n: int) -> list[tuple[str, int]]:
    rows = []
    for i in range(n):
        label = i % 2
        cue = POSITIVE if label else NEGATIVE
        words = [rng.choice(NEUTRAL) for _ in range(rng.randint(2, 14))]
        for _ in range(rng.randint(1, 2)):
            words.insert(rng.randrange(len(words) + 1), rng.choice(cue))
        rows.append((" ".join(words) + " .", label))
    rng.shuffle(rows)
    return rows


def glue_phrases(rng: random.Random, sentences: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """GLUE-style SST-2 train: every sentence and two of its word spans (lower case, trailing space as in GLUE)."""
    rows = []
    for text, label in sentences:
        words = text.split()
        rows.append((text + " ", label))
        for _ in range(2):
            i = rng.randrange(len(words))
            rows.append((" ".join(words[i : rng.randint(i + 1, len(words))]), label))
    rng.shuffle(rows)
    return rows


def write_csv(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)


def make_data_dir(root) -> str:
    """The layout of ../shared/data: mr/{train,test}.csv, sst2/{train,dev}.csv, glove/glove.6B.50d.subset.txt."""
    rng = random.Random(0)
    data = os.path.join(root, "data")
    write_csv(os.path.join(data, "mr", "train.csv"), synthetic_rows(rng, 300))
    write_csv(os.path.join(data, "mr", "test.csv"), synthetic_rows(rng, 80))
    sentences = synthetic_rows(rng, 150)
    write_csv(os.path.join(data, "sst2", "sst_sentences", "train.csv"), sentences)
    write_csv(os.path.join(data, "sst2", "train.csv"), glue_phrases(rng, sentences))
    write_csv(os.path.join(data, "sst2", "dev.csv"), synthetic_rows(rng, 80))
    os.makedirs(os.path.join(data, "glove"))
    with open(os.path.join(data, "glove", "glove.6B.50d.subset.txt"), "w", encoding="utf-8") as f:
        for word in POSITIVE + NEGATIVE + NEUTRAL + ["."]:
            f.write(word + " " + " ".join(f"{rng.gauss(0, 0.5):.5f}" for _ in range(50)) + "\n")
    return data


def numbers(value, path="results"):
    """Every number in a JSON value, with where it is."""
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from numbers(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from numbers(item, f"{path}[{i}]")


def run_benchmark(*args, timeout=300):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(
        [sys.executable, SCRIPT, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def check_results(results: dict) -> None:
    for name in OWN_SECTIONS:
        assert name in results, name
        entry = results[name]
        assert entry["stamp"]["quick"] is True
        for key in ("date", "git", "machine", "command", "torch", "wall_s"):
            assert entry["stamp"][key], (name, key)
        assert entry["stamp"]["command"].startswith("python scripts/benchmark.py --quick")
    accuracy = results["accuracy"]["results"]["datasets"]
    assert set(accuracy) == {"mr", "sst2"}
    for dataset in accuracy.values():
        assert set(dataset["models"]) == {
            "gru-hf (random init)",
            "gru-hf (GloVe 50d)",
            "seed recipe (Embedding-GRU-Linear)",
            "TF-IDF 1-2 grams + LR",
            "fastText (wordNgrams=2)",
        }
        for row in dataset["models"].values():
            assert 0.0 <= row["test_accuracy_mean"] <= 100.0
            assert row["n_runs"] >= 1
        assert dataset["targets"]
    assert results["engine"]["results"]["rows"] and results["strategy"]["results"]["rows"]
    assert results["engine"]["results"]["peak"]["gemm_2048x2048"]["gflops"] > 0
    for row in results["inference"]["results"]["rows"].values():
        assert row["sentences_per_s"] > 0
    assert results["tokenizer"]["results"]["identical_ids_fraction"] == 1.0
    assert {row["identical_ids_fraction"] for row in results["tokenizer"]["results"]["rows"].values()} == {1.0}
    memory = results["memory"]["results"]["rows"]
    for name in ("training", "inference"):
        assert any(key.startswith(name) and row["peak_rss_mb"] > 0 for key, row in memory.items())
    distillation = results["distillation"]["results"]
    assert list(distillation["datasets"]) == ["mr"]  # --quick: the first dataset, a tiny BERT teacher
    mr = distillation["datasets"]["mr"]
    assert f"candidate {mr['chosen']}" in mr["grid"]  # chosen on validation among the compared settings
    assert {
        "teacher: all-MiniLM-L6-v2 fine-tuned",
        "gru-hf distilled (GloVe 50d)",
        "gru-hf distilled (random init)",
        "gru-hf (GloVe 50d)",
        "gru-hf (random init)",
        "TF-IDF 1-2 grams + LR",
        "fastText (wordNgrams=2)",
    } <= set(mr["models"])
    for label, row in mr["models"].items():
        if "test_accuracy_mean" in row:
            assert 0.0 <= row["test_accuracy_mean"] <= 100.0 and row["sentences_per_s"] > 0, label
    for label in ("gru-hf distilled (GloVe 50d)", "gru-hf (random init)"):  # also served through their export
        assert mr["models"][label]["runtime_sentences_per_s"] > 0, label
    distilled = mr["models"]["gru-hf distilled (GloVe 50d)"]["runs"][0]
    assert distilled["transfer_set"]["train"] == mr["sizes"]["train"]
    assert mr["targets"]
    autotune = results["autotune"]["results"]
    assert list(autotune["datasets"]) == ["mr"]  # --quick: tiny MR, a budget of seconds
    assert set(autotune["datasets"]["mr"]["models"]) == {"defaults", "--autotune_seconds"}
    searches = [run["search"] for run in autotune["runs"] if run["row"] == "--autotune_seconds"]
    assert len(searches) == 1 and searches[0]["complete"] >= 1 and searches[0]["total_s"] > 0
    assert "MR test: autotune >= defaults" in autotune["targets"]
    found = list(numbers(results))
    assert len(found) > 100
    bad = [(path, value) for path, value in found if not math.isfinite(value)]
    assert not bad, bad[:10]


def test_quick_benchmark_writes_every_section_and_renders_the_documents(tmp_path):
    data = make_data_dir(tmp_path)
    out = tmp_path / "out"
    run_benchmark("--quick", "--data_dir", data, "--out", str(out))
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    check_results(results)
    markdown = (out / "results.md").read_text(encoding="utf-8")
    for title in ("Accuracy", "Training engine", "GRU execution strategy", "Inference", "Tokenizer", "Peak memory"):
        assert f"## {title}" in markdown, title

    # A section rerun alone replaces its own entry and keeps the others as they were.
    run_benchmark("--quick", "--sections", "tokenizer", "--data_dir", data, "--out", str(out))
    rerun = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert set(rerun) == set(results)
    for name in OWN_SECTIONS:
        if name != "tokenizer":
            assert rerun[name] == results[name], name
    assert rerun["tokenizer"]["stamp"]["command"].endswith(
        "--sections tokenizer --data_dir " + data + " --out " + str(out)
    )

    # --render writes every marked block from results.json and leaves the rest of the document alone.
    readme, card = tmp_path / "README.md", tmp_path / "model_card.md"
    blocks = "".join(
        f"before {n}\n<!-- benchmark:{n} -->\npasted {n}\n<!-- /benchmark:{n} -->\n" for n in OWN_SECTIONS
    )
    readme.write_text("# Title\n\n" + blocks + "tail\n", encoding="utf-8")
    card.write_text("# Card\n<!-- benchmark:accuracy -->\n<!-- /benchmark:accuracy -->\nend\n", encoding="utf-8")
    documents = ["--documents", str(readme), str(card)]
    done = run_benchmark("--render", "--out", str(out), *documents)
    assert "README.md" in done.stdout or str(readme) in done.stdout
    first = readme.read_text(encoding="utf-8"), card.read_text(encoding="utf-8")
    for name in OWN_SECTIONS:
        block = report.read_block(first[0], name)
        assert block == runner.render_section(name, rerun[name])
        assert f"pasted {name}" not in block and f"before {name}\n" in first[0]
        assert report.stamp_line(rerun[name]["stamp"]) in block
    assert first[0].startswith("# Title\n\nbefore accuracy\n") and first[0].endswith("tail\n")
    assert report.read_block(first[1], "accuracy") == report.read_block(first[0], "accuracy")
    assert "| MR test | gru-hf (random init) |" in first[1] and first[1].endswith("end\n")
    # Round trip: rendering again from the same results.json changes nothing.
    run_benchmark("--render", "--out", str(out), *documents)
    assert (readme.read_text(encoding="utf-8"), card.read_text(encoding="utf-8")) == first


def test_render_refuses_a_block_without_results(tmp_path):
    document = tmp_path / "README.md"
    document.write_text("<!-- benchmark:strategy -->\n<!-- /benchmark:strategy -->\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="README.md: benchmark block\\(s\\) strategy have no results"):
        runner.render_documents({}, [str(document)])


def test_a_missing_section_module_is_reported_by_name():
    with pytest.raises(
        runner.MissingSection, match="section 'no_such_section': scripts/benchmarks/no_such_section.py"
    ):
        runner.load_section("no_such_section")


def test_every_section_module_has_run_and_render():
    for name in OWN_SECTIONS:
        module = runner.load_section(name)
        assert callable(module.run) and callable(module.render), name


SENTENCES = (
    ["A moving , funny film .", "the plot is dull", "Cats and dogs", "it is a cat"],
    [1, 0, 1, 0],
)
PHRASES = (
    [
        "a moving , funny film . ",  # a sentence, as GLUE writes it
        "moving , funny",
        "funny film",
        "the plot is dull",
        "plot",
        "is dull",
        "cats  and",  # extra space: the same phrase after normalisation
        "dogs",
        "it is a cat",
        "a cat",
        "cat",
        "a",
        "is",
        "the",
    ],
    [1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1],
)


@pytest.mark.parametrize("seed", range(6))
def test_sentence_held_out_split_keeps_every_phrase_of_a_validation_sentence_out_of_train(seed):
    split = sentence_held_out_split(PHRASES, SENTENCES, validation_percent=50, seed=seed)
    validation = {normalise(t) for t in split["validation"][0]}
    held = [normalise(s) for s in SENTENCES[0] if normalise(s) in validation]
    assert len(held) == split["held_out_sentences"] == 2
    spans = set().union(*(word_spans(s) for s in held))
    train = [normalise(t) for t in split["train"][0]]
    assert train and not spans & set(train)
    # Every phrase lands on one side; validation holds each text once, with its label.
    assert len(train) + len(validation) == len({normalise(t) for t in PHRASES[0]} | set(held))
    labels = dict(zip(map(normalise, PHRASES[0]), PHRASES[1]))
    for text, label in zip(*split["validation"]):
        assert labels.get(normalise(text), label) == label
    # Word-aligned: "a" and "cat" are phrases of "it is a cat", not of "Cats and dogs".
    if "it is a cat" in held and "cats and dogs" not in held:
        assert {"a", "cat", "is", "a cat"} <= validation and "dogs" in train


def test_sentence_held_out_split_is_seeded():
    first = sentence_held_out_split(PHRASES, SENTENCES, validation_percent=50, seed=3)
    assert first == sentence_held_out_split(PHRASES, SENTENCES, validation_percent=50, seed=3)


def test_sst2_sentence_split_writes_its_csvs_into_the_workdir(tmp_path):
    data = make_data_dir(tmp_path)
    files = sst2_sentence_split(data, str(tmp_path / "work"))
    assert files["train_file"].startswith(str(tmp_path / "work")) and files["test_file"].endswith("sst2/dev.csv")
    train, validation = read_csv(files["train_file"]), read_csv(files["validation_file"])
    assert (len(train[0]), len(validation[0])) == (files["sizes"]["train"], files["sizes"]["validation"])
    assert files["sizes"]["held_out_sentences"] == 15  # 10% of the 150 sentences
    sentences = {normalise(t) for t in read_csv(os.path.join(data, "sst2", "sst_sentences", "train.csv"))[0]}
    held = [normalise(t) for t in validation[0] if normalise(t) in sentences]
    spans = set().union(*(word_spans(s) for s in held))
    assert not spans & {normalise(t) for t in train[0]}


def test_bbc_short_datasets_are_each_articles_title_or_lead_once_with_its_label(tmp_path):
    from benchmarks.defaults import _data_arguments, bbc_short_file

    from gru_hf.data.bbc import BBC_NEWS_LABELS, load_bbc_news

    articles = load_bbc_news()
    first = articles[0]["text"].split("\n")

    def texts_and_labels(path):
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        return [r["text"] for r in rows], [r["label"] for r in rows]

    titles, labels = texts_and_labels(bbc_short_file("bbc_titles", str(tmp_path)))
    leads, lead_labels = texts_and_labels(bbc_short_file("bbc_leads", str(tmp_path)))
    assert titles[0] == first[0].strip() and labels[0] == BBC_NEWS_LABELS[articles[0]["labels"]]
    assert leads[0] == f"{first[0].strip()} {[p for p in first[1:] if p.strip()][0].strip()}"
    assert len(set(titles)) == len(titles) and len(set(leads)) == len(leads)  # no copy to leak into validation
    assert 2000 < len(titles) <= len(articles) and set(labels) == set(lead_labels) == set(BBC_NEWS_LABELS)
    assert sorted(len(t.split()) for t in titles)[len(titles) // 2] <= 8
    cut, _ = texts_and_labels(bbc_short_file("bbc_first_40", str(tmp_path)))
    assert cut[0] == " ".join(articles[0]["text"].split()[:40]) and max(len(t.split()) for t in cut) == 40
    data_args = _data_arguments(None, "bbc_first_40", workdir=str(tmp_path))
    assert data_args.train_file == str(tmp_path / "bbc_first_40.csv")


def test_defaults_sweep_names_other_datasets_and_candidates_from_the_environment(monkeypatch):
    from benchmarks import defaults

    monkeypatch.delenv("GRU_HF_SWEEP_DATASETS", raising=False)
    monkeypatch.delenv("GRU_HF_SWEEP_CANDIDATES", raising=False)
    assert defaults.sweep_names() == (defaults.SWEEP_DATASETS, defaults.SWEEP_CANDIDATES)
    monkeypatch.setenv("GRU_HF_SWEEP_DATASETS", "bbc_first_48, mr")
    monkeypatch.setenv("GRU_HF_SWEEP_CANDIDATES", "recipe_short,recipe_long")
    assert defaults.sweep_names() == (("bbc_first_48", "mr"), ("recipe_short", "recipe_long"))
    monkeypatch.setenv("GRU_HF_SWEEP_DATASETS", "bbc_first_0,imdb")
    with pytest.raises(ValueError, match=r"GRU_HF_SWEEP_DATASETS: unknown name\(s\) \['bbc_first_0', 'imdb'\]"):
        defaults.sweep_names()
    monkeypatch.setenv("GRU_HF_SWEEP_DATASETS", "mr")
    monkeypatch.setenv("GRU_HF_SWEEP_CANDIDATES", "recipe_medium")
    with pytest.raises(ValueError, match=r"GRU_HF_SWEEP_CANDIDATES: unknown name\(s\) \['recipe_medium'\]"):
        defaults.sweep_names()


def test_the_documents_tables_are_those_rendered_from_the_committed_results(tmp_path):
    """README.md and model_card.md hold exactly what --render makes of scripts/benchmarks/results.json."""
    results = runner.read_results(os.path.join(REPO_ROOT, "scripts", "benchmarks", "results.json"))
    copies = []
    for name in ("README.md", "model_card.md"):
        with open(os.path.join(REPO_ROOT, name), encoding="utf-8") as f:
            text = f.read()
        assert report.block_names(text), name
        (tmp_path / name).write_text(text, encoding="utf-8")
        copies.append((tmp_path / name, text))
    runner.render_documents(results, [str(path) for path, _ in copies])
    for path, text in copies:
        assert path.read_text(encoding="utf-8") == text, f"{path.name}: run python scripts/benchmark.py --render"


def test_serving_fresh_process_loads_only_its_row_and_predicts_as_this_one(tmp_path):
    """The serving section's peak-RSS process (`python -m benchmarks.serving --child`), on a fastText row: it never
    imports torch, and it gives the predictions of the same model loaded here."""
    pytest.importorskip("fasttext")
    from benchmarks import serving
    from benchmarks.fasttext_io import fasttext_file

    rows = synthetic_rows(random.Random(0), 200)
    texts, labels = [t for t, _ in rows], [y for _, y in rows]
    train_file = fasttext_file(str(tmp_path / "train.txt"), texts, labels)
    path = str(tmp_path / "model.bin")
    # Trained in a fresh interpreter: inside the suite's process (after the torch / onnxruntime tests), fastText's
    # training once stopped with "Encountered NaN" on these 200 texts; alone it never has.
    train = (
        "import fasttext\n"
        f"m = fasttext.train_supervised(input={train_file!r}, wordNgrams=2, thread=1, seed=0, verbose=0,"
        " bucket=5000)\n"
        f"m.save_model({path!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", train], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    texts_file = tmp_path / "texts.json"
    texts_file.write_text(json.dumps({"texts": texts[:70], "labels": labels[:70]}), encoding="utf-8")
    prepare, predict = serving.LOADERS[serving.FASTTEXT_ROW](path, 1)
    here = serving.classify_all(predict, prepare, texts[:70], serving.SERVING_BATCH)
    assert set(here) == {0, 1}

    child = serving.measure_rss(serving.FASTTEXT_ROW, path, str(texts_file))
    assert child.get("error") is None, child
    assert child["torch_loaded"] is False
    assert child["predictions"] == here
    assert child["peak_rss_mb"] > 0
    assert serving.loaded_files(serving.FASTTEXT_ROW, path) == [path]


def test_served_student_is_the_smallest_within_one_validation_point_of_the_best():
    from benchmarks import serving

    def sizes(**accuracies):
        return {int(k[1:]): {"validation_accuracy": v} for k, v in accuracies.items()}

    assert serving.choose_student(sizes(h128=81.35, h64=79.90, h48=80.42, h32=80.31)) == 48
    assert serving.choose_student(sizes(h128=81.35, h64=80.35, h48=79.0, h32=78.0)) == 64  # exactly 1 point under
    assert serving.choose_student(sizes(h128=80.0, h64=82.0, h32=80.9)) == 64  # the best need not be the largest


def test_serving_targets_are_the_issues_ratios_of_rows_timed_together():
    """The serving section's target table: throughput ratios of rows from the same run, accuracy differences in
    points, latency and cold-start limits as upper bounds; a check whose rows were not measured is left out."""
    from benchmarks import serving

    def row(rate, acc, median=1.0):
        return {"batch64_sentences_per_s": rate, "test_accuracy": acc, "latency_median_ms": median}

    rows = {
        "PyTorch bare": row(3000.0, 80.0),
        "PyTorch forward": row(4000.0, 80.0),
        "ONNX fp32 session": row(7000.0, 80.0),
        "ONNX int8 session": row(7600.0, 79.8),
        "ONNX fp32 runtime": row(5000.0, 80.0, median=0.3),
        "ONNX int8 runtime": row(5200.0, 79.4),
        serving.STUDENT_ROWS[0]: row(21000.0, 81.0),
        serving.M2V_ROW: row(20000.0, 77.0),
    }
    cold = {"gru-hf predict DIR TEXT --backend pytorch": {"median_s": 5.0}, "gru-hf --help": {"median_s": 0.05}}
    targets = serving.serving_targets(rows, cold)
    assert {k: (round(v["value"], 3), v["threshold"], v["met"]) for k, v in targets.items()} == {
        "ONNX fp32 runtime / model2vec classifier, batch 64": (0.25, 1.0, False),
        "ONNX fp32 runtime accuracy, model2vec's": (80.0, 77.0, True),
        "ONNX fp32 runtime, distilled student / model2vec classifier, batch 64": (1.05, 1.0, True),
        "ONNX fp32 runtime, distilled student accuracy, model2vec's": (81.0, 77.0, True),
        "ONNX fp32 runtime / PyTorch bare, text in, labels out": (1.667, 1.5, True),
        "ONNX int8 runtime / PyTorch bare, text in, labels out": (1.733, 2.0, False),
        "ONNX fp32 session / PyTorch forward, the same batches": (1.75, 1.5, True),
        "ONNX int8 session / PyTorch forward, the same batches": (1.9, 2.0, False),
        "ONNX int8 runtime accuracy, fp32 - 0.5": (79.4, 79.5, False),
        "ONNX fp32 runtime batch-1 median ms": (0.3, 0.5, True),
        "gru-hf predict DIR TEXT --backend pytorch, cold s": (5.0, 2.0, False),
        "gru-hf --help, cold s": (0.05, 0.5, True),
    }
    assert targets["ONNX fp32 runtime batch-1 median ms"]["margin"] == pytest.approx(0.2)  # room left under it
    del rows[serving.M2V_ROW]
    assert not any("model2vec" in check for check in serving.serving_targets(rows, {}))


def test_autotune_section_can_measure_the_defaults_alone(tmp_path, monkeypatch):
    from benchmarks import autotune

    monkeypatch.setattr(autotune, "data_argv", lambda data_dir, name, workdir: [f"--train_file={name}.csv"])
    monkeypatch.setenv("GRU_HF_AUTOTUNE_DATASETS", "mr,sst2")
    monkeypatch.setenv("GRU_HF_AUTOTUNE_ROWS", "defaults")
    jobs = autotune.plan(str(tmp_path), str(tmp_path), quick=False)
    assert [(j["dataset"], j["row"], j["seed"]) for j in jobs] == [
        (name, "defaults", seed) for seed in (0, 1, 2) for name in ("mr", "sst2")
    ]
    assert {j["budget_s"] for j in jobs} == {300}
    monkeypatch.setenv("GRU_HF_AUTOTUNE_SECONDS", "900")  # a budget of the run's own, which the record names
    assert {j["budget_s"] for j in autotune.plan(str(tmp_path), str(tmp_path), quick=False)} == {900}
    monkeypatch.setenv("GRU_HF_AUTOTUNE_ROWS", "defaults,tuned")
    with pytest.raises(ValueError, match="GRU_HF_AUTOTUNE_ROWS: choose from 'defaults' and '--autotune_seconds'"):
        autotune.plan(str(tmp_path), str(tmp_path), quick=False)
    # Without an autotune row no target is checked (nothing to compare).
    row = {"test_accuracy": 80.0, "validation_accuracy": 79.0, "train_s": 20.0, "job_s": 30.0}
    runs = [{"dataset": "mr", "row": "defaults", "seed": 0, **row}]
    summary = autotune.summarise(runs)
    assert autotune.target_checks(summary) == {}
    results = {"budget_s": 300, "workers": 1, "threads": 2, "seeds": [0], "planned_datasets": ["mr"]}
    text = autotune.render(results | {"planned_seeds": [0], "runs": runs, "datasets": summary, "targets": {}})
    assert "alone (GRU_HF_AUTOTUNE_ROWS=defaults: no search)" in text and "Searches" not in text
    assert "| MR test | package defaults | 80.00 ± 0.00 | 79.00 | 1 | 30 |" in text


def test_autotune_section_carves_bbc_titles_test_and_validation_splits_apart(tmp_path):
    from benchmarks import autotune

    from gru_hf.cli import parse_train_arguments
    from gru_hf.data import load_data

    argv = autotune.data_argv(str(tmp_path), "bbc_titles", str(tmp_path / "work"))
    assert argv[argv.index("--train_file") + 1] == str(tmp_path / "work" / "bbc_titles.csv")
    _, data_args, _ = parse_train_arguments([*argv, "--output_dir", str(tmp_path / "out")])
    splits = load_data(data_args).splits
    sizes = {name: splits[name].num_rows for name in ("train", "validation", "test")}
    assert sizes["test"] == sizes["validation"] == round(sum(sizes.values()) / 10)
    texts = {name: set(splits[name]["text"]) for name in sizes}
    assert not texts["test"] & (texts["train"] | texts["validation"])
    assert autotune.TEST_NAMES["bbc_titles"] == "BBC titles test (10% carved)"


def test_autotune_section_reports_a_refused_job_as_a_missed_target():
    from benchmarks import autotune

    row = {"seed": 0, "validation_accuracy": 78.0, "train_s": 60.0}
    runs = [
        {"dataset": "mr", "row": "defaults", "test_accuracy": 80.0, "job_s": 70.0, **row},
        {"dataset": "mr", "row": "--autotune_seconds", "test_accuracy": 81.0, "job_s": 300.0, **row},
        {"dataset": "sst2", "row": "defaults", "test_accuracy": 83.0, "job_s": 360.0, **row},
        {"dataset": "sst2", "row": "--autotune_seconds", "seed": 0, "error": "--autotune_seconds 300 is too small: x"},
        {"dataset": "sst2", "row": "--autotune_seconds", "seed": 1, "error": "--autotune_seconds 300 is too small: y"},
    ]
    summary = autotune.summarise(runs)
    targets = autotune.target_checks(summary)
    assert targets["MR test: autotune >= defaults"]["met"] is True
    assert targets["SST-2 GLUE dev: autotune >= defaults"] == {"met": False, "value": None, "margin": None}
    assert targets["autotune higher than the defaults on most datasets"]["met"] is False  # 1 of 2
    results = {"budget_s": 300, "workers": 2, "seeds": [0], "planned_seeds": [0, 1, 2], "runs": runs}
    text = autotune.render(results | {"planned_datasets": ["mr", "sst2"], "datasets": summary, "targets": targets})
    for seed, message in ((0, "x"), (1, "y")):  # every refused seed, with its own message
        line = f"- SST-2 GLUE dev, --autotune_seconds, seed {seed}: refused, `--autotune_seconds 300 is too small: "
        assert line + f"{message}`" in text
    assert "seeds [0] of [0, 1, 2]" in text and "| MR test | --autotune_seconds 300 | 81.00 ± 0.00 |" in text


def test_distillation_passes_the_recorded_settings_of_a_reused_dataset_to_the_next(monkeypatch, tmp_path):
    """Rows reused from an older run name their candidate as that run did ('augment x4' when x2 was the package
    default); the next dataset must train with the settings recorded beside that name, not look the name up."""
    from benchmarks import distillation

    reused = {"chosen": "augment x4", "settings": {"augment_factor": 4}, "models": {}, "grid": {}}
    monkeypatch.setattr(distillation, "reused_result", lambda name: dict(reused, reused={"git": "abc", "date": "d"}))
    seen = {}

    def fake_run_dataset(data_dir, name, workdir, quick, chosen, reused_grid=None):
        seen[name] = chosen
        return {"chosen": chosen[0], "settings": chosen[1]}

    monkeypatch.setattr(distillation, "run_dataset", fake_run_dataset)
    monkeypatch.setattr(distillation, "save_dataset_result", lambda name, result, started: None)
    monkeypatch.setenv("GRU_HF_DISTILL_DATASETS", "mr,sst2")
    monkeypatch.setenv("GRU_HF_DISTILL_REUSE", "mr")
    assert "augment x4" not in distillation.DISTILL_CANDIDATES
    results = distillation.run(str(tmp_path), str(tmp_path), quick=False)
    assert seen == {"sst2": ("augment x4", {"augment_factor": 4})}
    assert results["datasets"]["sst2"] == {"chosen": "augment x4", "settings": {"augment_factor": 4}}
    assert results["datasets"]["mr"]["reused"] == {"git": "abc", "date": "d"}


def test_a_benchmark_teacher_is_reused_only_when_fine_tuned_with_the_recipe_of_today(monkeypatch, tmp_path):
    """`outputs/bench-teachers/<dataset>` is reused when its signature matches: the same split files and the same
    recipe, the package's teacher defaults with the section's options on top. A teacher fine-tuned at another
    learning rate (e.g. before the default changed) is fine-tuned again, not reported as today's."""
    from benchmarks import distillation

    import gru_hf.distillation

    files = {"train_file": str(tmp_path / "train.csv"), "split_seed": 42}
    monkeypatch.setattr(distillation, "TEACHER_ROOT", str(tmp_path / "teachers"))
    monkeypatch.setattr(distillation, "data_files", lambda data_dir, name, workdir: files)
    monkeypatch.setattr(distillation, "DISTILL_TEACHER_OPTIONS", {"toy": {}})
    trained = []

    def fake_train_teacher(model_args, data_args, training_args):
        trained.append(training_args.learning_rate)
        os.makedirs(training_args.output_dir, exist_ok=True)
        with open(os.path.join(training_args.output_dir, "results.json"), "w", encoding="utf-8") as f:
            json.dump({"train_runtime_s": 1.0}, f)
        return {"train_runtime_s": 1.0}

    monkeypatch.setattr(gru_hf.distillation, "train_teacher", fake_train_teacher)
    default_lr = gru_hf.distillation.TeacherTrainingArguments(output_dir=str(tmp_path / "x")).learning_rate
    signature = distillation.teacher_signature(files, {})
    assert signature["recipe"]["learning_rate"] == default_lr
    assert distillation.teacher_signature(files, {"learning_rate": default_lr / 2}) != signature
    out = tmp_path / "teachers" / "toy"
    out.mkdir(parents=True)
    (out / "results.json").write_text(json.dumps({"train_runtime_s": 9.0}))
    (out / "bench-signature.json").write_text(
        json.dumps(distillation.teacher_signature(files, {"learning_rate": default_lr / 2}))
    )
    _, facts = distillation.teacher("data", "toy", str(tmp_path), False, [])
    assert trained == [default_lr] and facts["reused"] is False  # another recipe: fine-tuned again
    _, facts = distillation.teacher("data", "toy", str(tmp_path), False, [])
    assert trained == [default_lr] and facts["reused"] is True  # now it matches: reused


def test_distillation_reruns_the_rows_of_a_dataset_whose_grid_is_reused(monkeypatch, tmp_path):
    """GRU_HF_DISTILL_REUSE_GRID: the dataset trains its rows again with the choice its earlier run made, and
    reports that run's grid with its commit and time; the next dataset gets the same choice."""
    from benchmarks import distillation

    grid = {"candidate augment x4": {"validation_accuracy": 81.35, "train_s": 854.5}}
    saved = {"chosen": "augment x4", "settings": {"augment_factor": 4}, "models": {}, "grid": grid}
    monkeypatch.setattr(distillation, "reused_result", lambda name: dict(saved, reused={"git": "abc", "date": "d"}))
    seen = {}

    def fake_run_dataset(data_dir, name, workdir, quick, chosen, reused_grid=None):
        seen[name] = (chosen, reused_grid)
        return {"chosen": chosen[0], "settings": chosen[1]}

    monkeypatch.setattr(distillation, "run_dataset", fake_run_dataset)
    monkeypatch.setattr(distillation, "save_dataset_result", lambda name, result, started: None)
    monkeypatch.setenv("GRU_HF_DISTILL_DATASETS", "mr,sst2")
    monkeypatch.setenv("GRU_HF_DISTILL_REUSE_GRID", "mr")
    distillation.run(str(tmp_path), str(tmp_path), quick=False)
    choice = ("augment x4", {"augment_factor": 4})
    assert seen == {"mr": (choice, {"rows": grid, "reused": {"git": "abc", "date": "d"}}), "sst2": (choice, None)}


def test_distilled_jobs_take_their_datasets_student_options_for_that_init_only(monkeypatch):
    """DISTILL_STUDENT_MODEL: options given for one dataset and init (here SST-2's GloVe students) reach that
    dataset's distilled students of that init only; its other students, every MR student and the no-teacher rows
    keep the section's settings."""
    from benchmarks import distillation

    extra = {"glove": "glove-6b-50d", "glove_extra_words": 100_000}
    monkeypatch.setattr(distillation, "DISTILL_STUDENT_MODEL", {"sst2": {"glove": extra}})
    choice = ("augment x4", {"augment_factor": 4})

    def jobs(dataset):
        _, second = distillation.plan({"dataset": dataset, "root": "runs"}, "teacher", (0, 1), choice, quick=False)
        return {(job["key"], job["seed"]): job["model"] for job in second}

    sst2 = jobs("sst2")
    assert {key: model for key, model in sst2.items() if model} == {
        ("gru-hf distilled (GloVe 50d)", 0): extra,
        ("gru-hf distilled (GloVe 50d)", 1): extra,
    }
    assert len(sst2) == 8  # two seeds of the two distilled and the two no-teacher rows
    assert all(model == {} for model in jobs("mr").values())


def test_the_dev_extra_installs_every_other_extra():
    """README's set-up (`pip install -e ".[dev]"`) is all a contributor runs before the benchmark: a requirement
    only in `bench` (as model2vec's was) leaves a section's row "not measured" on a new machine."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    with open(os.path.join(REPO_ROOT, "pyproject.toml"), "rb") as f:
        extras = tomllib.load(f)["project"]["optional-dependencies"]
    dev = set(extras.pop("dev"))
    missing = {name: sorted(set(requirements) - dev) for name, requirements in extras.items()}
    assert {name: m for name, m in missing.items() if m} == {}
