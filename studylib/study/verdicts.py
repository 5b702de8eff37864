"""Verdicts as docs/METHOD.md states them (Crossed bootstrap to Budget flags), as typed results.

A claim is judged into a `Verdict` (`verdict_types`, re-exported here with `Interval` for callers) built once
by `assess`, `assess_scores` or `untested` and never mutated: Holm (`holm_adjust`) and the scorecard's notes
make new ones. Every decision (alpha, the value and order rules, resolvability, the budget rule, which
interval) is `rules`'; the numbers are `stats`'; the row a record keeps is `Verdict.to_row`'s and is read back
by `Verdict.from_row`. How a run's claims are judged (its parameters, profile, name, budget flags, regime,
resamples) is one `Judging`. `judge`, `judge_scores`, `untestable_row` and `adjust` are the row-returning
forms their callers (notebooks, tests) use; `check_row` judges a data check; `evidence_row` computes a check
of a paper's own figures.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..train.experiment import PROTOCOLS
from . import rules, stats
from .claims import CLAIMS, Claim, Evidence, arm_label, stand_in
from .task import proves_only_the_pipeline
from .verdict_types import Interval, Verdict

__all__ = ["ALPHA", "NOT_TESTABLE", "VERDICTS", "Interval", "Judging", "Verdict", "adjust", "assess",
           "assess_in", "assess_scores", "check_row", "evidence_row", "holm_adjust", "judge", "judge_scores",
           "other_protocol", "sentence", "untestable_row", "untested"]

VALUE_VERDICTS = ("matches", "differs", "inconclusive")
ORDER_VERDICTS = ("holds", "contradicted", "inconclusive")
EQUIVALENCE_VERDICTS = ("equivalent", "differs", "inconclusive")   # docs/METHOD.md, Equivalence (rules)
NOT_TESTABLE = "not testable here"
VERDICTS = ("matches", "holds", "equivalent", "differs", "contradicted", "inconclusive", NOT_TESTABLE)
N_BOOT = 2000  # docs/METHOD.md, Crossed bootstrap: 2,000 resamples
ALPHA = rules.ALPHA  # docs/METHOD.md, Order claims: the one level, decided in rules (kept for importers)


@dataclasses.dataclass(frozen=True)
class Judging:
    """How one run's claims are judged: the run's parameters (stand-ins are read from them), its profile
    (demo and smoke prove only the pipeline) and name, its budget flags {arm id: [flag, ...]} (study.budget),
    its regime in words, and the crossed bootstrap's resamples."""
    params: object
    profile: str
    run: str = ""
    flags: dict | None = None
    regime: str = ""
    n_boot: int = N_BOOT


def _blank(claim: Claim, run: str = "") -> Verdict:
    """A claim not judged (yet): its words and margin, no interval, no sentence."""
    a_b = (f"{arm_label(claim.notebook, claim.arms[0])} > {arm_label(claim.notebook, claim.arms[1])}"
           if claim.kind == "order" else None)
    return Verdict(claim_id=claim.id, paper=claim.paper, text=claim.text, kind=claim.kind, metric=claim.metric,
                   paper_value=claim.value if claim.kind != "order" else a_b, margin=claim.margin, run=run,
                   arms=tuple(claim.arms), word=NOT_TESTABLE, raw_word=NOT_TESTABLE, protocol=claim.protocol,
                   test_protocol=claim.test_protocol, protocol_reason=claim.protocol_reason, split=claim.split)


def untested(claim: Claim, note: str = "", run: str = "") -> Verdict:
    """A claim this study, or this profile, cannot test, with why."""
    v = dataclasses.replace(_blank(claim, run), note=note or claim.untestable)
    return dataclasses.replace(v, sentence=sentence(v))


def untestable_row(claim: Claim, note: str = "", run: str = "") -> dict:
    """`untested` as a record's row."""
    return untested(claim, note, run).to_row()


def other_protocol(claim: Claim) -> str:
    """The test protocol the claim is not judged on (shown beside)."""
    return next(p for p in PROTOCOLS if p != claim.test_protocol)


def _pipeline_note(profile: str) -> str:
    return "DEMO run on generated data" if profile == "demo" else "SMOKE run on generated data"


def _order_stats(claim: Claim, boot: dict) -> dict:
    """An order row's numbers beside its verdict (docs/METHOD.md, Order claims, Holm, Power and seeds needed);
    its raw verdict on the unadjusted p until `holm_adjust` runs."""
    k, n = stats.wins(boot)
    p = float(stats.p_value(boot["samples"], boot["estimate"]))
    # the interval as computed, before clipping: the rule has always read it so (clipping cannot move an
    # order verdict: a difference's interval is clipped to [-1, 1])
    raw = rules.order_verdict(*boot["ci"], claim.margin, p)
    return dict(p=p, p_adjusted=p, p_floor=1 / len(boot["samples"]), wins=f"{k} of {n}",
                prob_improvement=float(stats.prob_improvement(boot)),
                detectable=float(stats.detectable_difference(boot)), raw_word=raw,
                seeds_needed=stats.seeds_to_resolve(boot, claim.margin) if raw == "inconclusive" else None)


