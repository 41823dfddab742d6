"""Training only the embedding rows that the training split looks up: the same model, cheaper steps."""

import logging
import os

import pytest
import torch
from conftest import tiny_args
from datasets import Dataset, IterableDataset
from safetensors.torch import load_file
from test_training import CrashAtStep, run
from torch import nn

from gru_hf.cli import parse_train_arguments
from gru_hf.embedding_rows import TrainedRowsEmbedding, looked_up_rows
from gru_hf.training import GRUTrainer, train


def test_looked_up_rows_reads_the_whole_table():
    data = Dataset.from_dict({"input_ids": [[1, 5, 2], [3], []], "label": [0, 1, 0]})
    assert looked_up_rows(data) == 6
    # A selection may keep in its table rows that it left out: then more rows are trained, never fewer.
    assert looked_up_rows(data.select([1])) in (4, 6) and looked_up_rows(data.select([2, 0])) == 6
    assert looked_up_rows(Dataset.from_dict({"input_ids": [[], []]})) is None
    assert looked_up_rows(Dataset.from_dict({"text": ["a"]})) is None
    assert looked_up_rows(Dataset.from_dict({"input_ids": [1, 2]})) is None  # not lists of ids
    assert looked_up_rows(IterableDataset.from_generator(lambda: iter([{"input_ids": [1]}]))) is None


def test_trained_rows_reach_the_embedding():
    torch.manual_seed(0)
    embedding = nn.Embedding(6, 3, padding_idx=0)
    original = embedding.weight.detach().clone()
    trained = TrainedRowsEmbedding(embedding, rows=4)
    assert [name for name, _ in trained.named_parameters()] == ["weight"] and trained.weight.shape == (4, 3)
    ids = torch.tensor([[1, 3, 0], [2, 2, 3]])
    assert torch.equal(trained.train()(ids), embedding(ids))
    trained(ids).sum().backward()
    assert trained.weight.grad.shape == (4, 3) and not trained.weight.grad[0].any()  # the padding row stays
    with torch.no_grad():
        trained.weight[1] += 1.0  # an optimizer step
    assert torch.equal(trained.state_dict()["weight"][1], original[1] + 1.0)
    with torch.no_grad():
        trained.weight[2] += 1.0
    # Evaluation reads the whole table, the trained rows as they are now included; training mode cannot.
    assert torch.equal(trained.eval()(torch.tensor([2, 5])), torch.stack([original[2] + 1.0, original[5]]))
    assert torch.equal(embedding.weight[:3], torch.stack([original[0], original[1] + 1.0, original[2] + 1.0]))
    with pytest.raises(IndexError):
        trained.train()(torch.tensor([5]))
    with pytest.raises(ValueError, match="rows must be between 1 and 6, got 7"):
        TrainedRowsEmbedding(embedding, rows=7)


def test_trained_rows_state_dict_is_the_whole_table():
    embedding = nn.Embedding(6, 3)
    trained = TrainedRowsEmbedding(embedding, rows=2)
    assert list(trained.state_dict()) == ["weight"] and torch.equal(trained.state_dict()["weight"], embedding.weight)
    new = torch.arange(18.0).view(6, 3)
    trained.load_state_dict({"weight": new})
    assert torch.equal(embedding.weight, new) and torch.equal(trained.weight, new[:2])
    with pytest.raises(RuntimeError, match=r"size mismatch for weight: copying a param with shape \(5, 3\)"):
        trained.load_state_dict({"weight": torch.zeros(5, 3)})
    with pytest.raises(RuntimeError, match="Missing key"):
        trained.load_state_dict({})
    assert torch.equal(embedding.weight, new)  # a refused load changes nothing


@pytest.fixture
def vectors_file(tmp_path):
    """Vectors for 4 training words and 4 that the tiny training texts never hold."""
    words = ["good", "bad", "film", "story", "superb", "dreadful", "zebra", "awful-ish"]
    path = tmp_path / "vectors.txt"
    lines = [f"{w} {' '.join(f'{((i * 7 + j) % 9) / 9 - 0.4:.3f}' for j in range(8))}\n" for i, w in enumerate(words)]
    path.write_text("".join(lines), encoding="utf-8")
    return str(path)


