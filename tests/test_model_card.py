"""Tests of the Hub model card: front matter, body sections, plots, and the cards of every problem type."""

import dataclasses
import sys

import conftest
import pytest
import torch
import yaml

from gru_hf.configuration_gru import GRUConfig
from gru_hf.model_card import (
    Confusion,
    DatasetFacts,
    GRUModelCardData,
    ModelCardCallback,
    SearchFacts,
    SearchTrial,
    TeacherFacts,
    VectorsFacts,
    plot_confusion_matrix,
    plot_training_curves,
    write_model_card,
)
from gru_hf.vectors import VectorCoverage

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
LABELS = ["business", "entertainment", "politics", "sport", "tech"]


def log_history():
    """A Trainer log of two epochs: two loss entries and one evaluation per epoch, then the final summary."""
    history = []
    for epoch, (loss_a, loss_b, eval_loss, acc, f1) in enumerate(
        [(1.61, 1.2, 0.91, 0.7011, 0.6543), (0.72, 0.41, 0.35, 0.9438, 0.9401)], start=1
    ):
        step = epoch * 100
        history.append({"loss": loss_a, "learning_rate": 1e-3, "epoch": epoch - 0.5, "step": step - 50})
        history.append({"loss": loss_b, "learning_rate": 1e-3, "epoch": float(epoch), "step": step})
        history.append(
            {
                "eval_loss": eval_loss,
                "eval_accuracy": acc,
                "eval_f1_macro": f1,
                "eval_runtime": 0.5,
                "eval_samples_per_second": 900.0,
                "eval_steps_per_second": 30.0,
                "epoch": float(epoch),
                "step": step,
            }
        )
    history.append({"train_runtime": 61.5, "train_loss": 0.9, "epoch": 2.0, "step": 200})
    return history


def single_label_card(**overrides):
    card = GRUModelCardData(
        model_name="gru-hf-bbc-news",
        config=GRUConfig(
            vocab_size=20000,
            embedding_dim=50,
            hidden_size=128,
            pooling="max",
            id2label=dict(enumerate(LABELS)),
            problem_type="single_label_classification",
        ),
        dataset=DatasetFacts(
            name="bbc_news",
            splits={"train": 1557, "validation": 334, "test": 334},
            text_column="text",
            label_column="label",
        ),
        test_metrics={"accuracy": 0.9731, "f1_macro": 0.96217},
        validation_metrics={"accuracy": 0.9438, "f1_macro": 0.9401},
        hyperparameters={
            "training": {"learning_rate": 0.001, "num_train_epochs": 2.0, "per_device_train_batch_size": 32},
            "tokenizer": {"vocab_size": 20000, "min_frequency": 2, "lowercase": False, "max_seq_length": 512},
        },
        non_default_hyperparameters={"learning_rate": 0.001, "num_train_epochs": 2.0, "glove": "6B.50d"},
        vectors=VectorsFacts(
            coverage=VectorCoverage(
                vocab_size=20000,
                found_exact=15234,
                found_lower=2101,
                missing=2665,
                token_coverage=0.9812,
                source="glove.6B.50d.txt",
                dim=50,
            ),
            frozen=False,
        ),
        log_history=log_history(),
        confusion=Confusion(
            labels=LABELS,
            y_true=[0, 0, 1, 2, 2, 3, 3, 4, 4, 4],
            y_pred=[0, 1, 1, 2, 2, 3, 3, 4, 4, 0],
        ),
        num_parameters=1234567,
        train_runtime_s=61.5,
        hardware="2 CPU cores (Intel Xeon)",
        command="gru-hf train --glove 6B.50d --num_train_epochs 2",
        hub_model_id="user/gru-hf-bbc-news",
        license="apache-2.0",
    )
    return dataclasses.replace(card, **overrides)


def with_config(card, **changes):
    """The card with its config's `problem_type` / `id2label` changed."""
    return dataclasses.replace(card, config=GRUConfig(**{**card.config.to_dict(), **changes}))


