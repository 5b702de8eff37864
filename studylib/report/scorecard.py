"""The scorecard (notebook 06), as VERDICTS.md section 7: every claim of the registry judged over the seeds
of this profile's run records, a forest plot, and the list of records it read."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ..io import sha256_file
from ..train.experiment import PROTOCOLS
from .tables import fmt_ci
from ..study import verdicts
from ..models import canonical_scope
from ..study import budget
from ..study.claims import CLAIMS, EVIDENCE, arm_id, arm_label, tests
from . import records
from .display import verdict_label

__all__ = ["commits", "evaluate", "evidence", "forest_plot", "headline", "headlines", "per_class", "read", "table"]


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
    """Which records the scorecard read: task, run, seed, commit, and each file's sha256."""
    return pd.DataFrame([{"task": r.get("task", p.stem), "run": r.get("run_name"), "seed": r.get("seed"),
                          "commit": str(r.get("git_commit"))[:12], "record sha256": sha256_file(p)[:16]}
                         for p, r in recs])


def _by_id(notebook: str, per_label: dict, params) -> dict:
    """{arm id: value} of a record's {label: value} (study.claims.arm_id)."""
    return {arm_id(notebook, label, params): v for label, v in per_label.items()}


def _arm_specs(params: dict, notebook: str) -> dict:
    """{arm id: (scope, freeze_to)} of a run's arms, from its record's parameters (older records' scopes
    last_block / last_n mapped to freeze_to)."""
    out = {}
    for a in params.get("arms") or []:
        aid = a.get("id") or arm_id(notebook, a.get("name", ""), params)
        n = a.get("freeze_to") if a.get("freeze_to") is not None else params.get("freeze_to")
        out[aid] = canonical_scope(a.get("scope", "all"), n, a.get("last_n") or params.get("last_n") or 1)
    return out


def _val_images(params: dict) -> int | None:
    """Validation images of a run that split them off Training (paper 001), from its parameters."""
    n, frac = params.get("max_train"), params.get("val_from_train") or 0.0
    return round(n * frac) if n and frac else None


def _judge_run(claim, group, preds_of, profile: str, run: str) -> dict | None:
    """One claim judged over the seeds of one run (None when the run lacks the claim's arms)."""
    first = group[0][1]
    params, nb = first["params"], claim.notebook
    metrics = [_by_id(nb, r.get("metrics") or {}, r["params"]) for _, r in group]
    flags = {a: budget.arm_flags([m.get(a) or {} for m in metrics], claim.paper_epochs, claim.test_protocol)
             for a in claim.arms}
    labels = {a: arm_label(nb, a) for a in claim.arms}
    reg = budget.regime(params, {a: metrics[0][a] for a in claim.arms if a in metrics[0]}, _arm_specs(params, nb), claim.paper_epochs,
                        claim.backbone)
    regime = budget.describe(reg, labels)
    per_class = _per_class(claim, metrics)
    if claim.split == "val":
        n_val = _val_images(params)
        key = "final" if claim.test_protocol == "final" else None
        scores = [(m[claim.arms[0]]["final"]["val"]["acc"] if key else m[claim.arms[0]]["val_acc"]) for m in metrics]
        if not n_val or not all(claim.arms[0] in m for m in metrics):
            return verdicts.untestable_row(claim, "the run's validation size is not in its parameters", run)
        return verdicts.judge_scores(claim, scores, n_val, params, profile, run, flags=flags, regime=regime)
    for p, r in group:
        if p not in preds_of:
            preds_of[p] = {proto: _by_id(nb, per, r["params"]) for proto, per in _predictions(p, r).items()}
    protocol, other = claim.test_protocol, verdicts.other_protocol(claim)
    preds = [preds_of[p] for p, _ in group]
    if not all(arm in pr.get(protocol, {}) for pr in preds for arm in claim.arms):
        return None
    per_seed = {arm: [pr[protocol][arm] for pr in preds] for arm in claim.arms}
    shown = ({arm: [pr[other][arm] for pr in preds] for arm in claim.arms}
             if all(arm in pr.get(other, {}) for pr in preds for arm in claim.arms) else None)
    row = verdicts.judge(claim, per_seed, params, profile, run, other=shown, flags=flags, regime=regime)
    row["per_class"] = per_class
    return row


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
    VERDICTS section 10), from each record's classification report under the claim's protocol."""
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


def per_class(card: pd.DataFrame) -> pd.DataFrame | None:
    """Per-class results over seeds of the macro and weighted claims: claim, arm, class, mean ± sd."""
    rows = [{"claim": r["id"], "arm": (r.get("arm_labels") or {}).get(a, a), "class": c,
             f"per-class {r['metric'].split('_')[0]} (mean ± sd over seeds)": f"{m:.3f} ± {sd:.3f}"}
            for _, r in card.iterrows() if isinstance(r.get("per_class"), dict)
            for a, classes in r["per_class"].items() for c, (m, sd) in classes.items()]
    return pd.DataFrame(rows) if rows else None


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
            rows.append(verdicts.untestable_row(claim))
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
            rows.append(verdicts.untestable_row(claim, "no run of this profile tests it"))
    rows = verdicts.adjust(rows)
    for cid in {r["id"] for r in rows}:  # VERDICTS section 7: one comparison at several regimes
        same = [r for r in rows if r["id"] == cid and r["estimate"] is not None]
        if len(same) > 1:
            agree = len({r["verdict"] for r in same}) == 1
            note = (f"the same verdict at each of its {len(same)} regimes" if agree else
                    "the verdict differs between regimes: " + "; ".join(f"{r['run']}: {r['verdict']}" for r in same))
            for r in same:
                r["note"] = "; ".join(x for x in (r["note"], note) if x)
    return pd.DataFrame(rows), pd.DataFrame(checks)


def evidence() -> pd.DataFrame:
    """The computed checks of the papers' own figures (VERDICTS section 8), shown beside their claims."""
    return pd.DataFrame([verdicts.evidence_row(e) for e in EVIDENCE.values()])


