"""Claims over a ladder of sizes (docs/METHOD.md, Claims over a ladder, and Equivalence): the rules on numbers
with a known answer, the statistics on simulated predictions, a whole judgement on a simulated ladder, the
paper files' checks, and papers 005 and 006 judged on the committed curves records (`studylib judge`)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from bs4 import BeautifulSoup

from studylib import paths
from studylib.study import ladder_stats, rules, stats
from studylib.study.claims import ladder_claims, scorecard_claims
from studylib.study.ladder_verdicts import Ladder, judge
from studylib.study.paper_files import Claim, RegistryError, load

CURVES = paths.REPORTS / "curves"


# ---- the rules --------------------------------------------------------------------------------------------

def test_equivalence_needs_the_whole_interval_inside_the_margin_and_a_small_p():
    assert rules.equivalence_verdict(-0.01, 0.015, 0.02, 0.001) == "equivalent"
    assert rules.equivalence_verdict(-0.02, 0.02, 0.02, 0.001) == "equivalent"         # edges included
    assert rules.equivalence_verdict(-0.01, 0.015, 0.02, 0.2) == "inconclusive"        # TOST not rejected
    # an interval that includes zero but reaches past the margin is never "equivalent"
    assert rules.equivalence_verdict(-0.019, 0.452, 0.02, 0.001) == "inconclusive"
    assert rules.equivalence_verdict(0.03, 0.2, 0.02, 1.0) == "differs"
    assert rules.equivalence_verdict(-0.2, -0.03, 0.02, 1.0) == "differs"


def test_a_claim_at_every_rung_holds_only_when_every_rung_does():
    assert rules.every_rung(["holds", "holds"]) == "holds"
    assert rules.every_rung(["holds", "inconclusive", "holds"]) == "inconclusive"
    assert rules.every_rung(["holds", "contradicted", "inconclusive"]) == "contradicted"
    assert rules.every_rung(["equivalent", "differs"]) == "differs"
    assert rules.every_rung(["holds", "equivalent"]) == "inconclusive"
    assert rules.every_rung([]) == "inconclusive"


def test_an_arm_learned_only_above_uniform_guessing():
    assert rules.learned(0.2, 7) and not rules.learned(0.14, 7) and not rules.learned(0.019, 12)


def test_the_budget_rule_for_epochs_looks_at_the_arm_with_fewer_epochs():
    flags = {"everything": ("cap-bound on seed 0 of 3: ...",)}
    # holds: A (everything) has fewer epochs; a cap on it may have shortened its count
    assert rules.budget_limit("epochs", "holds", ("everything", "random_init"), flags)
    assert not rules.budget_limit("epochs", "contradicted", ("everything", "random_init"), flags)
    # an order claim: the loser (B for holds) is the one that matters
    assert not rules.budget_limit("order", "holds", ("everything", "random_init"), flags)
    assert rules.budget_limit("equivalence", "equivalent", ("everything", "random_init"), flags)
    assert not rules.budget_limit("equivalence", "inconclusive", ("everything", "random_init"), flags)


# ---- the statistics, on simulated predictions --------------------------------------------------------------

def _arm(rng, accuracy: float, y: np.ndarray, n_seeds: int = 3) -> list[tuple]:
    """Per seed (y_true, y_pred) with about this accuracy on the shared test labels y."""
    out = []
    for _ in range(n_seeds):
        right = rng.random(len(y)) < accuracy
        out.append((y, np.where(right, y, (y + 1 + rng.integers(0, 4, len(y))) % 5)))
    return out


def test_the_contrast_of_two_rungs_is_the_difference_of_their_differences_resample_by_resample():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 2000)
    small = stats.crossed_bootstrap(_arm(rng, 0.8, y), "accuracy", n_boot=400, paired_with=_arm(rng, 0.3, y))
    large = stats.crossed_bootstrap(_arm(rng, 0.9, y), "accuracy", n_boot=400, paired_with=_arm(rng, 0.8, y))
    c = ladder_stats.contrast(small, large)
    # the true contrast is (0.8 - 0.3) - (0.9 - 0.8) = 0.4
    assert c["estimate"] == pytest.approx(small["estimate"] - large["estimate"])
    assert c["ci"][0] < 0.4 < c["ci"][1] and c["ci"][0] > 0.3
    np.testing.assert_allclose(c["samples"], small["samples"] - large["samples"])
    zero = ladder_stats.contrast(small, small)
    assert zero["estimate"] == 0 and np.all(zero["samples"] == 0)
    other = stats.crossed_bootstrap(_arm(rng, 0.9, y, 2), "accuracy", n_boot=400, paired_with=_arm(rng, 0.8, y, 2))
    with pytest.raises(ValueError, match="same seeds"):
        ladder_stats.contrast(small, other)


def test_tost_p_and_the_seeds_an_equivalence_needs():
    inside = np.random.default_rng(0).uniform(-0.01, 0.01, 2000)
    assert ladder_stats.tost_p(inside, 0.02) == 1 / 2000            # every resample inside: p at its floor
    assert ladder_stats.tost_p(inside + 0.05, 0.02) == 1.0           # every resample beyond +margin
    boot = {"estimate": 0.0, "s_seeds": 0.01, "v_images": 0.0}
    n = ladder_stats.seeds_to_equivalence(boot, 0.02)
    assert n is not None and stats._quantile(0.975, n) * 0.01 / np.sqrt(n) < 0.02
    assert stats._quantile(0.975, n - 1) * 0.01 / np.sqrt(n - 1) >= 0.02 or n == 2
    assert ladder_stats.seeds_to_equivalence({**boot, "estimate": 0.03}, 0.02) is None
    assert ladder_stats.seeds_to_equivalence({**boot, "v_images": 0.02 ** 2}, 0.02) is None


def test_epochs_over_seeds_and_to_a_fraction_of_the_best():
    from scipy import stats as sps
    got = ladder_stats.over_seeds([16, 10, 8])
    assert got["estimate"] == pytest.approx(34 / 3) and got["p"] == pytest.approx(sps.ttest_1samp([16, 10, 8], 0).pvalue)
    assert got["ci"][0] < 34 / 3 < got["ci"][1]
    assert ladder_stats.over_seeds([5, 5, 5])["p"] == 0.25                  # no spread: the exact sign test
    assert ladder_stats.over_seeds([0, 0, 0])["p"] == 1.0
    history = [{"epoch": e, "val_macro_f1": v} for e, v in enumerate([0.1, 0.5, 0.85, 0.95, 1.0, 0.9], 1)]
    assert ladder_stats.epochs_to_fraction(history, 0.9) == 4 and ladder_stats.epochs_to_fraction(history, 0.5) == 2


# ---- a whole judgement on a simulated ladder ----------------------------------------------------------------

def _point(rng, y, accuracy, seed, curve, epochs=30) -> dict:
    (t, p), = _arm(rng, accuracy, y, 1)
    history = [{"epoch": e, "val_macro_f1": v} for e, v in enumerate(curve, 1)]
    entry = {"history": history, "best_epoch": int(np.argmax(curve)) + 1, "final_epoch": len(curve),
             "stopped_early": True, "config": {"epochs": epochs}}
    return {"seed": seed, "entry": entry, "predictions": {"best": (t, p, None)}}


def _ladder(gain_at_largest: float) -> Ladder:
    """Two rungs, 3 seeds: pretrained learns at once at both; random init never learns at the small rung and
    learns slowly at the large one; the gain is 0.5 at the small rung and `gain_at_largest` at the large."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 3000)
    rise = [min(0.9, 0.3 + 0.2 * e) for e in range(10)]
    slow = [min(0.8, 0.05 * e) for e in range(1, 25)]
    rungs = {100: {"everything": [_point(rng, y, 0.7, s, rise) for s in range(3)],
                   "random_init": [_point(rng, y, 0.2, s, [0.01] * 8) for s in range(3)]},
             1000: {"everything": [_point(rng, y, 0.9, s, rise) for s in range(3)],
                    "random_init": [_point(rng, y, 0.9 - gain_at_largest, s, slow) for s in range(3)]}}
    return Ladder(run="08_curves-sim", params={"dataset": "sim", "backbone": "efficientnet_lite0"}, rungs=rungs,
                  n_classes=5, n_boot=400)


