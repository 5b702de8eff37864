"""`studylib diff RENDER_A RENDER_B` and the regimes page (report/diff.py): simulated renders with a known
answer (a claim whose verdict word changed, one whose intervals are disjoint, one that did not move, one only
in A, a render with no scorecard), then the committed renders where they are here."""
from __future__ import annotations

import json

import pytest
from bs4 import BeautifulSoup

from studylib import cli, paths
from studylib.report import diff
from studylib.report.tables import VERDICT_COLOURS

REGIME = "{px} px · 1,000 training images · epochs 3 (paper: 10) · trains A: head 5% (paper's net: 2%), B: all 100%"


def _row(cid, run, verdict, ci, px=48, kind="order", **extra):
    est = None if ci is None else (ci[0] + ci[1]) / 2
    return {"id": cid, "paper": cid[:3], "claim": f"claim {cid}", "kind": kind, "metric": "f1_macro",
            "paper_value": None, "margin": 0.0, "run": run, "arms": ["A", "B"], "n": 0 if ci is None else 5,
            "estimate": est, "ci": ci, "verdict": verdict, "regime": REGIME.format(px=px) if ci else "",
            "input_px": px if ci else None, "indicative": False, "budget_limited": "", **extra}


def _render(root, name, rows, commit, backbone="efficientnet_lite0", index=True):
    """reports/<name>: a scorecard record of these rows, each run's seed-0 record naming its backbone, and
    (index) an index.json and index.html as a render leaves them."""
    folder = root / name
    (folder / "results").mkdir(parents=True)
    (folder / "results" / "06_scorecard.json").write_text(json.dumps(
        {"git_commit": commit, "headline": "h", "metrics": {"claims": rows}}))
    for run in {r["run"] for r in rows if r["run"]}:
        (folder / "results" / f"{run}--seed0.json").write_text(json.dumps({"params": {"backbone": backbone}}))
    (folder / "06_scorecard.html").write_text("<html></html>")
    if index:
        (folder / "index.json").write_text(json.dumps({"profile": name, "title": name, "runs": [
            {"name": "06_scorecard", "run": "06_scorecard", "notebook": "06_scorecard", "status": "ok",
             "html": "06_scorecard.html"}]}))
        (folder / "index.html").write_text("<html></html>")
    return folder


A_ROWS = [_row("001.word", "r", "holds", [0.10, 0.30]),
          _row("001.disjoint", "r", "matches", [0.70, 0.72], kind="value"),
          _row("001.same", "r", "inconclusive", [0.10, 0.30]),
          _row("001.only_a", "r", "contradicted", [-0.3, -0.1]),
          _row("002.rung", "r48", "contradicted", [-0.15, -0.09]),
          _row("002.rung", "r96", "inconclusive", [-0.15, -0.01], px=96, sensitivity=True,
               budget_limited="cap-bound: B")]
B_ROWS = [_row("001.word", "r", "inconclusive", [-0.05, 0.20]),
          _row("001.disjoint", "r", "matches", [0.75, 0.78], kind="value"),
          _row("001.same", "r", "inconclusive", [0.20, 0.40]),
          _row("002.rung", "r48", "contradicted", [-0.20, -0.12]),
          _row("003.untested", "", "not testable here", None)]


@pytest.fixture()
def renders(tmp_path):
    root = tmp_path / "reports"
    a = _render(root, "cpu", A_ROWS, "a" * 40)
    b = _render(root, "gpu", B_ROWS, "b" * 40, backbone="resnet50", index=False)
    return a, b


def _by_key(rows):
    return {(r.claim_id, r.run): r for r in rows}


def test_moved_when_the_word_changed_or_the_intervals_are_disjoint_not_otherwise(renders):
    a, b = (diff.read_render(f) for f in renders)
    rows = _by_key(diff.compare(a, b))
    assert list(rows) == [("001.word", "r"), ("001.disjoint", "r"), ("001.same", "r"), ("001.only_a", "r"),
                          ("002.rung", "r48"), ("002.rung", "r96"), ("003.untested", "")]
    assert rows[("001.word", "r")].why == "verdict holds → inconclusive"            # intervals overlap
    assert rows[("001.disjoint", "r")].why == "intervals disjoint"                  # the same word
    assert not rows[("001.same", "r")].moved and rows[("001.same", "r")].why == ""
    assert not rows[("002.rung", "r48")].moved                                      # [-0.15,-0.09] meets [-0.20,-0.12]
    only = rows[("001.only_a", "r")]
    assert only.b is None and only.only_in() == str(renders[0]) and not only.moved
    assert rows[("002.rung", "r96")].only_in() == str(renders[0])
    assert rows[("003.untested", "")].only_in() == str(renders[1])


