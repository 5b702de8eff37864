"""The claim-first top of a profile's index page: the scorecard's headline and forest plot, one row per claim
grouped by paper (its verdict badge, our interval and n, flags, stand-in, a link to the evidence), the
legend of the verdict words, and links to the sibling renders (sweeps, curves).

Everything here reads the scorecard's record (`results/<scorecard task>.json`, `metrics.claims`): the page
is rebuilt after every task, so what it shows is always what that record says.
"""
from __future__ import annotations

import base64
import html
import json
import os
from collections import Counter
from pathlib import Path

from .. import paths
from ..study.verdicts import Verdict
from .tables import VERDICT_MEANINGS, fmt_ci, plain_summary, row_anchors, verdict_badge, verdict_word

__all__ = ["Scorecard", "claim_section", "claims_frame", "claims_table", "forest_png", "legend", "navigation", "paper_heading",
           "read_scorecards", "seed_link"]

SCORECARD_NOTEBOOK = "06_scorecard"
SEEDS = paths.SHARED_DATA.parent / "seeds"   # the papers' texts, beside the data in ../shared
SIBLINGS = ("sweep-*", "curves")             # renders beside this profile's folder that the page links


class Scorecard:
    """One scorecard task's record as the landing page reads it: its entry in the index, its headline and
    claim rows, and the commit that judged them."""

    def __init__(self, entry: dict, record: dict):
        self.entry, self.record = entry, record
        self.headline = record.get("headline") or entry.get("headline") or ""
        self.rows = list(record.get("metrics", {}).get("claims") or [])
        self.verdicts = [Verdict.from_row(r) for r in self.rows]   # the rows read once, typed
        self.commit = str(record.get("git_commit") or "")

    @property
    def html(self) -> str:
        return self.entry.get("html") or f"{self.entry['name']}.html"


def read_scorecards(results_dir: Path, entries: list[dict]) -> list[Scorecard]:
    """The records of the profile's scorecard tasks that ended ok (only those are read: the index is written
    after every task, and a failed or running scorecard has no record to trust)."""
    out = []
    for e in entries:
        path = Path(results_dir) / f"{e['name']}.json"
        if e.get("notebook") != SCORECARD_NOTEBOOK or e.get("status") != "ok" or not path.is_file():
            continue
        try:
            out.append(Scorecard(e, json.loads(path.read_text())))
        except (OSError, ValueError):  # a record being rewritten: the next index write reads it
            continue
    return out


# ---- links -------------------------------------------------------------------------------------------

def _rel(target: Path, out_dir: Path) -> str:
    """`target` relative to the page's folder, as a URL path ('' when it cannot be: another drive)."""
    try:
        return Path(os.path.relpath(Path(target).resolve(), Path(out_dir).resolve())).as_posix()
    except ValueError:
        return ""


def seed_link(seed: str, out_dir: Path, seeds_dir: Path | None = None) -> str:
    """The relative link from the page to a paper's seed text; '' when the file is not there."""
    path = Path(seeds_dir or SEEDS) / seed if seed else None
    return _rel(path, out_dir) if path is not None and path.is_file() else ""


def navigation(out_dir: Path) -> list[tuple[str, str]]:
    """(label, relative link) of each sibling render with an index page, the sweeps and the curves: labelled
    by the title in its index.json, else by its folder's name."""
    out_dir = Path(out_dir)
    found = []
    for pattern in SIBLINGS:
        for folder in sorted(out_dir.parent.glob(pattern)):
            page = folder / "index.html"
            if folder.resolve() == out_dir.resolve() or not page.is_file():
                continue
            title = ""
            try:
                title = json.loads((folder / "index.json").read_text()).get("title", "")
            except (OSError, ValueError, AttributeError):
                pass
            found.append((title or folder.name, f"../{folder.name}/index.html"))
    return found


def claim_renders(out_dir: Path) -> list[tuple[str, str]]:
    """(label, relative link) of each sibling render whose scorecard judges the papers' claims."""
    out_dir, found = Path(out_dir), []
    for folder in sorted(out_dir.parent.iterdir()) if out_dir.parent.is_dir() else []:
        if folder.resolve() != out_dir.resolve() and (folder / "results" / f"{SCORECARD_NOTEBOOK}.json").is_file() \
                and (folder / "index.html").is_file():
            found.append((f"the papers' claims judged (profile {folder.name})", f"../{folder.name}/index.html"))
    return found