def _claim(**kw) -> Claim:
    base = dict(id="t.x", paper="t", text="t", kind="order", metric="accuracy", notebook="08_curves",
                arms=("everything", "random_init"), margin=0.0, at="every", protocol_reason="r")
    return Claim(**{**base, **kw})


def test_a_simulated_ladder_gives_the_known_verdicts():
    big, none = _ladder(0.4), _ladder(0.0)
    order, = judge([_claim()], [big])
    assert order.word == "holds" and len(order.extra["rungs"]) == 2
    # the decisive rung is the one closest to losing: the smaller gain, at 1,000 images
    assert order.interval.estimate == pytest.approx(order.extra["rungs"][1]["estimate"])
    equivalent, = judge([_claim(kind="equivalence", at="largest", margin=0.05)], [none])
    assert equivalent.word == "equivalent" and abs(equivalent.interval.estimate) < 0.05
    differs, = judge([_claim(kind="equivalence", at="largest", margin=0.05)], [big])
    assert differs.word == "differs"
    fades, = judge([_claim(kind="trend", at="ends")], [big])            # 0.5 then 0.4: shrinks by about 0.1
    assert fades.interval.low > 0 and fades.word == "holds"
    grows, = judge([_claim(kind="trend", at="ends")], [_ladder(0.7)])  # 0.5 then 0.7: contradicted
    assert grows.word == "contradicted"
    # epochs: random init never learned at 100 images, so that rung is not judged and the claim cannot hold
    sooner, = judge([_claim(kind="epochs", measure="to_fraction", fraction=0.9, metric="f1_macro")], [big])
    rungs = sooner.extra["rungs"]
    assert "never learned" in rungs[0]["not_judged"] and not rungs[1]["not_judged"]
    assert rungs[1]["estimate"] > 0 and sooner.word == "inconclusive" and sooner.seeds_needed is None


