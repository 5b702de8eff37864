"""Claims over a ladder of training-set sizes judged as typed verdicts (docs/METHOD.md, Claims over a ladder).

Notebook 08's curves train every scope at each rung of a ladder of sizes with the same seeds and the same
test images. A claim about how pretraining behaves with data (papers 005 and 006) names two arms by id and
the rungs it speaks of (`Claim.at`): "every" rung, the "largest" or "smallest", or the two "ends" (a trend).
`measure` gives each selected rung its numbers: the crossed bootstrap of the paired difference A - B (order,
equivalence), the contrast of that difference between the smallest and the largest rung (trend,
`ladder_stats.contrast`), or the per-seed difference in epochs B - A (epochs, `ladder_stats.over_seeds`).
`judge` puts every rung's p of every claim in one Holm family, applies the rules (`rules.order_verdict`,
`equivalence_verdict`, `every_rung`, `learned`, `budget_limit`) and builds one `Verdict` per claim and
ladder, the rung that decides it giving its interval, the others kept beside (`extra["rungs"]`). Nothing here
reads a file: `report.judge` reads a render's records into `Ladder`s.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from . import ladder_stats, rules, stats
from .budget import arm_flags
from .claims import Claim, arm_labels, stand_in, tests
from .ladder_words import rung_rows, sentence
from .verdict_types import Interval, Verdict
from .verdicts import N_BOOT, untested

__all__ = ["Ladder", "Rung", "judge", "measure"]


@dataclasses.dataclass(frozen=True)
class Ladder:
    """One dataset's curves as a render's records hold them: {n: {arm id: [points by seed]}}, each point a
    dict with its `seed`, record `entry` (history, best epoch, config) and `predictions` {protocol: (y_true,
    y_pred, ...)}; the run they belong to, a record's params (dataset, backbone: stand-ins, `claims.tests`),
    the regime in words and the number of classes."""
    run: str
    params: dict
    rungs: dict
    regime: str = ""
    n_classes: int = 0
    n_boot: int = N_BOOT


@dataclasses.dataclass(frozen=True)
class Rung:
    """One rung's numbers for one claim: the training images, the interval's source (`boot`), its p and Holm p,
    each arm's budget flags, and why the rung cannot be judged ('' when it can)."""
    n: int
    boot: dict
    p: float
    flags: dict
    unjudged: str = ""
    p_adjusted: float | None = None
    raw: str = ""
    word: str = ""
    budget: str = ""


def _selected(claim: Claim, sizes: list[int]) -> list[int]:
    return {"every": sizes, "largest": sizes[-1:], "smallest": sizes[:1], "ends": [sizes[0], sizes[-1]]}[claim.at]


def _pairs(points: list[dict], protocol: str) -> list[tuple]:
    return [tuple(q["predictions"][protocol][:2]) for q in points]


def _flags(claim: Claim, ladder: Ladder, n: int) -> dict:
    return {a: tuple(f) for a in claim.arms
            if (f := arm_flags([q["entry"] for q in ladder.rungs[n][a]], claim.paper_epochs, claim.test_protocol))}


def _paired(claim: Claim, ladder: Ladder, n: int, memo: dict) -> dict:
    """The crossed bootstrap of A - B at rung n, computed once per ladder, arms, rung, metric and protocol:
    claims comparing the same arms (an order at every rung, an equivalence at the largest, a trend at the
    ends) read the same one."""
    key = (id(ladder), tuple(claim.arms), n, claim.metric, claim.test_protocol)
    if key not in memo:
        a, b = (_pairs(ladder.rungs[n][arm], claim.test_protocol) for arm in claim.arms)
        memo[key] = stats.crossed_bootstrap(a, claim.metric, n_boot=ladder.n_boot, seed=0, paired_with=b)
    return memo[key]


def _epochs(claim: Claim, entry: dict) -> int:
    if claim.measure == "chosen":
        return int(entry["best_epoch"])
    return ladder_stats.epochs_to_fraction(entry["history"], claim.fraction)