def split_card(path):
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    front, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(front), body


def test_front_matter(tmp_path):
    card = single_label_card()
    card.dataset.hub_id = "SetFit/bbc-news"
    metadata, _ = split_card(write_model_card(tmp_path, card))
    assert set(metadata) == {"library_name", "pipeline_tag", "tags", "license", "datasets", "metrics", "model-index"}
    assert metadata["library_name"] == "transformers"
    assert metadata["pipeline_tag"] == "text-classification"
    assert metadata["tags"] == ["gru-hf", "gru", "text-classification"]
    assert metadata["license"] == "apache-2.0"
    assert metadata["datasets"] == ["SetFit/bbc-news"]
    assert metadata["metrics"] == ["accuracy", "f1"]
    [entry] = metadata["model-index"]
    assert entry["name"] == "user/gru-hf-bbc-news"
    [result] = entry["results"]
    assert result["task"] == {"type": "text-classification", "name": "Text Classification"}
    assert result["dataset"] == {"name": "bbc_news", "type": "SetFit/bbc-news", "split": "test"}
    assert result["metrics"] == [
        {"type": "accuracy", "value": 0.9731, "name": "Accuracy"},
        {"type": "f1", "value": 0.96217, "name": "F1 (macro)", "args": {"average": "macro"}},
    ]


def test_front_matter_without_hub_dataset_or_license(tmp_path):
    card = single_label_card(license=None)
    card.dataset.config = "default"
    metadata, body = split_card(write_model_card(tmp_path, card))
    assert "datasets" not in metadata and "license" not in metadata
    dataset = metadata["model-index"][0]["results"][0]["dataset"]
    assert dataset == {"name": "bbc_news", "type": "bbc_news", "config": "default", "split": "test"}
    assert "<!-- - **License:** Unknown -->" in body


def test_vectors_line_counts_words_not_special_tokens(tmp_path):
    card = single_label_card()
    card.vectors.coverage = dataclasses.replace(card.vectors.coverage, special=2)  # [PAD] and [UNK]: never looked up
    _, body = split_card(write_model_card(tmp_path, card))
    assert "of the 19,998 vocabulary words, 15,234 found exactly, 2,101 lower-cased, 2,663 missing" in body


def test_validation_column_says_which_model_it_scores(tmp_path):
    card = single_label_card()
    card.hyperparameters = {"training": {"load_best_model_at_end": True}}
    assert (
        "| Metric | Test (334 texts) | Validation (best checkpoint) |"
        in split_card(write_model_card(tmp_path, card))[1]
    )
    card.hyperparameters = {"training": {"load_best_model_at_end": False}}  # e.g. --save_strategy no
    assert (
        "| Metric | Test (334 texts) | Validation (final model) |" in split_card(write_model_card(tmp_path, card))[1]
    )


