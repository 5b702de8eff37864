"""Two renders' comparison rows (`report.diff_rows`) shown: as markdown and as one JSON object (what
`studylib diff RENDER_A RENDER_B` prints), and one claim's sides as an HTML table (the regimes page's,
`report.diff`). A claim in only one render is shown as such, and a render with no scorecard (reports/curves)
is said to have none, so every claim reads "only in" the other.
"""
from __future__ import annotations

import html
from pathlib import Path

from .diff_rows import Render, Row, Side, compare, moved
from .tables import verdict_badge

__all__ = ["html_table", "json_rows", "markdown", "where_of"]


def _no_scorecard(render: Render, other: Render) -> str:
    return (f"{render.folder} has no scorecard (no claim rows): every claim below is only in {other.folder}."
            if not render.scorecard else "")


def _headline(a: Render, b: Render, rows: list[Row]) -> list[str]:
    notes = [n for n in (_no_scorecard(a, b), _no_scorecard(b, a)) if n]
    if not a.scorecard and not b.scorecard:
        notes = [f"Neither {a.folder} nor {b.folder} has a scorecard: no claim to compare."]
    both = sum(r.a is not None and r.b is not None for r in rows)
    only = {x.folder: sum(r.only_in() == x.folder for r in rows) for x in (a, b)}
    commits = {x.folder: sorted({s.commit[:12] for s in x.sides if s.commit}) for x in (a, b)}
    judged = "; ".join(f"{f} judged at {', '.join(c)}" for f, c in commits.items() if c)
    notes.append(f"{len(rows)} claim rows (claim id, run): {both} in both, {sum(r.moved for r in rows)} moved; "
                 + ", ".join(f"{n} only in {f}" for f, n in only.items())
                 + (f". Records: {judged}." if judged else "."))
    return notes


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_side(s: Side | None, render: str) -> tuple[str, str]:
    if s is None:
        return "—", f"(not in {render})"
    return _md(s.regime_text()), f"**{_md(s.verdict_text)}**: {_md(s.figure_text())}"


def markdown(a: Render, b: Render, rows: list[Row] | None = None) -> str:
    """The comparison as markdown: a line or two saying what each render holds, then one table row per
    (claim id, run): each side's regime and verdict with estimate and interval, and whether it moved."""
    rows = compare(a, b) if rows is None else rows
    lines = [*_headline(a, b, rows), "",
             f"| claim | run | regime in {a.folder} | {a.folder} | regime in {b.folder} | {b.folder} | moved |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        ra, va = _md_side(r.a, a.folder)
        rb, vb = _md_side(r.b, b.folder)
        state = f"only in {r.only_in()}" if r.only_in() else (f"**yes**: {r.why}" if r.moved else "no")
        rung = " (sensitivity rung)" if any(s is not None and s.verdict.sensitivity for s in (r.a, r.b)) else ""
        lines.append(f"| {_md(r.claim_id)} | {_md(r.run) or '—'}{rung} | {ra} | {va} | {rb} | {vb} | {state} |")
    return "\n".join(lines) + "\n"


def json_rows(a: Render, b: Render, rows: list[Row] | None = None) -> dict:
    """The comparison as one JSON-ready object: each render (folder, whether it has a scorecard) and the rows,
    each with both sides (null where absent), `moved`, `why` and `only_in`."""
    rows = compare(a, b) if rows is None else rows
    return {"a": {"folder": a.folder, "scorecard": a.scorecard}, "b": {"folder": b.folder, "scorecard": b.scorecard},
            "notes": _headline(a, b, rows),
            "rows": [{"id": r.claim_id, "run": r.run, "a": r.a.as_dict() if r.a else None,
                      "b": r.b.as_dict() if r.b else None, "moved": r.moved, "why": r.why,
                      "only_in": r.only_in() or None} for r in rows]}


# ---- HTML ------------------------------------------------------------------------------------------------

# No inline stylesheet (the page links its folder's report.css, tests/test_light_reports.py): the landing
# page's look of its tables as style attributes.
TABLE_STYLE = "border-collapse:collapse;margin:.4em 0 .6em;font-size:14px;width:100%"
CELL_STYLE = "padding:4px 10px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top"
SMALL_STYLE = "color:#555"


def _href(side: Side, page_dir: Path | None, target: str) -> str:
    """The link from a page in `page_dir` to a file of the side's render (relative; a sibling's through ../)."""
    folder = Path(side.render)
    if page_dir is not None and folder.resolve() == Path(page_dir).resolve():
        return target
    return f"../{folder.name}/{target}"


def _html_side(s: Side, page_dir: Path | None) -> str:
    e = html.escape
    v = s.verdict
    td = f"<td style=\"{CELL_STYLE}\">"
    small = f"<small style=\"{SMALL_STYLE}\">"
    badge = verdict_badge(v.word, v.indicative, bool(v.budget_limited))
    evidence = (f" · <a class='evidence' href='{e(_href(s, page_dir, s.page))}#{e(s.anchor)}'>evidence</a>"
                if s.page and s.anchor else "")
    rung = " (sensitivity rung)" if v.sensitivity else ""
    limited = f"<br>{small}budget-limited: {e(v.budget_limited)}</small>" if v.budget_limited else ""
    trains = f"<br>{small}trains {e(s.trains)}</small>" if s.trains else ""
    return (f"{td}<a class='render' href='{e(_href(s, page_dir, 'index.html'))}'>{e(Path(s.render).name)}</a>"
            f"<br>{small}run {e(v.run or '—')}{rung}</small></td>{td}{e(s.input or '—')}</td>"
            f"{td}{e(s.data or '—')}</td>{td}{e(s.epochs or '—')}</td>{td}{e(s.model or '—')}{trains}</td>"
            f"<td class='est' style=\"{CELL_STYLE};white-space:nowrap\">{e(s.figure_text())}</td>"
            f"{td}{badge}{evidence}{limited}</td>{td}<code>{e(s.commit[:12] or '—')}</code></td>")


COLUMNS = ("render · run", "input", "training images", "epochs", "network", "estimate [95% interval], n",
           "verdict", "judged at")


def html_table(sides: list[Side], page_dir: Path | None = None) -> str:
    """Sides of one claim as an HTML table, a row each, and under it whether each moved from the first."""
    rows = "".join(f"<tr>{_html_side(s, page_dir)}</tr>" for s in sides)
    first = sides[0] if sides else None
    moves = [(s, moved(first, s)) for s in sides[1:]]
    said = "; ".join(f"{html.escape(where_of(s))} against {html.escape(where_of(first))}: "
                     + (f"<b>moved</b> ({html.escape(w)})" if w else "did not move (same verdict, intervals overlap)")
                     for s, w in moves)
    head = "".join(f"<th style=\"{CELL_STYLE};background:#f3f3f3\">{html.escape(c)}</th>" for c in COLUMNS)
    return (f"<table class='sides' style=\"{TABLE_STYLE}\"><tr>{head}</tr>{rows}</table>"
            + (f"<p class='moved'>{said}.</p>" if said else ""))


def where_of(s: Side) -> str:
    return f"{Path(s.render).name} {s.input or s.verdict.run}".strip()
