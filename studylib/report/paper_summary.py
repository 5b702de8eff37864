"""A reproducibility summary per paper (`papers/<id>.html` in a render folder), in the form the ML
Reproducibility Challenge and ReScience use: the scope (the paper's claims), what we ran (the runs, their
regime, stand-ins, cuts and seeds, the compute in task-hours), the results claim by claim with their
intervals, what was hard (budget flags, stand-ins, what could not be tested and why), and a label: [Re],
[¬Re] or partial / indicative (`label`, docs/METHOD.md).

Every figure and every sentence about a result is computed from the render's records: the scorecard's claim
rows (read once each, `Verdict.from_row`), its evidence rows, and each run record's seed, wall time and
commit. Nothing about a result is typed here. The page is self-contained (its CSS inline, no script, no
figure fetched) and links only the landing page, the scorecard's rows, each run's committed page and
docs/METHOD.md, so it opens offline from a clone.
"""
from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path

from ..io import write_text
from ..study.verdict_types import Verdict
from . import landing, publish
from .tables import VERDICT_CLAUSES, VERDICT_COLOURS, fmt_ci, row_anchors, verdict_word

__all__ = ["NOT_RE", "PARTIAL", "RE", "FOLDER", "label", "paper_page", "summary_link", "write_summaries"]

FOLDER = "papers"                    # beside the scorecard: reports/<profile>/papers/<id>.html
RE, NOT_RE, PARTIAL = "[Re]", "[¬Re]", "partial / indicative"
GOOD, BAD = ("holds", "matches"), ("contradicted", "differs")
UNTESTABLE = "not testable here"
LABEL_COLOURS = {RE: ("#1b7837", "#ffffff"), NOT_RE: ("#d73027", "#ffffff"), PARTIAL: ("#fee08b", "#3b3b3b")}
# The sections of docs/METHOD.md the label rests on (GitHub's heading slugs, as tests/test_links.py checks).
METHOD_SECTIONS = (("Direct and indicative verdicts", "direct-and-indicative-verdicts"),
                   ("Value claims", "value-claims"), ("Order claims", "order-claims"),
                   ("Budget flags", "budget-flags"), ("Several regimes", "several-regimes"))


# ---- the label ------------------------------------------------------------------------------------------

def _word(v: Verdict) -> str:
    return verdict_word(v.word)