def test_body(tmp_path):
    _, body = split_card(write_model_card(tmp_path, single_label_card()))
    # Description and architecture.
    assert "# user/gru-hf-bbc-news" in body
    architecture = "1-layer bidirectional GRU, 128 units per direction, max pooling, 50-d embeddings"
    assert architecture + " (GloVe 6B 50d init)" in body
    assert "1,234,567 parameters" in body
    # Usage.
    assert 'pipeline("text-classification", model="user/gru-hf-bbc-news", trust_remote_code=True)' in body
    assert 'AutoTokenizer.from_pretrained("user/gru-hf-bbc-news", trust_remote_code=True)' in body
    assert 'AutoModelForSequenceClassification.from_pretrained("user/gru-hf-bbc-news", trust_remote_code=True)' in body
    assert "import gru_hf" in body
    # Evaluation: test and validation, 4 decimals.
    assert "| Accuracy | 0.9731 | 0.9438 |" in body
    assert "| F1 (macro) | 0.9622 | 0.9401 |" in body
    # Training: data sizes, hyperparameters, GloVe coverage, log, time.
    assert "| train | 1,557 |" in body
    assert "| `learning_rate` | `0.001` |" in body
    assert "| `glove` | `6B.50d` |" in body
    assert "<details><summary>All hyperparameters</summary>" in body
    assert "| `per_device_train_batch_size` | `32` |" in body.split("<details>", 1)[1]
    assert "15,234 found exactly, 2,101 lower-cased, 2,665 missing" in body
    assert "token coverage 98.12%" in body
    assert "| Epoch | Step | Training Loss | Validation Loss | Validation Accuracy | Validation F1 (macro) |" in body
    assert "| 1 | 100 | 1.2000 | 0.9100 | 0.7011 | 0.6543 |" in body
    assert "| 2 | 200 | 0.4100 | 0.3500 | 0.9438 | 0.9401 |" in body
    assert "gru-hf train --glove 6B.50d --num_train_epochs 2" in body
    assert "1 min 02 s" in body and "2 CPU cores (Intel Xeon)" in body
    # Versions and security.
    for name in ("Python", "gru_hf", "torch", "transformers", "tokenizers", "datasets", "accelerate", "evaluate"):
        assert f"- {name}: " in body
    assert "`configuration_gru.py`" in body and "`modeling_gru.py`" in body


def test_no_glove_and_missing_facts(tmp_path):
    config = GRUConfig(problem_type="single_label_classification", id2label={0: "a", 1: "b"})
    metadata, body = split_card(write_model_card(tmp_path, GRUModelCardData(model_name="gru-hf-mine", config=config)))
    assert set(metadata) == {"library_name", "pipeline_tag", "tags"}
    assert "GloVe" not in body and "Pretrained vectors" not in body
    assert 'model="gru-hf-mine"' in body
    assert "<!-- - **Hardware:** Unknown -->" in body
    assert "<!-- No evaluation metrics were recorded. -->" in body
    assert "matplotlib" not in body  # nothing to draw, so no note either
    assert not list(tmp_path.glob("*.png"))


def test_plots_embedded(tmp_path):
    pytest.importorskip("matplotlib")
    _, body = split_card(write_model_card(tmp_path, single_label_card()))
    assert "![Confusion matrix on the test split](confusion_matrix.png)" in body
    assert "(training_curves.png)" in body
    for name in ("confusion_matrix.png", "training_curves.png"):
        data = (tmp_path / name).read_bytes()
        assert data.startswith(PNG_MAGIC)
        assert len(data) < 200_000


def test_plot_functions(tmp_path):
    pytest.importorskip("matplotlib")
    assert plot_training_curves(log_history(), tmp_path / "curves.png")
    assert plot_confusion_matrix(["x", "y"], [0, 1, 1], [0, 1, 0], tmp_path / "cm.png")
    assert (tmp_path / "curves.png").read_bytes().startswith(PNG_MAGIC)
    assert (tmp_path / "cm.png").read_bytes().startswith(PNG_MAGIC)
    assert not plot_training_curves([], tmp_path / "empty.png")
    assert not (tmp_path / "empty.png").exists()
    with pytest.raises(ValueError):
        plot_confusion_matrix(["x", "y"], [0, 2], [0, 1], tmp_path / "bad.png")


def test_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert not plot_training_curves(log_history(), tmp_path / "curves.png")
    assert not plot_confusion_matrix(LABELS, [0], [0], tmp_path / "cm.png")
    _, body = split_card(write_model_card(tmp_path, single_label_card()))
    assert "matplotlib is not installed" in body
    assert ".png)" not in body
    assert not list(tmp_path.glob("*.png"))
    assert "| 2 | 200 | 0.4100 | 0.3500 | 0.9438 | 0.9401 |" in body  # the log table needs no matplotlib


