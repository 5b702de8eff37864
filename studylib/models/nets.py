"""Backbones, heads, grayscale adapters and freezing strategies for the study's models.

``build_model`` is the one entry point. Every model is a ``StudyModel``: it takes images in [0, 1],
normalises them itself with the statistics its weights were trained on, and exposes its new head,
its named parameter groups and a record (``.info``) of what it is made of, for the reports.
"""
from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from . import weights as W

BACKBONES = ("small_cnn", "resnet18", "resnet50", "efficientnet_b0", "efficientnet_lite0")
HEADS = ("linear", "mlp")
FREEZE = ("none", "head", "last_block", "new_layers_only", "last_n")
GRAY_MODES = ("repeat", "sum", "new")
GRAY_NEW_MEAN, GRAY_NEW_STD = (0.485,), (0.229,)  # seed 003: transforms.Normalize(0.485, 0.229)


def _check(what: str, value, valid) -> None:
    """Raise ValueError naming the valid choices when value is not one of them."""
    if value not in valid:
        raise ValueError(f"unknown {what} {value!r}; valid: {', '.join(map(str, valid))}")


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


# Where each pretrained net keeps its first conv, its final Linear and the dropout before it.
_LAYOUT = {"resnet18": ("conv1", "fc", None), "resnet50": ("conv1", "fc", None),
           "efficientnet_b0": ("features.0.0", "classifier.1", "classifier.0"),
           "efficientnet_lite0": ("_conv_stem", "_fc", "_dropout")}


def _stages(name: str, net: nn.Module) -> list[list[nn.Module]]:
    """The net's stages, input to output. The last is what 'last_block' trains:
    ResNet layer4; EfficientNet-B0 features[7] (last MBConv stage, 320 ch) + features[8] (1x1 conv to 1280);
    Lite0 _blocks[15] + _conv_head/_bn1 (the same two pieces)."""
    if name == "small_cnn":
        return [[net.conv1, net.bn1], [net.conv2, net.bn2], [net.fc1], [net.fc2]]
    if name.startswith("resnet"):
        return [[net.conv1, net.bn1], [net.layer1], [net.layer2], [net.layer3], [net.layer4]]
    if name == "efficientnet_b0":
        f = net.features
        return [[f[i]] for i in range(7)] + [[f[7], f[8]]]
    b = list(net._blocks)
    return ([[net._conv_stem, net._bn0]] + [b[i:j] for i, j in ((0, 1), (1, 3), (3, 5), (5, 8), (8, 11), (11, 15))]
            + [[b[15], net._conv_head, net._bn1]])


def _set(net: nn.Module, path: str, module: nn.Module) -> None:
    """Replace the submodule at a dotted path."""
    parent, _, leaf = path.rpartition(".")
    setattr(net.get_submodule(parent) if parent else net, leaf, module)


def _gray_conv(conv: nn.Conv2d, mode: str) -> nn.Conv2d:
    """A 1-channel copy of conv: RGB filters summed ('sum') or freshly initialised ('new', seed 003)."""
    new = copy.deepcopy(conv)
    new.in_channels = 1
    if mode == "sum":
        new.weight = nn.Parameter(conv.weight.detach().sum(1, keepdim=True))
    else:
        new.weight = nn.Parameter(torch.empty(conv.out_channels, 1, *conv.kernel_size))
        new.reset_parameters()  # PyTorch's default init, as nn.Conv2d(1, 64, 7, 2, 3) in seed 003
    return new


def mlp_head(in_features: int, num_classes: int, dropout: float = 0.5, width: int = 32) -> nn.Sequential:
    """Seed 001's head: dropout, flatten, BN, FC 32, [BN, ReLU, dropout, FC 32] x2, BN, ReLU, dropout, FC."""
    layers = [nn.Dropout(dropout), nn.Flatten(), nn.BatchNorm1d(in_features), nn.Linear(in_features, width)]
    for out in (width, width, num_classes):
        layers += [nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout), nn.Linear(width, out)]
    return nn.Sequential(*layers)


