"""The end-to-end training job on tiny data: outputs, resume, bad input."""

import json
import os

import pytest
import torch
from conftest import NEGATIVE, POSITIVE, tiny_args, write_csv
from safetensors.torch import load_file
from transformers import AutoTokenizer, TrainerCallback, pipeline

from gru_hf.cli import main, parse_train_arguments
from gru_hf.training import train


def run(args):
    return train(*parse_train_arguments(args))


def test_end_to_end_outputs(tmp_path, tiny_files):
    out = tmp_path / "model"
    results = run(tiny_args(tiny_files, out))
    files = set(os.listdir(out))
    for name in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
        "configuration_gru.py",
        "modeling_gru.py",
        "README.md",
        "results.json",
    ]:
        assert name in files, name
    assert results["test"]["test_accuracy"] >= 0.9  # a trivially separable task
    config = json.loads((out / "config.json").read_text())
    assert config["id2label"] == {"0": "neg", "1": "pos"}
    assert config["problem_type"] == "single_label_classification"
    card = (out / "README.md").read_text()
    assert "library_name: transformers" in card and "pipeline_tag: text-classification" in card
    assert f"{results['test']['test_accuracy']:.4f}" in card
    assert "| `metric_for_best_model` | `f1_macro` |" in card  # chosen for the problem type, not the Trainer's loss
    changed = card.split("<details>")[0]
    assert "| `learning_rate` | `0.02` |" in changed and "| `per_device_eval_batch_size`" not in changed
    classifier = pipeline("text-classification", model=str(out))
    assert classifier("good film")[0]["label"] == "pos"
    assert classifier("bad film")[0]["label"] == "neg"
    # The job's own ONNX export (onnx extra installed): current for the saved weights, same labels without torch.
    from gru_hf.model_dir import changed_since_export
    from gru_hf.onnx import OnnxClassifier

    assert changed_since_export(str(out)) == []
    assert "OnnxClassifier.from_pretrained(snapshot_download(" in card  # the card shows how to use it
    texts = ["good film", "bad film", "truly great", "awful acting"]
    assert [r["label"] for r in OnnxClassifier.from_pretrained(out)(texts)] == [r["label"] for r in classifier(texts)]


def test_same_seed_same_weights_and_metrics(tmp_path, tiny_files):
    first = run(tiny_args(tiny_files, tmp_path / "a"))
    second = run(tiny_args(tiny_files, tmp_path / "b", "--export_onnx", "false"))
    assert (tmp_path / "a" / "onnx" / "model.onnx").is_file() and not (tmp_path / "b" / "onnx").exists()
    assert "OnnxClassifier" not in (tmp_path / "b" / "README.md").read_text()  # no export, no ONNX usage in the card
    assert first["test"]["test_accuracy"] == second["test"]["test_accuracy"]
    assert first["validation"]["eval_loss"] == second["validation"]["eval_loss"]
    a, b = load_file(tmp_path / "a" / "model.safetensors"), load_file(tmp_path / "b" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


class CrashAtStep(TrainerCallback):
    def __init__(self, step):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise RuntimeError("simulated crash")


def test_resume_from_checkpoint_matches_uninterrupted_run(tmp_path, tiny_files):
    full = run(tiny_args(tiny_files, tmp_path / "full"))
    # The same run, crashing in its second epoch (a checkpoint exists from the first), then resumed.
    crashed = tmp_path / "crashed"
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(*parse_train_arguments(tiny_args(tiny_files, crashed)), callbacks=[CrashAtStep(7)])
    assert [name for name in os.listdir(crashed) if name.startswith("checkpoint-")] == ["checkpoint-5"]
    resumed = run(tiny_args(tiny_files, crashed, "--resume_from_checkpoint", "true"))
    for key in ("test_accuracy", "test_loss", "test_f1_macro"):
        assert resumed["test"][key] == pytest.approx(full["test"][key], abs=1e-6), key
    a = load_file(tmp_path / "full" / "model.safetensors")
    b = load_file(crashed / "model.safetensors")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_resume_inside_a_later_epoch_matches_uninterrupted_run(tmp_path, tiny_files):
    """A checkpoint in the middle of the second epoch (5 steps per epoch, one every 3): the resumed run draws the
    second epoch's length-grouped batch order as the uninterrupted run did, and ends with the same weights."""
    steps = ("--eval_strategy", "steps", "--eval_steps", "3", "--save_total_limit", "10")
    full = run(tiny_args(tiny_files, tmp_path / "full", *steps))
    crashed = tmp_path / "crashed"
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(*parse_train_arguments(tiny_args(tiny_files, crashed, *steps)), callbacks=[CrashAtStep(8)])
    assert sorted(name for name in os.listdir(crashed) if name.startswith("checkpoint-")) == [
        "checkpoint-3",
        "checkpoint-6",
    ]
    resumed = run(tiny_args(tiny_files, crashed, *steps, "--resume_from_checkpoint", "true"))
    assert resumed["test"]["test_loss"] == pytest.approx(full["test"]["test_loss"], abs=1e-6)
    a = load_file(tmp_path / "full" / "model.safetensors")
    b = load_file(crashed / "model.safetensors")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a), max((a[k] - b[k]).abs().max() for k in a)


