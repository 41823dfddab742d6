"""Several processes: real `torchrun` / `accelerate launch` runs (2 CPU processes, gloo) on tiny data, and the checks
that need GPUs (NCCL, `nn.DataParallel`, bf16/fp16 on CUDA), skipped without them.

Each launched run executes a small driver (written into tmp_path) that calls `gru_hf.training.train` after
`instrument()` below has wrapped every writer and the data collator / `compute_metrics` to log, per rank, what that
rank did: which files it wrote, its first training batch, the predictions its metrics saw, its process group and its
final parameters.
"""

import csv
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from huggingface_hub.constants import HF_HUB_CACHE
from safetensors.torch import load_file, save_file

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
TIMEOUT = 300  # seconds for one launched run; a tiny run takes ~10 s on 2 cores

DRIVER = """\
import sys

sys.path[:0] = [{tests!r}]
from test_distributed import driver_main

driver_main(sys.argv[1:])
"""

POSITIVE = ["good", "great", "wonderful", "fine", "lovely", "superb"]
NEGATIVE = ["bad", "awful", "terrible", "boring", "dull", "poor"]
NOUNS = ["film", "movie and story", "acting"]


def _rows(words_pos, words_neg, nouns, repeat_extra):
    rows = []
    for i, (good, bad) in enumerate(zip(words_pos, words_neg)):
        for j, noun in enumerate(nouns):
            extra = " truly" * ((i + j) % repeat_extra)  # texts of different lengths: batches are padded
            rows.append((f"a {good} {noun}{extra}", "pos"))
            rows.append((f"a {bad} {noun}{extra}", "neg"))
    return rows


TRAIN_ROWS = _rows(POSITIVE, NEGATIVE, NOUNS[:2], 3)  # 24 distinct texts
VALIDATION_ROWS = _rows(POSITIVE[:3], NEGATIVE[:3], NOUNS[2:], 2)[:5]  # 5 texts: not divisible by 2 x 4
TEST_ROWS = _rows(POSITIVE, NEGATIVE, NOUNS[2:], 4)[:11]  # 11 texts: not divisible by 2 x 4
EVAL_BATCH = 4
FULL_EPOCHS = 3


# ---------------------------------------------------------------------------------------------------------------
# What runs inside every launched process
# ---------------------------------------------------------------------------------------------------------------