def _n(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _tally(group: list[Verdict]) -> str:
    found = Counter(_word(v) for v in group)
    return ", ".join(f"{n} {VERDICT_CLAUSES[w][n != 1]}" for w, n in found.most_common())


def _ids(group: list[Verdict]) -> str:
    return ", ".join(dict.fromkeys(v.claim_id for v in group))


def label(verdicts) -> tuple[str, str]:
    """(label, reason) of one paper's verdicts (`Verdict`s, or a record's rows), the reason computed from them.

    The rule (docs/METHOD.md, Direct and indicative verdicts; Value claims; Order claims; Budget flags):

    - only the rows the scorecard counts: a sensitivity rung (Several regimes) is shown beside its claim and
      does not move the label; a claim "not testable here" is listed, and counts neither for nor against;
    - **[¬Re]** when a claim tested **directly** (on the paper's own network and data, not `indicative`) is
      contradicted (an order) or differs (a value);
    - **[Re]** only when at least one claim is testable and every testable claim holds or matches directly;
    - otherwise **partial / indicative**: a verdict rests on a stand-in (indicative: it answers the paper's
      question, not its figure), or a direct one is inconclusive (budget-limited ones named), or no claim
      could be tested here. The reason says which, with counts.
    """
    verdicts = [v if isinstance(v, Verdict) else Verdict.from_row(v) for v in verdicts]
    counted = [v for v in verdicts if not v.sensitivity]
    untestable = [v for v in counted if _word(v) == UNTESTABLE]
    tested = [v for v in counted if _word(v) != UNTESTABLE]
    direct = [v for v in tested if not v.indicative]
    stand_in = [v for v in tested if v.indicative]
    aside = f"; {_n(len(untestable), 'claim', 'claims')} not testable here ({_ids(untestable)})" if untestable else ""
    against = [v for v in direct if _word(v) in BAD]
    if against:
        return NOT_RE, (f"{_n(len(against), 'claim', 'claims')} tested on the paper's own network and data "
                        f"({_ids(against)}): {_tally(against)}" + aside)
    if tested and all(v in direct and _word(v) in GOOD for v in tested):
        return RE, (f"every testable claim ({len(tested)}) tested on the paper's own network and data: "
                    f"{_tally(tested)}" + aside)
    reasons = []
    if not tested:
        reasons.append(f"none of its {_n(len(counted), 'claim', 'claims')} can be tested here")
    if stand_in:
        reasons.append(f"{len(stand_in)} of {_n(len(tested), 'tested claim', 'tested claims')} "
                       f"{'rests' if len(stand_in) == 1 else 'rest'} on stand-ins, so "
                       f"{'its verdict is' if len(stand_in) == 1 else 'their verdicts are'} indicative: {_tally(stand_in)}")
    undecided = [v for v in direct if _word(v) not in GOOD]
    if undecided:
        limited = sum(bool(v.budget_limited) for v in undecided)
        reasons.append(f"{_n(len(undecided), 'claim', 'claims')} tested directly "
                       f"{'is' if len(undecided) == 1 else 'are'} inconclusive ({_ids(undecided)})"
                       + (f", {limited} of them budget-limited" if limited else ""))
    good = [v for v in direct if _word(v) in GOOD]
    if good and (stand_in or undecided):
        reasons.append(f"{len(good)} tested directly {'holds or matches' if len(good) == 1 else 'hold or match'} "
                       f"({_ids(good)})")
    return PARTIAL, "; ".join(reasons) + aside


def _slug(word: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in word.replace("¬", "not-")).strip("-")


def label_badge(word: str) -> str:
    """The label in its colour (inline, for a page without `CSS`: the landing page)."""
    bg, fg = LABEL_COLOURS[word]
    return (f"<span class='label' style='background:{bg};color:{fg};padding:1px 8px;border-radius:3px;"
            f"white-space:nowrap'>{html.escape(word)}</span>")


def _label(word: str) -> str:
    return f"<span class='label l-{_slug(word)}'>{html.escape(word)}</span>"


def _badge(v: Verdict) -> str:
    """A verdict's badge in its colour (tables.VERDICT_COLOURS, as `tables.verdict_badge` draws it; here by
    class, the colours once in the page's CSS)."""
    w = _word(v)
    text = w + (" (indicative)" if v.indicative else "") + (" · budget-limited" if v.budget_limited else "")
    return f"<span class='verdict v-{_slug(w)}'>{html.escape(text)}</span>"


# ---- what the render holds ------------------------------------------------------------------------------

def _scorecards(out_dir: Path) -> list[landing.Scorecard]:
    """The folder's scorecard records: through its index.json's entries (`landing.read_scorecards`), else
    every results/*.json whose notebook is the scorecard's."""
    results = out_dir / "results"
    try:
        entries = json.loads((out_dir / "index.json").read_text())["runs"]
    except (OSError, ValueError, KeyError, TypeError):
        entries = None
    if entries is not None:
        return landing.read_scorecards(results, entries)
    found = []
    for path in sorted(results.glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if landing.SCORECARD_NOTEBOOK in (record.get("notebook"), record.get("experiment")):
            found.append(landing.Scorecard({"name": path.stem, "notebook": landing.SCORECARD_NOTEBOOK}, record))
    return found


def _run_records(results: Path, runs: set[str]) -> dict[str, list[dict]]:
    """{run: [its records]} of the runs named, by seed (the scorecard's own record is no run's)."""
    out: dict[str, list[dict]] = {}
    for path in sorted(results.glob("*.json")) if runs else []:
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        run = record.get("run_name") or record.get("experiment")
        if run in runs and record.get("notebook") != landing.SCORECARD_NOTEBOOK:
            out.setdefault(run, []).append({**record, "_task": record.get("task") or path.stem})
    return {run: sorted(recs, key=lambda r: (r.get("seed") is None, r.get("seed") or 0)) for run, recs in out.items()}


def _profile_cuts(out_dir: Path, profile=None) -> tuple[list[str], dict[str, list[str]]]:
    """(the profile's cuts, {run: that run's own cuts}) from the profile file (the render's, by its index.json's
    name, when none is given); nothing when it cannot be read."""
    if profile is None:
        try:
            from ..study.profile import load_profile
            profile = load_profile(json.loads((out_dir / "index.json").read_text())["profile"], data_dir="generated")
        except Exception:  # noqa: BLE001 (no profile file, a changed one: the page says only what the records say)
            return [], {}
    runs: dict[str, list[str]] = {}
    for t in getattr(profile, "tasks", None) or []:
        runs.setdefault(t.run or t.name, list(getattr(t, "run_cuts", None) or []))
    return list(getattr(profile, "cuts", None) or []), runs


def _run_page(out_dir: Path, recs: list[dict]) -> str:
    """The committed page of a run (its first seed's, which the folder's .gitignore does not keep out)."""
    hidden = publish.ignored_pages(out_dir)
    for r in recs:
        name = f"{r['_task']}.html"
        if (out_dir / name).is_file() and name not in hidden:
            return name
    return ""


def summary_link(paper: str) -> str:
    """A paper's summary page, relative to the render folder."""
    return f"{FOLDER}/{paper}.html"


# ---- the page -------------------------------------------------------------------------------------------

CSS = """body{font-family:-apple-system,'Segoe UI',Roboto,Arial,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45} h1{font-size:160%;margin-bottom:.2em} h2{margin-top:1.5em;
border-bottom:1px solid #ddd;padding-bottom:.15em} nav{color:#555;margin-bottom:1em}
.verdict-label{font-size:115%;border-left:5px solid #4a6fa5;padding:.3em .8em;background:#fafafa}
table{border-collapse:collapse;width:100%;font-size:92%} th,td{border-bottom:1px solid #ddd;padding:4px 8px;
text-align:left;vertical-align:top} th{background:#f3f3f3} code{color:#555;font-size:90%}
.ci,.est{white-space:nowrap} small{color:#555} .ref{color:#444} .paper-title{font-style:italic}
ul.hard li,ul.scope li{margin:.25em 0} .provenance{color:#444;font-size:92%}
.verdict,.label{padding:1px 6px;border-radius:3px;white-space:nowrap}""" + "".join(
    f"\n.v-{_slug(w)}{{background:{bg};color:{fg}}}" for w, (bg, fg) in VERDICT_COLOURS.items()) + "".join(
    f"\n.l-{_slug(w)}{{background:{bg};color:{fg}}}" for w, (bg, fg) in LABEL_COLOURS.items())


def _figure(v: Verdict) -> str:
    if v.kind == "order":
        return f"{html.escape(str(v.paper_value or ''))}<br><small>(A − B &gt; {v.margin or 0.0:g})</small>"
    if isinstance(v.paper_value, (int, float)):
        return f"{v.paper_value:.4f} ± {v.margin:g}"
    return html.escape(str(v.paper_value or ""))


def _ours(v: Verdict) -> str:
    iv = v.interval
    if iv is None:
        return "—"
    ci = fmt_ci([iv.low, iv.high])
    if v.kind == "order":
        p = f" · p={v.p_adjusted:.3g} (Holm)" if v.p_adjusted is not None else ""
        return f"<span class='est'>A − B {iv.estimate:+.3f}</span><br><span class='ci'>{ci}</span><br><small>n={iv.n}{p}</small>"
    return f"<span class='est'>{iv.estimate:.3f}</span><br><span class='ci'>{ci}</span><br><small>n={iv.n}</small>"


def _arms(v: Verdict) -> str:
    labels = v.arm_labels or {}
    if v.kind != "order" or len(v.arms) != 2:
        return ""
    a, b = (html.escape(str(labels.get(x, x))) for x in v.arms)
    return f"<br><small>A = {a}; B = {b}</small>"


def _reference(paper: str, ref: dict) -> str:
    e = html.escape
    who = f"{e(str(ref['authors']))}, " if ref.get("authors") else ""
    title = f"“{e(str(ref['title']))}”" if ref.get("title") else ""
    year = f" ({e(str(ref['year']))})" if ref.get("year") else ""
    link = f" · <a href='{e(str(ref['link']))}'>the paper</a>" if ref.get("link") else ""
    seed = f" · seed text <code>{e(str(ref['seed']))}</code> in ../shared/seeds" if ref.get("seed") else ""
    return f"{who}<span class='paper-title'>{title}</span>{year}{link}{seed}"


def _hours(recs: list[dict]) -> float:
    return sum(float(r.get("wall_time_s") or 0.0) for r in recs) / 3600


def paper_page(paper: str, verdicts: list[tuple[Verdict, str]], ref: dict, out_dir: Path, scorecard_pages: list[str],
               evidence: list[dict] = (), records: dict | None = None, cuts: tuple = ((), {}),
               judged: list[str] = ()) -> str:
    """One paper's summary as a self-contained HTML page. `verdicts`: (verdict, its row's link on the
    scorecard, '' for none) in the scorecard's order; `records`: {run: [records]} of the runs they read;
    `cuts`: (the profile's cuts, {run: its own cuts}) (`_profile_cuts`); `judged`: the commits of the scorecard
    records the verdicts come from."""
    e = html.escape
    out_dir = Path(out_dir)
    records = records or {}
    vs = [v for v, _ in verdicts]
    word, reason = label(vs)
    page_dir = out_dir / FOLDER
    method = landing.method_link(page_dir)
    counted = [v for v in vs if not v.sensitivity]
    title = f"Paper {paper}: a reproducibility summary"
    parts = [f"<h1>{_label(word)} {e(title)}</h1>",
             f"<p class='ref'>{_reference(paper, ref)}</p>",
             "<nav><a href='../index.html'>the render's claims, all papers</a>"
             + "".join(f" · <a href='../{e(p)}'>the scorecard ({e(p)})</a>" for p in scorecard_pages) + "</nav>",
             f"<p class='verdict-label'><b>Label: {e(word)}</b>. Why: {e(reason)}.</p>"]

    # Scope: the claims, in the paper's words
    scope = []
    for cid in dict.fromkeys(v.claim_id for v in counted):
        v = next(x for x in counted if x.claim_id == cid)
        what = {"value": f"a value ({e(v.metric)})", "order": f"an order: A beats B ({e(v.metric)})"}.get(v.kind, e(v.kind))
        scope.append(f"<li>“{e(v.text)}” <code>{e(cid)}</code> <small>{what}</small>{_arms(v)}</li>")
    parts.append(f"<h2 id='scope'>Scope: the claims</h2><p>{_n(len(scope), 'claim', 'claims')} of the paper, "
                 f"each judged as its paper file states it:</p><ul class='scope'>{''.join(scope)}</ul>")

    # What we ran
    runs = list(dict.fromkeys(v.run for v in vs if v.run))
    profile_cuts, run_cuts = cuts
    rows, total = [], 0.0
    for run in runs:
        recs = records.get(run, [])
        rv = [v for v in vs if v.run == run]
        regime = next((v.regime for v in rv if v.regime), "")
        stand = "; ".join(dict.fromkeys(v.stand_in for v in rv if v.stand_in)) or "none: the paper's own network and data"
        seeds = [r.get("seed") for r in recs]
        hours = _hours(recs)
        total += hours
        page = _run_page(out_dir, recs)
        name = f"<a href='../{e(page)}'>{e(run)}</a>" if page else e(run)
        rung = "<br><small>a sensitivity rung, not counted</small>" if any(v.sensitivity for v in rv) else ""
        own = "".join(f"<li>{e(c)}</li>" for c in run_cuts.get(run, []))
        rows.append(f"<tr><td>{name}{rung}</td><td>{e(regime)}{f'<ul>{own}</ul>' if own else ''}</td>"
                    f"<td>{e(stand)}</td><td>{e(', '.join(str(s) for s in seeds)) or '—'}<br>"
                    f"<small>{_n(len(recs), 'record', 'records')}</small></td><td>{hours:.2f}</td></tr>")
    devices = sorted({str(r.get("device")) for recs in records.values() for r in recs if r.get("device")})
    ran = (f"<table><tr><th>run</th><th>regime · its cuts</th><th>stand-in</th><th>seeds</th><th>task-hours</th></tr>"
           + "".join(rows) + "</table>" if rows else "<p>No run was read: no claim of this paper was tested here.</p>")
    parts.append(f"<h2 id='ran'>What we ran</h2>{ran}"
                 f"<p>Compute: {total:.2f} task-hours, the sum of the wall times of the "
                 f"{_n(sum(len(records.get(r, [])) for r in runs), 'record', 'records')} these runs wrote"
                 + (f" (on {e(', '.join(devices))})" if devices else "") + ".</p>"
                 + (f"<p>Besides each run's own cuts, the profile's {_n(len(profile_cuts), 'cut', 'cuts')} for every "
                    "run, listed on <a href='../index.html'>the render's page</a>.</p>" if profile_cuts else ""))

    # Results, claim by claim
    cells = []
    for v, href in verdicts:
        where = e(v.run) + (" <small>(sensitivity rung, not counted)</small>" if v.sensitivity else "")
        link = f"<a href='../{e(href)}'>evidence</a>" if href else ""
        cells.append(f"<tr><td>“{e(v.text)}”<br><code>{e(v.claim_id)}</code>{_arms(v)}</td><td>{_figure(v)}</td>"
                     f"<td>{_ours(v)}</td><td>{_badge(v)}</td>"
                     f"<td>{where}</td><td>{link}</td></tr>")
    parts.append("<h2 id='results'>Results, claim by claim</h2><table><tr><th>claim</th><th>paper (± margin)</th>"
                 "<th>ours (95% interval)</th><th>verdict</th><th>run</th><th></th></tr>" + "".join(cells) + "</table>")
    if evidence:
        items = "".join(f"<li>{e(str(x.get('check', '')))}: {e(str(x.get('computed', '')))} "
                        f"<small>(the paper: “{e(str(x.get('quote', '')))}”; bears on {e(str(x.get('about', '')))})"
                        f"</small></li>" for x in evidence)
        parts.append(f"<h3>The paper's own numbers, checked</h3><ul class='hard'>{items}</ul>")

    # What was hard
    hard = []
    for v in vs:
        labels = v.arm_labels or {}
        if v.budget_limited:
            hard.append(f"<li><code>{e(v.claim_id)}</code> on {e(v.run)}: <b>budget-limited</b>, {e(v.budget_limited)}</li>")
        for arm, flags in v.flags.items():
            flags = [str(f) for f in flags if str(f) not in v.budget_limited]
            if flags:
                hard.append(f"<li><code>{e(v.claim_id)}</code> on {e(v.run)}: arm {e(str(labels.get(arm, arm)))} "
                            f"flagged {e('; '.join(flags))}</li>")
    for s in dict.fromkeys(v.stand_in for v in vs if v.stand_in):
        ids = _ids([v for v in vs if v.stand_in == s])
        hard.append(f"<li>stand-in: {e(s)} <small>({e(ids)}: verdicts indicative)</small></li>")
    for v in counted:
        if _word(v) == UNTESTABLE:
            hard.append(f"<li><code>{e(v.claim_id)}</code> not testable here: {e(v.note or v.sentence or 'no reason recorded')}</li>")
    parts.append("<h2 id='hard'>What was hard</h2>"
                 + (f"<ul class='hard'>{''.join(hard)}</ul>" if hard else
                    "<p>No budget flag, no stand-in, every claim testable.</p>"))

    # The label's rule, and where it all came from
    sections = ", ".join(f"<a href='{e(method)}#{slug}'>{e(name)}</a>" if method else e(name)
                         for name, slug in METHOD_SECTIONS)
    parts.append(f"<h2 id='label'>The label</h2><p>{_label(RE)} only when every testable claim holds or "
                 f"matches on the paper's own network and data; {_label(NOT_RE)} when a claim tested so is "
                 f"contradicted or differs; otherwise {_label(PARTIAL)}, with the reason. Sensitivity rungs and "
                 f"claims not testable here do not move it. The verdict words: docs/METHOD.md ({sections}).</p>")
    judged = sorted(judged)
    rec_commits = sorted({str(r.get("git_commit")) for recs in records.values() for r in recs if r.get("git_commit")})
    parts.append("<p class='provenance'>"
                 + (f"Records of commit {e(', '.join(c[:12] for c in rec_commits))}; " if rec_commits else "No run record read; ")
                 + (f"judged by the scorecard's code at commit {e(', '.join(c[:12] for c in judged))}." if judged
                    else "the scorecard's commit is not recorded.") + "</p>")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")


def write_summaries(out_dir, scorecards: list | None = None, profile=None) -> list[Path]:
    """reports/<profile>/papers/<id>.html for each paper the folder's scorecard has a claim row of, written
    atomically; [] when the folder has no scorecard record. `scorecards`: the folder's (`landing.Scorecard`),
    read from it when not given; `profile`: the render's, for its cuts (read from the index's name when not
    given)."""
    from ..study.claims import PAPERS
    out_dir = Path(out_dir)
    scorecards = _scorecards(out_dir) if scorecards is None else list(scorecards)
    every = [(s, v) for s in scorecards for v in s.verdicts]
    if not every:
        return []
    anchors = row_anchors([{"id": v.claim_id, "run": v.run} for _, v in every])
    pages = [s.html for s in scorecards if (out_dir / s.html).is_file()]
    by_paper: dict[str, list] = {}
    commits: dict[str, set] = {}
    for (s, v), anchor in zip(every, anchors):
        href = f"{s.html}#{anchor}" if (out_dir / s.html).is_file() else ""
        by_paper.setdefault(v.paper, []).append((v, href))
        commits.setdefault(v.paper, set()).add(s.commit)
    evidence = [x for s in scorecards for x in (s.record.get("metrics", {}).get("evidence") or [])]
    runs = {v.run for _, v in every if v.run}
    records = _run_records(out_dir / "results", runs)
    cuts = _profile_cuts(out_dir, profile)
    written = []
    for paper in sorted(by_paper):
        verdicts = by_paper[paper]
        mine = {v.run for v, _ in verdicts if v.run}
        text = paper_page(paper, verdicts, PAPERS.get(paper, {}), out_dir, pages,
                          [x for x in evidence if str(x.get("paper")) == paper],
                          {r: recs for r, recs in records.items() if r in mine}, cuts,
                          sorted(c for c in commits[paper] if c))
        written.append(write_text(out_dir / FOLDER / f"{paper}.html", text))
    return written
