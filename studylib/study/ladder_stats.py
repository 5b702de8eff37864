"""Statistics of claims over a ladder of training-set sizes (docs/METHOD.md, Claims over a ladder, and
Equivalence): the contrast of one paired difference between two rungs, the two one-sided tests of
equivalence, the seeds an equivalence needs, and epoch counts compared over seeds.

Every rung of a ladder scores the same test images with the same seeds, so two rungs' crossed bootstraps
(`stats.crossed_bootstrap`, the same generator seed and resamples) drew the same seeds and the same image
vector in each resample: their difference, resample by resample, is the crossed bootstrap of the contrast
(`contrast`). Epoch counts come from validation curves, with no test images to resample: their interval is
a t interval over seeds (`over_seeds`). The decisions are `rules`'.
"""
from __future__ import annotations

import numpy as np

from . import rules
from .stats import _quantile, variance_components

__all__ = ["contrast", "epochs_to_fraction", "over_seeds", "seeds_to_equivalence", "tost_p"]


def contrast(x: dict, y: dict) -> dict:
    """The crossed bootstrap of x - y, where x and y are `stats.crossed_bootstrap` results on the same seeds
    and test images with the same resamples and generator seed (e.g. a pretraining gain at the smallest and
    at the largest rung): the same keys, the interval the wider of the percentile one and the
    variance-components one (`rules.wider`). Raises ValueError when the two were not resampled alike."""
    same = ("n", "n_given", "n_images")
    if any(x[k] != y[k] for k in same) or len(x["samples"]) != len(y["samples"]):
        raise ValueError("contrast: both bootstraps must have the same seeds, test images and resamples "
                         f"(n, n_given, n_images, resamples: {[x[k] for k in same] + [len(x['samples'])]} against "
                         f"{[y[k] for k in same] + [len(y['samples'])]})")
    per = np.asarray(x["per_seed"]) - np.asarray(y["per_seed"])
    samples = np.asarray(x["samples"]) - np.asarray(y["samples"])
    image_only = np.asarray(x["image_only"]) - np.asarray(y["image_only"])
    vc = variance_components(per, float(np.var(image_only, ddof=1)))
    lo, hi = np.percentile(samples, [2.5, 97.5])
    ci, method = rules.wider((float(lo), float(hi)), vc["ci_vc"])
    return dict(vc, ci=ci, interval=method, ci_boot=(float(lo), float(hi)), samples=samples, image_only=image_only,
                n_given=x["n_given"], n_images=x["n_images"], deterministic=False)


def tost_p(samples, margin: float) -> float:
    """docs/METHOD.md, Equivalence: the bootstrap p of the two one-sided tests that the difference lies
    inside [-margin, +margin]: the larger of the shares of resamples at or below -margin and at or above
    +margin, clipped to [1 / n_boot, 1] as `stats.p_value` is."""
    s = np.asarray(samples, dtype=float).ravel()
    if s.size == 0:
        raise ValueError("no bootstrap samples")
    return float(np.clip(max(np.mean(s <= -margin), np.mean(s >= margin)), 1 / s.size, 1.0))


def seeds_to_equivalence(boot: dict, margin: float, max_seeds: int = 1000) -> int | None:
    """The smallest n' >= 2 whose variance-components half-width, the estimate, seed spread and image
    variance as observed, fits the interval inside [-margin, +margin] (docs/METHOD.md, Equivalence); None
    when no number would (|estimate| >= margin, image noise alone too wide, or more than max_seeds)."""
    gap = margin - abs(float(boot["estimate"]))
    v, s2 = float(boot["v_images"]), float(boot["s_seeds"]) ** 2
    if gap <= 0 or _quantile(0.975, 1) * np.sqrt(v) >= gap or max_seeds < 2:
        return None
    n = np.arange(2, int(max_seeds) + 1)
    ok = np.nonzero(_quantile(0.975, n) * np.sqrt(s2 / n + v) < gap)[0]
    return int(n[ok[0]]) if ok.size else None


def over_seeds(per_seed) -> dict:
    """A difference measured once per seed with no test images to resample (epoch counts): the
    variance-components interval with no image variance (a t interval over seeds) and a two-sided p for 0,
    a one-sample t test's; when every seed gives the same value there is no spread to test, and p is the
    exact sign test's, 2 * 0.5^n (1 when the value is 0)."""
    from scipy import stats as sps
    per = np.asarray(per_seed, dtype=float)
    vc = variance_components(per, 0.0)
    if vc["s_seeds"] > 0:
        p = float(sps.ttest_1samp(per, 0.0).pvalue)
    else:
        p = 1.0 if vc["estimate"] == 0 else min(1.0, 2 * 0.5 ** len(per))
    return dict(vc, ci=vc["ci_vc"], interval="t over seeds", ci_boot=None, p=p, deterministic=False)


def epochs_to_fraction(history: list[dict], fraction: float, key: str = "val_macro_f1") -> int:
    """The first epoch whose validation score reaches `fraction` of the best the curve ever reached."""
    values = [float(h[key]) for h in history]
    if not values:
        raise ValueError("epochs_to_fraction: an empty validation history")
    best = max(values)
    return int(next(h["epoch"] for h, v in zip(history, values) if v >= fraction * best))
