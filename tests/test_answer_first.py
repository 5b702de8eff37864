"""Answer first: a run's page opens with the claims it bears (report/answer.py), a committed page is rebuilt
so from its record without training (report/rebuild.py), and a reader at 1366 x 900 px sees the verdict
of the landing page, an experiment page, the scorecard and the curves index without scrolling."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from studylib import paths
from studylib.report import answer, rebuild
from studylib.report.tables import VERDICT_COLOURS
from studylib.report.template import export_html

ORDER = {"id": "004.fer2013.a_beats_b", "paper": "004", "claim": "A beats B on FER2013 (macro F1)", "kind": "order",
         "metric": "f1_macro", "arms": ["A", "B"], "arm_labels": {"A": "A: last block", "B": "B: everything"},
         "estimate": -0.115, "ci": [-0.139, -0.090], "n": 1, "verdict": "contradicted (indicative)",
         "indicative": True, "stand_in": "efficientnet_lite0 stands in for resnet50", "margin": 0.0}
VALUE = {"id": "000.svm.f1_macro", "paper": "000", "claim": "features + SVM: macro F1 63.99%", "kind": "value",
         "metric": "f1_macro", "paper_value": 0.6399, "margin": 0.02, "estimate": 0.572, "ci": [0.418, 0.688],
         "n": 1, "verdict": "inconclusive", "resolvable": False, "image_half_width": 0.133}


def test_a_claim_box_says_the_claim_our_figure_the_verdict_and_why():
    box = BeautifulSoup(answer.claim_box(ORDER), "html.parser")
    text = " ".join(box.get_text().split())
    assert "“A beats B on FER2013 (macro F1)”" in text
    assert "A: last block − B: everything = -0.115 [-0.139, -0.090]" in text and "1 seed" in text
    assert box.div["data-verdict"] == "contradicted" and VERDICT_COLOURS["contradicted"][0] in str(box)
    assert "Why: indicative: efficientnet_lite0 stands in for resnet50." in text
    value = " ".join(BeautifulSoup(answer.claim_box(VALUE), "html.parser").get_text().split())
    assert "ours 0.572 [0.418, 0.688]" in value and "the paper: 0.6399 ± 0.02" in value
    assert "the test set cannot resolve ±0.02 (image noise alone ±0.133)" in value
    # the scorecard's row, over every seed, leads; this seed is said beside; the row is linked
    pooled = {**ORDER, "estimate": -0.117, "ci": [-0.147, -0.086], "n": 5}
    both = BeautifulSoup(answer.claim_box(ORDER, pooled, "06_scorecard.html"), "html.parser")
    said = " ".join(both.get_text().split())
    assert "over every seed: A: last block − B: everything = -0.117 [-0.147, -0.086]" in said
    assert "this seed alone: A: last block − B: everything = -0.115" in said
    assert both.a["href"] == "06_scorecard.html#claim-004-fer2013-a-beats-b"


def test_a_run_without_claims_says_so_and_a_pooled_row_is_matched_by_claim_and_run():
    section = answer.claim_boxes({"claims": [], "headline": "val acc 0.61"})
    assert "bears no claim of the papers: val acc 0.61" in section and f"id='{answer.ANSWER_ID}'" in section
    record = {"run_name": "05-fer", "claims": [ORDER]}
    card = {"metrics": {"claims": [{**ORDER, "run": "05-96px", "verdict": "inconclusive"},
                                   {**ORDER, "run": "05-fer", "verdict": "holds", "n": 5}]}}
    boxes = BeautifulSoup(answer.claim_boxes(record, card, "06_scorecard.html"), "html.parser")
    assert boxes.select_one(".studylib-claim")["data-verdict"] == "holds"   # its own run's row, not the rung's
    # one claim on two runs: the link names the run (tables.row_anchors)
    assert boxes.a["href"].endswith("#claim-004-fer2013-a-beats-b--05-fer")


def _cell(kind, source, tags=(), outputs=()):
    cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = list(tags)
    if outputs:
        cell.outputs = list(outputs)
    return cell


def _md_out(text):
    return nbformat.v4.new_output("display_data", {"text/markdown": text})


def _page() -> tuple[str, list[str]]:
    """A page as nbconvert writes it for a notebook with each role's cells."""
    header = ("**Paper 004: A vs B on fer2013**\n\n[index](index.html) · seeds: **0**\n\n**profile** `cpu`\n\n"
              "**What this run changes from the papers:**\n\n- 48 px input\n\n"
              "<details><summary>Provenance: data files</summary>git commit abc</details>")
    nb = nbformat.v4.new_notebook(cells=[
        _cell("md", "# 05 · Two papers in one notebook\n\nOne notebook, two papers."),
        _cell("code", "profile = 'demo'", ["parameters"]),
        _cell("code", "run.header()", ["header", "log"], [_md_out(header)]),
        _cell("md", "**How we run 004.** Each arm's rate on validation.", ["method"]),
        _cell("code", "plot()", [], [_md_out("THE-FIGURE")]),
        _cell("md", "**Claims vs our figures.**", ["answer"]),
        _cell("code", "claims_table()", ["answer"], [_md_out("THE-CLAIMS-TABLE")]),
    ])
    return export_html(nb), answer.roles_of(nb.cells)