def test_regression(tmp_path):
    history = [
        {"loss": 2.5, "epoch": 1.0, "step": 10},
        {"eval_loss": 1.5, "eval_mse": 1.5, "eval_rmse": 1.2247, "eval_pearsonr": 0.61, "epoch": 1.0, "step": 10},
    ]
    card = single_label_card(
        test_metrics={"mse": 1.4, "rmse": 1.1832, "pearsonr": 0.63},
        validation_metrics={"mse": 1.5, "rmse": 1.2247, "pearsonr": 0.61},
        log_history=history,
        confusion=None,
        vectors=None,
    )
    card = with_config(card, problem_type="regression", id2label={0: "LABEL_0"})
    metadata, body = split_card(write_model_card(tmp_path, card))
    assert metadata["metrics"] == ["mse", "rmse", "pearsonr"]
    metrics = metadata["model-index"][0]["results"][0]["metrics"]
    assert [(m["type"], m["value"]) for m in metrics] == [("mse", 1.4), ("rmse", 1.1832), ("pearsonr", 0.63)]
    assert "regression head" in body and 'function_to_apply="none"' in body
    assert "| Pearson r | 0.6300 | 0.6100 |" in body
    assert "| 1 | 10 | 2.5000 | 1.5000 | 1.5000 | 1.2247 | 0.6100 |" in body
    assert "confusion_matrix.png" not in body and not (tmp_path / "confusion_matrix.png").exists()
    assert "Pretrained vectors" not in body


def test_multi_label(tmp_path):
    card = single_label_card(
        test_metrics={"f1_micro": 0.81, "f1_macro": 0.7512, "accuracy": 0.55},
        validation_metrics={},
        confusion=Confusion(labels=LABELS, y_true=[0], y_pred=[0]),  # ignored: no confusion matrix for multi-label
    )
    card = with_config(card, problem_type="multi_label_classification")
    metadata, body = split_card(write_model_card(tmp_path, card))
    assert metadata["metrics"] == ["f1", "accuracy"]
    metrics = metadata["model-index"][0]["results"][0]["metrics"]
    assert metrics[0] == {"type": "f1", "value": 0.81, "name": "F1 (micro)", "args": {"average": "micro"}}
    assert "top_k=None" in body and "sigmoid" in body
    assert "| F1 (micro) | 0.8100 | - |" in body
    assert not (tmp_path / "confusion_matrix.png").exists()


def test_requires_core_facts(tmp_path):
    with pytest.raises(ValueError, match="problem_type"):
        write_model_card(tmp_path, GRUModelCardData(model_name="m", config=GRUConfig(id2label={0: "a"})))


def test_teacher_and_search_sections(tmp_path):
    teacher = TeacherFacts(
        name="bert-base-uncased-bbc",
        test_metrics={"accuracy": 0.9820, "f1_macro": 0.9811},
        agreement=0.9612,
        transfer_set_size=25000,
        speedup=41.37,
    )
    search = SearchFacts(
        metric="eval_f1_macro",
        direction="maximize",
        trials=[
            SearchTrial(0, {"learning_rate": 0.002, "hidden_size": 128}, 0.91),
            SearchTrial(1, {"learning_rate": 0.01, "hidden_size": 256}, 0.9342),
            SearchTrial(2, {"learning_rate": 0.1, "hidden_size": 64}, None),
        ],
        chosen={"learning_rate": 0.01, "hidden_size": 256},
    )
    _, body = split_card(write_model_card(tmp_path, single_label_card(teacher=teacher, search=search)))
    assert "## Distillation" in body
    assert "Distilled from the teacher `bert-base-uncased-bbc` on a transfer set of 25,000 texts." in body
    assert "- **Agreement with the teacher on the test split:** 96.12%" in body
    assert "- **Speed-up over the teacher:** 41.4x" in body
    assert "| Metric | Teacher (test) | This model (test) |" in body
    assert "| Accuracy | 0.9820 | 0.9731 |" in body
    assert "## Hyperparameter search" in body
    assert "3 trials (2 completed), maximising `eval_f1_macro`; best score 0.9342." in body
    chosen = body.split("Chosen values:", 1)[1].split("<details>", 1)[0]
    assert "| `learning_rate` | `0.01` |" in chosen and "| `hidden_size` | `256` |" in chosen
    assert "| Trial | Score | `learning_rate` | `hidden_size` |" in body
    assert "| 2 | - | `0.1` | `64` |" in body
    # The sections sit between the evaluation and the training sections.
    assert body.index("## Evaluation") < body.index("## Distillation") < body.index("## Hyperparameter search")
    assert body.index("## Hyperparameter search") < body.index("## Training")
    # Data without a test split: the facts were measured on validation, and the card says so.
    teacher.split = "validation"
    card = single_label_card(teacher=teacher, test_metrics={})
    _, body = split_card(write_model_card(tmp_path / "no-test", card))
    assert "- **Agreement with the teacher on the validation split:** 96.12%" in body
    assert "| Metric | Teacher (validation) | This model (validation) |" in body
    assert f"| Accuracy | 0.9820 | {card.validation_metrics['accuracy']:.4f} |" in body

    _, plain = split_card(write_model_card(tmp_path / "plain", single_label_card()))
    assert "Distillation" not in plain and "Hyperparameter search" not in plain and "teacher" not in plain


