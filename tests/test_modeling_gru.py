import itertools

import pytest
import torch
from conftest import TEXTS, tiny_config
from torch.nn import functional as F
from transformers import AutoModel, AutoModelForSequenceClassification

from gru_hf import GRUConfig, GRUForSequenceClassification, GRUModel
from gru_hf.modeling_gru import _FrontLayout

VARIANTS = list(itertools.product(["last", "mean", "max", "max_mean"], [True, False], [1, 2]))


def build(tokenizer, pooling="last", bidirectional=True, layers=2, **overrides):
    torch.manual_seed(0)
    config = tiny_config(
        tokenizer, pooling=pooling, bidirectional=bidirectional, num_hidden_layers=layers, **overrides
    )
    return GRUForSequenceClassification(config).eval()


def logits_of(model, tokenizer, texts, side="right"):
    tokenizer.padding_side = side
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        return model(**batch).logits


@pytest.mark.parametrize("pooling, bidirectional, layers", VARIANTS)
def test_padding_never_changes_logits(tokenizer, pooling, bidirectional, layers):
    """Fixed texts (the empty one included) alone, batched with either padding side, and next to a much longer text.
    tests/test_batch_invariance.py searches random batches for a counter-example to the same promise."""
    model = build(tokenizer, pooling, bidirectional, layers)
    texts = TEXTS + ["", "good"]
    alone = torch.cat([logits_of(model, tokenizer, [t]) for t in texts])
    for side in ("right", "left"):
        torch.testing.assert_close(logits_of(model, tokenizer, texts, side), alone, rtol=0, atol=1e-5)
    # The same text next to a much longer one.
    long_text = " ".join(TEXTS)
    for text in texts:
        got = logits_of(model, tokenizer, [text, long_text], "left")[0]
        torch.testing.assert_close(got, alone[texts.index(text)], rtol=0, atol=1e-5)


@pytest.mark.parametrize("pooling, bidirectional, layers", VARIANTS)
def test_matches_plain_torch_gru_on_each_unpadded_text(tokenizer, pooling, bidirectional, layers):
    model = build(tokenizer, pooling, bidirectional, layers)
    base = model.model
    tokenizer.padding_side = "left"
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    assert not batch["attention_mask"].all()  # some rows are padded, so the zero-padding check below bites
    with torch.no_grad():
        out = base(**batch)
        for row, text in enumerate(TEXTS):
            ids = torch.tensor([tokenizer(text)["input_ids"]])
            states, h_n = base.gru(base.embeddings(ids))  # the module's own forward on the bare text
            real = batch["attention_mask"][row].bool()
            torch.testing.assert_close(out.last_hidden_state[row, real], states[0], rtol=0, atol=1e-5)
            assert torch.count_nonzero(out.last_hidden_state[row, ~real]) == 0  # padding states are zero
            if pooling == "last":
                expected = torch.cat([h_n[-2, 0], h_n[-1, 0]]) if bidirectional else h_n[-1, 0]
            elif pooling == "mean":
                expected = states[0].mean(0)
            elif pooling == "max":
                expected = states[0].max(0).values
            else:  # max_mean: the max, then the mean
                expected = torch.cat([states[0].max(0).values, states[0].mean(0)])
                assert model.classifier.in_features == 2 * base.config.output_size
            torch.testing.assert_close(out.pooler_output[row], expected, rtol=0, atol=1e-5)


def test_hidden_states_on_request_only(tokenizer):
    model = build(tokenizer, layers=2)
    batch = tokenizer(TEXTS[:3], padding=True, return_tensors="pt")
    assert model(**batch).hidden_states is None
    out = model.model(**batch, output_hidden_states=True)
    assert len(out.hidden_states) == 2
    torch.testing.assert_close(out.hidden_states[-1], out.last_hidden_state)
    assert out.hidden_states[0].shape == (3, batch["input_ids"].shape[1], 24)


@pytest.mark.parametrize("bidirectional", [True, False])
def test_hidden_states_of_each_layer_match_the_gru_run_layer_by_layer(tokenizer, bidirectional):
    model = build(tokenizer, bidirectional=bidirectional, layers=2)
    base = model.model
    tokenizer.padding_side = "left"
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    assert not batch["attention_mask"].all()  # some rows are padded, so the zero-padding check below bites
    with torch.no_grad():
        out = base(**batch, output_hidden_states=True)
        # Requesting the layers takes a different code path; the result must not change.
        torch.testing.assert_close(out.last_hidden_state, base(**batch).last_hidden_state, rtol=0, atol=1e-6)
        torch.testing.assert_close(out.pooler_output, base(**batch).pooler_output, rtol=0, atol=1e-6)
        first = torch.nn.GRU(16, 12, bidirectional=bidirectional, batch_first=True)
        first.load_state_dict({k: v for k, v in base.gru.state_dict().items() if "_l0" in k})
        for row, text in enumerate(TEXTS):
            real = batch["attention_mask"][row].bool()
            states, _ = first(base.embeddings(torch.tensor([tokenizer(text)["input_ids"]])))
            torch.testing.assert_close(out.hidden_states[0][row, real], states[0], rtol=0, atol=1e-5)
            assert torch.count_nonzero(out.hidden_states[0][row, ~real]) == 0  # padding states are zero


