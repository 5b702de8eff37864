"""The scorecard (notebook 06), as VERDICTS.md section 7: every claim of the registry judged over the seeds
of this profile's run records, a forest plot, and the list of records it read."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ..io import sha256_file
from ..train.experiment import PROTOCOLS, fmt_ci
from ..study import verdicts
from ..study.claims import CLAIMS, tests
from . import records
from .display import verdict_label

__all__ = ["evaluate", "forest_plot", "headline", "headlines", "read", "table"]


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
            for p, r in group:
                if p not in preds_of:
                    preds_of[p] = records.read_predictions(p, r)
            protocol, other = claim.test_protocol, verdicts.other_protocol(claim)
            preds = [preds_of[p] for p, _ in group]
            if not all(arm in pr.get(protocol, {}) for pr in preds for arm in claim.arms):
                continue
            per_seed = {arm: [pr[protocol][arm] for pr in preds] for arm in claim.arms}
            shown = ({arm: [pr[other][arm] for pr in preds] for arm in claim.arms}
                     if all(arm in pr.get(other, {}) for pr in preds for arm in claim.arms) else None)
            rows.append(verdicts.judge(claim, per_seed, first["params"], profile, run, other=shown))
            found = True
        if not found:
            rows.append(verdicts.untestable_row(claim, "no run of this profile tests it"))
    return pd.DataFrame(verdicts.adjust(rows)), pd.DataFrame(checks)


def table(card: pd.DataFrame) -> pd.DataFrame:
    """The scorecard as shown: paper figure, our mean +- sd, n, 95% CI, p (Holm), wins, verdict (on the
    paper's test protocol), the other protocol's estimate and verdict beside, notes."""
    def other(o):
        if not isinstance(o, dict) or o.get("estimate") is None:
            return ""
        return f"{PROTOCOLS[o['test_protocol']]}: {o['estimate']:.3f} {fmt_ci(o['ci'])}, {o['verdict']}"
    card = card.assign(**{k: card[k] if k in card else None for k in ("test_protocol", "other_protocol")})
    out = pd.DataFrame({
        "claim": card["id"], "paper": card["paper"], "what the paper says": card["claim"],
        "paper figure": card["paper_value"], "margin": card["margin"],
        "ours (mean ± sd)": [("" if pd.isna(e) else f"{e:.3f} ± {s:.3f}") for e, s in zip(card["estimate"], card["sd"])],
        "n": card["n"], "95% CI": card["ci"].map(fmt_ci),
        "p (Holm)": card["p_adjusted"].map(lambda p: "" if pd.isna(p) else f"{p:.3g}"),
        "A won": card["wins"].fillna(""), "verdict": [verdict_label(v, i) for v, i in
                                                        zip(card["verdict"], card["indicative"])],
        "tested": card["test_protocol"].map(lambda p: PROTOCOLS.get(p, "") if isinstance(p, str) else ""),
        "other protocol (shown, not counted)": card["other_protocol"].map(other),
        "notes": [("; ".join(x for x in (s, pr, n) if x)) for s, pr, n in
                  zip(card["stand_in"], card["protocol"], card["note"])],
        "run": card["run"]})
    return out


def headline(card: pd.DataFrame) -> str:
    """Paper claims counted by verdict, the indicative ones (stand-ins) apart."""
    def count(df):
        return ", ".join(f"{n} {v}" for v, n in df["verdict"].value_counts().items()) or "none"
    direct, indicative = card[~card["indicative"]], card[card["indicative"]]
    return (f"{card['id'].nunique()} paper claims in {len(card)} rows. Direct: {count(direct)}. "
            f"Indicative (stand-ins): {count(indicative)}. Order claims' p-values Holm-Bonferroni adjusted.")


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
                     "weights": ", ".join(f"{k}: {'random init' if v == 'random init' else 'ImageNet'}"
                                          for k, v in w.items()) or "—",
                     "headline": rec.get("headline", ""), "wall time s": round(rec["wall_time_s"])})
    return pd.DataFrame(rows)
