"""Verdicts as docs/METHOD.md states them (Crossed bootstrap to Budget flags), as typed results.

`Interval` is the 95% interval a verdict uses; `Verdict` one claim judged on one run, built once (by
`assess`, `assess_scores`, `untested`) and never mutated: Holm (`holm_adjust`) and the scorecard's notes
make new ones. Every decision (alpha, the value and order rules, resolvability, the budget rule, which
interval) is `rules`'; the numbers are `stats`'. A record keeps a verdict as a row (a dict: the per-run
record's `claims`, the scorecard's `metrics.claims`): `Verdict.to_row` writes it, `Verdict.from_row` reads it
back, the one place that knows the row's keys. `judge`, `judge_scores`, `untestable_row` and `adjust` are
the row-returning forms their callers (notebooks, tests) use; `check_row` judges a data check;
`evidence_row` computes a check of a paper's own figures.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..train.experiment import PROTOCOLS
from . import rules, stats
from .claims import CLAIMS, Claim, Evidence, arm_label, stand_in
from .task import proves_only_the_pipeline

__all__ = ["ALPHA", "NOT_TESTABLE", "VERDICTS", "Interval", "Verdict", "adjust", "assess", "assess_scores",
           "check_row", "evidence_row", "holm_adjust", "judge", "judge_scores", "other_protocol", "sentence",
           "untestable_row", "untested"]

VALUE_VERDICTS = ("matches", "differs", "inconclusive")
ORDER_VERDICTS = ("holds", "contradicted", "inconclusive")
NOT_TESTABLE = "not testable here"
VERDICTS = ("matches", "holds", "differs", "contradicted", "inconclusive", NOT_TESTABLE)
N_BOOT = 2000  # docs/METHOD.md, Crossed bootstrap: 2,000 resamples
ALPHA = rules.ALPHA  # docs/METHOD.md, Order claims: the one level, decided in rules (kept for importers)


def _given(x):
    """A row's value, None for what a table leaves missing (pandas' NaN where a row lacks the key)."""
    return None if x is None or (isinstance(x, float) and x != x) else x


def _pair(ci) -> tuple[float, float] | None:
    ci = _given(ci)
    return None if ci is None else (float(ci[0]), float(ci[1]))


def _list(pair) -> list[float] | None:
    return None if pair is None else [pair[0], pair[1]]


@dataclasses.dataclass(frozen=True)
class Interval:
    """The 95% interval a verdict uses (docs/METHOD.md, Crossed bootstrap, Variance components): the estimate,
    the interval (clipped to the metric's range), which method gave it (the wider, `rules.wider`), over n
    seeds, and what was resampled; beside it the seeds' values and spread, both intervals and the image-only
    half-width (Resolvability)."""
    estimate: float
    low: float
    high: float
    method: str
    n: int
    resampled: str
    sd: float = 0.0
    per_seed: tuple[float, ...] = ()
    bootstrap: tuple[float, float] | None = None     # the crossed bootstrap's (None: scores only)
    components: tuple[float, float] | None = None    # the variance components'
    image_half_width: float | None = None
    deterministic: bool | None = None                # None: not asked (per-seed scores only)

    @classmethod
    def from_boot(cls, boot: dict, paired: bool = False, resampled: str = "seeds x test images") -> Interval:
        """From `stats.crossed_bootstrap` (or `stats.variance_components` with a chosen `ci`), clipped by
        `rules.clip`."""
        ci = rules.clip(boot["ci"], paired)
        return cls(estimate=float(boot["estimate"]), low=ci[0], high=ci[1], method=boot.get("interval", ""),
                   n=int(boot["n"]), resampled=resampled, sd=float(boot["s_seeds"]),
                   per_seed=tuple(float(v) for v in boot["per_seed"]),
                   bootstrap=_pair(rules.clip(boot.get("ci_boot"), paired)),
                   components=_pair(rules.clip(boot.get("ci_vc"), paired)),
                   image_half_width=float(boot["image_half_width"]),
                   deterministic=bool(boot["deterministic"]) if "deterministic" in boot else None)

    @classmethod
    def from_row(cls, row: dict) -> Interval | None:
        """A row's interval; None for a row with no estimate (not tested)."""
        if _given(row.get("estimate")) is None or _pair(row.get("ci")) is None:
            return None
        lo, hi = _pair(row["ci"])
        method = _given(row.get("interval")) or ""
        det = _given(row.get("deterministic"))
        return cls(estimate=float(row["estimate"]), low=lo, high=hi, method=method, n=int(_given(row.get("n")) or 0),
                   resampled="seeds; image variance bounded by p(1-p)/N" if "bounded" in method else "seeds x test images",
                   sd=float(_given(row.get("sd")) or 0.0), per_seed=tuple(_given(row.get("seeds")) or ()),
                   bootstrap=_pair(row.get("ci_boot")), components=_pair(row.get("ci_vc")),
                   image_half_width=_given(row.get("image_half_width")), deterministic=None if det is None else bool(det))


# The keys a row carries after the judged ones when they apply (a tested row's labels, the scorecard's
# additions), in the order the records have them; a key whose value is None is left out, as it always was.
_TAIL = ("arm_labels", "deterministic", "per_class", "sensitivity", "input_px", "regimes_agree")


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One claim judged on one run (docs/METHOD.md, What a scorecard row shows): the claim's words and
    margin, the verdict word and the raw word before the budget rule, the sentence, the interval, the order
    numbers (p, Holm p, wins, power, seeds needed) or resolvability, the budget flags and reason, the regime,
    the stand-in. Built once; Holm and the scorecard's notes make new ones (dataclasses.replace)."""
    claim_id: str
    paper: str
    text: str
    kind: str
    metric: str
    paper_value: float | str | None
    margin: float
    run: str
    arms: tuple[str, ...]
    word: str
    raw_word: str
    sentence: str = ""
    interval: Interval | None = None
    p: float | None = None
    p_adjusted: float | None = None
    p_floor: float | None = None
    wins: str | None = None
    prob_improvement: float | None = None
    resolvable: bool | None = None
    detectable: float | None = None
    seeds_needed: int | None = None
    budget_limited: str = ""
    flags: dict = dataclasses.field(default_factory=dict)   # {arm id: (flag, ...)}
    regime: str = ""
    indicative: bool = False
    stand_in: str = ""
    protocol: str = ""
    note: str = ""
    test_protocol: str = ""
    protocol_reason: str = ""
    other_protocol: dict | None = None
    split: str = "test"
    arm_labels: dict | None = None
    sensitivity: bool | None = None      # a rung beside the claim-bearing run (the scorecard's), not counted
    regimes_agree: bool | None = None
    per_class: dict | None = None
    input_px: int | None = None
    extra: dict = dataclasses.field(default_factory=dict)   # keys a record adds that no rule reads (this_seed)

    @property
    def tested(self) -> bool:
        return self.interval is not None

    def to_row(self) -> dict:
        """The record's row: the same keys, in the same order, with the same values as ever (the one writer)."""
        iv = self.interval
        row = {"id": self.claim_id, "paper": self.paper, "claim": self.text, "kind": self.kind, "metric": self.metric,
               "paper_value": self.paper_value, "margin": self.margin, "run": self.run, "arms": list(self.arms),
               "n": iv.n if iv else 0, "estimate": iv.estimate if iv else None, "sd": iv.sd if iv else None,
               "ci": [iv.low, iv.high] if iv else None, "ci_boot": _list(iv.bootstrap) if iv else None,
               "ci_vc": _list(iv.components) if iv else None, "interval": iv.method if iv else "",
               "seeds": list(iv.per_seed) if iv else [], "p": self.p, "p_adjusted": self.p_adjusted,
               "p_floor": self.p_floor, "wins": self.wins, "prob_improvement": self.prob_improvement,
               "image_half_width": iv.image_half_width if iv else None, "resolvable": self.resolvable,
               "detectable": self.detectable, "seeds_needed": self.seeds_needed, "verdict": self.word,
               "raw_verdict": self.raw_word, "budget_limited": self.budget_limited,
               "flags": {a: list(f) for a, f in self.flags.items()}, "regime": self.regime,
               "indicative": self.indicative, "stand_in": self.stand_in, "protocol": self.protocol, "note": self.note,
               "test_protocol": self.test_protocol, "protocol_reason": self.protocol_reason,
               "other_protocol": self.other_protocol, "split": self.split, "sentence": self.sentence}
        tail = {"arm_labels": self.arm_labels, "deterministic": iv.deterministic if iv else None,
                "per_class": self.per_class, "sensitivity": self.sensitivity, "input_px": self.input_px,
                "regimes_agree": self.regimes_agree}
        row.update((k, tail[k]) for k in _TAIL if tail[k] is not None)
        return {**row, **self.extra}

    @classmethod
    def from_row(cls, row: dict) -> Verdict:
        """A record's row (or a scorecard frame's, NaN where a row lacks a key) read once: the one reader."""
        g = {k: _given(v) for k, v in row.items()}
        known = {"id", "paper", "claim", "kind", "metric", "paper_value", "margin", "run", "arms", "n", "estimate",
                 "sd", "ci", "ci_boot", "ci_vc", "interval", "seeds", "image_half_width", "verdict", "raw_verdict",
                 "deterministic", *(f.name for f in dataclasses.fields(cls))}
        same = ("p", "p_adjusted", "p_floor", "wins", "prob_improvement", "resolvable", "detectable", "regime",
                "stand_in", "protocol", "note", "test_protocol", "protocol_reason", "other_protocol", "split",
                "arm_labels", "sensitivity", "regimes_agree", "per_class", "input_px")
        need = g.get("seeds_needed")
        return cls(claim_id=g.get("id") or "", paper=str(g.get("paper") or ""), text=g.get("claim") or "", kind=g.get("kind") or "",
                   metric=g.get("metric") or "", paper_value=g.get("paper_value"),
                   margin=g["margin"] if g.get("margin") is not None else 0.0,
                   run=g.get("run") or "", arms=tuple(g.get("arms") or ()), word=g.get("verdict") or "",
                   raw_word=g.get("raw_verdict") or g.get("verdict") or "", sentence=g.get("sentence") or "",
                   interval=Interval.from_row(row), seeds_needed=None if need is None else int(need),
                   budget_limited=g.get("budget_limited") or "", indicative=bool(g.get("indicative")),
                   flags={a: tuple(f) for a, f in (g.get("flags") or {}).items()},
                   **{k: g[k] for k in same if k in g and g[k] is not None},
                   extra={k: v for k, v in row.items() if k not in known})


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


def _assemble(claim: Claim, boot: dict, interval: Interval, profile: str, run: str, params, flags, regime: str,
              **more) -> Verdict:
    """The one constructor of a judged verdict: the rules applied once to the numbers, then the sentence."""
    judged = _order_stats(claim, boot) if claim.kind == "order" else _value_stats(claim, boot)
    labels = {a: arm_label(claim.notebook, a) for a in claim.arms}
    flags = {a: tuple(f) for a, f in (flags or {}).items() if a in claim.arms and f}
    raw = judged["raw_word"]
    reason = rules.budget_limit(claim.kind, raw, claim.arms, flags, interval.estimate, claim.value, labels)
    word = "inconclusive" if reason else raw
    if proves_only_the_pipeline(profile):  # generated data: the numbers show the pipeline runs, nothing more
        word, reason, more["note"] = NOT_TESTABLE, "", _pipeline_note(profile)
        judged["raw_word"] = NOT_TESTABLE
    found = stand_in(claim, params)
    v = dataclasses.replace(_blank(claim, run), interval=interval, word=word, budget_limited=reason, flags=flags,
                            regime=regime, arm_labels=labels, stand_in=found, indicative=bool(found), **judged, **more)
    return dataclasses.replace(v, sentence=sentence(v))


def assess(claim: Claim, per_seed: dict, params, profile: str, run: str = "", n_boot: int = N_BOOT,
           other: dict | None = None, flags: dict | None = None, regime: str = "") -> Verdict:
    """One claim's verdict, judged on the claim's test protocol (claim.test_protocol).

    per_seed: {arm id: [(y_true, y_pred) per seed]} of the models the claim's protocol tests, the seeds in
        the same order for every arm and the same test images within a seed. params: the run's parameters
        (stand-ins are read from them). other: the same under the other protocol, judged by the same rule
        and shown beside as `other_protocol`, never counted. flags: {arm id: [budget flags]}
        (study.budget); regime: the run's regime in words.
    """
    if claim.untestable:
        return untested(claim, run=run)
    shown = None
    if other is not None:
        o = assess(dataclasses.replace(claim, test_protocol=other_protocol(claim)), other, params, profile, run, n_boot)
        shown = {"test_protocol": o.test_protocol, "estimate": o.interval.estimate, "ci": [o.interval.low, o.interval.high],
                 "p": o.p, "raw_verdict": o.raw_word, "verdict": o.raw_word}
    b = per_seed[claim.arms[1]] if claim.kind == "order" else None
    boot = stats.crossed_bootstrap(per_seed[claim.arms[0]], claim.metric, n_boot=n_boot, seed=0, paired_with=b)
    interval = Interval.from_boot(boot, paired=b is not None, resampled="seeds x test images")
    return _assemble(claim, boot, interval, profile, run, params, flags, regime, other_protocol=shown)


def judge(claim: Claim, per_seed: dict, params, profile: str, run: str = "", n_boot: int = N_BOOT,
          other: dict | None = None, flags: dict | None = None, regime: str = "") -> dict:
    """`assess` as a record's row."""
    return assess(claim, per_seed, params, profile, run, n_boot, other, flags, regime).to_row()


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
    return _assemble(claim, boot, interval, profile, run, params, flags, regime, note=note)


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
