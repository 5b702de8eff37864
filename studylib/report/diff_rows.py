"""The comparison rows of two renders (`compare`): a render's claim rows (`read_render`, each side with its
regime) and, per (claim id, run), both sides and whether, and why, the row moved (`moved`). How they are
shown (markdown, JSON, HTML) is `report.diff_views`'s; the command and the regimes page `report.diff`'s.

A render is a folder of records (`reports/cpu`, `reports/curves`); its claim rows are its scorecard's
(`results/06_scorecard.json`, `metrics.claims`), each read once by `Verdict.from_row`. A row's key is
(claim id, run): a claim judged on several runs (004 on FER2013 at 48 and 96 px) has a row per run. Each side
of a row carries its regime (input size, training images, epochs, the network: the run's record's
`params.backbone`, and what trains), its estimate, interval and verdict. A row *moved* when its verdict word
changed or its two intervals are disjoint.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..study.verdict_types import Verdict
from . import judgement_record, landing
from .tables import fmt_ci, row_anchors, verdict_word

__all__ = ["Render", "Row", "Side", "compare", "moved", "read_render"]


@dataclasses.dataclass(frozen=True)
class Side:
    """One claim row of one render: the verdict (read by `Verdict.from_row`), where it sits and in what regime."""
    render: str                 # the render's folder as given ("reports/cpu")
    verdict: Verdict
    model: str = ""             # the run's network (its record's params.backbone), "" when it names none
    commit: str = ""            # the commit that judged it (the scorecard record's git_commit)
    page: str = ""              # the scorecard's page, relative to the render's folder
    anchor: str = ""            # the row's id on that page

    def _part(self, test) -> str:
        return next((p for p in (x.strip() for x in self.verdict.regime.split(" · ")) if test(p)), "")

    @property
    def input(self) -> str:
        v = self.verdict
        return f"{int(v.input_px)} px" if v.input_px else self._part(lambda p: p.endswith(" px"))

    @property
    def data(self) -> str:
        return self._part(lambda p: p.endswith("training images")).removesuffix(" training images")

    @property
    def epochs(self) -> str:
        part = self._part(lambda p: p.startswith(("epochs ", "no epochs")))
        return part.removeprefix("epochs ")

    @property
    def trains(self) -> str:
        return self._part(lambda p: p.startswith("trains ")).removeprefix("trains ")

    @property
    def word(self) -> str:
        """The verdict word alone ("contradicted"), what `moved` compares."""
        return verdict_word(self.verdict.word)

    @property
    def verdict_text(self) -> str:
        """The verdict as the landing page words it: the word, "(indicative)", "· budget-limited"."""
        v = self.verdict
        return (self.word + (" (indicative)" if v.indicative else "")
                + (" · budget-limited" if v.budget_limited else ""))

    def regime_text(self) -> str:
        """The regime in one line: "48 px · 10,000 training images · epochs 30 (paper: names none) ·
        efficientnet_lite0, trains A: … 30%, B: … 100%"; "—" for a claim not tested."""
        if self.verdict.extra.get("rungs") and self.verdict.regime:  # a claim over a ladder: its own regime line
            return self.verdict.regime
        net = ", ".join(x for x in (self.model, f"trains {self.trains}" if self.trains else "") if x)
        parts = [self.input, f"{self.data} training images" if self.data else "",
                 f"epochs {self.epochs}" if self.epochs and self.epochs[0].isdigit() else self.epochs, net]
        return " · ".join(p for p in parts if p) or "—"

    def figure_text(self) -> str:
        """"-0.117 [-0.147, -0.086], n 5"; "—" for a claim not tested."""
        iv = self.verdict.interval
        if iv is None:
            return "—"
        sign = "" if self.verdict.kind in ("value", "check") else "+"   # a difference is signed
        return f"{iv.estimate:{sign}.3f} {fmt_ci([iv.low, iv.high])}, n {iv.n}"

    def as_dict(self) -> dict:
        v, iv = self.verdict, self.verdict.interval
        return {"render": self.render, "commit": self.commit, "verdict": self.verdict_text, "word": self.word,
                "indicative": v.indicative, "budget_limited": v.budget_limited, "kind": v.kind, "metric": v.metric,
                "estimate": iv.estimate if iv else None, "ci": [iv.low, iv.high] if iv else None,
                "n": iv.n if iv else 0, "regime": v.regime, "input_px": v.input_px, "input": self.input,
                "training_images": self.data, "epochs": self.epochs, "model": self.model, "trains": self.trains,
                "sensitivity": bool(v.sensitivity), "stand_in": v.stand_in}


