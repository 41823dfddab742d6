"""gru-hf's training-only options: --class_weight balanced (loss weights from the training split), --word_dropout
(training batches only) and --embedding_learning_rate (its own optimizer parameter groups)."""

import json

import pytest
import torch
from conftest import tiny_args, tiny_config, write_csv

from gru_hf.cli import parse_train_arguments
from gru_hf.modeling_gru import GRUForSequenceClassification
from gru_hf.training import (
    GRUTrainer,
    GRUTrainingArguments,
    apply_word_dropout,
    balanced_class_weights,
    train,
)

TWO_LABELS = {0: "neg", 1: "pos"}


def test_balanced_weights_are_n_samples_over_classes_times_count():
    # 6 texts, 2 classes: 4 of class 0, 2 of class 1, none of any other.
    assert balanced_class_weights([0, 0, 1, 0, 1, 0], 2) == [6 / (2 * 4), 6 / (2 * 2)]
    assert balanced_class_weights([2, 2, 2, 0, 1, 1], 3) == [2.0, 1.0, 2 / 3]


def test_a_class_without_training_texts_is_an_error():
    with pytest.raises(ValueError, match="label 'sport' has no text in the training split"):
        balanced_class_weights([0, 0, 1], 3, {0: "news", 1: "tech", 2: "sport"})


def fixed_batch(tokenizer):
    encoded = tokenizer(["good film", "bad film", "a bad bad movie", "truly good"], padding=True, return_tensors="pt")
    return {**encoded, "labels": torch.tensor([0, 1, 1, 0])}


def trainer_for(model, tmp_path, tokenizer, **args):
    arguments = GRUTrainingArguments(output_dir=str(tmp_path), eval_strategy="no", use_cpu=True, **args)
    return GRUTrainer(model=model, args=arguments, processing_class=tokenizer)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_weighted_loss_is_the_documented_formula(tmp_path, tokenizer, smoothing):
    torch.manual_seed(0)
    model = GRUForSequenceClassification(tiny_config(tokenizer, id2label=TWO_LABELS))
    model.train()  # the weights apply to the training loss
    trainer = trainer_for(model, tmp_path, tokenizer, label_smoothing_factor=smoothing)
    weights = torch.tensor([0.75, 1.5])
    trainer.class_weights = weights
    batch = fixed_batch(tokenizer)
    torch.manual_seed(1)
    loss, outputs = trainer.compute_loss(model, dict(batch), return_outputs=True)
    # sum_i w[y_i] * CE_i / sum_i w[y_i], CE_i smoothed: (1 - e) * -log p[y_i] + e * mean_k -log p[k]
    log_p = torch.log_softmax(outputs.logits, dim=-1)
    y = batch["labels"]
    per_text = (1 - smoothing) * -log_p[torch.arange(4), y] + smoothing * -log_p.mean(dim=-1)
    expected = (weights[y] * per_text).sum() / weights[y].sum()
    torch.testing.assert_close(loss, expected)
    unweighted = per_text.mean()
    assert not torch.isclose(loss, unweighted)  # the labels' weights differ, so the loss does


def test_evaluation_loss_is_unweighted(tmp_path, tokenizer):
    model = GRUForSequenceClassification(tiny_config(tokenizer, id2label=TWO_LABELS)).eval()
    trainer = trainer_for(model, tmp_path, tokenizer)
    batch = fixed_batch(tokenizer)
    plain = trainer.compute_loss(model, dict(batch))
    trainer.class_weights = torch.tensor([0.75, 1.5])
    assert torch.equal(trainer.compute_loss(model, dict(batch)), plain)


def imbalanced_files(tmp_path):
    rows = [("good film", "pos")] * 9 + [("great story", "pos")] * 9 + [("bad film", "neg")] * 6
    return {
        "train": write_csv(tmp_path / "train.csv", rows),
        "test": write_csv(tmp_path / "test.csv", [("good film", "pos"), ("bad film", "neg")]),
    }


def test_class_weights_recorded_in_results_and_model_stays_plain(tmp_path):
    files = imbalanced_files(tmp_path)
    out = tmp_path / "model"
    extra = ("--class_weight", "balanced", "--validation_split_percentage", "25", "--split_seed", "0")
    model_args, data_args, training_args = parse_train_arguments(tiny_args(files, out, *extra))
    results = train(model_args, data_args, training_args)
    saved = json.loads((out / "results.json").read_text())
    # The training split is what remains after carving 25% validation (stratified): count it from the job.
    from gru_hf.data import encode_labels, infer_labels, load_raw_datasets

    raw = load_raw_datasets(data_args)
    labels = infer_labels(raw["train"])
    counts = {name: 0 for name in labels.label2id}
    for value in encode_labels(raw, labels)["train"]["labels"]:
        counts[labels.id2label[value]] += 1
    n = sum(counts.values())
    expected = {name: round(n / (2 * c), 6) for name, c in counts.items()}
    assert saved["class_weights"] == results["class_weights"] == expected
    assert expected["neg"] > expected["pos"]
    config = json.loads((out / "config.json").read_text())
    assert config["architectures"] == ["GRUForSequenceClassification"]
    assert "class_weight" not in json.dumps(config)