@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("lengths", [(10, 10, 10), (10, 9, 10), (10, 2, 1), (10, 0, 3)])
def test_full_nearly_full_and_ragged_batches_equal_each_text_alone(tokenizer, bidirectional, lengths):
    # Full batches, nearly full causal ones and ragged ones take different paths through the GRU.
    model = build(tokenizer, pooling="last", bidirectional=bidirectional, layers=2)
    ids = tokenizer(" ".join(TEXTS), truncation=False)["input_ids"]
    texts = [ids[i : i + n] for i, n in enumerate(lengths)]
    width = max(lengths)
    input_ids = torch.tensor([t + [0] * (width - len(t)) for t in texts])
    with torch.no_grad():
        together = model(input_ids=input_ids, attention_mask=(input_ids != 0).long()).logits
        for row, text in enumerate(texts):
            alone = model(input_ids=torch.tensor([text], dtype=torch.long).view(1, -1)).logits
            torch.testing.assert_close(together[row], alone[0], rtol=0, atol=1e-5)


@pytest.mark.parametrize("pooling", ["max", "mean", "max_mean", "last"])
def test_empty_and_all_padding_rows(tokenizer, pooling):
    model = build(tokenizer, pooling=pooling)
    with torch.no_grad():  # trained GRU biases: an empty text's one step over padding is no longer zero
        for name, parameter in model.model.gru.named_parameters():
            if name.startswith("bias"):
                parameter.uniform_(-0.5, 0.5)
    batch = tokenizer(["", "good", ""], padding=True, return_tensors="pt")
    out = model.model(**batch)
    assert out.pooler_output[0].abs().max() == 0 and out.pooler_output[2].abs().max() == 0
    assert out.pooler_output[1].abs().max() > 0
    # A batch made only of empty texts: a zero-width input still gives one logit row per text.
    empty = {"input_ids": torch.zeros(2, 0, dtype=torch.long), "attention_mask": torch.zeros(2, 0, dtype=torch.long)}
    logits = model(**empty).logits
    torch.testing.assert_close(logits, model.classifier.bias.expand(2, -1))
    torch.testing.assert_close(model(input_ids=torch.zeros(2, 4, dtype=torch.long)).logits, logits)


def test_attention_mask_defaults_to_non_pad_tokens(tokenizer):
    model = build(tokenizer)
    tokenizer.padding_side = "left"
    batch = tokenizer(TEXTS[:4], padding=True, return_tensors="pt")
    torch.testing.assert_close(model(input_ids=batch["input_ids"]).logits, model(**batch).logits)


def test_inputs_embeds_equal_input_ids(tokenizer):
    model = build(tokenizer)
    batch = tokenizer(TEXTS[:4], padding=True, return_tensors="pt")
    embeds = model.get_input_embeddings()(batch["input_ids"])
    got = model(inputs_embeds=embeds, attention_mask=batch["attention_mask"]).logits
    torch.testing.assert_close(got, model(**batch).logits)


def test_token_ids_outside_vocabulary_are_a_clear_error(tokenizer):
    model = build(tokenizer)
    with pytest.raises(
        ValueError, match=rf"token id {len(tokenizer) + 3}, outside the vocabulary \[0, {len(tokenizer)}\)"
    ):
        model(input_ids=torch.tensor([[2, len(tokenizer) + 3]]))
    with pytest.raises(ValueError, match="token id -1"):
        model(input_ids=torch.tensor([[-1, 2]]))


def test_single_label_loss(tokenizer):
    model = build(tokenizer)
    batch = tokenizer(TEXTS[:4], padding=True, return_tensors="pt")
    labels = torch.tensor([0, 2, 1, 1])
    out = model(**batch, labels=labels)
    torch.testing.assert_close(out.loss, F.cross_entropy(out.logits, labels))
    assert model.config.problem_type == "single_label_classification"
    with pytest.raises(ValueError, match="label 3 is out of range for a model with num_labels=3"):
        model(**batch, labels=torch.tensor([0, 3, 1, 1]))


def test_multi_label_loss(tokenizer):
    model = build(tokenizer)
    batch = tokenizer(TEXTS[:2], padding=True, return_tensors="pt")
    labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    out = model(**batch, labels=labels)
    torch.testing.assert_close(out.loss, F.binary_cross_entropy_with_logits(out.logits, labels))
    assert model.config.problem_type == "multi_label_classification"
    with pytest.raises(ValueError, match="NaN"):
        model(**batch, labels=torch.tensor([[1.0, float("nan"), 0.0], [0.0, 0.0, 0.0]]))


