"""What a study model is built from: one frozen `ModelSpec` (backbone, head, input, weights, what trains)
in place of fifteen loose arguments, checked once, and the names each choice may take."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .archs import get_arch

__all__ = ["FROZEN_BN", "GRAY_MODES", "HEADS", "SCOPES", "SCOPE_ALIASES", "ModelSpec", "canonical_scope"]

HEADS = ("linear", "mlp")
# What trains: everything; only the new head; new layers (e.g. a new 1-channel conv1) + head; or, as
# fastai's freeze_to(n) over the architecture table's stage groups (archs.Arch.stages), the stages from n
# on: n >= 0 freezes the first n stages, n < 0 trains the last -n (freeze_to -1: the last stage), new
# layers and the head always learning. One concept for "how much of the net trains".
SCOPES = ("all", "head", "new_layers", "freeze_to")
# Older names, still accepted: last_block is freeze_to -1; last_n k is freeze_to -k.
SCOPE_ALIASES = ("last_block", "last_n")
GRAY_MODES = ("repeat", "sum", "new")
# BatchNorm of frozen parts in training: 'eval' keeps the pretrained running statistics (fastai/timm, and
# Keras' `trainable = False`); 'adapt' lets them follow the new data, as a plain `requires_grad = False`
# freeze in PyTorch does (the code of paper 003): the weights stay fixed, the statistics do not.
FROZEN_BN = ("eval", "adapt")


def canonical_scope(scope: str, freeze_to: int | None = None, last_n: int | None = None) -> tuple[str, int | None]:
    """(scope, freeze_to) with the older names mapped: last_block -> (freeze_to, -1), last_n k -> (freeze_to,
    -k); freeze_to defaults to -1 (the last stage). Other scopes carry no freeze_to."""
    check("scope", scope, SCOPES + SCOPE_ALIASES)
    if scope == "last_block":
        return "freeze_to", -1
    if scope == "last_n":
        return "freeze_to", -int(last_n or 1)
    if scope == "freeze_to":
        return "freeze_to", -1 if freeze_to is None else int(freeze_to)
    return scope, None


def check(what: str, value, valid) -> None:
    """Raise ValueError naming the valid choices when value is not one of them."""
    if value not in valid:
        raise ValueError(f"unknown {what} {value!r}; valid: {', '.join(map(str, valid))}")


@dataclass(frozen=True)
class ModelSpec:
    """A study model, as `build_model` builds it.

    backbone: one of BACKBONES (archs.ARCHS). num_classes: outputs of the head.
    in_channels: 1 (grayscale) or 3. gray_mode: how 1-channel input meets an RGB net (GRAY_MODES).
    pretrained: True loads ImageNet weights (WeightsError if missing); False is random init. With
        num_classes equal to the weights' own (1000), head 'linear' and 3 channels, the pretrained
        classifier is kept (as timm does); otherwise the head is new.
    head: 'linear' (FC on pooled features) or 'mlp' (seed 001, on the unpooled map at image_size).
    scope / freeze_to: what trains (SCOPES: freeze_to n freezes the first n stages, n < 0 trains the
        last -n), changeable later with model.set_scope; last_n k is the older freeze_to -k.
    weights_dir: folder with weights files (default $STUDYLIB_WEIGHTS, else torch hub's cache).
    image_size: input side: the mlp head / small_cnn are sized for it (default 48, seed 001/003) and
        model.info['input_size'] records it (default: the weights' input size, else 48).
    dropout: small_cnn dropout (default 0.1) or mlp head dropout (default 0.5).
    mlp_width: width of the mlp head's hidden layers (seed 001: 32).
    interpolation: resize mode recorded in model.info (default: the weights', else bilinear).
    frozen_bn: BatchNorm of the frozen parts in training (FROZEN_BN): 'eval' keeps the pretrained
        statistics; 'adapt' updates them (a PyTorch `requires_grad = False` freeze, paper 003).

    The fields keep the order of build_model's former arguments, so `ModelSpec(*args, **kwargs)` takes
    what build_model took.
    """

    backbone: str
    num_classes: int
    in_channels: int = 3
    pretrained: bool = False
    head: str = "linear"
    scope: str = "all"
    gray_mode: str = "repeat"
    weights_dir: str | Path | None = None
    last_n: int | None = None
    image_size: int | None = None
    dropout: float | None = None
    mlp_width: int = 32
    interpolation: str | None = None
    frozen_bn: str = "eval"
    freeze_to: int | None = None

    def __post_init__(self):
        get_arch(self.backbone)  # an unknown backbone lists the valid ones
        check("head", self.head, HEADS)
        check("gray_mode", self.gray_mode, GRAY_MODES)
        check("in_channels", self.in_channels, (1, 3))
        check("scope", self.scope, SCOPES + SCOPE_ALIASES)
        check("frozen_bn", self.frozen_bn, FROZEN_BN)
        if not isinstance(self.pretrained, bool):
            raise TypeError(f"pretrained must be True or False, got {self.pretrained!r}")