def _not_learned(claim: Claim, ladder: Ladder, n: int) -> str:
    """Why an epochs rung cannot be judged: an arm that never learned on some seed (`rules.learned`)."""
    out, labels = [], arm_labels(claim.notebook, ladder.params)
    for a in claim.arms:
        best = [max(h["val_macro_f1"] for h in q["entry"]["history"]) for q in ladder.rungs[n][a]]
        if not all(rules.learned(b, ladder.n_classes) for b in best):
            out.append(f"{labels.get(a, a)} never learned on some seed (best validation macro F1 {min(best):.3f}, not above "
                       f"1/{ladder.n_classes})")
    return "; ".join(out)


def measure(claim: Claim, ladder: Ladder, memo: dict | None = None) -> list[Rung]:
    """The numbers of each rung the claim speaks of (for a trend, one contrast of its two ends); `memo` shares
    the paired bootstraps between the claims of one judgement."""
    memo = {} if memo is None else memo
    sizes = sorted(n for n, arms in ladder.rungs.items() if all(a in arms for a in claim.arms))
    chosen = _selected(claim, sizes) if sizes else []
    if claim.kind == "trend":
        if len(chosen) < 2 or chosen[0] == chosen[1]:
            return []
        small, large = (_paired(claim, ladder, n, memo) for n in chosen)
        boot = ladder_stats.contrast(small, large)
        flags = {a: f for n in chosen for a, f in _flags(claim, ladder, n).items()}
        return [Rung(chosen[0], dict(boot, ends=tuple(chosen)), stats.p_value(boot["samples"], 0.0), flags)]
    out = []
    for n in chosen:
        if claim.kind == "epochs":
            a, b = ([_epochs(claim, q["entry"]) for q in ladder.rungs[n][arm]] for arm in claim.arms)
            boot = ladder_stats.over_seeds(np.subtract(b, a))
            out.append(Rung(n, boot, boot["p"], _flags(claim, ladder, n), _not_learned(claim, ladder, n)))
            continue
        boot = _paired(claim, ladder, n, memo)
        p = (ladder_stats.tost_p(boot["samples"], claim.margin) if claim.kind == "equivalence"
             else stats.p_value(boot["samples"], 0.0))
        out.append(Rung(n, boot, p, _flags(claim, ladder, n)))
    return out


def _decide(claim: Claim, r: Rung, labels: dict) -> Rung:
    """A rung's word on its Holm p, then the budget rule (`rules.budget_limit`)."""
    lo, hi = r.boot["ci"]
    if r.unjudged:
        raw = "inconclusive"
    elif claim.kind == "equivalence":
        raw = rules.equivalence_verdict(lo, hi, claim.margin, r.p_adjusted)
    else:
        raw = rules.order_verdict(lo, hi, claim.margin, r.p_adjusted)
    reason = rules.budget_limit(claim.kind, raw, claim.arms, r.flags, labels=labels)
    return dataclasses.replace(r, raw=raw, word="inconclusive" if reason else raw, budget=reason)


def _decisive(word: str, rungs: list[Rung]) -> Rung:
    """The rung that gives a claim its interval: the first rung with the claim's word when it is a bad one or
    inconclusive; for a good word, the rung closest to losing it (the lowest lower end; for equivalence the
    widest reach from zero)."""
    if word not in rules.GOOD_WORDS:
        return next((r for r in rungs if r.word == word), rungs[0])
    if word == "equivalent":
        return max(rungs, key=lambda r: max(abs(r.boot["ci"][0]), abs(r.boot["ci"][1])))
    return min(rungs, key=lambda r: r.boot["ci"][0])


def _interval(claim: Claim, boot: dict) -> Interval:
    if claim.kind == "epochs":  # epochs, not a metric: no clipping to [-1, 1]
        return Interval(estimate=float(boot["estimate"]), low=float(boot["ci"][0]), high=float(boot["ci"][1]),
                        method=boot["interval"], n=int(boot["n"]), resampled="seeds (validation curves)",
                        sd=float(boot["s_seeds"]), per_seed=tuple(boot["per_seed"]), components=tuple(boot["ci_vc"]),
                        image_half_width=0.0, deterministic=False)
    return Interval.from_boot(boot, paired=True)


