"""Sharing for real: push to a loopback Hub-compatible server, load back by repo id in fresh processes."""

import json
import subprocess
import sys
import textwrap

import pytest
from conftest import WITHOUT_GRU_HF, tiny_args
from hub_server import HubServer
from transformers import pipeline

from gru_hf.hub import push_directory

PROBES = ["a good film", "the worst movie , bad bad bad", "", "good acting but a bad plot"]


@pytest.fixture(scope="module")
def server():
    hub = HubServer().start()
    yield hub
    hub.stop()


def run(args, env, cwd):
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


LOAD_BACK = """
import json
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

repo, texts = sys.argv[1], json.loads(sys.argv[2])
model = AutoModelForSequenceClassification.from_pretrained(repo, trust_remote_code=True)
tokenizer = AutoTokenizer.from_pretrained(repo)
with torch.no_grad():
    logits = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits.tolist()
classifier = pipeline("text-classification", model=repo, trust_remote_code=True)
scores = [[round(d["score"], 6) for d in sorted(r, key=lambda d: d["label"])] for r in classifier(texts, top_k=None)]
print(json.dumps({"logits": logits, "scores": scores, "module": type(model).__module__}))
"""


def local_scores(path):
    classifier = pipeline("text-classification", model=str(path))
    return [
        [round(d["score"], 6) for d in sorted(r, key=lambda d: d["label"])] for r in classifier(PROBES, top_k=None)
    ]


def test_push_command_then_load_by_repo_id(server, tiny_model_dir, tmp_path):
    (tiny_model_dir / "README.md").write_text("---\nlibrary_name: transformers\n---\n# our card\n")
    (tiny_model_dir / "checkpoint-5").mkdir()
    (tiny_model_dir / "checkpoint-5" / "optimizer.pt").write_bytes(b"not for the hub")
    env = server.client_env(tmp_path / "home_push")
    push = run([sys.executable, "-m", "gru_hf", "push", str(tiny_model_dir), "tester/gru-tiny"], env, tmp_path)
    assert push.returncode == 0, push.stderr[-2000:]
    files = server.files("tester/gru-tiny")
    assert sorted(files) == [
        "README.md",
        "config.json",
        "configuration_gru.py",
        "model.safetensors",
        "modeling_gru.py",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    for name, content in files.items():
        assert content == (tiny_model_dir / name).read_bytes(), name

    load = run(
        [sys.executable, "-c", WITHOUT_GRU_HF + textwrap.dedent(LOAD_BACK), "tester/gru-tiny", json.dumps(PROBES)],
        server.client_env(tmp_path / "home_load"),
        tmp_path,
    )
    assert load.returncode == 0 and "{" in load.stdout, load.stdout[-2000:] + load.stderr[-3000:]
    out = json.loads(load.stdout[load.stdout.rindex('{"logits"') :].strip())
    assert out["module"].startswith("transformers_modules.")
    assert out["scores"] == local_scores(tiny_model_dir)


def test_push_uploads_no_pickle(server, tiny_files, tmp_path):
    from transformers import TrainingArguments

    from gru_hf.cli import train_main

    out = tmp_path / "trained"
    train_main(tiny_args(tiny_files, out, "--num_train_epochs", "1"))
    assert (out / "training_args.bin").is_file()  # the Trainer's pickle
    env = server.client_env(tmp_path / "home_pickle")
    push = run([sys.executable, "-m", "gru_hf", "push", str(out), "tester/gru-nopickle"], env, tmp_path)
    assert push.returncode == 0, push.stderr[-2000:]
    files = server.files("tester/gru-nopickle")
    pickles = [name for name in files if name.endswith((".bin", ".pt", ".pkl", ".pth", ".pickle"))]
    assert pickles == []
    arguments = json.loads(files["training_args.json"])
    assert arguments["output_dir"] == str(out) and arguments["seed"] == 7
    assert arguments["early_stopping_patience"] == 0 and set(TrainingArguments.__dataclass_fields__) <= set(arguments)


def test_wrong_token_is_rejected_and_nothing_changes(server, tiny_model_dir, tmp_path):
    commits_before = list(server.commits)
    env = server.client_env(tmp_path / "home", token="hf_wrong")
    push = run([sys.executable, "-m", "gru_hf", "push", str(tiny_model_dir), "tester/gru-denied"], env, tmp_path)
    assert push.returncode == 2
    err = push.stderr.strip().splitlines()
    assert len(err) == 1 and "401" in err[0] and "tester/gru-denied" in err[0], push.stderr
    assert server.commits == commits_before and "tester/gru-denied" not in server.repo_ids()


def test_push_refuses_an_incomplete_directory(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="missing model.safetensors, tokenizer.json"):
        push_directory(tmp_path, "tester/never")


def test_push_with_the_hub_switched_off_is_one_line_before_any_work(tiny_model_dir, tiny_files, tmp_path, capsys):
    from gru_hf.cli import main

    assert main(["push", str(tiny_model_dir), "tester/never"]) == 2  # the tests run with HF_HUB_OFFLINE=1
    message = "the Hugging Face Hub is switched off (HF_HUB_OFFLINE=1): unset it to push"
    assert capsys.readouterr().err.splitlines() == [
        f"gru-hf push: error: gru-hf push: {message}, or push the saved directory later with `gru-hf push DIR REPO_ID`"
    ]
    out = tmp_path / "never-trained"
    assert main(["train", *tiny_args(tiny_files, out, "--push_to_hub", "true", "--hub_model_id", "tester/x")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"gru-hf train: error: --push_to_hub: {message}, or push the saved directory later with `gru-hf push DIR "
        "REPO_ID`"
    ]
    assert not out.exists()


def test_train_with_push_to_hub_uploads_our_card(server, tiny_files, tmp_path):
    out = tmp_path / "trained"
    env = server.client_env(tmp_path / "home_train")
    args = tiny_args(tiny_files, out, "--push_to_hub", "true", "--hub_model_id", "tester/gru-trained")
    result = run([sys.executable, "-m", "gru_hf", "train", *args], env, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    files = server.files("tester/gru-trained")
    assert {"config.json", "model.safetensors", "tokenizer.json", "modeling_gru.py", "README.md"} <= set(files)
    assert not any(name.startswith("checkpoint-") for name in files)
    assert files["README.md"] == (out / "README.md").read_bytes()  # gru-hf's card, not the Trainer's generic one
    card = files["README.md"].decode()
    assert "model-index" in card and "tester/gru-trained" in card and "Training log" in card
