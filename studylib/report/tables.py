"""How reports format results: intervals, and one row per trained arm (formatting lives here, not in
`train`, which only trains and tests)."""
from __future__ import annotations

from collections import Counter

import pandas as pd

from ..study.rules import GOOD_WORDS
from ..study.verdicts import Verdict

__all__ = ["VERDICT_COLOURS", "VERDICT_MEANINGS", "claim_anchor", "fmt_ci", "fmt_count", "fmt_seconds", "outcome_row",
           "plain_summary", "results_table", "verdict_badge", "verdict_word"]


def fmt_ci(ci) -> str:
    """A 95% interval as shown everywhere ("[0.701, 0.730]"); "" when there is none (None, or NaN in a table)."""
    try:
        lo, hi = ci
    except (TypeError, ValueError):  # None, NaN, or not a pair
        return ""
    return f"[{lo:.3f}, {hi:.3f}]"


def fmt_count(n) -> str:
    """A parameter count in a few characters: "13,098", "3.38 M"; "" for None."""
    if n is None:
        return ""
    return f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n:,}"


def fmt_seconds(s) -> str:
    """A duration: "45 s", "12.5 min", "2.3 h"."""
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.1f} min" if s < 7200 else f"{s / 3600:.1f} h"


def _unbroken(text: str) -> str:
    """Text a table cell does not wrap inside (an interval: "[0.086,\u00a00.210]")."""
    return text.replace(" ", "\u00a0")


def outcome_row(o) -> dict:
    """One trained arm (`train.Outcome`) as a table row of text, figures to 3 decimals: the epoch chosen on
    validation and the last one, validation accuracy, test accuracy and macro F1 of the chosen epoch with
    their 95% intervals, the last epoch's, and the cost."""
    m, f = o.metrics, o.protocol("final")
    info = o.model_info
    weights = (info.get("weights") if info.get("weights_source") == "SMOKE" else
               "ImageNet" if info.get("pretrained") else "random init")  # SMOKE: random init in place of the file
    return {"setting": o.name, "weights": weights, "lr": f"{o.config.lr:g}" if o.config else "",
            "epoch: best / last": f"{o.fit.best_epoch} / {f['epoch']}", "val acc": f"{o.val['acc']:.3f}",
            "test acc [95% CI]": f"{m['accuracy']:.3f} {_unbroken(fmt_ci(o.ci['accuracy']))}",
            "test macro F1 [95% CI]": f"{m['f1_macro']:.3f} {_unbroken(fmt_ci(o.ci['macro_f1']))}",
            "last epoch: test acc / macro F1": f"{f['metrics']['accuracy']:.3f} / {f['metrics']['f1_macro']:.3f}",
            "trainable params": fmt_count(info.get("trainable_params")), "train time": fmt_seconds(o.seconds)}


def results_table(outcomes: dict) -> pd.DataFrame:
    """One row per trained arm (`outcome_row`): its figures as text, so a table shows no raw float."""
    return pd.DataFrame([outcome_row(o) for o in outcomes.values()]).set_index("setting")


# One colour per verdict word (docs/METHOD.md), shared by the landing page, the scorecard and the seed reports:
# the two good words differ (a value matches; an order holds), as do the two bad ones, and "not testable
# here" is not the grey of "inconclusive". (background, text) pairs chosen for contrast on white.
VERDICT_COLOURS = {
    "matches": ("#1b7837", "#ffffff"),
    "holds": ("#5aae61", "#ffffff"),
    "equivalent": ("#4393c3", "#ffffff"),
    "differs": ("#c51b7d", "#ffffff"),
    "contradicted": ("#d73027", "#ffffff"),
    "inconclusive": ("#fee08b", "#3b3b3b"),
    "not testable here": ("#d9d9d9", "#3b3b3b"),
}
# What each verdict word means, for the legend a page shows beside its badges (docs/METHOD.md: Value claims, Order claims, Budget flags).
VERDICT_MEANINGS = {
    "matches": "value claim: our 95% interval lies inside the paper's figure ± its declared margin",
    "differs": "value claim: our 95% interval lies wholly outside the paper's figure ± margin",
    "holds": "order claim (A beats B): the interval of A − B lies above the margin and Holm-adjusted p < 0.05",
    "contradicted": "order claim: the interval of A − B lies below zero and Holm-adjusted p < 0.05",
    "equivalent": "equivalence claim (no more than a margin apart): the interval of A − B lies inside ± the margin "
                  "stated beforehand, Holm-adjusted p of the two one-sided tests < 0.05 (an interval that merely "
                  "includes zero is inconclusive, never equivalent)",
    "inconclusive": "neither; 'budget-limited' when the losing arm hit our epoch cap or the edge of its "
                    "learning-rate grid, so our budget, not the method, could decide it",
    "not testable here": "the data, network or figure the claim needs is not available here (the row says why)",
}


