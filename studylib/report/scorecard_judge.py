"""The scorecard's reading and judging of run records (notebook 06; docs/METHOD.md, What a scorecard row
shows): the records of one commit and profile read (`read`, `records_read`), every claim of the registry
judged over the seeds of each run that tests it (`evaluate`: Holm across the order claims, each claim's
regimes compared), the evidence checks, and which code judged which records (`commits`). `scorecard` shows
what this judges."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import sha256_file
from ..study import budget, verdicts
from ..study.arm_spec import arm_scope
from ..study.claims import EVIDENCE, arm_label, record_arms, run_arms, scorecard_claims, tests
from ..study.verdicts import Verdict
from . import records

__all__ = ["commits", "evaluate", "evidence", "read", "records_read", "verdicts_of"]


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
    for claim in scorecard_claims():
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