def test_a_page_is_restructured_answer_first_with_method_and_provenance_folded():
    page, roles = _page()
    assert roles == ["title", "", "header", "method", "", "answer", "answer"]
    out = answer.answer_first(page, roles, answer.claim_boxes({"claims": [ORDER]}), stamp="of commit abc")
    soup = BeautifulSoup(out, "html.parser")
    assert soup.h1.get_text().startswith("Paper 004: A vs B on fer2013")   # what this run tests, not the notebook
    text = soup.get_text(" ")
    at = {k: text.index(k) for k in ("Paper 004: A vs B", "index", "A beats B on FER2013", "THE-CLAIMS-TABLE",
                                     "THE-FIGURE", "What this run changes", "How we run 004", "git commit abc")}
    assert list(at) == sorted(at, key=at.get), at                     # the order a reader meets them
    method, prov = soup.select_one("details.studylib-method"), soup.select_one("details.studylib-provenance")
    assert "How we run 004" in method.get_text() and "One notebook, two papers" in method.get_text()
    assert "48 px input" in method.get_text() and "48 px input" in method.summary.get_text()  # its first line
    assert "git commit abc" in prov.get_text() and "of commit abc" in prov.get_text()
    assert answer.answer_first(out, roles, "<section id='answer'></section>") == out   # once is enough
    assert answer.answer_first(page, ["title"] + [""] * 6, "<p>x</p>") == page          # no header: as it was
    with pytest.raises(ValueError, match="the page has 7 cells and its notebook 6"):
        answer.answer_first(page, roles[:-1], "<p>x</p>")


def test_a_committed_page_maps_onto_its_notebook_and_papermills_cell():
    roles = rebuild.notebook_roles("05_partial_vs_full", 18)   # the notebook's 17 cells and papermill's
    assert roles[:4] == ["title", "", "", ""] and roles[5] == "header" and roles.count("answer") == 3
    with pytest.raises(ValueError, match="render it again"):
        rebuild.notebook_roles("05_partial_vs_full", 12)


def test_cuts_are_paired_by_position_and_only_changed_ones_reworded():
    old = "cuts: [a]\nruns:\n  - {name: r1, cuts: [x, 'y (as the last render)']}\n  - {name: r2, cuts: [p]}\n"
    new = "cuts: [a]\nruns:\n  - {name: r1, cuts: [x, y]}\n  - {name: r2, cuts: [p, q]}\n"
    assert rebuild._cuts(old) == {"": ["a"], "r1": ["x", "y (as the last render)"], "r2": ["p"]}
    a, b = rebuild._cuts(old), rebuild._cuts(new)
    assert [dict(zip(a[k], b[k])) for k in ("r1",) if len(a[k]) == len(b[k])] == [{"x": "x", "y (as the last render)": "y"}]


COMMITTED = paths.REPORTS / "cpu"


def _boxes(page: Path) -> list[str]:
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    return [d["data-verdict"] for d in soup.select(f"#{answer.ANSWER_ID} .studylib-claim[data-verdict]")]