def _value_stats(claim: Claim, boot: dict) -> dict:
    # the unclipped interval, as this rule has always read it (docs/METHOD.md, Value claims; see the report)
    return dict(raw_word=rules.value_verdict(*boot["ci"], claim.value, claim.margin),
                resolvable=rules.resolvable(boot["image_half_width"], claim.margin))


def _assemble(claim: Claim, boot: dict, interval: Interval, how: Judging, **more) -> Verdict:
    """The one constructor of a judged verdict: the rules applied once to the numbers, then the sentence."""
    judged = _order_stats(claim, boot) if claim.kind == "order" else _value_stats(claim, boot)
    labels = {a: arm_label(claim.notebook, a) for a in claim.arms}
    flags = {a: tuple(f) for a, f in (how.flags or {}).items() if a in claim.arms and f}
    raw = judged["raw_word"]
    reason = rules.budget_limit(claim.kind, raw, claim.arms, flags, interval.estimate, claim.value, labels)
    word = "inconclusive" if reason else raw
    if proves_only_the_pipeline(how.profile):  # generated data: the numbers show the pipeline runs, nothing more
        word, reason, more["note"] = NOT_TESTABLE, "", _pipeline_note(how.profile)
        judged["raw_word"] = NOT_TESTABLE
    found = stand_in(claim, how.params)
    v = dataclasses.replace(_blank(claim, how.run), interval=interval, word=word, budget_limited=reason,
                            flags=flags, regime=how.regime, arm_labels=labels, stand_in=found, indicative=bool(found),
                            **judged, **more)
    return dataclasses.replace(v, sentence=sentence(v))


def assess_in(how: Judging, claim: Claim, per_seed: dict, other: dict | None = None) -> Verdict:
    """One claim's verdict, judged on the claim's test protocol (claim.test_protocol), as `how` says.

    per_seed: {arm id: [(y_true, y_pred) per seed]} of the models the claim's protocol tests, the seeds in
        the same order for every arm and the same test images within a seed. other: the same under the other
        protocol, judged by the same rule (without the flags and regime) and shown beside as
        `other_protocol`, never counted.
    """
    if claim.untestable:
        return untested(claim, run=how.run)
    shown = None
    if other is not None:
        plain = Judging(how.params, how.profile, how.run, n_boot=how.n_boot)
        o = assess_in(plain, dataclasses.replace(claim, test_protocol=other_protocol(claim)), other)
        shown = {"test_protocol": o.test_protocol, "estimate": o.interval.estimate, "ci": [o.interval.low, o.interval.high],
                 "p": o.p, "raw_verdict": o.raw_word, "verdict": o.raw_word}
    b = per_seed[claim.arms[1]] if claim.kind == "order" else None
    boot = stats.crossed_bootstrap(per_seed[claim.arms[0]], claim.metric, n_boot=how.n_boot, seed=0, paired_with=b)
    interval = Interval.from_boot(boot, paired=b is not None, resampled="seeds x test images")
    return _assemble(claim, boot, interval, how, other_protocol=shown)


def assess(claim: Claim, per_seed: dict, params, profile: str, run: str = "", *, other: dict | None = None,
           flags: dict | None = None, regime: str = "") -> Verdict:
    """`assess_in` with the `Judging` given field by field (the default resamples), the form the scorecard
    calls."""
    return assess_in(Judging(params, profile, run, flags, regime), claim, per_seed, other)


def judge(claim: Claim, per_seed: dict, params, profile: str, run: str = "", *, other: dict | None = None,
          flags: dict | None = None, regime: str = "") -> dict:
    """`assess` as a record's row (the form a run's notebook calls, through report.Run.judge)."""
    return assess(claim, per_seed, params, profile, run, other=other, flags=flags, regime=regime).to_row()


def assess_scores(claim: Claim, scores, n_images: int, params, profile: str, run: str = "",
                  flags: dict | None = None, regime: str = "") -> Verdict:
    """A value claim on accuracy from per-seed scores alone (a validation figure: records keep no
    validation predictions). The image variance is bounded by p(1-p)/N, the variance of a seed-averaged
    per-image correctness (a mean of values in [0, 1] with mean p): the interval is the variance-components
    one with that bound, so it can only be too wide, never too narrow."""
    if claim.untestable:
        return untested(claim, run=run)
    if claim.metric != "accuracy" or claim.kind != "value":
        raise ValueError(f"claim {claim.id}: judge_scores judges value claims on accuracy only")
    p = float(np.mean(scores))
    vc = stats.variance_components(scores, p * (1 - p) / n_images)
    boot = dict(vc, ci=vc["ci_vc"], ci_boot=None, interval="variance components (image variance bounded)")
    interval = Interval.from_boot(boot, resampled="seeds; image variance bounded by p(1-p)/N")
    note = f"validation: {n_images:,} images, per-seed scores (no per-image predictions kept)"
    return _assemble(claim, boot, interval, Judging(params, profile, run, flags, regime), note=note)


