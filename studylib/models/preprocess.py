"""What a model expects of its input, and the input step that applies it.

``resolve_preprocessing`` works like timm's ``resolve_data_config``: each value comes from the
caller's argument if given, else from the backbone's weights spec, else from the defaults.
``ModelInput`` is the first step of every StudyModel's forward: channel check, grayscale repeat,
normalisation with the statistics the weights were trained on.
"""
from __future__ import annotations

import torch
from torch import nn

from . import weights as W
from .archs import get_arch

__all__ = ["DEFAULTS", "GRAY_NEW_MEAN", "GRAY_NEW_STD", "INTERPOLATIONS", "ModelInput", "describe", "gray_stats",
           "resolve_preprocessing"]

GRAY_NEW_MEAN, GRAY_NEW_STD = (0.485,), (0.229,)  # seed 003: transforms.Normalize(0.485, 0.229)
# Without weights (small_cnn): seed 001/003's 48 px, bilinear resize, ImageNet statistics.
DEFAULTS = dict(input_size=48, interpolation="bilinear", mean=W.IMAGENET_MEAN, std=W.IMAGENET_STD)
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")


def resolve_preprocessing(backbone: str, image_size: int | None = None, interpolation: str | None = None,
                          mean=None, std=None, *, spec: W.WeightsSpec | None = None) -> dict:
    """The input contract of a backbone: each value from the argument if given, else from the weights
    spec (``spec``, default the backbone's preferred one), else from DEFAULTS.

    Returns dict(input_size, interpolation, mean, std, source), source naming where each value came from
    ('argument', 'weights spec <file>' or 'default'). mean/std are per RGB channel; see gray_stats for 1 channel.
    Example:
        >>> resolve_preprocessing("efficientnet_b0")["interpolation"]
        'bicubic'
    """
    arch = get_arch(backbone)
    if spec is None and arch.weights:
        spec = arch.weights[0]
    given = dict(input_size=image_size, interpolation=interpolation,
                 mean=None if mean is None else tuple(mean), std=None if std is None else tuple(std))
    out, source = {}, {}
    for key, default in DEFAULTS.items():
        if given[key] is not None:
            out[key], source[key] = given[key], "argument"
        elif spec is not None:
            out[key], source[key] = getattr(spec, key), f"weights spec {spec.file}"
        else:
            out[key], source[key] = default, "default"
    if out["interpolation"] not in INTERPOLATIONS:
        raise ValueError(f"unknown interpolation {out['interpolation']!r}; valid: {', '.join(INTERPOLATIONS)}")
    return dict(out, source=source)


def gray_stats(mean: tuple, std: tuple, mode: str) -> tuple[tuple, tuple]:
    """The statistics a 1-channel input is normalised with, given how it meets the net.

    'repeat': the RGB ones (the gray is repeated to RGB inside the model). 'sum': their average: the
    summed RGB filters then respond to a gray image as the RGB filters do when the gray is normalised by
    the mean RGB statistics (exact for Lite's equal statistics, close for ImageNet's; timm does the same).
    'new': seed 003's gray statistics (a new conv learns from them).
    """
    if mode == "repeat":
        return mean, std
    if mode == "sum":
        return (sum(mean) / len(mean),), (sum(std) / len(std),)
    return GRAY_NEW_MEAN, GRAY_NEW_STD


def describe(backbone: str, pre: dict, mean: tuple, std: tuple, gray: str | None = None) -> str:
    """One line: the preprocessing the model uses and where each value came from (gray: the 1-channel mode)."""
    fmt = lambda t: "(" + ", ".join(f"{v:.4g}" for v in t) + ")"  # noqa: E731
    values = dict(input_size=f"{pre['input_size']} px", interpolation=pre["interpolation"],
                  mean=f"mean {fmt(mean)}", std=f"std {fmt(std)}")
    sources = set(pre["source"].values())
    text = ", ".join(v if len(sources) == 1 else f"{v} ({pre['source'][k]})" for k, v in values.items())
    return (f"studylib.models: {backbone} input {text}" + (f" from {sources.pop()}" if len(sources) == 1 else "")
            + (f"; 1-channel input '{gray}'" if gray else ""))


class ModelInput(nn.Module):
    """The input step of a StudyModel: channel check, grayscale repeat, normalisation.

    StudyModel.forward runs it first, and ``split_frozen_prefix`` puts this same module at the head of
    the frozen prefix, so there is one implementation and it always matches its model.
    """

    def __init__(self, in_channels: int, mean, std, repeat_gray: bool = False):
        super().__init__()
        self.in_channels, self.repeat_gray = in_channels, repeat_gray
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))

    def forward(self, x):
        if x.shape[1] != self.in_channels:
            raise ValueError(f"expected {self.in_channels}-channel input, got shape {tuple(x.shape)}")
        if self.repeat_gray:
            x = x.expand(-1, 3, -1, -1)
        return (x - self.mean) / self.std

    def extra_repr(self) -> str:
        return f"in_channels={self.in_channels}, repeat_gray={self.repeat_gray}"