def instrument(log_dir: str):
    """Wrap every way `train()` writes files, its collator and its `compute_metrics`, so that each rank logs what it
    did into `log_dir/rank{RANK}.jsonl`. Returns the callback that logs the process group and keeps the model."""
    from transformers import PreTrainedModel, TrainerCallback, TrainerState
    from transformers.tokenization_utils_base import PreTrainedTokenizerBase

    import gru_hf.model_card
    import gru_hf.training as training

    rank = int(os.environ.get("RANK", "0"))

    def record(kind, **fields):
        with open(os.path.join(log_dir, f"rank{rank}.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps({"kind": kind, **fields}) + "\n")

    def logged(owner, name, describe):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            record("write", what=f"{getattr(owner, '__name__', owner)}.{name}", path=str(describe(*args, **kwargs)))
            return original(*args, **kwargs)

        setattr(owner, name, wrapper)

    logged(PreTrainedModel, "save_pretrained", lambda self, path, *a, **k: path)
    logged(PreTrainedTokenizerBase, "save_pretrained", lambda self, path, *a, **k: path)
    logged(TrainerState, "save_to_json", lambda self, path: path)
    logged(torch, "save", lambda obj, f, *a, **k: f)
    logged(gru_hf.model_card, "write_model_card", lambda path, *a, **k: os.path.join(path, "README.md"))

    def recording_open(file, mode="r", *args, **kwargs):  # shadows the builtin inside gru_hf.training only
        if any(c in mode for c in "wax+"):
            record("write", what="gru_hf.training.open", path=str(file))
        return open(file, mode, *args, **kwargs)

    training.open = recording_open

    class RecordingCollator(training.PaddingCollator):
        def __call__(self, features):
            rows = [[list(f["input_ids"]), int(f.get("label", f.get("labels")))] for f in features]
            record("batch", rows=rows)
            return super().__call__(features)

    training.PaddingCollator = RecordingCollator  # what build_trainer's data_collator() builds

    build = training.build_compute_metrics

    def recording_build(*args, **kwargs):
        compute = build(*args, **kwargs)

        def compute_metrics(eval_pred):
            metrics = compute(eval_pred)
            record(
                "metrics",
                predictions=eval_pred.predictions.tolist(),
                label_ids=eval_pred.label_ids.tolist(),
                metrics=metrics,
            )
            return metrics

        return compute_metrics

    training.build_compute_metrics = recording_build

    class ProcessGroupCallback(TrainerCallback):
        model = None

        def on_train_begin(self, args, state, control, model=None, **kwargs):
            self.model = model
            initialized = torch.distributed.is_available() and torch.distributed.is_initialized()
            record(
                "setup",
                initialized=initialized,
                backend=torch.distributed.get_backend() if initialized else None,
                world_size=torch.distributed.get_world_size() if initialized else 1,
                use_cpu=args.use_cpu,
                parallel_mode=str(args.parallel_mode),
                device=str(args.device),
            )
            save_file(_state(model), os.path.join(log_dir, f"init_rank{rank}.safetensors"))

    return ProcessGroupCallback(), record, rank


def _state(model) -> dict:
    return {k: v.detach().to("cpu", torch.float32).clone().contiguous() for k, v in model.state_dict().items()}


def driver_main(argv: list[str]) -> None:
    import gru_hf.training as training
    from gru_hf.cli import parse_train_arguments

    log_dir = os.environ["GRU_HF_TEST_LOG"]
    callback, record, rank = instrument(log_dir)
    results = training.train(*parse_train_arguments(argv), callbacks=[callback])
    save_file(_state(callback.model), os.path.join(log_dir, f"final_rank{rank}.safetensors"))
    record("results", results=results)


# ---------------------------------------------------------------------------------------------------------------
# Launching
# ---------------------------------------------------------------------------------------------------------------


def write_csv(path: Path, rows) -> str:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(("text", "label"))
        writer.writerows(rows)
    return str(path)


# Vectors (8 values) for some training words and for three words that training never holds: "acting" is in the
# validation and test texts only.
VECTORS = {"good": 0.1, "bad": -0.1, "film": 0.2, "acting": 0.3, "splendid": 0.4, "dreadful": -0.4}
EXTRA_WORDS = ("acting", "splendid", "dreadful")


def vector(word: str) -> list[float]:
    return [VECTORS[word] * (j % 3 - 1) for j in range(8)]


def write_vectors(path: Path) -> str:
    path.write_text("".join(f"{w} {' '.join(map(str, vector(w)))}\n" for w in VECTORS), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def data_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    return {
        "train": write_csv(root / "train.csv", TRAIN_ROWS),
        "validation": write_csv(root / "validation.csv", VALIDATION_ROWS),
        "test": write_csv(root / "test.csv", TEST_ROWS),
        "vectors": write_vectors(root / "vectors.txt"),
    }


def tiny_args(files, output_dir, *extra) -> list[str]:
    return [
        "--train_file", files["train"],
        "--validation_file", files["validation"],
        "--test_file", files["test"],
        "--output_dir", str(output_dir),
        "--embedding_dim", "8",
        "--hidden_size", "8",
        "--min_frequency", "1",
        "--seed", "7",
        "--per_device_train_batch_size", "4",
        "--per_device_eval_batch_size", str(EVAL_BATCH),
        "--disable_tqdm", "true",
        "--early_stopping_patience", "0",
        *extra,
    ]  # fmt: skip


def one_step_args(files, output_dir, batch_size: int, *extra) -> list[str]:
    """One plain SGD step, constant LR, no dropout, batches in file order."""
    return tiny_args(
        files,
        output_dir,
        "--per_device_train_batch_size", str(batch_size),
        "--max_steps", "1",
        "--optim", "sgd",
        "--learning_rate", "0.5",
        "--lr_scheduler_type", "constant",
        "--warmup_steps", "0",
        "--train_sampling_strategy", "sequential",
        "--embedding_dropout", "0",
        "--classifier_dropout", "0",
        "--eval_strategy", "no",
        "--save_strategy", "no",
        "--load_best_model_at_end", "false",
        *extra,
    )  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launcher_command(launcher: str, nproc: int = 2) -> list[str]:
    if launcher == "python":
        return [sys.executable]
    if launcher == "torchrun":  # --standalone: a rendezvous on a free port
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc)]
    accelerate = [sys.executable, "-m", "accelerate.commands.accelerate_cli", "launch"]
    common = ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    if launcher == "accelerate-multi":
        return [
            *accelerate,
            "--multi_gpu",
            "--num_processes",
            str(nproc),
            *common,
            "--main_process_port",
            str(free_port()),
        ]
    if launcher == "accelerate-cpu":
        return [*accelerate, "--cpu", "--num_processes", str(nproc), *common]
    if launcher == "accelerate-simple":  # neither --cpu nor --multi_gpu
        return [*accelerate, "--num_processes", str(nproc), *common]
    raise ValueError(launcher)


def subprocess_env(log_dir: Path, gpus: bool = False) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ACCELERATE_", "MASTER_", "TORCHELASTIC_"))
        and k not in {"RANK", "LOCAL_RANK", "WORLD_SIZE"}
    }
    env.update(
        HF_HUB_OFFLINE="1",
        OMP_NUM_THREADS="1",
        TOKENIZERS_PARALLELISM="false",
        GRU_HF_TEST_LOG=str(log_dir),
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        HF_HOME=str(log_dir / "hf_home"),  # no user `accelerate config` file changes what the launcher does
        HF_HUB_CACHE=HF_HUB_CACHE,
    )
    if gpus:
        env["NVIDIA_TF32_OVERRIDE"] = "0"  # cuDNN's TF32 GRU kernels would blur fp32 comparisons
    else:
        env["CUDA_VISIBLE_DEVICES"] = ""  # a CPU-only host, even on a machine with GPUs
    return env


