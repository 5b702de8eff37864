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

The label and its badges are `report.paper_label`'s, the page's HTML `report.paper_summary_page`'s; this
module reads the render and writes the pages, and every public name stays importable from here.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..io import write_text
from . import landing
from .paper_label import LABEL_COLOURS, NOT_RE, PARTIAL, RE, label, label_badge
from .paper_summary_page import CSS, FOLDER, PaperFacts, paper_page
from .tables import row_anchors

__all__ = ["CSS", "FOLDER", "LABEL_COLOURS", "NOT_RE", "PARTIAL", "PaperFacts", "RE", "label", "label_badge",
           "paper_page", "summary_item", "summary_link", "write_summaries"]


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


def summary_link(paper: str) -> str:
    """A paper's summary page, relative to the render folder."""
    return f"{FOLDER}/{paper}.html"


def summary_item(paper: str, verdicts, after: str = "") -> str:
    """A list item linking a paper's summary page with its label (from its `verdicts`), `after` it (HTML):
    the one form of the link on a render's index, its judgement page and beside the curves."""
    import html
    word, _ = label(list(verdicts))
    return (f"<li>{label_badge(word)} <a class='summary' href='{html.escape(summary_link(paper))}'>"
            f"paper {html.escape(paper)}: its reproducibility summary</a>{after}</li>")


def _by_paper(out_dir: Path, every: list) -> tuple[dict, dict]:
    """({paper: [(verdict, its row's link on the scorecard, '' for none)]}, {paper: the judging commits})."""
    anchors = row_anchors([{"id": v.claim_id, "run": v.run} for _, v in every])
    by_paper: dict[str, list] = {}
    commits: dict[str, set] = {}
    for (s, v), anchor in zip(every, anchors):
        href = f"{s.html}#{anchor}" if (out_dir / s.html).is_file() else ""
        by_paper.setdefault(v.paper, []).append((v, href))
        commits.setdefault(v.paper, set()).add(s.commit)
    return by_paper, commits


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
    pages = [s.html for s in scorecards if (out_dir / s.html).is_file()]
    by_paper, commits = _by_paper(out_dir, every)
    evidence = [x for s in scorecards for x in (s.record.get("metrics", {}).get("evidence") or [])]
    records = _run_records(out_dir / "results", {v.run for _, v in every if v.run})
    cuts = _profile_cuts(out_dir, profile)
    written = []
    for paper in sorted(by_paper):
        verdicts = by_paper[paper]
        mine = {v.run for v, _ in verdicts if v.run}
        facts = PaperFacts(paper, tuple(verdicts), PAPERS.get(paper, {}),
                           tuple(x for x in evidence if str(x.get("paper")) == paper),
                           {r: recs for r, recs in records.items() if r in mine}, cuts,
                           tuple(sorted(c for c in commits[paper] if c)))
        written.append(write_text(out_dir / FOLDER / f"{paper}.html", paper_page(facts, out_dir, pages)))
    return written