def _disjoint(a: Side, b: Side) -> bool:
    x, y = a.verdict.interval, b.verdict.interval
    return x is not None and y is not None and (x.high < y.low or y.high < x.low)


def moved(a: Side | None, b: Side | None) -> str:
    """Why a row moved, in words ("" when it did not): its verdict word changed, or its intervals are disjoint
    (both can hold); a claim in one render only is not said to move (the row says "only in")."""
    if a is None or b is None:
        return ""
    why = [f"verdict {a.word} → {b.word}"] if a.word != b.word else []
    if _disjoint(a, b):
        why.append("intervals disjoint")
    return "; ".join(why)


@dataclasses.dataclass(frozen=True)
class Row:
    """One (claim id, run) of either render: each side (None where the render has no such row) and whether,
    and why, it moved."""
    claim_id: str
    run: str
    a: Side | None
    b: Side | None

    @property
    def why(self) -> str:
        return moved(self.a, self.b)

    @property
    def moved(self) -> bool:
        return bool(self.why)

    def only_in(self) -> str:
        """The render this row is in alone ("" when in both)."""
        return self.a.render if self.b is None else self.b.render if self.a is None else ""


@dataclasses.dataclass(frozen=True)
class Render:
    """A render folder's claim rows (empty where it has no scorecard: `scorecard` False)."""
    folder: str
    sides: tuple[Side, ...]
    scorecard: bool

    @property
    def name(self) -> str:
        return Path(self.folder).name


def _entries(folder: Path) -> list[dict]:
    """The render's tasks from its index.json; without one, its scorecard record taken as an ok task."""
    try:
        return list(json.loads((folder / "index.json").read_text())["runs"])
    except (OSError, ValueError, KeyError, TypeError):
        name = landing.SCORECARD_NOTEBOOK
        return [{"name": name, "notebook": name, "status": "ok", "html": f"{name}.html"}]


def _model(results: Path, run: str, memo: dict) -> str:
    """The run's network as its first record names it (params.backbone), "" where it names none."""
    if run not in memo:
        found = sorted(results.glob(f"{run}--*.json")) if run else []
        path = results / f"{run}--seed0.json"
        path = path if path.is_file() else (found[0] if found else results / f"{run}.json")
        try:
            memo[run] = str((json.loads(path.read_text()).get("params") or {}).get("backbone") or "")
        except (OSError, ValueError, AttributeError):
            memo[run] = ""
    return memo[run]


def read_render(folder) -> Render:
    """A render's claim rows: each of its scorecards' rows read by `Verdict.from_row` (through
    `landing.Scorecard`), with its network, the judging commit and its anchor on the scorecard's page."""
    path = Path(folder)
    results = path / "results"
    cards = landing.read_scorecards(results, _entries(path))
    judged = judgement_record.read(path)  # papers judged on the render's records afterwards (`studylib judge`)
    cards += [judged] if judged is not None else []
    memo: dict = {}
    sides = []
    for card in cards:
        for v, anchor in zip(card.verdicts, row_anchors(card.rows)):
            sides.append(Side(str(folder), v, _model(results, v.run, memo), card.commit, card.html, anchor))
    return Render(str(folder), tuple(sides), bool(cards))


def compare(a: Render, b: Render) -> list[Row]:
    """One row per (claim id, run) present in either render, A's order first, then B's rows A lacks."""
    left = {(s.verdict.claim_id, s.verdict.run): s for s in a.sides}
    right = {(s.verdict.claim_id, s.verdict.run): s for s in b.sides}
    return [Row(cid, run, left.get((cid, run)), right.get((cid, run))) for cid, run in dict.fromkeys([*left, *right])]
