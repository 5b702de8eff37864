"""Batched, on-device image augmentation presets and the uint8 -> float batch helper.

Augmentation runs on whole float batches with per-sample random parameters
(kornia modules, with their default ``same_on_batch=False``; seed 003's preset is
one composed warp, `RandomAffineChain`), on the same device as the model.
That keeps the data path free of per-sample PIL work, which dominates epoch
time on the small images (48x48) most of the study uses.

Inputs are float (N, C, H, W) in [0, 1]; models normalise internally, so
augmentation happens before normalisation, as in every paper's pipeline.
Random parameters come from torch's global RNG, which `train.fit` seeds and
checkpoints, so augmented runs are reproducible and resumable.
"""
from __future__ import annotations

import functools
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

import kornia.augmentation as K

__all__ = ["PRESETS", "RandomAffineChain", "describe", "make_augment"]


def _size(image_size, fallback: int | None = None) -> tuple[int, int]:
    """Normalise an int or (h, w) image size to a tuple."""
    size = image_size if image_size is not None else fallback
    if size is None:
        raise ValueError("this augmentation preset needs image_size (the training input size)")
    return (size, size) if isinstance(size, int) else tuple(size)


def _none(size, channels):
    return nn.Identity()


@functools.lru_cache(maxsize=8)
def _base_grid(h: int, w: int, device, dtype) -> torch.Tensor:
    """(h*w, 3) normalised (x, y, 1) of every output pixel, align_corners=True, as F.affine_grid uses."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, h, device=device, dtype=dtype),
                            torch.linspace(-1, 1, w, device=device, dtype=dtype), indexing="ij")
    return torch.stack([xs, ys, torch.ones_like(xs)], dim=-1).view(-1, 3)


class RandomAffineChain(nn.Module):
    """Seed 003's three random steps, drawn per sample and applied as one composed warp.

    Draws, per sample and independently: a translation of up to ``translate`` of each
    side (applied with probability ``p_translate``), a horizontal flip (``p_flip``) and
    a rotation of up to ``degrees`` about the centre (``p_rotate``); composes them
    (translate, then flip, then rotate: the order of seed 003's Compose) into one
    sampling grid and resamples once with ``F.grid_sample``.

    Why not three kornia modules in a row: each builds its own matrices and runs its
    own grid_sample over the whole batch, about 1.4 ms of a 5 ms small-CNN training
    step at batch 32 on 2 CPU cores; one warp from a closed-form matrix costs a
    fraction of that and interpolates once instead of three times. The distribution
    of transforms is the same; pixels that come from outside the image take
    ``padding_mode`` (zeros, as torchvision fills); ``mode`` is the interpolation.
    """

    def __init__(self, translate: float = 0.2, p_translate: float = 0.5, p_flip: float = 0.5,
                 degrees: float = 10.0, p_rotate: float = 0.5, padding_mode: str = "zeros",
                 mode: str = "bilinear"):
        super().__init__()
        self.translate, self.p_translate, self.p_flip = translate, p_translate, p_flip
        self.degrees, self.p_rotate, self.padding_mode, self.mode = degrees, p_rotate, padding_mode, mode

    def draw(self, n: int, h: int, w: int, device=None) -> dict:
        """Per-sample parameters from torch's global RNG (which fit seeds and checkpoints), drawn on `device`
        (the batch's): shift (n, 2) in pixels (x, y), flip (n,) bool, angle (n,) in degrees, counter-clockwise."""
        u = torch.rand(n, 7, device=device)
        # the sides multiply as Python numbers, column by column: a torch.tensor([w, h]) would be a copy from
        # the host at every GPU step (same products, bit for bit)
        shift = (u[:, 1:3] * 2 - 1) * self.translate
        shift = torch.stack([shift[:, 0] * w, shift[:, 1] * h], dim=1) * (u[:, :1] < self.p_translate)
        angle = (u[:, 5] * 2 - 1) * self.degrees * (u[:, 4] < self.p_rotate)
        return dict(shift=shift, flip=u[:, 3] < self.p_flip, angle=angle)

    @staticmethod
    def theta(params: dict, h: int, w: int) -> torch.Tensor:
        """(n, 2, 3) matrices for F.affine_grid (align_corners=True): output -> input in
        normalised coordinates, i.e. the inverse of rotate . flip . translate."""
        sx, sy = (w - 1) / 2, (h - 1) / 2  # pixels per normalised unit; the centre is the origin
        rad = torch.deg2rad(params["angle"])
        cos, sin = torch.cos(rad), torch.sin(rad)
        f = 1.0 - 2.0 * params["flip"].to(cos.dtype)  # -1 flips x
        # inverse rotation in pixel units is [[cos, -sin], [sin, cos]] (y down, counter-clockwise
        # as displayed); rescaled to normalised units; then the flip; then minus the shift
        theta = torch.stack([f * cos, f * -sin * sy / sx, -params["shift"][:, 0] / sx,
                             sin * sx / sy, cos, -params["shift"][:, 1] / sy], dim=1)
        return theta.view(-1, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        theta = self.theta(self.draw(n, h, w, x.device), h, w).to(x.dtype)
        # F.affine_grid's result, as one small matmul: affine_grid itself took 0.22 ms of the
        # 0.35 ms this warp costs at 32x48x48 on 2 CPU cores; the einsum takes 0.03 ms
        grid = torch.einsum("nij,pj->npi", theta, _base_grid(h, w, x.device, x.dtype)).view(n, h, w, 2)
        return F.grid_sample(x, grid, mode=self.mode, padding_mode=self.padding_mode, align_corners=True)

    def extra_repr(self) -> str:
        return (f"translate={self.translate} (p={self.p_translate}), hflip p={self.p_flip}, "
                f"degrees={self.degrees} (p={self.p_rotate}), padding_mode={self.padding_mode}, mode={self.mode}")


def _seed003(size, channels):
    # Paper 003 (torchvision): RandomApply(RandomAffine(translate 0.2), p 0.5),
    # RandomHorizontalFlip, RandomApply(RandomRotation(10), p 0.5); torchvision
    # fills uncovered pixels with 0, hence zero padding, and both transforms default
    # to nearest-neighbour interpolation, hence "nearest". One composed warp (above).
    return RandomAffineChain(**SETTINGS["seed003"])


def _seed001(size, channels):
    # Paper 001 (Keras ImageDataGenerator): width/height_shift_range 0.1 and
    # rotation_range 15, applied to every image; Keras' default fill_mode is
    # "nearest", which is kornia's "border" padding.
    return nn.Sequential(
        K.RandomAffine(degrees=SETTINGS["seed001"]["degrees"], translate=(SETTINGS["seed001"]["translate"],) * 2,
                       p=1.0, padding_mode=SETTINGS["seed001"]["padding_mode"]),
    )


# The numbers behind each preset's name, shown in every report that uses one (`describe`).
SETTINGS = {
    "seed003": dict(translate=0.2, p_translate=0.5, p_flip=0.5, degrees=10.0, p_rotate=0.5, mode="nearest"),
    "seed001": dict(degrees=15.0, translate=0.1, padding_mode="border"),
    # pad 1/8 of the side (the CIFAR recipe) so a random crop keeps the whole face at its scale
    "mild": dict(pad_fraction=1 / 8, p_flip=0.5, degrees=10.0, p_rotate=0.5),
    # plants have no canonical orientation, so a larger rotation is safe
    "strong": dict(scale=(0.6, 1.0), p_flip=0.5, degrees=30.0, p_rotate=0.5, brightness=0.3, contrast=0.3,
                   saturation=0.3, hue=0.05, p_jitter=0.8),
}


def _mild(size, channels):
    # Paper 004, faces: "random crop, flip, small rotation".
    h, w, s = *size, SETTINGS["mild"]
    return nn.Sequential(
        K.RandomCrop((h, w), padding=max(1, int(min(h, w) * s["pad_fraction"])), padding_mode="reflect"),
        K.RandomHorizontalFlip(p=s["p_flip"]),
        K.RandomRotation(degrees=s["degrees"], p=s["p_rotate"]),
    )


def _strong(size, channels):
    # Paper 004, weeds: "random resized crop, flip, rotation, colour jitter".
    # saturation/hue only exist for RGB, so grayscale keeps brightness/contrast.
    s = SETTINGS["strong"]
    colour = dict(brightness=s["brightness"], contrast=s["contrast"])
    if channels == 3:
        colour.update(saturation=s["saturation"], hue=s["hue"])
    return nn.Sequential(
        K.RandomResizedCrop(size, scale=s["scale"]),
        K.RandomHorizontalFlip(p=s["p_flip"]),
        K.RandomRotation(degrees=s["degrees"], p=s["p_rotate"]),
        K.ColorJitter(**colour, p=s["p_jitter"]),
    )


def describe(name: str) -> str:
    """A preset's name with its numbers, for reports ("none" when there is no augmentation)."""
    if name not in SETTINGS:
        return name
    return f"{name} (" + ", ".join(f"{k} {v}" for k, v in SETTINGS[name].items()) + ")"


# Registry: preset name -> builder(size (h, w) or None, channels) -> nn.Module.
PRESETS: dict[str, Callable[..., nn.Module]] = {
    "none": _none,
    "seed003": _seed003,
    "seed001": _seed001,
    "mild": _mild,
    "strong": _strong,
}
_NEEDS_SIZE = {"mild", "strong"}


def make_augment(name: str, image_size: int | tuple[int, int] | None = None,
                 channels: int = 3) -> nn.Module:
    """Build a named augmentation preset.

    Args:
        name: one of ``PRESETS`` ("none", "seed003", "seed001", "mild", "strong").
        image_size: training input size (int or (h, w)); needed by the crop presets
            ("mild", "strong"), which output exactly this size.
        channels: 1 or 3; colour jitter only alters saturation/hue for RGB.

    Returns:
        An ``nn.Module`` mapping float (N, C, H, W) in [0, 1] to the same shape and
        dtype, with per-sample random parameters; ``nn.Identity`` for "none".

    Raises:
        ValueError: unknown preset (the message lists the valid ones).
    """
    if name not in PRESETS:
        raise ValueError(f"unknown augmentation preset {name!r}; valid: {', '.join(PRESETS)}")
    size = _size(image_size) if name in _NEEDS_SIZE else None
    return PRESETS[name](size, channels)
