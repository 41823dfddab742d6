"""Damaged saved directories: truncated or overwritten weights, broken config fields, a tokenizer larger than the
model's vocabulary. Every path that loads them (from_pretrained, pipeline, `gru-hf predict`, the directory check)
fails with an error that names the file (and field)."""

import json
import os

import pytest
import torch
from conftest import copy_dir, tiny_config
from transformers import AutoModelForSequenceClassification, AutoTokenizer, pipeline

from gru_hf import GRUForSequenceClassification
from gru_hf.cli import main
from gru_hf.hub import check_model_directory, validate_model_directory


def _truncate(fraction):
    def change(path):
        data = (path / "model.safetensors").read_bytes()
        (path / "model.safetensors").write_bytes(data[: int(len(data) * fraction)])

    return change


def _overwrite(offset, payload):
    def change(path):
        data = bytearray((path / "model.safetensors").read_bytes())
        data[offset : offset + len(payload)] = payload
        (path / "model.safetensors").write_bytes(bytes(data))

    return change


WEIGHT_DAMAGE = {
    "missing": lambda path: (path / "model.safetensors").unlink(),
    "empty": _truncate(0.0),
    "truncated_in_header": lambda path: (path / "model.safetensors").write_bytes(
        (path / "model.safetensors").read_bytes()[:20]
    ),
    "truncated_in_data": _truncate(0.6),
    "header_garbage": _overwrite(8, b"\xff" * 32),
    "huge_header_length": _overwrite(0, (2**60).to_bytes(8, "little")),
    "not_safetensors": lambda path: (path / "model.safetensors").write_bytes(b"PK\x03\x04" + os.urandom(2000)),
}


@pytest.mark.parametrize("damage", sorted(WEIGHT_DAMAGE))
def test_damaged_weights_file(model_dir, tmp_path, capsys, damage):
    path = copy_dir(model_dir, tmp_path)
    WEIGHT_DAMAGE[damage](path)
    weights = str(path / "model.safetensors")
    # transformers refuses to load it, in both ways a user loads a model ...
    with pytest.raises(Exception) as auto_error:
        AutoModelForSequenceClassification.from_pretrained(path)
    with pytest.raises(Exception) as pipeline_error:
        pipeline("text-classification", model=str(path))
    if damage == "missing":
        assert isinstance(auto_error.value, OSError) and "model.safetensors" in str(auto_error.value)
        assert "model.safetensors" in str(pipeline_error.value)
    else:  # ... and after `import gru_hf` the error names the file (safetensors' own does not)
        assert isinstance(auto_error.value, OSError), type(auto_error.value)
        assert weights in str(auto_error.value) and "truncated or corrupt" in str(auto_error.value)
        assert weights in str(pipeline_error.value)
    # gru-hf's directory check names the file too, before anything is loaded.
    error = FileNotFoundError if damage == "missing" else ValueError
    with pytest.raises(error, match="model.safetensors"):
        validate_model_directory(path)
    with pytest.raises(error, match="model.safetensors"):
        check_model_directory(path)
    code = main(["predict", str(path), "a good film"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and ("missing model.safetensors" in err[0] or weights in err[0]), err


def _edit_config(**changes):
    def change(path):
        config = json.loads((path / "config.json").read_text())
        config.update(changes)
        (path / "config.json").write_text(json.dumps(config))

    return change


CONFIG_DAMAGE = {
    # name: (change, what transformers' error says, what gru-hf's check says)
    "not_json": (
        lambda p: (p / "config.json").write_text("{not json"),
        "config.json",
        "config.json is not valid JSON",
    ),
    "truncated": (
        lambda p: (p / "config.json").write_text((p / "config.json").read_text()[:40]),
        "config.json",
        "config.json is not valid JSON",
    ),
    "hidden_size_big": (
        _edit_config(hidden_size="big"),
        "GRUConfig.hidden_size must be a positive integer, got 'big'",
        "config.json: GRUConfig.hidden_size must be a positive integer, got 'big'",
    ),
    "pooling_number": (_edit_config(pooling=3), "GRUConfig.pooling must be one of", "config.json: GRUConfig.pooling"),
    "negative_layers": (
        _edit_config(num_hidden_layers=-1),
        "GRUConfig.num_hidden_layers must be a positive integer",
        "config.json: GRUConfig.num_hidden_layers",
    ),
}


@pytest.mark.parametrize("damage", sorted(CONFIG_DAMAGE))
def test_damaged_config_names_the_file_or_field(model_dir, tmp_path, capsys, damage):
    change, transformers_message, check_message = CONFIG_DAMAGE[damage]
    path = copy_dir(model_dir, tmp_path)
    change(path)
    with pytest.raises((OSError, ValueError), match=transformers_message):
        AutoModelForSequenceClassification.from_pretrained(path)
    with pytest.raises((OSError, ValueError), match=transformers_message):
        pipeline("text-classification", model=str(path))
    with pytest.raises(ValueError, match=check_message):
        validate_model_directory(path)
    assert main(["predict", str(path), "a good film"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and check_message in err[0], err


def test_tokenizer_larger_than_the_model_vocabulary(model_dir, tmp_path, capsys):
    """A tokenizer from another training run: loading works, using a token the model lacks is a clear error."""
    path = copy_dir(model_dir, tmp_path)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    small = len(tokenizer) - 10
    torch.manual_seed(0)
    GRUForSequenceClassification(
        tiny_config(vocab_size=small, id2label={0: "negative", 1: "positive"})
    ).save_pretrained(path)
    assert len(AutoTokenizer.from_pretrained(path)) == len(tokenizer)  # loading works
    classifier = pipeline("text-classification", model=str(path))
    known = [w for w, i in tokenizer.get_vocab().items() if i < small]
    assert classifier(" ".join(known))[0]["label"] in {"negative", "positive"}  # low ids are fine
    high = max(tokenizer.get_vocab(), key=tokenizer.get_vocab().get)
    high_id = tokenizer.get_vocab()[high]
    message = rf"token id {high_id}, outside the vocabulary \[0, {small}\): the tokenizer does not match this model"
    with pytest.raises(ValueError, match=message):
        classifier(f"a good {high}")
    with pytest.raises(ValueError, match=message):
        classifier([f"a good {high}"], batch_size=4)
    # gru-hf's directory check finds the mismatch before loading anything.
    with pytest.raises(ValueError, match=f"tokenizer.json has token ids up to {len(tokenizer) - 1}, but .*vocab_size"):
        validate_model_directory(path)
    assert main(["predict", str(path), "a good film"]) == 2
    assert "the tokenizer does not match this model" in capsys.readouterr().err
