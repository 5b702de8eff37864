"""A ladder claim's verdict in words (docs/METHOD.md, Claims over a ladder, and What a scorecard row shows):
the one generated sentence of its row and the rows of its rungs, from the numbers `ladder_verdicts` computed.
No sentence says a benefit is absent, minimal or stops unless its rule found it equivalent (Equivalence)."""
from __future__ import annotations

from .claims import Claim

__all__ = ["rung_rows", "sentence"]


def _n(n) -> str:
    return f"{int(n):,}"


def _num(claim: Claim, x: float) -> str:
    return f"{x:+.1f}" if claim.kind == "epochs" else f"{x:+.3f}"


def rung_rows(claim: Claim, rungs) -> list[dict]:
    """One row per rung the claim was judged at: its training images (a trend: both ends), estimate,
    interval, seeds, p, Holm p, words, budget reason and why it was not judged."""
    rows = []
    for r in rungs:
        ends = r.boot.get("ends")
        rows.append({"training images": " vs ".join(_n(n) for n in ends) if ends else _n(r.n),
                     "estimate": float(r.boot["estimate"]), "ci": [float(r.boot["ci"][0]), float(r.boot["ci"][1])],
                     "seeds": [float(x) for x in r.boot["per_seed"]], "p": r.p, "p_adjusted": r.p_adjusted,
                     "raw_verdict": r.raw, "verdict": r.word, "budget_limited": r.budget, "not_judged": r.unjudged,
                     "flags": {a: list(f) for a, f in r.flags.items()}})
    return rows


def _difference(v, claim: Claim) -> str:
    a, b = (v.arm_labels or {}).get(claim.arms[0], "A"), (v.arm_labels or {}).get(claim.arms[1], "B")
    if claim.kind == "epochs":
        what = "chosen epoch" if claim.measure == "chosen" else f"epochs to reach {claim.fraction:.0%} of its own best validation macro F1"
        return f"{b} minus {a}, {what}"
    if claim.kind == "trend":
        return f"the gain {a} − {b} at the smallest rung minus at the largest"
    return f"{a} − {b}"


def _rung(claim: Claim, r) -> str:
    lo, hi = r.boot["ci"]
    ends = r.boot.get("ends")
    where = f"{_n(ends[0])} vs {_n(ends[1])} images" if ends else f"{_n(r.n)} images"
    why = f", budget-limited: {r.budget}" if r.budget else f", not judged: {r.unjudged}" if r.unjudged else ""
    return f"{where}: {_num(claim, r.boot['estimate'])} [{_num(claim, lo)}, {_num(claim, hi)}] {r.word}{why}"


def sentence(v, claim: Claim, rungs, decisive) -> str:
    """The row's sentence: what was compared, each rung's estimate, interval and word, the Holm p of the rung
    that decides it, the seeds that would resolve an inconclusive one, and the verdict word."""
    n = decisive.boot["n"]
    where = f"at each of {len(rungs)} rungs ({n} seeds each)" if len(rungs) > 1 else f"{n} seeds"
    s = f"{_difference(v, claim)}, {where}: " + "; ".join(_rung(claim, r) for r in rungs)
    if len(rungs) > 1:
        s += f". Decided at {_n(decisive.n)} images"
    s += f" (Holm p {decisive.p_adjusted:.3g})" if decisive.p_adjusted is not None else ""
    if claim.kind == "equivalence":
        s += f"; the margin stated beforehand is ±{claim.margin:g}"
    if v.word == "inconclusive" and not v.budget_limited:
        s += (f"; about {v.seeds_needed} seeds would resolve it" if v.seeds_needed else
              "; it cannot be told with these seeds, and no number of seeds would resolve it as measured")
    word = v.word + (f" (indicative: {v.stand_in})" if v.indicative else "")
    return f"{s}: {word}."
