"""Two renders' verdicts side by side, claim by claim (`studylib diff RENDER_A RENDER_B`), and the regimes page
(`regimes.html`): every claim judged more than once in the committed renders, its verdicts side by side.

A render is a folder of records (`reports/cpu`, `reports/curves`); its claim rows are its scorecard's
(`results/06_scorecard.json`, `metrics.claims`), each read once by `Verdict.from_row`. A row's key is
(claim id, run): a claim judged on several runs (004 on FER2013 at 48 and 96 px) has a row per run. Each side
of a row carries its regime (input size, training images, epochs, the network: the run's record's
`params.backbone`, and what trains), its estimate, interval and verdict. A row *moved* when its verdict word
changed or its two intervals are disjoint; a claim in only one render is shown as such, and a render with
no scorecard (reports/curves) is said to have none, so every claim reads "only in" the other.

The rows are `report.diff_rows`'s, their markdown, JSON and HTML `report.diff_views`'s; this module holds the
regimes page, and every public name stays importable from here.
"""
from __future__ import annotations

import html
from pathlib import Path

from ..io import write_text
from ..study.task import proves_only_the_pipeline
from . import publish
from .diff_rows import Render, Row, Side, compare, moved, read_render
from .diff_views import html_table, json_rows, markdown, where_of
from .lighten import LINK

__all__ = ["Render", "Row", "Side", "compare", "html_table", "json_rows", "markdown", "moved", "read_render",
           "regime_groups", "regimes_page", "regimes_text", "write_regimes_page"]

REGIMES_PAGE = "regimes.html"
# The page links its folder's stylesheet (report.css, as every committed page but the index does: no inline
# stylesheet, tests/test_light_reports.py); the landing page's look (its body) as a style attribute.
PAGE_STYLE = ("font-family:-apple-system,'Segoe UI',Roboto,Arial,sans-serif;max-width:1300px;margin:2em auto;"
              "padding:0 1em;color:#222;line-height:1.4")


# ---- the regimes page ------------------------------------------------------------------------------------

def committed_renders(reports_dir: Path) -> list[Render]:
    """Every render folder in `reports_dir` that is committed (`publish.commits`: not the demo's or a smoke
    run's) and has a scorecard with claim rows, by folder name."""
    out = []
    for folder in sorted(p for p in Path(reports_dir).iterdir() if p.is_dir()) if Path(reports_dir).is_dir() else []:
        if not publish.commits(folder.name) or not (folder / "index.html").is_file():
            continue
        render = read_render(folder)
        if render.sides:
            out.append(render)
    return out


def regime_groups(renders: list[Render]) -> list[tuple[str, list[Side]]]:
    """(claim id, its sides) for each claim with more than one row across the renders (several runs in one
    render, or one in each of several) of which at least one was tested; claims in the renders' order."""
    groups: dict[str, list[Side]] = {}
    for render in renders:
        for s in render.sides:
            groups.setdefault(s.verdict.claim_id, []).append(s)
    return [(cid, sides) for cid, sides in groups.items()
            if len(sides) > 1 and any(s.verdict.interval is not None for s in sides)]


def regimes_text(renders: list[Render]) -> str:
    """The regimes page's rows as plain text, a line per side (what a closing note quotes)."""
    lines = []
    for cid, sides in regime_groups(renders):
        lines.append(f"{cid}: {sides[0].verdict.text}")
        first = sides[0]
        for s in sides:
            why = moved(first, s)
            lines.append(f"  {Path(s.render).name} · {s.verdict.run}: {s.regime_text()} | {s.figure_text()} | "
                         f"{s.verdict_text} | judged at {s.commit[:12] or '—'}"
                         + (f" | moved from {where_of(first)}: {why}" if why else ""))
    return "\n".join(lines) + "\n"


def regimes_page(out_dir) -> str | None:
    """The regimes page of the render in `out_dir` (None where it is the demo's or a smoke run's, or has no
    scorecard with claim rows): each claim judged more than once in the committed renders beside it, its
    verdict in each side by side, from which records (their commits)."""
    out_dir = Path(out_dir)
    if proves_only_the_pipeline(out_dir.name) or not read_render(out_dir).sides:
        return None
    renders = committed_renders(out_dir.parent)
    if not any(Path(r.folder).resolve() == out_dir.resolve() for r in renders):
        renders = sorted([*renders, read_render(out_dir)], key=lambda r: r.name)
    e = html.escape
    groups = regime_groups(renders)
    def named(r: Render) -> str:
        href = "index.html" if Path(r.folder).resolve() == out_dir.resolve() else f"../{r.name}/index.html"
        commits = ", ".join(sorted({s.commit[:12] for s in r.sides if s.commit})) or "—"
        return f"<a href='{e(href)}'>{e(r.name)}</a> (judged at {e(commits)})"
    names = ", ".join(named(r) for r in renders)
    parts = ["<h1>One claim, several regimes</h1>",
             "<nav style=\"margin:.4em 0 1em;color:#555\"><a href='index.html'>back to the index</a></nav>",
             f"<p class='source' style=\"color:#444\">Every claim judged more than once in the committed renders "
             f"({names}): on several runs of one render (a sensitivity rung beside the claim-bearing run) or in "
             "several renders. Each row is one scorecard row, read from its record; a row <b>moved</b> from the "
             "first when its verdict word changed or the two 95% intervals are disjoint. The same comparison "
             "between two renders: <code>studylib diff RENDER_A RENDER_B</code>.</p>"]
    if not groups:
        parts.append("<p class='none-yet'>No claim is judged more than once in the committed renders.</p>")
    for cid, sides in groups:
        parts.append(f"<h2 style=\"margin-top:1.6em\"><code class='claim-id'>{e(cid)}</code></h2>"
                     f"<p>{e(sides[0].verdict.text)}</p>"
                     + html_table(sides, out_dir))
    body = "\n".join(parts)
    return (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>Regimes: one claim, several regimes"
            f"</title>\n{LINK}\n</head><body>\n<main style=\"{PAGE_STYLE}\">\n{body}\n</main>\n</body></html>\n")


def write_regimes_page(out_dir) -> Path | None:
    """reports/<profile>/regimes.html (`regimes_page`): offline, its only link out of itself the folder's
    stylesheet, its records' pages and the renders' indexes; None (nothing written) where the render has no
    claim rows."""
    page = regimes_page(out_dir)
    return None if page is None else write_text(Path(out_dir) / REGIMES_PAGE, page)