def test_regression_loss(tokenizer):
    model = build(tokenizer, id2label={0: "score"})
    batch = tokenizer(TEXTS[:3], padding=True, return_tensors="pt")
    labels = torch.tensor([0.5, -1.0, 2.0])
    out = model(**batch, labels=labels)
    assert out.logits.shape == (3, 1)
    torch.testing.assert_close(out.loss, F.mse_loss(out.logits.squeeze(-1), labels))
    assert model.config.problem_type == "regression"


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "max_mean"])
def test_every_trainable_parameter_gets_a_gradient(tokenizer, pooling):
    # Needed for DDP with find_unused_parameters=False.
    model = build(tokenizer, pooling=pooling).train()
    batch = tokenizer(TEXTS, padding=True, return_tensors="pt")
    model(**batch, labels=torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])).loss.backward()
    missing = [name for name, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert missing == []


def test_save_and_load_give_identical_logits(tmp_path, tokenizer):
    model = build(tokenizer)
    model.save_pretrained(tmp_path)
    expected = logits_of(model, tokenizer, TEXTS)
    for cls in (GRUForSequenceClassification, AutoModelForSequenceClassification):
        loaded = cls.from_pretrained(tmp_path)
        assert type(loaded) is GRUForSequenceClassification and not loaded.training
        assert torch.equal(logits_of(loaded, tokenizer, TEXTS), expected)
    bare = AutoModel.from_pretrained(tmp_path)
    assert type(bare) is GRUModel
    assert torch.equal(bare.embeddings.weight, model.model.embeddings.weight)


def test_missing_gru_weights_are_initialised_not_left_as_garbage(tmp_path, tokenizer):
    model = build(tokenizer, hidden_size=12)
    model.save_pretrained(tmp_path)
    resized = GRUForSequenceClassification.from_pretrained(tmp_path, hidden_size=20, ignore_mismatched_sizes=True)
    for name, param in resized.model.gru.named_parameters():
        assert torch.isfinite(param).all(), name
        if name.startswith("weight_hh"):  # orthogonal columns
            torch.testing.assert_close(param.T @ param, torch.eye(20), rtol=0, atol=1e-4)
        elif name.startswith("weight_ih"):
            bound = (6 / (param.shape[0] + param.shape[1])) ** 0.5  # xavier uniform
            assert param.abs().max() <= bound
        else:
            assert param.abs().max() == 0
    # Embeddings kept their loaded values.
    assert torch.equal(resized.model.embeddings.weight, model.model.embeddings.weight)


def test_fresh_model_initialisation(tokenizer):
    model = build(tokenizer)
    assert model.model.embeddings.weight[0].abs().max() == 0  # padding row
    assert abs(model.model.embeddings.weight[1:].std().item() - 0.1) < 0.02
    assert model.classifier.bias.abs().max() == 0


def test_resize_token_embeddings(tokenizer):
    model = build(tokenizer)
    old = model.get_input_embeddings().weight.detach().clone()
    model.resize_token_embeddings(len(tokenizer) + 5)
    assert model.config.vocab_size == len(tokenizer) + 5
    assert torch.equal(model.get_input_embeddings().weight[: len(old)], old)
    assert model(input_ids=torch.tensor([[len(tokenizer) + 4, 2]])).logits.shape == (1, 3)


def test_load_pretrained_embeddings(tokenizer):
    model = build(tokenizer)
    vectors = torch.randn(len(tokenizer), 16)
    model.load_pretrained_embeddings(vectors, freeze=True)
    weight = model.get_input_embeddings().weight
    assert torch.equal(weight[1:], vectors[1:]) and weight[0].abs().max() == 0 and not weight.requires_grad
    with pytest.raises(ValueError, match=r"shape \(3, 16\)"):
        model.load_pretrained_embeddings(torch.randn(3, 16))


def test_gradient_accumulation_equals_larger_batch(tmp_path, tokenizer):
    from datasets import Dataset
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    data = Dataset.from_dict({"text": TEXTS, "labels": [0, 1, 2, 0, 1, 2, 0, 1]})
    data = data.map(lambda b: tokenizer(b["text"]), batched=True, remove_columns=["text"])

    def one_step(batch_size, accumulation):
        model = build(tokenizer).train()
        args = TrainingArguments(
            output_dir=str(tmp_path / f"run{batch_size}"),
            per_device_train_batch_size=batch_size,
            gradient_accumulation_steps=accumulation,
            max_steps=1,
            learning_rate=0.5,
            optim="sgd",
            lr_scheduler_type="constant",
            use_cpu=True,
            report_to="none",
            save_strategy="no",
            disable_tqdm=True,
            seed=0,
            data_seed=0,
            train_sampling_strategy="sequential",
        )
        Trainer(
            model=model,
            args=args,
            train_dataset=data.select(range(4)),
            data_collator=DataCollatorWithPadding(tokenizer),
        ).train()
        return model

    small, large = one_step(2, 2), one_step(4, 1)
    moved = 0
    for (name, p_small), p_large in zip(small.named_parameters(), large.parameters()):
        torch.testing.assert_close(p_small, p_large, rtol=0, atol=1e-6, msg=name)
        moved += 1
    assert moved == len(list(GRUForSequenceClassification(small.config).parameters()))
    assert not torch.equal(small.classifier.weight, build(tokenizer).classifier.weight)


def test_config_class_is_not_instance_checked():
    # Under remote code the config class is loaded from another module: the model must accept any config object.
    config = GRUConfig(vocab_size=20, embedding_dim=4, hidden_size=3)
    clone = type("GRUConfig", (GRUConfig,), {})(**config.to_dict())
    assert GRUModel(clone)(input_ids=torch.tensor([[1, 2]])).pooler_output.shape == (1, 6)


@pytest.mark.parametrize("pooling", ["last", "mean"])
@pytest.mark.parametrize("bidirectional, layers", [(False, 1), (True, 1), (False, 2), (True, 2)])
def test_own_cpu_recurrence_matches_nn_gru_outputs_and_gradients(
    tokenizer, monkeypatch, pooling, bidirectional, layers
):
    # CPU training runs gru-hf's packed recurrence; it must give nn.GRU's outputs and gradients on ragged batches
    # (left padding, an empty text, a full-length text) for every weight, and read the same parameters.
    tokenizer.padding_side = "left"
    batch = tokenizer(TEXTS + [""], padding=True, return_tensors="pt")
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2])

    def run(own):
        monkeypatch.setattr(GRUModel, "use_own_cpu_recurrence", own)
        model = build(tokenizer, pooling, bidirectional, layers).train()
        if own:
            assert model.model._uses_own_recurrence(torch.zeros(1, 1, 16))
        out = model(**batch, labels=labels)
        states = model.model(**batch).last_hidden_state
        (out.loss + states.square().sum()).backward()
        return out.logits, states, {name: p.grad for name, p in model.named_parameters()}

    logits, states, grads = run(own=True)
    ref_logits, ref_states, ref_grads = run(own=False)
    torch.testing.assert_close(logits, ref_logits, rtol=0, atol=1e-5)
    torch.testing.assert_close(states, ref_states, rtol=0, atol=1e-5)
    assert grads.keys() == ref_grads.keys() and any(name.startswith("model.gru.") for name in grads)
    for name, grad in grads.items():
        torch.testing.assert_close(grad, ref_grads[name], rtol=0, atol=1e-5, msg=name)