def test_each_side_carries_its_regime_figure_verdict_and_network(renders):
    a, b = (diff.read_render(f) for f in renders)
    left, right = _by_key(diff.compare(a, b))[("001.word", "r")].a, _by_key(diff.compare(a, b))[("001.word", "r")].b
    assert (left.input, left.data, left.epochs) == ("48 px", "1,000", "3 (paper: 10)")
    assert left.trains == "A: head 5% (paper's net: 2%), B: all 100%"
    assert (left.model, right.model) == ("efficientnet_lite0", "resnet50")   # from each run's seed-0 record
    assert left.figure_text() == "+0.200 [0.100, 0.300], n 5" and left.commit == "a" * 40
    rung = _by_key(diff.compare(a, b))[("002.rung", "r96")].a
    assert rung.verdict_text == "inconclusive · budget-limited" and rung.input == "96 px"


def test_markdown_and_json(renders):
    a, b = (diff.read_render(f) for f in renders)
    text = diff.markdown(a, b)
    lines = {line.split(" | ")[0].lstrip("| ") + "/" + line.split(" | ")[1]: line for line in text.splitlines()
             if line.startswith("| 00")}
    assert lines["001.word/r"].endswith("| **yes**: verdict holds → inconclusive |")
    assert lines["001.disjoint/r"].endswith("| **yes**: intervals disjoint |")
    assert lines["001.same/r"].endswith("| no |")
    only = lines["001.only_a/r"]
    assert only.endswith(f"| only in {renders[0]} |") and f"(not in {renders[1]})" in only
    assert "r96 (sensitivity rung)" in text and "**inconclusive · budget-limited**" in text
    assert "7 claim rows (claim id, run): 4 in both, 2 moved; 2 only in" in text
    data = diff.json_rows(a, b)
    got = {(r["id"], r["run"]): r for r in data["rows"]}
    assert got[("001.disjoint", "r")]["moved"] is True and got[("001.disjoint", "r")]["why"] == "intervals disjoint"
    assert got[("001.same", "r")]["moved"] is False and got[("001.only_a", "r")]["b"] is None
    assert got[("001.word", "r")]["a"]["ci"] == [0.10, 0.30] and got[("001.word", "r")]["b"]["model"] == "resnet50"
    json.dumps(data)   # JSON as it stands


