"""The reproducibility summary per paper (`report.paper_summary`, reports/<profile>/papers/<id>.html): the
label on simulated verdict sets whose answer is known, then the pages built from the committed cpu records
(one per seed paper, each naming its claims, its compute and its commits) opened offline in chromium."""
from __future__ import annotations

import json
import shutil

import pytest
from bs4 import BeautifulSoup

from studylib import paths
from studylib.report import paper_summary
from studylib.report.paper_summary import NOT_RE, PARTIAL, RE, label
from studylib.study.verdict_types import Verdict
from test_browser import page_problems

CPU = paths.REPORTS / "cpu"
SEED_PAPERS = ("000", "001", "003", "004")


def _v(cid, word, indicative=False, estimate=0.7, **kw) -> Verdict:
    """A scorecard row read as the landing page reads it (`Verdict.from_row`)."""
    tested = word != "not testable here"
    row = {"id": cid, "paper": "p", "claim": f"the paper says {cid}", "kind": "value", "metric": "accuracy",
           "paper_value": 0.7, "margin": 0.02, "run": "r" if tested else "", "n": 5 if tested else 0,
           "estimate": estimate if tested else None, "ci": [estimate - 0.01, estimate + 0.01] if tested else None,
           "verdict": word + (" (indicative)" if indicative else ""), "indicative": indicative, "note": kw.pop("note", ""),
           **kw}
    return Verdict.from_row(row)


# ---- the label, on verdict sets with a known answer --------------------------------------------------------

def test_all_direct_holds_and_matches_is_re():
    word, reason = label([_v("a", "holds"), _v("b", "matches"), _v("c", "holds")])
    assert word == RE and reason.startswith("every testable claim (3)") and "2 hold, 1 matches" in reason


def test_a_direct_contradicted_or_differs_is_not_re_whatever_else_holds():
    assert label([_v("a", "holds"), _v("b", "contradicted")])[0] == NOT_RE
    word, reason = label([_v("a", "matches"), _v("b", "differs"), _v("c", "holds", indicative=True)])
    assert word == NOT_RE and "(b)" in reason and "1 differs" in reason


def test_only_indicative_verdicts_are_partial_even_when_they_all_hold_or_are_contradicted():
    word, reason = label([_v("a", "holds", indicative=True), _v("b", "matches", indicative=True)])
    assert word == PARTIAL and reason.startswith("2 of 2 tested claims rest on stand-ins")
    # a stand-in that contradicts the paper does not make it [¬Re]: the verdict is indicative
    assert label([_v("a", "contradicted", indicative=True)])[0] == PARTIAL


def test_a_direct_inconclusive_is_partial_and_says_which_and_whether_budget_limited():
    word, reason = label([_v("a", "holds"), _v("b", "inconclusive", budget_limited="B, the losing arm: cap-bound")])
    assert word == PARTIAL
    assert "1 claim tested directly is inconclusive (b), 1 of them budget-limited" in reason
    assert "1 tested directly holds or matches (a)" in reason


def test_untestable_claims_are_ignored_for_re_but_listed():
    untestable = _v("u", "not testable here", note="the paper does not describe it")
    word, reason = label([_v("a", "holds"), untestable])
    assert word == RE and reason.endswith("1 claim not testable here (u)")
    word, reason = label([untestable])          # nothing testable: not [Re] by default
    assert word == PARTIAL and reason.startswith("none of its 1 claim can be tested here")


def test_a_sensitivity_rung_does_not_move_the_label():
    rung = _v("a", "contradicted", sensitivity=True)
    assert label([_v("a", "holds"), rung])[0] == RE
    assert label([_v("a", "holds"), _v("a", "contradicted")])[0] == NOT_RE   # the same row counted: [¬Re]


# ---- the pages built from the committed cpu records ------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The cpu render's summaries written afresh into a copy of its folder (the committed folder untouched)."""
    out = tmp_path_factory.mktemp("reports") / "cpu"
    shutil.copytree(CPU, out, ignore=shutil.ignore_patterns("*.npz", "lr-search", "papers"))
    return out, paper_summary.write_summaries(out)