def test_training_the_looked_up_rows_gives_the_same_model(tmp_path, tiny_files, vectors_file, monkeypatch, caplog):
    # Clipping at 0.01 bites at every step: the gradient norm must not see the rows' absence either.
    extra = ("--glove", vectors_file, "--glove_extra_words", "3", "--max_grad_norm", "0.01", "--export_onnx", "false")
    extra += ("--save_total_limit", "9")  # checkpoint-5 (the first epoch's) is kept
    with caplog.at_level(logging.INFO, logger="gru_hf.training"):
        held = run(tiny_args(tiny_files, tmp_path / "held", *extra))
    assert "Training 17 of the 20 embedding rows: no training text looks up the others" in caplog.text
    # The checkpoints hold the whole table under its usual name, and the optimizer only the trained rows.
    checkpoint = tmp_path / "held" / "checkpoint-5"
    assert load_file(checkpoint / "model.safetensors")["model.embeddings.weight"].shape == (20, 8)
    moments = torch.load(checkpoint / "optimizer.pt", weights_only=True)["state"]
    shapes = {tuple(state["exp_avg"].shape) for state in moments.values()}
    assert (17, 8) in shapes and (20, 8) not in shapes

    monkeypatch.setattr(GRUTrainer, "train_looked_up_rows_only", False)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="gru_hf.training"):
        whole = run(tiny_args(tiny_files, tmp_path / "whole", *extra))
    assert "embedding rows" not in caplog.text
    for key in ("test_loss", "test_accuracy", "test_f1_macro"):
        assert held["test"][key] == whole["test"][key], key
    a, b = load_file(tmp_path / "held" / "model.safetensors"), load_file(tmp_path / "whole" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("crashed_with_every_row", [False, True])
def test_resume_with_trained_rows_matches_uninterrupted_run(
    tmp_path, tiny_files, vectors_file, monkeypatch, caplog, crashed_with_every_row
):
    """A checkpoint whose optimizer moments cover the whole table (saved while every row trained, by an earlier
    gru-hf) resumes with every row; one saved with the looked-up rows, with them. The foreach AdamW refuses moments
    of another shape (the fused one reads them unchecked)."""
    extra = ("--glove", vectors_file, "--glove_extra_words", "3", "--export_onnx", "false", "--optim", "adamw_torch")
    full = run(tiny_args(tiny_files, tmp_path / "full", *extra))
    crashed = tmp_path / "crashed"
    monkeypatch.setattr(GRUTrainer, "train_looked_up_rows_only", not crashed_with_every_row)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train(*parse_train_arguments(tiny_args(tiny_files, crashed, *extra)), callbacks=[CrashAtStep(7)])
    assert [name for name in os.listdir(crashed) if name.startswith("checkpoint-")] == ["checkpoint-5"]
    monkeypatch.setattr(GRUTrainer, "train_looked_up_rows_only", True)
    with caplog.at_level(logging.INFO, logger="gru_hf.training"):
        resumed = run(tiny_args(tiny_files, crashed, *extra, "--resume_from_checkpoint", "true"))
    assert ("embedding rows: no training text looks up the others" in caplog.text) is not crashed_with_every_row
    assert resumed["test"]["test_loss"] == pytest.approx(full["test"]["test_loss"], abs=1e-6)
    a, b = load_file(tmp_path / "full" / "model.safetensors"), load_file(crashed / "model.safetensors")
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_weight_decay_trains_every_row(tmp_path, tiny_files, vectors_file, caplog):
    # AdamW's decay shrinks the rows no text looks up too, so they stay in the optimizer.
    extra = ("--glove", vectors_file, "--glove_extra_words", "3", "--weight_decay", "0.5", "--export_onnx", "false")
    with caplog.at_level(logging.INFO, logger="gru_hf.training"):
        run(tiny_args(tiny_files, tmp_path / "model", *extra))
    assert "embedding rows" not in caplog.text
    saved = load_file(tmp_path / "model" / "model.safetensors")["model.embeddings.weight"]
    pretrained = torch.tensor([((4 * 7 + j) % 9) / 9 - 0.4 for j in range(8)])  # "superb", never in training
    assert saved[-3].abs().sum() < pretrained.abs().sum()


def test_the_model_gets_its_embedding_back_and_trains_again(tmp_path):
    from transformers import TrainingArguments

    from gru_hf import GRUConfig, GRUForSequenceClassification

    torch.manual_seed(0)
    config = GRUConfig(vocab_size=12, embedding_dim=4, hidden_size=4, num_labels=2)
    model = GRUForSequenceClassification(config)
    embedding = model.get_input_embeddings()
    before = embedding.weight.detach().clone()
    data = Dataset.from_dict({"input_ids": [[1, 2, 3], [4, 5, 1], [2, 6, 7]] * 4, "labels": [0, 1, 0] * 4})
    args = TrainingArguments(
        tmp_path,
        num_train_epochs=1,
        per_device_train_batch_size=4,
        learning_rate=0.1,
        report_to=[],
        save_strategy="no",
        disable_tqdm=True,
    )
    trainer = GRUTrainer(model=model, args=args, train_dataset=data)
    trainer.train()
    assert model.get_input_embeddings() is embedding and trainer.optimizer is None
    trained = embedding.weight.detach().clone()
    assert not torch.equal(trained[1:8], before[1:8]) and torch.equal(trained[8:], before[8:])
    trainer.train()  # a new optimizer for the model's own parameters
    assert not torch.equal(embedding.weight[1:8], trained[1:8]) and torch.equal(embedding.weight[8:], before[8:])
