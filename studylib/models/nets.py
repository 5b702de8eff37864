"""The study's own nets: seed 003's small CNN, an EfficientNet-Lite0 port that loads the
``efficientnet_pytorch``-layout checkpoint as is, and seed 001's MLP head.

ResNet18/50 and EfficientNet-B0 come from torchvision (see ``archs``).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LITE0_STAGES", "EfficientNetLite0", "MBConv", "SameConv2d", "SmallCNN", "mlp_head"]


class SmallCNN(nn.Module):
    """Seed 003's CNN without its last layer (fc3 becomes StudyModel.head)."""

    def __init__(self, in_channels: int = 1, image_size: int = 48, dropout: float = 0.1):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(in_channels, 6, 5), nn.BatchNorm2d(6)
        self.pool = nn.MaxPool2d(2, 2)
        self.conv2, self.bn2 = nn.Conv2d(6, 16, 5), nn.BatchNorm2d(16)
        side = ((image_size - 4) // 2 - 4) // 2  # 48 -> 44 -> 22 -> 18 -> 9
        self.fc1, self.fc2 = nn.Linear(16 * side * side, 120), nn.Linear(120, 84)
        self.dropout = nn.Dropout(dropout)
        self.out_features = 84

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        x = torch.flatten(x, 1)
        # The seed applies dropout before the activation; kept as published.
        x = F.relu(self.dropout(self.fc1(x)))
        return F.relu(self.dropout(self.fc2(x)))


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow 'SAME' padding (extra pixel bottom/right at stride 2): Lite was trained so."""

    def forward(self, x):
        (ih, iw), (kh, kw), (sh, sw) = x.shape[-2:], self.kernel_size, self.stride
        ph = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pw = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        if ph or pw:
            x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
        return super().forward(x)


def _bn(c: int) -> nn.BatchNorm2d:
    """BatchNorm with TF's epsilon and momentum (0.99 decay), as in the Lite checkpoint."""
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class MBConv(nn.Module):
    """Lite's inverted residual: expand 1x1, depthwise kxk, project 1x1; ReLU6, no squeeze-excite."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv, self._bn0 = SameConv2d(cin, mid, 1, bias=False), _bn(mid)
        self._depthwise_conv = SameConv2d(mid, mid, k, stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv, self._bn2 = SameConv2d(mid, cout, 1, bias=False), _bn(cout)
        self.skip = stride == 1 and cin == cout
        # No drop-connect: it only regularises training of these blocks and is not in the weights.

    def forward(self, x):
        y = F.relu6(self._bn0(self._expand_conv(x))) if hasattr(self, "_expand_conv") else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


# EfficientNet-B0's stages (repeats, kernel, stride, expand, in, out); Lite0 keeps them, drops SE.
LITE0_STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
                (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320))


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 with attribute names of the `efficientnet_pytorch` layout, so the
    package's state dict loads as is (strict)."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        self._conv_stem, self._bn0 = SameConv2d(3, 32, 3, 2, bias=False), _bn(32)
        blocks = [MBConv(cin if i == 0 else cout, cout, k, s if i == 0 else 1, e)
                  for r, k, s, e, cin, cout in LITE0_STAGES for i in range(r)]
        self._blocks = nn.ModuleList(blocks)
        self._conv_head, self._bn1 = SameConv2d(320, 1280, 1, bias=False), _bn(1280)
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # named like torchvision's so one hook name fits all
        self._dropout, self._fc = nn.Dropout(dropout), nn.Linear(1280, num_classes)

    def forward(self, x):
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(self._dropout(torch.flatten(self.avgpool(x), 1)))


def mlp_head(in_features: int, num_classes: int, dropout: float = 0.5, width: int = 32) -> nn.Sequential:
    """Seed 001's head: dropout, flatten, BN, FC width, [BN, ReLU, dropout, FC width] x2, BN, ReLU, dropout, FC
    (width 32 in the seed)."""
    layers = [nn.Dropout(dropout), nn.Flatten(), nn.BatchNorm1d(in_features), nn.Linear(in_features, width)]
    for out in (width, width, num_classes):
        layers += [nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout), nn.Linear(width, out)]
    return nn.Sequential(*layers)
