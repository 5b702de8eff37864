"""A hyperparameter sweep's points: each configuration fitted and scored on validation only.

A sweep chooses settings; it must not see test (choosing on test would make the test figure of the
chosen setting optimistic). So a sweep point drops the test split before training and its record holds
validation figures alone; `report.sweep` reads the points' records and picks on validation.
"""
from __future__ import annotations

from .build import fit_arm

__all__ = ["fit_on_validation", "record_metrics", "results_table", "without_test"]


def without_test(splits: dict) -> dict:
    """train and val only: what a sweep point may look at."""
    return {k: v for k, v in splits.items() if k != "test"}


def fit_on_validation(params, splits: dict) -> dict:
    """{arm: FitResult} for every arm, each seeded, built and fitted with its epoch chosen on validation."""
    if "test" in splits:
        raise ValueError("a sweep point must not see the test split: pass study.sweep.without_test(splits)")
    out = {}
    for arm in params.arms:
        out[arm.name] = fit_arm(params, arm, splits)
    return out


def _best_row(result) -> dict:
    row = result.history.loc[result.history["epoch"] == result.best_epoch]
    return {k: float(row[k].iloc[0]) for k in ("val_acc", "val_macro_f1", "val_loss", "train_acc")} if len(row) else {}


def record_metrics(fits: dict) -> dict:
    """Per arm: the chosen epoch's validation figures, the epochs run and the history (no test figure)."""
    return {name: {"val": _best_row(r), "best_epoch": int(r.best_epoch), "epochs_run": int(len(r.history)),
                   "stopped_early": bool(r.stopped_early), "history": r.history.to_dict("records")}
            for name, r in fits.items()}


def results_table(fits: dict):
    import pandas as pd
    return pd.DataFrame([{"arm": name, "best epoch": r.best_epoch, **_best_row(r)} for name, r in fits.items()]
                        ).set_index("arm").round(4)
