"""Batches for the training loop: uint8 images in, ready float tensors out.

`to_batch` converts; `iter_batches` orders and slices; `BatchSource` puts conversion,
augmentation, channels_last and a frozen prefix (cached, or run under no_grad) behind one
iterator, so the loop (`loop.train_one_epoch`) only sees (inputs, targets) it can feed the model.

Resident data (`use_resident`, on CUDA by default): the uint8 training images and their targets move to the
device once per fit, batches are gathered there and augmented there, so a training step copies nothing from
the host. The shuffle order is still drawn on the CPU from the same generator, so the samples and their
order are those of the host path.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .numerics import Numerics
from .speed import autocast

__all__ = ["RESIDENT_MAX_SHARE", "BatchConfig", "BatchSource", "iter_batches", "to_batch", "use_resident"]

# Largest share of the GPU's free memory the resident training images may take (the rest is the
# model's, its activations' and the optimizer's); a larger dataset stays on the host.
RESIDENT_MAX_SHARE = 0.25


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


def use_resident(requested: bool | None, device: torch.device, nbytes: int) -> bool:
    """Whether the training data (`nbytes`) lives on `device` during a fit: `requested` when set, else on
    CUDA when it takes at most RESIDENT_MAX_SHARE of the free GPU memory (on the CPU it already is)."""
    if requested is not None:
        return bool(requested)
    if device.type != "cuda":
        return False
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes <= RESIDENT_MAX_SHARE * free


def iter_batches(images: torch.Tensor, targets: torch.Tensor, batch_size: int,
                 generator: torch.Generator | None = None, max_steps: int | None = None):
    """Yield (images, targets) batches; shuffled with `generator` when given.

    The order is drawn on the CPU (a CPU generator: the same order wherever the data lives) and moved to
    the data's device once per pass, so resident data is indexed on its device without a copy per batch.
    """
    n = len(images)
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    order = order.to(images.device)
    for step, i in enumerate(range(0, n, batch_size)):
        idx = order[i:i + batch_size]
        # stop at max_steps; when training, drop a trailing batch of one (BatchNorm cannot train on it)
        if (max_steps is not None and step >= max_steps) or (generator is not None and len(idx) == 1):
            return
        yield images[idx], targets[idx]


@dataclass(frozen=True)
class BatchConfig:
    """How a `BatchSource` cuts an epoch: `batch_size` images a batch, at most `max_steps` batches (None: all,
    as `iter_batches`), and whether the data is `resident` on the device (`use_resident`): moved there once,
    when the source is built (build one BatchSource per fit and iterate it every epoch); not with `features`,
    whose sample indices select a cache that keeps its bookkeeping on the CPU."""

    batch_size: int
    max_steps: int | None = None
    resident: bool = False


class BatchSource:
    """One epoch's training batches, ready for the model: (inputs on device, targets on device).

    Args:
        images: uint8 (N, H, W, C) tensor, or sample indices (N,) when `features` serves the inputs.
        targets: (N,) int64 class indices or (N, K) float soft targets.
        config: batch size, steps per epoch and residency (`BatchConfig`).
        generator: shuffles, a new order each epoch (as `iter_batches`).
        numerics: where the batches go (device), their resize (image_size, interpolation: None keeps the
            images' size), memory format (channels_last) and the autocast dtype of `frozen`.
        augment: batched augmentation module or None (drawn per batch from torch's global RNG).
        features: callable mapping sample indices to cached prefix outputs (replaces conversion
            and augmentation), or None.
        frozen: a frozen module run under no_grad on each batch before the trainable model, or None.

    Each iteration is one epoch, in a new order drawn from `generator`.
    """

    def __init__(self, images, targets, config: BatchConfig, generator: torch.Generator, numerics: Numerics, *,
                 augment: nn.Module | None = None, features=None, frozen: nn.Module | None = None):
        if config.resident and features is not None:
            raise ValueError("resident data needs images, not the sample indices of a feature cache")
        if config.resident:
            images, targets = images.to(numerics.device), targets.to(numerics.device)
        self.config, self.numerics, self.device = config, numerics, numerics.device
        self.images, self.targets, self.generator = images, targets, generator
        self.augment, self.features, self.frozen = augment, features, frozen

    def __len__(self) -> int:
        steps = -(-len(self.images) // self.config.batch_size)
        return min(steps, self.config.max_steps) if self.config.max_steps else steps

    def prepare(self, images) -> torch.Tensor:
        """What the trainable model gets for one batch of images (or sample indices)."""
        if self.features is not None:
            x = self.features(images)
        else:
            n = self.numerics
            x = to_batch(images, n.image_size, n.device, n.interpolation)
            if self.augment is not None:
                x = self.augment(x)
        if self.numerics.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.frozen is not None:
            with torch.no_grad(), autocast(self.device, self.numerics.amp_dtype):
                x = self.frozen(x)
        return x

    def __iter__(self):
        cfg = self.config
        for images, targets in iter_batches(self.images, self.targets, cfg.batch_size, self.generator, cfg.max_steps):
            x = self.prepare(images)
            yield x, targets.to(self.device, non_blocking=True)
