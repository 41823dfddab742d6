"""Checks for how a run is spread over devices and processes, made before the Trainer sets anything up."""

import logging
import os

import torch
from transformers import TrainingArguments
from transformers import utils as hf_utils

logger = logging.getLogger(__name__)

# Accelerators on which accelerate runs fp16 autocast with loss scaling (see `accelerate.Accelerator.__init__`).
_FP16_DEVICE_CHECKS = (
    "is_torch_xpu_available",
    "is_torch_npu_available",
    "is_torch_mlu_available",
    "is_torch_musa_available",
    "is_torch_hpu_available",
    "is_torch_mps_available",
)


def has_fp16_accelerator() -> bool:
    """Whether a device that runs fp16 mixed precision (CUDA, XPU, NPU, MLU, MUSA, HPU, MPS) is present."""
    if torch.cuda.is_available():
        return True
    return any(getattr(hf_utils, name, lambda: False)() for name in _FP16_DEVICE_CHECKS)


def check_mixed_precision(args) -> None:
    """Refuse `--fp16` on a CPU: accelerate then trains in float32 without autocast or loss scaling, so the flag
    would silently do nothing. `--bf16` on a CPU is real mixed precision (bfloat16 autocast) and is kept."""
    if args.fp16 and (args.use_cpu or not has_fp16_accelerator()):
        raise ValueError(
            "--fp16 has no effect on a CPU (accelerate trains in float32 there, without autocast or loss scaling): "
            "use --bf16 for mixed precision on a CPU, or train on a GPU"
        )


def _true(value: str | None) -> bool:
    return str(value).lower() in {"1", "true", "yes"}


def check_process_group_setup(args: TrainingArguments) -> None:
    """Make several processes on a host without GPUs really train together, or refuse.

    - torchrun / `accelerate launch --multi_gpu` on a CPU-only host: without `use_cpu` every process would train its
      own unsynchronised copy; switch to CPU DDP (gloo) instead.
    - `accelerate launch --cpu --num_processes N` (or `--num_processes N` without `--multi_gpu` on a host without
      several GPUs) starts ONE process: refuse rather than silently train alone.
    """
    if not torch.cuda.is_available():
        args.dataloader_pin_memory = False  # nothing to pin to
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size > 1 and not args.use_cpu and not torch.cuda.is_available():
        logger.warning("%d processes and no GPU: training with CPU DDP (gloo), as with --use_cpu", world_size)
        args.use_cpu = True
    mpi = any(name in os.environ for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"))
    if (
        "WORLD_SIZE" not in os.environ
        and "ACCELERATE_USE_CPU" in os.environ  # accelerate's one-process launcher ...
        and os.environ.get("MASTER_ADDR")  # ... asked for several processes
        and os.environ.get("MASTER_PORT")
        and not mpi  # `accelerate launch --mpirun_hostfile`: mpirun starts them all
    ):
        flag = "--cpu " if _true(os.environ.get("ACCELERATE_USE_CPU")) else ""
        raise ValueError(
            f"`accelerate launch {flag}--num_processes N` runs a single process: for N synchronised processes use "
            "`accelerate launch --multi_gpu --num_processes N` or `torchrun --nproc_per_node N` (without GPUs gru-hf "
            "then trains with CPU DDP)"
        )


__all__ = ["check_mixed_precision", "check_process_group_setup", "has_fp16_accelerator"]
