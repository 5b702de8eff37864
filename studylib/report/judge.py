"""`studylib judge RENDER`: the paper files' claims over a ladder of sizes (docs/METHOD.md, Claims over a
ladder) judged on a curves render's committed records, nothing trained.

A render's own scorecard stays of its render's commit; a judgement is its own artefact beside it, naming two
commits: the records' (every record read, with its sha256) and the one whose paper files and rules judged
them. It writes, each atomically: `judgement.json` (a scorecard-shaped record: `metrics.claims` holds one
row per claim, as every scorecard row is written, `Verdict.to_row`), `judgement.html` (the answer first:
the plain sentence, the claims by paper, then each claim rung by rung; `report.judgement_page`) and a
reproducibility summary per paper judged (`papers/<id>.html`, `report.paper_summary`).
"""
from __future__ import annotations

import datetime
from pathlib import Path

from ..io import sha256_file, write_json, write_text
from ..study.claims import ladder_claims
from ..study.ladder_verdicts import Ladder, judge
from . import records
from .judgement_record import JUDGEMENT, card
from .curves import DATASET_NAMES, NOTEBOOK, points_from_records

__all__ = ["JUDGEMENT", "JudgeError", "judge_render", "ladders", "write_judgement"]


class JudgeError(ValueError):
    """A render `studylib judge` cannot judge (the message names the folder and what to do)."""


def _provenance(results: Path) -> tuple[dict, list[dict], set[str]]:
    """({dataset: (run name, a record's params)}, [{file, sha256}] of every curves record read, their commits)."""
    runs, read, commits = {}, [], set()
    for path, rec in records.iter_records(results, "*.json"):
        if rec.get("notebook") != NOTEBOOK:
            continue
        read.append({"file": path.name, "sha256": sha256_file(path)})
        commits.add(str(rec.get("git_commit") or "unknown"))
        params = rec.get("params") or {}
        if "--" in path.stem:  # a point task's record (the summary record names the dataset's run)
            runs.setdefault(params.get("dataset"), (rec.get("run_name") or path.stem.split("--")[0], params))
    return runs, read, commits


def _regime(points: list[dict], params: dict) -> str:
    """The ladder's regime in words, from its points: dataset and input size, rungs, each arm's epoch cap,
    seeds, network."""
    q0 = points[0]
    sizes = sorted({q["n"] for q in points})
    caps = {}
    for q in points:
        caps.setdefault(q.get("name") or q["arm"], (q["entry"].get("config") or {}).get("epochs"))
    seeds = len({q["seed"] for q in points})
    return (f"{DATASET_NAMES.get(q0['dataset'], q0['dataset'])} at {q0['input']} px; {len(sizes)} rungs, "
            f"{sizes[0]:,} to {sizes[-1]:,} training images; epoch caps: "
            + ", ".join(f"{arm} {cap}" for arm, cap in caps.items() if cap) + f"; {seeds} seeds; "
            f"{params.get('backbone', '?')}, {'pretrained on ImageNet' if params.get('pretrained', True) else 'random init'}")


def _classes(points: list[dict]) -> int:
    report = (points[0]["entry"].get("test") or {}).get("report") or []
    if report:
        return len(report)
    return 1 + max(int(max(q["predictions"]["best"][0])) for q in points)


def ladders(render) -> tuple[list[Ladder], list[dict], set[str]]:
    """(one `Ladder` per dataset, the records read with their sha256, their commits) of a render's results."""
    results = Path(render) / "results"
    points = points_from_records(results)
    runs, read, commits = _provenance(results)
    by_dataset: dict[str, list[dict]] = {}
    for q in points:
        by_dataset.setdefault(q["dataset"], []).append(q)
    out = []
    for dataset, qs in sorted(by_dataset.items()):
        run, params = runs.get(dataset, (f"{NOTEBOOK}-{dataset}", {"dataset": dataset}))
        rungs: dict[int, dict] = {}
        for q in sorted(qs, key=lambda q: q["seed"]):
            rungs.setdefault(int(q["n"]), {}).setdefault(q["arm"], []).append(q)
        out.append(Ladder(run=run, params=params, rungs=rungs, regime=_regime(qs, params), n_classes=_classes(qs)))
    return out, read, commits


def judge_render(render, allow_mixed: bool = False) -> dict:
    """The judgement of a render as a scorecard-shaped record (not written). JudgeError when the folder holds
    no curves records, or records of several commits (unless `allow_mixed`)."""
    render = Path(render)
    found, read, commits = ladders(render)
    if not found:
        raise JudgeError(f"{render}: no records of notebook {NOTEBOOK} under {render / 'results'}; judge a curves "
                         "render (e.g. reports/curves, written by `studylib run --profile curves`)")
    if len(commits) > 1 and not allow_mixed:
        raise JudgeError(f"{render}: its records come from {len(commits)} commits ({', '.join(sorted(commits))}); "
                         "judge one render's records, or pass --allow-mixed to judge them together")
    claims = ladder_claims()
    rows = [v.to_row() for v in judge(claims, found)]
    own = records.git_commit()
    papers = sorted({c.paper for c in claims})
    judged = sum(r["verdict"] != "not testable here" for r in rows)
    return {"experiment": JUDGEMENT, "notebook": JUDGEMENT, "run_name": JUDGEMENT, "task": JUDGEMENT,
            "headline": f"Papers {', '.join(papers)}: {judged} of {len(rows)} claims judged on {len(read)} records "
                        f"of commit {', '.join(c[:12] for c in sorted(commits))}, by the paper files and rules of "
                        f"commit {own[:12]}; nothing trained",
            "git_commit": own, "records_commit": sorted(commits), "records": read, "papers": papers,
            "command": f"studylib judge {render}", "metrics": {"claims": rows},
            "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def write_judgement(render, allow_mixed: bool = False) -> list[Path]:
    """judgement.json, judgement.html and papers/<id>.html in the render folder, each written atomically;
    the paths written."""
    from .judgement_page import page
    from .paper_summary import summary_link, write_summaries
    render = Path(render)
    record = judge_render(render, allow_mixed)
    written = [write_json(render / f"{JUDGEMENT}.json", record)]
    # the page first, linking the summaries it is about to have, so that each summary links back to it
    tested = {r["paper"] for r in record["metrics"]["claims"]}
    written.append(write_text(render / f"{JUDGEMENT}.html",
                              page(record, render, [summary_link(p) for p in record["papers"] if p in tested])))
    return written + write_summaries(render, [card(record)])
