"""judgement.html: a judgement's page (`report.judge`), the answer first as on every page of the study: the
plain sentence and the claims by paper (the landing page's claim section, read from the judgement's record
as a scorecard's), then each claim rung by rung, the per-paper summaries and the provenance (the two
commits). Self-contained (CSS inline, the forest plot a data URI) and offline."""
from __future__ import annotations

import html
from pathlib import Path

from ..study.claims import PAPERS
from ..study.verdict_types import Verdict
from . import judgement_record, landing
from .index import CSS
from .lighten import LINK
from .paper_summary import summary_item
from .tables import claim_anchor

__all__ = ["page"]

e = html.escape
RUNG_CSS = """table.rungs{border-collapse:collapse;margin:.3em 0 1.2em} table.rungs td,table.rungs th{padding:3px 9px;
border-bottom:1px solid #ddd;text-align:left;vertical-align:top} table.rungs td.num{white-space:nowrap}
p.provenance{color:#444;font-size:92%} h3 code{font-size:80%;color:#666}"""


def _num(v: Verdict, x) -> str:
    return "—" if x is None else (f"{x:+.1f}" if v.kind == "epochs" else f"{x:+.3f}")


def _rungs(v: Verdict) -> str:
    """One claim's rungs as a table: images, estimate, interval, Holm p, word and why."""
    rows = []
    for r in v.extra.get("rungs") or []:
        why = r.get("budget_limited") and f"budget-limited: {r['budget_limited']}" or r.get("not_judged") or ""
        p = "—" if r.get("p_adjusted") is None else f"{r['p_adjusted']:.3g}"
        rows.append(f"<tr><td class='num'>{e(str(r['training images']))}</td><td class='num'>{_num(v, r['estimate'])}</td>"
                    f"<td class='num'>[{_num(v, r['ci'][0])}, {_num(v, r['ci'][1])}]</td><td class='num'>{p}</td>"
                    f"<td>{e(r['verdict'])}</td><td>{e(why)}</td></tr>")
    unit = "epochs" if v.kind == "epochs" else v.metric.replace("_", " ")
    head = f"<h3 id='{e(claim_anchor(v.claim_id))}'>{e(v.text)} <code>{e(v.claim_id)}</code></h3><p>{e(v.sentence)}</p>"
    return (f"{head}<table class='rungs'><tr><th>training images</th><th>estimate ({e(unit)})</th><th>95% interval</th>"
            f"<th>Holm p</th><th>verdict</th><th>why</th></tr>{''.join(rows)}</table>" if rows else head)


def _provenance(record: dict) -> str:
    theirs = ", ".join(c[:12] for c in record.get("records_commit") or [])
    return (f"<p class='provenance'>Judged by the paper files (papers/{{{', '.join(record['papers'])}}}.yaml) and "
            f"rules (studylib/study/rules.py) of commit <code>{e(record['git_commit'][:12])}</code>, on the "
            f"{len(record['records'])} records of commit <code>{e(theirs)}</code> under results/ (each record's "
            f"sha256 in {e(record['run_name'])}.json); nothing was trained. <code>{e(record['command'])}</code> "
            "writes this page, its JSON and the summaries again.</p>")


def page(record: dict, render: Path, summaries) -> str:
    """The page's HTML (`summaries`: the paper summary pages written beside it)."""
    render = Path(render)
    card = judgement_record.card(record)
    title = f"Papers {', '.join(record['papers'])}, judged on this render's records"
    method = landing.method_link(render)
    nav = ["<a href='index.html'>this render (the curves)</a>"]
    nav += [f"<a href='{e(method)}#claims-over-a-ladder'>how a claim over a ladder is judged</a>"] if method else []
    shown = {Path(p).stem for p in summaries}
    items = [summary_item(pid, [v for v in card.verdicts if v.paper == pid]) for pid in record["papers"] if pid in shown]
    parts = [f"<h1>{e(title)}</h1>", _provenance(record), "<nav>" + " · ".join(nav) + "</nav>",
             landing.claim_section([card], PAPERS, render),
             "<h2 id='rungs'>Each claim, rung by rung</h2>" + "".join(_rungs(v) for v in card.verdicts),
             f"<h2 id='summaries'>Per paper: a reproducibility summary</h2><ul class='summaries'>{''.join(items)}</ul>"
             if items else ""]
    # the render folder's stylesheet in the head, as on its other pages (report.lighten); this page's own
    # rules, the index's and its rung tables', in its body
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{e(title)}</title>\n{LINK}\n"
            f"</head><body>\n<style>{CSS}\n{RUNG_CSS}</style>\n" + "\n".join(parts) + "\n</body></html>\n")