def commits(recs) -> str:
    """Which code judged which records: the scorecard's own commit, and the records' (VERDICTS section 9)."""
    own = records.git_commit()
    theirs = sorted({str(r.get("git_commit")) for _, r in recs})
    if theirs == [own]:
        return f"records and scorecard from commit {own[:12]}"
    return f"scorecard code at commit {own[:12]} judging records of commit {', '.join(t[:12] for t in theirs)}"


def _resolution(r) -> str:
    if r["kind"] == "value" and r.get("resolvable") is False:
        return f"the test set cannot resolve ±{r['margin']:g} (image noise alone ±{r['image_half_width']:.3f})"
    if r["kind"] == "value" and r.get("image_half_width") is not None:
        return f"image noise alone ±{r['image_half_width']:.3f}"
    if r["kind"] == "order" and r.get("detectable") is not None:
        need = r.get("seeds_needed")
        more = "" if r["verdict"] != "inconclusive" or r.get("budget_limited") else (
            f"; ~{need} seeds would resolve it" if need else "; no number of seeds would resolve it")
        return f"detects {r['detectable']:.3f} with 80% power{more}"
    return ""


def table(card: pd.DataFrame) -> pd.DataFrame:
    """The scorecard as shown (VERDICTS section 10): per claim, the paper's figure, ours (mean ± sd, n), the
    interval the verdict used, the verdict (budget-limited where our budget decides it), flags and regime,
    the stand-in, resolvability or detectable difference, the protocol, and the sentence that says it."""
    def other(o):
        if not isinstance(o, dict) or o.get("estimate") is None:
            return ""
        return f"{PROTOCOLS[o['test_protocol']]}: {o['estimate']:.3f} {fmt_ci(o['ci'])}, {o['verdict']}"

    def paper_fig(r):
        if r["kind"] == "order":
            return f"{r['paper_value']} (A − B > {r['margin']:g})"
        return "" if pd.isna(r["paper_value"]) else f"{r['paper_value']:.4f} ± {r['margin']:g}"

    def ours(r):
        if pd.isna(r["estimate"]):
            return ""
        what = "A − B " if r["kind"] == "order" else ""
        return f"{what}{r['estimate']:+.3f} ± {r['sd']:.3f}" if r["kind"] == "order" else f"{r['estimate']:.3f} ± {r['sd']:.3f}"

    def verdict(r):
        v = verdict_label(r["verdict"], r["indicative"])
        return f"{v} · budget-limited" if r.get("budget_limited") else v

    def flags(r):
        f = r.get("flags") or {}
        return "; ".join(f"{(r.get('arm_labels') or {}).get(a, a)}: {', '.join(x)}" for a, x in f.items() if x)

    rows = []
    for _, r in card.iterrows():
        rows.append({"claim": r["id"], "what the paper says": r["claim"], "paper": paper_fig(r),
                     "ours (mean ± sd)": ours(r), "n": r["n"] or "",
                     "95% interval": fmt_ci(r["ci"]) + (f" ({r['interval']})" if r.get("interval") else ""),
                     "bootstrap / t": (f"{fmt_ci(r['ci_boot'])} / {fmt_ci(r['ci_vc'])}"
                                       if isinstance(r.get("ci_boot"), list) else ""),
                     "p (Holm)": "" if pd.isna(r["p_adjusted"]) else f"{r['p_adjusted']:.3g}",
                     "A won": r["wins"] or "", "verdict": verdict(r), "flags": flags(r), "regime": r.get("regime", ""),
                     "resolution": _resolution(r),
                     "tested": PROTOCOLS.get(r.get("test_protocol"), "") + (f" ({r['protocol_reason']})"
                                                                            if r.get("protocol_reason") else ""),
                     "other protocol (shown, not counted)": other(r.get("other_protocol")),
                     "why": r.get("sentence", ""),
                     "notes": "; ".join(x for x in (r["stand_in"], r["protocol"], r["note"]) if x), "run": r["run"]})
    return pd.DataFrame(rows)


