"""The replicated, paired verdict statistics of docs/METHOD.md, Replicates to Power and seeds needed (studylib/study/stats.py):
seeds and test images crossed (one image draw shared by every seed and both arms)."""
import inspect
import math

import numpy as np
import pytest
from scipy import stats as sps
from sklearn import metrics as skm

from studylib.study.simulated import simulated_study  # the same study bench/coverage.py prints
from studylib.study import resampling, stats

N, C, SEEDS = 3589, 7, 5  # FER2013's public test set, 7 expressions, 5 training seeds


def _wrong_at(y, idx, rng):
    """Predictions equal to y except at idx, where they are some other class."""
    pred = y.copy()
    pred[idx] = (y[idx] + rng.integers(1, C, len(idx))) % C
    return pred


def _value_arm(accuracies, n=N, seed=0):
    """One (y_true, y_pred) per seed, with exactly round((1 - acc) * n) errors each, on the same images."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, n)
    return [(y, _wrong_at(y, rng.choice(n, round((1 - a) * n), replace=False), rng)) for a in accuracies]


def _paired_arms(diffs, base_error=0.30, seed=0):
    """Arms A and B on the same images; per seed A makes B's errors except it fixes (d > 0) or adds (d < 0)
    round(|d| * N) of them, so accuracy(A_s) - accuracy(B_s) = d_s and most errors are shared."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, N)
    a, b = [], []
    for d in diffs:
        perm = rng.permutation(N)
        n_err, k = round(base_error * N), round(abs(d) * N)
        err_b = perm[:n_err]
        err_a = err_b[k:] if d > 0 else perm[:n_err + k]
        pred_b = _wrong_at(y, err_b, rng)
        pred_a = pred_b.copy()
        pred_a[err_b] = y[err_b]  # A's errors: its own set, B's wrong labels where they overlap
        pred_a[err_a] = np.where(pred_b[err_a] != y[err_a], pred_b[err_a], (y[err_a] + 1) % C)
        a.append((y, pred_a))
        b.append((y, pred_b))
    return a, b


def _consistent(boot):
    """The returned quantities agree with their definitions (docs/METHOD.md, Crossed bootstrap and Variance components)."""
    n = boot["n"]
    assert n == len(boot["per_seed"]) and boot["estimate"] == pytest.approx(np.mean(boot["per_seed"]), abs=1e-15)
    assert boot["s_seeds"] == (pytest.approx(np.std(boot["per_seed"], ddof=1)) if n > 1 else 0.0)
    assert boot["se"] == pytest.approx(math.sqrt(boot["s_seeds"] ** 2 / n + boot["v_images"]))
    q = sps.t.ppf(0.975, n - 1) if n > 1 else sps.norm.ppf(0.975)
    assert boot["ci_vc"] == pytest.approx((boot["estimate"] - q * boot["se"], boot["estimate"] + q * boot["se"]))
    assert boot["ci_boot"] == pytest.approx(tuple(np.percentile(boot["samples"], [2.5, 97.5])))
    width = lambda ci: ci[1] - ci[0]
    wider = "crossed bootstrap" if width(boot["ci_boot"]) >= width(boot["ci_vc"]) else "variance components"
    assert boot["interval"] == wider
    assert boot["ci"] == (boot["ci_boot"] if wider == "crossed bootstrap" else boot["ci_vc"])
    assert boot["image_half_width"] == pytest.approx(sps.norm.ppf(0.975) * math.sqrt(boot["v_images"]))


# ---- metric_value and the vectorised resample metrics agree with scikit-learn ----

@pytest.mark.parametrize("metric", stats.METRICS)
def test_metric_value_equals_sklearn(metric):
    rng = np.random.default_rng(3)
    y = rng.choice(5, 300, p=[0.4, 0.3, 0.2, 0.1, 0.0])
    pred = np.where(rng.random(300) < 0.6, y, rng.choice([0, 1, 2, 4], 300))  # class 3 never predicted
    if metric == "accuracy":
        expected = skm.accuracy_score(y, pred)
    else:
        name, avg = metric.split("_")
        fn = {"f1": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}[name]
        expected = fn(y, pred, average=avg, zero_division=0)
    assert stats.metric_value(metric, y, pred) == pytest.approx(expected, abs=1e-12)
    # the confusion-matrix path the bootstrap uses gives the same number
    cm = np.bincount(y * 5 + pred, minlength=25).reshape(5, 5)
    assert float(resampling.metric_from_cm(metric, cm)) == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError):
        stats.metric_value("balanced_acc", y, pred)


