"""An experiment's arms: the data, the model each arm trains and the train-then-test of each, in order."""
from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from ..train import PROTOCOLS, train_and_test
from ..train.loop import fit_label
from .build import build_arm_model, experiment_splits, fit_arm
from .experiments import train_config
from .search import SEARCH_SEED, choose_lr

__all__ = ["build_arm_model", "experiment_splits", "selection_table", "train_arms"]


def train_arms(params, splits: dict, data_dir=None, memo_dir=None, checkpoints=None) -> dict:
    """{arm name: Outcome} for every arm of `params`, each built, fitted (selected on val) and tested once
    per test protocol.

    Each arm's model is built right after seeding with the run's seed, so an arm's initial weights do
    not depend on which arms ran before it (or on anything the notebook drew earlier). An arm with an
    `lr_grid` first has its rate chosen on seed 0's validation (`search.choose_lr`; its trials memoised in
    `memo_dir`; with the run's `extend_grid`, a rate chosen at an end of the grid gets the next one beyond
    it tried): a task of another seed loads seed 0's splits from `data_dir` for that. At seed 0 the
    chosen trial is the arm's model, tested as is.

    `checkpoints` (a folder, `Run.checkpoints()`): each arm saves its last and best epoch there and resumes
    from them, so a task rerun after an interruption continues where it stopped (the same numbers as an
    uninterrupted run: every RNG is restored) instead of training every arm again from its first epoch.
    """
    out, splits0 = {}, None
    for arm in params.arms:
        selection, fitted = None, None
        if arm.lr_grid:
            if splits0 is None:
                splits0 = splits if params.seed == SEARCH_SEED else experiment_splits(
                    dataclasses.replace(params, seed=SEARCH_SEED), data_dir)
            selection, fitted = choose_lr(params, arm, splits0, build_arm_model, memo_dir,
                                          extend=getattr(params, "extend_grid", 0))
        chosen = {"lr": selection["lr"]} if selection else {}
        cfg = train_config(params, arm, **chosen)
        if fitted is None or params.seed != SEARCH_SEED:  # at seed 0 the chosen trial is the arm's model
            # each arm its own folder, named by a hash (arm names hold ':' and ',')
            folder = (Path(checkpoints) / hashlib.sha256(arm.name.encode()).hexdigest()[:12]
                      if checkpoints is not None else None)
            with fit_label(arm.name):
                fitted = fit_arm(params, arm, splits, checkpoint_dir=folder, build=build_arm_model, **chosen)
        o = train_and_test(arm.name, fitted.model, splits, cfg, result=fitted)
        o.selection = selection
        out[arm.name] = o
    return out


def selection_table(outcomes: dict):
    """Each searched arm's rates, one row per (arm, rate): the epoch its validation score peaked at, the
    epoch training stopped at (early, or at the epoch cap), that best score (3 decimals), and the choice.
    None when no arm searched."""
    import pandas as pd

    def score(v):
        return "—" if v is None else f"{v:.3f}"
    rows = [{"setting": o.name, "rate": t["lr"], "best epoch": t["best_epoch"],
             "stopped at epoch": f"{t['final_epoch']} ({'early' if t.get('stopped_early') else 'epoch cap'})",
             f"best {s['monitor'].replace('_', ' ')} (seed {s['seed']})": score(t["best_val"]),
             "chosen": "✔" if t["lr"] == s["lr"] else ""}
            for o in outcomes.values() if (s := o.selection) for t in s["trials"]]
    return pd.DataFrame(rows).set_index(["setting", "rate"]) if rows else None


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
    """Per arm: test metrics and their CIs of the epoch chosen on validation (`test`, `ci`) and of the
    final epoch (`final`: epoch, val, test, ci), the chosen epoch's validation accuracy and the history;
    the learning-rate search (if any); and for provenance the weights (ImageNet or random init), how frozen
    BatchNorm trained, the resolved training config (every field), the speed settings that change
    numerics, and the trainable and frozen parameter counts."""
    out = {}
    for o in outcomes.values():
        trainable, total = o.model_info.get("trainable_params"), o.model_info.get("total_params")
        f = o.protocol("final")
        out[o.name] = {"test": o.metrics, "ci": o.ci, "val_acc": o.val["acc"], "history": o.fit.history,
                       "best_epoch": o.fit.best_epoch, "final_epoch": f["epoch"], "stopped_early": o.fit.stopped_early,
                       "final": {"epoch": f["epoch"], "val": f["val"], "test": f["metrics"], "ci": f["ci"]},
                       "selection": o.selection, "weights": o.model_info.get("weights"),
                       "frozen_bn": o.model_info.get("frozen_bn"),
                       "config": dataclasses.asdict(o.config) if o.config else None,
                       "numerics": o.fit.speed, "trainable_params": trainable,
                       "frozen_params": total - trainable if total is not None and trainable is not None else None}
    return out


def predictions_of(outcomes: dict, extra: dict | None = None) -> dict:
    """{protocol: {arm: (y_true, y_pred, probabilities)}} on test for each test protocol (train.PROTOCOLS),
    for the claims and the record's per-image predictions. `extra`: {name: (y_true, y_pred)} of a model
    with no epochs and no probabilities (features + SVM), the same under every protocol."""
    def of(o, proto):
        test = o.protocol(proto)["test"]
        return test["y_true"], test["y_pred"], test.get("probs")
    return {proto: {**{name: of(o, proto) for name, o in outcomes.items()}, **(extra or {})} for proto in PROTOCOLS}


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
