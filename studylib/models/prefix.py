"""Frozen prefix / trainable suffix of a StudyModel (speed: train.fit caches or no_grads the frozen part).

The model's forward is its input step (``ModelInput``), then the body as the arch table's step list
(``Arch.steps``), then the head; the prefix is the input step and the leading body steps the model's
scope freezes (``StudyModel.is_frozen``).
"""
from __future__ import annotations

import sys

from torch import nn

from .archs import ARCHS
from .study import StudyModel

__all__ = ["split_frozen_prefix"]


def _is_frozen(model: StudyModel, step: nn.Module) -> bool:
    """Nothing in the step learns under the model's scope, and every BatchNorm in it has running
    statistics: with frozen_bn='eval' StudyModel.train keeps it in eval (it never changes); with 'adapt'
    it updates its statistics in training, which needs no gradient, so the step may still run under no_grad."""
    if not model.is_frozen(step):
        return False
    return all(m.track_running_stats and m.running_mean is not None
               for m in step.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))


def _is_deterministic(model: StudyModel, step: nn.Module) -> bool:
    """The same output in train and eval mode, every epoch: no active dropout or stochastic depth inside,
    and no frozen BatchNorm whose statistics adapt (frozen_bn='adapt': it normalises by the batch in
    training and its running statistics move, so yesterday's outputs are not today's)."""
    if model.adapts(step):
        return False
    # torchvision's StochasticDepth (EfficientNet-B0's blocks): a net holding one was built by torchvision, so it
    # is imported; a process that never imported it (the small CNN, Lite0) holds none (`archs` imports it lazily)
    tv = sys.modules.get("torchvision.ops")
    for m in step.modules():
        if isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0:
            return False
        if tv is not None and isinstance(m, tv.StochasticDepth) and m.p > 0:
            return False
    return True


def split_frozen_prefix(model: nn.Module, cacheable: bool = False) -> tuple[nn.Sequential, nn.Sequential] | None:
    """Split a StudyModel into (frozen prefix, trainable suffix) with ``suffix(prefix(x)) == model(x)``.

    The prefix is the model's input step (``model.input``: channel check, grayscale repeat,
    normalisation) and the longest run of leading body steps that are frozen: no parameter in them
    learns (a BatchNorm's running statistics may adapt under frozen_bn='adapt'; that needs no gradient). It can run under
    ``torch.no_grad()`` without changing anything the optimizer sees. The suffix is the rest of the
    body and the head. Both share the model's modules (training the suffix trains the model).

    Args:
        model: a StudyModel (any backbone of the arch table) with its scope applied.
        cacheable: also require the prefix to be deterministic in train mode (no dropout or
            stochastic depth, no frozen BatchNorm that adapts: frozen_bn='adapt'), so its outputs can be
            computed once and reused every epoch.
            torchvision's EfficientNet-B0 applies stochastic depth in every block but the first,
            frozen or not, so its cacheable prefix stops after stage 1.

    Returns:
        (prefix, suffix) as ``nn.Sequential``s, or None when the model is not a StudyModel of a known
        net or no body step is frozen (e.g. scope='all', or a new first conv that learns).
    """
    if not isinstance(model, StudyModel):
        return None
    arch = ARCHS.get(model.info.get("backbone"))
    if arch is None or not isinstance(model.body, arch.net_class):
        return None
    steps = arch.steps(model.body)
    cut = 0
    while cut < len(steps) and _is_frozen(model, steps[cut]) and (not cacheable or _is_deterministic(model, steps[cut])):
        cut += 1
    if cut == 0:
        return None
    return nn.Sequential(model.input, *steps[:cut]), nn.Sequential(*steps[cut:], model.head)