# ---- the parts of the page -----------------------------------------------------------------------------

def forest_png(rows: list[dict]) -> str:
    """The scorecard's forest plot of these claim rows as a data URI, compressed as every report figure is
    (`lighten.compress_image`, lossless); '' when no claim was measured."""
    if not any(r.get("estimate") is not None for r in rows):
        return ""
    import pandas as pd
    from .lighten import compress_image
    from .scorecard import forest_plot
    from .widgets import figure_png
    fig = forest_plot(pd.DataFrame(rows))
    if fig is None:
        return ""
    # at the notebooks' 80 dpi: 1,200 px wide, which the page shows at most 1,100 px wide anyway
    mime, data = compress_image(figure_png(fig, dpi=80))
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def paper_heading(paper: str, ref: dict, out_dir: Path, seeds_dir: Path | None = None) -> str:
    """A paper's row-group heading: its id, authors, title, year, and links to its seed text and to it."""
    e = html.escape
    who = f"{e(str(ref['authors']))}, " if ref.get("authors") else ""
    title = f"“{e(str(ref['title']))}”" if ref.get("title") else ""
    year = f" ({e(str(ref['year']))})" if ref.get("year") else ""
    links = []
    if href := seed_link(str(ref.get("seed") or ""), out_dir, seeds_dir):
        # named, not linked: the seed texts sit beside the repository (../shared/seeds), so a clone's reader
        # would follow the link to nothing (tests/test_links.py walks every committed page's links)
        links.append(f"<span class='seed' title='{e(href)}'>seed text <code>{e(Path(href).name)}</code> "
                     "in ../shared/seeds</span>")
    if ref.get("link"):
        links.append(f"<a class='paper-link' href='{e(str(ref['link']))}'>the paper</a>")
    return (f"<span class='paper-id'>{e(paper)}</span> {who}<span class='paper-title'>{title}</span>{year}"
            + (" · " + " · ".join(links) if links else ""))


# what a claim over a ladder (docs/METHOD.md, Claims over a ladder) compares, under its figure
_LADDER_RULE = {"equivalence": "(|A − B| ≤ {m:g})", "trend": "(gain at the smallest − at the largest &gt; {m:g})",
                "epochs": "(B − A epochs &gt; {m:g})"}


def figure_cell(v: Verdict) -> str:
    """The paper's figure of a claim row (its band, or the comparison it claims), as HTML."""
    if v.kind == "order":
        return f"{html.escape(str(v.paper_value or ''))}<br><small>(A − B &gt; {v.margin or 0.0:g})</small>"
    if v.kind in _LADDER_RULE:
        return f"{html.escape(str(v.paper_value or ''))}<br><small>{_LADDER_RULE[v.kind].format(m=v.margin or 0.0)}</small>"
    if v.paper_value is None:
        return ""
    return f"{v.paper_value:.4f} ± {v.margin:g}"


def ours_cell(v: Verdict) -> str:
    """Our estimate, interval, n and Holm p of a claim row, as HTML."""
    if v.interval is None:
        return "<span class='none'>—</span>"
    est, n, ci = v.interval.estimate, v.interval.n, fmt_ci([v.interval.low, v.interval.high])
    if v.kind == "epochs":  # epochs, not a metric: one decimal, no clipping
        ci = f"[{v.interval.low:+.1f}, {v.interval.high:+.1f}]"
        return (f"<span class='est'>B − A {est:+.1f} epochs</span><br><span class='ci'>{ci}</span><br><small>n={n}"
                + (f" · p={v.p_adjusted:.3g} (Holm)" if v.p_adjusted is not None else "") + "</small>")
    if v.kind in ("order", "equivalence", "trend"):
        what = "A − B" if v.kind != "trend" else "Δ gain"
        return (f"<span class='est'>{what} {est:+.3f}</span><br><span class='ci'>{ci}</span><br><small>n={n}"
                + (f" · p={v.p_adjusted:.3g} (Holm)" if v.p_adjusted is not None else "") + "</small>")
    return f"<span class='est'>{est:.3f}</span><br><span class='ci'>{ci}</span><br><small>n={n}</small>"