@pytest.mark.skipif(not (COMMITTED / "results").is_dir(), reason="no committed cpu render")
def test_every_committed_run_page_opens_with_its_scorecard_verdicts():
    """Each box's verdict is the committed scorecard's row of its claim and run: the rebuild read the
    records, it judged nothing."""
    card = json.loads((COMMITTED / "results" / "06_scorecard.json").read_text())["metrics"]["claims"]
    pages = [p for p in COMMITTED.glob("0[2-5]*--seed0.html")]
    assert len(pages) == 7
    for page in pages:
        record = json.loads((COMMITTED / "results" / f"{page.stem}.json").read_text())
        rows = [r for r in card if r.get("run") == record["run_name"]]
        # the scorecard's row where it judged the claim on this run; else (a claim it did not test) the record's
        want = [next((r for r in rows if r["id"] == c["id"]), c) for c in record["claims"]]
        assert _boxes(page) == [answer.verdict_word(r["verdict"]) for r in want], page.name
        assert "nothing was trained or judged again" in page.read_text(encoding="utf-8")


def test_a_rebuild_of_a_page_reads_the_record_and_writes_only_the_page(tmp_path):
    """A committed page as its render wrote it (before any rebuild) is rebuilt in a copy of its folder:
    the record is untouched, the page opens with its claims."""
    import subprocess
    name = "05_partial_vs_full-fer2013--seed0"
    old = subprocess.run(["git", "show", f"5b7f7b4:reports/cpu/{name}.html"], cwd=paths.ROOT, capture_output=True)
    if old.returncode != 0 or not (COMMITTED / "results" / f"{name}.json").is_file():
        pytest.skip("the render's own page or its record is not in this checkout")
    out = tmp_path / "cpu"
    (out / "results").mkdir(parents=True)
    for f in (f"{name}.json", "06_scorecard.json"):
        shutil.copy(COMMITTED / "results" / f, out / "results" / f)
    (out / f"{name}.html").write_bytes(old.stdout)
    (out / "06_scorecard.html").write_text("<html></html>")
    before = (out / "results" / f"{name}.json").read_bytes()
    assert rebuild.rebuild_folder(out, log=lambda *_: None) == [f"{name}.html"]
    assert (out / "results" / f"{name}.json").read_bytes() == before
    assert _boxes(out / f"{name}.html") == ["contradicted"]
    assert rebuild.rebuild_folder(out, log=lambda *_: None) == []   # already answer first


def test_a_demo_render_writes_its_pages_answer_first(demo_reports):
    out, code = demo_reports
    assert code == 0
    page = out / "05_partial_vs_full-fer2013.html"   # the demo lists one seed: its tasks are named without it
    record = json.loads((out / "results" / f"{page.stem}.json").read_text())
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    section = soup.find(id=answer.ANSWER_ID)
    assert section is not None and len(_boxes(page)) == len(record["claims"]) >= 1
    assert "Page and record of commit" in soup.select_one("details.studylib-provenance").get_text()
    assert soup.get_text().index("“A beats B") < soup.get_text().index("Method")


# ---- in the browser: the answer above the fold -----------------------------------------------------------

FOLD = 900
PAGES = {"cpu/index.html": "#answer p.plain", "cpu/05_partial_vs_full-fer2013--seed0.html": "#answer .verdict",
         "cpu/06_scorecard.html": "#answer p", "curves/index.html": "#answer img"}


@pytest.mark.parametrize("name", list(PAGES))
def test_the_answer_is_within_the_first_900_px_at_1366_px_wide(browser, name):
    path = paths.REPORTS / name
    if not path.is_file():
        pytest.skip(f"{name} is not committed here")
    ctx = browser.new_context(viewport={"width": 1366, "height": FOLD}, offline=True)
    page = ctx.new_page()
    page.goto(path.resolve().as_uri(), wait_until="load")
    box = page.locator(PAGES[name]).first.bounding_box()
    ctx.close()
    assert box is not None and box["height"] > 0, f"{name}: {PAGES[name]} not shown"
    assert box["y"] + min(box["height"], 60) < FOLD, f"{name}: the answer starts at y={box['y']:.0f}"
