"""The profile's index page (`index.html`) and its machine-readable twin (`index.json`)."""
from __future__ import annotations

import html
import json
from pathlib import Path

from ..io import write_json, write_text

__all__ = ["write_index"]

# How each verdict reads at a glance (VERDICTS.md's words), and its colour
VERDICT_CLASS = {"matches": "good", "holds": "good", "differs": "bad", "contradicted": "bad",
                 "inconclusive": "unsure"}


def scorecard_verdicts(results_dir: Path, entries: list[dict]) -> dict[str, list[dict]]:
    """{run: [claim rows]} from the records of the profile's scorecard tasks that ended ok (only those
    are read: the index is written after every task)."""
    out: dict[str, list[dict]] = {}
    for e in entries:
        path = Path(results_dir) / f"{e['name']}.json"
        if e.get("notebook") != "06_scorecard" or e["status"] != "ok" or not path.is_file():
            continue
        rec = json.loads(path.read_text())
        for row in rec.get("metrics", {}).get("claims", []):
            if row.get("run"):
                out.setdefault(row["run"], []).append(row)
    return out


def _verdict_cell(rows: list[dict]) -> str:
    return " ".join(
        f"<span class='v {VERDICT_CLASS.get(r['verdict'], 'unsure')}' title='{html.escape(r.get('claim', ''))}'>"
        f"{html.escape(r['id'])}: {html.escape(r['verdict'])}{' (indicative)' if r.get('indicative') else ''}"
        f"{' n=' + str(r['n']) if r.get('n') else ''}</span>" for r in rows)


def _log_link(entry: dict) -> str:
    log = entry.get("log")
    return f"<a href='{html.escape(log)}'>log</a>" if log else ""


def write_index(out_dir: Path, profile, entries: list[dict], pending: list[str] = ()) -> Path:
    """reports/<profile>/index.html and index.json: each task's report, status, headline, the scorecard's
    verdicts on its run, wall time, node and log; then the profile's tasks not run yet (`pending`), so a
    render in progress does not read as a finished one.

    The total is the sum of the tasks' wall times, so it stays right when some of them are rerun.
    """
    total_s = sum(e["wall_s"] for e in entries)
    write_json(out_dir / "index.json", {"profile": profile.name, "title": profile.title,
                                        "total_wall_s": round(total_s, 1), "runs": entries,
                                        "not_run_yet": list(pending)})
    verdicts = scorecard_verdicts(out_dir / "results", entries)
    rows = "\n".join(
        f"<tr class='{e['status']}'><td><a href='{html.escape(e['html'])}'>{html.escape(e['name'])}</a></td>"
        f"<td>{html.escape(e['status'])}</td><td>{html.escape(e['headline'] or e['error'])}</td>"
        f"<td>{_verdict_cell(verdicts.get(e.get('run', ''), []))}</td>"
        f"<td>{e['wall_s']:.0f} s</td><td>{html.escape(str(e.get('node', '')))}</td>"
        f"<td>{_log_link(e)}</td></tr>" for e in entries)
    rows += "".join(f"\n<tr class='pending'><td>{html.escape(name)}</td><td>not run yet</td><td></td><td></td>"
                    "<td></td><td></td><td></td></tr>" for name in pending)
    cuts = "".join(f"<li>{html.escape(c)}</li>" for c in profile.cuts)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(profile.title)}</title>
<style>body{{font-family:sans-serif;max-width:1300px;margin:2em auto}} td,th{{padding:4px 10px;
border-bottom:1px solid #ddd;text-align:left;vertical-align:top}} tr.failed td,tr.interrupted td{{background:#fdd}} tr.pending td{{color:#888}}
.v{{display:inline-block;margin:1px 2px;padding:0 4px;border-radius:3px;font-size:90%}} .good{{background:#d4f4d4}}
.bad{{background:#f8d0d0}} .unsure{{background:#eee}}</style></head><body>
<h1>{html.escape(profile.title)}</h1><p>Profile <b>{html.escape(profile.name)}</b>: {len(entries) + len(pending)} tasks,
{sum(e['status'] == 'ok' for e in entries)} ok{f", {len(pending)} not run yet" if pending else ""}, total wall time
{total_s / 60:.1f} min (summed over tasks).
Verdicts are the scorecard's (notebook 06), over every seed of a run.</p>
{f'<p>What this profile changes from the papers:</p><ul>{cuts}</ul>' if cuts else ''}
<table><tr><th>report</th><th>status</th><th>headline</th><th>verdicts</th><th>wall time</th><th>node</th><th>log</th></tr>
{rows}</table></body></html>"""
    return write_text(out_dir / "index.html", page)