def _flags(v: Verdict) -> str:
    """Budget-limited, the arms' flags, the stand-in and, for a claim not tested, why: one line each."""
    labels = v.arm_labels or {}
    lines = []
    if v.budget_limited:
        lines.append(f"<b>budget-limited</b>: {html.escape(v.budget_limited)}")
    for arm, flags in v.flags.items():
        flags = [str(f) for f in flags if str(f) not in v.budget_limited]  # said above
        if flags:
            lines.append(f"{html.escape(str(labels.get(arm, arm)))}: {html.escape('; '.join(flags))}")
    if v.stand_in:
        lines.append(f"<span class='stand-in'>stand-in: {html.escape(v.stand_in)}</span>")
    if verdict_word(v.word) == "not testable here" and v.note:
        lines.append(f"why: {html.escape(v.note)}")
    return "<br>".join(lines)


def claims_frame(scorecards: list[Scorecard]):
    """One row per claim row of the scorecards (a claim judged on several runs: one row per run), papers in
    id order, claims in the scorecard's order within each."""
    import pandas as pd
    every = [v for s in scorecards for v in s.verdicts]
    # the scorecard's own row ids
    anchor_of = dict(zip(map(id, every), row_anchors([{"id": v.claim_id, "run": v.run} for v in every])))
    several = Counter(cid for cid, _ in {(v.claim_id, v.run) for v in every})
    rows = []
    for s in scorecards:
        for v in s.verdicts:
            anchor = anchor_of[id(v)]
            where = f"<br><small class='run'>on run {html.escape(v.run)}</small>" if several[v.claim_id] > 1 and v.run else ""
            badge = verdict_badge(v.word, v.indicative, bool(v.budget_limited))
            sentence = html.escape(v.sentence, quote=True)
            rows.append({
                "paper": v.paper,
                "order": (v.paper, len(rows)),
                "claim": (f"<span class='claim-text'>{html.escape(v.text)}</span><br>"
                          f"<code class='claim-id'>{html.escape(v.claim_id)}</code>{where}"),
                "figure": figure_cell(v),
                "ours": ours_cell(v),
                "verdict": f"<span class='verdict-cell' data-verdict='{html.escape(verdict_word(v.word))}'"
                           f" title='{sentence}'>{badge}</span>",
                "flags": _flags(v),
                "evidence": f"<a class='evidence' href='{html.escape(s.html)}#{anchor}'>evidence</a>",
            })
    frame = pd.DataFrame(rows, columns=["paper", "order", "claim", "figure", "ours", "verdict", "flags", "evidence"])
    frame = frame.sort_values("order", kind="stable").drop(columns="order").reset_index(drop=True)
    return frame


def claims_table(scorecards: list[Scorecard], papers: dict, out_dir: Path, seeds_dir: Path | None = None) -> str:
    """The claims as a great_tables table (id "claims"), a row group per paper headed by its reference."""
    from great_tables import GT
    frame = claims_frame(scorecards)
    cells = ["claim", "figure", "ours", "verdict", "flags", "evidence"]
    heading = lambda pid: paper_heading(pid, papers.get(pid, {}), out_dir, seeds_dir)  # noqa: E731
    gt = (GT(frame, id="claims", groupname_col="paper")
          .fmt(lambda x: x, columns=cells)          # the cells are HTML built (and escaped) above
          .fmt(heading, columns="paper")            # the group headings: each paper's reference and links
          .cols_label(claim="claim (in the paper's words)", figure="paper (± margin)",
                      ours="ours (95% interval)", verdict="verdict", flags="flags · stand-in", evidence="")
          .tab_options(table_font_size="14px", table_width="100%", row_group_font_weight="bold",
                       row_group_background_color="#f3f3f3", data_row_padding="4px"))
    return gt.as_raw_html()


