"""Where a Trainer step's time goes: the engine section's Trainer (engine.speed_trainer, same data and sizes)
trained under torch.profiler after warm-up steps, with record_function ranges around each phase of the step (data
loading, collator, the model's forward stages, loss, backward, clipping, optimizer, scheduler, zero_grad,
callbacks, logging), then the Trainer's own knobs that could cut the time outside the GRU, each timed against the
current settings on the same batches.

Phase times are exclusive: a range's time less that of the phase ranges inside it (the collator is not counted
in "data loader"). The GRU backward is the autograd node of `_PackedGRULayer`; "Trainer loop, rest" is the step's
wall time that no range covers (the loop itself, FLOP and token counting, the NaN check of the loss)."""

import functools
import gc
import time
from functools import partial

import torch
from torch.profiler import ProfilerActivity, profile, record_function

from .data import speed_data
from .engine import size_sets, speed_trainer, timed_trainer
from .report import fmt, table
from .timing import log

GRU_BACKWARD = "_PackedGRULayerBackward"
# (range name, what it covers); in the order of a step.
PHASES = (
    ("data loader", "next(batches): sampler, dataset rows (collator excluded)"),
    ("collator", "padding the batch into tensors"),
    ("Trainer: training_step", "model.train(), moving inputs, loss scaling"),
    ("Trainer: compute_loss", "around the model call"),
    ("forward: input checks", "GRUModel._check_inputs"),
    ("forward: embedding + front re-layout", "GRUModel._embed_at_front"),
    ("forward: packing + unpacking", "GRUModel._run_gru outside the recurrence"),
    ("forward: GRU recurrence", "GRUModel._run_own_recurrence"),
    ("forward: pooling, classifier, caller re-layout", "the rest of the model's forward"),
    ("loss", "GRUForSequenceClassification._loss"),
    ("backward: GRU recurrence", "the autograd node of _PackedGRULayer"),
    ("backward: rest", "embedding, packing, pooling, classifier and loss gradients"),
    ("clip_grad_norm", "max_grad_norm=1.0: norm of all gradients, then scaling"),
    ("grad norm for logs", "Trainer._get_grad_norm"),
    ("optimizer.step", "AdamW"),
    ("scheduler.step", "linear schedule"),
    ("zero_grad", "model.zero_grad()"),
    ("callbacks", "every callback event of the step"),
    ("logging / saving / evaluation", "Trainer._maybe_log_save_evaluate"),
)
PHASE_NAMES = tuple(name for name, _ in PHASES)
REST = "Trainer loop, rest"
EVERY_ROW = "every embedding row in the optimizer (the rows no text looks up too)"


def ranged(name: str, fn):
    """`fn` inside a profiler range called `name`."""

    @functools.wraps(fn)
    def inner(*args, **kwargs):
        with record_function(name):
            return fn(*args, **kwargs)

    return inner


def instrument_model(model) -> None:
    """Ranges around the stages of gru-hf's forward (instance attributes: the class is untouched)."""
    inner = model.model
    for attr, name in (
        ("_check_inputs", "forward: input checks"),
        ("_embed_at_front", "forward: embedding + front re-layout"),
        ("_run_gru", "forward: packing + unpacking"),
        ("_run_own_recurrence", "forward: GRU recurrence"),
    ):
        setattr(inner, attr, ranged(name, getattr(inner, attr)))
    model._loss = ranged("loss", model._loss)
    model.forward = ranged("forward: pooling, classifier, caller re-layout", model.forward)


class StepWindow:
    """Starts the clock (and the profiler, if any) after `warmup` optimizer steps and stops both `steps` later."""

    def __init__(self, warmup: int, steps: int, profiler=None):
        self.warmup, self.steps, self.profiler = warmup, steps, profiler
        self.started = self.seconds = None

    def after_step(self, step: int) -> None:
        if step == self.warmup and self.started is None:
            if self.profiler is not None:
                self.profiler.start()
            self.started = time.perf_counter()
        elif step == self.warmup + self.steps and self.seconds is None and self.started is not None:
            self.seconds = time.perf_counter() - self.started
            if self.profiler is not None:
                self.profiler.stop()


