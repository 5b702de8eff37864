"""The scorecard (notebook 06), as docs/METHOD.md says (What a scorecard row shows): every claim of the registry judged over the
seeds of this profile's run records (`scorecard_judge`: the records read and judged; its names are
re-exported here, where notebook 06 calls them); the rows as shown (`table`: one number format, the seeds
linked to their reports), and the page's parts, laid out by `scorecard_view`: the legend, the forest plot,
the claims grouped by paper, per class, evidence, data checks, every run, and the records it read (folded)."""
from __future__ import annotations

import re
from collections import Counter

import pandas as pd
from IPython.display import Markdown

from ..study.claims import PAPERS
from ..study.verdicts import Verdict
from ..train.experiment import PROTOCOLS
from . import records
from . import scorecard_view as view
from .scorecard_judge import commits, evaluate, evidence, read, records_read, verdicts_of
from .tables import fmt_ci, row_anchors, verdict_badge

__all__ = ["anchors", "checks_table", "claims_table", "commits", "evaluate", "evidence", "evidence_table",
           "forest_plot", "headline", "headlines", "legend", "paper_title", "per_class", "read", "records_read",
           "records_section", "runs_table", "summary", "table", "verdicts_of"]


def _resolution(v: Verdict) -> str:
    """Resolvability of a value claim, or the difference an order claim's design detects (docs/METHOD.md,
    Resolvability; Power and seeds needed)."""
    half = v.interval.image_half_width if v.interval else None
    if v.kind == "value" and v.resolvable is False:
        return f"the test set cannot resolve ±{v.margin:.3f} (image noise alone ±{half:.3f})"
    if v.kind == "value" and half is not None:
        return f"image noise alone ±{half:.3f}"
    if v.kind == "order" and v.detectable is not None:
        more = "" if v.word != "inconclusive" or v.budget_limited else (
            f"; about {v.seeds_needed} seeds would resolve it" if v.seeds_needed is not None else
            "; no number of seeds would resolve it")
        return f"detects {v.detectable:.3f} with 80% power{more}"
    return ""


def paper_title(paper: str) -> str:
    """A paper's row-group label: its id, authors, title and year (study.claims.PAPERS)."""
    ref = PAPERS.get(str(paper), {})
    who = f"{ref['authors']}, " if ref.get("authors") else ""
    title = f"“{ref['title']}”" if ref.get("title") else ""
    year = f" ({ref['year']})" if ref.get("year") else ""
    return f"Paper {paper} · {who}{title}{year}".rstrip(" ·")


def _tasks_by_run(recs) -> dict[str, list[tuple]]:
    """{run: [(seed, task)]} of the records read, by seed: the seed reports a claim's figures came from."""
    out: dict[str, list] = {}
    for path, r in recs:
        out.setdefault(r.get("run_name") or r.get("experiment"), []).append((r.get("seed"), r.get("task", path.stem)))
    return {run: sorted(tasks, key=lambda st: (st[0] is None, st[0] or 0)) for run, tasks in out.items()}


def anchors(card: pd.DataFrame) -> list[str]:
    """Each claim row's HTML id (tables.claim_anchor): the run named only when a claim is on several runs."""
    return row_anchors([{"id": cid, "run": run if isinstance(run, str) else ""} for cid, run in zip(card["id"], card["run"])])


def table(card: pd.DataFrame, recs=()) -> pd.DataFrame:
    """The scorecard's rows as shown (docs/METHOD.md, What a scorecard row shows), one per claim row, each number formatted once
    (3 decimals): per claim, its paper, the paper's figure, ours (mean ± sd, A − B for an order), the
    interval the verdict used, n and the seed reports, the verdict badge (budget-limited where our budget
    decides it) and its sentence, flags and regime, the stand-in, resolvability or detectable difference,
    the protocol tested and the paper's where ours differs. `claims_table` lays it out."""
    def other(o):
        if not isinstance(o, dict) or o.get("estimate") is None:
            return ""
        return f"{PROTOCOLS[o['test_protocol']]}: {o['estimate']:.3f} {fmt_ci(o['ci'])}, {o['verdict']}"

    def paper_fig(v: Verdict):
        if v.kind == "order":
            return f"A − B > {v.margin:.3f}"
        return "" if v.paper_value is None else f"{v.paper_value:.3f} ± {v.margin:.3f}"

    def ours(v: Verdict):
        if v.interval is None:
            return ""
        est, sd = v.interval.estimate, v.interval.sd
        return f"A − B = {est:+.3f} ± {sd:.3f}" if v.kind == "order" else f"{est:.3f} ± {sd:.3f}"

    def label(v: Verdict, arm):  # an untested row has no arm labels
        return (v.arm_labels or {}).get(arm, arm)

    def arms(v: Verdict):  # an order's labels "A: ..." and "B: ..." are shown without their "A: " / "B: "
        labels = [re.sub(r"^[AB]:\s*", "", label(v, a)) for a in v.arms]
        return f"A: {labels[0]} · B: {labels[1]}" if v.kind == "order" and len(labels) == 2 else ""

    def flags(v: Verdict):
        return "; ".join(f"{label(v, a)}: {', '.join(x)}" for a, x in v.flags.items() if x)

    tasks = _tasks_by_run(recs)
    rows = []
    for v, anchor in zip(verdicts_of(card), anchors(card)):
        iv = v.interval
        rows.append({"paper": paper_title(v.paper), "claim": v.claim_id, "run": v.run, "anchor": anchor,
                     "what the paper says": v.text, "paper's figure": paper_fig(v), "arms": arms(v),
                     "ours": ours(v), "95% interval": fmt_ci([iv.low, iv.high]) if iv else "",
                     "interval method": iv.method if iv else "", "n": iv.n if iv else "",
                     "deterministic": bool(iv and iv.deterministic),
                     "seeds": view.seed_links(tasks.get(v.run, [])) if iv else "",
                     "verdict": verdict_badge(v.word, v.indicative, bool(v.budget_limited)),
                     "sentence": v.sentence, "stand-in": v.stand_in, "resolution": _resolution(v), "regime": v.regime,
                     "flags": flags(v), "tested": PROTOCOLS.get(v.test_protocol, "") + (f" ({v.protocol_reason})"
                                                                                        if v.protocol_reason else ""),
                     "other protocol (shown, not counted)": other(v.other_protocol),
                     "paper's protocol": v.protocol, "note": v.note})
    return pd.DataFrame(rows)