def test_the_cli_prints_markdown_by_default_json_on_asking_and_refuses_a_missing_folder(renders, capsys, tmp_path):
    a, b = map(str, renders)
    assert cli.main(["diff", a, b]) == 0
    assert "| 001.word | r |" in capsys.readouterr().out
    assert cli.main(["diff", a, b, "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["rows"]) == 7
    assert cli.main(["diff", a, str(tmp_path / "nowhere")]) == 2
    assert "no such render folder" in capsys.readouterr().err


def test_a_render_without_a_scorecard_is_said_to_have_none_and_every_claim_is_only_in_the_other(renders, tmp_path):
    curves = tmp_path / "reports" / "curves"
    (curves / "results").mkdir(parents=True)
    (curves / "results" / "08_curves-x.json").write_text("{}")
    a, c = diff.read_render(renders[0]), diff.read_render(curves)
    assert not c.scorecard and c.sides == ()
    rows = diff.compare(a, c)
    assert len(rows) == len(A_ROWS) and all(r.only_in() == str(renders[0]) for r in rows)
    text = diff.markdown(a, c)
    assert text.startswith(f"{curves} has no scorecard (no claim rows): every claim below is only in {renders[0]}.")


def test_the_regimes_page_sets_each_claim_judged_more_than_once_side_by_side(renders):
    cpu, gpu = renders
    (gpu / "index.html").write_text("<html></html>")   # now a committed-looking render beside cpu
    path = diff.write_regimes_page(cpu)
    soup = BeautifulSoup(path.read_text(), "html.parser")
    groups = [h.get_text() for h in soup.select("h2")]
    # in both renders or on two runs; 003.untested (one row, not tested) and 001.only_a (one row) are not
    assert groups == ["001.word", "001.disjoint", "001.same", "002.rung"]
    tables = soup.select("table.sides")
    rung = [tr.get_text(" ", strip=True) for tr in tables[3].select("tr")[1:]]
    assert [r.split(" ")[0] for r in rung] == ["cpu", "cpu", "gpu"]
    assert "96 px" in rung[1] and "sensitivity rung" in rung[1] and "budget-limited: cap-bound: B" in rung[1]
    assert "resnet50" in rung[2] and "bbbbbbbbbbbb" in rung[2] and "aaaaaaaaaaaa" in rung[0]
    badge = tables[0].select(".verdict")
    assert [b.get_text() for b in badge] == ["holds", "inconclusive"]
    assert f"background:{VERDICT_COLOURS['holds'][0]}" in badge[0]["style"]
    moved = [p.get_text(" ", strip=True) for p in soup.select("p.moved")]
    assert moved[0] == "gpu 48 px against cpu 48 px: moved (verdict holds → inconclusive)."
    assert moved[1] == "gpu 48 px against cpu 48 px: moved (intervals disjoint)."
    assert moved[2] == "gpu 48 px against cpu 48 px: did not move (same verdict, intervals overlap)."
    assert moved[3].startswith("cpu 96 px against cpu 48 px: moved (verdict contradicted → inconclusive)")
    # every link resolves from the page's folder (its own files plainly, the sibling's through ../gpu/)
    hrefs = [a["href"] for a in soup.select("a")]
    assert "index.html" in hrefs and "../gpu/index.html" in hrefs
    for href in hrefs:
        assert (cpu / href.split("#")[0]).is_file(), href
    text = path.read_text()
    assert "<script" not in text and "http" not in text and '<link rel="stylesheet" href="report.css">' in text
    assert "<style" not in text   # the folder's stylesheet, as every committed page but the index


def test_no_regimes_page_without_claim_rows_nor_for_the_demo(tmp_path, renders):
    empty = tmp_path / "reports" / "curves"
    (empty / "results").mkdir(parents=True)
    assert diff.write_regimes_page(empty) is None and not (empty / "regimes.html").exists()
    demo = _render(tmp_path / "reports", "demo", A_ROWS, "c" * 40)
    assert diff.write_regimes_page(demo) is None


# ---- the committed renders ----------------------------------------------------------------------------------

CPU, CURVES = paths.REPORTS / "cpu", paths.REPORTS / "curves"


@pytest.mark.skipif(not (CPU / "results" / "06_scorecard.json").is_file() or not CURVES.is_dir(),
                    reason="the committed cpu and curves renders are not here")
def test_diff_of_the_committed_cpu_and_curves_renders():
    cpu, curves = diff.read_render(CPU), diff.read_render(CURVES)
    card = json.loads((CPU / "results" / "06_scorecard.json").read_text())["metrics"]["claims"]
    rows = diff.compare(cpu, curves)
    # the curves render has no scorecard of its own; its claim rows are the papers judged on its records
    # afterwards (`studylib judge`, judgement.json): claims over a ladder, which the cpu render has none of
    judged = json.loads((CURVES / "judgement.json").read_text())["metrics"]["claims"]
    assert curves.scorecard and len(rows) == len(card) + len(judged)
    assert [r.only_in() for r in rows] == [str(CPU)] * len(card) + [str(CURVES)] * len(judged)
    assert not any(r.moved for r in rows)


@pytest.mark.skipif(not (CPU / "results" / "06_scorecard.json").is_file(), reason="the cpu render is not here")
def test_the_committed_regimes_page_says_what_the_records_say():
    groups = dict(diff.regime_groups(diff.committed_renders(paths.REPORTS)))
    fer = groups["004.fer2013.a_beats_b"]
    assert [(s.input, s.verdict.run) for s in fer] == [("48 px", "05_partial_vs_full-fer2013"),
                                                        ("96 px", "05_partial_vs_full-fer2013-96px")]
    page = CPU / diff.REGIMES_PAGE
    if page.is_file():
        assert page.read_text(encoding="utf-8") == diff.regimes_page(CPU)
