"""One paper's reproducibility summary as a self-contained HTML page (`paper_page`; `report.paper_summary`
reads the render and writes the pages): the label and why, the scope (the claims), what we ran, the results
claim by claim, what was hard, the label's rule and where it all came from. Its CSS inline, no script, no
figure fetched; it links only the landing page, the scorecard's rows, each run's committed page and
docs/METHOD.md.
"""
from __future__ import annotations

import dataclasses
import html
from pathlib import Path

from ..study.verdict_types import Verdict
from . import landing, publish
from .paper_label import (LABEL_COLOURS, NOT_RE, PARTIAL, RE, UNTESTABLE, claim_ids, claim_word, css_slug, label,
                          label_span, n_of, verdict_span)
from .tables import VERDICT_COLOURS

__all__ = ["CSS", "FOLDER", "PaperFacts", "paper_page"]

FOLDER = "papers"                    # beside the scorecard: reports/<profile>/papers/<id>.html
# The sections of docs/METHOD.md the label rests on (GitHub's heading slugs, as tests/test_links.py checks).
METHOD_SECTIONS = (("Direct and indicative verdicts", "direct-and-indicative-verdicts"),
                   ("Value claims", "value-claims"), ("Order claims", "order-claims"),
                   ("Budget flags", "budget-flags"), ("Several regimes", "several-regimes"))

CSS = """body{font-family:-apple-system,'Segoe UI',Roboto,Arial,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45} h1{font-size:160%;margin-bottom:.2em} h2{margin-top:1.5em;
border-bottom:1px solid #ddd;padding-bottom:.15em} nav{color:#555;margin-bottom:1em}
.verdict-label{font-size:115%;border-left:5px solid #4a6fa5;padding:.3em .8em;background:#fafafa}
table{border-collapse:collapse;width:100%;font-size:92%} th,td{border-bottom:1px solid #ddd;padding:4px 8px;
text-align:left;vertical-align:top} th{background:#f3f3f3} code{color:#555;font-size:90%}
.ci,.est{white-space:nowrap} small{color:#555} .ref{color:#444} .paper-title{font-style:italic}
ul.hard li,ul.scope li{margin:.25em 0} .provenance{color:#444;font-size:92%}
.verdict,.label{padding:1px 6px;border-radius:3px;white-space:nowrap}""" + "".join(
    f"\n.v-{css_slug(w)}{{background:{bg};color:{fg}}}" for w, (bg, fg) in VERDICT_COLOURS.items()) + "".join(
    f"\n.l-{css_slug(w)}{{background:{bg};color:{fg}}}" for w, (bg, fg) in LABEL_COLOURS.items())

e = html.escape


@dataclasses.dataclass(frozen=True)
class PaperFacts:
    """What one paper's page says, every part read from the render (`paper_summary.write_summaries`)."""
    paper: str
    verdicts: tuple = ()    # (verdict, its row's link on the scorecard, '' for none), in the scorecard's order
    ref: dict = dataclasses.field(default_factory=dict)      # the paper's entry in study.claims.PAPERS
    evidence: tuple = ()    # the scorecard's evidence rows about this paper
    records: dict = dataclasses.field(default_factory=dict)  # {run: [records]} of the runs the verdicts read
    cuts: tuple = ((), {})  # (the profile's cuts, {run: its own cuts}) (`paper_summary._profile_cuts`)
    judged: tuple = ()      # the commits of the scorecard records the verdicts come from


def _arms(v: Verdict) -> str:
    labels = v.arm_labels or {}
    if v.kind != "order" or len(v.arms) != 2:
        return ""
    a, b = (e(str(labels.get(x, x))) for x in v.arms)
    return f"<br><small>A = {a}; B = {b}</small>"


def _reference(ref: dict) -> str:
    who = f"{e(str(ref['authors']))}, " if ref.get("authors") else ""
    title = f"“{e(str(ref['title']))}”" if ref.get("title") else ""
    year = f" ({e(str(ref['year']))})" if ref.get("year") else ""
    link = f" · <a href='{e(str(ref['link']))}'>the paper</a>" if ref.get("link") else ""
    seed = f" · seed text <code>{e(str(ref['seed']))}</code> in ../shared/seeds" if ref.get("seed") else ""
    return f"{who}<span class='paper-title'>{title}</span>{year}{link}{seed}"


def _hours(recs: list[dict]) -> float:
    return sum(float(r.get("wall_time_s") or 0.0) for r in recs) / 3600


def _run_page(out_dir: Path, recs: list[dict]) -> str:
    """The committed page of a run (its first seed's, which the folder's .gitignore does not keep out)."""
    hidden = publish.ignored_pages(out_dir)
    for r in recs:
        name = f"{r['_task']}.html"
        if (out_dir / name).is_file() and name not in hidden:
            return name
    return ""