class Run:
    """One launched job: its per-rank logs and parameters."""

    def __init__(self, tmp: Path, launcher: str, args: list[str], nproc: int = 2, gpus: bool = False):
        self.log_dir, self.out = tmp / "log", tmp / "model"
        self.log_dir.mkdir(parents=True)
        driver = tmp / "driver.py"
        driver.write_text(DRIVER.format(tests=str(TESTS)))
        self.nproc = 1 if launcher == "python" else nproc
        self.proc = subprocess.run(
            [*launcher_command(launcher, nproc), str(driver), *args],
            env=subprocess_env(self.log_dir, gpus),
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert self.proc.returncode == 0, self.proc.stdout[-3000:] + self.proc.stderr[-6000:]

    def records(self, rank: int, kind: str) -> list[dict]:
        path = self.log_dir / f"rank{rank}.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return [r for r in map(json.loads, lines) if r["kind"] == kind]

    def params(self, rank: int, when: str = "final") -> dict:
        return load_file(self.log_dir / f"{when}_rank{rank}.safetensors")

    @property
    def results(self) -> dict:
        return self.records(0, "results")[0]["results"]


def assert_same(a: dict, b: dict, atol: float = 0.0):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], rtol=0, atol=atol), (k, (a[k] - b[k]).abs().max().item())


def max_difference(a: dict, b: dict) -> float:
    return max((a[k] - b[k]).abs().max().item() for k in a)


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, data_files):
    """`accelerate launch --multi_gpu --num_processes 2` without --use_cpu: 3 epochs, evaluation and a checkpoint
    each epoch, best model at the end, validation and test sets of odd sizes."""
    tmp = tmp_path_factory.mktemp("full")
    args = tiny_args(data_files, tmp / "model", "--num_train_epochs", str(FULL_EPOCHS), "--learning_rate", "0.2")
    return Run(tmp, "accelerate-multi", args)


@pytest.fixture(scope="module")
def one_step_runs(tmp_path_factory, data_files):
    """One SGD step: torchrun 2 x 4 (without --use_cpu), one process x 8, and one process x 4 (what each of two
    unsynchronised copies would compute)."""
    runs = {}
    for name, launcher, batch in [("ddp", "torchrun", 4), ("single_2b", "python", 8), ("single_b", "python", 4)]:
        tmp = tmp_path_factory.mktemp(name)
        runs[name] = Run(tmp, launcher, one_step_args(data_files, tmp / "model", batch))
    return runs


# ---------------------------------------------------------------------------------------------------------------
# 1. Identical ranks; rank 0 alone writes
# ---------------------------------------------------------------------------------------------------------------