@pytest.mark.parametrize("metric", stats.METRICS)
@pytest.mark.parametrize("paired", [False, True])
def test_bootstrap_samples_equal_sklearn_on_the_same_draws(metric, paired):
    """Each vectorised resample equals the mean over drawn seeds of sklearn's metric on the ONE drawn image
    vector, and each image-only resample the mean over all seeds on it (small test set, so classes vanish
    from some resamples); v_images is the variance of the latter."""
    rng = np.random.default_rng(11)
    n, n_img, n_boot = 3, 25, 25
    y = rng.integers(0, 5, n_img)
    arm = lambda p: [(y, np.where(rng.random(n_img) < p, y, rng.integers(0, 5, n_img))) for _ in range(n)]
    a, b = arm(0.6), arm(0.5)
    boot = stats.crossed_bootstrap(a, metric, n_boot=n_boot, seed=5, paired_with=b if paired else None)
    crossed, image_only = [], []
    for seed_draws, idx in resampling.draws(np.random.default_rng(5), n_boot, n, n_img):
        assert idx.shape == (len(seed_draws), n_img)  # one image vector per resample, shared by the seeds
        for sd, ix in zip(seed_draws, idx):
            vals = np.array([stats.metric_value(metric, y[ix], a[s][1][ix])
                             - (stats.metric_value(metric, y[ix], b[s][1][ix]) if paired else 0) for s in range(n)])
            crossed.append(vals[sd].mean())
            image_only.append(vals.mean())
    np.testing.assert_allclose(boot["samples"], crossed, atol=1e-12)
    assert boot["v_images"] == pytest.approx(np.var(image_only, ddof=1), rel=1e-9, abs=1e-15)
    per = [stats.metric_value(metric, t, p) - (stats.metric_value(metric, *b[i]) if paired else 0)
           for i, (t, p) in enumerate(a)]
    assert boot["per_seed"] == pytest.approx(per) and boot["estimate"] == pytest.approx(np.mean(per))
    assert boot["n"] == boot["n_given"] == n and boot["n_images"] == n_img and not boot["deterministic"]
    _consistent(boot)


# ---- the interval: seeds and images crossed (section 3) ----

@pytest.mark.parametrize("k", [1, 5, 20])
def test_the_same_predictions_entered_k_times_give_the_interval_of_entering_once(k):
    """A deterministic pipeline counts as n = 1, so k copies give exactly the interval of one (section 2-3);
    near-copies (each differs on one image) are not collapsed, and still give about the same crossed
    bootstrap and image-only width: the image error is shared, not divided by sqrt(k)."""
    n_img, n_boot = 400, 1000
    (y, pred), = _value_arm([0.70], n=n_img, seed=4)
    once = stats.crossed_bootstrap([(y, pred)], "f1_macro", n_boot=n_boot, seed=3)
    many = stats.crossed_bootstrap([(y, pred.copy()) for _ in range(k)], "f1_macro", n_boot=n_boot, seed=3)
    for key in ("ci", "ci_boot", "ci_vc", "interval", "estimate", "per_seed", "v_images", "image_half_width"):
        assert many[key] == once[key], key
    np.testing.assert_array_equal(many["samples"], once["samples"])
    assert once["n"] == many["n"] == 1 and many["n_given"] == k and many["deterministic"] == (k > 1)
    _consistent(many)
    # paired: collapsed only when A is identical across seeds AND B is identical across seeds
    other = _wrong_at(y, np.arange(0, n_img, 7), np.random.default_rng(1))
    once = stats.crossed_bootstrap([(y, pred)], "accuracy", n_boot=n_boot, paired_with=[(y, other)])
    many = stats.crossed_bootstrap([(y, pred)] * k, "accuracy", n_boot=n_boot, paired_with=[(y, other)] * k)
    assert many["ci"] == once["ci"] and many["ci_boot"] == once["ci_boot"] and many["n"] == 1
    if k > 1:
        varied = [(y, other)] + [(y, _wrong_at(other, [s], np.random.default_rng(s))) for s in range(1, k)]
        mixed = stats.crossed_bootstrap([(y, pred)] * k, "accuracy", n_boot=n_boot, paired_with=varied)
        assert mixed["n"] == k and not mixed["deterministic"]
        near = [(y, pred)] + [(y, _wrong_at(pred, [s], np.random.default_rng(s))) for s in range(1, k)]
        single = stats.crossed_bootstrap([(y, pred)], "accuracy", n_boot=n_boot, seed=3)
        copies = stats.crossed_bootstrap(near, "accuracy", n_boot=n_boot, seed=3)
        assert copies["n"] == k
        width = lambda ci: ci[1] - ci[0]
        assert width(copies["ci_boot"]) == pytest.approx(width(single["ci_boot"]), rel=0.12)
        assert copies["image_half_width"] == pytest.approx(single["image_half_width"], rel=0.12)
        _consistent(copies)


