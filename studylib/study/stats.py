"""Replicated, paired statistics for claims (docs/METHOD.md, Replicates to Power and seeds needed).

Seeds and test images are crossed: every training seed scores the same test images, so the test set's
sampling error is shared by all seeds (and, for an order claim, by both arms). `crossed_bootstrap`
therefore draws ONE vector of test-image indices per resample and applies it to every drawn seed and to
both arms (Owen's pigeonhole bootstrap); drawing images separately per seed would treat one test set as
n and shrink the image error by about sqrt(n) (version 1's mistake).

Value claims (docs/METHOD.md, Value claims): the metric's mean over seeds; order claims (Order claims): the
mean of the per-seed paired differences d_s = metric(A_s) - metric(B_s). Two 95% intervals, the verdict uses
the wider (Crossed bootstrap, Variance components): the crossed bootstrap's percentile interval and the
variance-components interval estimate +- t(n-1, 0.975) * sqrt(s_seeds^2 / n + v_images). A pipeline whose
predictions are identical for every seed counts as n = 1 (Replicates). Also: the image-only half-width
(Resolvability), the smallest difference the design detects with 80% power and the number of seeds that would
resolve an inconclusive order (Power and seeds needed), a two-sided bootstrap p-value for d = 0 and
Holm-Bonferroni over a profile's order claims (Holm), at the one level ALPHA.

A resample is scored from its confusion-matrix counts, not by scikit-learn: that arithmetic (the draws, the
counts, the metrics from them) is `resampling`'s.
"""
from __future__ import annotations

import numpy as np

from . import rules
from .resampling import METRICS, resampled

__all__ = ["METRICS", "crossed_bootstrap", "detectable_difference", "holm", "judge_order", "judge_value",
           "metric_value", "p_value", "prob_improvement", "resolvable", "seeds_to_resolve", "variance_components",
           "wins"]

ALPHA = rules.ALPHA  # docs/METHOD.md, Order claims: the one level, decided in rules (kept here for importers)


def metric_value(metric: str, y_true, y_pred) -> float:
    """The metric by scikit-learn (zero_division=0)."""
    from sklearn import metrics as skm  # kept local to this function (scipy likewise, in _quantile)

    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
    if metric == "accuracy":
        return float(skm.accuracy_score(y_true, y_pred))
    name, average = metric.split("_")
    fn = {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}[name]
    return float(fn(y_true, y_pred, average=average, zero_division=0))


def _as_arrays(per_seed, what: str):
    if per_seed is None or len(per_seed) == 0:
        raise ValueError(f"{what}: no seeds")
    pairs = [(np.asarray(t, dtype=np.int64).ravel(), np.asarray(p, dtype=np.int64).ravel()) for t, p in per_seed]
    sizes = {len(t) for t, _ in pairs} | {len(p) for _, p in pairs}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(f"{what}: every seed must score the same, non-empty set of test images "
                         f"(y_true and y_pred lengths differ: {sorted(sizes)})")
    if any(a.min() < 0 for pair in pairs for a in pair):
        raise ValueError(f"{what}: labels must be non-negative class indices")
    if any(not np.array_equal(t, pairs[0][0]) for t, _ in pairs[1:]):
        raise ValueError(f"{what}: every seed must score the same test images in the same order "
                         "(y_true differs between seeds)")
    return pairs


def _identical(pairs) -> bool:
    """Whether every seed's predictions equal the first seed's (a deterministic pipeline)."""
    return all(np.array_equal(p, pairs[0][1]) for _, p in pairs[1:])


def _quantile(q, n: int):
    """Student t quantile with n - 1 degrees of freedom; the normal quantile when n = 1 (one seed: no seed
    variance to estimate). `n` may be an array (each n >= 2)."""
    from scipy import stats as sps  # kept local, like scikit-learn in metric_value

    if np.ndim(n) == 0 and n < 2:
        return float(sps.norm.ppf(q))
    out = sps.t.ppf(q, np.asarray(n) - 1)
    return float(out) if np.ndim(out) == 0 else out


def _arms(per_seed, paired_with):
    """The checked arms (`_as_arrays`): A, and B when paired (the same seeds and test images as A)."""
    a = _as_arrays(per_seed, "per_seed")
    if paired_with is None:
        return a, None
    b = _as_arrays(paired_with, "paired_with")
    if len(b) != len(a) or len(b[0][0]) != len(a[0][0]):
        raise ValueError(f"paired_with must have the same seeds and the same test images as per_seed "
                         f"(got {len(b)} seeds x {len(b[0][0])} images against {len(a)} x {len(a[0][0])})")
    if not np.array_equal(a[0][0], b[0][0]):
        raise ValueError("paired arms must have the same y_true, seed by seed (the same test images)")
    return a, b