def _head(facts: PaperFacts, title: str, scorecard_pages: list[str]) -> list[str]:
    """The title with its label, the paper, the way back, and the label with its reason."""
    word, reason = label([v for v, _ in facts.verdicts])
    return [f"<h1>{label_span(word)} {e(title)}</h1>",
            f"<p class='ref'>{_reference(facts.ref)}</p>",
            "<nav><a href='../index.html'>the render's claims, all papers</a>"
            + "".join(f" · <a href='../{e(p)}'>the scorecard ({e(p)})</a>" for p in scorecard_pages) + "</nav>",
            f"<p class='verdict-label'><b>Label: {e(word)}</b>. Why: {e(reason)}.</p>"]


def _scope(counted: list[Verdict]) -> str:
    """Scope: the claims, in the paper's words."""
    scope = []
    for cid in dict.fromkeys(v.claim_id for v in counted):
        v = next(x for x in counted if x.claim_id == cid)
        what = {"value": f"a value ({e(v.metric)})", "order": f"an order: A beats B ({e(v.metric)})",
                "equivalence": f"an equivalence: A − B within ±{v.margin:g} ({e(v.metric)})",
                "trend": f"a trend: the gain A − B shrinks with size ({e(v.metric)})",
                "epochs": "epochs: A converges sooner than B (validation curves)"}.get(v.kind, e(v.kind))
        scope.append(f"<li>“{e(v.text)}” <code>{e(cid)}</code> <small>{what}</small>{_arms(v)}</li>")
    return (f"<h2 id='scope'>Scope: the claims</h2><p>{n_of(len(scope), 'claim', 'claims')} of the paper, "
            f"each judged as its paper file states it:</p><ul class='scope'>{''.join(scope)}</ul>")


def _ran_row(run: str, rv: list[Verdict], recs: list[dict], out_dir: Path, own_cuts: list[str]) -> str:
    """One run's row of what we ran: its regime and own cuts, stand-in, seeds and task-hours."""
    regime = next((v.regime for v in rv if v.regime), "")
    stand = "; ".join(dict.fromkeys(v.stand_in for v in rv if v.stand_in)) or "none: the paper's own network and data"
    seeds = [r.get("seed") for r in recs]
    page = _run_page(out_dir, recs)
    name = f"<a href='../{e(page)}'>{e(run)}</a>" if page else e(run)
    rung = "<br><small>a sensitivity rung, not counted</small>" if any(v.sensitivity for v in rv) else ""
    own = "".join(f"<li>{e(c)}</li>" for c in own_cuts)
    return (f"<tr><td>{name}{rung}</td><td>{e(regime)}{f'<ul>{own}</ul>' if own else ''}</td>"
            f"<td>{e(stand)}</td><td>{e(', '.join(str(s) for s in seeds)) or '—'}<br>"
            f"<small>{n_of(len(recs), 'record', 'records')}</small></td><td>{_hours(recs):.2f}</td></tr>")


def _ran(vs: list[Verdict], records: dict, cuts: tuple, out_dir: Path) -> str:
    """What we ran: a row per run, the compute in task-hours and the devices, the profile's cuts."""
    runs = list(dict.fromkeys(v.run for v in vs if v.run))
    profile_cuts, run_cuts = cuts
    rows = [_ran_row(run, [v for v in vs if v.run == run], records.get(run, []), out_dir, run_cuts.get(run, []))
            for run in runs]
    total = sum((_hours(records.get(run, [])) for run in runs), 0.0)
    devices = sorted({str(r.get("device")) for recs in records.values() for r in recs if r.get("device")})
    ran = (f"<table><tr><th>run</th><th>regime · its cuts</th><th>stand-in</th><th>seeds</th><th>task-hours</th></tr>"
           + "".join(rows) + "</table>" if rows else "<p>No run was read: no claim of this paper was tested here.</p>")
    return (f"<h2 id='ran'>What we ran</h2>{ran}"
            f"<p>Compute: {total:.2f} task-hours, the sum of the wall times of the "
            f"{n_of(sum(len(records.get(r, [])) for r in runs), 'record', 'records')} these runs wrote"
            + (f" (on {e(', '.join(devices))})" if devices else "") + ".</p>"
            + (f"<p>Besides each run's own cuts, the profile's {n_of(len(profile_cuts), 'cut', 'cuts')} for every "
               "run, listed on <a href='../index.html'>the render's page</a>.</p>" if profile_cuts else ""))