def test_two_arms_with_identical_predictions_give_a_difference_of_exactly_zero():
    """One image draw shared by both arms (section 3, 5): identical arms give d = 0 in every resample."""
    a, _ = _paired_arms([0.01] * SEEDS)  # A's predictions vary by seed: n stays 5
    for metric in ("accuracy", "f1_macro"):
        same = stats.crossed_bootstrap(a, metric, n_boot=500, paired_with=[(t.copy(), p.copy()) for t, p in a])
        assert same["n"] == SEEDS and not same["deterministic"]
        assert same["estimate"] == 0.0 and same["per_seed"] == [0.0] * SEEDS
        assert np.all(same["samples"] == 0) and same["v_images"] == 0.0 and same["s_seeds"] == 0.0
        assert same["ci"] == same["ci_boot"] == same["ci_vc"] == (0.0, 0.0)
        p = stats.p_value(same["samples"], same["estimate"])
        assert p == 1.0 and stats.judge_order(same, 0.0, stats.holm([p, 0.001])[0]) == "inconclusive"
        assert stats.wins(same) == (0, SEEDS) and stats.prob_improvement(same) == 0.0


@pytest.mark.parametrize("regime, omega, sigma, n_img", [
    ("images dominate", 0.02, 0.15, 300),  # version 1's per-seed image draws cover ~83% here
    ("seeds dominate", 0.7, 0.10, 200),  # a percentile bootstrap over 5 seeds alone covers ~89% here
])
def test_the_interval_covers_the_population_value(regime, omega, sigma, n_img):
    """Over 200 simulated studies (5 seeds each) the interval `ci` covers the population accuracy over new
    images and new seeds, P(a + b + e > 0) = Phi(mu / sqrt(tau^2 + omega^2 + sigma^2)), in >= 93% of them."""
    mu, tau, studies, n_boot = 0.8, 1.5, 200, 300
    truth = sps.norm.cdf(mu / math.sqrt(tau ** 2 + omega ** 2 + sigma ** 2))
    rng = np.random.default_rng(2024)
    covered, vc_wider = 0, 0
    for i in range(studies):
        boot = stats.crossed_bootstrap(simulated_study(rng, n_img, SEEDS, mu, tau, omega, sigma), "accuracy",
                                       n_boot=n_boot, seed=i)
        covered += boot["ci"][0] <= truth <= boot["ci"][1]
        vc_wider += boot["interval"] == "variance components"
    assert covered / studies >= 0.93, (regime, covered / studies)
    # with 5 seeds the t interval is wider than the percentile bootstrap's (t(4) = 2.78, and the bootstrap's
    # seed variance is (n - 1) / n of s_seeds^2): the verdict uses the wider
    assert vc_wider / studies > 0.9


