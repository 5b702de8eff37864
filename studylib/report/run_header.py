"""A run's report header (`Run.show_header`): what it says the run changes from the papers, the named
settings behind its presets, and its links (the index, the scorecard where the render has one, its seeds)."""
from __future__ import annotations

import json
from pathlib import Path

from ..study.task import SMOKE_SUFFIX, Task
from ..train.augment import describe
from . import display as show
from . import publish

__all__ = ["cuts", "lists_scorecard", "nav", "settings", "siblings"]


def cuts(task: Task, p) -> list:
    """What the report lists as changed from the papers: the run's own cuts, after the profile-wide ones (a
    stand-in backbone, the test protocol) when the notebook fine-tunes a pretrained backbone (its parameters
    have one: 02, 04, 05) or judges every run (the scorecard, which reads their records). The others list
    only their run's own: the data audit trains nothing, and paper 003's small CNN, trained from scratch,
    says its settings in its own cuts and its header line."""
    own = list(task.run_cuts)
    shared = list(task.cuts[:len(task.cuts) - len(own)])
    concerned = hasattr(p, "backbone") or getattr(type(p), "READS", None) == "records"
    return (shared if concerned else []) + own


def siblings(task: Task) -> list:
    """The run's tasks at this grid point, one per seed (a smoke run keeps one task a run: none)."""
    return [] if task.profile.endswith(SMOKE_SUFFIX) else list(task.siblings)


def lists_scorecard(out: Path) -> bool:
    """Whether the render in `out` has a scorecard task, as its index (written before the first task) lists
    them: a profile without one (the curves, a sweep) links none. Without an index, as before: it does."""
    try:
        index = json.loads((out / "index.json").read_text())
    except (OSError, ValueError):
        return True
    names = [str(e.get("name", "")) for e in index.get("runs", [])] + [str(n) for n in index.get("not_run_yet", [])]
    return any(n.startswith("06_scorecard") for n in names)


def nav(task: Task) -> str:
    """The header's links (the index, the scorecard, the run's other seeds): for a runner's task only, whose
    report lies beside them ("" in an interactive session)."""
    if not task.results_dir:
        return ""
    # the folder's .gitignore (written with its index before any task runs) names the pages not committed
    out = Path(task.results_dir).parent
    pages, _ = publish.hidden_links(out, f"{task.name}.html")
    return show.nav_markdown(task.name, siblings(task), {page[:-len(".html")] for page in pages},
                             scorecard=lists_scorecard(out))


def settings(p) -> list[str]:
    """The numbers behind named settings this run uses (augmentation presets), for the header."""
    names = [getattr(p, "train", {}).get("augment", "none")]
    names += [arm.train.get("augment", "none") for arm in getattr(p, "arms", [])]
    return [f"augmentation **{describe(n)}**" for n in dict.fromkeys(names) if n != "none"]
