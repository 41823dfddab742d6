"""What loading a saved directory may execute: no pickle is ever unpickled (a malicious `pytorch_model.bin` beside or
instead of the safetensors file), and only the model, never the tokenizer, needs `trust_remote_code`."""

import json
import os
import pickle
import subprocess
import sys
import textwrap

import pytest
import torch
from conftest import WITHOUT_GRU_HF, copy_dir, shared_tokenizer
from transformers import AutoModelForSequenceClassification, pipeline

from gru_hf import GRUForSequenceClassification
from gru_hf.cli import main
from gru_hf.hub import check_model_directory


class Unpickled:
    """A pickle payload that creates `MARKER` when (and only when) it is unpickled with plain pickle."""

    marker = None

    def __reduce__(self):
        return (open, (self.marker, "w"))


def write_malicious_bin(path, marker):
    Unpickled.marker = str(marker)
    with open(path / "pytorch_model.bin", "wb") as f:
        pickle.dump({"model.classifier.weight": Unpickled()}, f)


def test_malicious_pickle_payload_works(tmp_path):
    # Proof that the payload used below would be noticed if anything unpickled it.
    write_malicious_bin(tmp_path, tmp_path / "proof")
    with open(tmp_path / "pytorch_model.bin", "rb") as f:
        pickle.load(f)["model.classifier.weight"].close()
    assert (tmp_path / "proof").exists()


def test_pytorch_model_bin_is_never_unpickled_next_to_safetensors(
    model_dir, tmp_path, classifier, monkeypatch, capsys
):
    path = copy_dir(model_dir, tmp_path)
    marker = tmp_path / "UNPICKLED"
    write_malicious_bin(path, marker)
    loads = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    expected = classifier(["a good film", "bad"], top_k=None)
    assert type(AutoModelForSequenceClassification.from_pretrained(path)) is GRUForSequenceClassification
    assert pipeline("text-classification", model=str(path))(["a good film", "bad"], top_k=None) == expected
    check_model_directory(path)
    assert main(["predict", str(path), "a good film"]) == 0
    capsys.readouterr()
    assert not marker.exists() and loads == []


def test_pytorch_model_bin_alone_is_refused(model_dir, tmp_path):
    path = copy_dir(model_dir, tmp_path)
    (path / "model.safetensors").unlink()
    marker = tmp_path / "UNPICKLED"
    write_malicious_bin(path, marker)
    # transformers falls back to the .bin but reads it with torch.load(weights_only=True), which refuses the payload.
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        AutoModelForSequenceClassification.from_pretrained(path)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        pipeline("text-classification", model=str(path))
    with pytest.raises(OSError, match="no file named model.safetensors"):
        AutoModelForSequenceClassification.from_pretrained(path, use_safetensors=True)
    with pytest.raises(FileNotFoundError, match="missing model.safetensors"):
        check_model_directory(path)  # gru-hf predict and push never get as far as loading
    assert not marker.exists()


def test_only_the_model_needs_trust_remote_code(model_dir, tmp_path):
    code = f"""
        import json, sys

        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer, pipeline

        path = {str(model_dir)!r}
        out = {{}}
        tokenizer = AutoTokenizer.from_pretrained(path)  # no trust_remote_code
        out["tokenizer"] = [type(tokenizer).__module__, tokenizer("a good film , zyzzyva")["input_ids"]]
        for name, load in [
            ("config", lambda: AutoConfig.from_pretrained(path)),
            ("model", lambda: AutoModelForSequenceClassification.from_pretrained(path)),
            ("pipeline", lambda: pipeline("text-classification", model=path)),
        ]:
            try:
                out[name] = ["loaded", type(load()).__module__]
            except Exception as err:
                out[name] = [type(err).__name__, str(err)]
        out["modules"] = sorted(m for m in sys.modules if m.startswith(("gru_hf", "transformers_modules")))
        print(json.dumps(out))
    """
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_GRU_HF + textwrap.dedent(code)],
        stdin=subprocess.DEVNULL,  # transformers asks "Do you wish to run the custom code? [y/N]" on a terminal
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout[result.stdout.rindex('{"tokenizer"') :])
    assert out["tokenizer"][0].startswith("transformers.")
    assert out["tokenizer"][1] == shared_tokenizer()("a good film , zyzzyva")["input_ids"]
    for name in ("config", "model", "pipeline"):
        kind, message = out[name]
        assert kind == "ValueError", (name, out[name])
        assert "trust_remote_code=True" in message and "custom code" in message, (name, message)
    assert out["modules"] == []  # no code from the directory was imported
