"""The profile's index page (`index.html`) and its machine-readable twin (`index.json`)."""
from __future__ import annotations

import html
from pathlib import Path

from ..io import write_json, write_text

__all__ = ["write_index"]


def _log_link(entry: dict) -> str:
    log = entry.get("log")
    return f"<a href='{html.escape(log)}'>log</a>" if log else ""


def write_index(out_dir: Path, profile, entries: list[dict]) -> Path:
    """reports/<profile>/index.html and index.json: each task's report, status, headline, wall time, node, log.

    The total is the sum of the runs' wall times, so it stays right when `--only` reruns some of them.
    """
    total_s = sum(e["wall_s"] for e in entries)
    write_json(out_dir / "index.json", {"profile": profile.name, "title": profile.title,
                                        "total_wall_s": round(total_s, 1), "runs": entries})
    rows = "\n".join(
        f"<tr class='{e['status']}'><td><a href='{html.escape(e['html'])}'>{html.escape(e['name'])}</a></td>"
        f"<td>{html.escape(e['status'])}</td><td>{html.escape(e['headline'] or e['error'])}</td>"
        f"<td>{e['wall_s']:.0f} s</td><td>{html.escape(str(e.get('node', '')))}</td>"
        f"<td>{_log_link(e)}</td></tr>" for e in entries)
    cuts = "".join(f"<li>{html.escape(c)}</li>" for c in profile.cuts)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(profile.title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}} td,th{{padding:4px 10px;
border-bottom:1px solid #ddd;text-align:left}} tr.failed td{{background:#fdd}}</style></head><body>
<h1>{html.escape(profile.title)}</h1><p>Profile <b>{html.escape(profile.name)}</b>: {len(entries)} runs,
{sum(e['status'] == 'ok' for e in entries)} ok, total wall time {total_s / 60:.1f} min.</p>
{f'<p>What this profile changes from the papers:</p><ul>{cuts}</ul>' if cuts else ''}
<table><tr><th>report</th><th>status</th><th>headline</th><th>wall time</th><th>node</th><th>log</th></tr>
{rows}</table></body></html>"""
    return write_text(out_dir / "index.html", page)
