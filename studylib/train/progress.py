"""What a fit shows while it runs: one progress bar over all its epochs, labelled by `fit_label`
(a widget in JupyterLab, a text bar elsewhere, a rarely redrawn text bar in a runner's task)."""
from __future__ import annotations

import contextlib
import contextvars
import os
import sys

__all__ = ["HEADLESS_ENV", "current_label", "finished_early", "fit_label", "is_widget", "progress_bar"]

# Set (to "1") by the runner for the kernels of its tasks: nobody watches them, their output is read after
# (the report, the log file). Progress is then a plain text bar that updates rarely, never a widget.
HEADLESS_ENV = "STUDYLIB_TASK"

_LABEL = contextvars.ContextVar("fit_label", default="fit")


@contextlib.contextmanager
def fit_label(text: str):
    """Label the progress bar of the fits inside (an arm's name, a search trial's rate)."""
    token = _LABEL.set(text)
    try:
        yield
    finally:
        _LABEL.reset(token)


def current_label() -> str:
    """The label `fit_label` set for the fits running now ("fit" outside any)."""
    return _LABEL.get()


def progress_bar(total: int | None, initial: int = 0, desc: str = "fit"):
    """One progress bar (with its ETA) for a whole fit, over the batches of all its epochs.

    Interactively `tqdm.auto`: a widget in JupyterLab, a text bar in a terminal. In a runner's task
    (`HEADLESS_ENV` set) a text bar redrawn at most every 10 s, on stdout with the epoch lines (a kernel
    buffers stdout and stderr apart, so a bar on stderr would land in the middle of the lines printed
    between its frames): the report folds it into the cell's log, where its `\\r` frames resolve to the
    final bar (a saved widget would show only its first frame, "0%", as text), and the task's log file
    keeps none of the frames."""
    if os.environ.get(HEADLESS_ENV):
        from tqdm import tqdm
        return tqdm(total=total, initial=initial, desc=desc, unit="batch", file=sys.stdout, mininterval=10)
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, desc=desc, unit="batch")


def is_widget(bar) -> bool:
    """Whether a bar is JupyterLab's widget (it shows the epoch's figures; nothing is printed per epoch)."""
    notebook = sys.modules.get("tqdm.notebook")  # imported by tqdm.auto only inside a Jupyter kernel
    return notebook is not None and isinstance(bar, notebook.tqdm)


def finished_early(bar, widget: bool) -> None:
    """End a bar at the batch where early stopping ended its fit: full, not an interrupted (red) one."""
    bar.total = bar.n
    if widget:  # the widget's own scale (tqdm.notebook sets it once, from the first total)
        bar.container.children[1].max = bar.n