def test_image_half_width_is_the_test_sets_resolution():
    """48 test images at accuracy 0.6: the image-only half-width is about 1.96 * sqrt(0.6 * 0.4 / 48), whatever
    the seeds do, and +-0.02 cannot be resolved (section 4)."""
    (y, pred), = _value_arm([0.6], n=48, seed=2)
    expected = sps.norm.ppf(0.975) * math.sqrt(0.6 * 0.4 / 48)
    one = stats.crossed_bootstrap([(y, pred)], "accuracy")
    assert one["image_half_width"] == pytest.approx(expected, rel=0.15)
    assert one["ci_vc"][1] - one["estimate"] == pytest.approx(one["image_half_width"])  # n = 1: no seed term
    # five seeds that share their errors except one image each: the half-width stays that of the test set
    rng = np.random.default_rng(0)
    near = [(y, pred)] + [(y, _wrong_at(pred, [s], rng) if pred[s] == y[s] else pred) for s in range(1, SEEDS)]
    five = stats.crossed_bootstrap(near, "accuracy")
    assert five["n"] == SEEDS and five["image_half_width"] == pytest.approx(expected, rel=0.15)
    for boot in (one, five):
        _consistent(boot)
        assert not stats.resolvable(boot, 0.02) and stats.resolvable(boot, 0.2)
        assert stats.judge_value(boot, boot["estimate"], margin=0.02) == "inconclusive"  # never "matches"
    # 3,589 images resolve +-0.02
    assert stats.resolvable(stats.crossed_bootstrap(_value_arm([0.7]), "accuracy", n_boot=500), 0.02)


def _vc(estimate, s_seeds, v_images, n):
    return {"estimate": estimate, "s_seeds": s_seeds, "v_images": v_images, "n": n,
            "se": math.sqrt(s_seeds ** 2 / n + v_images)}


def test_seeds_to_resolve():
    """How many seeds would resolve an inconclusive order (section 5), from the variance components."""
    half = lambda n, s, v: sps.t.ppf(0.975, n - 1) * math.sqrt(s ** 2 / n + v)
    # image noise alone exceeds the gap: no number of seeds resolves it
    assert stats.seeds_to_resolve(_vc(0.01, 0.02, 0.0055 ** 2, 5)) is None  # 1.96 * 0.0055 > 0.01
    assert stats.seeds_to_resolve(_vc(0.01, 0.0, 0.0055 ** 2, 5)) is None
    # within [0, margin] nothing to resolve; beyond max_seeds: None
    assert stats.seeds_to_resolve(_vc(0.01, 0.02, 1e-6, 5), margin=0.02) is None
    assert stats.seeds_to_resolve(_vc(0.0, 0.02, 1e-6, 5)) is None
    assert stats.seeds_to_resolve(_vc(0.01, 0.05, 0.004 ** 2, 5), max_seeds=20) is None
    found = []
    for s in (0.04, 0.02, 0.01):
        k = stats.seeds_to_resolve(_vc(0.01, s, 0.002 ** 2, 5))
        assert k is not None and k >= 2
        assert half(k, s, 0.002 ** 2) < 0.01 and (k == 2 or half(k - 1, s, 0.002 ** 2) >= 0.01)  # the smallest
        found.append(k)
    assert found[0] > found[1] > found[2]  # fewer seeds when the seeds agree more
    # the gap is measured to the margin from above, and to zero from below
    assert stats.seeds_to_resolve(_vc(0.03, 0.02, 0.002 ** 2, 5), margin=0.02) == found[1]
    assert stats.seeds_to_resolve(_vc(-0.01, 0.02, 0.002 ** 2, 5), margin=0.02) == found[1]
    # on real inconclusive orders: the answer resolves the variance-components interval
    boot, _, _, verdict = _order([0.02, 0.025, 0.015, 0.02, -0.03], n_boot=500)  # d = 0.01, one seed flips
    k = stats.seeds_to_resolve(boot)
    assert verdict == "inconclusive" and k is not None and SEEDS < k < 100
    assert half(k, boot["s_seeds"], boot["v_images"]) < boot["estimate"] <= half(k - 1, boot["s_seeds"],
                                                                                   boot["v_images"])
    boot = _order([0.010, 0.012, 0.008, 0.010, -0.030], n_boot=500)[0]  # d = 0.002 against a seed sd of 0.018
    assert boot["image_half_width"] < boot["estimate"]  # the test set could resolve it ...
    assert stats.seeds_to_resolve(boot, max_seeds=100) is None  # ... but only with hundreds of seeds
    assert stats.seeds_to_resolve(boot, max_seeds=10_000) > 100


