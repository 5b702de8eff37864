"""Verdicts as VERDICTS.md sections 3-5: two-level bootstrap over seeds and test images (paired for order
claims), Holm-Bonferroni across a profile's order claims, stand-ins labelled indicative.

`judge` makes one claim's row from per-seed, per-image test predictions; `adjust` applies Holm across
rows; `check_row` judges a data check (shown, never counted).
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..train.experiment import PROTOCOLS
from . import stats
from .claims import CLAIMS, Claim, stand_in

__all__ = ["NOT_TESTABLE", "VERDICTS", "adjust", "check_row", "judge", "other_protocol", "untestable_row"]

VALUE_VERDICTS = ("matches", "differs", "inconclusive")
ORDER_VERDICTS = ("holds", "contradicted", "inconclusive")
NOT_TESTABLE = "not testable here"
VERDICTS = ("matches", "holds", "differs", "contradicted", "inconclusive", NOT_TESTABLE)
N_BOOT = 2000  # VERDICTS.md: at least 2,000 resamples


def _base(claim: Claim, run: str = "") -> dict:
    return {"id": claim.id, "paper": claim.paper, "claim": claim.text, "kind": claim.kind, "metric": claim.metric,
            "paper_value": claim.value if claim.kind != "order" else f"{claim.arms[0]} > {claim.arms[1]}",
            "margin": claim.margin, "run": run, "n": 0, "estimate": None, "sd": None, "ci": None, "seeds": [],
            "p": None, "p_adjusted": None, "wins": None, "prob_improvement": None, "verdict": NOT_TESTABLE,
            "indicative": False, "stand_in": "", "protocol": claim.protocol, "note": "",
            "test_protocol": claim.test_protocol, "other_protocol": None}


def untestable_row(claim: Claim, note: str = "", run: str = "") -> dict:
    """A claim this study, or this profile, cannot test, with why."""
    return {**_base(claim, run), "note": note or claim.untestable}


def other_protocol(claim: Claim) -> str:
    """The test protocol the claim is not judged on (shown beside)."""
    return next(p for p in PROTOCOLS if p != claim.test_protocol)


def judge(claim: Claim, per_seed: dict, params, profile: str, run: str = "", n_boot: int = N_BOOT,
          other: dict | None = None) -> dict:
    """One claim's row, judged on the claim's test protocol (claim.test_protocol).

    per_seed: {arm: [(y_true, y_pred) per seed]} of the models the claim's protocol tests, the seeds in the
        same order for every arm and the same test images within a seed. params: the run's parameters
        (stand-ins are read from them). other: the same under the other protocol, judged by the same rule
        and shown beside as row["other_protocol"] (protocol, estimate, ci, verdict), never counted.
    """
    row = _base(claim, run)
    if claim.untestable:
        return untestable_row(claim, run=run)
    if other is not None:
        o = judge(dataclasses.replace(claim, test_protocol=other_protocol(claim)), other, params, profile, run, n_boot)
        row["other_protocol"] = {k: o[k] for k in ("test_protocol", "estimate", "ci", "p", "verdict")}
    a = per_seed[claim.arms[0]]
    other = per_seed[claim.arms[1]] if claim.kind == "order" else None
    boot = stats.two_level_bootstrap(a, claim.metric, n_boot=n_boot, seed=0, paired_with=other)
    seeds = [float(v) for v in boot["per_seed"]]
    row.update(n=boot["n"], estimate=float(boot["estimate"]), sd=float(np.std(seeds, ddof=1)) if len(seeds) > 1
               else 0.0, ci=[float(boot["ci"][0]), float(boot["ci"][1])], seeds=seeds,
               stand_in=stand_in(claim, params))
    row["indicative"] = bool(row["stand_in"])
    if claim.kind == "order":
        k, n = stats.wins(boot)
        row.update(p=float(stats.p_value(boot["samples"], boot["estimate"])), wins=f"{k} of {n}",
                   prob_improvement=float(stats.prob_improvement(boot)))
        row["p_adjusted"] = row["p"]  # until `adjust` runs across the profile's order claims
        row["verdict"] = stats.judge_order(boot, claim.margin, row["p_adjusted"])
    else:
        row["verdict"] = stats.judge_value(boot, claim.value, claim.margin)
    if profile == "demo":  # generated data: the numbers show the pipeline runs, the verdict means nothing
        row.update(verdict=NOT_TESTABLE, note="DEMO run on generated data")
    return row


def adjust(rows: list[dict]) -> list[dict]:
    """Holm-Bonferroni over the order claims' p-values; their verdicts are judged on the adjusted p."""
    order = [r for r in rows if r["kind"] == "order" and r["p"] is not None]
    if order:
        for r, p_adj in zip(order, stats.holm([r["p"] for r in order])):
            r["p_adjusted"] = float(p_adj)
            if r["verdict"] != NOT_TESTABLE:
                boot = {"ci": r["ci"]}
                r["verdict"] = stats.judge_order(boot, CLAIMS[r["id"]].margin, r["p_adjusted"])
    return rows


def check_row(claim_id: str, ours, profile: str) -> dict:
    """A data check (kind 'check'): our count or rate against the documented figure, within its margin."""
    claim = CLAIMS[claim_id]
    row = {**_base(claim), "estimate": float(ours), "n": 1}
    if profile == "demo":
        row.update(verdict=NOT_TESTABLE, note="DEMO run on generated data")
    else:
        row["verdict"] = "matches" if abs(ours - claim.value) <= claim.margin else "differs"
    return row