def test_own_cpu_recurrence_only_in_cpu_float32_training(tokenizer):
    base = build(tokenizer).model
    x = torch.zeros(1, 1, 16)
    assert not base._uses_own_recurrence(x)  # eval mode keeps nn.GRU
    base.train()
    assert base._uses_own_recurrence(x)
    assert not base._uses_own_recurrence(x.double())
    with torch.no_grad():
        assert not base._uses_own_recurrence(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not base._uses_own_recurrence(x)


def test_max_pooling_gradient_goes_to_one_position_per_tie():
    """Max pooling takes the fast `amax` without gradients and `max(dim)` with them, so training keeps torch.max's
    gradient (all of it to the first of tied maxima, not split among them as `amax` would) and both give the same
    values; padding and empty texts never win."""
    model = GRUModel(tiny_config(pooling="max", hidden_size=2, bidirectional=False, num_hidden_layers=1))
    states = torch.tensor([[[0.5, -0.2], [0.5, -0.9], [0.1, -0.3]], [[-0.4, -0.6], [0.0, 0.0], [0.0, 0.0]]])
    lengths = torch.tensor([3, 1])
    token_mask = (torch.arange(3) < lengths[:, None]).unsqueeze(-1)
    layout = _FrontLayout(lengths, token_mask, None, 3, 3, 3)
    expected = torch.tensor([[0.5, -0.2], [-0.4, -0.6]])  # row 2: its one real token beats the zero padding
    with torch.no_grad():
        assert torch.equal(model._pool(states, None, layout), expected)
    leaf = states.clone().requires_grad_(True)
    pooled = model._pool(leaf, None, layout)
    assert torch.equal(pooled, expected)
    pooled.sum().backward()
    assert leaf.grad[0, :, 0].tolist() == [1.0, 0.0, 0.0]  # the tie at 0.5: the first position only
    assert leaf.grad[1, :, 0].tolist() == [1.0, 0.0, 0.0]