def test_ranks_end_identical_and_only_rank_zero_writes(full_run):
    out = full_run.out
    for rank in (0, 1):
        (setup,) = full_run.records(rank, "setup")
        assert setup["initialized"] and setup["backend"] == "gloo" and setup["world_size"] == 2, setup
    assert_same(full_run.params(0, "init"), full_run.params(1, "init"))
    assert_same(full_run.params(0), full_run.params(1))
    assert max_difference(full_run.params(0, "init"), full_run.params(0)) > 1e-3  # it trained

    saved = load_file(out / "model.safetensors")
    assert_same(saved, full_run.params(0))
    for name in ["config.json", "model.safetensors", "tokenizer.json", "README.md", "results.json"]:
        assert (out / name).is_file(), name

    rank0 = {(r["what"], os.path.abspath(r["path"])) for r in full_run.records(0, "write")}
    final = os.path.abspath(out)
    assert ("PreTrainedModel.save_pretrained", final) in rank0
    assert ("PreTrainedTokenizerBase.save_pretrained", final) in rank0
    assert ("gru_hf.model_card.write_model_card", os.path.join(final, "README.md")) in rank0
    assert ("gru_hf.training.open", os.path.join(final, "results.json")) in rank0
    assert any(what == "TrainerState.save_to_json" for what, _ in rank0)  # checkpoints: rank 0's job
    # Rank 1 writes nothing but its own RNG state in each checkpoint (needed to resume), never a shared file.
    rank1 = full_run.records(1, "write")
    assert rank1 and all(
        r["what"] == "torch.save" and os.path.basename(r["path"]) == "rng_state_1.pth" for r in rank1
    ), rank1
    assert not any(os.path.basename(r["path"]) == "rng_state_1.pth" for r in full_run.records(0, "write"))


# ---------------------------------------------------------------------------------------------------------------
# 2. One DDP step with 2 x B == one step with 2B
# ---------------------------------------------------------------------------------------------------------------


def test_ddp_step_equals_single_process_step_with_double_batch(one_step_runs):
    ddp, single = one_step_runs["ddp"], one_step_runs["single_2b"]
    # The union of the two ranks' first batches is the single process's first batch (accelerate shards the
    # sequential sampler's batches, not its indices: rank 0 gets rows 0-3, rank 1 rows 4-7).
    first = [ddp.records(rank, "batch")[0]["rows"] for rank in (0, 1)]
    assert len(first[0]) == len(first[1]) == 4
    single_first = single.records(0, "batch")[0]["rows"]
    assert sorted(first[0] + first[1]) == sorted(single_first) and len(single_first) == 8
    assert len({len(ids) for ids, _ in single_first}) > 1  # padded batches: per-rank padding differs from 2B's

    assert_same(ddp.params(0, "init"), single.params(0, "init"))
    assert max_difference(single.params(0, "init"), single.params(0)) > 1e-3  # the step changed the weights
    assert_same(ddp.params(0), single.params(0), atol=1e-6)
    assert_same(ddp.params(1), single.params(0), atol=1e-6)


# ---------------------------------------------------------------------------------------------------------------
# 3. Evaluation sees every example exactly once
# ---------------------------------------------------------------------------------------------------------------


def single_process_predict(model_dir: Path, rows, tmp: Path):
    from datasets import Dataset
    from transformers import AutoTokenizer, DataCollatorWithPadding, Trainer, TrainingArguments

    from gru_hf import GRUForSequenceClassification
    from gru_hf.metrics import build_compute_metrics

    model = GRUForSequenceClassification.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    data = Dataset.from_dict({"text": [t for t, _ in rows], "label": [model.config.label2id[y] for _, y in rows]})
    data = data.map(lambda b: tokenizer(b["text"], truncation=True), batched=True, remove_columns=["text"])
    args = TrainingArguments(
        output_dir=str(tmp), use_cpu=True, per_device_eval_batch_size=EVAL_BATCH, report_to="none", disable_tqdm=True
    )
    trainer = Trainer(
        model=model,
        args=args,
        data_collator=DataCollatorWithPadding(tokenizer),
        compute_metrics=build_compute_metrics("single_label_classification", model.config.num_labels),
    )
    return trainer.predict(data, metric_key_prefix="test")


