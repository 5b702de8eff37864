"""The scorecard (notebook 06), as docs/METHOD.md says (What a scorecard row shows): every claim of the registry judged over the
seeds of this profile's run records; the rows as shown (`table`: one number format, the seeds linked to
their reports), and the page's parts, laid out by `scorecard_view`: the legend, the forest plot, the claims
grouped by paper, per class, evidence, data checks, every run, and the records it read (folded)."""
from __future__ import annotations

import dataclasses
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown

from ..io import sha256_file
from ..study import budget, verdicts
from ..study.verdicts import Verdict
from ..study.arm_spec import arm_scope
from ..study.claims import CLAIMS, EVIDENCE, PAPERS, arm_label, record_arms, run_arms, tests
from ..train.experiment import PROTOCOLS
from . import records
from . import scorecard_view as view
from .tables import fmt_ci, row_anchors, verdict_badge

__all__ = ["anchors", "checks_table", "claims_table", "commits", "evaluate", "evidence", "evidence_table",
           "forest_plot", "headline", "headlines", "legend", "paper_title", "per_class", "read", "records_read",
           "records_section", "runs_table", "summary", "table", "verdicts_of"]


def read(results_dir, allow_mixed: bool = False) -> list[tuple[Path, dict]]:
    """Every run record under results_dir (not the scorecard's own), refusing records of several commits
    or profiles unless `allow_mixed`: a verdict must come from one commit's code."""
    recs = [(p, r) for p, r in records.iter_records(results_dir, "*.json") if r.get("notebook") != "06_scorecard"]
    for key in ("git_commit", "profile"):
        values = sorted({str(r.get(key)) for _, r in recs})
        if len(values) > 1 and not allow_mixed:
            raise ValueError(f"{results_dir}: records from {len(values)} different {key}s ({', '.join(values)}); "
                             "render the profile again from one commit, or pass allow_mixed=True")
    return recs


def records_read(recs) -> pd.DataFrame:
    """Which records the scorecard read: task, file, run, seed, commit, and each file's sha256."""
    return pd.DataFrame([{"task": r.get("task", p.stem), "file": p.name, "run": r.get("run_name"),
                          "seed": r.get("seed"), "commit": str(r.get("git_commit"))[:12],
                          "record sha256": sha256_file(p)[:16]} for p, r in recs])


def _arm_specs(params: dict) -> dict:
    """{arm id: (scope, freeze_to)} of a run's arms, from its record's parameters (`arm_scope`)."""
    return {aid: arm_scope(arm, params) for aid, arm in run_arms(params).items()}


def _val_images(params: dict) -> int | None:
    """Validation images of a run that split them off Training (paper 001), from its parameters."""
    n, frac = params.get("max_train"), params.get("val_from_train") or 0.0
    return round(n * frac) if n and frac else None


def _judge_run(claim, group, preds_of, profile: str, run: str) -> Verdict | None:
    """One claim judged over the seeds of one run (None when the run lacks the claim's arms)."""
    first = group[0][1]
    params, nb = first["params"], claim.notebook
    metrics = [record_arms(r, r.get("metrics") or {}) for _, r in group]
    flags = {a: budget.arm_flags([m.get(a) or {} for m in metrics], claim.paper_epochs, claim.test_protocol)
             for a in claim.arms}
    labels = {a: arm_label(nb, a) for a in claim.arms}
    reg = budget.regime(params, {a: metrics[0][a] for a in claim.arms if a in metrics[0]}, _arm_specs(params), claim.paper_epochs,
                        claim.backbone)
    regime = budget.describe(reg, labels)
    per_class = _per_class(claim, metrics)
    if claim.split == "val":
        n_val = _val_images(params)
        key = "final" if claim.test_protocol == "final" else None
        scores = [(m[claim.arms[0]]["final"]["val"]["acc"] if key else m[claim.arms[0]]["val_acc"]) for m in metrics]
        if not n_val or not all(claim.arms[0] in m for m in metrics):
            return verdicts.untested(claim, "the run's validation size is not in its parameters", run)
        return verdicts.assess_scores(claim, scores, n_val, params, profile, run, flags=flags, regime=regime)
    for p, r in group:
        if p not in preds_of:
            preds_of[p] = {proto: record_arms(r, per) for proto, per in _predictions(p, r).items()}
    protocol, other = claim.test_protocol, verdicts.other_protocol(claim)
    preds = [preds_of[p] for p, _ in group]
    if not all(arm in pr.get(protocol, {}) for pr in preds for arm in claim.arms):
        return None
    per_seed = {arm: [pr[protocol][arm] for pr in preds] for arm in claim.arms}
    shown = ({arm: [pr[other][arm] for pr in preds] for arm in claim.arms}
             if all(arm in pr.get(other, {}) for pr in preds for arm in claim.arms) else None)
    v = verdicts.assess(claim, per_seed, params, profile, run, other=shown, flags=flags, regime=regime)
    # a sensitivity rung sits beside the claim-bearing run and is not counted
    return dataclasses.replace(v, per_class=per_class, sensitivity=bool(params.get("sensitivity")),
                               input_px=budget.input_size(params))


