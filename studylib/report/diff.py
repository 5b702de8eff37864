"""Two renders' verdicts side by side, claim by claim (`studylib diff RENDER_A RENDER_B`), and the regimes page
(`regimes.html`): every claim judged more than once in the committed renders, its verdicts side by side.

A render is a folder of records (`reports/cpu`, `reports/curves`); its claim rows are its scorecard's
(`results/06_scorecard.json`, `metrics.claims`), each read once by `Verdict.from_row`. A row's key is
(claim id, run): a claim judged on several runs (004 on FER2013 at 48 and 96 px) has a row per run. Each side
of a row carries its regime (input size, training images, epochs, the network: the run's record's
`params.backbone`, and what trains), its estimate, interval and verdict. A row *moved* when its verdict word
changed or its two intervals are disjoint; a claim in only one render is shown as such, and a render with
no scorecard (reports/curves) is said to have none, so every claim reads "only in" the other.
"""
from __future__ import annotations

import dataclasses
import html
import json
from pathlib import Path

from ..io import write_text
from ..study.task import proves_only_the_pipeline
from ..study.verdict_types import Verdict
from . import landing, publish
from .lighten import LINK
from .tables import fmt_ci, row_anchors, verdict_badge, verdict_word

__all__ = ["Render", "Row", "Side", "compare", "html_table", "json_rows", "markdown", "read_render",
           "regime_groups", "regimes_page", "regimes_text", "write_regimes_page"]

REGIMES_PAGE = "regimes.html"


@dataclasses.dataclass(frozen=True)
class Side:
    """One claim row of one render: the verdict (read by `Verdict.from_row`), where it sits and in what regime."""
    render: str                 # the render's folder as given ("reports/cpu")
    verdict: Verdict
    model: str = ""             # the run's network (its record's params.backbone), "" when it names none
    commit: str = ""            # the commit that judged it (the scorecard record's git_commit)
    page: str = ""              # the scorecard's page, relative to the render's folder
    anchor: str = ""            # the row's id on that page

    def _part(self, test) -> str:
        return next((p for p in (x.strip() for x in self.verdict.regime.split(" · ")) if test(p)), "")

    @property
    def input(self) -> str:
        v = self.verdict
        return f"{int(v.input_px)} px" if v.input_px else self._part(lambda p: p.endswith(" px"))

    @property
    def data(self) -> str:
        return self._part(lambda p: p.endswith("training images")).removesuffix(" training images")

    @property
    def epochs(self) -> str:
        part = self._part(lambda p: p.startswith(("epochs ", "no epochs")))
        return part.removeprefix("epochs ")

    @property
    def trains(self) -> str:
        return self._part(lambda p: p.startswith("trains ")).removeprefix("trains ")

    @property
    def word(self) -> str:
        """The verdict word alone ("contradicted"), what `moved` compares."""
        return verdict_word(self.verdict.word)

    @property
    def verdict_text(self) -> str:
        """The verdict as the landing page words it: the word, "(indicative)", "· budget-limited"."""
        v = self.verdict
        return (self.word + (" (indicative)" if v.indicative else "")
                + (" · budget-limited" if v.budget_limited else ""))

    def regime_text(self) -> str:
        """The regime in one line: "48 px · 10,000 training images · epochs 30 (paper: names none) ·
        efficientnet_lite0, trains A: … 30%, B: … 100%"; "—" for a claim not tested."""
        net = ", ".join(x for x in (self.model, f"trains {self.trains}" if self.trains else "") if x)
        parts = [self.input, f"{self.data} training images" if self.data else "",
                 f"epochs {self.epochs}" if self.epochs and self.epochs[0].isdigit() else self.epochs, net]
        return " · ".join(p for p in parts if p) or "—"

    def figure_text(self) -> str:
        """"-0.117 [-0.147, -0.086], n 5"; "—" for a claim not tested."""
        iv = self.verdict.interval
        if iv is None:
            return "—"
        sign = "+" if self.verdict.kind == "order" else ""
        return f"{iv.estimate:{sign}.3f} {fmt_ci([iv.low, iv.high])}, n {iv.n}"

    def as_dict(self) -> dict:
        v, iv = self.verdict, self.verdict.interval
        return {"render": self.render, "commit": self.commit, "verdict": self.verdict_text, "word": self.word,
                "indicative": v.indicative, "budget_limited": v.budget_limited, "kind": v.kind, "metric": v.metric,
                "estimate": iv.estimate if iv else None, "ci": [iv.low, iv.high] if iv else None,
                "n": iv.n if iv else 0, "regime": v.regime, "input_px": v.input_px, "input": self.input,
                "training_images": self.data, "epochs": self.epochs, "model": self.model, "trains": self.trains,
                "sensitivity": bool(v.sensitivity), "stand_in": v.stand_in}