def test_evaluation_covers_the_whole_set_once(full_run, tmp_path):
    out = full_run.out
    assert len(TEST_ROWS) % (2 * EVAL_BATCH) and len(VALIDATION_ROWS) % (2 * EVAL_BATCH)
    reference = single_process_predict(out, TEST_ROWS, tmp_path)  # one process, in file order
    expected_logits = torch.from_numpy(reference.predictions)
    assert len({tuple(row) for row in expected_logits.tolist()}) == len(TEST_ROWS)  # every text is recognisable
    for rank in (0, 1):
        calls = full_run.records(rank, "metrics")
        # An evaluation at each epoch's end + the final one on validation, then one prediction on test: always the
        # whole set, never the duplicates that pad the last batch of each process.
        expected = [len(VALIDATION_ROWS)] * (FULL_EPOCHS + 1) + [len(TEST_ROWS)]
        assert [len(c["label_ids"]) for c in calls] == expected, rank
        logits, label_ids = torch.tensor(calls[-1]["predictions"]), calls[-1]["label_ids"]
        # gru-hf's group_by_length default also orders evaluation batches by length: match each row to its text.
        distance = (logits[:, None, :] - expected_logits[None, :, :]).abs().amax(dim=-1)
        match = distance.argmin(dim=1)
        assert distance.min(dim=1).values.max() < 1e-5
        assert sorted(match.tolist()) == list(range(len(TEST_ROWS)))  # each test text exactly once
        assert label_ids == [int(reference.label_ids[i]) for i in match]

    test_metrics = full_run.results["test"]
    assert json.loads((out / "results.json").read_text())["test"] == test_metrics
    assert set(expected_logits.argmax(dim=-1).tolist()) == {0, 1}  # it learnt: not one class for every text
    for key in ("test_accuracy", "test_f1_macro"):
        assert test_metrics[key] == pytest.approx(reference.metrics[key], abs=1e-12), key
    # The loss is the mean of per-batch mean losses, each repeated per example; the last batch of each process is
    # padded with repeated examples, so under DDP it is close to, not bit-equal with, the exact per-example mean.
    assert test_metrics["test_loss"] == pytest.approx(reference.metrics["test_loss"], abs=5e-2)


def test_streamed_training_under_two_processes(tmp_path, data_files):
    """A stream is read by the main process, which sends each process its slice of every batch (accelerate's
    dispatch): the slices must have the same width, so the collator pads streamed batches to the longest text the
    tokenizer keeps. Before, texts of other lengths on the two ranks stopped the first step ("Sizes of tensors must
    match")."""
    run = Run(
        tmp_path, "torchrun", tiny_args(data_files, tmp_path / "model", "--streaming", "true", "--max_steps", "4")
    )
    assert_same(run.params(0), run.params(1))
    assert json.loads((run.out / "results.json").read_text())["test"]["test_accuracy"] >= 0


# ---------------------------------------------------------------------------------------------------------------
# 4. torchrun without --use_cpu really synchronises; `accelerate launch --cpu --num_processes 2` is refused
# ---------------------------------------------------------------------------------------------------------------