def test_search_minimising_best_score():
    trials = [SearchTrial(0, {"x": 1}, 0.5), SearchTrial(1, {"x": 2}, 0.25), SearchTrial(2, {"x": 3}, None)]
    assert SearchFacts("eval_mse", "minimize", trials, {"x": 2}).best_score == 0.25
    assert SearchFacts("eval_f1", "maximize", trials, {"x": 1}).best_score == 0.5
    assert SearchFacts("eval_f1", "maximize", trials[2:], {}).best_score is None


def tiny_trainer(tmp_path, card, tokenizer, **overrides):
    from datasets import Dataset
    from transformers import DataCollatorWithPadding

    from gru_hf.metrics import build_compute_metrics
    from gru_hf.modeling_gru import GRUForSequenceClassification
    from gru_hf.training import GRUTrainer, GRUTrainingArguments, ModelArguments

    texts, labels = conftest.TEXTS, conftest.LABELS
    dataset = Dataset.from_dict({"text": texts, "label": labels}).map(
        lambda batch: tokenizer(batch["text"], truncation=True), batched=True, remove_columns=["text"]
    )
    config = conftest.tiny_config(tokenizer, id2label={0: "neg", 1: "pos"}, problem_type="single_label_classification")
    values = dict(
        output_dir=str(tmp_path / "out"),
        num_train_epochs=2,
        per_device_train_batch_size=4,
        learning_rate=0.01,
        save_strategy="no",
        load_best_model_at_end=False,
        metric_for_best_model="f1_macro",
        logging_steps=1,
        disable_tqdm=True,
        use_cpu=True,
        report_to="none",
    )
    args = GRUTrainingArguments(**{**values, **overrides})
    torch.manual_seed(0)
    callback = ModelCardCallback(card, ModelArguments(hidden_size=12, lowercase=False))
    return GRUTrainer(
        model=GRUForSequenceClassification(config),
        args=args,
        train_dataset=dataset,
        eval_dataset=dataset,
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=build_compute_metrics("single_label_classification", 2),
        callbacks=[callback],
    )