def headline(card: pd.DataFrame) -> str:
    """Paper claims counted by verdict, the indicative ones (stand-ins) apart, the budget-limited said."""
    def count(df):
        return ", ".join(f"{n} {v}" for v, n in df["verdict"].value_counts().items()) or "none"
    direct, indicative = card[~card["indicative"]], card[card["indicative"]]
    limited = int((card.get("budget_limited", pd.Series(dtype=str)).fillna("") != "").sum())
    return (f"{card['id'].nunique()} paper claims in {len(card)} rows. Direct: {count(direct)}. "
            f"Indicative (stand-ins): {count(indicative)}."
            + (f" {limited} of the inconclusive are budget-limited (our cut decides them)." if limited else "")
            + " Order claims' p-values Holm-Bonferroni adjusted.")


def forest_plot(card: pd.DataFrame) -> Figure | None:
    """Each tested claim's estimate and 95% interval against its margin band, the seeds as dots:
    values (left) and differences A - B (right)."""
    tested = card[card["estimate"].notna()]
    if not len(tested):
        return None
    kinds = [k for k in ("value", "order") if (tested["kind"] == k).any()]
    fig, axes = plt.subplots(1, len(kinds), figsize=(6 * len(kinds), 0.6 + 0.5 * len(tested)), squeeze=False,
                             layout="constrained")
    palette = sns.color_palette()
    for ax, kind in zip(axes.flat, kinds):
        part = tested[tested["kind"] == kind].reset_index(drop=True)
        for i, r in part.iterrows():
            if kind == "value":
                ax.add_patch(plt.Rectangle((r["paper_value"] - r["margin"], i - 0.35), 2 * r["margin"], 0.7,
                                           color=palette[2], alpha=0.25, lw=0))
                ax.plot(r["paper_value"], i, "|", color=palette[2], ms=14)
            ax.plot(r["ci"], [i, i], color=palette[0])
            ax.plot(r["estimate"], i, "o", color=palette[0])
            ax.plot(r["seeds"], [i] * len(r["seeds"]), ".", color=palette[3], alpha=0.7)
        if kind == "order":
            ax.axvline(0, color="grey", lw=1)
        ax.set_yticks(range(len(part)), [f"{i} ({r})" if r else i for i, r in zip(part["id"], part["run"])])
        ax.invert_yaxis()
        ax.set_title("values: ours (CI, seeds) vs the paper's band" if kind == "value" else "orders: A - B per seed")
    return fig


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
                     "headline": rec.get("headline", ""), "wall time s": round(rec["wall_time_s"])})
    return pd.DataFrame(rows)
