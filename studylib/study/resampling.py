"""The crossed bootstrap's arithmetic (docs/METHOD.md, Crossed bootstrap): the draws and the scoring of
each resample, for `stats.crossed_bootstrap`.

Every supported metric is a function of the confusion matrix, so a resample is scored from its
confusion-matrix counts (np.bincount over (resample, seed, cell) codes, in chunks) instead of calling
scikit-learn per resample; `metric_from_cm` follows scikit-learn's definitions with zero_division=0
(macro averages over the labels present in y_true or y_pred of that resample, as sklearn does).
This module imports nothing from the study.
"""
from __future__ import annotations

import numpy as np

__all__ = ["CHUNK_ELEMENTS", "METRICS", "draws", "metric_from_cm", "resampled", "scores"]

METRICS = ("accuracy", "f1_macro", "f1_weighted", "precision_weighted", "recall_weighted", "precision_macro",
           "recall_macro")
CHUNK_ELEMENTS = 2_000_000  # (resample, seed, image) cells scored per chunk (~16 MB of int64)


def _ratio(num, den):
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den > 0)


def metric_from_cm(metric: str, cm) -> np.ndarray:
    """The metric of each confusion matrix in `cm` (..., C, C; rows true, columns predicted)."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
    cm = np.asarray(cm, dtype=float)
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support, predicted = cm.sum(-1), cm.sum(-2)
    total = support.sum(-1)
    if metric == "accuracy":
        return _ratio(tp.sum(-1), total)
    name, average = metric.split("_")
    per_class = {"precision": _ratio(tp, predicted), "recall": _ratio(tp, support),
                 "f1": _ratio(2 * tp, support + predicted)}[name]
    if average == "weighted":
        return _ratio((per_class * support).sum(-1), total)
    present = (support + predicted) > 0
    return _ratio((per_class * present).sum(-1), present.sum(-1))


def draws(rng: np.random.Generator, n_boot: int, n_seeds: int, n_images: int):
    """Yield (seed_draws (m, n_seeds), image_indices (m, n_images)) chunks for n_boot crossed resamples.

    Each resample draws n_seeds seeds with replacement and, independently, ONE vector of n_images test-image
    indices (with replacement) that is applied to every drawn seed and to both arms (docs/METHOD.md,
    Crossed bootstrap).
    The draws depend only on (rng, n_boot, n_seeds, n_images)."""
    chunk = max(1, CHUNK_ELEMENTS // max(1, n_seeds * n_images))
    seeds = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    for start in range(0, n_boot, chunk):
        s = seeds[start:start + chunk]
        yield s, rng.integers(0, n_images, size=(len(s), n_images))


def scores(codes, idx, metric: str, n_cls: int, paired: bool) -> np.ndarray:
    """(m, n) metric (or paired difference) of every seed on each of the m image-index vectors idx (m, N).

    codes (n, N): each (seed, image)'s confusion-matrix cell (true, pred) or, paired, (true, pred A, pred B).
    The same image vector is applied to every seed and to both arms."""
    n, m = len(codes), len(idx)
    cells = n_cls ** (3 if paired else 2)
    picked = np.take(codes + np.arange(n, dtype=np.int64)[:, None] * cells, idx, axis=1)  # (n, m, N)
    picked += (np.arange(m, dtype=np.int64) * (n * cells))[None, :, None]  # resample r, seed s: block r * n + s
    counts = np.bincount(picked.ravel(), minlength=m * n * cells)
    if not paired:
        return metric_from_cm(metric, counts.reshape(m, n, n_cls, n_cls))
    joint = counts.reshape(m, n, n_cls, n_cls, n_cls)  # true, pred A, pred B
    return metric_from_cm(metric, joint.sum(-1)) - metric_from_cm(metric, joint.sum(-2))


def resampled(codes, metric: str, n_cls: int, paired: bool, n_boot: int, seed: int):
    """(samples, image_only): each crossed resample's mean over its drawn seeds, and the mean over all n
    seeds on the same image vector (the image-only resamples)."""
    n, n_images = codes.shape
    samples, image_only = np.empty(n_boot), np.empty(n_boot)
    done = 0
    for seed_draws, idx in draws(np.random.default_rng(seed), n_boot, n, n_images):
        m = len(seed_draws)
        score = scores(codes, idx, metric, n_cls, paired)  # (m, n): every seed on each image vector
        samples[done:done + m] = np.take_along_axis(score, seed_draws, axis=1).mean(-1)
        image_only[done:done + m] = score.mean(-1)
        done += m
    return samples, image_only