def _predictions(path: Path, record: dict) -> dict:
    """A record's predictions; a missing or changed .npz names the command that restores it (a resume
    reruns the task whose predictions do not match its record)."""
    try:
        return records.read_predictions(path, record)
    except ValueError as e:
        raise ValueError(f"{e}: `studylib run --profile {record.get('profile', '<profile>')}` reruns task "
                         f"{record.get('task', path.stem)}, then this scorecard") from None


def _per_class(claim, metrics: list[dict]) -> dict:
    """{arm id: {class: (mean, sd) over seeds}} of the claim's per-class metric (macro and weighted metrics:
    docs/METHOD.md, What a scorecard row shows), from each record's classification report under the claim's protocol."""
    if claim.metric == "accuracy":
        return {}
    name = claim.metric.split("_")[0]
    out = {}
    for a in claim.arms:
        values: dict[str, list] = {}
        for m in metrics:
            arm = m.get(a) or {}
            test = ((arm.get("final") or {}).get("test") if claim.test_protocol == "final" else None) or arm.get("test") or {}
            for row in test.get("report") or []:
                if isinstance(row, dict) and "class" in row and name in row:
                    values.setdefault(str(row["class"]), []).append(float(row[name]))
        if values:
            out[a] = {c: (float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0) for c, v in values.items()}
    return out


def evaluate(recs, profile: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(claims, checks): one row per registry claim and run that tests it (or why none does), Holm
    applied across the order claims; and the data checks of the audit."""
    by_run: dict[str, list] = {}
    for path, rec in recs:
        by_run.setdefault(rec.get("run_name") or rec["experiment"], []).append((path, rec))
    preds_of: dict[Path, dict] = {}  # each record's predictions read (and hash-checked) once, not per claim
    rows, checks = [], []
    for claim in CLAIMS.values():
        if claim.kind == "check":
            checks += [c for _, r in recs for c in r["claims"] if c.get("id") == claim.id]
            continue
        if claim.untestable:
            rows.append(verdicts.untested(claim))
            continue
        found = False
        for run, group in by_run.items():
            group = sorted(group, key=lambda pr: pr[1].get("seed") or 0)
            first = group[0][1]
            if first.get("notebook") != claim.notebook or not tests(claim, first["params"]):
                continue
            row = _judge_run(claim, group, preds_of, profile, run)
            if row is not None:
                rows.append(row)
                found = True
        if not found:
            rows.append(verdicts.untested(claim, "no run of this profile tests it"))
    judged = _regimes(verdicts.holm_adjust(rows))
    return pd.DataFrame([v.to_row() for v in judged]), pd.DataFrame(checks)


def _regimes(judged: list[Verdict]) -> list[Verdict]:
    """docs/METHOD.md, Several regimes: a claim judged on several runs says, on each row, whether its verdict
    is the same at every regime (new verdicts: the note and `regimes_agree` added)."""
    out = list(judged)
    for cid in {v.claim_id for v in judged}:
        same = [i for i, v in enumerate(judged) if v.claim_id == cid and v.tested]
        if len(same) < 2:
            continue
        agree = len({judged[i].word for i in same}) == 1
        where = "; ".join(f"{_regime_name(judged[i])}: {judged[i].word}" for i in same)
        note = (f"the same verdict at each of its {len(same)} regimes ({where})" if agree else
                f"the verdict differs between regimes ({where})")
        for i in same:
            out[i] = dataclasses.replace(judged[i], note="; ".join(x for x in (judged[i].note, note) if x),
                                         regimes_agree=agree)
    return out


def verdicts_of(card: pd.DataFrame) -> list[Verdict]:
    """The scorecard frame's rows read once as verdicts (`Verdict.from_row`: a frame's NaN is no value)."""
    return [Verdict.from_row(r) for r in card.to_dict("records")]


def _regime_name(v: Verdict) -> str:
    """How a row's regime is named beside the others of its claim: its input size, and 'sensitivity rung'
    or 'claim-bearing'."""
    size = f"{v.input_px} px" if v.input_px else v.run
    return f"{size} ({'sensitivity rung' if v.sensitivity else 'claim-bearing'}, n = {v.interval.n})"


def evidence() -> pd.DataFrame:
    """The computed checks of the papers' own figures (docs/METHOD.md, Checks and evidence), shown beside their claims."""
    return pd.DataFrame([verdicts.evidence_row(e) for e in EVIDENCE.values()])


def commits(recs) -> str:
    """Which code judged which records: the scorecard's own commit, and the records' (docs/METHOD.md, Provenance)."""
    own = records.git_commit()
    theirs = sorted({str(r.get("git_commit")) for _, r in recs})
    if theirs == [own]:
        return f"records and scorecard from commit {own[:12]}"
    return f"scorecard code at commit {own[:12]} judging records of commit {', '.join(t[:12] for t in theirs)}"


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
