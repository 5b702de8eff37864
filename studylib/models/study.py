"""The study's model: a backbone body, a head, a built-in input step, and what trains (its scope).

``build_model`` is the one entry point. Every model is a ``StudyModel``: it takes images in [0, 1],
normalises them itself with the statistics its weights were trained on, and exposes its head, its
named parameter groups and a record (``.info``) of what it is made of, for the reports.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from . import weights as W
from .archs import get_arch
from .nets import mlp_head
from .preprocess import ModelInput, describe, gray_stats, resolve_preprocessing

__all__ = ["FROZEN_BN", "GRAY_MODES", "HEADS", "SCOPES", "SCOPE_ALIASES", "StudyModel", "build_model", "canonical_scope",
           "param_groups"]

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
_BN = nn.modules.batchnorm._BatchNorm


def canonical_scope(scope: str, freeze_to: int | None = None, last_n: int | None = None) -> tuple[str, int | None]:
    """(scope, freeze_to) with the older names mapped: last_block -> (freeze_to, -1), last_n k -> (freeze_to,
    -k); freeze_to defaults to -1 (the last stage). Other scopes carry no freeze_to."""
    _check("scope", scope, SCOPES + SCOPE_ALIASES)
    if scope == "last_block":
        return "freeze_to", -1
    if scope == "last_n":
        return "freeze_to", -int(last_n or 1)
    if scope == "freeze_to":
        return "freeze_to", -1 if freeze_to is None else int(freeze_to)
    return scope, None


def _check(what: str, value, valid) -> None:
    """Raise ValueError naming the valid choices when value is not one of them."""
    if value not in valid:
        raise ValueError(f"unknown {what} {value!r}; valid: {', '.join(map(str, valid))}")


class StudyModel(nn.Module):
    """input -> body -> head on [0, 1] images. The model owns what is frozen: ``set_scope`` works it
    out once and ``train`` (frozen BatchNorm in eval, unless ``frozen_bn='adapt'``), ``is_frozen`` and
    ``adapts`` (split_frozen_prefix) use it."""

    def __init__(self, body: nn.Module, head: nn.Module, stages, new_layers, model_input: ModelInput, info: dict,
                 frozen_bn: str = "eval"):
        super().__init__()
        _check("frozen_bn", frozen_bn, FROZEN_BN)
        self.frozen_bn = frozen_bn
        self.input, self.body, self.head, self.info = model_input, body, head, info
        self.groups = {"new_layers": list(new_layers), "head": [head], "body": [body]}
        self.groups.update({f"stage{i}": list(s) for i, s in enumerate(stages)})
        self.num_stages = len(stages)
        self._frozen: set[nn.Module] = set()  # submodules none of whose parts learn (set_scope)

    mean = property(lambda self: self.input.mean, doc="the input step's mean buffer, (1, C, 1, 1)")
    std = property(lambda self: self.input.std, doc="the input step's std buffer, (1, C, 1, 1)")
    repeat_gray = property(lambda self: self.input.repeat_gray, doc="1-channel input repeated to RGB")

    def forward(self, x):
        return self.head(self.body(self.input(x)))

    def set_scope(self, scope: str, last_n: int | None = None, freeze_to: int | None = None) -> "StudyModel":
        """Choose what trains (see SCOPES; the older last_block / last_n map to freeze_to); new layers learn
        under all but 'head'."""
        scope, n = canonical_scope(scope, freeze_to, last_n)
        if scope == "freeze_to" and not -self.num_stages <= n < self.num_stages:
            raise ValueError(f"freeze_to must be in {-self.num_stages}..{self.num_stages - 1} for "
                             f"{self.info['backbone']} ({self.num_stages} stages), got {n}")
        first = (n if n >= 0 else self.num_stages + n) if scope == "freeze_to" else self.num_stages
        learn = {"all": [self], "head": [], "new_layers": self.groups["new_layers"],
                 "freeze_to": self.groups["new_layers"] + [m for i in range(first, self.num_stages)
                                                           for m in self.groups[f"stage{i}"]]}[scope] + [self.head]
        self.requires_grad_(False)
        for m in learn:
            m.requires_grad_(True)
        learning = {m for part in learn for m in part.modules()}
        self._frozen = {m for m in self.modules() if not any(d in learning for d in m.modules())}
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        self.info.update(scope=scope, freeze_to=n, frozen_bn=self.frozen_bn,
                         trainable_params=trainable, total_params=sum(p.numel() for p in self.parameters()))
        return self.train(self.training)

    def is_frozen(self, module: nn.Module) -> bool:
        """True when no parameter in `module` learns under the current scope (its BatchNorm statistics may
        still adapt: see `adapts`). A module outside the model counts only if stateless."""
        return all(m in self._frozen or not (m._parameters or m._buffers) for m in module.modules())

    def adapts(self, module: nn.Module) -> bool:
        """True when `module` holds a frozen BatchNorm whose running statistics follow the data in
        training (frozen_bn='adapt'): its output then depends on what it has seen, so it is never cached."""
        return self.frozen_bn == "adapt" and any(isinstance(m, _BN) and m in self._frozen for m in module.modules())

    def train(self, mode: bool = True):
        """As nn.Module.train, but with frozen_bn='eval' frozen BatchNorm stays in eval mode, so a frozen
        block keeps its pretrained running statistics (fastai/timm behaviour); with 'adapt' it trains
        like any BatchNorm (normalises by the batch, updates its statistics), as paper 003's code does."""
        super().train(mode)
        if self.frozen_bn == "eval":
            for m in self.modules():
                if isinstance(m, _BN) and m in self._frozen:
                    m.eval()
        return self

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # state dicts saved before the input step was its own module keep its buffers at the top
        for key in ("mean", "std"):
            if prefix + key in state_dict:
                state_dict[f"{prefix}input.{key}"] = state_dict.pop(prefix + key)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


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


