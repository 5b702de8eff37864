"""Metrics agree with scikit-learn; bootstrap intervals are sane and reproducible."""
import numpy as np
import pytest
from sklearn import metrics as skm

from studylib.metrics import bootstrap_ci, classification_metrics, majority_baseline

NAMES = ["angry", "happy", "sad", "neutral", "unused"]  # "unused" never occurs: must still be reported


@pytest.fixture
def preds():
    rng = np.random.default_rng(7)
    y_true = rng.choice(4, 200, p=[0.5, 0.2, 0.2, 0.1])
    y_pred = np.where(rng.random(200) < 0.7, y_true, rng.integers(0, 4, 200))
    return y_true, y_pred


def test_classification_metrics_equal_sklearn(preds):
    y_true, y_pred = preds
    m = classification_metrics(y_true, y_pred, NAMES)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y_true, y_pred))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y_true, y_pred))
    for avg in ("macro", "weighted"):
        assert m[f"precision_{avg}"] == pytest.approx(skm.precision_score(y_true, y_pred, average=avg))
        assert m[f"recall_{avg}"] == pytest.approx(skm.recall_score(y_true, y_pred, average=avg))
        assert m[f"f1_{avg}"] == pytest.approx(skm.f1_score(y_true, y_pred, average=avg))
    rep = m["report"]
    assert list(rep.index) == NAMES and list(rep.columns) == ["precision", "recall", "f1", "support"]
    np.testing.assert_allclose(rep["f1"].to_numpy()[:4], skm.f1_score(y_true, y_pred, average=None))
    assert rep.loc["unused", "support"] == 0 and rep["support"].sum() == 200
    np.testing.assert_array_equal(m["confusion"], skm.confusion_matrix(y_true, y_pred, labels=range(5)))


def test_metrics_on_a_hand_checked_case():
    m = classification_metrics([0, 0, 1, 1], [0, 1, 1, 1], ["a", "b"])
    assert m["accuracy"] == 0.75
    assert m["report"].loc["a", "recall"] == 0.5 and m["report"].loc["b", "precision"] == pytest.approx(2 / 3)
    np.testing.assert_array_equal(m["confusion"], [[1, 1], [0, 2]])


@pytest.mark.parametrize("metric,point", [("accuracy", skm.accuracy_score),
                                          ("macro_f1", lambda t, p: skm.f1_score(t, p, average="macro"))])
def test_bootstrap_ci_contains_estimate_and_is_deterministic(preds, metric, point):
    y_true, y_pred = preds
    low, high = bootstrap_ci(y_true, y_pred, metric=metric, n_boot=500, seed=1)
    assert low < point(y_true, y_pred) < high
    assert 0.02 < high - low < 0.3  # n=200: a few points wide, not degenerate
    assert bootstrap_ci(y_true, y_pred, metric=metric, n_boot=500, seed=1) == (low, high)
    assert bootstrap_ci(y_true, y_pred, metric=metric, n_boot=500, seed=2) != (low, high)


def test_bootstrap_macro_f1_matches_a_sklearn_loop(preds):
    y_true, y_pred = preds
    f1 = lambda t, p: skm.f1_score(t, p, average="macro", zero_division=0)
    assert bootstrap_ci(y_true, y_pred, "macro_f1", n_boot=200, seed=3) == pytest.approx(
        bootstrap_ci(y_true, y_pred, f1, n_boot=200, seed=3))


def test_bootstrap_ci_narrows_with_more_data():
    rng = np.random.default_rng(0)
    widths = []
    for n in (100, 2500):
        y = rng.integers(0, 3, n)
        p = np.where(rng.random(n) < 0.6, y, rng.integers(0, 3, n))
        low, high = bootstrap_ci(y, p, n_boot=400)
        widths.append(high - low)
    assert widths[1] < widths[0] / 3


def test_bootstrap_rejects_bad_input():
    with pytest.raises(ValueError, match="valid"):
        bootstrap_ci([0, 1], [0, 1], metric="auc")
    with pytest.raises(ValueError):
        bootstrap_ci([0, 1], [0])


def test_majority_baseline_uses_the_training_majority():
    train = [2, 2, 2, 0, 1]
    test = [0, 0, 0, 2]  # the test majority (0) must not leak into the baseline
    b = majority_baseline(train, test)
    assert b["majority_class"] == 2 and b["accuracy"] == 0.25
    assert b["macro_f1"] == pytest.approx(skm.f1_score(test, [2] * 4, average="macro", zero_division=0))
    assert b["balanced_accuracy"] == pytest.approx(0.5)
