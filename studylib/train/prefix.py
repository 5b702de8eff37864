"""Frozen-prefix shortcuts for training (same results up to float rounding; `loop.fit` records which ran).

When the leading part of a StudyModel is frozen (`models.split_frozen_prefix`), it runs under
`torch.no_grad()`; when it is also deterministic and no augmentation is configured, its outputs are
computed once per sample (train and val), kept in memory (up to FEATURE_CACHE_MAX_BYTES) and only
the trainable suffix runs each epoch.
"""
from __future__ import annotations

import torch
from torch import nn

from ..data.base import ImageDataset
from ..models import split_frozen_prefix
from .batches import to_batch
from .speed import autocast

__all__ = ["FEATURE_CACHE_MAX_BYTES", "FeatureCache", "plan_prefix"]

# Most memory the cached prefix outputs (train + val) may take; beyond it the prefix runs under no_grad.
FEATURE_CACHE_MAX_BYTES = 2 << 30


class FeatureCache:
    """Outputs of a deterministic frozen prefix, computed once per sample (the first time it is asked
    for, under no_grad, in eval mode) and then served from memory. Calling it maps sample indices to outputs."""

    def __init__(self, prefix: nn.Module, images: torch.Tensor, image_size, device: torch.device, amp_dtype,
                 channels_last: bool, batch_size: int, interpolation: str = "bilinear"):
        self.prefix, self.images, self.image_size, self.device = prefix, images, image_size, device
        self.amp_dtype, self.channels_last, self.batch_size = amp_dtype, channels_last, batch_size
        self.interpolation = interpolation
        self.done = torch.zeros(len(images), dtype=torch.bool)
        self.feats: torch.Tensor | None = None

    @torch.no_grad()
    def compute(self, images: torch.Tensor) -> torch.Tensor:
        self.prefix.eval()  # frozen BN is in eval in training too, and nothing in it is random: same output
        x = to_batch(images, self.image_size, self.device, self.interpolation)
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


def plan_prefix(model: nn.Module, mode: str, augmented: bool, image_size, batch_size: int, train: ImageDataset,
                val: ImageDataset, device: torch.device, amp_dtype, channels_last: bool,
                interpolation: str = "bilinear") -> dict:
    """How fit runs a frozen prefix: 'cached' (outputs computed once), 'no_grad' (per batch) or 'off'.

    Returns dict(mode, suffix, frozen (run per batch under no_grad, or None), caches (train, val) or None,
    speed (what to record)).
    """
    plan = dict(mode="off", suffix=model, frozen=None, caches=None, speed=dict(frozen_prefix="off"))
    split = split_frozen_prefix(model) if mode != "off" else None
    if split is None:
        return plan
    frozen, suffix = split
    plan.update(mode="no_grad", suffix=suffix, frozen=frozen,
                speed=dict(frozen_prefix="no_grad", frozen_steps=len(frozen) - 1, cached_steps=0))
    if mode != "auto" or augmented:
        return plan  # random augmentation changes the prefix's input every epoch: nothing to reuse
    cacheable = split_frozen_prefix(model, cacheable=True)
    if cacheable is None or len(train) == 0:
        return plan
    prefix = cacheable[0]
    train_images = torch.from_numpy(train.images)
    caches = [FeatureCache(prefix, torch.from_numpy(ds.images), image_size, device, amp_dtype, channels_last,
                           batch_size, interpolation) for ds in (train, val)]
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