def profiled_trainer_class(window: StepWindow, instrument: bool):
    """gru-hf's `GRUTrainer` with its step phases inside profiler ranges (when `instrument`); the window's clock
    starts and stops at the end of a step, outside every range."""
    from gru_hf.training import GRUTrainer

    class ProfiledTrainer(GRUTrainer):
        def _maybe_log_save_evaluate(self, *args, **kwargs):
            if instrument:
                with record_function("logging / saving / evaluation"):
                    super()._maybe_log_save_evaluate(*args, **kwargs)
            else:
                super()._maybe_log_save_evaluate(*args, **kwargs)
            window.after_step(self.state.global_step)

    if not instrument:
        return ProfiledTrainer

    class InstrumentedTrainer(ProfiledTrainer):
        def get_batch_samples(self, *args, **kwargs):
            with record_function("data loader"):
                return super().get_batch_samples(*args, **kwargs)

        def training_step(self, *args, **kwargs):
            with record_function("Trainer: training_step"):
                return super().training_step(*args, **kwargs)

        def compute_loss(self, *args, **kwargs):
            with record_function("Trainer: compute_loss"):
                return super().compute_loss(*args, **kwargs)

        def _clip_grad_norm(self, model):
            with record_function("clip_grad_norm"):
                return super()._clip_grad_norm(model)

        def _get_grad_norm(self, model, grad_norm=None):
            with record_function("grad norm for logs"):
                return super()._get_grad_norm(model, grad_norm=grad_norm)

        def _inner_training_loop(self, *args, **kwargs):
            handler = self.callback_handler
            handler.call_event = ranged("callbacks", handler.call_event)
            self.accelerator.backward = ranged("backward: rest", self.accelerator.backward)
            return super()._inner_training_loop(*args, **kwargs)

    return InstrumentedTrainer


class InstrumentOptimizer:
    """A callback that, once the Trainer has built (and wrapped) them, puts the optimizer step, the scheduler step
    and zero_grad into ranges."""

    def __new__(cls):
        from transformers import TrainerCallback

        class Callback(TrainerCallback):
            def on_train_begin(self, args, state, control, model=None, optimizer=None, lr_scheduler=None, **kw):
                optimizer.step = ranged("optimizer.step", optimizer.step)
                lr_scheduler.step = ranged("scheduler.step", lr_scheduler.step)
                model.zero_grad = ranged("zero_grad", model.zero_grad)

        return Callback()


def is_phase(event) -> bool:
    return event.name in PHASE_NAMES or (event.name.startswith("autograd::engine") and GRU_BACKWARD in event.name)


def phase_name(event) -> str:
    return "backward: GRU recurrence" if GRU_BACKWARD in event.name else event.name


def phase_times(events) -> dict[str, float]:
    """Exclusive microseconds per phase: each phase range's time less the phase ranges nested in it."""

    def nested(event) -> float:
        total = 0.0
        for child in event.cpu_children:
            total += child.cpu_time_total if is_phase(child) else nested(child)
        return total

    times = dict.fromkeys(PHASE_NAMES, 0.0)
    for event in events:
        if is_phase(event):
            times[phase_name(event)] += event.cpu_time_total - nested(event)
    return times


def top_ops(profiler, steps: int, n: int = 8) -> list[dict]:
    """The `n` ops with the most self CPU time (the phase ranges themselves left out), per step."""
    rows = [a for a in profiler.key_averages() if a.key not in PHASE_NAMES and not a.key.startswith("autograd::")]
    rows.sort(key=lambda a: a.self_cpu_time_total, reverse=True)
    return [
        {
            "op": a.key,
            "self_ms_per_step": a.self_cpu_time_total / 1000.0 / steps,
            "calls_per_step": a.count / steps,
        }
        for a in rows[:n]
    ]


def window_run(data, sizes, workdir, model_config, warmup: int, steps: int, profiled: bool, **overrides) -> dict:
    """Train warmup + steps optimizer steps; time (and maybe profile) the last `steps`."""
    prof = profile(activities=[ProfilerActivity.CPU]) if profiled else None
    window = StepWindow(warmup, steps, prof)
    callbacks = [InstrumentOptimizer()] if profiled else []
    trainer, _ = speed_trainer(
        data,
        sizes,
        workdir,
        model_config,
        callbacks,
        trainer_class=profiled_trainer_class(window, profiled),
        max_steps=warmup + steps,
        **overrides,
    )
    if profiled:
        instrument_model(trainer.model)
        trainer.data_collator = ranged("collator", trainer.data_collator)
    trainer.train()
    if window.seconds is None:
        raise RuntimeError(f"profile: training ended before step {warmup + steps}")
    result = {"ms_per_step": 1000.0 * window.seconds / steps}
    if profiled:
        result["profiler"] = prof
    return result


def profile_size(data, sizes, model_config, workdir, warmup: int, steps: int) -> dict:
    """Phase table and top ops of one size set, plus the same window timed without the profiler."""
    plain = min(
        (window_run(data, sizes, workdir, model_config, warmup, steps, False) for _ in range(2)),
        key=lambda r: r["ms_per_step"],
    )
    run = window_run(data, sizes, workdir, model_config, warmup, steps, True)
    prof = run["profiler"]
    step_ms = run["ms_per_step"]
    times = phase_times(prof.events())
    phases = {name: times[name] / 1000.0 / steps for name in PHASE_NAMES}
    phases[REST] = max(0.0, step_ms - sum(phases.values()))
    return {
        "warmup_steps": warmup,
        "profiled_steps": steps,
        "ms_per_step_profiled": step_ms,
        "ms_per_step_unprofiled": plain["ms_per_step"],
        "phases": {name: {"ms_per_step": ms, "share": ms / step_ms} for name, ms in phases.items()},
        "top_ops": top_ops(prof, steps),
    }


