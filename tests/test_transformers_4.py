"""The transformers 4.x promise: a directory saved by gru-hf under transformers 5.x loads under transformers 4.57
with `trust_remote_code=True`, in a process that cannot import gru_hf, and gives the same logits (1e-6).

The 4.57 environment is a virtual environment that sees this one's packages (torch 2.13.0 CPU, as CI installs it)
with transformers 4.57 and its huggingface_hub installed over them. It is built once per machine (about 15 s) in
`$GRU_HF_TEST_CACHE` (default `~/.cache/gru-hf-tests`). Where it cannot be built (no package registry), the test
skips and says why; it never passes without running."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from conftest import WITHOUT_GRU_HF
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

TRANSFORMERS_4 = "transformers==4.57.*"
TEXTS = ["a good film", "the worst movie , bad bad bad", "", "zyzzyva qwxq !"]


def transformers_4_python() -> str:
    root = os.environ.get("GRU_HF_TEST_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "gru-hf-tests")
    venv = os.path.join(root, "venv-transformers-4.57")
    python = os.path.join(venv, "bin", "python")
    probe = [python, "-c", "import transformers, torch; assert transformers.__version__.startswith('4.57')"]
    if os.path.exists(python) and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    steps = [
        [sys.executable, "-m", "venv", "--clear", "--system-site-packages", venv],
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", TRANSFORMERS_4],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            pytest.skip(f"cannot build a {TRANSFORMERS_4} environment ({' '.join(step[:4])}...): {last}")
    return python


@pytest.mark.slow
def test_transformers_4_57_loads_the_saved_directory_with_the_same_logits(model_dir, tmp_path):
    python = transformers_4_python()
    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    with torch.no_grad():
        expected = model(**tokenizer(TEXTS, padding=True, return_tensors="pt")).logits.tolist()
    expected_scores = pipeline("text-classification", model=str(model_dir))(TEXTS, top_k=None)

    code = f"""
        import json

        import torch
        import transformers
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, pipeline

        path, texts = {str(model_dir)!r}, {TEXTS!r}
        config = AutoConfig.from_pretrained(path, trust_remote_code=True)
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=True)
        model = AutoModelForSequenceClassification.from_pretrained(path, trust_remote_code=True).eval()
        with torch.no_grad():
            logits = model(**tokenizer(texts, padding=True, return_tensors="pt")).logits.tolist()
        classifier = pipeline("text-classification", model=path, trust_remote_code=True)
        print(json.dumps({{
            "version": transformers.__version__,
            "config": type(config).__module__,
            "model": type(model).__module__,
            "logits": logits,
            "pipeline": classifier(texts, top_k=None),
        }}))
    """
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [python, "-c", WITHOUT_GRU_HF + textwrap.dedent(code)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout[done.stdout.rindex('{"version"') :])
    assert out["version"].startswith("4.57.")
    assert out["config"].startswith("transformers_modules.") and out["model"].startswith("transformers_modules.")
    torch.testing.assert_close(torch.tensor(out["logits"]), torch.tensor(expected), rtol=0, atol=1e-6)
    for got, want in zip(out["pipeline"], expected_scores):
        assert [d["label"] for d in got] == [d["label"] for d in want]
        torch.testing.assert_close(
            torch.tensor([d["score"] for d in got]), torch.tensor([d["score"] for d in want]), rtol=0, atol=1e-6
        )
