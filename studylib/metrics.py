"""Classification metrics (scikit-learn), bootstrap confidence intervals and the majority baseline.

Standard definitions throughout: paper 000 misprints its F1 formula, so the
study reports what scikit-learn computes, never the papers' formulas.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from sklearn import metrics as skm

__all__ = ["classification_metrics", "bootstrap_ci", "majority_baseline"]


def classification_metrics(y_true, y_pred, class_names: list[str]) -> dict:
    """Accuracy, balanced accuracy, macro/weighted P/R/F1, per-class report and confusion matrix.

    Args:
        y_true: true class indices (N,).
        y_pred: predicted class indices (N,).
        class_names: name of each class index; the report and the confusion matrix
            cover every class, also those absent from this split.

    Returns:
        dict with floats accuracy, balanced_accuracy, precision_macro, recall_macro,
        f1_macro, precision_weighted, recall_weighted, f1_weighted (averages over the
        classes present in y_true or y_pred, as scikit-learn does by default; zero
        division counts as 0), n (int), report (DataFrame indexed by class name with
        precision, recall, f1, support) and confusion (int array (K, K), rows = true).
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = np.arange(len(class_names))
    out = dict(accuracy=float(skm.accuracy_score(y_true, y_pred)),
               balanced_accuracy=float(skm.balanced_accuracy_score(y_true, y_pred)), n=int(len(y_true)))
    for avg in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(y_true, y_pred, average=avg, zero_division=0)
        out.update({f"precision_{avg}": float(p), f"recall_{avg}": float(r), f"f1_{avg}": float(f)})
    p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    out["report"] = pd.DataFrame(dict(precision=p, recall=r, f1=f, support=s),
                                 index=pd.Index(class_names, name="class"))
    out["confusion"] = skm.confusion_matrix(y_true, y_pred, labels=labels)
    return out


def _macro_f1_boot(y_true: np.ndarray, y_pred: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Macro F1 of each bootstrap resample (rows of idx), vectorised over resamples."""
    classes, enc = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)
    k, n = len(classes), len(y_true)
    t, p = enc[:n], enc[n:]
    out = np.empty(len(idx))
    for lo in range(0, len(idx), 256):  # chunks bound memory at 256 * n pair codes
        chunk = idx[lo:lo + 256]
        codes = (np.arange(len(chunk))[:, None] * k * k + t[chunk] * k + p[chunk]).ravel()
        cm = np.bincount(codes, minlength=len(chunk) * k * k).reshape(len(chunk), k, k)
        tp = np.diagonal(cm, axis1=1, axis2=2)
        denom = cm.sum(1) + cm.sum(2)  # (tp+fp) + (tp+fn) = 2tp + fp + fn
        present = denom > 0  # sklearn averages over classes seen in this resample
        f1 = np.where(present, 2 * tp / np.maximum(denom, 1), 0.0)
        out[lo:lo + len(chunk)] = f1.sum(1) / present.sum(1)
    return out


def bootstrap_ci(y_true, y_pred, metric: str | Callable = "accuracy", n_boot: int = 1000,
                 seed: int = 0, alpha: float = 0.05) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of a test-set metric.

    Resamples test examples with replacement, so it captures test-set sampling
    noise only, not training variance (that needs several seeds).

    Args:
        y_true, y_pred: class indices (N,).
        metric: "accuracy", "macro_f1", or a callable(y_true, y_pred) -> float.
        n_boot: number of resamples.
        seed: seeds numpy's Generator, so the interval is reproducible.
        alpha: 0.05 gives a 95% interval.

    Returns:
        (low, high) as floats.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if len(y_true) == 0 or len(y_true) != len(y_pred):
        raise ValueError(f"bootstrap_ci needs equal, non-empty y_true/y_pred, got {len(y_true)} and {len(y_pred)}")
    idx = np.random.default_rng(seed).integers(0, len(y_true), size=(n_boot, len(y_true)))
    if metric == "accuracy":
        stats = (y_true == y_pred)[idx].mean(1)
    elif metric == "macro_f1":
        stats = _macro_f1_boot(y_true, y_pred, idx)
    elif callable(metric):
        stats = np.array([metric(y_true[i], y_pred[i]) for i in idx])
    else:
        raise ValueError(f"unknown metric {metric!r}; valid: 'accuracy', 'macro_f1' or a callable")
    low, high = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def majority_baseline(train_labels, test_labels) -> dict:
    """Scores of always predicting the most common training class.

    The floor every imbalanced-data claim should be read against (FER2013's
    "happy" alone is about a quarter of the test set).

    Args:
        train_labels: training class indices; the majority is taken from here,
            never from the test set.
        test_labels: class indices to score against.

    Returns:
        dict(majority_class, accuracy, balanced_accuracy, macro_f1).
    """
    train_labels, test_labels = np.asarray(train_labels), np.asarray(test_labels)
    majority = int(np.bincount(train_labels).argmax())  # ties: lowest class index
    pred = np.full_like(test_labels, majority)
    return dict(majority_class=majority,
                accuracy=float(skm.accuracy_score(test_labels, pred)),
                balanced_accuracy=float(skm.balanced_accuracy_score(test_labels, pred)),
                macro_f1=float(skm.f1_score(test_labels, pred, average="macro", zero_division=0)))