def knob_jobs(data, sizes, model_config, workdir, quick: bool) -> dict:
    """{name: job}: the current settings first, then one Trainer knob (or collator) changed per row."""
    from transformers import DataCollatorWithPadding

    run = partial(timed_trainer, data, sizes, 1, workdir, model_config)
    jobs = {
        "current (adamw_torch_fused, max_grad_norm 1.0, PaddingCollator)": run,
        "DataCollatorWithPadding (tokenizer.pad)": partial(run, collator=DataCollatorWithPadding(data["tokenizer"])),
    }
    if quick:
        return jobs
    if sizes.get("extra_rows"):
        jobs[EVERY_ROW] = partial(run, every_row=True)
    return {
        **jobs,
        "optim adamw_torch (foreach)": partial(run, optim="adamw_torch"),
        "training rows read from Arrow (datasets' __getitems__)": partial(run, rows_in_memory=False),
        "max_grad_norm 0 (no clipping: changes training)": partial(run, max_grad_norm=0.0),
        "logging every 2% of steps (the job's default)": partial(run, logging_strategy="steps", logging_steps=0.02),
        "dataloader_num_workers 1": partial(run, dataloader_num_workers=1),
    }


def time_knobs(jobs: dict, repeats: int) -> dict:
    """Every job `repeats` times, round-robin; each one's fastest train_runtime (the Trainer's own clock: with
    data loader workers the collator runs in another process, out of reach of a token meter), and its ratio to the
    first job's."""
    runtimes = {name: [] for name in jobs}
    for _ in range(repeats):
        for name, job in jobs.items():
            log(f"  {name}")
            runtimes[name].append(job()["tokens_per_s_train_runtime"])
            gc.collect()
    base = max(next(iter(runtimes.values())))
    return {
        name: {"tokens_per_s": max(rates), "all_tokens_per_s": rates, "vs_current": max(rates) / base}
        for name, rates in runtimes.items()
    }


def run(data_dir: str, workdir: str, quick: bool) -> dict:
    data = speed_data(data_dir, workdir, quick)
    warmup, steps = (1, 2) if quick else (20, 200)
    section = {"data": data["stats"], "batch_size": 64, "threads": torch.get_num_threads(), "sizes": {}}
    for size_name, (sizes, model_config) in size_sets(quick).items():
        log(f"profile: {size_name}")
        block = profile_size(data, sizes, model_config, workdir, warmup, steps)
        block["knobs"] = time_knobs(knob_jobs(data, sizes, model_config, workdir, quick), 1 if quick else 3)
        section["sizes"][size_name] = {"sizes": sizes, "model_config": model_config, **block}
    return section


def render(results: dict) -> str:
    d = results["data"]
    lines = [
        f"The engine section's Trainer on SST-2 train (first {d['texts']:,} texts, mean length "
        f"{d['mean_length']:.1f}), batch {results['batch_size']}, {results['threads']} thread(s). Phases are "
        "exclusive record_function ranges per optimizer step; % of the profiled step's wall time.",
        "",
    ]
    for size_name, block in results["sizes"].items():
        lines += [
            f"**{size_name}**: {block['profiled_steps']} steps after {block['warmup_steps']} warm-up; "
            f"{fmt(block['ms_per_step_profiled'])} ms per step under the profiler, "
            f"{fmt(block['ms_per_step_unprofiled'])} ms without it (same batches).",
            "",
        ]
        phase_rows = [
            [name, fmt(row["ms_per_step"], 3), f"{100 * row['share']:.1f}"] for name, row in block["phases"].items()
        ]
        lines += [*table(["phase", "ms/step", "% of step"], ["l", "r", "r"], phase_rows), ""]
        op_rows = [
            [f"`{o['op']}`", fmt(o["self_ms_per_step"], 3), fmt(o["calls_per_step"], 1)] for o in block["top_ops"]
        ]
        lines += [*table(["top op (self CPU)", "ms/step", "calls/step"], ["l", "r", "r"], op_rows), ""]
        knob_rows = [
            [name, fmt(row["tokens_per_s"], 0), f"{row['vs_current']:.3f}x"] for name, row in block["knobs"].items()
        ]
        lines += [
            *table(
                ["Trainer setting (1 epoch)", "real tokens/s (train_runtime)", "vs current"],
                ["l", "r", "r"],
                knob_rows,
            ),
            "",
        ]
    every_row = any(EVERY_ROW in block["knobs"] for block in results["sizes"].values())
    lines.append(
        "Knobs: one change each against the current settings, interleaved, best of the repeats, same seed and so "
        "the same batches. max_grad_norm 0 is reported, not adopted: it changes what is trained."
        + (
            " Every embedding row: `GRUTrainer.train_looked_up_rows_only` off, as every step was before the Trainer "
            "left the rows that no training text looks up out of the gradient and the optimizer (the same training "
            "up to floating-point rounding)."
            if every_row
            else ""
        )
    )
    return "\n".join(lines)
