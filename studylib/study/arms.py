"""An experiment's arms: the model each arm trains and the train-then-test of each, in order."""
from __future__ import annotations

import dataclasses

from .. import models
from ..train import seed_everything, train_and_test
from .experiments import Arm, train_config

__all__ = ["build_arm_model", "train_arms"]


def build_arm_model(params, arm: Arm, splits: dict):
    """The StudyModel an arm trains, from the experiment's parameters and the data's shape."""
    train = splits["train"]
    if not hasattr(params, "backbone"):  # 03: the paper's small CNN, trained from scratch
        return models.build_model("small_cnn", params.num_classes, in_channels=1, pretrained=False,
                                  dropout=params.dropout)
    image_size = getattr(params, "image_size", None) or train.images.shape[1]
    extra = {k: getattr(params, k) for k in ("head", "dropout", "mlp_width") if hasattr(params, k)}
    return models.build_model(params.backbone, train.num_classes, in_channels=train.channels,
                              pretrained=params.pretrained, weights_dir=params.weights_dir or None,
                              gray_mode=getattr(params, "gray_mode", "repeat"), scope=arm.scope,
                              last_n=arm.last_n or getattr(params, "last_n", 1), image_size=image_size, **extra)


def train_arms(params, splits: dict) -> dict:
    """{arm name: Outcome} for every arm of `params`, each built, fitted (selected on val) and tested once.

    Each arm's model is built right after seeding with the run's seed, so an arm's initial weights do
    not depend on which arms ran before it (or on anything the notebook drew earlier).
    """
    out = {}
    for arm in params.arms:
        seed_everything(params.seed)
        model = build_arm_model(params, arm, splits)
        out[arm.name] = train_and_test(arm.name, model, splits, train_config(params, arm))
    return out


def best_on_validation(outcomes: dict):
    """The arm whose chosen epoch scored best on validation (never test)."""
    return max(outcomes.values(), key=lambda o: o.val["acc"])


def results_of(outcomes: dict) -> dict:
    """{arm: {"metrics", "ci"}}: what the claim registry judges."""
    return {name: {"metrics": o.metrics, "ci": o.ci} for name, o in outcomes.items()}


def per_class_reports(outcomes: dict) -> dict:
    """{arm: per-class precision/recall/F1 table on test}, for `plots.per_class_f1`."""
    return {name: o.metrics["report"] for name, o in outcomes.items()}


def record_metrics(outcomes: dict) -> dict:
    """Per arm: test metrics, their CIs, the chosen epoch's validation accuracy and the history; and for
    provenance the resolved training config (every field), the speed settings that change numerics,
    and the trainable and frozen parameter counts."""
    out = {}
    for o in outcomes.values():
        trainable, total = o.model_info.get("trainable_params"), o.model_info.get("total_params")
        out[o.name] = {"test": o.metrics, "ci": o.ci, "val_acc": o.val["acc"], "history": o.fit.history,
                       "best_epoch": o.fit.best_epoch, "config": dataclasses.asdict(o.config) if o.config else None,
                       "numerics": o.fit.speed, "trainable_params": trainable,
                       "frozen_params": total - trainable if total is not None and trainable is not None else None}
    return out


def predictions_of(outcomes: dict) -> dict:
    """{arm: (y_true, y_pred)} on test, for the record's per-image predictions."""
    return {name: (o.test["y_true"], o.test["y_pred"]) for name, o in outcomes.items()}


def headline(outcomes: dict, prefix: str = "", macro: bool = False) -> str:
    """One line for the index: each arm's test accuracy (and macro F1)."""
    if macro:
        parts = [f"{o.name.split(':')[0]} macro F1 {o.metrics['f1_macro']:.3f}, acc {o.metrics['accuracy']:.1%}"
                 for o in outcomes.values()]
    else:
        parts = [f"{o.name} {o.metrics['accuracy']:.1%}" for o in outcomes.values()]
    return prefix + " · ".join(parts)


def features_svm(params, splits: dict, model, device: str) -> dict:
    """Paper 000's first method: pooled features of the pretrained net, an SVM tuned by cv on train only,
    scored once on test. Returns {"metrics", "ci" (macro F1), "best_params", "pred"}."""
    from .. import metrics
    from ..train.features import extract_features, svm_classifier
    feats = {k: extract_features(model, v, layer=params.feature_layer, image_size=params.image_size, device=device)
             for k, v in splits.items()}
    svm = svm_classifier(feats["train"], splits["train"].labels, params.svm_grid, seed=params.seed, cv=params.svm_cv)
    pred = svm.predict(feats["test"])
    m = metrics.classification_metrics(splits["test"].labels, pred, splits["test"].classes)
    ci = metrics.bootstrap_ci(splits["test"].labels, pred, "macro_f1", seed=params.seed)
    return {"metrics": m, "ci": {"macro_f1": ci}, "best_params": svm.best_params_, "pred": pred}
