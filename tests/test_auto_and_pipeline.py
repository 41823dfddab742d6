"""The Transformers contracts: Auto classes, remote code without gru_hf installed, and pipeline."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from conftest import TEXTS, WITHOUT_GRU_HF
from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, AutoTokenizer, pipeline

import gru_hf
from gru_hf import GRUConfig, GRUForSequenceClassification, GRUModel

PROBES = ["a good film", "the worst movie , bad bad bad", "", "unknown words only", "good " * 40]


def scores(classifier, texts, **kwargs):
    return [[round(d["score"], 6) for d in sorted(r, key=lambda d: d["label"])] for r in classifier(texts, **kwargs)]


def run_python(code, tmp_path, **env):
    full_env = {**os.environ, "HF_HOME": str(tmp_path / "hf_home"), "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=full_env,
        timeout=120,
    )


def test_saved_directory_is_complete(tiny_model_dir):
    files = sorted(os.listdir(tiny_model_dir))
    assert files == [
        "config.json",
        "configuration_gru.py",
        "model.safetensors",
        "modeling_gru.py",
        "tokenizer.json",
        "tokenizer_config.json",
    ]
    config = json.loads((tiny_model_dir / "config.json").read_text())
    assert config["auto_map"] == {
        "AutoConfig": "configuration_gru.GRUConfig",
        "AutoModel": "modeling_gru.GRUModel",
        "AutoModelForSequenceClassification": "modeling_gru.GRUForSequenceClassification",
    }
    assert config["architectures"] == ["GRUForSequenceClassification"]


def test_saved_code_files_are_exactly_the_package_files(tiny_model_dir):
    package = os.path.dirname(gru_hf.__file__)
    for name in ("configuration_gru.py", "modeling_gru.py"):
        with open(os.path.join(package, name), "rb") as f:
            assert (tiny_model_dir / name).read_bytes() == f.read(), name


def test_auto_classes_after_import(tiny_model_dir):
    assert type(AutoConfig.from_pretrained(tiny_model_dir)) is GRUConfig
    assert type(AutoModel.from_pretrained(tiny_model_dir)) is GRUModel
    assert type(AutoModelForSequenceClassification.from_pretrained(tiny_model_dir)) is GRUForSequenceClassification
    assert AutoTokenizer.from_pretrained(tiny_model_dir).pad_token_id == 0


# However gru_hf is first imported, `pipeline` then loads a saved directory without trust_remote_code: the
# registration waits for transformers, and survives a first import that comes from inside gru_hf's own modules.
# (`import gru_hf` before transformers is how this whole suite runs: conftest imports it first; `gru-hf predict`
# checks the directory first: tests/test_cli.py.)
IMPORT_ORDERS = {
    "transformers first": "import transformers, gru_hf",
    "model module first": "from gru_hf.modeling_gru import GRUForSequenceClassification",
}


def test_registered_whatever_is_imported_first(tiny_model_dir):
    from concurrent.futures import ThreadPoolExecutor

    def run(first):
        code = (
            f"PATH = {str(tiny_model_dir)!r}\n{first}\nimport sys\nfrom transformers import pipeline\n"
            "result = pipeline('text-classification', model=PATH)('a good film')[0]\n"
            "print(result['label'], type(pipeline('text-classification', model=PATH).model).__module__,"
            " [type(f).__name__ for f in sys.meta_path if 'Register' in type(f).__name__])\n"
        )
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)

    expected = pipeline("text-classification", model=str(tiny_model_dir))("a good film")[0]["label"]
    with ThreadPoolExecutor(max_workers=len(IMPORT_ORDERS)) as pool:
        done = dict(zip(IMPORT_ORDERS, pool.map(run, IMPORT_ORDERS.values())))
    for name, result in done.items():
        assert result.returncode == 0, (name, result.stderr[-2000:])
        assert result.stdout.split() == [expected, "gru_hf.modeling_gru", "[]"], name  # no finder left behind


def test_pipeline_labels_and_options(tiny_model_dir):
    classifier = pipeline("text-classification", model=str(tiny_model_dir))
    model, tokenizer = classifier.model, classifier.tokenizer
    [top] = classifier(["a good film"])
    with torch.no_grad():
        logits = model(**tokenizer(["a good film"], return_tensors="pt")).logits[0]
    probabilities = logits.softmax(-1)
    assert top["label"] == model.config.id2label[int(probabilities.argmax())]
    assert top["label"] in {"negative", "positive"}
    assert top["score"] == pytest.approx(float(probabilities.max()), abs=1e-6)

    everything = classifier("a good film", top_k=None)
    assert [d["label"] for d in everything] == sorted(
        ["negative", "positive"], key=lambda lab: -probabilities[model.config.label2id[lab]]
    )
    raw = classifier("a good film", top_k=None, function_to_apply="none")
    assert {d["label"]: d["score"] for d in raw} == pytest.approx(
        {"negative": float(logits[0]), "positive": float(logits[1])}, abs=1e-6
    )
    sigmoid = classifier("a good film", top_k=None, function_to_apply="sigmoid")
    assert {d["label"]: d["score"] for d in sigmoid} == pytest.approx(
        {"negative": float(logits[0].sigmoid()), "positive": float(logits[1].sigmoid())}, abs=1e-6
    )


def test_pipeline_truncation(tiny_model_dir):
    classifier = pipeline("text-classification", model=str(tiny_model_dir))
    words = ("good bad film " * 30).split()
    long_text, first_16 = " ".join(words), " ".join(words[:16])  # model_max_length is 16
    truncated = classifier(long_text, truncation=True, top_k=None)
    assert truncated == classifier(first_16, top_k=None)
    assert classifier(long_text, top_k=None) != truncated  # without truncation the GRU reads everything


def test_pipeline_batch_size_does_not_change_scores(tiny_model_dir):
    classifier = pipeline("text-classification", model=str(tiny_model_dir))
    texts = (TEXTS + PROBES) * 5
    one = scores(classifier, texts, top_k=None, batch_size=1)
    many = scores(classifier, texts, top_k=None, batch_size=64)
    assert one == many
    classifier.tokenizer.padding_side = "left"
    assert scores(classifier, [t for t in texts if t], top_k=None, batch_size=64) == [
        s for t, s in zip(texts, one) if t
    ]


def test_pipeline_logs_no_unsupported_model_warning(tiny_model_dir, tmp_path):
    result = run_python(
        f"""
        import gru_hf
        from transformers import pipeline
        print(pipeline("text-classification", model={str(tiny_model_dir)!r})("a good film"))
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "not supported" not in result.stderr + result.stdout
    assert "'label'" in result.stdout