def test_detectable_difference_shrinks_with_more_seeds():
    """The smallest difference detected with 80% power (section 5): (t(n-1, 0.975) + t(n-1, 0.8)) * se."""
    dd = [stats.detectable_difference(_vc(0.0, 0.02, 0.003 ** 2, n)) for n in (2, 3, 5, 10, 30)]
    assert all(x > y for x, y in zip(dd, dd[1:]))
    assert dd[2] == pytest.approx((sps.t.ppf(0.975, 4) + sps.t.ppf(0.8, 4)) * math.sqrt(0.02 ** 2 / 5 + 0.003 ** 2))
    assert dd[-1] > (sps.norm.ppf(0.975) + sps.norm.ppf(0.8)) * 0.003  # the test set's floor
    one = _vc(0.0, 0.0, 0.003 ** 2, 1)  # n = 1: normal quantiles
    assert stats.detectable_difference(one) == pytest.approx(2.8016 * 0.003, rel=1e-4)
    assert stats.detectable_difference(one, power=0.9, alpha=0.01) > stats.detectable_difference(one)
    # measured: 3 seeds against the same pattern over 9 seeds
    pattern = [0.01, 0.02, 0.0]
    few = _paired_arms(pattern)
    boot3 = stats.crossed_bootstrap(few[0], "accuracy", n_boot=300, paired_with=few[1])
    many = _paired_arms(pattern * 3)
    boot9 = stats.crossed_bootstrap(many[0], "accuracy", n_boot=300, paired_with=many[1])
    assert stats.detectable_difference(boot9) < stats.detectable_difference(boot3)


# ---- value claims (section 4) ----

@pytest.fixture(scope="module")
def value_boot():
    boot = stats.crossed_bootstrap(_value_arm([0.70, 0.702, 0.698, 0.701, 0.699]), "accuracy")
    lo, hi = boot["ci"]
    assert lo < boot["estimate"] < hi and hi - lo < 0.03  # tight: 5 seeds x 3,589 images
    _consistent(boot)
    return boot


def test_value_matches_when_the_interval_is_inside_the_band(value_boot):
    assert stats.judge_value(value_boot, value_boot["estimate"], margin=0.02) == "matches"
    assert value_boot["estimate"] == pytest.approx(0.70, abs=1e-3)
    assert stats.resolvable(value_boot, 0.02)


@pytest.mark.parametrize("offset", [0.05, -0.05])  # paper's figure above ours / below ours
def test_value_differs_when_the_interval_is_wholly_outside_the_band(value_boot, offset):
    assert stats.judge_value(value_boot, value_boot["estimate"] + offset, margin=0.02) == "differs"


def test_value_inconclusive_when_the_interval_straddles_a_band_edge(value_boot):
    est = value_boot["estimate"]
    assert stats.judge_value(value_boot, est + 0.02, margin=0.02) == "inconclusive"  # lower edge at est
    assert stats.judge_value(value_boot, est - 0.02, margin=0.02) == "inconclusive"  # upper edge at est


def test_huge_interval_around_the_papers_value_is_inconclusive_not_matches():
    boot = stats.crossed_bootstrap(_value_arm([0.70] * SEEDS, n=20), "accuracy")
    assert boot["estimate"] == pytest.approx(0.70)
    lo, hi = boot["ci"]
    assert hi - lo > 0.04 and lo < 0.70 < hi  # wider than the whole band, centred on the value
    assert stats.judge_value(boot, 0.70, margin=0.02) == "inconclusive"
    assert not stats.resolvable(boot, 0.02)


# ---- order claims (section 5) ----

