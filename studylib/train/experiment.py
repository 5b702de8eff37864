"""Train once, select on validation, test once: the step every experiment arm takes."""
from __future__ import annotations

import dataclasses
import time

from .. import metrics
from ..data.base import ImageDataset
from .config import TrainConfig
from .loop import evaluate, fit


@dataclasses.dataclass
class Outcome:
    """A trained model, its history, and the one test evaluation (selection was on val)."""

    name: str
    fit: object
    val: dict
    test: dict
    metrics: dict
    ci: dict
    seconds: float
    model_info: dict
    config: TrainConfig | None = None

    def row(self) -> dict:
        m = self.metrics
        return {"setting": self.name, "best epoch": self.fit.best_epoch, "val acc": self.val["acc"],
                "test acc": m["accuracy"], "acc 95% CI": fmt_ci(self.ci["accuracy"]),
                "test macro F1": m["f1_macro"], "macro F1 95% CI": fmt_ci(self.ci["macro_f1"]),
                "macro P": m["precision_macro"], "macro R": m["recall_macro"],
                "weighted F1": m["f1_weighted"], "trainable params": self.model_info.get("trainable_params"),
                "train s": round(self.seconds)}


def fmt_ci(ci) -> str:
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def train_and_test(name: str, model, splits: dict[str, ImageDataset], cfg: TrainConfig,
                   n_boot: int = 1000) -> Outcome:
    """fit on train (best epoch chosen on val), then evaluate the chosen model once on test."""
    t0 = time.perf_counter()
    result = fit(model, splits["train"], splits["val"], cfg)
    seconds = time.perf_counter() - t0
    # fit scored validation at every epoch: the best epoch's row is the chosen model's validation score
    best = result.history.loc[result.history["epoch"] == result.best_epoch]
    val = ({"acc": float(best["val_acc"].iloc[0]), "macro_f1": float(best["val_macro_f1"].iloc[0]),
            "loss": float(best["val_loss"].iloc[0])} if len(best) else evaluate(result.model, splits["val"], cfg))
    test = evaluate(result.model, splits["test"], cfg)
    m = metrics.classification_metrics(test["y_true"], test["y_pred"], splits["test"].classes)
    ci = {k: metrics.bootstrap_ci(test["y_true"], test["y_pred"], k, n_boot=n_boot, seed=cfg.seed)
          for k in ("accuracy", "macro_f1")}
    info = dict(getattr(result.model, "info", {}))
    return Outcome(name, result, val, test, m, ci, seconds, info, cfg)


def results_table(outcomes: dict[str, Outcome]):
    """One row per trained arm: val and test figures with their 95% CIs."""
    import pandas as pd
    return pd.DataFrame([o.row() for o in outcomes.values()]).set_index("setting").round(4)
