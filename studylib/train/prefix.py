"""Frozen-prefix shortcuts for training (same results up to float rounding; `loop.fit` records which ran).

When the leading part of a StudyModel is frozen (`models.split_frozen_prefix`), it runs under
`torch.no_grad()`; when it is also deterministic and no augmentation is configured, its outputs are
computed once per sample (train and val), kept in memory (up to FEATURE_CACHE_MAX_BYTES) and only
the trainable suffix runs each epoch. With frozen_prefix 'auto' they are also stored in the cache
folder (`prefix_cache`), so the other seeds, arms and runs freezing the same prefix on the same
images read them instead of computing them; 'memory' keeps them in this process only.
"""
from __future__ import annotations

import math
import time

import torch
from torch import nn

from ..data.base import ImageDataset
from ..models import split_frozen_prefix
from . import prefix_cache
from .batches import to_batch
from .numerics import Numerics
from .speed import autocast

__all__ = ["FEATURE_CACHE_MAX_BYTES", "FeatureCache", "plan_prefix"]

# Most memory the cached prefix outputs (train + val) may take; beyond it the prefix runs under no_grad.
FEATURE_CACHE_MAX_BYTES = 2 << 30


class FeatureCache:
    """Outputs of a deterministic frozen prefix, computed once per sample (the first time it is asked
    for, under no_grad, in eval mode) and then served from memory. Calling it maps sample indices to outputs."""

    def __init__(self, prefix: nn.Module, images: torch.Tensor, numerics: Numerics, batch_size: int):
        self.prefix, self.images, self.numerics, self.batch_size = prefix, images, numerics, batch_size
        self.device, self.channels_last = numerics.device, numerics.channels_last
        self.done = torch.zeros(len(images), dtype=torch.bool)
        self.feats: torch.Tensor | None = None

    @torch.no_grad()
    def compute(self, images: torch.Tensor) -> torch.Tensor:
        self.prefix.eval()  # frozen BN is in eval in training too, and nothing in it is random: same output
        n = self.numerics
        x = to_batch(images, n.image_size, n.device, n.interpolation)
        if n.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with autocast(n.device, n.amp_dtype):
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

    def compute_all(self) -> torch.Tensor:
        """Every sample's output, in dataset order (computed where not yet done)."""
        if len(self.images) == 0:
            return torch.empty(0)
        self(torch.arange(len(self.images)))
        return self.feats

    def fill(self, feats: torch.Tensor) -> None:
        """Serve `feats` (every sample's output, in dataset order, e.g. read from disk) from now on."""
        if len(feats) != len(self.images) or len(feats) == 0 and feats.ndim != 1:
            raise ValueError(f"{len(feats)} stored prefix outputs for {len(self.images)} samples")
        fmt = torch.channels_last if self.channels_last and feats.ndim == 4 else torch.contiguous_format
        self.feats = feats.to(self.device).contiguous(memory_format=fmt)
        self.done[:] = True


class _TooBig(Exception):
    """The prefix outputs would take more memory than FEATURE_CACHE_MAX_BYTES."""

    def __init__(self, nbytes: int):
        super().__init__(nbytes)
        self.nbytes = nbytes


def _check_size(nbytes: int) -> None:
    if nbytes > FEATURE_CACHE_MAX_BYTES:
        raise _TooBig(nbytes)


def _probe(cache: "FeatureCache", n: int) -> tuple:
    """Shape of one sample's output (one image through the prefix); _TooBig when n of them do not fit."""
    probe = cache.compute(cache.images[:1])
    _check_size(probe[0].numel() * probe.element_size() * n)
    return tuple(probe.shape[1:])