def test_callback_fills_the_training_facts(tmp_path, tokenizer):
    card = GRUModelCardData(model_name="tiny")
    trainer = tiny_trainer(tmp_path, card, tokenizer)
    # When the Trainer is built: config, parameters, hyperparameters, the changed ones.
    assert card.config is trainer.model.config
    assert card.num_parameters == sum(p.numel() for p in trainer.model.parameters())
    assert card.hyperparameters["training"]["learning_rate"] == 0.01
    assert card.hyperparameters["tokenizer"] == {
        "vocab_size": 30000,
        "min_frequency": 2,
        "lowercase": False,
        "max_seq_length": 512,
    }
    assert not any("token" in key for key in card.hyperparameters["training"])  # hub_token never reaches a card
    changed = card.non_default_hyperparameters
    assert changed["learning_rate"] == 0.01 and changed["num_train_epochs"] == 2
    assert changed["hidden_size"] == 12 and changed["lowercase"] is False
    assert "per_device_eval_batch_size" not in changed and "output_dir" not in changed
    assert changed["save_strategy"] == "no"  # as typed, not "SaveStrategy.NO"
    assert card.hyperparameters["training"]["save_strategy"] == "no"
    # Building the default arguments to compare with left the Trainer's accelerate state intact.
    trainer.train()
    # While training: the run's log (two epochs of two steps, an evaluation per epoch, the summary) and runtime.
    assert card.log_history == trainer.state.log_history
    assert [e["epoch"] for e in card.log_history if "eval_loss" in e] == [1.0, 2.0]
    assert card.train_runtime_s == round(trainer.state.log_history[-1]["train_runtime"], 2)
    assert set(card.validation_metrics) == {"accuracy", "f1_macro"}
    # After training: evaluations update the validation metrics, never the log; a test prefix is no validation.
    logged = len(card.log_history)
    final = trainer.evaluate()
    assert card.validation_metrics == {"accuracy": final["eval_accuracy"], "f1_macro": final["eval_f1_macro"]}
    trainer.evaluate(metric_key_prefix="test")
    assert card.validation_metrics["accuracy"] == final["eval_accuracy"] and len(card.log_history) == logged
    # GRUTrainer.create_model_card writes this card, not the Trainer's generic one.
    trainer.create_model_card()
    _, body = split_card(tmp_path / "out" / "README.md")
    assert body.lstrip().startswith("# tiny\n")
    assert "| `hidden_size` | `12` |" in body.split("<details>")[0]
    assert "| 2 | 4 |" in body  # the training log's second evaluation: epoch 2, step 4


def test_callback_keeps_the_log_from_before_a_resume():
    from transformers import TrainerState

    card = GRUModelCardData(model_name="resumed")
    callback = ModelCardCallback(card)
    state = TrainerState()
    callback.on_train_begin(None, state, None)
    # A resumed run's state is loaded after on_train_begin: its earlier entries only appear at the end.
    state.log_history = [{"loss": 0.9, "epoch": 1.0, "step": 5}, {"eval_loss": 0.7, "epoch": 1.0, "step": 5}]
    state.log_history.append({"loss": 0.5, "epoch": 2.0, "step": 10})
    callback.on_log(None, state, None, logs={"loss": 0.5})
    assert card.log_history == [{"loss": 0.5, "epoch": 2.0, "step": 10}]
    callback.on_train_end(None, state, None)
    assert card.log_history == state.log_history and card.log_history is not state.log_history


def test_create_model_card_without_card_data_writes_nothing(tmp_path, tokenizer):
    trainer = tiny_trainer(tmp_path, GRUModelCardData(model_name="tiny"), tokenizer)
    trainer.callback_handler.callbacks = [
        cb for cb in trainer.callback_handler.callbacks if not isinstance(cb, ModelCardCallback)
    ]
    assert trainer.model_card_data is None
    trainer.create_model_card()
    assert not (tmp_path / "out" / "README.md").exists()


def test_a_local_dataset_folder_is_not_linked_as_a_hub_dataset(tmp_path):
    from gru_hf.data import DataArguments
    from gru_hf.training import GRUTrainingArguments, model_card_data

    folder = tmp_path / "my-data"
    folder.mkdir()
    args = GRUTrainingArguments(output_dir=str(tmp_path / "out"), report_to="none")
    assert model_card_data(DataArguments(dataset_name=str(folder)), args, {}).dataset.hub_id is None
    assert model_card_data(DataArguments(dataset_name="SetFit/bbc-news"), args, {}).dataset.hub_id == "SetFit/bbc-news"
