"""Executed notebooks to HTML reports for readers (nbconvert), written atomically.

The executed `.ipynb` keeps everything; the HTML is for reading: code hidden behind a "show code" button,
and offline, so a report opened from disk fetches nothing beyond the stylesheet beside it (nbconvert's lab
template would load require.js, MathJax and the widget manager from CDNs; our notebooks use none of them: no
math, and each widget carries a static figure or text as its fallback, which the HTML shows instead). Pages
are light (`lighten`): one stylesheet per reports folder, figures compressed.
"""
from __future__ import annotations

import copy
import html
import re
from pathlib import Path

from ..io import write_text
from ..study.task import SMOKE_SUFFIX

__all__ = ["LOG_TAG", "WIDGET_VIEW", "LineLog", "fold_logs", "has_error_output", "reader_notebook", "title",
           "render_html", "terminal_lines"]

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
LOG_TAG = "log"  # a code cell tagged so: its printed output is a log, folded in the report under a summary line
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# what a tqdm bar's widget leaves as its text: the meter as it was when first shown ("fit:   0%|   | 0/30 [...")
TQDM_METER = re.compile(r"^[^\n]*\d+%\|[^\n]*\| *\d+/\d*\S* \[[^\n]*\]\s*$")



def _shown(line: str) -> str | None:
    """One printed line as a terminal leaves it: the last `\\r` frame drawn on it, colour codes dropped,
    trailing blanks trimmed; None for a line that only held frames a bar erased."""
    frames = ANSI.sub("", line).split("\r")
    shown = next((f for f in reversed(frames) if f.strip()), "").rstrip()
    return shown if shown or len(frames) == 1 else None


def terminal_lines(text: str) -> list[str]:
    """Printed text as a terminal leaves it (`_shown`, line by line), without trailing blank lines."""
    out = [s for s in map(_shown, text.split("\n")) if s is not None]
    while out and not out[-1]:
        out.pop()
    return out


class LineLog:
    """A file-like writer that keeps the lines a terminal would show: text is held until its line ends, then
    written with its progress-bar frames resolved (`terminal_lines`). For a task's log file: its epoch
    lines stay, the frames of its bars (a megabyte over a long fit) do not."""

    def __init__(self, f):
        self.f, self.pending = f, ""

    def write(self, text: str) -> int:
        *done, self.pending = (self.pending + text).split("\n")
        kept = [s for s in map(_shown, done) if s is not None]
        if kept:
            self.f.write("".join(s + "\n" for s in kept))
        return len(text)

    def flush(self) -> None:
        self.f.flush()

    def close(self) -> None:
        """Write what is left of an unfinished line (its last frame); the file stays open."""
        last, self.pending = _shown(self.pending), ""
        if last:
            self.f.write(last + "\n")
        self.f.flush()


def fold_logs(nb):
    """In place: each code cell tagged `LOG_TAG` shows its printed output (stdout and stderr, in the order
    printed, progress bars resolved) as one folded block after its other outputs: "<details><summary>training
    log (N lines)</summary>…</details>" (a log without epoch lines is a "log"). Tables and figures stay in view."""
    import nbformat
    for cell in nb.cells:
        if cell.get("cell_type") != "code" or LOG_TAG not in cell.get("metadata", {}).get("tags", []):
            continue
        streams = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream"]
        if not streams:
            continue
        lines = terminal_lines("".join(o.text for o in streams))
        kind = "training log" if any(re.match(r"\s*epoch \d+/\d+", line) for line in lines) else "log"
        cell.outputs = [o for o in cell.outputs if o.get("output_type") != "stream"]
        if lines:
            n = sum(1 for line in lines if line.strip())
            folded = (f"<details class='studylib-log'><summary>{kind} ({n} line{'s' if n != 1 else ''})</summary>"
                      f"<pre>{html.escape(chr(10).join(lines))}</pre></details>")
            cell.outputs.append(nbformat.v4.new_output("display_data", {"text/html": folded}))
    return nb


def reader_notebook(nb):
    """A copy of an executed notebook as the HTML shows it: logs folded, widget views replaced by their
    fallback, and text progress bars gone.

    A code cell tagged "log" shows its printed output folded (`fold_logs`). A widget needs a live kernel
    (or the widget manager's JavaScript from a CDN); its output also carries a static `image/png` or
    `text/plain` (our widgets put their current figure there), which is kept, except a progress bar's
    (`tqdm.auto` in JupyterLab), whose text is its first frame. The stored widget state goes too, so the
    template has nothing to load it with. Progress bars elsewhere are `\\r`-overwritten stderr chunks;
    merged and resolved like a terminal (nbconvert's CoalesceStreamsPreprocessor), a finished `leave=False`
    bar is blank, and blank streams are dropped.
    """
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    fold_logs(nb)
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    for cell in nb.cells:
        if "outputs" not in cell:
            continue
        cell.outputs = [o for o in cell.outputs if not _blank_or_bar(o)]
        for out in cell.outputs:
            if WIDGET_VIEW in out.get("data", {}):
                del out["data"][WIDGET_VIEW]
                if not out["data"]:
                    out["data"]["text/plain"] = "(an interactive widget: open the notebook in JupyterLab)"
    return nb


def _blank_or_bar(out) -> bool:
    """A blank stream, or a progress bar's widget (its saved text is its first frame, not its last)."""
    if out.get("output_type") == "stream":
        return not out.text.strip()
    data = out.get("data", {})
    return WIDGET_VIEW in data and bool(TQDM_METER.match(str(data.get("text/plain", "")))) and "image/png" not in data


def title(text: str, profile: str) -> str:
    """The report title; every demo report says DEMO (generated data), every smoke report SMOKE."""
    if profile == "demo":
        return f"DEMO (generated data) — {text}"
    if profile.endswith(SMOKE_SUFFIX):
        return f"SMOKE (tiny settings, generated data, random init where weights are absent) — {text} [{profile}]"
    return f"{text} [{profile} profile]"


def render_html(ipynb: Path, out: Path, title: str = "") -> None:
    """The reader's HTML of an executed notebook (page title set, code hidden), written atomically, light
    (`lighten.lighten_html`): it links the stylesheet written beside it (`report.css`), its figures are
    compressed, and, where its folder's .gitignore keeps other pages out of git (`publish`), it links none
    of them unless it is itself kept out."""
    import nbformat
    from . import lighten, publish
    from .template import export_html
    nb = nbformat.read(ipynb, as_version=4)
    if title:
        nb.metadata["title"] = title
    out = Path(out)
    pages, dirs = publish.hidden_links(out.parent, out.name)
    page = _answer_first(export_html(reader_notebook(nb)), nb, out)
    page = lighten.lighten_html(page, pages, dirs)
    lighten.write_stylesheet(out.parent)
    write_text(out, page)


def _answer_first(page: str, nb, out: Path) -> str:
    """The page answer-first (`answer`) when its run wrote a record (a notebook run without one, or one that
    failed before saving, keeps its cells' order): the record's claims on top, method and provenance folded."""
    import json
    from . import answer
    record = out.parent / "results" / f"{out.stem}.json"
    if not record.is_file():
        return page
    record = json.loads(record.read_text())
    stamp = f"Page and record of commit {str(record.get('git_commit'))[:12]}."
    return answer.answer_first(page, answer.roles_of(nb.cells), answer.page_answer(out.parent, record), stamp)


def has_error_output(ipynb: Path) -> bool:
    """Whether any cell of an executed notebook shows an error."""
    import nbformat
    nb = nbformat.read(ipynb, as_version=4)
    return any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))
