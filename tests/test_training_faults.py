"""Faults during training: a run killed with SIGKILL and resumed, a checkpoint that cannot be written.

Same-seed determinism (identical metrics and weights from two runs) is covered by
tests/test_training.py::test_same_seed_same_weights_and_metrics, and an in-process crash + resume by
tests/test_training.py::test_resume_from_checkpoint_matches_uninterrupted_run; they are not repeated here."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import tiny_args, write_tiny_files
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, TrainerCallback, pipeline

from gru_hf.cli import USER_ERRORS, parse_train_arguments
from gru_hf.training import train

# Loaded at start-up by the child processes (PYTHONPATH): pauses a `python -m gru_hf train` run at a chosen point
# so that the test can SIGKILL it there, deterministically. "step:N" pauses after optimizer step N; "save:N" pauses
# inside the saving of checkpoint-N, after its weights and optimizer state and before its trainer_state.json.
PAUSE_HOOK = """
import os

_where = os.environ.get("GRU_HF_TEST_PAUSE")
if _where:
    import time

    import transformers

    _kind, _step = _where.split(":")
    _step = int(_step)

    def _pause():
        open(os.environ["GRU_HF_TEST_PAUSED"], "w").close()
        time.sleep(600)

    if _kind == "step":

        class _Pause(transformers.TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                if state.global_step == _step:
                    _pause()

        _init = transformers.Trainer.__init__

        def __init__(self, *args, **kwargs):
            _init(self, *args, **kwargs)
            self.add_callback(_Pause())

        transformers.Trainer.__init__ = __init__
    else:
        _save_rng_state = transformers.Trainer._save_rng_state

        def _save_rng_state_then_pause(self, output_dir):
            if self.state.global_step == _step:
                _pause()
            return _save_rng_state(self, output_dir)

        transformers.Trainer._save_rng_state = _save_rng_state_then_pause
"""

STEPS_PER_EPOCH = 5  # tiny_files: 40 training texts (some held out for validation), batch size 8


def child_env(tmp_path, pause=None):
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir(exist_ok=True)
    (hook_dir / "sitecustomize.py").write_text(PAUSE_HOOK)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(hook_dir)}
    env.pop("GRU_HF_TEST_PAUSE", None)
    if pause:
        env["GRU_HF_TEST_PAUSE"] = pause
        env["GRU_HF_TEST_PAUSED"] = str(tmp_path / f"paused-{pause.replace(':', '-')}")
    return env


def gru_hf_train(args, env, cwd):
    return subprocess.run(
        [sys.executable, "-m", "gru_hf", "train", *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def start_and_kill(args, env, cwd):
    """Start `gru-hf train`, wait until the hook has paused it, SIGKILL it."""
    log = open(cwd / "killed-run.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gru_hf", "train", *args], env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    paused = env["GRU_HF_TEST_PAUSED"]
    deadline = time.monotonic() + 240
    while not os.path.exists(paused):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            pytest.fail(f"the run never paused:\n{(cwd / 'killed-run.log').read_text()[-3000:]}")
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL
    log.close()


def checkpoints(path):
    return sorted((p for p in os.listdir(path) if p.startswith("checkpoint-")), key=lambda p: int(p.split("-")[1]))


def final_state(path):
    results = json.loads((path / "results.json").read_text())
    return results, load_file(path / "model.safetensors")


def assert_same_run(a, b):
    (results_a, weights_a), (results_b, weights_b) = a, b
    for key in ("test_accuracy", "test_loss", "test_f1_macro"):
        assert results_a["test"][key] == pytest.approx(results_b["test"][key], abs=1e-6), key
    assert results_a["validation"]["eval_loss"] == pytest.approx(results_b["validation"]["eval_loss"], abs=1e-6)
    assert weights_a.keys() == weights_b.keys()
    for name in weights_a:
        torch.testing.assert_close(weights_a[name], weights_b[name], rtol=0, atol=1e-6, msg=name)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The final state of one uninterrupted run on the tiny files (the same texts every test's `tiny_files` holds)."""
    tmp_path = tmp_path_factory.mktemp("uninterrupted")
    out = tmp_path / "full"
    result = gru_hf_train(tiny_args(write_tiny_files(tmp_path), out), child_env(tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    return final_state(out)


def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(tmp_path, tiny_files, uninterrupted):
    out = tmp_path / "killed"
    args = tiny_args(tiny_files, out)
    # Killed in the middle of the second epoch: checkpoint-5 (end of epoch 1) is on disk, the final model is not.
    start_and_kill(args, child_env(tmp_path, pause=f"step:{STEPS_PER_EPOCH + 2}"), tmp_path)
    assert checkpoints(out) == [f"checkpoint-{STEPS_PER_EPOCH}"]
    assert not (out / "model.safetensors").exists() and not (out / "results.json").exists()

    resumed = gru_hf_train([*args, "--resume_from_checkpoint", "true"], child_env(tmp_path), tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert_same_run(final_state(out), uninterrupted)


def test_sigkill_while_saving_a_checkpoint_then_resume(tmp_path, tiny_files, uninterrupted):
    out = tmp_path / "killed"
    args = tiny_args(tiny_files, out)
    # Killed while writing checkpoint-10: its weights are on disk, its trainer_state.json is not.
    start_and_kill(args, child_env(tmp_path, pause=f"save:{2 * STEPS_PER_EPOCH}"), tmp_path)
    partial = out / f"checkpoint-{2 * STEPS_PER_EPOCH}"
    assert checkpoints(out) == [f"checkpoint-{STEPS_PER_EPOCH}", partial.name]
    assert (partial / "model.safetensors").exists() and not (partial / "trainer_state.json").exists()

    resumed = gru_hf_train([*args, "--resume_from_checkpoint", "true"], child_env(tmp_path), tmp_path)
    # Resuming from the last *complete* checkpoint gives the uninterrupted result; refusing with one clear line
    # that names the incomplete checkpoint is acceptable too. A stack trace, or a silently different run, is not.
    if resumed.returncode == 0:
        assert_same_run(final_state(out), uninterrupted)
    else:
        last = resumed.stderr.strip().splitlines()[-1]
        assert resumed.returncode == 2 and "Traceback" not in resumed.stderr, resumed.stderr[-3000:]
        assert last.startswith("gru-hf train: error:") and partial.name in last, last


class BlockCheckpoint(TrainerCallback):
    """After the first checkpoint, make the next one unwritable: a read-only output directory (chmod; not for root,
    who may write anyway), or a file where the checkpoint directory must go (works for everyone)."""

    def __init__(self, how):
        self.how = how

    def on_save(self, args, state, control, **kwargs):
        if state.global_step != STEPS_PER_EPOCH:
            return
        if self.how == "chmod":
            os.chmod(args.output_dir, 0o555)
        else:
            with open(os.path.join(args.output_dir, f"checkpoint-{2 * STEPS_PER_EPOCH}"), "w") as f:
                f.write("in the way")


@pytest.mark.parametrize("how", ["chmod", "path_taken_by_a_file"])
def test_checkpoint_that_cannot_be_written_fails_clearly_and_keeps_the_previous_one(tmp_path, tiny_files, how):
    if how == "chmod" and os.geteuid() == 0:
        pytest.skip("running as root: a 0o555 directory does not stop root from writing (see the other case)")
    out = tmp_path / "model"
    with pytest.raises(OSError) as error:
        train(*parse_train_arguments(tiny_args(tiny_files, out)), callbacks=[BlockCheckpoint(how)])
    os.chmod(out, 0o755)
    blocked = f"checkpoint-{2 * STEPS_PER_EPOCH}"
    assert blocked in str(error.value), error.value  # the message names the checkpoint it could not write
    assert isinstance(error.value, USER_ERRORS)  # so `gru-hf train` reports it as one line
    previous = out / f"checkpoint-{STEPS_PER_EPOCH}"
    assert {"model.safetensors", "trainer_state.json", "optimizer.pt"} <= set(os.listdir(previous))
    model = AutoModelForSequenceClassification.from_pretrained(previous)
    assert model.config.id2label == {0: "neg", 1: "pos"}
    assert pipeline("text-classification", model=str(previous))("good film")[0]["label"] in {"neg", "pos"}
    assert json.loads((previous / "trainer_state.json").read_text())["global_step"] == STEPS_PER_EPOCH