def _order(diffs, metric="accuracy", margin=0.0, others=(), n_boot=2000):
    a, b = _paired_arms(diffs)
    boot = stats.crossed_bootstrap(a, metric, n_boot=n_boot, paired_with=b)
    _consistent(boot)
    p = stats.p_value(boot["samples"], boot["estimate"])
    p_adj = stats.holm([p, *others])[0]
    return boot, p, p_adj, stats.judge_order(boot, margin, p_adj)


def test_order_holds_with_a_clear_win_on_every_seed():
    boot, p, p_adj, verdict = _order([0.05] * SEEDS, others=[0.5, 0.01])
    assert boot["per_seed"] == pytest.approx([round(0.05 * N) / N] * SEEDS)
    assert boot["ci"][0] > 0 and p == pytest.approx(1 / 2000) and p_adj == pytest.approx(3 / 2000)
    assert verdict == "holds"
    assert stats.wins(boot) == (5, 5) and stats.prob_improvement(boot) == 1.0
    # the same interval judged against a larger margin, or with an adjusted p that is too big, does not hold
    assert stats.judge_order(boot, margin=0.06, p_adjusted=p_adj) == "inconclusive"
    assert stats.judge_order(boot, margin=0.0, p_adjusted=0.05) == "inconclusive"
    # the macro-F1 order is judged the same way
    assert _order([0.05] * SEEDS, metric="f1_macro")[3] == "holds"


def test_order_inconclusive_when_one_seed_flips_and_the_interval_straddles_zero():
    boot, p, p_adj, verdict = _order([0.010, 0.012, 0.008, 0.010, -0.030])
    lo, hi = boot["ci"]
    assert lo < 0 < hi and boot["estimate"] > 0
    assert p > 0.05 and verdict == "inconclusive"
    assert stats.wins(boot) == (4, 5)
    assert 0.5 < stats.prob_improvement(boot) < 1.0
    # the seeds disagree far more than the images: the t interval is the wider, and named
    assert boot["interval"] == "variance components" and boot["s_seeds"] > 0.01


def test_order_contradicted_by_a_clear_loss():
    boot, p, p_adj, verdict = _order([-0.05] * SEEDS)
    assert boot["ci"][1] < 0 and p_adj < 0.05 and verdict == "contradicted"
    assert stats.wins(boot) == (0, 5) and stats.prob_improvement(boot) == 0.0
    assert stats.judge_order(boot, margin=0.0, p_adjusted=0.2) == "inconclusive"


def test_judgements_on_given_intervals():
    """The verdict rules on hand-made bootstrap results, including the edges of each rule."""
    value = lambda lo, hi: stats.judge_value({"ci": (lo, hi)}, 0.70, margin=0.02)
    assert value(0.68, 0.72) == value(0.69, 0.71) == "matches"  # the band's edges count as inside
    assert value(0.60, 0.679) == value(0.721, 0.80) == "differs"
    assert value(0.67, 0.70) == value(0.70, 0.73) == value(0.60, 0.80) == "inconclusive"
    order = lambda lo, hi, margin=0.0, p=0.01: stats.judge_order({"ci": (lo, hi), "estimate": (lo + hi) / 2},
                                                                 margin, p)
    assert order(0.001, 0.05) == "holds" and order(-0.05, -0.001) == "contradicted"
    assert order(0.01, 0.05, margin=0.02) == "inconclusive"  # above zero, not above the margin
    assert order(-0.001, 0.05) == order(-0.05, 0.001) == order(-0.05, 0.0) == "inconclusive"  # touches zero
    assert order(-0.03, 0.01, p=0.01) == "inconclusive"  # negative estimate, interval not below zero
    assert order(0.01, 0.05, p=0.06) == order(-0.05, -0.01, p=0.06) == "inconclusive"
    boot = {"per_seed": [0.02, 0.0, -0.01, 0.03], "n": 4, "samples": np.array([0.0, 0.01, -0.01, 0.02])}
    assert stats.wins(boot) == (2, 4)  # a tie is not a win
    assert stats.prob_improvement(boot) == 0.5
    assert stats.resolvable({"image_half_width": 0.02}, 0.02)
    assert not stats.resolvable({"image_half_width": 0.021}, 0.02)


