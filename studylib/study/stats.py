"""Replicated, paired statistics for claims (docs/VERDICTS.md sections 3 and 4).

Value claims: the metric's mean over seeds with a two-level bootstrap interval (resample seeds, then
test images within each drawn seed). Order claims: per-seed differences d_s = metric(A_s) - metric(B_s)
on the same images, the paired two-level bootstrap (the same seed draws and the same image indices for
A and B), a two-sided bootstrap p-value for d = 0, Holm-Bonferroni over a profile's order claims.

Every supported metric is a function of the confusion matrix, so a resample is scored from its
confusion-matrix counts (np.bincount over (resample, seed, cell) codes, in chunks) instead of calling
scikit-learn per resample; `_metric_from_cm` follows scikit-learn's definitions with zero_division=0
(macro averages over the labels present in y_true or y_pred of that resample, as sklearn does).
"""
from __future__ import annotations

import numpy as np

__all__ = ["METRICS", "holm", "judge_order", "judge_value", "metric_value", "p_value", "prob_improvement",
           "two_level_bootstrap", "wins"]

METRICS = ("accuracy", "f1_macro", "f1_weighted", "precision_weighted", "recall_weighted", "precision_macro",
           "recall_macro")
_CHUNK_ELEMENTS = 2_000_000  # image indices drawn per chunk (memory ~16 MB of int64)


def metric_value(metric: str, y_true, y_pred) -> float:
    """The metric by scikit-learn (zero_division=0)."""
    from sklearn import metrics as skm  # the only non-numpy import; kept local to this function

    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
    if metric == "accuracy":
        return float(skm.accuracy_score(y_true, y_pred))
    name, average = metric.split("_")
    fn = {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}[name]
    return float(fn(y_true, y_pred, average=average, zero_division=0))


def _ratio(num, den):
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den > 0)


def _metric_from_cm(metric: str, cm) -> np.ndarray:
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