class StudyModel(nn.Module):
    """body -> head on [0, 1] images; normalisation, grayscale repeat and freezing built in."""

    def __init__(self, body, head, stages, new_layers, mean, std, repeat_gray, info):
        super().__init__()
        self.body, self.head = body, head
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1))
        self.repeat_gray, self.info = repeat_gray, info
        self.groups = {"new_layers": list(new_layers), "head": [head], "last_block": list(stages[-1]), "body": [body]}
        self.groups.update({f"stage{i}": list(s) for i, s in enumerate(stages)})
        self.num_stages = len(stages)

    def forward(self, x):
        if x.shape[1] != self.info["in_channels"]:
            raise ValueError(f"expected {self.info['in_channels']}-channel input, got shape {tuple(x.shape)}")
        if self.repeat_gray:
            x = x.expand(-1, 3, -1, -1)
        return self.head(self.body((x - self.mean) / self.std))

    def set_freeze(self, freeze: str, last_n: int = 1) -> "StudyModel":
        """Apply a freezing strategy (see FREEZE); new layers learn under all but 'head'."""
        _check("freeze", freeze, FREEZE)
        if freeze == "last_n" and not 1 <= last_n <= self.num_stages:
            raise ValueError(f"last_n must be in 1..{self.num_stages} for {self.info['backbone']}, got {last_n}")
        learn = {"none": [self], "head": [], "new_layers_only": self.groups["new_layers"],
                 "last_block": self.groups["new_layers"] + self.groups["last_block"],
                 "last_n": self.groups["new_layers"] + [m for i in range(self.num_stages - last_n, self.num_stages)
                                                        for m in self.groups[f"stage{i}"]]}[freeze]
        self.requires_grad_(False)
        for m in learn + [self.head]:
            m.requires_grad_(True)
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        self.info.update(freeze=freeze, last_n=last_n if freeze == "last_n" else None,
                         trainable_params=trainable, total_params=sum(p.numel() for p in self.parameters()))
        return self.train(self.training)

    def train(self, mode: bool = True):
        """As nn.Module.train, but BatchNorm whose parameters are all frozen stays in eval mode,
        so a frozen block keeps its pretrained running statistics (fastai/timm behaviour)."""
        super().train(mode)
        for m in self.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and not any(p.requires_grad for p in m.parameters()):
                m.eval()
        return self