def test_pairing_narrows_the_interval_of_the_difference():
    """Arms sharing most errors: the paired interval is much narrower than resampling A and B independently."""
    a, b = _paired_arms([0.005] * SEEDS)
    paired = stats.crossed_bootstrap(a, "accuracy", paired_with=b)
    sa = stats.crossed_bootstrap(a, "accuracy", n_boot=1000, seed=1)["samples"]
    sb = stats.crossed_bootstrap(b, "accuracy", n_boot=1000, seed=2)["samples"]
    lo_u, hi_u = np.percentile(sa - sb, [2.5, 97.5])
    lo_p, hi_p = paired["ci"]
    assert hi_p - lo_p < 0.5 * (hi_u - lo_u)
    assert lo_p > 0 and lo_u < 0  # only the paired comparison resolves a half-point difference here


def test_validation_errors():
    a, b = _paired_arms([0.01] * 2)
    with pytest.raises(ValueError, match="same seeds"):
        stats.crossed_bootstrap(a, "accuracy", paired_with=b[:1])
    shuffled = [(np.roll(t, 1), p) for t, p in b]
    with pytest.raises(ValueError, match="same y_true"):
        stats.crossed_bootstrap(a, "accuracy", paired_with=shuffled)
    with pytest.raises(ValueError, match="same, non-empty set of test images"):
        stats.crossed_bootstrap([(a[0][0], a[0][1][:-1])], "accuracy")
    with pytest.raises(ValueError, match="same test images in the same order"):
        stats.crossed_bootstrap([a[0], (a[1][0][::-1], a[1][1][::-1])], "accuracy")
    with pytest.raises(ValueError, match="no seeds"):
        stats.crossed_bootstrap([], "accuracy")
    with pytest.raises(ValueError, match="no seeds"):
        stats.crossed_bootstrap(a, "accuracy", paired_with=[])
    with pytest.raises(ValueError, match="non-negative"):
        stats.crossed_bootstrap([(a[0][0], a[0][1] - 1)], "accuracy")
    with pytest.raises(ValueError, match="unknown metric"):
        stats.crossed_bootstrap(a, "balanced_acc")
    assert not hasattr(stats, "two_level_bootstrap")


# ---- p-values and Holm ----

def test_p_value_is_two_sided_and_clipped():
    n = 2000
    assert stats.p_value(np.full(n, 0.03), 0.03) == 1 / n  # never 0
    assert stats.p_value(np.full(n, -0.03), -0.03) == 1 / n
    s = np.r_[np.full(30, -0.01), np.full(n - 30, 0.02)]  # 1.5% of resamples at or below zero
    assert stats.p_value(s, s.mean()) == pytest.approx(0.03)
    assert stats.p_value(-s, -s.mean()) == pytest.approx(0.03)
    assert stats.p_value(np.zeros(n), 0.0) == 1.0
    assert stats.p_value(np.linspace(-1, 1, n), 0.0) == pytest.approx(1.0)


def test_holm_textbook_example():
    np.testing.assert_allclose(stats.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(stats.holm([0.5, 0.6, 0.001]), [1.0, 1.0, 0.003])  # clipped at 1
    np.testing.assert_allclose(stats.holm([0.02]), [0.02])


# ---- reproducibility, defaults, speed ----

def test_reproducible_given_seed_and_default_resamples():
    assert inspect.signature(stats.crossed_bootstrap).parameters["n_boot"].default >= 2000
    a, b = _paired_arms([0.01, 0.02, 0.0])
    r1 = stats.crossed_bootstrap(a, "f1_macro", paired_with=b, seed=7)
    r2 = stats.crossed_bootstrap(a, "f1_macro", paired_with=b, seed=7)
    r3 = stats.crossed_bootstrap(a, "f1_macro", n_boot=200, paired_with=b, seed=8)
    assert len(r1["samples"]) == 2000
    np.testing.assert_array_equal(r1["samples"], r2["samples"])
    assert r1["ci"] == r2["ci"] and r1["estimate"] == r2["estimate"] and r1["v_images"] == r2["v_images"]
    assert not np.array_equal(r1["samples"][:200], r3["samples"])
    _consistent(r1)
