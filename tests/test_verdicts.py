"""The replicated, paired verdict statistics of docs/VERDICTS.md sections 3-4 (studylib/study/stats.py)."""
import inspect

import numpy as np
import pytest
from sklearn import metrics as skm

from studylib.study import stats

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
    assert float(stats._metric_from_cm(metric, cm)) == pytest.approx(expected, abs=1e-12)
    with pytest.raises(ValueError):
        stats.metric_value("balanced_acc", y, pred)


@pytest.mark.parametrize("metric", stats.METRICS)
@pytest.mark.parametrize("paired", [False, True])
def test_bootstrap_samples_equal_sklearn_on_the_same_draws(metric, paired):
    """Each vectorised resample equals the mean over drawn seeds of sklearn's metric on the drawn images
    (small test set, so classes vanish from some resamples)."""
    rng = np.random.default_rng(11)
    n, n_img, n_boot = 3, 25, 40
    y = rng.integers(0, 5, n_img)
    arm = lambda p: [(y, np.where(rng.random(n_img) < p, y, rng.integers(0, 5, n_img))) for _ in range(n)]
    a, b = arm(0.6), arm(0.5)
    boot = stats.two_level_bootstrap(a, metric, n_boot=n_boot, seed=5, paired_with=b if paired else None)
    expected = []
    for seed_draws, idx in stats._draws(np.random.default_rng(5), n_boot, n, n_img):
        for sd, ix in zip(seed_draws, idx):
            vals = []
            for s, i in zip(sd, ix):
                v = stats.metric_value(metric, a[s][0][i], a[s][1][i])
                if paired:
                    v -= stats.metric_value(metric, b[s][0][i], b[s][1][i])
                vals.append(v)
            expected.append(np.mean(vals))
    np.testing.assert_allclose(boot["samples"], expected, atol=1e-12)
    per = [stats.metric_value(metric, t, p) - (stats.metric_value(metric, *b[i]) if paired else 0)
           for i, (t, p) in enumerate(a)]
    assert boot["per_seed"] == pytest.approx(per) and boot["estimate"] == pytest.approx(np.mean(per))
    assert boot["n"] == n


# ---- value claims (section 3) ----

@pytest.fixture(scope="module")
def value_boot():
    boot = stats.two_level_bootstrap(_value_arm([0.70, 0.702, 0.698, 0.701, 0.699]), "accuracy")
    lo, hi = boot["ci"]
    assert lo < boot["estimate"] < hi and hi - lo < 0.02  # tight: 5 seeds x 3,589 images
    return boot


def test_value_matches_when_the_interval_is_inside_the_band(value_boot):
    assert stats.judge_value(value_boot, value_boot["estimate"], margin=0.02) == "matches"
    assert value_boot["estimate"] == pytest.approx(0.70, abs=1e-3)


@pytest.mark.parametrize("offset", [0.05, -0.05])  # paper's figure above ours / below ours
def test_value_differs_when_the_interval_is_wholly_outside_the_band(value_boot, offset):
    assert stats.judge_value(value_boot, value_boot["estimate"] + offset, margin=0.02) == "differs"


def test_value_inconclusive_when_the_interval_straddles_a_band_edge(value_boot):
    est = value_boot["estimate"]
    assert stats.judge_value(value_boot, est + 0.02, margin=0.02) == "inconclusive"  # lower edge at est
    assert stats.judge_value(value_boot, est - 0.02, margin=0.02) == "inconclusive"  # upper edge at est


def test_huge_interval_around_the_papers_value_is_inconclusive_not_matches():
    boot = stats.two_level_bootstrap(_value_arm([0.70] * SEEDS, n=20), "accuracy")
    assert boot["estimate"] == pytest.approx(0.70)
    lo, hi = boot["ci"]
    assert hi - lo > 0.04 and lo < 0.70 < hi  # wider than the whole band, centred on the value
    assert stats.judge_value(boot, 0.70, margin=0.02) == "inconclusive"


# ---- order claims (section 4) ----

def _order(diffs, metric="accuracy", margin=0.0, others=()):
    a, b = _paired_arms(diffs)
    boot = stats.two_level_bootstrap(a, metric, paired_with=b)
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


def test_pairing_narrows_the_interval_of_the_difference():
    """Arms sharing most errors: the paired interval is much narrower than resampling A and B independently."""
    a, b = _paired_arms([0.005] * SEEDS)
    paired = stats.two_level_bootstrap(a, "accuracy", paired_with=b)
    sa = stats.two_level_bootstrap(a, "accuracy", seed=1)["samples"]
    sb = stats.two_level_bootstrap(b, "accuracy", seed=2)["samples"]
    lo_u, hi_u = np.percentile(sa - sb, [2.5, 97.5])
    lo_p, hi_p = paired["ci"]
    assert hi_p - lo_p < 0.5 * (hi_u - lo_u)
    assert lo_p > 0 and lo_u < 0  # only the paired comparison resolves a half-point difference here
    # identical arms: the same seed draws and image indices give a difference of exactly zero each time
    same = stats.two_level_bootstrap(a, "f1_macro", n_boot=200, paired_with=a)
    assert np.all(same["samples"] == 0) and same["ci"] == (0.0, 0.0)


def test_paired_arms_must_score_the_same_images():
    a, b = _paired_arms([0.01] * 2)
    with pytest.raises(ValueError):
        stats.two_level_bootstrap(a, "accuracy", paired_with=b[:1])
    shuffled = [(t[::-1], p[::-1]) for t, p in b]
    shuffled[0] = (np.roll(b[0][0], 1), b[0][1])
    with pytest.raises(ValueError):
        stats.two_level_bootstrap(a, "accuracy", paired_with=shuffled)
    with pytest.raises(ValueError):
        stats.two_level_bootstrap([(a[0][0], a[0][1][:-1])], "accuracy")


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
    assert inspect.signature(stats.two_level_bootstrap).parameters["n_boot"].default >= 2000
    a, b = _paired_arms([0.01, 0.02, 0.0])
    r1 = stats.two_level_bootstrap(a, "f1_macro", paired_with=b, seed=7)
    r2 = stats.two_level_bootstrap(a, "f1_macro", paired_with=b, seed=7)
    r3 = stats.two_level_bootstrap(a, "f1_macro", paired_with=b, seed=8)
    assert len(r1["samples"]) == 2000
    np.testing.assert_array_equal(r1["samples"], r2["samples"])
    assert r1["ci"] == r2["ci"] and r1["estimate"] == r2["estimate"]
    assert not np.array_equal(r1["samples"], r3["samples"])
    assert r1["ci"] == pytest.approx(tuple(np.percentile(r1["samples"], [2.5, 97.5])))  # 95% percentile
