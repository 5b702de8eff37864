"""How reports format results: intervals, and one row per trained arm (formatting lives here, not in
`train`, which only trains and tests)."""
from __future__ import annotations

import pandas as pd

__all__ = ["fmt_ci", "outcome_row", "results_table"]


def fmt_ci(ci) -> str:
    """A 95% interval as shown everywhere ("[0.701, 0.730]"); "" when there is none (None, or NaN in a table)."""
    try:
        lo, hi = ci
    except (TypeError, ValueError):  # None, NaN, or not a pair
        return ""
    return f"[{lo:.3f}, {hi:.3f}]"


def outcome_row(o) -> dict:
    """One trained arm (`train.Outcome`) as a table row: val and test figures with their 95% intervals."""
    m, f = o.metrics, o.protocol("final")
    info = o.model_info
    weights = (info.get("weights") if info.get("weights_source") == "SMOKE" else
               "ImageNet" if info.get("pretrained") else "random init")  # SMOKE: random init in place of the file
    return {"setting": o.name, "weights": weights,
            "lr": o.config.lr if o.config else None, "best epoch": o.fit.best_epoch,
            "final epoch": f["epoch"], "val acc": o.val["acc"],
            "test acc": m["accuracy"], "acc 95% CI": fmt_ci(o.ci["accuracy"]),
            "test macro F1": m["f1_macro"], "macro F1 95% CI": fmt_ci(o.ci["macro_f1"]),
            "test acc (final epoch)": f["metrics"]["accuracy"],
            "test macro F1 (final epoch)": f["metrics"]["f1_macro"],
            "macro P": m["precision_macro"], "macro R": m["recall_macro"],
            "weighted F1": m["f1_weighted"], "trainable params": o.model_info.get("trainable_params"),
            "train s": round(o.seconds)}


def results_table(outcomes: dict) -> pd.DataFrame:
    """One row per trained arm: val and test figures with their 95% intervals."""
    return pd.DataFrame([outcome_row(o) for o in outcomes.values()]).set_index("setting").round(4)