def test_class_weight_refuses_multi_label(tmp_path):
    path = tmp_path / "multi.jsonl"
    lines = [json.dumps({"text": f"text {i}", "label": ["a", "b"][: 1 + i % 2]}) for i in range(10)]
    path.write_text("\n".join(lines) + "\n")
    out = tmp_path / "model"
    args = ["--train_file", str(path), "--output_dir", str(out), "--class_weight", "balanced"]
    model_args, data_args, training_args = parse_train_arguments(args)
    with pytest.raises(
        ValueError,
        match="--class_weight balanced needs single-label classification, but the data is multi_label_classification",
    ):
        train(model_args, data_args, training_args)
    assert not (out / "model.safetensors").exists()


def test_unknown_class_weight_is_refused_before_any_work(tmp_path, tiny_files):
    model_args, data_args, training_args = parse_train_arguments(
        tiny_args(tiny_files, tmp_path / "model", "--class_weight", "inverse")
    )
    with pytest.raises(ValueError, match="--class_weight must be one of none, balanced, got 'inverse'"):
        train(model_args, data_args, training_args)


def test_word_dropout_replaces_only_real_tokens():
    ids = torch.tensor([[5, 6, 7, 0, 0], [8, 9, 10, 11, 12]])
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    assert torch.equal(apply_word_dropout(ids, mask, 0.0, 1), ids)
    everything = apply_word_dropout(ids, mask, 1.0 - 1e-9, 1)
    assert torch.equal(everything, torch.where(mask.bool(), torch.ones_like(ids), ids))  # padding stays padding
    generator = torch.Generator().manual_seed(0)
    many = apply_word_dropout(torch.full((200, 50), 7), torch.ones(200, 50, dtype=torch.long), 0.3, 1, generator)
    assert abs((many == 1).float().mean().item() - 0.3) < 0.02


def test_word_dropout_only_in_training_batches(tmp_path, tokenizer):
    model = GRUForSequenceClassification(tiny_config(tokenizer, id2label=TWO_LABELS))
    trainer = trainer_for(model, tmp_path, tokenizer, word_dropout=0.5)
    seen = []
    original = model.forward

    def recording_forward(*args, **kwargs):
        seen.append((model.training, kwargs["input_ids"].clone()))
        return original(*args, **kwargs)

    model.forward = recording_forward
    batch = fixed_batch(tokenizer)
    trainer.create_optimizer()
    trainer.current_gradient_accumulation_steps = 1  # set by the training loop, which this test skips
    torch.manual_seed(0)
    trainer.training_step(model, dict(batch))
    model.eval()  # as the evaluation loop does
    trainer.prediction_step(model, dict(batch), prediction_loss_only=False)
    (train_mode, train_ids), (eval_mode, eval_ids) = seen
    unk = tokenizer.unk_token_id
    assert train_mode and not eval_mode
    assert torch.equal(eval_ids, batch["input_ids"])
    changed = train_ids != batch["input_ids"]
    assert changed.any() and bool((train_ids[changed] == unk).all())
    assert not changed[batch["attention_mask"] == 0].any()


def test_embedding_learning_rate_gets_its_own_parameter_groups(tmp_path, tokenizer):
    model = GRUForSequenceClassification(tiny_config(tokenizer, id2label=TWO_LABELS))
    trainer = trainer_for(model, tmp_path, tokenizer, learning_rate=2e-3, embedding_learning_rate=5e-4)
    optimizer = trainer.create_optimizer()
    embedding = model.get_input_embeddings().weight
    by_rate = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            by_rate.setdefault(group["lr"], set()).add(id(p))
    assert by_rate[5e-4] == {id(embedding)}
    all_params = {id(p) for p in model.parameters() if p.requires_grad}
    assert by_rate[2e-3] == all_params - {id(embedding)}
    scheduler = trainer.create_scheduler(num_training_steps=10, optimizer=optimizer)
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    rates = sorted({g["lr"] for g in optimizer.param_groups})
    assert rates[1] / rates[0] == pytest.approx(4.0)  # the schedule scales both rates alike


def test_default_optimizer_unchanged_without_embedding_rate(tmp_path, tokenizer):
    model = GRUForSequenceClassification(tiny_config(tokenizer, id2label=TWO_LABELS))
    optimizer = trainer_for(model, tmp_path, tokenizer, learning_rate=2e-3).create_optimizer()
    assert {g["lr"] for g in optimizer.param_groups} == {2e-3}
