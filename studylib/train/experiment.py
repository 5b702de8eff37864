"""Train once, then test each protocol's model once: the step every experiment arm takes.

Two test protocols, both recorded: 'best' tests the epoch chosen on validation; 'final' tests the last
epoch trained (papers 001 and 003 test their final epoch). When they are the same epoch the model is
tested once and both protocols share the result.
"""
from __future__ import annotations

import dataclasses
import time

from .. import metrics
from ..data.base import ImageDataset
from .checkpoint import resumable
from .config import TrainConfig
from .loop import evaluate, fit

__all__ = ["PROTOCOLS", "Outcome", "test_once", "train_and_test"]

# test protocol -> what it tests, as reports name it
PROTOCOLS = {"best": "best on validation", "final": "final epoch"}


@dataclasses.dataclass
class Outcome:
    """A trained model, its history, and its test evaluations: `test`, `metrics`, `ci` of the epoch chosen on
    validation ('best'), and `final` the same of the last epoch (dict epoch, val, test, metrics, ci)."""

    name: str
    fit: object
    val: dict
    test: dict
    metrics: dict
    ci: dict
    seconds: float
    model_info: dict
    config: TrainConfig | None = None
    final: dict | None = None
    selection: dict | None = None    # the learning-rate search that chose config.lr (study.search), if any

    def protocol(self, name: str) -> dict:
        """{epoch, val, test, metrics, ci} of one test protocol (PROTOCOLS)."""
        if name not in PROTOCOLS:
            raise ValueError(f"unknown test protocol {name!r}; valid: {', '.join(PROTOCOLS)}")
        if name == "final" and self.final is not None:
            return self.final
        return dict(epoch=self.fit.best_epoch, val=self.val, test=self.test, metrics=self.metrics, ci=self.ci)


def _val_at(result, epoch: int, model, val_split, cfg) -> dict:
    """Validation scores of an epoch: fit scored validation every epoch, so its history row holds them."""
    row = result.history.loc[result.history["epoch"] == epoch]
    if len(row):
        return {"acc": float(row["val_acc"].iloc[0]), "macro_f1": float(row["val_macro_f1"].iloc[0]),
                "loss": float(row["val_loss"].iloc[0])}
    return evaluate(model, val_split, cfg)


def test_once(model, test_split: ImageDataset, cfg: TrainConfig, n_boot: int = 1000) -> tuple[dict, dict, dict]:
    """(predictions, metrics, 95% CIs of accuracy and macro F1) of one model on test: the one look at test."""
    test = evaluate(model, test_split, cfg)
    m = metrics.classification_metrics(test["y_true"], test["y_pred"], test_split.classes)
    ci = {k: metrics.bootstrap_ci(test["y_true"], test["y_pred"], k, n_boot=n_boot, seed=cfg.seed)
          for k in ("accuracy", "macro_f1")}
    return test, m, ci


def train_and_test(name: str, model, splits: dict[str, ImageDataset], cfg: TrainConfig,
                   n_boot: int = 1000, result=None, checkpoint_dir=None) -> Outcome:
    """fit on train (best epoch chosen on val), then test the chosen model and the final epoch's model,
    each once (one look when they are the same epoch). `result`: an already fitted FitResult to test.
    `checkpoint_dir`: fit checkpoints there and resumes from it; the Outcome keeps `cfg` as given (where it
    checkpointed is not a setting of what it learnt)."""
    if result is None:
        t0 = time.perf_counter()
        result = fit(model, splits["train"], splits["val"], resumable(cfg, checkpoint_dir))
        seconds = time.perf_counter() - t0
    else:  # fitted elsewhere (the learning-rate search's trial): its epochs' time
        seconds = float(result.history["seconds"].sum())
    val = _val_at(result, result.best_epoch, result.model, splits["val"], cfg)
    test, m, ci = test_once(result.model, splits["test"], cfg, n_boot)
    final = None
    if result.final_state is not None:  # the final epoch is another model: load it, test it, put the best back
        best_state = {k: v.detach().cpu().clone() for k, v in result.model.state_dict().items()}
        result.model.load_state_dict(result.final_state)
        f_test, f_m, f_ci = test_once(result.model, splits["test"], cfg, n_boot)
        final = dict(epoch=result.final_epoch, val=_val_at(result, result.final_epoch, result.model, splits["val"], cfg),
                     test=f_test, metrics=f_m, ci=f_ci)
        result.model.load_state_dict(best_state)
    info = dict(getattr(result.model, "info", {}))
    return Outcome(name, result, val, test, m, ci, seconds, info, cfg, final)
