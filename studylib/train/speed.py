"""Speed settings for training: CPU threads, memory format, AMP (the frozen-prefix shortcuts are in `prefix`).

Each leaves results unchanged up to float rounding; `loop.fit` records which it used
(`FitResult.speed`).
- threads: on CPU, torch's thread count is capped at the cores this process may use;
- channels_last on CPU for nets with depthwise convolutions (EfficientNets: about 1.5x; it does
  not help ResNets and slows the small CNN, so they keep NCHW);
- AMP (bf16 where the GPU has it, else fp16) on CUDA only.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from torch import nn

__all__ = ["autocast", "cpu_threads", "pick_amp_dtype", "usable_cpus", "use_channels_last"]


def autocast(device: torch.device, amp_dtype):
    """Autocast context, a no-op unless on CUDA with an AMP dtype."""
    return torch.autocast("cuda", dtype=amp_dtype, enabled=amp_dtype is not None and device.type == "cuda")


def pick_amp_dtype(device: torch.device):
    """bf16 where the GPU has it (no loss scaling needed), else fp16; None off CUDA."""
    return None if device.type != "cuda" else torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def usable_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup CPU quota (containers)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        n = os.cpu_count() or 1
    for path in ("/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"):
        try:
            text = Path(path).read_text().split()
            if path.endswith("cpu.max"):
                quota, period = text[0], text[1]
            else:
                quota, period = text[0], Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text().split()[0]
            if quota not in ("max", "-1") and int(period) > 0:
                n = min(n, max(1, math.ceil(int(quota) / int(period))))
            break
        except (OSError, ValueError, IndexError):
            continue
    return max(1, n)


def cpu_threads(requested: int | None = None) -> int:
    """Threads for CPU training: `requested`, else torch's current setting (its default, or what the
    user or OMP_NUM_THREADS set) capped at `usable_cpus()`; more threads than cores only contend."""
    if requested:
        return int(requested)
    current = torch.get_num_threads()
    return current if os.environ.get("OMP_NUM_THREADS") else max(1, min(current, usable_cpus()))


def use_channels_last(model: nn.Module, requested: bool | None, device: torch.device) -> bool:
    """`requested` when set, else by default: on CPU for nets with depthwise/grouped convolutions.

    Measured on CPU (2 cores, 48x48, batch 32, train steps): EfficientNet-Lite0 1.4-1.6x and
    EfficientNet-B0 1.5-2x faster; ResNet18/50 unchanged (within noise); the small CNN 20% slower.
    """
    if requested is not None:
        return bool(requested)
    return device.type == "cpu" and any(isinstance(m, nn.Conv2d) and m.groups > 1 for m in model.modules())