def test_ddp_trains_the_looked_up_embedding_rows_as_one_process_does(tmp_path, data_files):
    """With vectors for words that no training text holds, the Trainer trains only the embedding rows that training
    looks up: under torchrun 2 x 4, three AdamW steps equal one process's with batch 8, and the other rows keep
    their vectors on both ranks. The short recipe's adversarial training is on (each rank moves its own texts'
    embeddings, each text by the same distance), and equal too."""
    extra = ("--glove", data_files["vectors"], "--glove_extra_words", str(len(EXTRA_WORDS)))
    extra += ("--adversarial_epsilon", "0.5")
    extra += ("--optim", "adamw_torch_fused", "--max_steps", "3", "--learning_rate", "0.05")
    extra += ("--save_strategy", "steps", "--save_steps", "3")
    runs = {}
    for name, launcher, batch in [("ddp", "torchrun", 4), ("single", "python", 8)]:
        (tmp_path / name).mkdir()
        runs[name] = Run(
            tmp_path / name, launcher, one_step_args(data_files, tmp_path / name / "model", batch, *extra)
        )
    ddp, single = runs["ddp"], runs["single"]
    assert_same(ddp.params(0, "init"), single.params(0, "init"))
    assert max_difference(single.params(0, "init"), single.params(0)) > 1e-3
    for rank in (0, 1):
        assert_same(ddp.params(rank), single.params(0), atol=1e-6)
    vocab = json.loads((ddp.out / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]
    rows = load_file(ddp.out / "model.safetensors")["model.embeddings.weight"]
    assert rows.shape[0] == len(vocab)
    for word in EXTRA_WORDS:
        assert torch.equal(rows[vocab[word]], torch.tensor(vector(word))), word
    # The optimizer's moments cover the rows that training looks up, not the whole table.
    moments = torch.load(ddp.out / "checkpoint-3" / "optimizer.pt", weights_only=True)["state"]
    shapes = {tuple(state["exp_avg"].shape) for state in moments.values()}
    assert (rows.shape[0] - len(EXTRA_WORDS), 8) in shapes and (rows.shape[0], 8) not in shapes, shapes


def test_torchrun_without_use_cpu_synchronises(one_step_runs):
    ddp, unsynchronised = one_step_runs["ddp"], one_step_runs["single_b"]
    for rank in (0, 1):
        (setup,) = ddp.records(rank, "setup")
        assert setup["use_cpu"] and setup["initialized"] and setup["backend"] == "gloo" and setup["world_size"] == 2
        assert setup["device"].startswith("cpu") and setup["parallel_mode"] == "ParallelMode.DISTRIBUTED"
    assert_same(ddp.params(0), ddp.params(1))
    # Identical ranks alone prove nothing: unsynchronised copies with the same seed and data would agree too. Each
    # copy would run the whole job alone, i.e. be the single process with batch 4; DDP must differ from it.
    assert max_difference(ddp.params(0), unsynchronised.params(0)) > 1e-3
    assert max_difference(ddp.params(0), one_step_runs["single_2b"].params(0)) <= 1e-6


def test_process_group_setup_rules(monkeypatch):
    from types import SimpleNamespace

    from gru_hf.training import check_process_group_setup

    for name in ("WORLD_SIZE", "ACCELERATE_USE_CPU", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    args = SimpleNamespace(use_cpu=False)
    check_process_group_setup(args)  # one plain process: nothing to do
    assert not args.use_cpu
    monkeypatch.setenv("ACCELERATE_USE_CPU", "True")  # `accelerate launch --cpu` with one process: fine
    check_process_group_setup(args)
    monkeypatch.setenv("WORLD_SIZE", "2")  # torchrun / accelerate --multi_gpu on a CPU-only host: CPU DDP
    check_process_group_setup(args)
    assert args.use_cpu
    monkeypatch.delenv("WORLD_SIZE")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")  # accelerate's one-process launcher, several processes asked
    monkeypatch.setenv("MASTER_PORT", "29500")
    with pytest.raises(ValueError, match="`accelerate launch --cpu --num_processes N` runs a single process"):
        check_process_group_setup(SimpleNamespace(use_cpu=True))
    monkeypatch.setenv("ACCELERATE_USE_CPU", "False")  # `accelerate launch --num_processes 2`, no --multi_gpu
    with pytest.raises(ValueError, match="`accelerate launch --num_processes N` runs a single process"):
        check_process_group_setup(SimpleNamespace(use_cpu=False))
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "2")  # `accelerate launch --mpirun_hostfile`: mpirun starts them
    check_process_group_setup(SimpleNamespace(use_cpu=True))


@pytest.mark.parametrize("launcher", ["accelerate-cpu", "accelerate-simple"])
def test_accelerate_one_process_launcher_with_several_processes_is_refused(tmp_path, data_files, launcher):
    """`accelerate launch --cpu --num_processes 2`, and `accelerate launch --num_processes 2` without --multi_gpu on a
    host without GPUs, start ONE process: gru-hf refuses before any work."""
    out = tmp_path / "model"
    (tmp_path / "log").mkdir()
    command = [*launcher_command(launcher), "-m", "gru_hf", "train", *tiny_args(data_files, out)]
    proc = subprocess.run(
        command, env=subprocess_env(tmp_path / "log"), cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT
    )
    refused = [line for line in proc.stderr.splitlines() if line.startswith("gru-hf train: error:")]
    flag = "--cpu " if launcher == "accelerate-cpu" else ""
    assert len(refused) == 1, proc.stderr[-3000:]
    assert refused[0].startswith(f"gru-hf train: error: `accelerate launch {flag}--num_processes N` runs a single")
    assert "--multi_gpu --num_processes N" in refused[0] and "torchrun --nproc_per_node N" in refused[0]
    # accelerate reports the child's exit status 2 as its own failure.
    assert proc.returncode != 0 and "exit status 2" in proc.stderr
    assert not out.exists()


def test_accelerate_cpu_environment_is_refused_by_gru_hf(tmp_path, data_files, monkeypatch, capsys):
    """What `accelerate launch --cpu --num_processes 2` hands its single child: exit 2 and one line."""
    from gru_hf.cli import main

    out = tmp_path / "model"
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ACCELERATE_USE_CPU", "True")
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(free_port()))
    code = main(["train", *tiny_args(data_files, out)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("gru-hf train: error: `accelerate launch --cpu"), lines
    assert not out.exists()


# ---------------------------------------------------------------------------------------------------------------
# 5. bf16 / fp16 on CPU
# ---------------------------------------------------------------------------------------------------------------


def test_bf16_trains_on_cpu(tmp_path, data_files):
    """bf16 on a CPU is real mixed precision with this Trainer / accelerate / torch: bfloat16 autocast, float32
    weights, finite losses."""
    from transformers import TrainerCallback

    from gru_hf.cli import parse_train_arguments
    from gru_hf.training import train

    seen = {"losses": [], "dtypes": set()}

    def classifier_dtype(module, inputs, output):
        if module.training:
            seen["dtypes"].add(output.dtype)

    class Probe(TrainerCallback):
        def on_train_begin(self, args, state, control, model=None, **kwargs):
            seen["device"] = str(args.device)
            model.classifier.register_forward_hook(classifier_dtype)

        def on_log(self, args, state, control, logs=None, **kwargs):
            seen["losses"] += [v for k, v in (logs or {}).items() if k in ("loss", "train_loss")]

    out = tmp_path / "model"
    extra = ["--num_train_epochs", "2", "--logging_steps", "1", "--bf16", "true", "--use_cpu", "true"]
    results = train(*parse_train_arguments(tiny_args(data_files, out, *extra)), callbacks=[Probe()])
    assert seen["device"] == "cpu" and len(seen["losses"]) >= 12
    assert all(math.isfinite(v) for v in seen["losses"]), seen["losses"]
    assert seen["dtypes"] == {torch.bfloat16}  # autocast really ran
    assert math.isfinite(results["validation"]["eval_loss"]) and math.isfinite(results["test"]["test_loss"])
    weights = load_file(out / "model.safetensors")
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in weights.values())


def test_fp16_on_cpu_is_refused(tmp_path, data_files, capsys):
    """accelerate turns fp16 autocast and loss scaling off on a CPU: --fp16 would silently train in float32."""
    from gru_hf.cli import main

    out = tmp_path / "model"
    code = main(["train", *tiny_args(data_files, out, "--fp16", "true", "--use_cpu", "true")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("gru-hf train: error: --fp16 has no effect on a CPU") and "--bf16" in err[0]
    assert not out.exists()


def test_fp16_refusal_rules(monkeypatch):
    from types import SimpleNamespace

    import gru_hf.distributed as distributed
    from gru_hf.training import check_process_group_setup

    monkeypatch.setattr(distributed, "has_fp16_accelerator", lambda: True)
    distributed.check_mixed_precision(SimpleNamespace(fp16=True, use_cpu=False))  # a GPU: fine
    distributed.check_mixed_precision(SimpleNamespace(fp16=False, use_cpu=True))
    with pytest.raises(ValueError, match="--fp16 has no effect on a CPU"):
        distributed.check_mixed_precision(SimpleNamespace(fp16=True, use_cpu=True))  # --use_cpu on a GPU host
    # torchrun on a CPU-only host: check_process_group_setup switches to CPU DDP, then fp16 is refused.
    monkeypatch.setattr(distributed, "has_fp16_accelerator", lambda: False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("WORLD_SIZE", "2")
    args = SimpleNamespace(fp16=True, use_cpu=False)
    check_process_group_setup(args)
    with pytest.raises(ValueError, match="--fp16 has no effect on a CPU"):
        distributed.check_mixed_precision(args)


# ---------------------------------------------------------------------------------------------------------------
# GPU only
# ---------------------------------------------------------------------------------------------------------------


def needs_gpus(n: int):
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    return pytest.mark.skipif(count < n, reason=f"needs {n} CUDA GPUs, found {count}")


@pytest.mark.gpu
@needs_gpus(2)
def test_nccl_two_gpus_step_equals_double_batch(tmp_path, data_files):
    ddp = Run(tmp_path / "ddp", "torchrun", one_step_args(data_files, tmp_path / "ddp" / "model", 4), gpus=True)
    single = Run(tmp_path / "single", "python", one_step_args(data_files, tmp_path / "single" / "model", 8), gpus=True)
    for rank in (0, 1):
        (setup,) = ddp.records(rank, "setup")
        assert setup["backend"] == "nccl" and setup["world_size"] == 2 and setup["device"] == f"cuda:{rank}"
    assert_same(ddp.params(0), ddp.params(1))
    assert_same(ddp.params(0), single.params(0), atol=1e-5)


def padded_batch(vocab_size: int, pad: int):
    """7 texts of lengths 1..7, right- and left-padded: DataParallel's chunks get different real lengths."""
    generator = torch.Generator().manual_seed(0)
    ids = torch.full((7, 9), pad)
    mask = torch.zeros(7, 9, dtype=torch.long)
    for row, length in enumerate([7, 1, 5, 2, 6, 3, 4]):
        start = 9 - length if row % 2 else 0
        ids[row, start : start + length] = torch.randint(1, vocab_size, (length,), generator=generator)
        mask[row, start : start + length] = 1
    return ids, mask


@pytest.mark.gpu
@needs_gpus(2)
@pytest.mark.parametrize("bidirectional, pooling", [(True, "max"), (True, "last"), (False, "mean")])
def test_data_parallel_matches_one_device(bidirectional, pooling, request):
    from gru_hf import GRUConfig, GRUForSequenceClassification

    torch.manual_seed(0)
    config = GRUConfig(
        vocab_size=50,
        embedding_dim=16,
        hidden_size=12,
        num_hidden_layers=2,
        bidirectional=bidirectional,
        pooling=pooling,
        embedding_dropout=0.0,
        hidden_dropout=0.0,
        classifier_dropout=0.0,
        pad_token_id=0,
        id2label={0: "a", 1: "b", 2: "c"},
    )
    model = GRUForSequenceClassification(config).to("cuda:0").eval()
    tf32, torch.backends.cudnn.allow_tf32 = torch.backends.cudnn.allow_tf32, False
    request.addfinalizer(lambda: setattr(torch.backends.cudnn, "allow_tf32", tf32))
    ids, mask = padded_batch(config.vocab_size, config.pad_token_id)
    ids, mask = ids.to("cuda:0"), mask.to("cuda:0")
    parallel = torch.nn.DataParallel(model, device_ids=[0, 1])
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask).logits
        got = parallel(input_ids=ids, attention_mask=mask).logits
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    # Each text alone, unpadded, gives the same logits: padding never reaches a state on any replica.
    with torch.no_grad():
        for row in range(ids.size(0)):
            alone = model(input_ids=ids[row][mask[row].bool()].unsqueeze(0)).logits
            torch.testing.assert_close(got[row : row + 1], alone, rtol=1e-4, atol=1e-5)
    # Training through the replicas: gradients reach every parameter.
    model.train()
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0], device="cuda:0")
    loss = parallel(input_ids=ids, attention_mask=mask, labels=labels).loss.mean()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters() if p.requires_grad)


