"""gru_hf.training.PaddingCollator returns exactly what DataCollatorWithPadding returns (keys, dtypes, values) for
ragged batches, on both padding sides, with the labels of every problem type, and training through it gives the
same loss and weights."""

import numpy as np
import pytest
import torch
from transformers import DataCollatorWithPadding

from gru_hf import GRUConfig, GRUForSequenceClassification, train_tokenizer
from gru_hf.training import PaddingCollator, data_collator

TEXTS = ["a good film", "bad", "", "the plot is dull and the acting is weak", "good good good", "a film"]
LABELS = {
    "single_label_classification": [1, 0, 1, 0, 1, 2],
    "regression": [0.5, -1.0, 2.25, 3.0, 0.0, 1.5],
    "multi_label_classification": [[1.0, 0.0, 1.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]] * 2,
}


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TEXTS * 3, vocab_size=100, min_frequency=1)


def assert_same_batch(tokenizer, features):
    expected = DataCollatorWithPadding(tokenizer)([dict(f) for f in features])
    got = PaddingCollator(tokenizer)([dict(f) for f in features])
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key].dtype == value.dtype, key
        assert got[key].shape == value.shape, key
        assert torch.equal(got[key], value), key
    return got


@pytest.mark.parametrize("problem_type", sorted(LABELS))
@pytest.mark.parametrize("label_key", ["label", "labels", "label_ids"])
@pytest.mark.parametrize("with_mask", [True, False])
@pytest.mark.parametrize("side", ["right", "left"])
def test_same_tensors_as_data_collator_with_padding(tokenizer, problem_type, label_key, with_mask, side):
    tokenizer.padding_side = side
    try:
        encoded = tokenizer(TEXTS, truncation=True)
        features = []
        for i, label in enumerate(LABELS[problem_type]):
            row = {"input_ids": encoded["input_ids"][i], label_key: label}
            if with_mask:
                row["attention_mask"] = encoded["attention_mask"][i]
            features.append(row)
        got = assert_same_batch(tokenizer, features)
    finally:
        tokenizer.padding_side = "right"
    lengths = [len(ids) for ids in encoded["input_ids"]]
    assert got["input_ids"].shape == (len(TEXTS), max(lengths))
    assert got["attention_mask"].sum(dim=1).tolist() == lengths
    assert (got["input_ids"][got["attention_mask"] == 0] == tokenizer.pad_token_id).all()
    assert "labels" in got and (label_key == "labels" or label_key not in got)


def test_numpy_labels_empty_texts_and_unlabelled_batches(tokenizer):
    ids = tokenizer(TEXTS, truncation=True)["input_ids"]
    assert_same_batch(tokenizer, [{"input_ids": row, "labels": np.array([1.0, 0.0])} for row in ids])
    empty = assert_same_batch(tokenizer, [{"input_ids": [], "labels": 1}, {"input_ids": [], "labels": 0}])
    assert empty["input_ids"].shape == (2, 0)
    assert_same_batch(tokenizer, [{"input_ids": row} for row in ids])


def test_other_columns_go_to_data_collator_with_padding(tokenizer):
    ids = tokenizer(TEXTS, truncation=True)["input_ids"]
    features = [{"input_ids": row, "labels": 0, "idx": i} for i, row in enumerate(ids)]
    got = assert_same_batch(tokenizer, features)
    assert got["idx"].tolist() == list(range(len(TEXTS)))


