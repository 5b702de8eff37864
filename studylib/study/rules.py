"""Every decision a verdict makes, each in one function citing its section of docs/METHOD.md.

`stats` computes the numbers (bootstrap, variance components, p, Holm); `verdicts` assembles a claim's
verdict by calling these rules on them. Nothing here computes a statistic, and nothing here reads a record:
a rule takes plain numbers and returns a word or a reason, so each can be tested on numbers with a known
answer (tests/test_rules.py). This module imports nothing from the study, so any layer above may use it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["ALPHA", "GOOD_WORDS", "budget_limit", "check_verdict", "clip", "every_rung", "equivalence_verdict",
           "in_holm_family", "learned", "order_verdict", "resolvable", "value_verdict", "wider"]

# docs/METHOD.md, Order claims: the one two-sided level of every order verdict and power figure
# (stats.ALPHA and verdicts.ALPHA are this constant, kept for their importers).
ALPHA = 0.05


def wider(ci_boot: Sequence[float], ci_vc: Sequence[float]) -> tuple[tuple[float, float], str]:
    """docs/METHOD.md, Variance components: the verdict uses the wider of the crossed bootstrap's interval
    and the variance-components one (the bootstrap's on a tie); returns (interval, its method's name)."""
    use_boot = ci_boot[1] - ci_boot[0] >= ci_vc[1] - ci_vc[0]
    chosen = ci_boot if use_boot else ci_vc
    return (chosen[0], chosen[1]), "crossed bootstrap" if use_boot else "variance components"


def clip(ci: Sequence[float] | None, paired: bool) -> list[float] | None:
    """docs/METHOD.md, Variance components: a metric lies in [0, 1] and a difference of two in [-1, 1], so an
    interval (the t interval can overshoot) is clipped to that range; None stays None."""
    if ci is None:
        return None
    return [max(-1.0 if paired else 0.0, float(ci[0])), min(1.0, float(ci[1]))]


def value_verdict(low: float, high: float, value: float, margin: float) -> str:
    """docs/METHOD.md, Value claims: "matches" when the interval lies inside the band [value - margin,
    value + margin] (edges included), "differs" when it lies wholly below or above it, else "inconclusive"."""
    if value - margin <= low and high <= value + margin:
        return "matches"
    if high < value - margin or low > value + margin:
        return "differs"
    return "inconclusive"


def order_verdict(low: float, high: float, margin: float, p_adjusted: float, alpha: float = ALPHA) -> str:
    """docs/METHOD.md, Order claims: "holds" when the interval of A - B lies above the margin and the
    Holm-adjusted p < alpha; "contradicted" when it lies below zero and p < alpha; else "inconclusive"."""
    if low > margin and p_adjusted < alpha:
        return "holds"
    if high < 0 and p_adjusted < alpha:
        return "contradicted"
    return "inconclusive"


def equivalence_verdict(low: float, high: float, margin: float, p_adjusted: float, alpha: float = ALPHA) -> str:
    """docs/METHOD.md, Equivalence: "equivalent" when the interval lies inside [-margin, +margin] (edges
    included) and the Holm-adjusted p of the two one-sided tests < alpha; "differs" when it lies wholly
    outside (above +margin or below -margin); else "inconclusive". An interval that merely includes zero is
    neither: it says only that this design could not tell."""
    if -margin <= low and high <= margin and p_adjusted < alpha:
        return "equivalent"
    if low > margin or high < -margin:
        return "differs"
    return "inconclusive"


# The words that say a claim was found as its paper states it (docs/METHOD.md: Value claims, Order claims,
# Equivalence), and the words that say it was not
GOOD_WORDS, BAD_WORDS = ("holds", "matches", "equivalent"), ("contradicted", "differs")


def every_rung(words: Sequence[str]) -> str:
    """docs/METHOD.md, Claims over a ladder: a claim made at every rung is contradicted (or differs) when any
    rung is, holds (or is equivalent) only when every rung does, and is inconclusive otherwise."""
    bad = [w for w in words if w in BAD_WORDS]
    if bad:
        return bad[0]
    if words and len(set(words)) == 1 and words[0] in GOOD_WORDS:
        return words[0]
    return "inconclusive"


def learned(best: float, n_classes: int) -> bool:
    """docs/METHOD.md, Claims over a ladder: an arm learned when its best validation macro F1 exceeds 1/K,
    what guessing uniformly among K balanced classes scores; one that never did (a network that predicts one
    class) reaches "its own best" at once, which says nothing about how fast it converges."""
    return bool(best > 1.0 / max(int(n_classes), 1))


def resolvable(image_half_width: float, margin: float) -> bool:
    """docs/METHOD.md, Resolvability: the test set can resolve ±margin when the image-only half-width (the
    interval's with the seed variance set to 0) is at most the margin; otherwise no number of seeds can give
    "matches"."""
    return bool(image_half_width <= margin)


def in_holm_family(kind: str, p: float | None) -> bool:
    """docs/METHOD.md, Holm: the family is every row with a p (order rows, sensitivity rungs included; over a
    ladder, each rung's order, equivalence, epochs or trend p); value claims carry no p and are not in it."""
    return kind in ("order", "equivalence", "epochs", "trend") and p is not None


def budget_limit(kind: str, raw: str, arms: Sequence[str], flags: Mapping[str, Sequence[str]],
                 estimate: float | None = None, paper_value: float | None = None,
                 labels: Mapping[str, str] | None = None) -> str:
    """docs/METHOD.md, Budget flags: why our budget may have decided this verdict ('' when it did not); a
    non-empty reason makes the verdict inconclusive and budget-limited.

    - an order verdict "holds" or "contradicted" whose losing arm (B for holds, A for contradicted) carries
      any flag: our cut on the loser could be why it lost;
    - a value verdict "differs" below the paper's figure whose arm is cap-bound: more epochs could close it;
    - an epochs verdict (A converges sooner than B) holds or contradicted whose arm with fewer epochs (A for
      holds, B for contradicted) carries a flag: a cut on it may have shortened its count;
    - an equivalence or trend verdict decided either way while either arm carries a flag.
    A flag on the winning arm, or a grid-edge on a value claim, leaves the verdict standing."""
    labels = labels or {}
    if kind in ("order", "epochs") and raw in ("holds", "contradicted"):
        loser = arms[1] if (raw == "holds") == (kind == "order") else arms[0]
        if flags.get(loser):
            what = "the losing arm" if kind == "order" else "the arm with fewer epochs"
            return f"{labels.get(loser, loser)}, {what}: {'; '.join(flags[loser])}"
    elif kind in ("equivalence", "trend") and raw not in ("inconclusive", ""):
        flagged = [a for a in arms if flags.get(a)]
        return "; ".join(f"{labels.get(a, a)}: {'; '.join(flags[a])}" for a in flagged)
    elif kind == "value" and raw == "differs" and estimate is not None and estimate < paper_value:
        caps = [f for f in flags.get(arms[0], []) if f.startswith("cap-bound")]
        return "; ".join(caps)
    return ""


def check_verdict(ours: float, value: float, margin: float) -> str:
    """docs/METHOD.md, Checks and evidence: a data check matches when our figure lies within the margin of
    the documented one, else it differs (n = 1, no interval)."""
    return "matches" if abs(ours - value) <= margin else "differs"