def _draws(rng: np.random.Generator, n_boot: int, n_seeds: int, n_images: int):
    """Yield (seed_draws (b, n_seeds), image_indices (b, n_seeds, n_images)) chunks for n_boot resamples.

    Seeds are drawn with replacement; within each drawn seed, test images with replacement."""
    chunk = max(1, _CHUNK_ELEMENTS // max(1, n_seeds * n_images))
    seeds = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    for start in range(0, n_boot, chunk):
        s = seeds[start:start + chunk]
        yield s, rng.integers(0, n_images, size=(len(s), n_seeds, n_images))


def _as_arrays(per_seed, what: str):
    if len(per_seed) == 0:
        raise ValueError(f"{what}: no seeds")
    pairs = [(np.asarray(t, dtype=np.int64).ravel(), np.asarray(p, dtype=np.int64).ravel()) for t, p in per_seed]
    sizes = {len(t) for t, _ in pairs} | {len(p) for _, p in pairs}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(f"{what}: every seed must score the same, non-empty set of test images")
    if any(a.min() < 0 for pair in pairs for a in pair):
        raise ValueError(f"{what}: labels must be non-negative class indices")
    return pairs


def two_level_bootstrap(per_seed, metric: str, n_boot: int = 2000, seed: int = 0, paired_with=None) -> dict:
    """Estimate and 95% percentile interval of the mean over seeds of `metric` (or, with `paired_with`,
    of the mean paired difference metric(A_s) - metric(B_s)).

    per_seed: one (y_true, y_pred) per training seed, all on the same test images. Each resample draws
    seeds with replacement, then resamples image indices within each drawn seed, scores each and averages
    over the drawn seeds. Paired: A and B share the seed draws and the image indices.
    Returns dict(estimate, ci, samples, per_seed, n); reproducible given `seed`.
    """
    if n_boot < 1:
        raise ValueError("n_boot must be positive")
    a = _as_arrays(per_seed, "per_seed")
    n, n_images = len(a), len(a[0][0])
    b = None
    if paired_with is not None:
        b = _as_arrays(paired_with, "paired_with")
        if len(b) != n or len(b[0][0]) != n_images:
            raise ValueError("paired_with must have the same seeds and the same test images as per_seed")
        if any(not np.array_equal(ta, tb) for (ta, _), (tb, _) in zip(a, b)):
            raise ValueError("paired arms must have the same y_true, seed by seed (the same test images)")
    n_cls = 1 + max(int(x.max()) for arms in (a, b or []) for pair in arms for x in pair)

    values_a = np.array([metric_value(metric, t, p) for t, p in a])
    if b is None:
        per = values_a
        codes = np.stack([t * n_cls + p for t, p in a])  # cell code of each (seed, image)
        cells = n_cls * n_cls
    else:
        per = values_a - np.array([metric_value(metric, t, p) for t, p in b])
        codes = np.stack([(t * n_cls + pa) * n_cls + pb for (t, pa), (_, pb) in zip(a, b)])
        cells = n_cls ** 3
    flat = codes.ravel()

    rng = np.random.default_rng(seed)
    samples = np.empty(n_boot)
    done = 0
    for seed_draws, idx in _draws(rng, n_boot, n, n_images):
        m = len(seed_draws)
        offset = (np.arange(m * n, dtype=np.int64) * cells).reshape(m, n, 1)
        picked = flat[(seed_draws[:, :, None] * n_images) + idx] + offset
        counts = np.bincount(picked.ravel(), minlength=m * n * cells)
        if b is None:
            score = _metric_from_cm(metric, counts.reshape(m, n, n_cls, n_cls))
        else:
            joint = counts.reshape(m, n, n_cls, n_cls, n_cls)  # true, pred A, pred B
            score = _metric_from_cm(metric, joint.sum(-1)) - _metric_from_cm(metric, joint.sum(-2))
        samples[done:done + m] = score.mean(-1)
        done += m
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return dict(estimate=float(per.mean()), ci=(float(lo), float(hi)), samples=samples,
                per_seed=[float(v) for v in per], n=n)


def judge_value(boot: dict, value: float, margin: float) -> str:
    """Value claim: "matches" if the interval lies inside [value - margin, value + margin], "differs" if it
    lies wholly outside it (below or above), else "inconclusive"."""
    lo, hi = boot["ci"]
    if value - margin <= lo and hi <= value + margin:
        return "matches"
    if hi < value - margin or lo > value + margin:
        return "differs"
    return "inconclusive"


def p_value(samples, estimate) -> float:
    """Two-sided bootstrap p-value for d = 0 from the bootstrap samples of d.

    p = 2 * min(share of samples <= 0, share of samples >= 0), clipped to [1 / n_boot, 1]: the percentile
    interval's duality (the 95% interval excludes 0 roughly when p < 0.05); never 0, since n_boot resamples
    cannot resolve a p below 1 / n_boot. `estimate` is accepted for the API and not used by this rule.
    """
    s = np.asarray(samples, dtype=float).ravel()
    if s.size == 0:
        raise ValueError("no bootstrap samples")
    p = 2 * min(np.mean(s <= 0), np.mean(s >= 0))
    return float(np.clip(p, 1 / s.size, 1.0))


def holm(pvalues) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, clipped at 1), in the input order."""
    p = np.asarray(pvalues, dtype=float).ravel()
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted_sorted
    return out


def judge_order(boot: dict, margin: float, p_adjusted: float) -> str:
    """Order claim (A beats B): "holds" if the interval lies above `margin` and the adjusted p < 0.05;
    "contradicted" if it lies below zero and the adjusted p < 0.05; else "inconclusive"."""
    lo, hi = boot["ci"]
    if lo > margin and p_adjusted < 0.05:
        return "holds"
    if hi < 0 and p_adjusted < 0.05:
        return "contradicted"
    return "inconclusive"


def wins(boot: dict) -> tuple[int, int]:
    """(k, n): on how many of the n seeds A beat B (d_s > 0)."""
    d = np.asarray(boot["per_seed"], dtype=float)
    return int((d > 0).sum()), int(boot["n"])


def prob_improvement(boot: dict) -> float:
    """Share of bootstrap resamples with d > 0."""
    return float(np.mean(np.asarray(boot["samples"]) > 0))