def _share(caches, datasets, prefix: nn.Module, model: nn.Module, numerics: Numerics, cache_dir, check) -> dict:
    """Fill each cache from the disk store (built there first, after `check()`, when absent); what
    happened, for the record."""
    status, keys, t0 = {}, {}, time.perf_counter()
    about = {k: model.info.get(k) for k in ("backbone", "weights_file", "weights_sha256", "scope", "freeze_to")} \
        if hasattr(model, "info") else {}
    for part, cache, ds in zip(("train", "val"), caches, datasets):
        key, inputs = prefix_cache.prefix_key(prefix, ds.images, numerics)
        def build(c=cache):
            check()
            return c.compute_all().cpu()

        feats, status[part] = prefix_cache.load_or_build(
            key, inputs, build, cache_dir, about=dict(about, dataset=ds.name, split=ds.split, n=len(ds)))
        cache.fill(feats)
        keys[part] = key[:12]
    # one word for the whole fit: rebuilt if any split was, else built if any was, else hit
    seen = set(status.values())
    word = "rebuilt" if "rebuilt" in seen else "built" if "built" in seen else "hit"
    return dict(prefix_cache=word, prefix_cache_splits=status, prefix_cache_keys=keys,
                prefix_cache_seconds=round(time.perf_counter() - t0, 3))


def plan_prefix(model: nn.Module, mode: str, augmented: bool, batch_size: int, train: ImageDataset,
                val: ImageDataset, numerics: Numerics, cache_dir=None) -> dict:
    """How fit runs a frozen prefix: 'cached' (outputs computed once), 'no_grad' (per batch) or 'off'.

    `mode` is TrainConfig.frozen_prefix: 'auto' caches in memory and on disk under `cache_dir`
    (default $STUDYLIB_CACHE), 'memory' in memory only, 'no_grad' never caches, 'off' runs the model whole.

    Returns dict(mode, suffix, frozen (run per batch under no_grad, or None), caches (train, val) or None,
    speed (what to record; with the disk store, prefix_cache: 'hit', 'built' or 'rebuilt')).
    """
    plan = dict(mode="off", suffix=model, frozen=None, caches=None, speed=dict(frozen_prefix="off"))
    split = split_frozen_prefix(model) if mode != "off" else None
    if split is None:
        return plan
    frozen, suffix = split
    plan.update(mode="no_grad", suffix=suffix, frozen=frozen,
                speed=dict(frozen_prefix="no_grad", frozen_steps=len(frozen) - 1, cached_steps=0))
    if mode not in ("auto", "memory") or augmented:
        return plan  # random augmentation changes the prefix's input every epoch: nothing to reuse
    cacheable = split_frozen_prefix(model, cacheable=True)
    if cacheable is None or len(train) == 0:
        return plan
    prefix = cacheable[0]
    caches = [FeatureCache(prefix, torch.from_numpy(ds.images), numerics, batch_size) for ds in (train, val)]
    n = len(train) + len(val)
    probed: list[tuple] = []  # the probe runs once, whichever split is built first
    try:
        if mode == "auto":  # sized before building, or after reading what is stored: a hit never runs the prefix
            shared = _share(caches, (train, val), prefix, model, numerics, cache_dir,
                            check=lambda: probed or probed.append(_probe(caches[0], n)))
            shape = tuple(caches[0].feats.shape[1:])
            _check_size(sum(c.feats.numel() * c.feats.element_size() for c in caches))
        else:
            shape, shared = _probe(caches[0], n), {}
    except _TooBig as e:
        print(f"frozen prefix: not cached ({e.nbytes / 2**20:,.0f} MB > FEATURE_CACHE_MAX_BYTES); runs under no_grad")
        return plan
    rest = frozen[len(prefix):]  # frozen but random in train mode (EfficientNet-B0's stochastic depth)
    nbytes = n * math.prod(shape) * (caches[0].feats.element_size() if caches[0].feats is not None else 4)
    speed = dict(frozen_prefix="cached", frozen_steps=len(frozen) - 1, cached_steps=len(prefix) - 1,
                 cache_mb=round(nbytes / 2**20, 1), feature_shape=shape, **shared)
    plan.update(mode="cached", frozen=rest if len(rest) else None, caches=caches, speed=speed)
    return plan
