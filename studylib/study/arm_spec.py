"""An experiment's arm as data (`Arm`: what trains, from which weights, its own training overrides, its
learning-rate grid) and the one TrainConfig an arm trains with (`train_config`: the experiment's `train`,
then the arm's, then the run's seed and image size); `arm_scope`: what an arm trains, with its experiment's
defaults. `experiments` holds the experiments that list arms.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..models import FROZEN_BN, SCOPES
from ..train.config import TrainConfig

__all__ = ["Arm", "arm_scope", "arm_slug", "train_config", "train_settings"]

# Set once per run at the top level, so every arm and the data split share them.
_TOP_LEVEL = ("seed", "image_size")


def train_settings(**defaults):
    """A mapping of TrainConfig settings, checked against TrainConfig and merged over `defaults`."""
    return field(default_factory=lambda: dict(defaults), metadata={"config": TrainConfig, "reserved": _TOP_LEVEL})


def arm_slug(label: str) -> str:
    """The id an arm gets from its label when none is given ("Last block, 2x" -> "last_block_2x")."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


@dataclass(frozen=True)
class Arm:
    """One trained setting of an experiment: what trains (`scope`), from which weights, and its own
    training overrides; optionally its learning rate chosen on validation from `lr_grid`."""

    name: str
    scope: str = "all"             # models.SCOPES: all | head | new_layers | freeze_to
    freeze_to: int | None = None   # scope freeze_to: n >= 0 freezes the first n stages, n < 0 trains the last -n
                                   # (None: the experiment's)
    frozen_bn: str | None = None   # models.FROZEN_BN: eval | adapt, BatchNorm of the frozen parts (None: the experiment's)
    pretrained: bool | None = None # False: the same net from random init, beside the pretrained arms (None: the experiment's)
    # Learning rates to choose from on validation (study.search: seed 0, each trained until validation stops
    # improving); every seed then trains at the chosen rate. Empty: no search, the arm's train.lr.
    lr_grid: list[float] = field(default_factory=list)
    train: dict = train_settings()         # TrainConfig overrides for this arm only (e.g. its lr)
    # A stable id the registry's claims cite (study.claims.ARMS); labels may change, ids do not.
    # Empty: a slug of the name (an arm no claim cites needs none).
    id: str = ""

    def __post_init__(self):
        if not self.id:
            object.__setattr__(self, "id", arm_slug(self.name))
        if self.scope not in SCOPES:
            raise ValueError(f"arm {self.name!r}: unknown scope {self.scope!r}; valid: {', '.join(SCOPES)}")
        if self.frozen_bn is not None and self.frozen_bn not in FROZEN_BN:
            raise ValueError(f"arm {self.name!r}: unknown frozen_bn {self.frozen_bn!r}; valid: {', '.join(FROZEN_BN)}")
        if any(lr <= 0 for lr in self.lr_grid) or len(set(self.lr_grid)) != len(self.lr_grid):
            raise ValueError(f"arm {self.name!r}: lr_grid must hold distinct positive rates, got {self.lr_grid}")

    def resolve(self, params) -> tuple[str, int | None]:
        """(scope, freeze_to) this arm trains with in an experiment (`arm_scope`)."""
        return arm_scope(self, params)


def arm_scope(arm, params) -> tuple[str, int | None]:
    """(scope, freeze_to) of an arm (an Arm, or the dict a record keeps of one) in its experiment (its
    parameters, a dataclass or a record's dict): scope freeze_to takes the arm's own freeze_to, else the
    experiment's, else -1 (the last stage); every other scope has none. The one place that default is read."""
    get = (lambda o, k: o.get(k)) if isinstance(arm, dict) else (lambda o, k: getattr(o, k, None))
    scope = get(arm, "scope") or "all"
    if scope not in SCOPES:
        raise ValueError(f"arm {get(arm, 'name')!r}: unknown scope {scope!r}; valid: {', '.join(SCOPES)}")
    if scope != "freeze_to":
        return scope, None
    n = get(arm, "freeze_to")
    if n is None:
        n = params.get("freeze_to") if isinstance(params, dict) else getattr(params, "freeze_to", None)
    return scope, -1 if n is None else int(n)


def train_config(params, arm: Arm | None = None, **runtime) -> TrainConfig:
    """The one TrainConfig of an arm: experiment `train`, then the arm's, then seed and image size."""
    settings = dict(getattr(params, "train", {}))
    settings.update(arm.train if arm is not None else {})
    settings.update({k: getattr(params, k) for k in _TOP_LEVEL if hasattr(params, k)}, **runtime)
    return TrainConfig(**settings)