def build_model(backbone: str, num_classes: int, in_channels: int = 3, pretrained: bool = False,
                head: str = "linear", freeze: str = "none", gray_mode: str = "repeat", weights_dir=None,
                last_n: int = 1, image_size: int | None = None, dropout: float | None = None) -> StudyModel:
    """Build a study model.

    Args:
        backbone: one of BACKBONES. num_classes: outputs of the new head.
        in_channels: 1 (grayscale) or 3. gray_mode: how 1-channel input meets an RGB net (GRAY_MODES).
        pretrained: True loads ImageNet weights (WeightsError if missing); False is random init.
        head: 'linear' (FC on pooled features) or 'mlp' (seed 001, on the unpooled map at image_size).
        freeze / last_n: freezing strategy (FREEZE), changeable later with model.set_freeze.
        weights_dir: folder with weights files (default $STUDYLIB_WEIGHTS, else torch hub's cache).
        image_size: input side the mlp head / small_cnn are sized for (default 48, seed 001/003).
        dropout: small_cnn dropout (default 0.1) or mlp head dropout (default 0.5).
    Example:
        >>> m = build_model("resnet18", 10, in_channels=1, pretrained=False, gray_mode="new", freeze="new_layers_only")
    """
    _check("backbone", backbone, BACKBONES)
    _check("head", head, HEADS)
    _check("gray_mode", gray_mode, GRAY_MODES)
    _check("in_channels", in_channels, (1, 3))
    _check("freeze", freeze, FREEZE)
    if not isinstance(pretrained, bool):
        raise TypeError(f"pretrained must be True or False, got {pretrained!r}")
    size = image_size or 48
    spec = W.get_spec(backbone) if backbone in W.WEIGHTS else None
    info = dict(backbone=backbone, pretrained=pretrained, weights="random init", weights_file=None,
                weights_sha256=None, weights_source=None, num_classes=num_classes, in_channels=in_channels,
                head=head, gray_mode=gray_mode if in_channels == 1 else None, image_size=image_size)
    new_layers: list[nn.Module] = []
    if backbone == "small_cnn":
        if pretrained or head != "linear":
            raise ValueError("small_cnn has no pretrained weights and its own FC stack: use pretrained=False, head='linear'")
        body = SmallCNN(in_channels, size, 0.1 if dropout is None else dropout)
        features, new_layers = body.out_features, [body]
        out_layer = nn.Linear(features, num_classes)
        mean, std = (GRAY_NEW_MEAN, GRAY_NEW_STD) if in_channels == 1 else (W.IMAGENET_MEAN, W.IMAGENET_STD)
        repeat = False
    else:
        body = EfficientNetLite0() if backbone == "efficientnet_lite0" else getattr(torchvision.models, backbone)(weights=None)
        if pretrained:
            spec, path, digest = W.find_weights(backbone, weights_dir)
            body.load_state_dict(W.load_state_dict(path))  # strict: a wrong file fails here, loudly
            info.update(weights=f"{path.name} (sha256 {digest})", weights_file=path.name,
                        weights_sha256=digest, weights_source=spec.source)
        conv_path, fc_path, drop_path = _LAYOUT[backbone]
        mean, std, repeat = spec.mean, spec.std, False
        if in_channels == 1 and gray_mode == "repeat":
            repeat = True
        elif in_channels == 1:
            conv = _gray_conv(body.get_submodule(conv_path), gray_mode)
            _set(body, conv_path, conv)
            # 'sum' gives the RGB filters' response to a gray image when the gray is normalised by the
            # mean RGB statistics (exact for Lite's equal stats, close for ImageNet's; timm does the same).
            mean, std = ((sum(mean) / 3,), (sum(std) / 3,)) if gray_mode == "sum" else (GRAY_NEW_MEAN, GRAY_NEW_STD)
            if gray_mode == "new":
                new_layers = [conv]
        features = body.get_submodule(fc_path).in_features
        _set(body, fc_path, nn.Identity())
        if head == "mlp":
            _set(body, "avgpool", nn.Identity())  # keep the h x w map; the body's forward flattens it
            if drop_path:
                _set(body, drop_path, nn.Identity())  # the head brings its own dropout
            with torch.no_grad():
                features = body.eval()(torch.zeros(1, 1 if in_channels == 1 and not repeat else 3, size, size)).shape[1]
            info["image_size"] = size
            out_layer = mlp_head(features, num_classes, 0.5 if dropout is None else dropout)
        else:
            out_layer = nn.Linear(features, num_classes)
    info.update(input_mean=tuple(mean), input_std=tuple(std), input_size=spec.input_size if spec else size,
                interpolation=spec.interpolation if spec else "bilinear", head_in_features=features)
    model = StudyModel(body, out_layer, _stages(backbone, body), new_layers, mean, std, repeat, info)
    model.set_freeze(freeze, last_n)
    print(f"studylib.models: {backbone} ({info['weights']}), head {head}, freeze {freeze}: "
          f"{info['trainable_params']:,} / {info['total_params']:,} parameters trainable")
    return model


def param_groups(model: nn.Module, lr: float, head_lr_factor: float = 1.0) -> list[dict]:
    """Optimizer parameter groups of the trainable parameters; a `.head` (if any) gets lr * head_lr_factor
    (seed 000: weight and bias learn-rate factor 20 on the new layer). `lr_factor` lets schedulers report
    the base learning rate."""
    head_ids = {id(p) for p in model.head.parameters()} if hasattr(model, "head") else set()
    trainable = [p for p in model.parameters() if p.requires_grad]
    groups = [{"name": "body", "params": [p for p in trainable if id(p) not in head_ids], "lr": lr, "lr_factor": 1.0},
              {"name": "head", "params": [p for p in trainable if id(p) in head_ids], "lr": lr * head_lr_factor,
               "lr_factor": head_lr_factor}]
    return [g for g in groups if g["params"]]


# --- frozen prefix / trainable suffix (speed: train.fit caches or no_grads the frozen part) ----------

