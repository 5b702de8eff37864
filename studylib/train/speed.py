"""Speed settings for training: CPU threads, memory format, AMP (the frozen-prefix shortcuts are in `prefix`).

Each leaves results unchanged up to float rounding; `loop.fit` records which it used
(`FitResult.speed`).
- threads: on CPU, torch's thread count is capped at the cores this process may use;
- channels_last on CPU for nets with depthwise convolutions (EfficientNets: about 1.5x; it does
  not help ResNets and slows the small CNN, so they keep NCHW);
- AMP (bf16 where the GPU has it, else fp16) on CUDA only.

`apply_determinism` is the one place the CUDA numerics settings (cuDNN, deterministic algorithms, cuBLAS
workspace) are chosen; `fit` records what it returns.

How many tasks run at once, with how many threads each, is `threads` (no torch: the runner reads it).
"""
from __future__ import annotations

import contextlib
import os

import torch
from torch import nn

from .threads import usable_cpus

__all__ = ["CUBLAS_WORKSPACE", "apply_determinism", "autocast", "cpu_threads", "pick_amp_dtype", "use_channels_last"]

# cuBLAS's deterministic workspace setting (NVIDIA's and torch's reproducibility notes): without it cuBLAS
# may split a matmul's reduction differently from one call to the next
CUBLAS_WORKSPACE = ":4096:8"


def autocast(device: torch.device, amp_dtype):
    """Autocast on `device` to `amp_dtype`, a no-op when it is None. `pick_amp_dtype` gives None off CUDA, so
    training autocasts on CUDA only; autocasting on the device's own type (not "cuda" always) lets a CPU test
    run the bf16 path that GPUs take."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=amp_dtype)


def pick_amp_dtype(device: torch.device):
    """bf16 where the GPU has it (no loss scaling needed), else fp16; None off CUDA."""
    return None if device.type != "cuda" else torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def apply_determinism(device: torch.device, deterministic: bool = True) -> dict:
    """Choose the numerics settings of a run on `device` and return what ran, for the record.

    On CUDA, deterministic (the default): cuDNN benchmark off and deterministic kernels, torch's deterministic
    algorithms (warn_only: an op without a deterministic kernel warns instead of stopping a run), and
    CUBLAS_WORKSPACE_CONFIG (set here unless the user set it). False trades that for speed: cuDNN benchmarks
    its kernels and nondeterministic algorithms are allowed, so two runs differ in float rounding.
    The settings are process-wide and left set, so the test evaluated after `fit` runs under them too.

    Off CUDA nothing global changes: CPU kernels give the same numbers for a fixed thread count (fit fixes
    it), so a CPU run is recorded deterministic; MPS promises nothing, so its runs are recorded unknown (None).
    """
    if device.type != "cuda":
        return dict(deterministic=True if device.type == "cpu" else None)
    if deterministic and "CUBLAS_WORKSPACE_CONFIG" not in os.environ:
        # cuBLAS reads it once, at its first call in the process: fit sets it before the model moves to the
        # GPU; a process that ran cuBLAS before (a fit with deterministic=False) keeps its old workspace
        if torch.cuda.is_initialized():
            print("CUBLAS_WORKSPACE_CONFIG set after CUDA started: if cuBLAS already ran in this process, its "
                  "matmuls may not be deterministic (set it before starting Python)")
        os.environ["CUBLAS_WORKSPACE_CONFIG"] = CUBLAS_WORKSPACE
    torch.backends.cudnn.benchmark = not deterministic
    torch.backends.cudnn.deterministic = deterministic
    torch.use_deterministic_algorithms(deterministic, warn_only=True)
    return dict(deterministic=deterministic, cudnn_benchmark=not deterministic,
                cublas_workspace_config=os.environ.get("CUBLAS_WORKSPACE_CONFIG"))


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
