"""The profile's index page (`index.html`), claim first, and its machine-readable twin (`index.json`).

The page opens on what the study found: the scorecard's headline and forest plot, then one row per claim
grouped by paper (`landing`), the legend of the verdict words and the profile's cuts; the tasks that made
it (report, status, headline, wall time, log) are folded below. Until a scorecard has judged a claim (a
render in progress, a profile without one, the demo's and smoke runs' generated data) the page says so in
one line and shows the task table open.

The page links only what is committed (`publish`): a task whose page is not (a run's other seeds and grid
points) shows its name, says its page is kept where the run ran, and links its record; logs are named, not
linked. The index also writes the folder's .gitignore saying so (`publish.write_ignore`).
"""
from __future__ import annotations

import html
import json
from pathlib import Path

from ..io import write_json, write_text
from ..study.task import SMOKE_SUFFIX, proves_only_the_pipeline
from . import diff, judgement_record, landing, paper_summary, publish

__all__ = ["rewrite_index", "write_index"]

CSS = """body{font-family:-apple-system,'Segoe UI',Roboto,Arial,sans-serif;max-width:1300px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.4} h1{margin-bottom:.3em} h2{margin-top:1.6em}
.banner{background:#fff3cd;border:2px solid #e0a800;padding:.5em .8em;font-weight:bold}
nav{margin:.4em 0 1em;color:#555}
.headline{font-size:92%;color:#444;border-left:4px solid #4a6fa5;padding:.2em .8em}
.source,.margins,.none-yet{color:#444} .none-yet{font-size:110%;border-left:4px solid #999;padding:.3em .8em}
img.forest{max-width:min(100%,1100px);display:block;margin:1em 0}
section.answer{display:flex;gap:1.5em;align-items:flex-start;flex-wrap:wrap}
.answer-text{flex:3 1 600px} aside.answer-legend{flex:2 1 380px;font-size:90%;background:#fafafa;
border:1px solid #e3e3e3;padding:.4em .8em} aside.answer-legend ul.legend li{margin:.15em 0}
p.plain{font-size:125%;line-height:1.45;margin:.2em 0 .6em}
#claims .est,#claims .ci{white-space:nowrap} #claims .stand-in{color:#555}
ul.legend{list-style:none;padding-left:0} ul.legend li{margin:.3em 0}
#claims code.claim-id{color:#666;font-size:85%} #claims small{color:#555}
#claims .paper-id{font-family:monospace;color:#555} #claims .paper-title{font-style:italic}
details.tasks{margin-top:1.5em} details.tasks>summary{cursor:pointer;font-size:110%;font-weight:bold}
details.tasks table{border-collapse:collapse;margin-top:.5em}
details.tasks table td,details.tasks table th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left;
vertical-align:top} details.tasks tr.failed td,details.tasks tr.interrupted td{background:#fdd}
details.tasks tr.pending td{color:#888} details.tasks small.kept,details.tasks p.kept{color:#666}
ul.summaries{list-style:none;padding-left:0} ul.summaries li{margin:.3em 0} ul.summaries .paper-id{display:none}
ul.summaries .paper-title{font-style:italic}"""


def _wall(s: float) -> str:
    return f"{s / 60:.1f} min" if s >= 120 else f"{s:.0f} s"


def _report_cell(e: dict, kept: set, results: Path | None) -> str:
    """A task's report: its page linked, or, for a page not committed, its name, where the page is and its
    record (when there is one)."""
    e_ = html.escape
    if e["name"] not in kept:
        return f"<a href='{e_(e['html'])}'>{e_(e['name'])}</a>"
    record = results / f"{e['name']}.json" if results is not None else None
    link = f" · <a class='record' href='results/{e_(record.name)}'>record</a>" if record and record.is_file() else ""
    return f"{e_(e['name'])}<br><small class='kept'>page {publish.KEPT}{link}</small>"