def verdict_word(verdict: str) -> str:
    """The verdict word a colour is keyed by ("inconclusive (indicative) · budget-limited" -> "inconclusive")."""
    v = str(verdict or "").split(" (")[0].split(" ·")[0].strip()
    return v if v in VERDICT_COLOURS else "inconclusive"


def verdict_badge(verdict: str, indicative: bool = False, budget_limited: bool = False) -> str:
    """A verdict as an HTML badge in its colour (indicative and budget-limited said in words, not colour)."""
    import html
    bg, fg = VERDICT_COLOURS[verdict_word(verdict)]
    text = verdict_word(verdict) + (" (indicative)" if indicative else "") + (" · budget-limited" if budget_limited else "")
    return (f"<span class='verdict' style='background:{bg};color:{fg};padding:1px 6px;border-radius:3px;"
            f"white-space:nowrap'>{html.escape(text)}</span>")


def claim_anchor(claim_id: str, run: str = "") -> str:
    """The HTML id of a claim's row on the scorecard (06_scorecard.html#<anchor>), so that other pages link
    to its evidence: "claim-003-cnn-accuracy", and "--<run>" when one claim is judged on several runs."""
    import re
    slug = lambda s: re.sub(r"[^A-Za-z0-9]+", "-", s).strip("-")
    return f"claim-{slug(claim_id)}" + (f"--{slug(run)}" if run else "")


def row_anchors(rows) -> list[str]:
    """Each claim row's anchor ({"id", "run"} rows, in order): the run named only when its claim is judged
    on several runs. The one rule for the scorecard's row ids and the links other pages make to them."""
    runs: dict[str, set] = {}
    for r in rows:
        runs.setdefault(r["id"], set()).add(r.get("run") or "")
    return [claim_anchor(r["id"], (r.get("run") or "") if len(runs[r["id"]]) > 1 else "") for r in rows]


def _counted(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


# Each verdict word as a clause after its count (one, many): "1 holds", "3 are contradicted".
VERDICT_CLAUSES = {"holds": ("holds", "hold"), "equivalent": ("is equivalent", "are equivalent"), "matches": ("matches", "match"), "differs": ("differs", "differ"),
                   "contradicted": ("is contradicted", "are contradicted"),
                   "inconclusive": ("is inconclusive", "are inconclusive")}


def plain_summary(judged: list[Verdict] | list[dict]) -> str:
    """The scorecard in one plain sentence, computed from its verdicts (a record's rows are read as verdicts
    first; a sensitivity rung, shown beside its claim, is not counted): how many claims hold as their papers
    state them, how many were tested on the papers' own setting and what they gave, how many rest on
    stand-ins, how many cannot be tested here."""
    judged = [v if isinstance(v, Verdict) else Verdict.from_row(v) for v in judged]
    counted = [v for v in judged if not v.sensitivity]
    word = lambda v: verdict_word(v.word)  # noqa: E731
    untestable = [v for v in counted if word(v) == "not testable here"]
    tested = [v for v in counted if word(v) != "not testable here"]
    direct = [v for v in tested if not v.indicative]
    stand_in = [v for v in tested if v.indicative]

    def tally(group):
        found = Counter(word(r) for r in group)
        return ", ".join(_counted(n, *VERDICT_CLAUSES[w]) for w, n in found.most_common())

    good = sum(word(r) in GOOD_WORDS for r in direct)
    parts = [f"Of {len(counted)} claims, {'none' if not good else good} "
             f"{'holds' if good == 1 else 'hold'} as {'its paper states it' if good == 1 else 'the papers state them'}, "
             "on the papers' own network and data"]
    if direct:
        parts.append(f"{_counted(len(direct), 'was', 'were')} tested so: {tally(direct)}")
    if stand_in:
        parts.append(f"{_counted(len(stand_in), 'rests', 'rest')} on stand-ins (another network or dataset, so the "
                     f"verdict is indicative): {tally(stand_in)}")
    if untestable:
        parts.append(f"{_counted(len(untestable), 'cannot', 'cannot')} be tested here")
    return "; ".join(parts) + "."
