"""Answer first: a report page opens with the claims its run bears (the claim, our figure with its interval,
the verdict word and one line of why), then the cells that carry the answer, then the figures, then the
method and provenance, folded.

A notebook says which cell is which with cell tags (`ROLES`); nbconvert keeps the cells in order, so a page
is restructured after export (`answer_first`), both when a render writes it (`render.render_html`) and when
a committed page is rebuilt from its record without training anything (`rebuild`). The boxes read the
page's own record and, where the folder holds it, the scorecard's record of the same render: every figure
in a box is one of those records' numbers, never recomputed.
"""
from __future__ import annotations

import html
import json
import re
from pathlib import Path

from ..study.verdicts import Verdict
from .tables import VERDICT_COLOURS, claim_anchor, verdict_badge, verdict_word

__all__ = ["ANSWER_ID", "ROLES", "answer_first", "claim_box", "claim_boxes", "page_answer", "record_of", "roles_of"]

ANSWER_ID = "answer"          # the boxes' section: <section id="answer">, what the browser tests look for
INJECTED = "injected-parameters"   # papermill's cell after the parameters cell: in pages, not in notebooks
# The tags a notebook gives its cells. An untagged cell is a figure or table: it stays in order after the
# answer. The title cell keeps its H1; the rest of its text is method.
ROLES = ("header", "method", "answer")
SCORECARD = "06_scorecard.html"
CSS = """<style>
.studylib-top { font-family: var(--jp-content-font-family, sans-serif); padding: 0 20px; }
.studylib-answer { margin: 8px 0 18px; }
.studylib-claim { border-left: 6px solid #999; background: #fafafa; padding: 8px 12px; margin: 8px 0;
  font-size: 15px; line-height: 1.45; }
.studylib-claim .studylib-claim-text { font-size: 17px; font-weight: 600; }
.studylib-claim .studylib-claim-why { color: #444; font-size: 14px; }
.studylib-claim .studylib-claim-meta { color: #666; font-size: 13px; }
details.studylib-method, details.studylib-provenance { margin: 14px 0; border-top: 1px solid #ddd; padding-top: 6px; }
details.studylib-method > summary, details.studylib-provenance > summary { cursor: pointer; font-size: 15px; }
.studylib-nav { font-size: 14px; }
</style>"""


def roles_of(cells) -> list[str]:
    """Each cell's role from its tags (`ROLES`; "" for an untagged cell), the first cell being the title."""
    roles = []
    for i, cell in enumerate(cells):
        tags = cell.get("metadata", {}).get("tags", []) or []
        role = next((r for r in ROLES if r in tags), "")
        roles.append("title" if i == 0 else role)
    return roles


def _verdict(claim: Verdict | dict) -> Verdict:
    """A record's row read once as a verdict (`Verdict.from_row`)."""
    return claim if isinstance(claim, Verdict) else Verdict.from_row(claim)


def _figure(v: Verdict) -> str:
    """Our figure with its interval, and the paper's for a value claim."""
    iv = v.interval
    if iv is None:
        return "not measured here"
    interval = f" [{iv.low:.3f}, {iv.high:.3f}]"
    seeds = f"{iv.n} seed{'s' if iv.n != 1 else ''}"
    if v.kind == "order":
        a, b = (v.arms or ("A", "B"))[:2]
        labels = v.arm_labels or {}
        return (f"{html.escape(str(labels.get(a, a)))} − {html.escape(str(labels.get(b, b)))} = "
                f"<b>{iv.estimate:+.3f}</b>{interval} ({v.metric}, {seeds})")
    theirs = f"; the paper: {v.paper_value:.4f} ± {v.margin:g}" if v.paper_value is not None else ""
    return f"ours <b>{iv.estimate:.3f}</b>{interval} ({v.metric}, {seeds}){theirs}"


def why(claim: Verdict | dict) -> str:
    """One line of why: the budget flag, the resolvability, the stand-in (those that apply, in that order)."""
    v = _verdict(claim)
    parts = []
    if v.budget_limited:
        parts.append(f"budget-limited: {v.budget_limited}")
    if v.resolvable is False:
        half = v.interval.image_half_width if v.interval else None
        parts.append(f"the test set cannot resolve ±{v.margin or 0:g}"
                     + (f" (image noise alone ±{half:.3f})" if half is not None else ""))
    if v.seeds_needed:
        parts.append(f"about {v.seeds_needed} seeds would resolve it")
    if v.stand_in:
        parts.append(f"indicative: {v.stand_in}")
    if verdict_word(v.word) == "not testable here" and v.note:
        parts.append(v.note)
    return "; ".join(parts) or "the paper's own setting: a direct verdict"


