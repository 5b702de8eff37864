"""A judgement's record (`studylib judge`, report.judge: `judgement.json` beside a render) read as a
scorecard's: its rows are claim rows (`metrics.claims`, `Verdict.to_row`), its page `judgement.html`. The
one reader, for the judgement's page, the render's index, `studylib diff` and the regimes page."""
from __future__ import annotations

import json
from pathlib import Path

from .landing import Scorecard

__all__ = ["JUDGEMENT", "card", "read"]

JUDGEMENT = "judgement"   # judgement.json and judgement.html in the render folder


def card(record: dict) -> Scorecard:
    """The judgement's record as a scorecard (its rows, its page, its judging commit)."""
    return Scorecard({"name": record["run_name"], "html": f"{record['run_name']}.html", "notebook": record["notebook"]},
                     record)


def read(folder) -> Scorecard | None:
    """The judgement beside a render, None when there is none (or it cannot be read)."""
    try:
        return card(json.loads((Path(folder) / f"{JUDGEMENT}.json").read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError):
        return None
