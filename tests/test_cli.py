"""The `gru-hf` console script as a user runs it, in a fresh process: what it imports, what it prints, and how it
ends (closed pipes, unknown commands), for the paths that must stay light (`--help`, `predict --onnx`)."""

import os
import shutil
import subprocess

import pytest
from transformers import pipeline

import gru_hf
from gru_hf.model_dir import MODEL_TYPE

SCRIPT = shutil.which("gru-hf")
needs_script = pytest.mark.skipif(SCRIPT is None, reason="the gru-hf console script is not on PATH")
# A sitecustomize.py that makes `import torch` fail: what runs under it provably never imports torch.
NO_TORCH = "import sys\nsys.modules['torch'] = None\n"


def gru_hf_command(*args, env=None, input=None):
    return subprocess.run(
        [SCRIPT, *args], capture_output=True, text=True, timeout=180, env={**os.environ, **(env or {})}, input=input
    )


def torch_blocked_env(tmp_path):
    site = tmp_path / "no-torch-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(NO_TORCH, encoding="utf-8")
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def imported_modules(stderr: str) -> set[str]:
    """Top-level module names from a `PYTHONPROFILEIMPORTTIME=1` report."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


@needs_script
def test_help_imports_neither_torch_nor_transformers():
    done = gru_hf_command("--help", env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("The `gru-hf` command: `train`, `predict`")
    modules = imported_modules(done.stderr)
    assert "gru_hf" in modules  # the report is real: it lists our own package
    assert not {"torch", "transformers", "numpy"} & modules


@needs_script
@pytest.mark.parametrize("reader", ["head -n 1", "true"])
def test_help_into_a_closed_pipe_prints_no_traceback(reader):
    """`true` exits without reading: the write meets a closed pipe (EPIPE)."""
    shell = subprocess.run(
        f"{SCRIPT} --help | {reader}; echo ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ,
    )
    lines = shell.stdout.splitlines()
    assert shell.stderr == ""
    assert lines[-1] == "0"  # gru-hf's exit status
    if reader.startswith("head"):
        assert lines[0] == "The `gru-hf` command: `train`, `predict`, `push`, `export`, `teacher`, `distill` and " + (
            "`quickstart`."
        )


# Each command's own --help, with options from each of its argument groups. argparse %-formats every help string, so
# a bare "%" in one (it happened: "84% of articles") makes the whole --help raise a TypeError instead of printing.
HELP_OPTIONS = {
    "train": [
        "--train_file",
        "--max_seq_length",
        "--glove",
        "--autotune_seconds",
        "--learning_rate",
        "--save_strategy",
    ],
    "distill": ["--teacher", "--augment_factor", "--distill_alpha", "--max_seq_length", "--num_train_epochs"],
    "teacher": ["--base_model", "--train_file", "--learning_rate"],
    "predict": ["--top_k", "--backend", "--onnx"],
    "export": ["--quantize", "--opset"],
    "push": ["--private", "--token"],
    "quickstart": ["--output_dir"],
}


@pytest.mark.parametrize("command", sorted(HELP_OPTIONS))
def test_every_command_prints_its_help(command, capsys):
    from gru_hf.cli import COMMANDS, main

    assert set(HELP_OPTIONS) == set(COMMANDS)
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    shown = capsys.readouterr().out
    assert f"gru-hf {command}" in shown
    for option in HELP_OPTIONS[command]:
        assert option in shown, option


@needs_script
def test_unknown_command_lists_the_commands_and_fails():
    done = gru_hf_command("trian")
    assert done.returncode == 2
    assert "gru-hf predict MODEL" in done.stdout


@needs_script
def test_predict_onnx_runs_where_torch_cannot_be_imported(tiny_model_dir, tmp_path):
    from gru_hf.onnx import export

    export(tiny_model_dir, quantize="int8")
    expected = pipeline("text-classification", model=str(tiny_model_dir))(["a good film", "boring and bad"])
    env = torch_blocked_env(tmp_path)
    for flag in ("--onnx", "--quantized"):
        texts = ["a good film", "boring and bad"]
        done = gru_hf_command("predict", str(tiny_model_dir), flag, "--jsonl", *texts, env=env)
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        labels = [line.split('"label": "')[1].split('"')[0] for line in done.stdout.splitlines()]
        if flag == "--onnx":
            assert labels == [r["label"] for r in expected]
        assert set(labels) <= {"negative", "positive"}


@needs_script
def test_predict_onnx_without_an_export_names_the_missing_file_and_the_fix(tiny_model_dir, tmp_path):
    env = torch_blocked_env(tmp_path)
    done = gru_hf_command("predict", str(tiny_model_dir), "--quantized", "a good film", env=env)
    assert done.returncode == 2
    graph = os.path.join(str(tiny_model_dir), "onnx", "model_quantized.onnx")
    assert done.stderr.strip() == (
        f"gru-hf predict: error: {graph} does not exist: run `gru-hf export {tiny_model_dir} --quantize int8` first"
    )


def jsonl_records(stdout: str) -> list[dict]:
    import json

    return [json.loads(line) for line in stdout.splitlines()]


@needs_script
def test_predict_runs_a_current_export_by_default_without_torch(tiny_model_dir, tmp_path):
    """After `gru-hf export`, plain `gru-hf predict DIR` (--backend auto) runs the export: no torch, same labels and
    scores as the pipeline."""
    from gru_hf.onnx import export

    texts = ["a good film", "boring and bad", ""]
    expected = pipeline("text-classification", model=str(tiny_model_dir))(texts)
    export(tiny_model_dir)
    done = gru_hf_command("predict", str(tiny_model_dir), "--jsonl", *texts, env=torch_blocked_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    records = jsonl_records(done.stdout)
    assert [r["label"] for r in records] == [e["label"] for e in expected]
    assert [r["score"] for r in records] == pytest.approx([e["score"] for e in expected], abs=1e-5)


@needs_script
def test_predict_never_runs_an_export_older_than_the_weights(tiny_model_dir, tmp_path):
    """Weights saved after the export: `auto` falls back to PyTorch (the new weights' predictions), and `--onnx`
    refuses with the file that changed and the command that fixes it."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from gru_hf.onnx import export

    texts = ["a good film", "boring and bad"]
    export(tiny_model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_model_dir)
    with torch.no_grad():
        model.classifier.bias.copy_(torch.tensor([50.0, -50.0]))  # every text is now "negative"
    model.save_pretrained(tiny_model_dir)
    done = gru_hf_command("predict", str(tiny_model_dir), "--jsonl", *texts)
    assert done.returncode == 0, done.stderr
    assert [r["label"] for r in jsonl_records(done.stdout)] == ["negative", "negative"]
    done = gru_hf_command("predict", str(tiny_model_dir), "--onnx", *texts, env=torch_blocked_env(tmp_path))
    assert done.returncode == 2
    graph = os.path.join(str(tiny_model_dir), "onnx", "model.onnx")
    assert done.stderr.strip() == (
        f"gru-hf predict: error: {graph} is out of date: model.safetensors changed after it was exported; run "
        f"`gru-hf export {tiny_model_dir}` again"
    )
    done = gru_hf_command("predict", str(tiny_model_dir), "--onnx", "--backend", "pytorch", "a text")
    assert done.returncode == 2
    assert "--onnx and --quantized run the ONNX export: they cannot go with --backend pytorch" in done.stderr


@needs_script
def test_predict_prints_only_predictions(tiny_model_dir):
    done = gru_hf_command("predict", str(tiny_model_dir), "a good film")
    assert done.returncode == 0, done.stderr
    label, score, text = done.stdout.rstrip("\n").split("\t")
    assert label in {"negative", "positive"} and 0.5 <= float(score) <= 1 and text == "a good film"
    assert done.stderr == ""  # no "Loading weights" progress bar, no warnings


@needs_script
@pytest.mark.parametrize("backend", ["pytorch", "onnx"])
def test_predict_delivers_every_line_before_the_process_ends(tiny_model_dir, backend):
    """A `gru-hf predict` process ends without the interpreter's teardown: every prediction must still reach the
    pipe (thousands of lines, well past any buffer; stdout block-buffered, as it is by default), the exit status is
    0 and nothing goes to stderr."""
    if backend == "onnx":
        pytest.importorskip("onnxruntime")
        from gru_hf.onnx import export

        export(tiny_model_dir)
    texts = [f"a good film number {i}" if i % 2 else f"bad {i}" for i in range(3000)]
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    done = subprocess.run(
        [SCRIPT, "predict", str(tiny_model_dir), "--backend", backend, "--jsonl"],
        input="\n".join(texts) + "\n",
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert [record["text"] for record in jsonl_records(done.stdout)] == texts


def test_model_type_constant_matches_the_config():
    assert MODEL_TYPE == gru_hf.GRUConfig.model_type


def test_predict_pytorch_gives_the_pipelines_labels_and_scores(tiny_model_dir, capsys):
    """`--backend pytorch` runs the model without transformers' pipelines package; its labels and scores are the
    pipeline's for one label, all labels and texts of any length (empty included), in the caller's order."""
    from gru_hf.cli import main

    texts = ["boring and bad and long and boring", "", "a good film", "bad"]
    classifier = pipeline("text-classification", model=str(tiny_model_dir))
    for top_k, expected in ((1, classifier(texts)), (0, classifier(texts, top_k=None))):
        argv = ["predict", str(tiny_model_dir), "--backend", "pytorch", "--jsonl", "--batch_size", "3"]
        assert main([*argv, "--top_k", str(top_k), *texts]) in (0, None)
        records = jsonl_records(capsys.readouterr().out)
        assert [r["text"] for r in records] == texts
        for record, want in zip(records, expected):
            want = want if isinstance(want, list) else [want]
            got = record.get("labels", [{"label": record["label"], "score": record["score"]}])
            assert [d["label"] for d in got] == [d["label"] for d in want]
            assert [d["score"] for d in got] == pytest.approx([d["score"] for d in want], abs=1e-6)


@pytest.mark.parametrize(
    "model, message",
    [
        ("./no-such-model", "model directory ./no-such-model does not exist"),
        ("outputs/runs/no-such-model", "model directory outputs/runs/no-such-model does not exist"),
        # `name/model` may be a Hub id: tried, and the Hub's reason shortened to one line (tests run offline).
        ("no-such-user/no-such-model", "no-such-user/no-such-model is not a local model directory, and loading it"),
        ("a-file.txt", "a-file.txt is a file, not a model directory"),
    ],
)
@pytest.mark.parametrize("backend", ["auto", "pytorch", "onnx"])
def test_predict_with_a_missing_model_is_one_line(model, message, backend, capsys, monkeypatch, tmp_path):
    from gru_hf.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file.txt").write_text("not a model\n")
    assert main(["predict", model, "--backend", backend, "a text"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gru-hf predict: error: "), err
    if backend == "onnx" and model.startswith("no-such-user"):  # the ONNX runtime reads local directories only
        message = f"model directory {model} does not exist"
    assert message in err


@pytest.mark.parametrize("option, value", [("--top_k", "-1"), ("--batch_size", "0")])
def test_predict_refuses_negative_top_k_and_empty_batches(tiny_model_dir, option, value, capsys):
    from gru_hf.cli import main

    with pytest.raises(SystemExit) as done:
        main(["predict", str(tiny_model_dir), option, value, "a text"])
    assert done.value.code == 2
    assert f"{option} must be" in capsys.readouterr().err


def test_predict_file_with_a_byte_order_mark_and_windows_line_ends(tiny_model_dir, tmp_path, capsys):
    from gru_hf.cli import main

    path = tmp_path / "texts.txt"
    path.write_bytes("\ufeffa good film\r\nbad\r\n".encode())
    assert main(["predict", str(tiny_model_dir), "--backend", "pytorch", "--jsonl", "--file", str(path)]) == 0
    assert [r["text"] for r in jsonl_records(capsys.readouterr().out)] == ["a good film", "bad"]