class ModelInput(nn.Module):
    """The input step of ``StudyModel.forward``: channel check, grayscale repeat, normalisation.

    Shares the model's ``mean``/``std`` buffers, so it always matches the model it came from.
    """

    def __init__(self, model: "StudyModel"):
        super().__init__()
        self._model = [model]  # a list, so the model is not registered as a submodule (no cycle)

    def forward(self, x):
        m = self._model[0]
        if x.shape[1] != m.info["in_channels"]:
            raise ValueError(f"expected {m.info['in_channels']}-channel input, got shape {tuple(x.shape)}")
        if m.repeat_gray:
            x = x.expand(-1, 3, -1, -1)
        return (x - m.mean) / m.std


def _body_steps(model: "StudyModel") -> list[nn.Module] | None:
    """The body's forward as a list of modules applied one after the other (same ops, same order),
    or None for a body this function does not know."""
    backbone, body = model.info.get("backbone"), model.body
    flat = nn.Flatten(1)
    if backbone == "small_cnn" and isinstance(body, SmallCNN):
        # F.relu(bn(conv)) -> pool, twice; then relu(dropout(fc)) twice (dropout before ReLU, as published)
        return [body.conv1, body.bn1, nn.ReLU(), body.pool, body.conv2, body.bn2, nn.ReLU(), body.pool, flat,
                body.fc1, body.dropout, nn.ReLU(), body.fc2, body.dropout, nn.ReLU()]
    if backbone in ("resnet18", "resnet50") and isinstance(body, torchvision.models.ResNet):
        return [body.conv1, body.bn1, body.relu, body.maxpool, body.layer1, body.layer2, body.layer3,
                body.layer4, body.avgpool, flat, body.fc]
    if backbone == "efficientnet_b0" and isinstance(body, torchvision.models.EfficientNet):
        return [*body.features, body.avgpool, flat, body.classifier]
    if backbone == "efficientnet_lite0" and isinstance(body, EfficientNetLite0):
        return [body._conv_stem, body._bn0, nn.ReLU6(), *body._blocks, body._conv_head, body._bn1, nn.ReLU6(),
                body.avgpool, flat, body._dropout, body._fc]
    return None


def _is_frozen(step: nn.Module) -> bool:
    """No trainable parameter, and every BatchNorm in it frozen with running statistics, so that
    train mode (StudyModel.train / train.freeze_bn_stats) keeps it in eval: it never learns or updates."""
    if any(p.requires_grad for p in step.parameters()):
        return False
    for m in step.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            if not list(m.parameters(recurse=False)) or not m.track_running_stats or m.running_mean is None:
                return False
    return True


def _is_deterministic(step: nn.Module) -> bool:
    """The same output in train and eval mode: no active dropout or stochastic depth inside."""
    for m in step.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0:
            return False
        if isinstance(m, torchvision.ops.StochasticDepth) and m.p > 0:
            return False
    return True


def split_frozen_prefix(model: nn.Module, cacheable: bool = False) -> tuple[nn.Sequential, nn.Sequential] | None:
    """Split a StudyModel into (frozen prefix, trainable suffix) with ``suffix(prefix(x)) == model(x)``.

    The prefix is the input step (normalisation, grayscale repeat) and the longest run of leading body
    steps that are frozen: no trainable parameter, every BatchNorm frozen (so it stays in eval mode).
    It can run under ``torch.no_grad()`` without changing anything the optimizer sees. The suffix is
    the rest of the body and the head. Both share the model's modules (training the suffix trains
    the model).

    Args:
        model: a StudyModel (resnet18/50, efficientnet_b0/lite0, small_cnn) with its freezing applied.
        cacheable: also require the prefix to be deterministic in train mode (no dropout or
            stochastic depth), so its outputs can be computed once and reused every epoch.
            torchvision's EfficientNet-B0 applies stochastic depth in every block but the first,
            frozen or not, so its cacheable prefix stops after stage 1.

    Returns:
        (prefix, suffix) as ``nn.Sequential``s, or None when the model is not a known StudyModel or no
        body step is frozen (e.g. freeze='none', or a new first conv that learns).
    """
    if not isinstance(model, StudyModel):
        return None
    steps = _body_steps(model)
    if steps is None:
        return None
    cut = 0
    while cut < len(steps) and _is_frozen(steps[cut]) and (not cacheable or _is_deterministic(steps[cut])):
        cut += 1
    if cut == 0:
        return None
    return nn.Sequential(ModelInput(model), *steps[:cut]), nn.Sequential(*steps[cut:], model.head)