def _task_rows(entries: list[dict], pending, with_node: bool, kept: set = frozenset(), logs: bool = True,
               results: Path | None = None) -> str:
    e_ = html.escape
    rows = []
    for e in entries:
        log = (f"<td><a href='{e_(e['log'])}'>log</a></td>" if e.get("log") else "<td></td>") if logs else ""
        node = f"<td>{e_(str(e.get('node', '')))}</td>" if with_node else ""
        rows.append(f"<tr class='{e_(e['status'])}'><td>{_report_cell(e, kept, results)}</td>"
                    f"<td>{e_(e['status'])}</td><td>{e_(e['headline'] or e['error'])}</td>"
                    f"<td>{_wall(e['wall_s'])}</td>{node}{log}</tr>")
    node = "<td></td>" if with_node else ""
    log = "<td></td>" if logs else ""
    rows += [f"<tr class='pending'><td>{e_(name)}</td><td>not run yet</td><td></td><td></td>{node}{log}</tr>"
             for name in pending]
    return "\n".join(rows)


def _task_table(entries: list[dict], pending, total_s: float, open_: bool, kept: set = frozenset(),
                logs: bool = True, results: Path | None = None) -> str:
    """Every task of the profile, in <details> (open when there is no claim table above it). `kept`: the
    tasks whose page is not committed; `logs`: whether the logs are linked (not where they are not
    committed: a line says where they are)."""
    nodes = {str(e.get("node")) for e in entries if e.get("node")}
    with_node = len(nodes) > 1  # one node says nothing: shown only when the tasks ran on several
    failed = sum(e["status"] not in ("ok",) for e in entries)
    summary = (f"Tasks: {len(entries) + len(pending)} tasks,\n{sum(e['status'] == 'ok' for e in entries)} ok"
               f"{f', {len(pending)} not run yet' if pending else ''}{f', {failed} not ok' if failed else ''}, "
               f"total wall time {total_s / 60:.1f} min (summed over tasks)")
    head = "<tr><th>report</th><th>status</th><th>headline</th><th>wall time</th>" + \
           ("<th>node</th>" if with_node else "") + ("<th>log</th>" if logs else "") + "</tr>"
    note = ""
    if not logs:
        shown = len(entries) - sum(e["name"] in kept for e in entries)
        note = (f"<p class='kept'>Committed here: this index, {shown} of the {len(entries)} tasks' pages (one per "
                "run: its first grid point, first seed) and every task's record and predictions (<code>results/"
                "</code>). The other pages, each task's log (<code>logs/&lt;task&gt;.log</code>) and state are "
                f"{publish.KEPT}.</p>")
    return (f"<details class='tasks'{' open' if open_ else ''}><summary>{html.escape(summary)}</summary>\n"
            f"<table>{head}\n{_task_rows(entries, pending, with_node, kept, logs, results)}</table>{note}</details>")


def _no_claims_line(profile, entries: list[dict], pending, scorecards: list) -> str:
    """One line saying why no claim is shown: no scorecard in this profile, not run yet, failed, or the
    demo's and smoke runs' generated data (their scorecard judges nothing)."""
    e_ = html.escape
    if scorecards:
        verdicts = [r.get("verdict") for s in scorecards for r in s.rows]
        link = ", ".join(f"<a href='{e_(s.html)}'>{e_(s.html)}</a>" for s in scorecards)
        if not proves_only_the_pipeline(profile.name):
            return f"The scorecard ({link}) holds no claim row: no claim of the registry was judged."
        untested = verdicts and all(v == "not testable here" for v in verdicts)
        return (f"The scorecard ({link}) judges no claim here: generated data shows the pipeline runs, nothing "
                f"more" + (f"; all {len(verdicts)} of its claims read “not testable here”." if untested else "."))
    names = [t.name for t in getattr(profile, "tasks", []) if t.notebook == landing.SCORECARD_NOTEBOOK]
    ran = [e for e in entries if e.get("notebook") == landing.SCORECARD_NOTEBOOK or e["name"] in names]
    if ran:
        e = ran[-1]
        return (f"The scorecard did not finish ({e_(e['status'])}): see <a href='{e_(e['html'])}'>its report</a>"
                + (f" and <a href='{e_(e['log'])}'>its log</a>" if e.get("log") else "")
                + "; the claims show here once it runs again.")
    if names:
        return (f"No scorecard yet: the render is in progress ({len(entries)} of {len(entries) + len(pending)} "
                "tasks done); the claims show here once the scorecard has run.")
    readers = {t.name for t in getattr(profile, "tasks", []) if t.upstream}  # a sweep's table, say
    found = [e for e in entries if e["name"] in readers and e["status"] == "ok"]
    return ("This profile has no scorecard: it judges no paper claim"
            + (" (what it found: " + ", ".join(f"<a href='{e_(e['html'])}'>{e_(e['html'])}</a>" for e in found) + ")"
               if found else "") + ". Its tasks are listed below.")


