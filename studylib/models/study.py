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
from .spec import FROZEN_BN, GRAY_MODES, HEADS, SCOPE_ALIASES, SCOPES, ModelSpec, canonical_scope, check

__all__ = ["FROZEN_BN", "GRAY_MODES", "HEADS", "SCOPES", "SCOPE_ALIASES", "ModelSpec", "StudyModel", "build_model",
           "canonical_scope", "param_groups"]

_BN = nn.modules.batchnorm._BatchNorm


class StudyModel(nn.Module):
    """input -> body -> head on [0, 1] images. The model owns what is frozen: ``set_scope`` works it
    out once and ``train`` (frozen BatchNorm in eval, unless ``frozen_bn='adapt'``), ``is_frozen`` and
    ``adapts`` (split_frozen_prefix) use it."""

    def __init__(self, body: nn.Module, head: nn.Module, stages, new_layers, model_input: ModelInput, info: dict,
                 frozen_bn: str = "eval"):
        super().__init__()
        check("frozen_bn", frozen_bn, FROZEN_BN)
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


def build_model(spec: ModelSpec | str | None = None, *args, **options) -> StudyModel:
    """Build a study model from a `ModelSpec` (see its fields), or in the keyword form, which forwards to it:
    ``build_model(backbone, num_classes, **options)`` is ``build_model(ModelSpec(backbone, num_classes, **options))``.

    Example:
        >>> m = build_model(ModelSpec("resnet18", 10, in_channels=1, gray_mode="new", scope="new_layers"))
        >>> m = build_model("resnet18", 10, in_channels=1, pretrained=False, gray_mode="new", scope="new_layers")
    """
    if not isinstance(spec, ModelSpec):
        spec = ModelSpec(*(() if spec is None else (spec,)), *args, **options)
    elif args or options:
        raise TypeError("build_model(spec) takes nothing else; change a spec with dataclasses.replace")
    arch = get_arch(spec.backbone)
    info = dict(backbone=spec.backbone, pretrained=spec.pretrained, weights="random init", weights_file=None,
                weights_sha256=None, weights_source=None, num_classes=spec.num_classes, in_channels=spec.in_channels,
                head=spec.head, gray_mode=spec.gray_mode if spec.in_channels == 1 else None,
                image_size=spec.image_size, pretrained_head=False)
    if arch.fc is None and (spec.pretrained or spec.head != "linear"):
        raise ValueError(f"{spec.backbone} has no pretrained weights and its own FC stack: "
                         "use pretrained=False, head='linear'")
    body = arch.build(spec.in_channels, spec.image_size or 48, spec.dropout)
    weights = _load_weights(spec, arch, body, info)
    pre = resolve_preprocessing(spec.backbone, spec.image_size, spec.interpolation, spec=weights)
    mode = spec.gray_mode if arch.fc is not None else "new"  # small_cnn's own first conv learns from gray
    repeat = spec.in_channels == 1 and mode == "repeat"
    mean, std = gray_stats(pre["mean"], pre["std"], mode) if spec.in_channels == 1 else (pre["mean"], pre["std"])
    out_layer, features, new_layers = _head(spec, arch, body, info, repeat)
    info.update(input_mean=tuple(mean), input_std=tuple(std), input_size=pre["input_size"],
                interpolation=pre["interpolation"], preprocessing_source=pre["source"], head_in_features=features)
    model = StudyModel(body, out_layer, arch.stages(body), new_layers,
                       ModelInput(spec.in_channels, mean, std, repeat), info, spec.frozen_bn)
    model.set_scope(spec.scope, spec.last_n, spec.freeze_to)
    print(describe(spec.backbone, pre, mean, std, mode if spec.in_channels == 1 else None))
    print(f"studylib.models: {spec.backbone} ({info['weights']}), head {spec.head}"
          f"{' (pretrained)' if info['pretrained_head'] else ''}, scope {info['scope']}"
          f"{'' if info.get('freeze_to') is None else ' ' + str(info['freeze_to'])}, frozen BatchNorm {spec.frozen_bn}: "
          f"{info['trainable_params']:,} / {info['total_params']:,} parameters trainable")
    return model


def _load_weights(spec: ModelSpec, arch, body: nn.Module, info: dict):
    """Load the ImageNet weights into `body` when pretrained (recorded in `info`); the weights' spec (None
    for a backbone without weights), whose preprocessing the model adopts."""
    weights = arch.weights[0] if arch.weights else None
    if not spec.pretrained:
        return weights
    try:
        weights, path, digest = W.find_weights(spec.backbone, spec.weights_dir)
    except W.WeightsError:
        if not W.random_fallback():
            raise
        weights, path = arch.weights[0], None  # SMOKE: random init in place of the absent file, said everywhere
        info.update(weights=f"random init in place of {weights.file} (SMOKE)", weights_source="SMOKE")
    if path is not None:
        body.load_state_dict(W.load_state_dict(path))  # strict: a wrong file fails here, loudly
        info.update(weights=f"{path.name} (sha256 {digest})", weights_file=path.name,
                    weights_sha256=digest, weights_source=weights.source)
    return weights


def _head(spec: ModelSpec, arch, body: nn.Module, info: dict, repeat: bool) -> tuple[nn.Module, int, list]:
    """Adapt `body` to the input (a 1-channel first conv unless gray repeats) and give it its head:
    (head, the head's input features, the new layers that learn under scope new_layers)."""
    if arch.fc is None:  # small_cnn: its own FC stack is the body; everything in it is new
        return nn.Linear(body.out_features, spec.num_classes), body.out_features, [body]
    new_layers: list[nn.Module] = []
    if spec.in_channels == 1 and not repeat:
        conv = _gray_conv(body.get_submodule(arch.first_conv), spec.gray_mode)
        _set(body, arch.first_conv, conv)
        if spec.gray_mode == "new":
            new_layers = [conv]
    fc = body.get_submodule(arch.fc)
    features = fc.in_features
    _set(body, arch.fc, nn.Identity())
    if spec.head == "mlp":
        size = spec.image_size or 48
        _set(body, "avgpool", nn.Identity())  # keep the h x w map; the body's forward flattens it
        if arch.dropout:
            _set(body, arch.dropout, nn.Identity())  # the head brings its own dropout
        with torch.no_grad():
            features = body.eval()(torch.zeros(1, 1 if spec.in_channels == 1 and not repeat else 3, size, size)).shape[1]
        info["image_size"] = size
        dropout = 0.5 if spec.dropout is None else spec.dropout
        return mlp_head(features, spec.num_classes, dropout, spec.mlp_width), features, new_layers
    if spec.pretrained and spec.in_channels == 3 and spec.num_classes == fc.out_features:
        info["pretrained_head"] = True
        return fc, features, new_layers  # the weights' own classifier (timm keeps it too)
    return nn.Linear(features, spec.num_classes), features, new_layers


def param_groups(model: nn.Module, lr: float, head_lr_factor: float = 1.0) -> list[dict]:
    """Optimizer parameter groups of the trainable parameters: 'body' at lr, and a `.head` (if any) at
    lr * head_lr_factor (seed 000: weight and bias learn-rate factor 20 on the new layer)."""
    head_ids = {id(p) for p in model.head.parameters()} if hasattr(model, "head") else set()
    trainable = [p for p in model.parameters() if p.requires_grad]
    groups = [{"name": "body", "params": [p for p in trainable if id(p) not in head_ids], "lr": lr},
              {"name": "head", "params": [p for p in trainable if id(p) in head_ids], "lr": lr * head_lr_factor}]
    return [g for g in groups if g["params"]]