def _collapsed(a, b):
    """docs/METHOD.md, Replicates: identical predictions for every seed (paired: A identical across seeds
    and B identical across seeds) count as n = 1; returns (a, b, deterministic)."""
    deterministic = len(a) > 1 and _identical(a) and (b is None or _identical(b))
    if deterministic:
        a, b = a[:1], (b[:1] if b is not None else None)
    return a, b, deterministic


def _per_seed_and_codes(a, b, metric: str):
    """The per-seed values (scikit-learn; paired: A's minus B's), each (seed, image)'s confusion-matrix
    cell code (true, pred) or, paired, (true, pred A, pred B), and the number of classes."""
    n_cls = 1 + max(int(x.max()) for arms in (a, b or []) for pair in arms for x in pair)
    per = np.array([metric_value(metric, t, p) for t, p in a])
    if b is None:
        return per, np.stack([t * n_cls + p for t, p in a]), n_cls
    per = per - np.array([metric_value(metric, t, p) for t, p in b])
    return per, np.stack([(t * n_cls + pa) * n_cls + pb for (t, pa), (_, pb) in zip(a, b)]), n_cls


def crossed_bootstrap(per_seed, metric: str, n_boot: int = 2000, seed: int = 0, paired_with=None) -> dict:
    """Estimate and 95% interval of the mean over seeds of `metric` (or, with `paired_with`, of the mean
    paired difference d_s = metric(A_s) - metric(B_s)), seeds and test images crossed (docs/METHOD.md,
    Replicates and Crossed bootstrap).

    per_seed: one (y_true, y_pred) of class indices per training seed, all on the same test images in the
    same order (the same y_true). paired_with: arm B the same way, the same seeds in the same order. A
    pipeline whose predictions are identical for every seed counts as n = 1 (`_collapsed`); the draws depend
    only on that effective n, so the same predictions entered k times give exactly the interval of entering once.

    The n_boot crossed resamples (`resampling.resampled`: Owen's pigeonhole bootstrap, each drawing n seeds
    with replacement and ONE vector of test-image indices for every drawn seed and both arms) give `samples`
    and `ci_boot`, their 95% percentile interval; the image-only resamples (the same image vectors, all n
    seeds fixed) give `v_images`, the variance (ddof=1) of their seed-averaged values; `variance_components`
    gives `ci_vc` = estimate +- t(n-1, 0.975) * sqrt(s_seeds^2 / n + v_images) from it and the per-seed
    values; `ci` is the wider of the two (`rules.wider`) and `interval` names it ("crossed bootstrap" or
    "variance components").

    Returns dict(estimate, ci, interval, ci_boot, ci_vc, samples, image_only, per_seed, n, n_given, n_images,
    deterministic, v_images, s_seeds, se, image_half_width): estimate is the mean of per_seed (the
    per-seed values by scikit-learn, after the n = 1 collapse); n_given the number of seeds entered;
    image_half_width = z(0.975) * sqrt(v_images), the interval's half-width with the seed variance set to 0
    (Resolvability). Reproducible given `seed`.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
    if n_boot < 2:
        raise ValueError("n_boot must be at least 2")
    a, b = _arms(per_seed, paired_with)
    n_given, n_images = len(a), len(a[0][0])
    a, b, deterministic = _collapsed(a, b)
    per, codes, n_cls = _per_seed_and_codes(a, b, metric)
    samples, image_only = resampled(codes, metric, n_cls, b is not None, n_boot, seed)
    vc = variance_components(per, float(np.var(image_only, ddof=1)))
    lo, hi = np.percentile(samples, [2.5, 97.5])
    ci_boot = (float(lo), float(hi))
    ci, method = rules.wider(ci_boot, vc["ci_vc"])
    return dict(vc, ci=ci, interval=method, ci_boot=ci_boot, samples=samples, image_only=image_only,
                n_given=n_given, n_images=n_images, deterministic=bool(deterministic))


def variance_components(per_seed, v_images: float) -> dict:
    """The variance-components interval (docs/METHOD.md, Variance components) from the per-seed values and the
    variance of their mean under image resampling: estimate +- t(n-1, 0.975) * sqrt(s_seeds^2 / n + v_images)
    (the normal quantile for one seed). Also the image-only half-width (Resolvability: seed variance set to
    0)."""
    per = np.asarray(per_seed, dtype=float)
    n = len(per)
    estimate = float(per.mean())
    s_seeds = float(np.std(per, ddof=1)) if n > 1 else 0.0
    se = float(np.sqrt(s_seeds ** 2 / n + v_images))
    half = _quantile(0.975, n) * se
    return dict(estimate=estimate, per_seed=[float(v) for v in per], n=n, s_seeds=s_seeds, v_images=float(v_images),
                se=se, ci_vc=(estimate - half, estimate + half),
                image_half_width=_quantile(0.975, 1) * float(np.sqrt(v_images)))


def resolvable(boot: dict, margin: float) -> bool:
    """Whether the test set can resolve +-margin (docs/METHOD.md, Resolvability): the image-only half-width
    (the interval with the seed variance set to 0) is at most `margin`. When it is not, no number of seeds can
    give "matches". The rule: `rules.resolvable`."""
    return rules.resolvable(boot["image_half_width"], margin)


def detectable_difference(boot: dict, power: float = 0.8, alpha: float = ALPHA) -> float:
    """The smallest true difference this design (these n seeds, this test set) detects with the given power
    at two-sided level alpha, from the variance components (docs/METHOD.md, Power and seeds needed):
    (t(n-1, 1 - alpha/2) + t(n-1, power)) * se, with normal quantiles when n = 1."""
    n = int(boot["n"])
    return float((_quantile(1 - alpha / 2, n) + _quantile(power, n)) * boot["se"])


def seeds_to_resolve(boot: dict, margin: float = 0.0, max_seeds: int = 1000) -> int | None:
    """For an inconclusive order claim (docs/METHOD.md, Power and seeds needed): how many seeds would
    resolve it.

    Assuming the estimate, s_seeds and v_images stay as observed, the smallest n' >= 2 for which the
    variance-components half-width t(n'-1, 0.975) * sqrt(s_seeds^2 / n' + v_images) is below the gap: the
    distance from the estimate to `margin` when the estimate is above the margin (the interval would lie
    above it: "holds"), or to 0 when the estimate is negative (below zero: "contradicted"). None when no
    number of seeds would: image noise alone is too large (z(0.975) * sqrt(v_images) >= gap, the
    half-width's limit as n' grows), or 0 <= estimate <= margin, or the answer exceeds max_seeds.
    A deterministic pipeline (n = 1 by collapse) has s_seeds = 0, so only the t quantile shrinks."""
    est, s2, v = float(boot["estimate"]), float(boot["s_seeds"]) ** 2, float(boot["v_images"])
    if est > margin:
        gap = est - margin
    elif est < 0:
        gap = -est
    else:
        return None
    if _quantile(0.975, 1) * np.sqrt(v) >= gap or max_seeds < 2:
        return None
    n = np.arange(2, int(max_seeds) + 1)
    ok = np.nonzero(_quantile(0.975, n) * np.sqrt(s2 / n + v) < gap)[0]
    return int(n[ok[0]]) if ok.size else None


def judge_value(boot: dict, value: float, margin: float) -> str:
    """Value claim (docs/METHOD.md, Value claims): "matches" if the interval lies inside [value - margin,
    value + margin], "differs" if it lies wholly outside it (below or above), else "inconclusive". The rule:
    `rules.value_verdict`."""
    return rules.value_verdict(*boot["ci"], value, margin)


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
    """Order claim (A beats B; docs/METHOD.md, Order claims): "holds" if the interval lies above `margin` and
    the adjusted p < ALPHA; "contradicted" if it lies below zero and the adjusted p < ALPHA; else
    "inconclusive". The rule: `rules.order_verdict`."""
    return rules.order_verdict(*boot["ci"], margin, p_adjusted)


def wins(boot: dict) -> tuple[int, int]:
    """(k, n): on how many of the n seeds A beat B (d_s > 0)."""
    d = np.asarray(boot["per_seed"], dtype=float)
    return int((d > 0).sum()), int(boot["n"])


def prob_improvement(boot: dict) -> float:
    """Share of bootstrap resamples with d > 0."""
    return float(np.mean(np.asarray(boot["samples"]) > 0))
