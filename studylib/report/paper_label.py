"""A paper's reproducibility label, [Re], [¬Re] or partial / indicative, with its reason computed from the
paper's verdicts (`label`, docs/METHOD.md), and the label and verdict badges the summary pages draw
(`report.paper_summary`, `report.paper_summary_page`; the landing page draws `label_badge`).
"""
from __future__ import annotations

import html
from collections import Counter

from ..study.rules import BAD_WORDS, GOOD_WORDS
from ..study.verdict_types import Verdict
from .tables import VERDICT_CLAUSES, verdict_word

__all__ = ["LABEL_COLOURS", "NOT_RE", "PARTIAL", "RE", "label", "label_badge"]

RE, NOT_RE, PARTIAL = "[Re]", "[¬Re]", "partial / indicative"
GOOD, BAD = GOOD_WORDS, BAD_WORDS  # holds, matches, equivalent; contradicted, differs
UNTESTABLE = "not testable here"
LABEL_COLOURS = {RE: ("#1b7837", "#ffffff"), NOT_RE: ("#d73027", "#ffffff"), PARTIAL: ("#fee08b", "#3b3b3b")}


def claim_word(v: Verdict) -> str:
    return verdict_word(v.word)


def n_of(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _tally(group: list[Verdict]) -> str:
    found = Counter(claim_word(v) for v in group)
    return ", ".join(f"{n} {VERDICT_CLAUSES[w][n != 1]}" for w, n in found.most_common())


def claim_ids(group: list[Verdict]) -> str:
    return ", ".join(dict.fromkeys(v.claim_id for v in group))


def label(verdicts) -> tuple[str, str]:
    """(label, reason) of one paper's verdicts (`Verdict`s, or a record's rows), the reason computed from them.

    The rule (docs/METHOD.md, Direct and indicative verdicts; Value claims; Order claims; Budget flags):

    - only the rows the scorecard counts: a sensitivity rung (Several regimes) is shown beside its claim and
      does not move the label; a claim "not testable here" is listed, and counts neither for nor against;
    - **[¬Re]** when a claim tested **directly** (on the paper's own network and data, not `indicative`) is
      contradicted (an order) or differs (a value);
    - **[Re]** only when at least one claim is testable and every testable claim holds or matches directly;
    - otherwise **partial / indicative**: a verdict rests on a stand-in (indicative: it answers the paper's
      question, not its figure), or a direct one is inconclusive (budget-limited ones named), or no claim
      could be tested here. The reason says which, with counts.
    """
    verdicts = [v if isinstance(v, Verdict) else Verdict.from_row(v) for v in verdicts]
    counted = [v for v in verdicts if not v.sensitivity]
    untestable = [v for v in counted if claim_word(v) == UNTESTABLE]
    tested = [v for v in counted if claim_word(v) != UNTESTABLE]
    direct = [v for v in tested if not v.indicative]
    stand_in = [v for v in tested if v.indicative]
    aside = f"; {n_of(len(untestable), 'claim', 'claims')} not testable here ({claim_ids(untestable)})" if untestable else ""
    against = [v for v in direct if claim_word(v) in BAD]
    if against:
        return NOT_RE, (f"{n_of(len(against), 'claim', 'claims')} tested on the paper's own network and data "
                        f"({claim_ids(against)}): {_tally(against)}" + aside)
    if tested and all(v in direct and claim_word(v) in GOOD for v in tested):
        return RE, (f"every testable claim ({len(tested)}) tested on the paper's own network and data: "
                    f"{_tally(tested)}" + aside)
    reasons = []
    if not tested:
        reasons.append(f"none of its {n_of(len(counted), 'claim', 'claims')} can be tested here")
    if stand_in:
        reasons.append(f"{len(stand_in)} of {n_of(len(tested), 'tested claim', 'tested claims')} "
                       f"{'rests' if len(stand_in) == 1 else 'rest'} on stand-ins, so "
                       f"{'its verdict is' if len(stand_in) == 1 else 'their verdicts are'} indicative: {_tally(stand_in)}")
    undecided = [v for v in direct if claim_word(v) not in GOOD]
    if undecided:
        limited = sum(bool(v.budget_limited) for v in undecided)
        reasons.append(f"{n_of(len(undecided), 'claim', 'claims')} tested directly "
                       f"{'is' if len(undecided) == 1 else 'are'} inconclusive ({claim_ids(undecided)})"
                       + (f", {limited} of them budget-limited" if limited else ""))
    good = [v for v in direct if claim_word(v) in GOOD]
    if good and (stand_in or undecided):
        reasons.append(f"{len(good)} tested directly {'holds or matches' if len(good) == 1 else 'hold or match'} "
                       f"({claim_ids(good)})")
    return PARTIAL, "; ".join(reasons) + aside


def css_slug(word: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in word.replace("¬", "not-")).strip("-")


def label_badge(word: str) -> str:
    """The label in its colour (inline, for a page without `CSS`: the landing page)."""
    bg, fg = LABEL_COLOURS[word]
    return (f"<span class='label' style='background:{bg};color:{fg};padding:1px 8px;border-radius:3px;"
            f"white-space:nowrap'>{html.escape(word)}</span>")


def label_span(word: str) -> str:
    return f"<span class='label l-{css_slug(word)}'>{html.escape(word)}</span>"


def verdict_span(v: Verdict) -> str:
    """A verdict's badge in its colour (tables.VERDICT_COLOURS, as `tables.verdict_badge` draws it; here by
    class, the colours once in the page's CSS)."""
    w = claim_word(v)
    text = w + (" (indicative)" if v.indicative else "") + (" · budget-limited" if v.budget_limited else "")
    return f"<span class='verdict v-{css_slug(w)}'>{html.escape(text)}</span>"
