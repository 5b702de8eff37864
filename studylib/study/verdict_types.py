"""A verdict as a typed value and as a record's row (docs/METHOD.md, What a scorecard row shows).

`Interval` is the 95% interval a verdict uses; `Verdict` one claim judged on one run, frozen: built once by
`verdicts` (`assess`, `assess_scores`, `untested`), and Holm and the scorecard's notes make new ones. A record
keeps a verdict as a row (a dict: the per-run record's `claims`, the scorecard's `metrics.claims`):
`Verdict.to_row` writes it and `Verdict.from_row` reads it back (NaN, as a table leaves a missing value, is
read as no value), the one writer and the one reader, so this is the one module that knows the row's keys.
It imports only `rules` (the interval's clipping); `verdicts` builds on it and re-exports both names.
"""
from __future__ import annotations

import dataclasses

from . import rules

__all__ = ["Interval", "Verdict"]


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
