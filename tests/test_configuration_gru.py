import json

import pytest
from transformers import AutoConfig

from gru_hf import GRUConfig


def test_defaults_and_canonical_names():
    config = GRUConfig()
    assert config.model_type == "gru_hf"
    assert (config.vocab_size, config.embedding_dim, config.hidden_size, config.num_hidden_layers) == (
        20000,
        100,
        128,
        1,
    )
    assert config.bidirectional and config.output_size == 256
    assert config.pad_token_id == 0 and config.num_labels == 2
    assert set(config.auto_map) == {"AutoConfig", "AutoModel", "AutoModelForSequenceClassification"}


def test_seed_argument_names():
    config = GRUConfig(hidden_dim=64, output_dim=5, n_layers=2)
    assert config.hidden_size == 64 and config.num_labels == 5 and config.num_hidden_layers == 2
    assert config.hidden_dim == 64  # attribute_map alias reads back


def test_labels_through_kwargs():
    config = GRUConfig(id2label={0: "neg", 1: "pos", 2: "mixed"}, problem_type="single_label_classification")
    assert config.num_labels == 3
    assert config.label2id == {"neg": 0, "pos": 1, "mixed": 2}
    assert config.problem_type == "single_label_classification"


def test_round_trip_through_directory(tmp_path):
    config = GRUConfig(
        vocab_size=123,
        embedding_dim=50,
        hidden_size=7,
        num_hidden_layers=3,
        bidirectional=False,
        embedding_dropout=0.1,
        hidden_dropout=0.2,
        classifier_dropout=0.3,
        pooling="mean",
        pad_token_id=5,
        id2label={0: "a", 1: "b", 2: "c"},
        problem_type="multi_label_classification",
    )
    config.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "gru_hf" and saved["pooling"] == "mean"
    for loaded in (GRUConfig.from_pretrained(tmp_path), AutoConfig.from_pretrained(tmp_path)):
        assert type(loaded) is GRUConfig
        assert without_path(loaded.to_dict()) == without_path(config.to_dict())
        assert loaded.id2label == {0: "a", 1: "b", 2: "c"}


def without_path(values):
    return {k: v for k, v in values.items() if k != "_name_or_path"}


def test_dict_round_trip():
    config = GRUConfig(pooling="max", id2label={0: "x", 1: "y"})
    assert GRUConfig.from_dict(config.to_dict()).to_dict() == config.to_dict()


@pytest.mark.parametrize(
    "field, value",
    [
        ("vocab_size", 0),
        ("embedding_dim", -1),
        ("hidden_size", 2.5),
        ("num_hidden_layers", 0),
        ("bidirectional", "yes"),
        ("embedding_dropout", 1.0),
        ("hidden_dropout", -0.1),
        ("classifier_dropout", 2),
        ("pooling", "first"),
        ("pad_token_id", 20000),
        ("initializer_range", 0),
    ],
)
def test_out_of_range_values_name_the_field(field, value):
    with pytest.raises(ValueError, match=rf"GRUConfig\.{field} "):
        GRUConfig(**{field: value})


def test_bad_problem_type():
    with pytest.raises(ValueError, match="problem_type"):
        GRUConfig(problem_type="ranking")
