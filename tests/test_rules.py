"""The rules of a verdict (study.rules; docs/METHOD.md) on numbers with a known answer, and the typed
results (Interval, Verdict) against a committed scorecard row."""
import json
from pathlib import Path

import numpy as np
import pytest

from studylib.study import rules, stats, verdict_types, verdicts
from studylib.study.verdict_types import Interval, Verdict

ROOT = Path(__file__).resolve().parents[1]
CARD = ROOT / "reports" / "cpu" / "results" / "06_scorecard.json"


def test_one_alpha_everywhere():
    assert rules.ALPHA == 0.05 and stats.ALPHA is rules.ALPHA and verdicts.ALPHA is rules.ALPHA


@pytest.mark.parametrize("low, high, word", [(0.69, 0.71, "matches"), (0.68, 0.72, "matches"),   # edges included
                                             (0.60, 0.67, "differs"), (0.73, 0.80, "differs"),
                                             (0.67, 0.71, "inconclusive"), (0.60, 0.80, "inconclusive")])
def test_value_rule(low, high, word):
    assert rules.value_verdict(low, high, 0.70, 0.02) == word


@pytest.mark.parametrize("low, high, margin, p, word", [
    (0.02, 0.05, 0.0, 0.01, "holds"), (0.02, 0.05, 0.03, 0.01, "inconclusive"),  # must clear the margin
    (0.02, 0.05, 0.0, 0.05, "inconclusive"),                                      # p < alpha, strictly
    (-0.05, -0.02, 0.0, 0.01, "contradicted"), (-0.05, -0.02, 0.03, 0.01, "contradicted"),  # below zero, not -margin
    (-0.01, 0.03, 0.0, 0.01, "inconclusive")])
def test_order_rule(low, high, margin, p, word):
    assert rules.order_verdict(low, high, margin, p) == word


def test_a_flipped_order_is_contradicted_not_held():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 400)
    good = [(y, np.where(rng.random(400) < 0.8, y, (y + 1) % 3)) for _ in range(3)]
    bad = [(y, np.where(rng.random(400) < 0.6, y, (y + 1) % 3)) for _ in range(3)]
    for a, b, word in ((good, bad, "holds"), (bad, good, "contradicted")):
        boot = stats.crossed_bootstrap(a, "accuracy", n_boot=500, paired_with=b)
        assert rules.order_verdict(*boot["ci"], 0.0, stats.p_value(boot["samples"], 0)) == word


def test_resolvability_and_the_wider_interval():
    assert rules.resolvable(0.02, 0.02) and not rules.resolvable(0.021, 0.02)
    assert rules.wider((0.1, 0.3), (0.15, 0.25)) == ((0.1, 0.3), "crossed bootstrap")
    assert rules.wider((0.1, 0.2), (0.0, 0.3)) == ((0.0, 0.3), "variance components")
    assert rules.wider((0.25, 0.75), (0.0, 0.5)) == ((0.25, 0.75), "crossed bootstrap")  # a tie: the bootstrap's
    assert rules.clip((-0.1, 1.2), paired=False) == [0.0, 1.0] and rules.clip((-1.3, 0.2), paired=True) == [-1.0, 0.2]


def test_budget_rule_names_the_losing_arm_only():
    flags = {"b": ("cap-bound on seed 0 of 5: x",)}
    assert rules.budget_limit("order", "holds", ("a", "b"), flags, labels={"b": "B"}).startswith("B, the losing arm")
    assert rules.budget_limit("order", "contradicted", ("a", "b"), flags) == ""   # the flag is on the winner
    assert rules.budget_limit("order", "inconclusive", ("a", "b"), flags) == ""
    capped = {"a": ("cap-bound on seeds 0-4: y", "grid-edge: z")}
    assert rules.budget_limit("value", "differs", ("a",), capped, 0.6, 0.7) == "cap-bound on seeds 0-4: y"
    assert rules.budget_limit("value", "differs", ("a",), capped, 0.8, 0.7) == ""  # above the paper: not our cut
    assert rules.budget_limit("value", "differs", ("a",), {"a": ("grid-edge: z",)}, 0.6, 0.7) == ""


def test_holm_family_and_checks():
    assert rules.in_holm_family("order", 0.01) and not rules.in_holm_family("value", None)
    assert not rules.in_holm_family("order", None)
    assert rules.check_verdict(12, 12, 0) == "matches" and rules.check_verdict(0.60, 0.63, 0.02) == "differs"


def test_committed_rows_read_as_verdicts_and_write_back_unchanged():
    rows = json.loads(CARD.read_text())["metrics"]["claims"]
    for row in rows:
        v = Verdict.from_row(row)
        # the scorecard's frame gives every row every column: null where a row lacks the key, as it always did
        own = {k: x for k, x in row.items() if not (k in verdict_types._TAIL and x is None)}
        assert v.to_row() == own and list(v.to_row()) == list(own)
        assert (v.interval is None) == (row["estimate"] is None)
        if v.interval is not None:
            assert [v.interval.low, v.interval.high] == row["ci"] and v.interval.method == row["interval"]
    held = next(Verdict.from_row(r) for r in rows if r["verdict"] == "holds")
    with pytest.raises(AttributeError):
        held.word = "contradicted"  # frozen: a verdict is never mutated
    limited = [Verdict.from_row(r) for r in rows if r["budget_limited"]]
    assert limited and all(v.word == "inconclusive" and v.raw_word != "inconclusive" for v in limited)


def test_verdicts_re_exports_the_typed_results():
    assert verdicts.Interval is Interval and verdicts.Verdict is Verdict


def test_assess_is_assess_in_with_a_judging():
    """The field-by-field form and the config-object form judge alike; n_boot lives on the Judging."""
    claim = verdicts.CLAIMS["003.resnet18.full_beats_frozen"]
    y = np.arange(120) % 4
    a = [(y, np.where(np.arange(120) % (5 + s) == 0, (y + 1) % 4, y)) for s in range(3)]
    b = [(y, np.where(np.arange(120) % (3 + s) == 0, (y + 1) % 4, y)) for s in range(3)]
    per_seed, flags = {"all": a, "new_layers": b}, {"new_layers": ["cap-bound on seed 0"]}
    how = verdicts.Judging({}, "cpu", "run", flags=flags, regime="r", n_boot=verdicts.N_BOOT)
    assert verdicts.assess(claim, per_seed, {}, "cpu", "run", flags=flags, regime="r") == verdicts.assess_in(how, claim, per_seed)
    assert verdicts.judge(claim, per_seed, {}, "cpu", "run", flags=flags, regime="r") == verdicts.assess_in(how, claim, per_seed).to_row()
    fewer = verdicts.assess_in(verdicts.Judging({}, "cpu", n_boot=200), claim, per_seed)
    assert fewer.interval.n == 3 and fewer.p_floor == 1 / 200


def test_an_interval_from_the_bootstrap():
    y = np.arange(200) % 4
    boot = stats.crossed_bootstrap([(y, y)] * 3, "accuracy", n_boot=200)
    iv = Interval.from_boot(boot)
    assert iv.estimate == 1.0 and iv.high == 1.0 and iv.n == 1 and iv.deterministic
    assert iv.resampled == "seeds x test images" and iv.method in ("crossed bootstrap", "variance components")
