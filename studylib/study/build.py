"""The one place an arm is seeded, built and fitted: its data (`experiment_splits`), its model
(`build_arm_model`) and `fit_arm` (seed, build, fit on train with the epoch chosen on validation). The
run's arms (`arms.train_arms`), the learning-rate search's trials (`search`) and a sweep's points (`sweep`)
all train through `fit_arm`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
from functools import lru_cache

from .. import data, models
from ..train import fit, seed_everything
from ..train.checkpoint import resumable
from .experiments import Arm, FrozenVsFullParams, PartialVsFullParams, train_config

__all__ = ["architecture_info", "build_arm_model", "experiment_splits", "fit_arm", "model_spec"]


def experiment_splits(params, data_dir) -> dict:
    """train / val / test of notebook 04 (FERPlus) or 05 (its dataset; 001: val from Training; validation
    cut to `max_val` where set).

    The same for every seed of a run (docs/METHOD.md, Replicates: a seed sets initialisation, data order,
    augmentation and dropout, never the split): subsets, recorded splits and the validation split use the
    data's own seed (`data.splits.SPLIT_SEED`), not the run's."""
    if isinstance(params, FrozenVsFullParams):
        return data.splits.load_splits("ferplus", data_dir, label_mode=params.label_mode,
                                       num_classes=params.num_classes, max_train=params.max_train)
    if isinstance(params, PartialVsFullParams):
        splits = data.splits.load_splits(params.dataset, data_dir, data.LoadOptions(image_size=params.load_size),
                                         fold=params.fold, max_train=params.max_train, max_eval=params.max_eval)
        splits = data.splits.split_off_val(splits, params.val_from_train)
        # validation alone cut, as notebook 08's curve_splits does (the same stratified subset of the same split)
        return {**splits, "val": data.splits.subsample(splits["val"], params.max_val, data.splits.SPLIT_SEED)}
    raise TypeError(f"experiment_splits knows notebooks 04 and 05, not {type(params).__name__}")


def model_spec(params, arm: Arm, splits: dict) -> models.ModelSpec:
    """What an arm's model is built from: the one `models.ModelSpec` of the experiment's parameters, the
    arm's own choices over them (scope, freeze_to, pretrained, frozen BatchNorm) and the data's shape."""
    train = splits["train"]
    if not hasattr(params, "backbone"):  # 03: the paper's small CNN, trained from scratch
        return models.ModelSpec("small_cnn", params.num_classes, in_channels=1, pretrained=False,
                                dropout=params.dropout)
    image_size = getattr(params, "image_size", None) or train.images.shape[1]
    extra = {k: getattr(params, k) for k in ("head", "dropout", "mlp_width") if hasattr(params, k)}
    scope, freeze_to = arm.resolve(params)   # an arm's freeze_to, else the experiment's (study.arm_spec.arm_scope)
    return models.ModelSpec(
        params.backbone, train.num_classes, in_channels=train.channels,
        pretrained=params.pretrained if arm.pretrained is None else arm.pretrained,
        weights_dir=params.weights_dir or None, gray_mode=getattr(params, "gray_mode", "repeat"), scope=scope,
        freeze_to=freeze_to, image_size=image_size, frozen_bn=arm.frozen_bn or getattr(params, "frozen_bn", "eval"),
        **extra)


def build_arm_model(params, arm: Arm, splits: dict):
    """The StudyModel an arm trains (`model_spec`, then `models.build_model`)."""
    return models.build_model(model_spec(params, arm, splits))


def fit_arm(params, arm: Arm, splits: dict, seed: int | None = None, checkpoint_dir=None, build=None, **train):
    """Seed every RNG, build the arm's model and fit it on train (the epoch chosen on val); the FitResult.

    seed: the run's (default) or another (the search trains at seed 0); checkpoint_dir: checkpoint there
    and continue from what is there; build: the model builder (default `build_arm_model`); train:
    TrainConfig overrides (the rate a search tries or chose). The model is built right after seeding, so
    an arm's initial weights depend on nothing drawn before it."""
    p = params if seed is None else dataclasses.replace(params, seed=seed)
    seed_everything(p.seed)
    model = (build or build_arm_model)(p, arm, splits)
    return fit(model, splits["train"], splits["val"], resumable(train_config(p, arm, **train), checkpoint_dir))


@lru_cache(maxsize=64)
def architecture_info(backbone: str, num_classes: int = 10, **build) -> dict:
    """`model.info` of a backbone built from random init (only the architecture counts: its parameter
    counts under a scope), built once per setting and kept: the scorecard's regime and the render's
    projection ask it for every task."""
    with contextlib.redirect_stdout(io.StringIO()):  # build_model prints its summary
        return dict(models.build_model(backbone, num_classes, pretrained=False, **build).info)

