"""Which of a render's files are committed: one page per run, every record, not the rest.

A render keeps everything where it ran: every task's page, its log, its state, the curves' memoised
points. What is committed is what a reader opens and what a verdict needs: the index, the scorecard, one
page per run (its first task: the first grid point at the first seed; a run of one task, such as the data
audit, the scorecard, a curves summary or a sweep's table, is its own first) and every record and `.npz`.
`published` is the one rule: the index (`index.py`), the header's seed links (`display.nav_markdown`),
the render's links (`render.render_html`) and the folder's `.gitignore` (`write_ignore`) all follow it.

The demo and smoke renders are never committed (the repository ignores them): every page of theirs is
published, so their index links every report.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..io import write_text
from ..study.task import proves_only_the_pipeline

__all__ = ["IGNORE", "KEPT", "KEPT_DIRS", "POINT_MEMOS", "commits", "complete", "hidden_links", "ignore_text",
           "ignored_pages", "published", "unpublished", "write_ignore"]

IGNORE = ".gitignore"        # in each reports folder, written with its index
KEPT = "kept where the run ran"
KEPT_DIRS = ("logs/", "tasks/")          # each task's log and state: never committed
POINT_MEMOS = "curves/*/points/"         # the curves' memoised points: records hold them once a render is whole
HEAD = ("# Written by studylib with this folder's index (report/publish.py): what the render keeps here but "
        "does not commit.\n# One page per run is committed (its first grid point, first seed); the other "
        "tasks' pages, the logs and task\n# states stay where the run ran. Every record and .npz (results/) "
        "is committed.\n")


def _name_run(task) -> tuple[str, str]:
    """(name, run) of a Task or of an index entry (a dict with "name" and "run")."""
    if isinstance(task, dict):
        return str(task["name"]), str(task.get("run") or task["name"])
    return task.name, task.run or task.name


def commits(profile: str) -> bool:
    """Whether a profile's render is committed at all (the demo's and smoke runs' are not)."""
    return not proves_only_the_pipeline(profile)


def published(tasks, profile: str = "") -> set[str]:
    """The names of the tasks whose page is committed: each run's first task in the profile's order (its
    first grid point, first seed), or every task where the render is not committed (`commits`).

    `tasks`: the profile's tasks in order (`Task`s, or index entries with "name" and "run")."""
    pairs = [_name_run(t) for t in tasks]
    if not commits(profile):
        return {name for name, _ in pairs}
    first: dict[str, str] = {}
    for name, run in pairs:
        first.setdefault(run, name)
    return set(first.values())


def unpublished(tasks, profile: str = "") -> list[str]:
    """The names of the tasks whose page is not committed, in the profile's order."""
    shown = published(tasks, profile)
    return [n for n, _ in map(_name_run, tasks) if n not in shown]


def complete(tasks, entries) -> bool:
    """Whether every task of the profile ended ok (its render is whole)."""
    status = {e["name"]: e.get("status") for e in entries}
    names = [n for n, _ in map(_name_run, tasks)]
    return bool(names) and all(status.get(n) == "ok" for n in names)


def _pattern(name: str) -> str:
    """A page's name as a .gitignore line: anchored to the folder, git's special characters escaped."""
    return "/" + re.sub(r"([\\*?\[\]!# ])", r"\\\1", f"{name}.html")


def ignore_text(tasks, profile: str = "", whole: bool = False) -> str:
    """The folder's .gitignore: the logs and task states, the curves' point memos once the render is
    `whole`, and the pages of the tasks `unpublished` names."""
    lines = list(KEPT_DIRS) + ([f"/{POINT_MEMOS}"] if whole else [])
    lines += [_pattern(n) for n in unpublished(tasks, profile)]
    return HEAD + "\n".join(lines) + "\n"


def write_ignore(out_dir, tasks, profile: str = "", whole: bool = False) -> Path | None:
    """Write `out_dir/.gitignore` (`ignore_text`) when it changes; the path, or None when unchanged."""
    path, text = Path(out_dir) / IGNORE, ignore_text(tasks, profile, whole)
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return None
    return write_text(path, text)


def ignored_pages(out_dir) -> set[str]:
    """The page files (`<task>.html`) a reports folder's .gitignore keeps out of git (none without one)."""
    path = Path(out_dir) / IGNORE
    if not path.is_file():
        return set()
    lines = path.read_text(encoding="utf-8").splitlines()
    return {re.sub(r"\\(.)", r"\1", line[1:]) for line in lines if line.startswith("/") and line.endswith(".html")}


def hidden_links(out_dir, page: str = "") -> tuple[set[str], tuple[str, ...]]:
    """What a page of this folder must not link, as (page files, folder prefixes): the pages and folders its
    .gitignore keeps out of git; nothing for a page that is itself kept out (it stays beside them), nor in a
    folder without a .gitignore (a notebook rendered by hand)."""
    pages = ignored_pages(out_dir)
    if page in pages or not (Path(out_dir) / IGNORE).is_file():
        return set(), ()
    return pages, KEPT_DIRS