def method_link(out_dir: Path) -> str:
    """The relative link from a page in `out_dir` to the repository's docs/METHOD.md ('' for a page outside
    the repository: a link would lead out of the report)."""
    method = paths.ROOT / "docs" / "METHOD.md"
    inside = Path(out_dir).resolve().is_relative_to(paths.ROOT.resolve())
    return _rel(method, out_dir) if inside and method.is_file() else ""


# Each verdict word in a few words, for the legend beside the summary (the full meanings: VERDICT_MEANINGS).
SHORT_MEANINGS = {
    "matches": "a value: our interval inside the paper's figure ± its margin",
    "differs": "a value: our interval wholly outside it",
    "holds": "A beats B: A − B above the margin, Holm p < 0.05",
    "contradicted": "A beats B, but A − B is below zero, Holm p < 0.05",
    "equivalent": "A and B within a stated margin: the whole interval inside it",
    "inconclusive": "neither: our intervals cannot decide it",
    "not testable here": "the data, network or figure is not here",
}


def short_legend() -> str:
    """The verdict words in their colours, each in a few words, and what "indicative" and "budget-limited" add."""
    items = "".join(f"<li>{verdict_badge(w)} {html.escape(m)}</li>" for w, m in SHORT_MEANINGS.items())
    return (f"<ul class='legend'>{items}<li><b>(indicative)</b>: a stand-in network or dataset was used</li>"
            "<li><b>budget-limited</b>: our epoch cap or rate grid, not the method, may decide it</li></ul>")


def legend() -> str:
    """The verdict words with their colours and meanings, and how margins are read."""
    items = "".join(f"<li>{verdict_badge(word)} {html.escape(meaning)}</li>" for word, meaning in VERDICT_MEANINGS.items())
    return (f"<ul class='legend'>{items}"
            "<li><b>(indicative)</b> after a verdict: the run uses a stand-in (another backbone, dataset or photos, "
            "named in the row), so the verdict indicates what the paper's setting would give, it does not prove it; "
            "<b>budget-limited</b>: our cut, not the method, may decide it (the row names the flag)</li></ul>"
            "<p class='margins'>Margins: each value claim's margin is declared in its paper file before any run, and "
            "the paper's figure is shown as “paper ± margin”: the band our interval is judged against. An order "
            "claim “A beats B” is judged on A − B, which must clear its margin (shown as “A − B &gt; margin”). "
            "Our figure is the mean over the run's seeds with its 95% interval; n is the number of seeds.</p>")


def claim_section(scorecards: list[Scorecard], papers: dict, out_dir: Path, seeds_dir: Path | None = None) -> str:
    """The headline, the forest plot, the claims by paper and the legend."""
    rows = [r for s in scorecards for r in s.rows]
    png = forest_png(rows)
    commits = sorted({s.commit for s in scorecards if s.commit})
    links = ", ".join(f"<a href='{html.escape(s.html)}'>{html.escape(s.html)}</a>" for s in scorecards)
    headline = " ".join(html.escape(s.headline) for s in scorecards)
    href = method_link(out_dir)
    method = f" How a claim is judged: <a href='{html.escape(href)}'>docs/METHOD.md</a>." if href else ""
    # The answer first: the plain sentence with the legend beside it, then the forest plot, then the table.
    return (f"<section id='answer' class='answer'><div class='answer-text'>"
            f"<p class='plain'>{html.escape(plain_summary([v for s in scorecards for v in s.verdicts]))}</p>"
            f"<p class='headline'>{headline}</p>"
            f"<p class='source'>From the scorecard ({links}"
            + (f", judged at commit {html.escape(', '.join(c[:12] for c in commits))}" if commits else "")
            + "), over every seed of each run." + method + "</p></div>"
            f"<aside class='answer-legend'><b>How to read the verdicts</b>{short_legend()}</aside></section>"
            + (f"<img class='forest' alt='forest plot: each claim against its band or zero' "
               f"src='{png}'>" if png else "")
            + f"<h2>Claims, by paper</h2>{claims_table(scorecards, papers, out_dir, seeds_dir)}"
            + f"<details class='margins'><summary>The verdict words in full, and margins</summary>{legend()}</details>")