def _scorecard_rows() -> list[Verdict]:
    record = json.loads((CPU / "results" / "06_scorecard.json").read_text())
    return [Verdict.from_row(r) for r in record["metrics"]["claims"]]


def test_four_pages_one_per_seed_paper_each_naming_its_claims_and_label(built):
    out, written = built
    assert sorted(p.name for p in written) == [f"{p}.html" for p in SEED_PAPERS]
    rows = _scorecard_rows()
    for paper in SEED_PAPERS:
        page = out / "papers" / f"{paper}.html"
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        text = soup.get_text(" ", strip=True)
        mine = [v for v in rows if v.paper == paper]
        assert mine and all(v.claim_id in text and v.text in text for v in mine), paper
        assert not [v.claim_id for v in rows if v.paper != paper and v.claim_id in text], paper
        word, reason = label(mine)
        assert soup.select_one(".verdict-label").get_text(" ", strip=True) == f"Label: {word} . Why: {reason}."
        # every untestable claim is listed under what was hard, with its reason
        hard = soup.find(id="hard").find_next("ul").get_text(" ", strip=True)
        for v in mine:
            if v.word == "not testable here":
                assert v.claim_id in hard and v.note in hard, (paper, v.claim_id)
        # the verdict badges drawn for each row, in the scorecard's order
        assert len(soup.select("#results ~ table .verdict")) == len(mine)


def test_the_compute_is_the_records_wall_time_of_the_papers_runs_and_the_commits_are_named(built):
    out, _ = built
    rows = _scorecard_rows()
    records = [json.loads(p.read_text()) for p in (CPU / "results").glob("*.json")]
    for paper in SEED_PAPERS:
        runs = {v.run for v in rows if v.paper == paper and v.run}
        mine = [r for r in records if r.get("run_name") in runs and r.get("notebook") != "06_scorecard"]
        hours = sum(r["wall_time_s"] for r in mine) / 3600
        text = BeautifulSoup((out / "papers" / f"{paper}.html").read_text(), "html.parser").get_text(" ", strip=True)
        assert f"Compute: {hours:.2f} task-hours" in text and f"of the {len(mine)} records" in text, paper
        assert all(r["git_commit"][:12] in text for r in mine)
    card = json.loads((CPU / "results" / "06_scorecard.json").read_text())
    assert f"scorecard's code at commit {card['git_commit'][:12]}" in text


def _text(path) -> str:
    return " ".join(BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser").get_text().split())


def test_the_committed_pages_are_the_ones_the_records_give_and_the_landing_page_links_them(built):
    """The committed pages say what a fresh build from the committed records says (word for word: built
    outside the repository, a page links docs/METHOD.md by name only)."""
    out, _ = built
    for paper in SEED_PAPERS:
        assert _text(CPU / "papers" / f"{paper}.html") == _text(out / "papers" / f"{paper}.html"), paper
    index = BeautifulSoup((CPU / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert [a["href"] for a in index.select("ul.summaries a.summary")] == [f"papers/{p}.html" for p in SEED_PAPERS]


def test_each_committed_summary_opens_offline_in_chromium(browser):  # noqa: F811 (the fixture)
    for paper in SEED_PAPERS:
        path = CPU / "papers" / f"{paper}.html"
        assert page_problems(browser, path) == [], paper
        page = browser.new_context(offline=True).new_page()
        page.goto(path.resolve().as_uri(), wait_until="load")
        colours = page.evaluate("() => Array.from(document.querySelectorAll('#results ~ table .verdict'))"
                                ".map(b => getComputedStyle(b).backgroundColor)")
        assert colours and all(c != "rgba(0, 0, 0, 0)" for c in colours), paper   # the badges are coloured
        assert page.locator("h1").count() == 1 and page.locator("h1 .label").count() == 1
        page.context.close()
