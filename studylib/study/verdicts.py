"""Verdicts as docs/METHOD.md states them (Crossed bootstrap to Budget flags): the crossed bootstrap over
seeds and test images (one image draw shared by every seed and both arms) and the variance-components
interval, the verdict on the wider; resolvability, power and the seeds that would resolve an order; budget
flags on the losing arm; Holm-Bonferroni across a profile's order claims; stand-ins labelled indicative.

`judge` makes one claim's row from per-seed, per-image test predictions; `judge_scores` one from
per-seed scores only (a validation figure: records keep no validation predictions); `adjust` applies Holm
across rows; `check_row` judges a data check; `evidence_row` computes a check of a paper's own figures.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..train.experiment import PROTOCOLS
from . import stats
from .claims import CLAIMS, Claim, Evidence, arm_label, stand_in
from .task import proves_only_the_pipeline

__all__ = ["NOT_TESTABLE", "VERDICTS", "adjust", "check_row", "evidence_row", "judge", "judge_scores",
           "other_protocol", "sentence", "untestable_row"]

VALUE_VERDICTS = ("matches", "differs", "inconclusive")
ORDER_VERDICTS = ("holds", "contradicted", "inconclusive")
NOT_TESTABLE = "not testable here"
VERDICTS = ("matches", "holds", "differs", "contradicted", "inconclusive", NOT_TESTABLE)
N_BOOT = 2000  # docs/METHOD.md, Crossed bootstrap: 2,000 resamples
ALPHA = stats.ALPHA  # docs/METHOD.md, Order claims: the one level, defined in stats


def _base(claim: Claim, run: str = "") -> dict:
    a_b = (f"{arm_label(claim.notebook, claim.arms[0])} > {arm_label(claim.notebook, claim.arms[1])}"
           if claim.kind == "order" else None)
    return {"id": claim.id, "paper": claim.paper, "claim": claim.text, "kind": claim.kind, "metric": claim.metric,
            "paper_value": claim.value if claim.kind != "order" else a_b, "margin": claim.margin, "run": run,
            "arms": list(claim.arms), "n": 0, "estimate": None, "sd": None, "ci": None, "ci_boot": None,
            "ci_vc": None, "interval": "", "seeds": [], "p": None, "p_adjusted": None, "p_floor": None,
            "wins": None, "prob_improvement": None, "image_half_width": None, "resolvable": None,
            "detectable": None, "seeds_needed": None, "verdict": NOT_TESTABLE, "raw_verdict": NOT_TESTABLE,
            "budget_limited": "", "flags": {}, "regime": "", "indicative": False, "stand_in": "",
            "protocol": claim.protocol, "note": "", "test_protocol": claim.test_protocol,
            "protocol_reason": claim.protocol_reason, "other_protocol": None, "split": claim.split, "sentence": ""}


def untestable_row(claim: Claim, note: str = "", run: str = "") -> dict:
    """A claim this study, or this profile, cannot test, with why."""
    row = {**_base(claim, run), "note": note or claim.untestable}
    row["sentence"] = sentence(row)
    return row


def other_protocol(claim: Claim) -> str:
    """The test protocol the claim is not judged on (shown beside)."""
    return next(p for p in PROTOCOLS if p != claim.test_protocol)


def _interval_fields(boot: dict, paired: bool = False) -> dict:
    # a metric lies in [0, 1] (a difference of two in [-1, 1]): the t interval is clipped to that range
    low = -1.0 if paired else 0.0
    f = lambda ci: [max(low, float(ci[0])), min(1.0, float(ci[1]))] if ci is not None else None  # noqa: E731
    return dict(n=int(boot["n"]), estimate=float(boot["estimate"]), seeds=[float(v) for v in boot["per_seed"]],
                sd=float(boot["s_seeds"]), ci=f(boot["ci"]), ci_boot=f(boot.get("ci_boot")), ci_vc=f(boot.get("ci_vc")),
                interval=boot.get("interval", ""), image_half_width=float(boot["image_half_width"]))


def _apply_budget(row: dict) -> dict:
    """docs/METHOD.md, Budget flags: an order verdict stands only if the losing arm carries no flag; a value
    'differs' below the paper's figure is inconclusive when its arm is cap-bound by our cut."""
    raw = row["raw_verdict"]
    row["verdict"], row["budget_limited"] = raw, ""
    flags = row.get("flags") or {}
    if row["kind"] == "order" and raw in ("holds", "contradicted"):
        loser = row["arms"][1] if raw == "holds" else row["arms"][0]
        if flags.get(loser):
            row["verdict"] = "inconclusive"
            row["budget_limited"] = f"{row['arm_labels'].get(loser, loser)}, the losing arm: {'; '.join(flags[loser])}"
    elif row["kind"] == "value" and raw == "differs" and row["estimate"] < row["paper_value"]:
        caps = [f for f in flags.get(row["arms"][0], []) if f.startswith("cap-bound")]
        if caps:
            row["verdict"] = "inconclusive"
            row["budget_limited"] = "; ".join(caps)
    return row