def test_existing_output_dir_is_protected(tmp_path, tiny_files, capsys):
    out = tmp_path / "model"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    code = main(["train", *tiny_args(tiny_files, out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "is not empty: pass --overwrite_output_dir" in err[0]
    assert os.listdir(out) == ["precious.txt"] and (out / "precious.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda f: {**f, "train": f["train"] + ".missing"}, "train.csv.missing"),
        (lambda f: {**f, "glove": "glove-1t-9000d"}, "glove-6b-50d"),
    ],
)
def test_bad_input_is_one_clear_line_before_any_work(tmp_path, tiny_files, capsys, change, message):
    files = change(tiny_files)
    extra = ["--glove", files["glove"]] if "glove" in files else []
    out = tmp_path / "model"
    code = main(["train", *tiny_args(files, out, *extra)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and message in err[0], err
    assert not out.exists()


def test_glove_extra_words_keep_their_vectors(tmp_path, tiny_files):
    # Words the training data never had, in the vectors file's order, when the tokenizer can produce them.
    vectors = {"good": 0.5, "superb": 1.0, "Capital": 2.0, "don't": 3.0, "dreadful": 4.0, "zebra": 5.0}
    glove = tmp_path / "vectors.txt"
    glove.write_text("".join(f"{word} {' '.join([str(v)] * 8)}\n" for word, v in vectors.items()), encoding="utf-8")
    out = tmp_path / "model"
    results = run(tiny_args(tiny_files, out, "--glove", str(glove), "--glove_extra_words", "2"))
    tokenizer = AutoTokenizer.from_pretrained(out)
    vocab = tokenizer.get_vocab()
    assert {"superb", "dreadful"} <= vocab.keys() and not {"zebra", "capital", "Capital", "don't"} & vocab.keys()
    assert tokenizer.tokenize("a superb film") == ["a", "superb", "film"]
    embeddings = load_file(out / "model.safetensors")["model.embeddings.weight"]
    assert embeddings.shape[0] == len(tokenizer) == results["glove"]["vocab_size"]
    # Never seen in training, so never updated: exactly the pretrained vector.
    assert torch.equal(embeddings[vocab["superb"]], torch.full((8,), 1.0))
    assert torch.equal(embeddings[vocab["dreadful"]], torch.full((8,), 4.0))
    assert results["glove"]["extra_words"] == 2
    # Of the running training tokens only "good" has a vector ("superb" and "dreadful" never occur in training).
    assert 0.05 < results["glove"]["token_coverage"] < 0.5
    assert "(2 of them added from the vectors, not seen in training)" in (out / "README.md").read_text()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--glove_extra_words", "5"], "--glove_extra_words needs --glove"),
        (["--glove", "glove-6b-50d", "--embedding_dim", "50", "--glove_extra_words", "-1"], "must be 0 or more"),
    ],
)
def test_bad_glove_extra_words(tmp_path, tiny_files, capsys, extra, message):
    out = tmp_path / "model"
    assert main(["train", *tiny_args(tiny_files, out), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not out.exists()


def _vectors_file(path, words):
    path.write_text("".join(f"{word} {' '.join([str(i / 10)] * 8)}\n" for i, word in enumerate(words)), "utf-8")
    return str(path)


def _without(args, *options):
    """`args` without each named option and its value."""
    for option in options:
        at = args.index(option)
        args = args[:at] + args[at + 2 :]
    return args


def test_short_texts_with_vectors_get_the_short_recipe_and_options_given_win(tmp_path, tiny_files, caplog):
    glove = _vectors_file(tmp_path / "vectors.txt", ["good", "superb", "bad", "dreadful"])
    out = tmp_path / "model"
    args = _without(tiny_args(tiny_files, out, "--glove", glove, "--num_train_epochs", "1"), "--hidden_size")
    with caplog.at_level("INFO", logger="gru_hf.training"):
        results = run(args)
    # The tiny texts have 2-5 words (median 3): hidden 256, the vectors' unseen words, the embeddings at half of 0.02.
    assert (
        "Recipe short (the median training text has 3 words (at most 64)): --hidden_size 256, "
        "--glove_extra_words 100000, --embedding_learning_rate 0.01, --adversarial_epsilon 0.5" in caplog.text
    )
    assert json.loads((out / "config.json").read_text())["hidden_size"] == 256
    assert {"superb", "dreadful"} <= AutoTokenizer.from_pretrained(out).get_vocab().keys()
    assert results["glove"]["extra_words"] == 2
    card = (out / "README.md").read_text()
    changed = card.split("Non-default hyperparameters:\n\n")[1].split("\n\n")[0]
    assert "| `glove` |" in changed and "`learning_rate` | `0.02`" in changed, changed
    recipe = {"hidden_size", "extra_words", "embedding_learning_rate", "adversarial_epsilon"}
    assert not recipe & set(changed.replace("`", " ").split())
    assert "| `embedding_learning_rate` | `0.01` |" in card  # in the table of all hyperparameters
    assert "| `adversarial_epsilon` | `0.5` |" in card

    # Each option given wins over the recipe's value; the others still follow it.
    out2 = tmp_path / "given"
    args = tiny_args(tiny_files, out2, "--glove", glove, "--num_train_epochs", "1", "--glove_extra_words", "0")
    with caplog.at_level("INFO", logger="gru_hf.training"):
        results = run([*args, "--embedding_learning_rate", "0.02", "--adversarial_epsilon", "0"])
    assert "Recipe short (the median training text has 3 words (at most 64)): every option given" in caplog.text
    assert json.loads((out2 / "config.json").read_text())["hidden_size"] == 8
    assert results["glove"]["extra_words"] == 0 and "superb" not in AutoTokenizer.from_pretrained(out2).get_vocab()


def test_long_texts_and_runs_without_vectors_keep_the_long_recipe(tmp_path):
    from gru_hf.data import DataArguments
    from gru_hf.training import GRUTrainingArguments, ModelArguments, apply_recipe, load_splits

    long_rows = [(" ".join([word] * 65), label) for word, label in [("good", "pos"), ("bad", "neg")] * 10]
    data_args = DataArguments(train_file=write_csv(tmp_path / "long.csv", long_rows))
    raw, _, _ = load_splits(data_args)
    training_args = GRUTrainingArguments(output_dir=str(tmp_path / "out"))
    glove = _vectors_file(tmp_path / "vectors.txt", ["good", "bad"])
    for model_args in (ModelArguments(glove=glove), ModelArguments(), ModelArguments(recipe="long", glove=glove)):
        resolved, resolved_training = apply_recipe(model_args, training_args, raw["train"], data_args)
        assert (resolved.hidden_size, resolved.glove_extra_words) == (128, 0)
        assert resolved_training.embedding_learning_rate is None and resolved_training.adversarial_epsilon is None
        assert model_args.hidden_size is None and model_args.glove_extra_words is None  # the caller's are unchanged
    # --recipe short asks for it whatever the length; 64 words are still short.
    short = ModelArguments(recipe="short", glove=glove)
    resolved, resolved_training = apply_recipe(short, training_args, raw["train"], data_args)
    assert (resolved.hidden_size, resolved.glove_extra_words) == (256, 100_000)
    assert resolved_training.embedding_learning_rate == 1e-3 and training_args.embedding_learning_rate is None
    assert resolved_training.adversarial_epsilon == 0.5 and training_args.adversarial_epsilon is None
    rows = [(" ".join(["good"] * 64), "pos"), (" ".join(["bad"] * 64), "neg")] * 10
    data_args = DataArguments(train_file=write_csv(tmp_path / "short.csv", rows))
    train_split = load_splits(data_args)[0]["train"]
    resolved, _ = apply_recipe(ModelArguments(glove=glove), training_args, train_split, data_args)
    assert resolved.hidden_size == 256
    # gru-hf distill: auto stays long (its students were measured so); --recipe short is still honoured.
    resolved, _ = apply_recipe(ModelArguments(glove=glove), training_args, train_split, data_args, auto_short=False)
    assert (resolved.hidden_size, resolved.glove_extra_words) == (128, 0)
    resolved, _ = apply_recipe(short, training_args, train_split, data_args, auto_short=False)
    assert resolved.hidden_size == 256


def test_an_unknown_recipe_is_refused_before_any_work(tmp_path, tiny_files, capsys):
    out = tmp_path / "model"
    assert main(["train", *tiny_args(tiny_files, out, "--recipe", "tweets")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--recipe must be one of auto, short, long, got 'tweets'" in err[0], err
    assert not out.exists()


def test_overwrite_replaces_the_previous_run_and_resume_refuses_another_model(tmp_path, tiny_files, capsys):
    out = tmp_path / "model"
    run(tiny_args(tiny_files, out))  # 2 labels, with a test split (a confusion matrix)
    previous = {name for name in os.listdir(out) if name.startswith("checkpoint-")}
    assert previous
    (out / "onnx").mkdir(exist_ok=True)  # the previous run's export (the onnx extra may be missing)
    (out / "onnx" / "model.onnx").write_bytes(b"the previous model")
    # Another run into the same directory: 3 labels, no test split, one epoch.
    rows = [(t, "pos") for t in POSITIVE * 3] + [(t, "neg") for t in NEGATIVE * 3] + [("so so", "meh")] * 15
    files = {"train": write_csv(tmp_path / "three.csv", rows), "test": tiny_files["test"]}
    args = tiny_args(files, out, "--num_train_epochs", "1", "--overwrite_output_dir", "true", "--export_onnx", "false")
    at = args.index("--test_file")
    run(args[:at] + args[at + 2 :])
    left = {name for name in os.listdir(out) if name.startswith("checkpoint-")}
    assert left and all(
        json.loads((out / name / "config.json").read_text())["id2label"] == {"0": "meh", "1": "neg", "2": "pos"}
        for name in left
    ), left
    assert not (out / "confusion_matrix.png").exists()  # it drew the previous run's test split
    assert not (out / "onnx").exists()  # the previous model's graph: this run exports none
    # Resuming that 3-label checkpoint with the 2-label data: one line, before training.
    capsys.readouterr()
    assert main(["train", *tiny_args(tiny_files, out, "--resume_from_checkpoint", "true")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "holds another model than this run builds: id2label ['meh', 'neg', 'pos'] against ['neg', 'pos']" in err


def test_card_names_the_columns_the_file_has(tmp_path):
    rows = [(t, "pos") for t in POSITIVE * 4] + [(t, "neg") for t in NEGATIVE * 4]
    train_file = write_csv(tmp_path / "reviews.csv", rows, header=("review", "category"))
    files = {"train": train_file, "test": write_csv(tmp_path / "test.csv", rows[::4], header=("review", "category"))}
    out = tmp_path / "model"
    run(tiny_args(files, out, "--text_column", "review", "--num_train_epochs", "1"))  # the label column guessed
    assert "text column `review`, label column `category`" in (out / "README.md").read_text()


def test_config_file_replaces_command_line(tmp_path, tiny_files):
    import yaml

    args = tiny_args(tiny_files, tmp_path / "model")
    options = {args[i].lstrip("-"): yaml.safe_load(args[i + 1]) for i in range(0, len(args), 2)}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(options))
    model_args, data_args, training_args = parse_train_arguments([str(tmp_path / "run.yaml")])
    assert model_args.hidden_size == 8 and data_args.train_file == tiny_files["train"]
    assert training_args.learning_rate == 0.02 and training_args.train_sampling_strategy == "group_by_length"


def test_config_file_values_are_read_as_typed_options_and_options_after_it_win(tmp_path, tiny_files):
    # PyYAML reads `1e-3` as the string "1e-3" (YAML 1.1 wants a dot): it must still be the float 0.001.
    (tmp_path / "run.yaml").write_text(
        f"train_file: {tiny_files['train']}\noutput_dir: {tmp_path / 'model'}\nlearning_rate: 1e-3\n"
        "num_train_epochs: 2\nreport_to: [none]\nload_best_model_at_end: false\nglove: null\n"
    )
    model_args, data_args, training_args = parse_train_arguments([str(tmp_path / "run.yaml")])
    assert training_args.learning_rate == 0.001 and training_args.num_train_epochs == 2
    assert training_args.load_best_model_at_end is False and model_args.glove is None
    _, _, training_args = parse_train_arguments([str(tmp_path / "run.yaml"), "--num_train_epochs", "5"])
    assert training_args.num_train_epochs == 5 and training_args.learning_rate == 0.001


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("bad.yaml", "train_file: [train.csv\n", "configuration file {path} is not valid YAML: "),
        ("bad.json", '{"train_file": "train.csv", bad}', "configuration file {path} is not valid JSON: "),
        ("list.yaml", "- train_file\n- train.csv\n", "configuration file {path} must map option names to values"),
        ("typo.yaml", "train_file: train.csv\nlearnin_rate: 0.1\n", "{path}: unknown option learnin_rate"),
        ("late.yaml", "train_file: train.csv\n", "the configuration file {path} must come first"),
    ],
)
def test_bad_config_file_is_one_line_naming_it(tmp_path, capsys, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    argv = ["--num_train_epochs", "2", str(path)] if name == "late.yaml" else [str(path)]
    assert main(["train", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message.format(path=path) in err[0], err


def test_streaming_training(tmp_path, tiny_files):
    # Training data read as a stream: a tokenizer from a bounded sample, a fixed number of steps.
    out = tmp_path / "streamed"
    args = tiny_args(
        {**tiny_files},
        out,
        "--streaming",
        "true",
        "--validation_file",
        tiny_files["test"],
        "--max_steps",
        "6",
        "--tokenizer_sample_size",
        "15",
    )
    results = run(args)
    assert set(results["test"]) >= {"test_accuracy", "test_loss"}
    vocab = AutoTokenizer.from_pretrained(out).get_vocab()
    assert "good" in vocab and "awful" not in vocab  # the first 15 texts are all positive: the sample is bounded
    state = json.loads((out / "results.json").read_text())
    assert state["validation"]["epoch"] > 0
    with pytest.raises(ValueError, match="--streaming needs --max_steps"):
        run(
            tiny_args(
                tiny_files, tmp_path / "no_steps", "--streaming", "true", "--validation_file", tiny_files["test"]
            )
        )


def test_the_card_command_says_how_many_processes_ran_it(monkeypatch):
    from gru_hf.training import command_line

    monkeypatch.setattr("sys.argv", ["/usr/bin/gru-hf", "train", "--train_file", "a.csv"])
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert command_line() == "gru-hf train --train_file a.csv"
    monkeypatch.setenv("WORLD_SIZE", "2")  # torchrun / accelerate launch: the same command in every process
    assert command_line() == "gru-hf train --train_file a.csv  # in each of 2 processes (torchrun / accelerate launch)"
