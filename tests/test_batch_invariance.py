"""Batch invariance: a text's logits depend on the text alone, never on the batch it shares (its neighbours, their
number and order, the longest text, the padding side, extra padding columns), checked on random batches
(hypothesis) against the model's own `nn.GRU` run on each unpadded text.

tests/test_modeling_gru.py::test_padding_never_changes_logits checks the same promise on fixed texts for every
variant (with the empty text); this file searches the space of batches for a counter-example."""

import functools
import itertools

import pytest
import torch
from conftest import WORDS, assert_same, shared_tokenizer, tiny_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gru_hf import GRUForSequenceClassification

pytestmark = pytest.mark.usefixtures("one_torch_thread")


VARIANTS = list(itertools.product(["last", "mean", "max", "max_mean"], [True, False], [1, 2]))


text_strategy = st.lists(st.sampled_from(WORDS), max_size=24).map(" ".join)


batch_strategy = st.lists(text_strategy, min_size=1, max_size=8)


@functools.cache
def variant_model(pooling, bidirectional, layers):
    torch.manual_seed(0)
    config = tiny_config(shared_tokenizer(), pooling=pooling, bidirectional=bidirectional, num_hidden_layers=layers)
    return GRUForSequenceClassification(config).eval()


@torch.no_grad()
def reference_logits(model, text):
    """One text at a time through the model's own `nn.GRU` on the unpadded embeddings."""
    base, config = model.model, model.config
    ids = shared_tokenizer()(text)["input_ids"]
    if not ids:
        pooled = torch.zeros(config.pooled_size)  # documented: an empty text has a zero sentence vector
    else:
        states, h_n = base.gru(base.embeddings(torch.tensor([ids])))
        if config.pooling == "last":
            pooled = torch.cat([h_n[-2, 0], h_n[-1, 0]]) if config.bidirectional else h_n[-1, 0]
        elif config.pooling == "mean":
            pooled = states[0].mean(0)
        elif config.pooling == "max":
            pooled = states[0].max(0).values
        else:
            pooled = torch.cat([states[0].max(0).values, states[0].mean(0)])
    return model.classifier(pooled)


@torch.no_grad()
def batch_logits(model, texts, side="right", extra_padding=0):
    tokenizer = shared_tokenizer()
    tokenizer.padding_side = side
    longest = max(len(ids) for ids in tokenizer(texts)["input_ids"])
    batch = tokenizer(texts, padding="max_length", max_length=longest + extra_padding, return_tensors="pt")
    return model(**batch).logits


@pytest.mark.parametrize("pooling, bidirectional, layers", VARIANTS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=batch_strategy, data=st.data())
def test_logits_depend_only_on_the_text(pooling, bidirectional, layers, texts, data):
    model = variant_model(pooling, bidirectional, layers)
    expected = torch.stack([reference_logits(model, text) for text in texts])

    # Whole batch, either padding side, with extra padding columns.
    side = data.draw(st.sampled_from(["left", "right"]), label="side")
    extra = data.draw(st.integers(0, 5), label="extra padding")
    assert_same(batch_logits(model, texts, side, extra), expected)

    # Cut into smaller batches (other batch sizes, other longest texts).
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(texts) - 1))), label="cuts")) if len(texts) > 1 else []
    bounds = [0, *cuts, len(texts)]
    pieces = [batch_logits(model, texts[a:b], side) for a, b in zip(bounds, bounds[1:]) if b > a]
    assert_same(torch.cat(pieces), expected)

    # Shuffled batch.
    order = data.draw(st.permutations(range(len(texts))), label="order")
    assert_same(batch_logits(model, [texts[i] for i in order], side), expected[list(order)])

    # One text among other neighbours, at any position.
    index = data.draw(st.integers(0, len(texts) - 1), label="index")
    neighbours = data.draw(st.lists(text_strategy, max_size=6), label="neighbours")
    position = data.draw(st.integers(0, len(neighbours)), label="position")
    batch = neighbours[:position] + [texts[index]] + neighbours[position:]
    assert_same(batch_logits(model, batch, data.draw(st.sampled_from(["left", "right"])))[position], expected[index])