def _judge_rows(row: dict, claim: Claim, boot: dict) -> dict:
    if claim.kind == "order":
        k, n = stats.wins(boot)
        p = float(stats.p_value(boot["samples"], boot["estimate"]))
        row.update(p=p, p_adjusted=p, p_floor=1 / len(boot["samples"]), wins=f"{k} of {n}",
                   prob_improvement=float(stats.prob_improvement(boot)),
                   detectable=float(stats.detectable_difference(boot)))
        row["raw_verdict"] = stats.judge_order(boot, claim.margin, p)  # until `adjust` runs Holm
        if row["raw_verdict"] == "inconclusive":
            row["seeds_needed"] = stats.seeds_to_resolve(boot, claim.margin)
    else:
        row["raw_verdict"] = stats.judge_value(boot, claim.value, claim.margin)
    row["resolvable"] = bool(stats.resolvable(boot, claim.margin)) if claim.kind == "value" else None
    return row


def _pipeline_note(profile: str) -> str:
    return "DEMO run on generated data" if profile == "demo" else "SMOKE run on generated data"


def _finish(row: dict, profile: str) -> dict:
    _apply_budget(row)
    if proves_only_the_pipeline(profile):  # generated data: the numbers show the pipeline runs, nothing more
        row.update(verdict=NOT_TESTABLE, raw_verdict=NOT_TESTABLE, budget_limited="", note=_pipeline_note(profile))
    row["sentence"] = sentence(row)
    return row


def judge(claim: Claim, per_seed: dict, params, profile: str, run: str = "", n_boot: int = N_BOOT,
          other: dict | None = None, flags: dict | None = None, regime: str = "") -> dict:
    """One claim's row, judged on the claim's test protocol (claim.test_protocol).

    per_seed: {arm id: [(y_true, y_pred) per seed]} of the models the claim's protocol tests, the seeds in
        the same order for every arm and the same test images within a seed. params: the run's parameters
        (stand-ins are read from them). other: the same under the other protocol, judged by the same rule
        and shown beside as row["other_protocol"], never counted. flags: {arm id: [budget flags]}
        (study.budget); regime: the run's regime in words.
    """
    if claim.untestable:
        return untestable_row(claim, run=run)
    row = _base(claim, run)
    row.update(flags={a: list(f) for a, f in (flags or {}).items() if a in claim.arms and f}, regime=regime,
               arm_labels={a: arm_label(claim.notebook, a) for a in claim.arms})
    if other is not None:
        o = judge(dataclasses.replace(claim, test_protocol=other_protocol(claim)), other, params, profile, run, n_boot)
        row["other_protocol"] = {k: o[k] for k in ("test_protocol", "estimate", "ci", "p", "raw_verdict")}
        row["other_protocol"]["verdict"] = o["raw_verdict"]
    a = per_seed[claim.arms[0]]
    b = per_seed[claim.arms[1]] if claim.kind == "order" else None
    boot = stats.crossed_bootstrap(a, claim.metric, n_boot=n_boot, seed=0, paired_with=b)
    row.update(_interval_fields(boot, paired=b is not None), deterministic=bool(boot.get("deterministic")),
               stand_in=stand_in(claim, params))
    row["indicative"] = bool(row["stand_in"])
    _judge_rows(row, claim, boot)
    return _finish(row, profile)


def judge_scores(claim: Claim, scores, n_images: int, params, profile: str, run: str = "",
                 flags: dict | None = None, regime: str = "") -> dict:
    """A value claim on accuracy from per-seed scores alone (a validation figure: records keep no
    validation predictions). The image variance is bounded by p(1-p)/N, the variance of a seed-averaged
    per-image correctness (a mean of values in [0, 1] with mean p): the interval is the variance-components
    one with that bound, so it can only be too wide, never too narrow."""
    if claim.untestable:
        return untestable_row(claim, run=run)
    if claim.metric != "accuracy" or claim.kind != "value":
        raise ValueError(f"claim {claim.id}: judge_scores judges value claims on accuracy only")
    p = float(np.mean(scores))
    vc = stats.variance_components(scores, p * (1 - p) / n_images)
    boot = dict(vc, ci=vc["ci_vc"], ci_boot=None, interval="variance components (image variance bounded)",
                deterministic=False)
    row = _base(claim, run)
    row.update(_interval_fields(boot), stand_in=stand_in(claim, params), regime=regime,
               flags={a: list(f) for a, f in (flags or {}).items() if a in claim.arms and f},
               arm_labels={a: arm_label(claim.notebook, a) for a in claim.arms},
               note=f"validation: {n_images:,} images, per-seed scores (no per-image predictions kept)")
    row["indicative"] = bool(row["stand_in"])
    _judge_rows(row, claim, boot)
    return _finish(row, profile)