def test_training_steps_give_the_same_loss_and_weights(tokenizer):
    """Three optimizer steps through each collator, from the same initial weights: identical losses and weights."""
    encoded = tokenizer(TEXTS, truncation=True)["input_ids"]
    features = [{"input_ids": row, "labels": i % 2} for i, row in enumerate(encoded)]

    def train(collator):
        torch.manual_seed(0)
        config = GRUConfig(vocab_size=len(tokenizer), embedding_dim=8, hidden_size=8, num_labels=2)
        model = GRUForSequenceClassification(config)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
        losses = []
        for step in range(3):
            batch = collator([dict(f) for f in features[step:] + features[:step]])
            loss = model(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
        return losses, model.state_dict()

    reference, ours = train(DataCollatorWithPadding(tokenizer)), train(data_collator(tokenizer))
    assert reference[0] == ours[0]
    for name, value in reference[1].items():
        assert torch.equal(value, ours[1][name]), name


@pytest.mark.parametrize("strategy", ["group_by_length", "random"])
def test_training_batches_are_the_same_from_rows_in_memory(tokenizer, tmp_path, strategy):
    """GRUTrainer hands the DataLoader the training rows as Python lists (`RowsInMemory`) instead of the Arrow
    Dataset: every batch of an epoch is the same (order, tensors), unused columns are still dropped, and evaluation
    keeps its Dataset."""
    from datasets import Dataset

    from gru_hf.training import GRUTrainer, GRUTrainingArguments, RowsInMemory

    texts = [" ".join(["good"] * (i % 7) + ["film"] * (i % 3)) for i in range(50)]
    encoded = tokenizer(texts, truncation=True)
    dataset = Dataset.from_dict(
        {"input_ids": encoded["input_ids"], "labels": [i % 2 for i in range(50)], "text": texts}
    )
    config = GRUConfig(vocab_size=len(tokenizer), embedding_dim=8, hidden_size=8, num_labels=2)
    args = GRUTrainingArguments(
        output_dir=str(tmp_path), per_device_train_batch_size=8, train_sampling_strategy=strategy, seed=3
    )

    def batches(in_memory):
        torch.manual_seed(0)
        trainer = GRUTrainer(
            model=GRUForSequenceClassification(config),
            args=args,
            train_dataset=dataset,
            eval_dataset=dataset,
            data_collator=data_collator(tokenizer),
            processing_class=tokenizer,
        )
        trainer.training_rows_in_memory = in_memory
        loader = trainer.get_train_dataloader()
        assert isinstance(loader.dataset, RowsInMemory) == in_memory
        assert not isinstance(trainer.get_eval_dataloader().dataset, RowsInMemory)
        torch.manual_seed(1)  # the sampler's shuffle
        return list(loader)

    arrow, memory = batches(False), batches(True)
    capped = GRUTrainer(
        model=GRUForSequenceClassification(config), args=args, train_dataset=dataset, eval_dataset=dataset
    )
    capped.training_rows_in_memory_max_bytes = 0  # larger training sets keep Arrow
    assert not isinstance(capped.get_train_dataloader().dataset, RowsInMemory)
    assert len(arrow) == len(memory) == 7
    for a, m in zip(arrow, memory):
        assert set(a) == set(m) == {"input_ids", "attention_mask", "labels"}
        for key in a:
            assert torch.equal(a[key], m[key]), key


def test_rows_in_memory_return_what_the_dataset_returns():
    """Every row and batch of `RowsInMemory` equals the Dataset's own, Python types included, for number-list
    columns (kept flat), scalars, strings, empty rows and a shuffled selection; indices past the end raise."""
    from datasets import Dataset, Features, Sequence, Value

    from gru_hf.training import RowsInMemory

    rng = np.random.default_rng(0)
    rows = {
        "input_ids": [rng.integers(5, 50_000, size=int(n)).tolist() for n in rng.integers(0, 30, size=40)],
        "labels": rng.integers(0, 3, size=40).tolist(),
        "teacher_logits": rng.normal(size=(40, 3)).astype(np.float32).tolist(),
        "score": rng.normal(size=40).astype(np.float32).tolist(),
        "text": [f"text {i}" for i in range(40)],
    }
    features = Features(
        {
            "input_ids": Sequence(Value("int32")),
            "labels": Value("int64"),
            "teacher_logits": Sequence(Value("float32")),
            "score": Value("float32"),
            "text": Value("string"),
        }
    )
    dataset = Dataset.from_dict(rows, features=features)
    for source in (dataset, dataset.shuffle(seed=1).select(range(7, 31))):
        memory = RowsInMemory(source)
        assert len(memory) == len(source) and set(memory.flat) == {"input_ids", "teacher_logits"}
        for index in range(len(source)):
            expected, got = source[index], memory[index]
            assert got == expected
            assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in expected.items()}
            assert all(type(v) is type(w) for v, w in zip(got["input_ids"], expected["input_ids"]))
        batch = [3, 0, len(source) - 1, 3]
        assert memory.__getitems__(batch) == source.__getitems__(batch)
        assert memory[-1] == source[len(source) - 1]
        with pytest.raises(IndexError):
            memory[len(source)]


@pytest.mark.parametrize("side", ["right", "left"])
def test_a_fixed_width_equals_padding_to_max_length(tokenizer, side):
    """`pad_to`: every batch as wide, whatever its texts (streamed batches dispatched to several processes)."""
    tokenizer.padding_side = side
    try:
        features = [dict(tokenizer(text), label=i % 2) for i, text in enumerate(TEXTS[:3])]
        expected = DataCollatorWithPadding(tokenizer, padding="max_length", max_length=12)([dict(f) for f in features])
        got = PaddingCollator(tokenizer, pad_to=12)([dict(f) for f in features])
        assert got["input_ids"].shape == (3, 12)
        for key, value in expected.items():
            assert torch.equal(got[key], value), key
    finally:
        tokenizer.padding_side = "right"