def build_model(backbone: str, num_classes: int, in_channels: int = 3, pretrained: bool = False,
                head: str = "linear", scope: str = "all", gray_mode: str = "repeat", weights_dir=None,
                last_n: int | None = None, image_size: int | None = None, dropout: float | None = None,
                mlp_width: int = 32, interpolation: str | None = None, frozen_bn: str = "eval",
                freeze_to: int | None = None) -> StudyModel:
    """Build a study model.

    Args:
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
        interpolation: resize mode recorded in model.info (default: the weights', else bilinear).
        dropout: small_cnn dropout (default 0.1) or mlp head dropout (default 0.5).
        mlp_width: width of the mlp head's hidden layers (seed 001: 32).
        frozen_bn: BatchNorm of the frozen parts in training (FROZEN_BN): 'eval' keeps the pretrained
            statistics; 'adapt' updates them (a PyTorch `requires_grad = False` freeze, paper 003).
    Example:
        >>> m = build_model("resnet18", 10, in_channels=1, pretrained=False, gray_mode="new", scope="new_layers")
    """
    arch = get_arch(backbone)
    _check("head", head, HEADS)
    _check("gray_mode", gray_mode, GRAY_MODES)
    _check("in_channels", in_channels, (1, 3))
    _check("scope", scope, SCOPES + SCOPE_ALIASES)
    _check("frozen_bn", frozen_bn, FROZEN_BN)
    if not isinstance(pretrained, bool):
        raise TypeError(f"pretrained must be True or False, got {pretrained!r}")
    size = image_size or 48
    spec = arch.weights[0] if arch.weights else None
    info = dict(backbone=backbone, pretrained=pretrained, weights="random init", weights_file=None,
                weights_sha256=None, weights_source=None, num_classes=num_classes, in_channels=in_channels,
                head=head, gray_mode=gray_mode if in_channels == 1 else None, image_size=image_size,
                pretrained_head=False)
    if arch.fc is None and (pretrained or head != "linear"):
        raise ValueError(f"{backbone} has no pretrained weights and its own FC stack: "
                         "use pretrained=False, head='linear'")
    body = arch.build(in_channels, size, dropout)
    new_layers: list[nn.Module] = [body] if arch.fc is None else []
    if pretrained:
        try:
            spec, path, digest = W.find_weights(backbone, weights_dir)
        except W.WeightsError:
            if not W.random_fallback():
                raise
            spec, path = arch.weights[0], None  # SMOKE: random init in place of the absent file, said everywhere
            info.update(weights=f"random init in place of {spec.file} (SMOKE)", weights_source="SMOKE")
        if path is not None:
            body.load_state_dict(W.load_state_dict(path))  # strict: a wrong file fails here, loudly
            info.update(weights=f"{path.name} (sha256 {digest})", weights_file=path.name,
                        weights_sha256=digest, weights_source=spec.source)
    pre = resolve_preprocessing(backbone, image_size, interpolation, spec=spec)
    mode = gray_mode if arch.fc is not None else "new"  # small_cnn's own first conv learns from gray
    repeat = in_channels == 1 and mode == "repeat"
    mean, std = gray_stats(pre["mean"], pre["std"], mode) if in_channels == 1 else (pre["mean"], pre["std"])
    if arch.fc is None:
        features = body.out_features
        out_layer = nn.Linear(features, num_classes)
    else:
        if in_channels == 1 and not repeat:
            conv = _gray_conv(body.get_submodule(arch.first_conv), gray_mode)
            _set(body, arch.first_conv, conv)
            if gray_mode == "new":
                new_layers = [conv]
        fc = body.get_submodule(arch.fc)
        features = fc.in_features
        _set(body, arch.fc, nn.Identity())
        if head == "mlp":
            _set(body, "avgpool", nn.Identity())  # keep the h x w map; the body's forward flattens it
            if arch.dropout:
                _set(body, arch.dropout, nn.Identity())  # the head brings its own dropout
            with torch.no_grad():
                features = body.eval()(torch.zeros(1, 1 if in_channels == 1 and not repeat else 3, size, size)).shape[1]
            info["image_size"] = size
            out_layer = mlp_head(features, num_classes, 0.5 if dropout is None else dropout, mlp_width)
        elif pretrained and in_channels == 3 and num_classes == fc.out_features:
            out_layer, info["pretrained_head"] = fc, True  # the weights' own classifier (timm keeps it too)
        else:
            out_layer = nn.Linear(features, num_classes)
    info.update(input_mean=tuple(mean), input_std=tuple(std), input_size=pre["input_size"],
                interpolation=pre["interpolation"], preprocessing_source=pre["source"], head_in_features=features)
    model = StudyModel(body, out_layer, arch.stages(body), new_layers, ModelInput(in_channels, mean, std, repeat), info,
                       frozen_bn)
    model.set_scope(scope, last_n, freeze_to)
    print(describe(backbone, pre, mean, std, mode if in_channels == 1 else None))
    print(f"studylib.models: {backbone} ({info['weights']}), head {head}"
          f"{' (pretrained)' if info['pretrained_head'] else ''}, scope {info['scope']}"
          f"{'' if info.get('freeze_to') is None else ' ' + str(info['freeze_to'])}, frozen BatchNorm {frozen_bn}: "
          f"{info['trainable_params']:,} / {info['total_params']:,} parameters trainable")
    return model


def param_groups(model: nn.Module, lr: float, head_lr_factor: float = 1.0) -> list[dict]:
    """Optimizer parameter groups of the trainable parameters: 'body' at lr, and a `.head` (if any) at
    lr * head_lr_factor (seed 000: weight and bias learn-rate factor 20 on the new layer)."""
    head_ids = {id(p) for p in model.head.parameters()} if hasattr(model, "head") else set()
    trainable = [p for p in model.parameters() if p.requires_grad]
    groups = [{"name": "body", "params": [p for p in trainable if id(p) not in head_ids], "lr": lr},
              {"name": "head", "params": [p for p in trainable if id(p) in head_ids], "lr": lr * head_lr_factor}]
    return [g for g in groups if g["params"]]