def claim_box(claim: Verdict | dict, pooled: Verdict | dict | None = None, scorecard: str = "",
              scorecard_run: str = "") -> str:
    """One claim as a box: the claim in the paper's words, our figure, the verdict, why; `pooled`, the
    scorecard's verdict of the same claim (every seed), is the one shown first when there is one.
    scorecard_run: the run its scorecard row's anchor names (a claim judged on several runs)."""
    claim = _verdict(claim)
    pooled = _verdict(pooled) if pooled is not None else None
    scorecard_run = scorecard_run or claim.extra.get("scorecard_run", "")
    main = pooled or claim
    word = verdict_word(main.word)
    colour = VERDICT_COLOURS[word][0]
    badge = verdict_badge(main.word, main.indicative, bool(main.budget_limited))
    link = (f" · <a href='{scorecard}#{claim_anchor(claim.claim_id, scorecard_run)}'>its scorecard row</a>"
            if scorecard else "")
    lines = [f"<div class='studylib-claim-meta'>Paper {html.escape(claim.paper)} · "
             f"<code>{html.escape(claim.claim_id)}</code>{link}</div>",
             f"<div class='studylib-claim-text'>“{html.escape(claim.text)}”</div>",
             f"<div>{badge} {'over every seed' if pooled else 'this run'}: {_figure(main)}</div>"]
    if pooled:
        lines.append(f"<div class='studylib-claim-meta'>this seed alone: {_figure(claim)}, "
                     f"{html.escape(verdict_word(claim.word))}</div>")
    lines.append(f"<div class='studylib-claim-why'>Why: {html.escape(why(main))}.</div>")
    return (f"<div class='studylib-claim' data-verdict='{html.escape(word)}' style='border-left-color:{colour}'>"
            + "".join(lines) + "</div>")


def claim_boxes(record: dict, scorecard_record: dict | None = None, scorecard: str = "") -> str:
    """The answer section of a run's page: a box per claim of its record (with the scorecard's row of the
    same claim and run when given), or one line saying the run bears no claim."""
    pooled_all = [Verdict.from_row(r) for r in ((scorecard_record or {}).get("metrics", {}).get("claims") or [])]
    run_name = record.get("run_name") or record.get("experiment") or ""
    several = {v.claim_id for v in pooled_all if sum(o.claim_id == v.claim_id for o in pooled_all) > 1}
    boxes = []
    for claim in (Verdict.from_row(r) for r in record.get("claims") or []):
        pooled = next((v for v in pooled_all if v.claim_id == claim.claim_id and v.run == run_name), None)
        boxes.append(claim_box(claim, pooled, scorecard if pooled else "",
                               run_name if claim.claim_id in several else ""))
    if not boxes:
        what = html.escape(str(record.get("headline") or ""))
        boxes.append(f"<div class='studylib-claim'><div>This run bears no claim of the papers"
                     f"{': ' + what if what else ''}.</div></div>")
    return f"<section id='{ANSWER_ID}' class='studylib-answer'>{''.join(boxes)}</section>"


