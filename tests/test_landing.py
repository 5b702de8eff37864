"""The claim-first landing page (`index.html`): one row per claim grouped by paper, each with its verdict's
badge colour, our interval and n, flags and stand-in, and a link to its evidence on the scorecard; the
headline and forest plot above, the legend and the folded task table below, the sweep linked; and one
line saying why when there is no claim to show."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from studylib.report import landing
from studylib.report.index import write_index
from studylib.report.tables import VERDICT_COLOURS, VERDICT_MEANINGS, claim_anchor
from studylib.study.claims import PAPERS
from studylib.study.profile import load_profile
from test_browser import page_problems

SEED_000 = PAPERS["000"]["seed"]


def _row(cid, paper, kind, verdict, estimate=None, run="cnn", **kw) -> dict:
    """A scorecard claim row as notebook 06 records it (the keys the page and the forest plot read)."""
    tested = estimate is not None
    return {"id": cid, "paper": paper, "claim": f"the paper says {cid}", "kind": kind, "metric": "accuracy",
            "paper_value": 0.70 if kind == "value" else "A > B", "margin": 0.02 if kind == "value" else 0.0,
            "run": run if tested else "", "n": 2 if tested else 0, "estimate": estimate, "sd": 0.01 if tested else None,
            "ci": [estimate - 0.01, estimate + 0.01] if tested else None,
            "seeds": [estimate - 0.005, estimate + 0.005] if tested else [], "p_adjusted": 0.01 if kind == "order" else None,
            "verdict": verdict, "indicative": False, "budget_limited": "", "flags": {}, "stand_in": "", "note": "",
            "sentence": f"Ours {estimate}: {verdict}.", **kw}


ROWS = [
    _row("000.a", "000", "value", "matches", 0.70),
    _row("000.b", "000", "order", "holds", 0.05, stand_in="efficientnet_lite0 stands in for resnet50", indicative=True),
    _row("003.a", "003", "value", "differs", 0.60),
    _row("003.b", "003", "order", "contradicted", -0.04),
    _row("003.c", "003", "order", "inconclusive", 0.01, budget_limited="B, the losing arm: cap-bound",
         flags={"B": ["cap-bound"], "A": ["grid-edge: top of its grid"]}),
    _row("003.d", "003", "value", "not testable here", note="the paper does not describe it"),
    _row("003.e", "003", "value", "inconclusive", 0.71, run="cnn"),   # one claim judged on two runs
    _row("003.e", "003", "value", "matches", 0.70, run="pt"),
]


def _entry(name, run, notebook, status="ok", node="vm") -> dict:
    return {"name": name, "run": run, "seed": 0, "grid": {}, "notebook": notebook, "status": status, "error": "",
            "start": 0.0, "end": 60.0, "wall_s": 60.0, "node": node, "headline": f"{name} done",
            "html": f"{name}.html", "log": f"logs/{name}.log"}


def _prof(tmp_path, name="study", card=True):
    runs = [{"name": "cnn", "notebook": "03_cnn_from_scratch"}] + (
        [{"name": "card", "notebook": "06_scorecard"}] if card else [])
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"profile": name, "title": f"The {name} profile", "data_dir": str(tmp_path),
                                    "seeds": [0, 1], "cuts": ["3 epochs instead of 10"], "runs": runs}))
    return load_profile(str(path))


ENTRIES = [_entry("cnn--seed0", "cnn", "03_cnn_from_scratch"), _entry("cnn--seed1", "cnn", "03_cnn_from_scratch"),
           _entry("card", "card", "06_scorecard")]


@pytest.fixture()
def reports(tmp_path, monkeypatch):
    """A reports folder: this profile's render (two seeds and a scorecard record of ROWS), a sibling sweep
    render, and the papers' seed texts beside it (paper 000's only)."""
    root = tmp_path / "reports"
    seeds = tmp_path / "shared" / "seeds"
    seeds.mkdir(parents=True)
    (seeds / SEED_000).write_text("the paper")
    monkeypatch.setattr(landing, "SEEDS", seeds)
    (root / "sweep-003").mkdir(parents=True)
    (root / "sweep-003" / "index.html").write_text("<html></html>")
    (root / "sweep-003" / "index.json").write_text(json.dumps({"title": "Sweep of 003's CNN"}))
    out = root / "study"
    (out / "results").mkdir(parents=True)
    (out / "results" / "card.json").write_text(json.dumps({
        "headline": "8 paper claims in 8 rows: the headline.", "git_commit": "abc1234def5678",
        "metrics": {"claims": ROWS}}))
    write_index(out, _prof(tmp_path), ENTRIES)
    return out


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(), "html.parser")


def _claim_rows(soup):
    """(paper heading, claim row) for each row of the claim table, in order."""
    out, heading = [], None
    for tr in soup.select("#claims tbody tr"):
        if "gt_group_heading_row" in (tr.get("class") or []):
            heading = tr.get_text(" ", strip=True)
        else:
            out.append((heading, tr))
    return out


def test_one_row_per_claim_grouped_by_paper_with_its_badge_and_evidence(reports):
    soup = _soup(reports / "index.html")
    rows = _claim_rows(soup)
    assert [tr.select_one("code.claim-id").get_text() for _, tr in rows] == [r["id"] for r in ROWS]
    for (heading, tr), r in zip(rows, ROWS):
        ref = PAPERS[r["paper"]]
        assert heading.startswith(r["paper"]) and ref["title"] in heading and ref.get("authors", "") in heading
        cell = tr.select_one(".verdict-cell")
        assert cell["data-verdict"] == r["verdict"]
        bg, fg = VERDICT_COLOURS[r["verdict"]]
        assert f"background:{bg};color:{fg}" in cell.select_one(".verdict")["style"]
        several = sum(x["id"] == r["id"] for x in ROWS) > 1
        anchor = claim_anchor(r["id"], r["run"]) if several else claim_anchor(r["id"])
        assert tr.select_one("a.evidence")["href"] == f"card.html#{anchor}"
        if r["estimate"] is not None:
            assert f"n={r['n']}" in tr.get_text() and f"[{r['ci'][0]:.3f}, {r['ci'][1]:.3f}]" in tr.get_text()
    text = {r["id"] + r.get("run", ""): tr.get_text(" ", strip=True) for r, (_, tr) in zip(ROWS, rows)}
    assert "0.7000 ± 0.02" in text["000.acnn"] and "stand-in: efficientnet_lite0" in text["000.bcnn"]
    assert "budget-limited" in text["003.ccnn"] and "grid-edge" in text["003.ccnn"]
    assert text["003.ccnn"].count("cap-bound") == 1  # the losing arm's flag said once, as the budget limit
    assert "why: the paper does not describe it" in text["003.d"] and "on run pt" in text["003.ept"]
    # the paper's seed text, named where it is there (000), not where it is not (003)
    seeds = [s["title"] for s in soup.select("#claims span.seed")]   # named, not linked: ../shared is not in a clone
    assert seeds == [f"../../shared/seeds/{SEED_000}"] and not soup.select("#claims a.seed")


def test_headline_forest_plot_legend_and_navigation_above_the_folded_tasks(reports):
    soup = _soup(reports / "index.html")
    body = str(soup.body)
    assert soup.select_one(".headline").get_text() == "8 paper claims in 8 rows: the headline."
    assert "abc1234def56" in soup.select_one(".source").get_text()
    img = soup.select_one("img.forest")
    assert img and img["src"].startswith(("data:image/png;base64,", "data:image/webp;base64,")) and len(img["src"]) > 2000
    assert [a["href"] for a in soup.select("nav a.sibling")] == ["../sweep-003/index.html"]
    assert "Sweep of 003's CNN" in soup.select_one("nav").get_text()
    legend = soup.select_one("details.margins ul.legend").get_text()   # the words in full, folded under the table
    assert all(word in legend and meaning in legend for word, meaning in VERDICT_MEANINGS.items())
    # the answer first: the plain sentence, with the short legend beside it, before the forest plot and table
    answer = soup.select_one("section#answer")
    assert answer.select_one("p.plain").get_text().startswith("Of ")
    assert all(word in answer.select_one("aside ul.legend").get_text() for word in VERDICT_MEANINGS)
    assert body.index('id="answer"') < body.index("class=\"forest\"") < body.index('id="claims"')
    assert "paper ± margin" in body and "3 epochs instead of 10" in body  # margins said; the profile's cuts kept
    tasks = soup.select_one("details.tasks")
    assert not tasks.has_attr("open") and body.index("id=\"claims\"") < body.index("class=\"tasks\"")
    # one page per run is committed: seed 1's is named, not linked, its record linked instead
    assert [a["href"] for a in tasks.select("td a") if a["href"].endswith(".html")] == ["cnn--seed0.html", "card.html"]
    assert "cnn--seed1" in tasks.get_text() and "kept where the run ran" in tasks.get_text()
    assert "logs/" not in str(tasks.select("a"))  # the logs are not committed either
    assert "node" not in [th.get_text() for th in tasks.select("th")]  # every task ran on one node


def test_the_node_column_shows_only_when_tasks_ran_on_several_nodes(tmp_path):
    entries = [_entry("cnn--seed0", "cnn", "03_cnn_from_scratch", node="a"),
               _entry("cnn--seed1", "cnn", "03_cnn_from_scratch", node="b")]
    soup = BeautifulSoup(write_index(tmp_path, _prof(tmp_path), entries, pending=["card"]).read_text(), "html.parser")
    assert "node" in [th.get_text() for th in soup.select("details.tasks th")]
    assert [td.get_text() for td in soup.select("details.tasks tr.pending td")][:2] == ["card", "not run yet"]


@pytest.mark.parametrize("case, expected", [
    ("pending", "No scorecard yet: the render is in progress (2 of 3 tasks done)"),
    ("failed", "The scorecard did not finish (failed)"),
    ("none", "This profile has no scorecard"),
])
def test_no_scorecard_says_so_in_one_line_and_shows_the_tasks(tmp_path, case, expected):
    entries = ENTRIES[:2] + ([_entry("card", "card", "06_scorecard", status="failed")] if case == "failed" else [])
    page = write_index(tmp_path, _prof(tmp_path, card=case != "none"), entries,
                       pending=["card"] if case == "pending" else []).read_text()
    soup = BeautifulSoup(page, "html.parser")
    assert len(soup.select("p.none-yet")) == 1 and soup.select_one("p.none-yet").get_text().startswith(expected)
    assert not soup.select("#claims") and not soup.select("img.forest")
    assert soup.select_one("details.tasks").has_attr("open")  # nothing above it: the tasks are shown


def test_the_demo_says_demo_and_that_its_scorecard_judges_nothing(tmp_path):
    prof = load_profile("demo", data_dir=tmp_path)
    card = next(t for t in prof.tasks if t.notebook == "06_scorecard")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / f"{card.name}.json").write_text(json.dumps({"headline": "nothing", "metrics": {
        "claims": [_row("003.a", "003", "value", "not testable here")] * 3}}))
    page = write_index(tmp_path, prof, [_entry(card.name, card.run, "06_scorecard")]).read_text()
    soup = BeautifulSoup(page, "html.parser")
    assert soup.select_one("h1").get_text().startswith("DEMO") and soup.select_one(".banner").get_text().startswith("DEMO")
    assert "all 3 of its claims read “not testable here”" in soup.select_one("p.none-yet").get_text()
    assert not soup.select("#claims")


def _rgb(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return "rgb({}, {}, {})".format(*(int(h[i:i + 2], 16) for i in (0, 2, 4)))


def test_the_landing_page_in_chromium(browser, reports):  # noqa: F811 (the fixture)
    """As a reader sees it: one row per claim with the right verdict badge (its colour as drawn), the plot
    loaded, and nothing a reader would trip on (page_problems)."""
    assert page_problems(browser, reports / "index.html") == []
    page = browser.new_context(offline=True).new_page()
    page.goto((reports / "index.html").as_uri())
    seen = page.evaluate("""() => Array.from(document.querySelectorAll('#claims tbody tr:not(.gt_group_heading_row)'))
        .map(tr => { const b = tr.querySelector('.verdict');
                     return [tr.querySelector('code.claim-id').textContent, b.textContent,
                             getComputedStyle(b).backgroundColor]; })""")
    assert [s[0] for s in seen] == [r["id"] for r in ROWS]
    for (_, text, colour), r in zip(seen, ROWS):
        assert text.startswith(r["verdict"]) and colour == _rgb(VERDICT_COLOURS[r["verdict"]][0]), (text, colour)
    assert page.evaluate("() => document.querySelector('img.forest').naturalWidth") > 200
    assert not page.locator("details.tasks table").is_visible()  # folded until the reader opens it
    page.locator("details.tasks > summary").click()
    assert page.locator("details.tasks table").is_visible()
    page.context.close()


def test_the_plain_sentence_counts_claims_as_the_papers_state_them():
    """Direct verdicts apart from stand-ins, a sensitivity rung not counted, untestable claims said last; a
    claim that holds only with a stand-in is not one that holds as its paper states it."""
    from studylib.report.tables import plain_summary
    rows = [{"verdict": "holds"}, {"verdict": "matches"}, {"verdict": "contradicted"},
            {"verdict": "holds", "indicative": True}, {"verdict": "inconclusive (indicative)", "indicative": True},
            {"verdict": "not testable here"}, {"verdict": "holds", "sensitivity": True}]
    assert plain_summary(rows) == (
        "Of 6 claims, 2 hold as the papers state them, on the papers' own network and data; 3 were tested so: "
        "1 holds, 1 matches, 1 is contradicted; 2 rest on stand-ins (another network or dataset, so the verdict "
        "is indicative): 1 holds, 1 is inconclusive; 1 cannot be tested here.")
    assert plain_summary([{"verdict": "holds", "indicative": True}]).startswith("Of 1 claims, none hold")
    # a scorecard frame's rows: NaN where a row lacks a key is "no", not "yes"
    assert plain_summary([{"verdict": "holds", "sensitivity": float("nan")}]).startswith("Of 1 claims, 1 holds")
