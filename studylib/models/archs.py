"""One table of the study's architectures: for each backbone, how to build the bare net, where its
first conv, final Linear and the dropout before it sit, its stages, its forward as a list of steps,
and its pretrained weights.

``build_model`` adapts a net through these paths (gray conv, new head, freezing by stage) and
``split_frozen_prefix`` cuts the step list; a backbone added here is known to both.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from torch import nn

from . import weights as W
from .nets import EfficientNetLite0, SmallCNN

if TYPE_CHECKING:
    import torchvision

__all__ = ["ARCHS", "BACKBONES", "Arch", "get_arch"]


@dataclass(frozen=True)
class Arch:
    """One backbone.

    build(in_channels, image_size, dropout) returns the bare net (randomly initialised, as its own
    constructor does: this order is what torch's RNG sees). Paths are dotted submodule names.
    stages(net): its stages, input to output; the last is what scope 'last_block' trains.
    steps(net): its forward as modules applied one after the other (same ops, same order).
    weights: the accepted pretrained files, preferred first (``weights.WEIGHTS``), or None.
    """

    name: str
    net_type: type | str  # its class, or torchvision's "models.<Class>" (imported when first asked: `net_class`)
    build: Callable[[int, int, float | None], nn.Module]
    first_conv: str
    fc: str | None  # final Linear, replaced by the study's head (None: the net ends before it)
    dropout: str | None  # dropout right before fc; the mlp head brings its own
    stages: Callable[[nn.Module], list[list[nn.Module]]]
    steps: Callable[[nn.Module], list[nn.Module]]
    weights: tuple[W.WeightsSpec, ...] | None

    @property
    def net_class(self) -> type:
        """The bare net's class (what `build` returns)."""
        return _torchvision_attr(self.net_type) if isinstance(self.net_type, str) else self.net_type


def _torchvision_attr(dotted: str):
    """torchvision.<dotted>, torchvision imported on first use: importing it takes about 2 s (its ops import
    torch._dynamo), which a task on the small CNN or EfficientNet-Lite0 never needs."""
    module, _, attr = f"torchvision.{dotted}".rpartition(".")
    return getattr(importlib.import_module(module), attr)


def _small_cnn_stages(net: SmallCNN) -> list[list[nn.Module]]:
    return [[net.conv1, net.bn1], [net.conv2, net.bn2], [net.fc1], [net.fc2]]


def _small_cnn_steps(net: SmallCNN) -> list[nn.Module]:
    # F.relu(bn(conv)) -> pool, twice; then relu(dropout(fc)) twice (dropout before ReLU, as published)
    return [net.conv1, net.bn1, nn.ReLU(), net.pool, net.conv2, net.bn2, nn.ReLU(), net.pool, nn.Flatten(1),
            net.fc1, net.dropout, nn.ReLU(), net.fc2, net.dropout, nn.ReLU()]


def _resnet_stages(net: "torchvision.models.ResNet") -> list[list[nn.Module]]:
    """Stem, then layer1..4; the last block is layer4."""
    return [[net.conv1, net.bn1], [net.layer1], [net.layer2], [net.layer3], [net.layer4]]


def _resnet_steps(net: "torchvision.models.ResNet") -> list[nn.Module]:
    return [net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4,
            net.avgpool, nn.Flatten(1), net.fc]


def _b0_stages(net: "torchvision.models.EfficientNet") -> list[list[nn.Module]]:
    """features[0..6], then features[7] (last MBConv stage, 320 ch) + features[8] (1x1 conv to 1280)."""
    f = net.features
    return [[f[i]] for i in range(7)] + [[f[7], f[8]]]


def _b0_steps(net: "torchvision.models.EfficientNet") -> list[nn.Module]:
    return [*net.features, net.avgpool, nn.Flatten(1), net.classifier]


def _lite0_stages(net: EfficientNetLite0) -> list[list[nn.Module]]:
    """Stem, the MBConv stages of LITE0_STAGES, then _blocks[15] + _conv_head/_bn1 (as B0's last block)."""
    b = list(net._blocks)
    return ([[net._conv_stem, net._bn0]] + [b[i:j] for i, j in ((0, 1), (1, 3), (3, 5), (5, 8), (8, 11), (11, 15))]
            + [[b[15], net._conv_head, net._bn1]])


def _lite0_steps(net: EfficientNetLite0) -> list[nn.Module]:
    return [net._conv_stem, net._bn0, nn.ReLU6(), *net._blocks, net._conv_head, net._bn1, nn.ReLU6(),
            net.avgpool, nn.Flatten(1), net._dropout, net._fc]


def _small_cnn(in_channels: int, image_size: int, dropout: float | None) -> SmallCNN:
    return SmallCNN(in_channels, image_size, 0.1 if dropout is None else dropout)


def _lite0(in_channels: int, image_size: int, dropout: float | None) -> EfficientNetLite0:
    return EfficientNetLite0()  # 3 channels, 1000 classes, its own dropout: the checkpoint's net


def _torchvision(name: str) -> Callable[[int, int, float | None], nn.Module]:
    """torchvision's constructor of `name`, random init (weights are loaded by build_model, never fetched)."""
    return lambda in_channels, image_size, dropout: _torchvision_attr(f"models.{name}")(weights=None)


ARCHS: dict[str, Arch] = {a.name: a for a in (
    Arch("small_cnn", SmallCNN, _small_cnn, first_conv="conv1", fc=None, dropout=None,
         stages=_small_cnn_stages, steps=_small_cnn_steps, weights=None),
    Arch("resnet18", "models.ResNet", _torchvision("resnet18"), first_conv="conv1", fc="fc", dropout=None,
         stages=_resnet_stages, steps=_resnet_steps, weights=W.WEIGHTS["resnet18"]),
    Arch("resnet50", "models.ResNet", _torchvision("resnet50"), first_conv="conv1", fc="fc", dropout=None,
         stages=_resnet_stages, steps=_resnet_steps, weights=W.WEIGHTS["resnet50"]),
    Arch("efficientnet_b0", "models.EfficientNet", _torchvision("efficientnet_b0"), first_conv="features.0.0",
         fc="classifier.1", dropout="classifier.0", stages=_b0_stages, steps=_b0_steps,
         weights=W.WEIGHTS["efficientnet_b0"]),
    Arch("efficientnet_lite0", EfficientNetLite0, _lite0, first_conv="_conv_stem", fc="_fc", dropout="_dropout",
         stages=_lite0_stages, steps=_lite0_steps, weights=W.WEIGHTS["efficientnet_lite0"]),
)}
BACKBONES = tuple(ARCHS)


def get_arch(name: str) -> Arch:
    """The table entry of a backbone; raises ValueError listing the valid ones."""
    if name not in ARCHS:
        raise ValueError(f"unknown backbone {name!r}; valid: {', '.join(BACKBONES)}")
    return ARCHS[name]
