"""Speed settings for training: CPU threads, memory format, AMP, and frozen-prefix shortcuts.

Each leaves results unchanged up to float rounding; `train.fit` records which it used
(`FitResult.speed`).
- frozen prefix: when the leading part of a StudyModel is frozen (`models.split_frozen_prefix`),
  it runs under `torch.no_grad()`; when it is also deterministic and no augmentation is
  configured, its outputs are computed once per sample (train and val), kept in memory
  (up to FEATURE_CACHE_MAX_BYTES) and only the trainable suffix runs each epoch;
- threads: on CPU, torch's thread count is capped at the cores this process may use;
- channels_last on CPU for nets with depthwise convolutions (EfficientNets: about 1.5x; it does
  not help ResNets and slows the small CNN, so they keep NCHW);
- AMP (bf16 where the GPU has it, else fp16) on CUDA only.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from .augment import to_batch
from .data.base import ImageDataset
from .models import split_frozen_prefix

if TYPE_CHECKING:  # annotations only; train imports this module
    from .train import TrainConfig

__all__ = ["FEATURE_CACHE_MAX_BYTES", "FeatureCache", "autocast", "cpu_threads", "pick_amp_dtype", "plan_prefix",
           "usable_cpus", "use_channels_last"]

# Most memory the cached prefix outputs (train + val) may take; beyond it the prefix runs under no_grad.
FEATURE_CACHE_MAX_BYTES = 2 << 30


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


def use_channels_last(model: nn.Module, cfg: TrainConfig, device: torch.device) -> bool:
    """cfg.channels_last, or by default: on CPU for nets with depthwise/grouped convolutions.

    Measured on CPU (2 cores, 48x48, batch 32, train steps): EfficientNet-Lite0 1.4-1.6x and
    EfficientNet-B0 1.5-2x faster; ResNet18/50 unchanged (within noise); the small CNN 20% slower.
    """
    if cfg.channels_last is not None:
        return bool(cfg.channels_last)
    return device.type == "cpu" and any(isinstance(m, nn.Conv2d) and m.groups > 1 for m in model.modules())


class FeatureCache:
    """Outputs of a deterministic frozen prefix, computed once per sample (the first time it is asked
    for, under no_grad, in eval mode) and then served from memory. Calling it maps sample indices to outputs."""

    def __init__(self, prefix: nn.Module, images: torch.Tensor, image_size, device: torch.device, amp_dtype,
                 channels_last: bool, batch_size: int):
        self.prefix, self.images, self.image_size, self.device = prefix, images, image_size, device
        self.amp_dtype, self.channels_last, self.batch_size = amp_dtype, channels_last, batch_size
        self.done = torch.zeros(len(images), dtype=torch.bool)
        self.feats: torch.Tensor | None = None

    @torch.no_grad()
    def compute(self, images: torch.Tensor) -> torch.Tensor:
        self.prefix.eval()  # frozen BN is in eval in training too, and nothing in it is random: same output
        x = to_batch(images, self.image_size, self.device)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(self.device, self.amp_dtype):
            return self.prefix(x)

    def __call__(self, idx: torch.Tensor) -> torch.Tensor:
        todo = idx[~self.done[idx]]
        for i in range(0, len(todo), self.batch_size):
            part = todo[i:i + self.batch_size]
            f = self.compute(self.images[part])
            if self.feats is None:
                fmt = torch.channels_last if self.channels_last and f.ndim == 4 else torch.contiguous_format
                self.feats = torch.empty((len(self.images), *f.shape[1:]), dtype=f.dtype, device=self.device,
                                         memory_format=fmt)
            self.feats[part.to(self.device)] = f
            self.done[part] = True
        return self.feats[idx.to(self.device)]


def plan_prefix(model: nn.Module, cfg: TrainConfig, train: ImageDataset, val: ImageDataset,
                 device: torch.device, amp_dtype, channels_last: bool) -> dict:
    """How fit runs a frozen prefix: 'cached' (outputs computed once), 'no_grad' (per batch) or 'off'.

    Returns dict(mode, suffix, frozen (run per batch under no_grad, or None), caches (train, val) or None,
    speed (what to record)).
    """
    plan = dict(mode="off", suffix=model, frozen=None, caches=None, speed=dict(frozen_prefix="off"))
    split = split_frozen_prefix(model) if cfg.frozen_prefix != "off" else None
    if split is None:
        return plan
    frozen, suffix = split
    plan.update(mode="no_grad", suffix=suffix, frozen=frozen,
                speed=dict(frozen_prefix="no_grad", frozen_steps=len(frozen) - 1, cached_steps=0))
    if cfg.frozen_prefix != "auto" or cfg.augment != "none":
        return plan  # random augmentation changes the prefix's input every epoch: nothing to reuse
    cacheable = split_frozen_prefix(model, cacheable=True)
    if cacheable is None or len(train) == 0:
        return plan
    prefix = cacheable[0]
    train_images = torch.from_numpy(train.images)
    caches = [FeatureCache(prefix, torch.from_numpy(ds.images), cfg.image_size, device, amp_dtype,
                            channels_last, cfg.eval_batch_size) for ds in (train, val)]
    probe = caches[0].compute(train_images[:1])
    nbytes = probe[0].numel() * probe.element_size() * (len(train) + len(val))
    if nbytes > FEATURE_CACHE_MAX_BYTES:
        print(f"frozen prefix: not cached ({nbytes / 2**20:,.0f} MB > FEATURE_CACHE_MAX_BYTES); runs under no_grad")
        return plan
    rest = frozen[len(prefix):]  # frozen but random in train mode (EfficientNet-B0's stochastic depth)
    plan.update(mode="cached", frozen=rest if len(rest) else None, caches=caches,
                speed=dict(frozen_prefix="cached", frozen_steps=len(frozen) - 1, cached_steps=len(prefix) - 1,
                           cache_mb=round(nbytes / 2**20, 1), feature_shape=tuple(probe.shape[1:])))
    return plan