def adjust(rows: list[dict]) -> list[dict]:
    """Holm-Bonferroni over the order claims' p-values; their verdicts are judged on the adjusted p (and the
    budget rule applied again)."""
    order = [r for r in rows if r["kind"] == "order" and r["p"] is not None]
    if order:
        for r, p_adj in zip(order, stats.holm([r["p"] for r in order])):
            r["p_adjusted"] = float(p_adj)
            if r["raw_verdict"] != NOT_TESTABLE and r["estimate"] is not None:
                r["raw_verdict"] = stats.judge_order({"ci": r["ci"]}, r["margin"], r["p_adjusted"])
                _apply_budget(r)  # demo and smoke rows never get here: their raw verdict is NOT_TESTABLE
                r["sentence"] = sentence(r)
    return rows


def _f(x, pct: bool = False) -> str:
    return f"{x:.1%}" if pct else f"{x:.3f}"


def sentence(row: dict) -> str:
    """The verdict in one generated plain sentence (docs/METHOD.md, What a scorecard row shows)."""
    v = row["verdict"]
    if row.get("estimate") is None:
        return f"Not testable here: {row.get('note') or 'no run of this profile tests it'}."
    lo, hi = row["ci"]
    n = row["n"]
    seeds = f"{n} seed{'s' if n != 1 else ''}" + (" (deterministic: the seeds agree)" if row.get("deterministic") else "")
    if row["kind"] == "value":
        band = (row["paper_value"] - row["margin"], row["paper_value"] + row["margin"])
        where = ("inside" if band[0] <= lo and hi <= band[1] else
                 "below" if hi < band[0] else "above" if lo > band[1] else "across an edge of")
        s = (f"Ours {_f(row['estimate'])} (95% interval {_f(lo)} to {_f(hi)}, {seeds}) lies {where} the paper's "
             f"band {_f(band[0])} to {_f(band[1])}")
        if row.get("resolvable") is False:
            s += (f"; the test set cannot resolve ±{row['margin']:g} (image noise alone ±{row['image_half_width']:.3f}),"
                  " so no number of seeds could give 'matches'")
    else:
        a, b = (row.get("arm_labels") or {}).get(row["arms"][0], "A"), (row.get("arm_labels") or {}).get(row["arms"][1], "B")
        p = row.get("p_adjusted")
        floor = row.get("p_floor")
        at_floor = floor is not None and row.get("p") is not None and row["p"] <= floor * 1.0001
        ptxt = "" if p is None else f"Holm p {p:.3g}" + (f" (unadjusted p at the floor 1/{round(1 / floor):,})"
                                                        if at_floor else "")
        s = (f"{a} − {b} = {row['estimate']:+.3f} (95% interval {lo:+.3f} to {hi:+.3f}, {seeds}; {a} won "
             f"{row.get('wins')}; {ptxt})")
        if v == "inconclusive" and not row.get("budget_limited"):
            need = row.get("seeds_needed")
            s += (f"; about {need} seeds would resolve it" if need else
                  "; no number of seeds would resolve it (image noise alone is too large, or the difference is "
                  "within the margin)")
        if row.get("detectable") is not None:
            s += f"; this design detects a difference of {row['detectable']:.3f} with 80% power"
    if row.get("budget_limited"):
        s += f". Budget-limited: {row['budget_limited']}"
    word = v
    if row.get("indicative") and v != NOT_TESTABLE:
        word += f" (indicative: {row['stand_in']})"
    return f"{s}: {word}."


def check_row(claim_id: str, ours, profile: str) -> dict:
    """A data check (kind 'check'): our count or rate against the documented figure, within its margin."""
    claim = CLAIMS[claim_id]
    row = {**_base(claim), "estimate": float(ours), "n": 1}
    if proves_only_the_pipeline(profile):
        row.update(verdict=NOT_TESTABLE, note=_pipeline_note(profile))
    else:
        row["verdict"] = "matches" if abs(ours - claim.value) <= claim.margin else "differs"
    row["raw_verdict"] = row["verdict"]
    return row


def evidence_row(e: Evidence) -> dict:
    """A computed check of a paper's own figures (docs/METHOD.md, Checks and evidence): shown beside its
    claims, never a verdict."""
    figs = e.figures
    fmt = ", ".join(f"{k} {v:g}" for k, v in figs.items())
    if e.rule == "near":
        dev = {k: abs(v - e.reference) for k, v in figs.items()}
        found = all(d <= e.tolerance for d in dev.values())
        result = (f"{fmt}: each within {max(dev.values()):.4f} of {e.reference_name} = {e.reference:.6f} "
                  f"(tolerance {e.tolerance:g}): {'yes' if found else 'no'}")
    elif e.rule == "ratio":
        ratios = {k: v / e.reference for k, v in figs.items()}
        found = all(r > 0.8 for r in ratios.values())
        result = (f"{fmt} against {e.reference_name} = {e.reference:.3f}: "
                  + ", ".join(f"{k} {r:.0%} of chance" for k, r in ratios.items()))
    elif e.rule == "spread":
        vals = list(figs.values())
        found = max(vals) - min(vals) > 0
        result = f"{fmt}: spread {max(vals) - min(vals):.4f} ({(max(vals) - min(vals)) * 100:.2f} points)"
    else:
        found = True
        result = fmt
    return {"id": e.id, "paper": e.paper, "about": ", ".join(e.about), "check": e.text, "computed": result,
            "found": bool(found), "quote": e.quote}