def _curves_answer(results: Path) -> str:
    """The curves' two answers as pictures (`curves_answer`), when the folder holds a curves summary record
    (looked for by name first: the module imports torch, which an index of another profile need not)."""
    if not any("--" not in p.stem for p in results.glob("08_curves-*.json")):
        return ""
    from . import curves_answer
    return curves_answer.answer_section(results)


def _judgement(out_dir: Path) -> str:
    """Where a judgement sits beside the render (`studylib judge`, report.judge: judgement.json), a line linking
    its page and each paper's summary with its label; '' when none."""
    judged = judgement_record.read(out_dir)
    if judged is None:
        return ""
    e_ = html.escape
    record, verdicts = judged.record, judged.verdicts
    items = [paper_summary.summary_item(p, [v for v in verdicts if v.paper == p]) for p in record.get("papers") or []
             if (out_dir / paper_summary.summary_link(p)).is_file()]
    return (f"<h2 id='judgement'>Papers judged on these records</h2><p><a href='judgement.html'>{e_(record['headline'])}</a>"
            f" (<code>{e_(record.get('command', 'studylib judge'))}</code>).</p><ul class='summaries'>{''.join(items)}</ul>")


def _summaries_list(out_dir: Path, scorecards: list, papers: dict, written) -> str:
    """The link to each paper's reproducibility summary (`paper_summary`, papers/<id>.html), with its label."""
    shown = {Path(p).stem for p in written}
    items = [paper_summary.summary_item(paper, [v for s in scorecards for v in s.verdicts if v.paper == paper],
                                        " " + landing.paper_heading(paper, papers.get(paper, {}), out_dir))
             for paper in sorted(shown)]
    return (f"<h2 id='summaries'>Per paper: a reproducibility summary</h2><ul class='summaries'>{''.join(items)}</ul>"
            if items else "")