def _disjoint(a: Side, b: Side) -> bool:
    x, y = a.verdict.interval, b.verdict.interval
    return x is not None and y is not None and (x.high < y.low or y.high < x.low)


def moved(a: Side | None, b: Side | None) -> str:
    """Why a row moved, in words ("" when it did not): its verdict word changed, or its intervals are disjoint
    (both can hold); a claim in one render only is not said to move (the row says "only in")."""
    if a is None or b is None:
        return ""
    why = [f"verdict {a.word} → {b.word}"] if a.word != b.word else []
    if _disjoint(a, b):
        why.append("intervals disjoint")
    return "; ".join(why)


@dataclasses.dataclass(frozen=True)
class Row:
    """One (claim id, run) of either render: each side (None where the render has no such row) and whether,
    and why, it moved."""
    claim_id: str
    run: str
    a: Side | None
    b: Side | None

    @property
    def why(self) -> str:
        return moved(self.a, self.b)

    @property
    def moved(self) -> bool:
        return bool(self.why)

    def only_in(self) -> str:
        """The render this row is in alone ("" when in both)."""
        return self.a.render if self.b is None else self.b.render if self.a is None else ""


@dataclasses.dataclass(frozen=True)
class Render:
    """A render folder's claim rows (empty where it has no scorecard: `scorecard` False)."""
    folder: str
    sides: tuple[Side, ...]
    scorecard: bool

    @property
    def name(self) -> str:
        return Path(self.folder).name


def _entries(folder: Path) -> list[dict]:
    """The render's tasks from its index.json; without one, its scorecard record taken as an ok task."""
    try:
        return list(json.loads((folder / "index.json").read_text())["runs"])
    except (OSError, ValueError, KeyError, TypeError):
        name = landing.SCORECARD_NOTEBOOK
        return [{"name": name, "notebook": name, "status": "ok", "html": f"{name}.html"}]


def _model(results: Path, run: str, memo: dict) -> str:
    """The run's network as its first record names it (params.backbone), "" where it names none."""
    if run not in memo:
        found = sorted(results.glob(f"{run}--*.json")) if run else []
        path = results / f"{run}--seed0.json"
        path = path if path.is_file() else (found[0] if found else results / f"{run}.json")
        try:
            memo[run] = str((json.loads(path.read_text()).get("params") or {}).get("backbone") or "")
        except (OSError, ValueError, AttributeError):
            memo[run] = ""
    return memo[run]


def read_render(folder) -> Render:
    """A render's claim rows: each of its scorecards' rows read by `Verdict.from_row` (through
    `landing.Scorecard`), with its network, the judging commit and its anchor on the scorecard's page."""
    path = Path(folder)
    results = path / "results"
    cards = landing.read_scorecards(results, _entries(path))
    memo: dict = {}
    sides = []
    for card in cards:
        for v, anchor in zip(card.verdicts, row_anchors(card.rows)):
            sides.append(Side(str(folder), v, _model(results, v.run, memo), card.commit, card.html, anchor))
    return Render(str(folder), tuple(sides), bool(cards))


def compare(a: Render, b: Render) -> list[Row]:
    """One row per (claim id, run) present in either render, A's order first, then B's rows A lacks."""
    left = {(s.verdict.claim_id, s.verdict.run): s for s in a.sides}
    right = {(s.verdict.claim_id, s.verdict.run): s for s in b.sides}
    return [Row(cid, run, left.get((cid, run)), right.get((cid, run))) for cid, run in dict.fromkeys([*left, *right])]


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

# The page links its folder's stylesheet (report.css, as every committed page but the index does: no inline
# stylesheet, tests/test_light_reports.py); the landing page's look (its body, its tables) as style attributes.
PAGE_STYLE = ("font-family:-apple-system,'Segoe UI',Roboto,Arial,sans-serif;max-width:1300px;margin:2em auto;"
              "padding:0 1em;color:#222;line-height:1.4")
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
    said = "; ".join(f"{html.escape(_where(s))} against {html.escape(_where(first))}: "
                     + (f"<b>moved</b> ({html.escape(w)})" if w else "did not move (same verdict, intervals overlap)")
                     for s, w in moves)
    head = "".join(f"<th style=\"{CELL_STYLE};background:#f3f3f3\">{html.escape(c)}</th>" for c in COLUMNS)
    return (f"<table class='sides' style=\"{TABLE_STYLE}\"><tr>{head}</tr>{rows}</table>"
            + (f"<p class='moved'>{said}.</p>" if said else ""))


def _where(s: Side) -> str:
    return f"{Path(s.render).name} {s.input or s.verdict.run}".strip()


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
                         + (f" | moved from {_where(first)}: {why}" if why else ""))
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