def claims_table(card: pd.DataFrame, recs=()):
    """The claims table (great_tables): grouped by paper, each row with its anchor, the seeds linked."""
    return view.claims_gt(table(card, recs))


def headline(card: pd.DataFrame) -> str:
    """Paper claims counted by verdict, the indicative ones (stand-ins) apart, the budget-limited said."""
    judged = verdicts_of(card)

    def count(group):
        return ", ".join(f"{n} {w}" for w, n in Counter(v.word for v in group).most_common()) or "none"
    # docs/METHOD.md, Direct and indicative verdicts: a sensitivity rung is shown beside its claim, never counted
    rungs = [v for v in judged if v.sensitivity]
    counted = [v for v in judged if not v.sensitivity]
    limited = sum(bool(v.budget_limited) for v in counted)
    beside = ""
    if rungs:
        same = sum(bool(v.regimes_agree) for v in rungs)
        beside = (f" Beside them, {len(rungs)} sensitivity rung{'s' if len(rungs) > 1 else ''} (another "
                  f"input size), not counted: {same} with the claim-bearing run's verdict, {len(rungs) - same} "
                  "with another.")
    return (f"{len({v.claim_id for v in counted})} paper claims in {len(counted)} rows. "
            f"Direct: {count([v for v in counted if not v.indicative])}. "
            f"Indicative (stand-ins): {count([v for v in counted if v.indicative])}."
            + (f" {limited} of the inconclusive are budget-limited (our cut decides them)." if limited else "")
            + beside + " Order claims' p-values Holm-Bonferroni adjusted.")


def summary(card: pd.DataFrame, recs) -> Markdown:
    """The page's first finding: the headline, and which code judged which records."""
    return Markdown(f"**{headline(card)}**" + (f" ({commits(recs)}.)" if recs else " (no records read.)"))


def per_class(card: pd.DataFrame):
    """Per-class results over seeds of the macro and weighted claims, one table a run; None when none."""
    return view.per_class(card)


def evidence_table(card: pd.DataFrame):
    """The evidence about the papers' own numbers, each linked to the claims it bears on."""
    return view.evidence_gt(evidence(), dict(zip(card["id"], anchors(card))))


def checks_table(checks: pd.DataFrame):
    """The data checks (facts about our data from the audit, never counted as claims); None when none."""
    return view.checks_gt(checks) if len(checks) else None


def headlines(results_dir) -> pd.DataFrame | None:
    """Every run record's headline, weights and wall time (claim-less runs included)."""
    if not results_dir:
        return None
    rows = []
    for _, rec in records.iter_records(results_dir, "*.json"):
        w = rec.get("weights") or {}
        rows.append({"run": rec.get("task") or rec.get("run_name") or rec["experiment"], "paper": rec["paper"],
                     "weights": ", ".join(f"{k}: {v if isinstance(v, str) else 'ImageNet'}"
                                          for k, v in w.items()) or "—",
                     "headline": rec.get("headline", ""), "wall time s": round(rec["wall_time_s"]),
                     "run name": rec.get("run_name") or rec["experiment"], "seed": rec.get("seed"),
                     "notebook": rec.get("notebook", "")})
    return pd.DataFrame(rows)


def runs_table(results_dir):
    """Every run record's headline, weights and wall time, grouped by run, each seed linked to its report
    (the scorecard's own earlier record left out)."""
    runs = headlines(results_dir)
    runs = runs[runs["notebook"] != "06_scorecard"] if runs is not None and len(runs) else []
    return view.runs_gt(runs) if len(runs) else None


def records_section(recs):
    """The records this scorecard read, folded (docs/METHOD.md, Provenance): each record and its report linked, its
    run, seed, commit and sha256; None when it read none."""
    return view.records_html(records_read(recs), commits(recs)) if recs else None


legend = view.legend
forest_plot = view.forest_plot