def _results(verdicts, evidence) -> list[str]:
    """Results, claim by claim (each row's evidence link on the scorecard), and the paper's own numbers checked."""
    cells = []
    for v, href in verdicts:
        where = e(v.run) + (" <small>(sensitivity rung, not counted)</small>" if v.sensitivity else "")
        link = f"<a href='../{e(href)}'>evidence</a>" if href else ""
        cells.append(f"<tr><td>“{e(v.text)}”<br><code>{e(v.claim_id)}</code>{_arms(v)}</td><td>{landing.figure_cell(v)}</td>"
                     f"<td>{landing.ours_cell(v)}</td><td>{verdict_span(v)}</td>"
                     f"<td>{where}</td><td>{link}</td></tr>")
    parts = ["<h2 id='results'>Results, claim by claim</h2><table><tr><th>claim</th><th>paper (± margin)</th>"
             "<th>ours (95% interval)</th><th>verdict</th><th>run</th><th></th></tr>" + "".join(cells) + "</table>"]
    if evidence:
        items = "".join(f"<li>{e(str(x.get('check', '')))}: {e(str(x.get('computed', '')))} "
                        f"<small>(the paper: “{e(str(x.get('quote', '')))}”; bears on {e(str(x.get('about', '')))})"
                        f"</small></li>" for x in evidence)
        parts.append(f"<h3>The paper's own numbers, checked</h3><ul class='hard'>{items}</ul>")
    return parts


def _hard(vs: list[Verdict], counted: list[Verdict]) -> str:
    """What was hard: budget flags and other flags per arm, stand-ins, claims not testable here and why."""
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
        ids = claim_ids([v for v in vs if v.stand_in == s])
        hard.append(f"<li>stand-in: {e(s)} <small>({e(ids)}: verdicts indicative)</small></li>")
    for v in vs:  # a rung of a ladder claim not judged, and why (docs/METHOD.md, Claims over a ladder)
        for r in v.extra.get("rungs") or []:
            if r.get("not_judged"):
                hard.append(f"<li><code>{e(v.claim_id)}</code> at {e(str(r['training images']))} images not judged: "
                            f"{e(r['not_judged'])}</li>")
    for v in counted:
        if claim_word(v) == UNTESTABLE:
            hard.append(f"<li><code>{e(v.claim_id)}</code> not testable here: {e(v.note or v.sentence or 'no reason recorded')}</li>")
    return ("<h2 id='hard'>What was hard</h2>"
            + (f"<ul class='hard'>{''.join(hard)}</ul>" if hard else
               "<p>No budget flag, no stand-in, every claim testable.</p>"))


def _label_rule(method: str) -> str:
    """The label's rule, its terms linked to docs/METHOD.md's sections where the page can reach it."""
    sections = ", ".join(f"<a href='{e(method)}#{slug}'>{e(name)}</a>" if method else e(name)
                         for name, slug in METHOD_SECTIONS)
    return (f"<h2 id='label'>The label</h2><p>{label_span(RE)} only when every testable claim holds or "
            f"matches on the paper's own network and data; {label_span(NOT_RE)} when a claim tested so is "
            f"contradicted or differs; otherwise {label_span(PARTIAL)}, with the reason. Sensitivity rungs and "
            f"claims not testable here do not move it. The verdict words: docs/METHOD.md ({sections}).</p>")


def _provenance(records: dict, judged) -> str:
    """Where it all came from: the run records' commits and the scorecard's."""
    judged = sorted(judged)
    rec_commits = sorted({str(r.get("git_commit")) for recs in records.values() for r in recs if r.get("git_commit")})
    return ("<p class='provenance'>"
            + (f"Records of commit {e(', '.join(c[:12] for c in rec_commits))}; " if rec_commits else "No run record read; ")
            + (f"judged by the scorecard's code at commit {e(', '.join(c[:12] for c in judged))}." if judged
               else "the scorecard's commit is not recorded.") + "</p>")


def paper_page(facts: PaperFacts, out_dir: Path, scorecard_pages: list[str]) -> str:
    """One paper's summary as a self-contained HTML page, from its `PaperFacts`; `scorecard_pages`: the
    render's scorecard pages it links back to."""
    out_dir = Path(out_dir)
    records = facts.records or {}
    vs = [v for v, _ in facts.verdicts]
    counted = [v for v in vs if not v.sensitivity]
    title = f"Paper {facts.paper}: a reproducibility summary"
    parts = [*_head(facts, title, scorecard_pages),
             _scope(counted),
             _ran(vs, records, facts.cuts, out_dir),
             *_results(facts.verdicts, facts.evidence),
             _hard(vs, counted),
             _label_rule(landing.method_link(out_dir / FOLDER)),
             _provenance(records, facts.judged)]
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")
