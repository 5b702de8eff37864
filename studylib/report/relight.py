"""Committed renders made light in place, nothing run: `python -m studylib.report.relight reports/cpu ...`.

Each folder gets what a new render writes (`lighten`, `publish`): its .gitignore (one page per run
committed; logs, task states and, once the render is whole, the curves' point memos kept out), its
`report.css`, every page through `lighten.lighten_html`, the index rewritten from its index.json; then the
files the .gitignore now keeps out leave git's index (`git rm --cached`: they stay on disk). Records and
predictions are never touched (their hashes are the proof: the issue's closing note lists them).
"""
from __future__ import annotations

import argparse
import html as html_lib
import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

from ..io import write_text
from . import lighten, publish
from .index import rewrite_index

__all__ = ["lighten_folder", "main"]


def _git(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)


def _index_tasks(out: Path) -> tuple[dict, list]:
    """The render's index.json and its tasks in the profile's order (entries, then those not run yet)."""
    index = json.loads((out / "index.json").read_text())
    tasks = list(index.get("runs", [])) + [{"name": n, "run": n} for n in index.get("not_run_yet", [])]
    return index, tasks


def _missing_pages(out: Path) -> set[str]:
    """Pages of this folder that its pages link but that are not there (an older render's header linked the
    scorecard in profiles that have none)."""
    linked = {unquote(html_lib.unescape(m.group(3)).split("#")[0])
              for page in out.glob("*.html") for m in lighten.ANCHOR.finditer(page.read_text(encoding="utf-8"))}
    return {t for t in linked if t.endswith(".html") and "/" not in t and ":" not in t and not (out / t).is_file()}


def lighten_folder(out, git: bool = True, log=print) -> dict:
    """Make a reports folder's render light in place, without running anything: its .gitignore (one page
    per run, logs, task states and, once the render is whole, the curves' point memos kept out), report.css,
    every page through `lighten_html` (a committed page links no page that is not), the index rewritten
    from its index.json; then, with `git`, the files the .gitignore now keeps out removed from git's index
    (`git rm --cached`: they stay on disk). Records and predictions are not touched. What it did, counted."""
    out = Path(out)
    index, tasks = _index_tasks(out)
    profile = index.get("profile", out.name)
    whole = publish.complete(tasks, index.get("runs", [])) and not index.get("not_run_yet")
    publish.write_ignore(out, tasks, profile, whole)
    lighten.write_stylesheet(out)
    done = {"pages": 0, "bytes_before": 0, "bytes_after": 0, "untracked": 0}
    dead = _missing_pages(out)
    for page in sorted(out.glob("*.html")):
        if page.name == "index.html":
            continue
        before = page.read_text(encoding="utf-8")
        pages, dirs = publish.hidden_links(out, page.name)
        pages = pages | dead if dirs else pages
        after = lighten.lighten_html(before, pages, dirs)
        done["pages"] += 1
        done["bytes_before"] += len(before.encode())
        done["bytes_after"] += len(after.encode())
        if after != before:
            write_text(page, after)
    rewrite_index(out)
    if git:
        listed = _git("ls-files", "-z", "--cached", "--ignored", "--exclude-standard", "--", ".", cwd=out)
        if listed.returncode != 0:
            log(f"{out}: not in a git work tree; nothing untracked")
        else:
            names = [n for n in listed.stdout.split("\0") if n]
            for k in range(0, len(names), 200):
                _git("rm", "-q", "--cached", "--", *names[k:k + 200], cwd=out).check_returncode()
            done["untracked"] = len(names)
    log(f"{out}: {done['pages']} pages, {done['bytes_before'] / 1e6:.1f} MB -> {done['bytes_after'] / 1e6:.1f} MB; "
        f"{len(publish.unpublished(tasks, profile))} pages not committed (kept here); "
        f"{done['untracked']} files no longer tracked")
    return done


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m studylib.report.relight",
                                 description="Make committed renders light in place (no task runs): one stylesheet "
                                             "per folder, figures compressed, one page per run committed.")
    ap.add_argument("folders", nargs="+", type=Path, help="reports folders, e.g. reports/cpu")
    ap.add_argument("--no-git", action="store_true", help="leave git's index alone (files only)")
    args = ap.parse_args(argv)
    for folder in args.folders:
        if not (folder / "index.json").is_file():
            print(f"{folder}: no index.json: not a reports folder", file=sys.stderr)
            return 2
        lighten_folder(folder, git=not args.no_git)
    return 0


if __name__ == "__main__":
    sys.exit(main())