def _page(out_dir: Path, profile, entries: list[dict], pending, total_s: float, summaries=(),
          regimes: Path | None = None) -> str:
    from ..study.claims import PAPERS
    e_ = html.escape
    scorecards = landing.read_scorecards(out_dir / "results", entries)
    demo = proves_only_the_pipeline(profile.name)
    judged = scorecards and not demo and any(s.rows for s in scorecards)
    parts = [f"<h1>{e_(profile.title)}</h1>"]
    if demo:
        word = "SMOKE" if profile.name.endswith(SMOKE_SUFFIX) else "DEMO"
        parts.append(f"<p class='banner'>{word}: generated data and tiny settings; this render shows that the "
                     "pipeline runs, its numbers judge no paper claim.</p>")
    curves = "" if judged else _curves_answer(out_dir / "results")
    siblings = landing.navigation(out_dir)
    if curves:  # the curves judge no claim: they link the render whose scorecard judges the papers, not a sweep
        siblings = [(t, h) for t, h in siblings if "/sweep-" not in h] + landing.claim_renders(out_dir)
    nav = [f"Profile <b>{e_(profile.name)}</b>"]
    nav += [f"<a class='sibling' href='{e_(href)}'>{e_(label)}</a>" for label, href in siblings]
    if regimes is not None:  # each claim judged more than once, its verdicts side by side (`diff`)
        nav.append(f"<a class='regimes' href='{e_(regimes.name)}'>regimes</a>")
    parts.append("<nav>" + " · ".join(nav) + "</nav>")
    if judged:
        parts.append(landing.claim_section(scorecards, PAPERS, out_dir))
        parts.append(_summaries_list(out_dir, scorecards, PAPERS, summaries))
    elif curves:
        parts.append(curves + _judgement(out_dir))
    else:
        parts.append(f"<p class='none-yet'>{_no_claims_line(profile, entries, pending, scorecards)}</p>")
    if profile.cuts:
        cuts = "".join(f"<li>{e_(c)}</li>" for c in profile.cuts)
        parts.append(f"<h2>What this profile changes from the papers</h2><ul class='cuts'>{cuts}</ul>")
    kept = set(publish.unpublished(_tasks(profile, entries), profile.name))
    parts.append(_task_table(entries, pending, total_s, open_=not (judged or curves), kept=kept,
                             logs=not publish.commits(profile.name), results=out_dir / "results"))
    return (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{e_(profile.title)}</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>")


def _tasks(profile, entries: list[dict]) -> list:
    """The profile's tasks in its order (its index entries where it lists none), for `publish`."""
    tasks = list(getattr(profile, "tasks", None) or [])
    names = {t.name for t in tasks}
    return tasks + [e for e in entries if e["name"] not in names]


def write_index(out_dir: Path, profile, entries: list[dict], pending: list[str] = ()) -> Path:
    """reports/<profile>/index.html and index.json: the scorecard's claims first (headline, forest plot, one
    row per claim by paper), then each task's report, status, headline, wall time and log, folded; then the
    profile's tasks not run yet (`pending`), so a render in progress does not read as a finished one. Also
    the folder's .gitignore (`publish.write_ignore`): the pages, logs and states not committed, and the
    curves' point memos once every task ended ok.

    The total is the sum of the tasks' wall times, so it stays right when some of them are rerun.
    """
    out_dir = Path(out_dir)
    total_s = sum(e["wall_s"] for e in entries)
    write_json(out_dir / "index.json", {"profile": profile.name, "title": profile.title,
                                        "total_wall_s": round(total_s, 1), "runs": entries,
                                        "not_run_yet": list(pending)})
    tasks = _tasks(profile, entries)
    publish.write_ignore(out_dir, tasks, profile.name, publish.complete(tasks, entries) and not pending)
    summaries = []
    scorecards = [] if proves_only_the_pipeline(profile.name) else landing.read_scorecards(out_dir / "results", entries)
    if scorecards:  # a scorecard record: one reproducibility summary per paper it judges (papers/<id>.html)
        summaries = paper_summary.write_summaries(out_dir, scorecards, profile)
    # beside the index where the folder's scorecard holds claim rows: regimes.html (`diff.write_regimes_page`)
    regimes = diff.write_regimes_page(out_dir) if publish.commits(profile.name) else None
    page = _page(out_dir, profile, entries, list(pending), total_s, summaries, regimes)
    return write_text(out_dir / "index.html", page)


def rewrite_index(out_dir) -> Path:
    """index.html (and its .gitignore) written again from the render's index.json, nothing run: through
    `write_index` with the profile file of the same name when it lists the same tasks; else (the profile
    changed since) the page as it is, its links to what is not committed made text."""
    from ..study.profile import ParamsError, load_profile
    from .lighten import unlink
    out_dir = Path(out_dir)
    index = json.loads((out_dir / "index.json").read_text())
    names = [e["name"] for e in index["runs"]] + list(index.get("not_run_yet", []))
    try:
        profile = load_profile(index["profile"], data_dir="generated")  # its data is not read
    except (ParamsError, OSError):
        profile = None
    if profile is not None and [t.name for t in profile.tasks] == names:
        return write_index(out_dir, profile, index["runs"], index.get("not_run_yet", []))
    path = out_dir / "index.html"
    pages, dirs = publish.hidden_links(out_dir, path.name)
    return write_text(path, unlink(path.read_text(encoding="utf-8"), pages, dirs))