def _seeds_needed(claim: Claim, r: Rung) -> int | None:
    """The seeds that would resolve an inconclusive rung (none for a rung not judged: more seeds of a
    network that never learned say nothing of convergence)."""
    word, boot = r.word, r.boot
    if word != "inconclusive" or r.unjudged or r.budget:
        return None
    if claim.kind == "equivalence" and abs(boot["estimate"]) < claim.margin:
        return ladder_stats.seeds_to_equivalence(boot, claim.margin)
    return stats.seeds_to_resolve(boot, claim.margin)


def _claimed(claim: Claim, labels: dict) -> str:
    """The claim's comparison in words (a row's `paper_value`)."""
    a, b = (labels.get(x, x) for x in claim.arms)
    if claim.kind == "epochs":
        what = "chosen epoch" if claim.measure == "chosen" else f"epochs to {claim.fraction:.0%} of its best"
        return f"{a} sooner than {b} ({what})"
    return {"order": f"{a} > {b}", "equivalence": f"|{a} − {b}| ≤ {claim.margin:g}",
            "trend": f"({a} − {b}) shrinks from the smallest rung to the largest"}[claim.kind]


def _verdict(claim: Claim, ladder: Ladder, rungs: list[Rung]) -> Verdict:
    labels = arm_labels(claim.notebook, ladder.params)
    labels = {a: labels.get(a, a) for a in claim.arms}
    rungs = [_decide(claim, r, labels) for r in rungs]
    word = rules.every_rung([r.word for r in rungs])
    r = _decisive(word, rungs)
    k, n = stats.wins(r.boot)
    found = stand_in(claim, ladder.params)
    v = Verdict(claim_id=claim.id, paper=claim.paper, text=claim.text, kind=claim.kind, metric=claim.metric,
                paper_value=_claimed(claim, labels), margin=claim.margin or 0.0, run=ladder.run, arms=tuple(claim.arms),
                word=word, raw_word=rules.every_rung([x.raw for x in rungs]), interval=_interval(claim, r.boot),
                p=r.p, p_adjusted=r.p_adjusted, p_floor=None if claim.kind == "epochs" else 1 / ladder.n_boot,
                wins=f"{k} of {n}", detectable=float(stats.detectable_difference(r.boot)),
                seeds_needed=_seeds_needed(claim, r), budget_limited=r.budget,
                flags={a: f for x in rungs for a, f in x.flags.items()}, regime=ladder.regime, indicative=bool(found),
                stand_in=found, note="; ".join(x.unjudged for x in rungs if x.unjudged), protocol=claim.protocol,
                test_protocol=claim.test_protocol, protocol_reason=claim.protocol_reason, split=claim.split,
                arm_labels=labels, extra={"rungs": rung_rows(claim, rungs), "at": claim.at})
    return dataclasses.replace(v, sentence=sentence(v, claim, rungs, r))


def judge(claims: list[Claim], ladders: list[Ladder]) -> list[Verdict]:
    """One verdict per claim and ladder that tests it (`claims.tests` on the ladder's params), every rung's p
    of every claim in one Holm family (docs/METHOD.md, Holm); a claim no ladder tests is `untested`."""
    memo: dict = {}
    found = []  # in claim order: an untested Verdict, or (claim, ladder, its rungs)
    for claim in claims:
        mine = [(claim, ladder, rungs) for ladder in ladders if tests(claim, ladder.params) and not claim.untestable
                and (rungs := measure(claim, ladder, memo))]
        found += mine or [untested(claim, "" if claim.untestable else "no ladder of this render tests it")]
    measured = [x for x in found if not isinstance(x, Verdict)]
    adjusted = iter(stats.holm([r.p for _, _, rungs in measured for r in rungs]) if measured else [])
    return [x if isinstance(x, Verdict) else
            _verdict(x[0], x[1], [dataclasses.replace(r, p_adjusted=float(next(adjusted))) for r in x[2]])
            for x in found]
