"""Sharing for real: push to a loopback Hub-compatible server, load back by repo id in fresh processes."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from hub_server import HubServer
from transformers import pipeline

from gru_hf.hub import push_directory

PROBES = ["a good film", "the worst movie , bad bad bad", "", "good acting but a bad plot"]


@pytest.fixture(scope="module")
def server():
    hub = HubServer().start()
    yield hub
    hub.stop()


def client_env(server, home, token="default"):
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGINGFACE_")) and "proxy" not in k.lower()
    }
    env.update(
        HF_ENDPOINT=server.url,
        HF_HOME=str(home),
        HF_HUB_DISABLE_XET="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_OFFLINE="0",
        NO_PROXY="127.0.0.1,localhost",
        TOKENIZERS_PARALLELISM="false",
    )
    if token is not None:
        env["HF_TOKEN"] = server.token if token == "default" else token
    return env


def run(args, env, cwd):
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


LOAD_BACK = """
import json, sys

class NoGruHf:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "gru_hf":
            raise ImportError("gru_hf is not installed here")

sys.meta_path.insert(0, NoGruHf())
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
    env = client_env(server, tmp_path / "home_push")
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
        [sys.executable, "-c", textwrap.dedent(LOAD_BACK), "tester/gru-tiny", json.dumps(PROBES)],
        client_env(server, tmp_path / "home_load"),
        tmp_path,
    )
    assert load.returncode == 0 and "{" in load.stdout, load.stdout[-2000:] + load.stderr[-3000:]
    out = json.loads(load.stdout[load.stdout.rindex('{"logits"') :].strip())
    assert out["module"].startswith("transformers_modules.")
    assert out["scores"] == local_scores(tiny_model_dir)


def test_wrong_token_is_rejected_and_nothing_changes(server, tiny_model_dir, tmp_path):
    commits_before = list(server.commits)
    env = client_env(server, tmp_path / "home", token="hf_wrong")
    push = run([sys.executable, "-m", "gru_hf", "push", str(tiny_model_dir), "tester/gru-denied"], env, tmp_path)
    assert push.returncode == 2
    err = push.stderr.strip().splitlines()
    assert len(err) == 1 and "401" in err[0] and "tester/gru-denied" in err[0], push.stderr
    assert server.commits == commits_before and "tester/gru-denied" not in server.repo_ids()


def test_push_refuses_an_incomplete_directory(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="missing model.safetensors, tokenizer.json"):
        push_directory(tmp_path, "tester/never")
