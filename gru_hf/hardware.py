"""What the job ran on, in one line (for the model card and the benchmark report)."""

import os
import platform

import torch


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware_description() -> str:
    """`"2 CPU cores (AMD EPYC 7B13)"`, or `"1 x NVIDIA H200"` where CUDA is available."""
    if torch.cuda.is_available():
        return f"{torch.cuda.device_count()} x {torch.cuda.get_device_name(0)}"
    return f"{os.cpu_count()} CPU cores ({cpu_name()})"


__all__ = ["cpu_name", "hardware_description"]
