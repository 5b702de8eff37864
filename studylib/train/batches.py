"""Batches for the training loop: uint8 images in, ready float tensors out.

`to_batch` converts; `iter_batches` orders and slices; `BatchSource` puts conversion,
augmentation, channels_last and a frozen prefix (cached, or run under no_grad) behind one
iterator, so the loop (`loop.train_one_epoch`) only sees (inputs, targets) it can feed the model.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .speed import autocast

__all__ = ["BatchSource", "iter_batches", "to_batch"]


def _size(image_size) -> tuple[int, int]:
    """An int or (h, w) image size as a tuple."""
    return (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)


def to_batch(images, image_size: int | tuple[int, int] | None = None,
             device: torch.device | str | None = None, interpolation: str = "bilinear") -> torch.Tensor:
    """Convert uint8 NHWC images to a float NCHW batch in [0, 1].

    Args:
        images: uint8 numpy array or tensor (N, H, W, C).
        image_size: target size (int or (h, w)); resized (antialiased) only when it differs from the
            input size. None keeps the input size.
        device: where the batch should live; the uint8 data moves first because
            it is 4x smaller than float32.
        interpolation: "bilinear" or "bicubic": what the model's weights were trained with
            (`model.info["interpolation"]`, resolved by `models.resolve_preprocessing`).

    Returns:
        float32 tensor (N, C, H', W') in [0, 1] on ``device``.
    """
    if isinstance(images, np.ndarray):
        # read-only arrays (e.g. views of PIL buffers) would make torch warn into the reports
        images = torch.from_numpy(images if images.flags.writeable else images.copy())
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise TypeError(f"to_batch expects uint8 (N,H,W,C), got {images.dtype} {tuple(images.shape)}")
    if device is not None:
        images = images.to(device, non_blocking=True)
    # NCHW with standard strides: for one channel, permute alone gives strides that torch also reads as
    # channels_last, and convolutions then run (slower) in channels_last: ResNet18 training 1.5x slower
    x = images.permute(0, 3, 1, 2).to(torch.float32, memory_format=torch.contiguous_format).div_(255.0)
    if image_size is not None:
        size = _size(image_size)
        if tuple(x.shape[-2:]) != size:
            x = F.interpolate(x, size=size, mode=interpolation, antialias=True, align_corners=False)
            x = x.clamp_(0.0, 1.0)  # antialiased resampling can overshoot slightly
    return x.contiguous()


def iter_batches(images: torch.Tensor, targets: torch.Tensor, batch_size: int,
                 generator: torch.Generator | None = None, max_steps: int | None = None):
    """Yield (images, targets) batches; shuffled with `generator` when given."""
    n = len(images)
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for step, i in enumerate(range(0, n, batch_size)):
        idx = order[i:i + batch_size]
        # stop at max_steps; when training, drop a trailing batch of one (BatchNorm cannot train on it)
        if (max_steps is not None and step >= max_steps) or (generator is not None and len(idx) == 1):
            return
        yield images[idx], targets[idx]


class BatchSource:
    """One epoch's training batches, ready for the model: (inputs on device, targets on device).

    Args:
        images: uint8 (N, H, W, C) tensor, or sample indices (N,) when `features` serves the inputs.
        targets: (N,) int64 class indices or (N, K) float soft targets.
        batch_size, generator, max_steps: as `iter_batches` (the generator shuffles).
        device: where the batches go.
        image_size, interpolation: `to_batch` resize (None keeps the images' size).
        augment: batched augmentation module or None (drawn per batch from torch's global RNG).
        features: callable mapping sample indices to cached prefix outputs (replaces conversion
            and augmentation), or None.
        frozen: a frozen module run under no_grad on each batch before the trainable model, or None.
        channels_last, amp_dtype: memory format of 4-d inputs; autocast dtype for `frozen` (CUDA).
    """

    def __init__(self, images, targets, batch_size: int, generator: torch.Generator, *, device: torch.device,
                 max_steps: int | None = None, image_size=None, augment: nn.Module | None = None, features=None,
                 frozen: nn.Module | None = None, channels_last: bool = False, amp_dtype=None,
                 interpolation: str = "bilinear"):
        self.images, self.targets, self.batch_size, self.generator = images, targets, batch_size, generator
        self.device, self.max_steps, self.image_size, self.augment = device, max_steps, image_size, augment
        self.features, self.frozen, self.channels_last, self.amp_dtype = features, frozen, channels_last, amp_dtype
        self.interpolation = interpolation

    def __len__(self) -> int:
        steps = -(-len(self.images) // self.batch_size)
        return min(steps, self.max_steps) if self.max_steps else steps

    def prepare(self, images) -> torch.Tensor:
        """What the trainable model gets for one batch of images (or sample indices)."""
        if self.features is not None:
            x = self.features(images)
        else:
            x = to_batch(images, self.image_size, self.device, self.interpolation)
            if self.augment is not None:
                x = self.augment(x)
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.frozen is not None:
            with torch.no_grad(), autocast(self.device, self.amp_dtype):
                x = self.frozen(x)
        return x

    def __iter__(self):
        for images, targets in iter_batches(self.images, self.targets, self.batch_size, self.generator,
                                            self.max_steps):
            x = self.prepare(images)
            yield x, targets.to(self.device, non_blocking=True)