def test_remote_code_loads_without_gru_hf(tiny_model_dir, tmp_path):
    local = pipeline("text-classification", model=str(tiny_model_dir))
    expected = scores(local, PROBES, top_k=None)
    with torch.no_grad():
        expected_pooled = AutoModel.from_pretrained(tiny_model_dir)(
            **local.tokenizer(PROBES, padding=True, return_tensors="pt")
        ).pooler_output
    code = f"""
        import json, sys

        try:
            import gru_hf
            raise SystemExit("gru_hf was importable")
        except ImportError:
            pass
        import torch
        from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, AutoTokenizer, pipeline

        path, texts = {str(tiny_model_dir)!r}, {PROBES!r}
        config = AutoConfig.from_pretrained(path, trust_remote_code=True)
        model = AutoModelForSequenceClassification.from_pretrained(path, trust_remote_code=True)
        bare = AutoModel.from_pretrained(path, trust_remote_code=True)
        tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=True)
        classifier = pipeline("text-classification", model=path, trust_remote_code=True)
        result = [[round(d["score"], 6) for d in sorted(r, key=lambda d: d["label"])]
                  for r in classifier(texts, top_k=None)]
        with torch.no_grad():
            pooled = bare(**tokenizer(texts, padding=True, return_tensors="pt")).pooler_output.tolist()
        print(json.dumps({{
            "classes": [type(config).__module__, type(model).__module__, type(bare).__name__],
            "scores": result, "pooled": pooled,
        }}))
    """
    result = run_python(WITHOUT_GRU_HF + textwrap.dedent(code), tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert all(m.startswith("transformers_modules.") for m in out["classes"][:2])
    assert out["classes"][2] == "GRUModel"
    assert out["scores"] == expected
    torch.testing.assert_close(torch.tensor(out["pooled"]), expected_pooled, rtol=0, atol=1e-6)
