"""Checks for how a run is spread over devices and processes, made before the Trainer sets anything up."""

import torch
from transformers import utils as hf_utils

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


__all__ = ["check_mixed_precision", "has_fp16_accelerator"]