def test_one_holm_family_over_every_rung_of_every_claim():
    ladder = _ladder(0.4)
    alone, = judge([_claim()], [ladder])
    together = judge([_claim(), _claim(id="t.y", kind="trend", at="ends")], [ladder])
    assert together[0].p_adjusted >= alone.p_adjusted
    rows = together[0].extra["rungs"] + together[1].extra["rungs"]
    assert sorted(r["p_adjusted"] for r in rows) == pytest.approx(sorted(stats.holm([r["p"] for r in rows])))


def test_a_claim_no_ladder_tests_is_listed_untested():
    v, = judge([_claim(when={"dataset": "fer2013"})], [_ladder(0.4)])
    assert v.word == "not testable here" and "no ladder" in v.note


# ---- the paper files -----------------------------------------------------------------------------------------

def test_a_ladder_claim_must_say_its_rungs_measure_and_margin():
    arms = {"08_curves": {"everything": "everything", "random_init": "r"}}
    with pytest.raises(RegistryError, match="key 'at'"):
        load([_claim(kind="trend", at="")], arms=arms)
    with pytest.raises(RegistryError, match="key 'at'"):
        load([_claim(kind="trend", at="every")], arms=arms)
    with pytest.raises(RegistryError, match="key 'measure'"):
        load([_claim(kind="epochs", measure="fastest")], arms=arms)
    with pytest.raises(RegistryError, match="key 'fraction'"):
        load([_claim(kind="epochs", measure="to_fraction")], arms=arms)
    with pytest.raises(RegistryError, match="key 'margin'"):
        load([_claim(kind="equivalence", at="largest", margin=0.0)], arms=arms)
    assert load([_claim(kind="equivalence", at="largest", margin=0.02)], arms=arms)[0]


def test_papers_005_and_006_are_ladder_claims_the_scorecard_leaves_alone():
    ids = {c.id for c in ladder_claims()}
    assert {c.paper for c in ladder_claims()} == {"005", "006"} and len(ids) == 9
    assert not ids & {c.id for c in scorecard_claims()}
    assert {c.kind for c in ladder_claims()} == {"order", "equivalence", "trend", "epochs"}
    # Kornblith's "minimal benefit" is about fine-grained data: judged on plants only, with a margin
    minimal = [c for c in ladder_claims() if c.kind == "equivalence"]
    assert [c.when for c in minimal] == [{"dataset": "plants"}] and minimal[0].margin > 0


# ---- the committed judgement ---------------------------------------------------------------------------------

needs_curves = pytest.mark.skipif(not (CURVES / "judgement.json").is_file(), reason="no committed judgement")


@needs_curves
def test_the_committed_judgement_is_what_the_records_give_and_names_two_commits():
    from studylib.report.judge import judge_render
    committed = json.loads((CURVES / "judgement.json").read_text())
    fresh = judge_render(CURVES)
    keys = ("id", "verdict", "estimate", "ci", "p_adjusted", "budget_limited", "flags", "seeds_needed")
    assert [{k: r[k] for k in keys} for r in fresh["metrics"]["claims"]] == \
           [{k: r[k] for k in keys} for r in committed["metrics"]["claims"]]
    assert committed["records_commit"] == fresh["records_commit"] and len(committed["records"]) == 32
    assert committed["git_commit"] != committed["records_commit"][0] and "dirty" not in committed["git_commit"]
    page = BeautifulSoup((CURVES / "judgement.html").read_text(encoding="utf-8"), "html.parser")
    assert committed["git_commit"][:12] in page.get_text() and committed["records_commit"][0][:12] in page.get_text()
    assert len(page.select("#claims tbody tr")) >= 9


@needs_curves
def test_the_new_papers_summaries_open_offline_in_chromium(browser):  # noqa: F811 (the fixture)
    from test_browser import page_problems
    for page in ("judgement.html", "papers/005.html", "papers/006.html"):
        assert page_problems(browser, CURVES / page) == [], page
    index = BeautifulSoup((CURVES / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert [a["href"] for a in index.select("#judgement ~ ul.summaries a.summary")] == ["papers/005.html",
                                                                                    "papers/006.html"]



def test_judge_refuses_a_folder_without_curves_records_naming_it(tmp_path, capsys):
    from studylib.cli import main
    (tmp_path / "results").mkdir()
    assert main(["judge", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "no records of notebook 08_curves" in err
    assert not (tmp_path / "judgement.json").exists()           # nothing half-written
    assert main(["judge", str(tmp_path / "absent")]) == 2


def test_every_verdict_word_has_one_colour_and_one_meaning():
    from studylib.report.tables import VERDICT_COLOURS, VERDICT_MEANINGS
    from studylib.study.verdicts import VERDICTS
    assert set(VERDICTS) == set(VERDICT_COLOURS) == set(VERDICT_MEANINGS)
    assert set(rules.GOOD_WORDS) | set(rules.BAD_WORDS) < set(VERDICTS)