def judge_scores(claim: Claim, scores, n_images: int, params, profile: str, run: str = "",
                 flags: dict | None = None, regime: str = "") -> dict:
    """`assess_scores` as a record's row."""
    return assess_scores(claim, scores, n_images, params, profile, run, flags, regime).to_row()


def _rejudged(v: Verdict, p_adjusted: float) -> Verdict:
    """An order verdict judged again on its Holm-adjusted p, the budget rule applied again."""
    if v.raw_word == NOT_TESTABLE or v.interval is None:  # demo and smoke rows: only the p changes
        return dataclasses.replace(v, p_adjusted=p_adjusted)
    raw = rules.order_verdict(v.interval.low, v.interval.high, v.margin, p_adjusted)
    reason = rules.budget_limit(v.kind, raw, v.arms, v.flags, v.interval.estimate, None, v.arm_labels)
    v = dataclasses.replace(v, p_adjusted=p_adjusted, raw_word=raw, word="inconclusive" if reason else raw,
                            budget_limited=reason)
    return dataclasses.replace(v, sentence=sentence(v))


def holm_adjust(judged: list[Verdict]) -> list[Verdict]:
    """docs/METHOD.md, Holm: Holm-Bonferroni over the p of the family's rows (`rules.in_holm_family`), each
    judged again on its adjusted p; new verdicts, in the same order."""
    family = [i for i, v in enumerate(judged) if rules.in_holm_family(v.kind, v.p)]
    out = list(judged)
    for i, p_adj in zip(family, stats.holm([judged[i].p for i in family]) if family else []):
        out[i] = _rejudged(judged[i], float(p_adj))
    return out


def adjust(rows: list[dict]) -> list[dict]:
    """`holm_adjust` on records' rows: new rows (the ones given are left as they are)."""
    return [v.to_row() for v in holm_adjust([Verdict.from_row(r) for r in rows])]


def _f(x) -> str:
    return f"{x:.3f}"


def _value_sentence(v: Verdict, seeds: str) -> str:
    lo, hi = v.interval.low, v.interval.high
    band = (v.paper_value - v.margin, v.paper_value + v.margin)
    where = ("inside" if band[0] <= lo and hi <= band[1] else
             "below" if hi < band[0] else "above" if lo > band[1] else "across an edge of")
    s = (f"Ours {_f(v.interval.estimate)} (95% interval {_f(lo)} to {_f(hi)}, {seeds}) lies {where} the paper's "
         f"band {_f(band[0])} to {_f(band[1])}")
    if v.resolvable is False:
        s += (f"; the test set cannot resolve ±{v.margin:g} (image noise alone ±{v.interval.image_half_width:.3f}),"
              " so no number of seeds could give 'matches'")
    return s


def _order_sentence(v: Verdict, seeds: str) -> str:
    labels = v.arm_labels or {}
    a, b = labels.get(v.arms[0], "A"), labels.get(v.arms[1], "B")
    p, floor = v.p_adjusted, v.p_floor
    at_floor = floor is not None and v.p is not None and v.p <= floor * 1.0001
    ptxt = "" if p is None else f"Holm p {p:.3g}" + (f" (unadjusted p at the floor 1/{round(1 / floor):,})"
                                                    if at_floor else "")
    iv = v.interval
    s = (f"{a} − {b} = {iv.estimate:+.3f} (95% interval {iv.low:+.3f} to {iv.high:+.3f}, {seeds}; {a} won "
         f"{v.wins}; {ptxt})")
    if v.word == "inconclusive" and not v.budget_limited:
        s += (f"; about {v.seeds_needed} seeds would resolve it" if v.seeds_needed else
              "; no number of seeds would resolve it (image noise alone is too large, or the difference is "
              "within the margin)")
    if v.detectable is not None:
        s += f"; this design detects a difference of {v.detectable:.3f} with 80% power"
    return s


def sentence(v: Verdict | dict) -> str:
    """The verdict in one generated plain sentence (docs/METHOD.md, What a scorecard row shows); a row is
    read as a `Verdict` first."""
    v = v if isinstance(v, Verdict) else Verdict.from_row(v)
    if v.interval is None:
        return f"Not testable here: {v.note or 'no run of this profile tests it'}."
    n = v.interval.n
    seeds = f"{n} seed{'s' if n != 1 else ''}" + (" (deterministic: the seeds agree)" if v.interval.deterministic else "")
    s = _value_sentence(v, seeds) if v.kind == "value" else _order_sentence(v, seeds)
    if v.budget_limited:
        s += f". Budget-limited: {v.budget_limited}"
    word = v.word
    if v.indicative and v.word != NOT_TESTABLE:
        word += f" (indicative: {v.stand_in})"
    return f"{s}: {word}."


def check_row(claim_id: str, ours, profile: str) -> dict:
    """A data check (kind 'check'): our count or rate against the documented figure, within its margin."""
    claim = CLAIMS[claim_id]
    row = {**_blank(claim).to_row(), "estimate": float(ours), "n": 1}  # a figure, no interval
    if proves_only_the_pipeline(profile):
        row.update(verdict=NOT_TESTABLE, note=_pipeline_note(profile))
    else:
        row["verdict"] = rules.check_verdict(ours, claim.value, claim.margin)
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