def _first_line(text: str, limit: int = 140) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def answer_first(page: str, roles: list[str], answer_html: str, stamp: str = "") -> str:
    """A page (nbconvert's HTML, one `div.jp-Cell` per cell in `roles`' order) restructured: the title (the
    header's title line, what this run tests, replaces the notebook's H1), the header's navigation,
    `answer_html`, the cells tagged "answer",
    the untagged cells, then the method folded (the title cell's other text, the cells tagged "method", the
    header's settings and "what this run changes") and the provenance and logs folded, with `stamp` (which
    commits the page and its records are of). A page already restructured is returned as it is."""
    from bs4 import BeautifulSoup
    if "header" not in roles:   # a page that reads records rather than training (the scorecard, a sweep)
        return page             # is laid out by its own cells
    soup = BeautifulSoup(page, "html.parser")
    main = soup.find("main")
    if main is None or soup.find(id=ANSWER_ID) is not None:
        return page
    cells = main.find_all("div", class_="jp-Cell", recursive=False)
    if len(cells) != len(roles):
        raise ValueError(f"the page has {len(cells)} cells and its notebook {len(roles)}: restructure the page "
                         "from the notebook that rendered it")
    by_role = {r: [c for c, role in zip(cells, roles) if role == r] for r in ("title", "header", "method", "answer", "")}
    head = soup.new_tag("div", attrs={"class": "jp-RenderedHTMLCommon studylib-top"})
    method = BeautifulSoup("<details class='studylib-method'><summary><b>Method</b></summary></details>",
                           "html.parser").details
    prov = BeautifulSoup("<details class='studylib-provenance'><summary><b>Provenance and logs</b>: data files, "
                         "weights, code, versions, every parameter</summary></details>", "html.parser").details
    title_cell = by_role["title"][0]
    h1 = title_cell.find("h1")
    rendered = title_cell.find(class_="jp-RenderedMarkdown") or title_cell
    intro = [el for el in rendered.find_all(recursive=False) if el is not h1]
    for cell in by_role["header"]:   # what this run changes first: the method's first line says it
        _split_header(cell, head, method, prov, h1)
    for el in intro:
        method.append(el.extract())
    for cell in by_role["method"]:
        method.append(cell.extract())
    first = method.find("li") or method.find("p")
    if first is not None:
        method.summary.append(f": {_first_line(first.get_text(' '))}")
    anchor = title_cell
    boxes = BeautifulSoup(f"<div class='jp-RenderedHTMLCommon studylib-top'>{CSS}{answer_html}</div>",
                          "html.parser").div
    for el in [head, boxes]:
        anchor.insert_after(el)
        anchor = el
    for cell in by_role["answer"]:
        anchor.insert_after(cell.extract())
        anchor = cell
    if stamp:
        prov.append(BeautifulSoup(f"<p class='studylib-stamp'>{html.escape(stamp)}</p>", "html.parser"))
    main.append(method)
    main.append(prov)
    return str(soup)


def _split_header(cell, head, method, prov, h1) -> None:
    """The header cell's output parted: its title line (what this run is: it becomes the page's H1), its
    navigation (kept at the top), its settings and "what this run changes" (method), its provenance and
    logs (folded)."""
    area = cell.find(class_="jp-RenderedMarkdown")
    if area is None:
        return
    for i, el in enumerate(list(area.find_all(recursive=False))):
        text = el.get_text(" ")
        if i == 0 and el.name == "p" and el.strong is not None and text.strip() == el.strong.get_text(" ").strip():
            if h1 is not None:   # the run's title says which paper this run tests; the notebook's may name two
                for child in list(h1.children):
                    if getattr(child, "name", None) != "a":   # nbconvert's anchor link stays
                        child.extract()
                h1.insert(0, el.strong.get_text())
            el.extract()
        elif el.name == "p" and el.find("a", href=re.compile(r"index\.html")) is not None:
            el["class"] = el.get("class", []) + ["studylib-nav"]
            head.append(el.extract())
        elif el.name == "details" or (el.name == "p" and "git commit" in text):
            prov.append(el.extract())
        else:
            method.append(el.extract())
    for log in cell.find_all("details", class_="studylib-log"):
        prov.append(log.extract())


# ---- a run's answer from the records of its render (`render` for a new page, `rebuild` for a committed one) ----

def record_of(results: Path, name: str) -> dict | None:
    """The record `<name>.json` in a results folder, or None."""
    path = Path(results) / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def page_answer(out: Path, record: dict) -> str:
    """The answer section of a run's page: its record's claims, with the scorecard's rows when the folder's
    scorecard record is of the same commit as the page's record (a stale one from another render is not
    read)."""
    if not record.get("claims") and "pretraining" in (record.get("metrics") or {}):
        return _curves_answer(out, record)
    card = record_of(out / "results", SCORECARD.removesuffix(".html"))
    same = card is not None and card.get("git_commit") == record.get("git_commit")
    page = SCORECARD if same and (out / SCORECARD).is_file() else ""
    return claim_boxes(record, card if same else None, page)


def _curves_answer(out: Path, record: dict) -> str:
    """A curves summary's answer (it tests no claim): the two answers' sentences for its dataset, read from
    the render's summary records (`curves_answer`), then its headline."""
    import html
    from . import curves_answer
    mine = curves_answer._dataset(record)
    boxes = [f"<div class='studylib-claim'><div class='studylib-claim-text'>{html.escape(title)}</div>"
             f"<div>{html.escape(per[mine])}</div></div>"
             for title, per in curves_answer.answer_sentences(out / "results") if mine in per]
    boxes.append(f"<div class='studylib-claim-meta'>No claim of the papers is tested here. "
                 f"{html.escape(str(record.get('headline') or ''))}</div>")
    return f"<section id='{ANSWER_ID}' class='studylib-answer'>{''.join(boxes)}</section>"