@pytest.mark.gpu
@needs_gpus(2)
def test_trainer_falls_back_to_data_parallel_on_two_gpus(tmp_path, data_files):
    """No launcher, 2 visible GPUs: the Trainer wraps the model in nn.DataParallel; training still works."""
    from transformers import TrainerCallback

    from gru_hf.cli import parse_train_arguments
    from gru_hf.training import train

    seen = {}

    class Probe(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            seen["n_gpu"] = args.n_gpu

    results = train(*parse_train_arguments(tiny_args(data_files, tmp_path / "model", "--num_train_epochs", "2")),
                    callbacks=[Probe()])  # fmt: skip
    assert seen["n_gpu"] >= 2
    assert math.isfinite(results["test"]["test_loss"])


@pytest.mark.gpu
@needs_gpus(1)
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_on_cuda(tmp_path, data_files, precision):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    from gru_hf.cli import parse_train_arguments
    from gru_hf.training import train

    out = tmp_path / "model"
    results = train(
        *parse_train_arguments(tiny_args(data_files, out, "--num_train_epochs", "2", f"--{precision}", "true"))
    )
    assert math.isfinite(results["validation"]["eval_loss"]) and math.isfinite(results["test"]["test_loss"])
    weights = load_file(out / "model.safetensors")
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in weights.values())
