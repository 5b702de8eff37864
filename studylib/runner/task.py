"""One task: a notebook executed by papermill at one run x seed x grid point, rendered to HTML.

This is what a worker runs, in its own process (a Ray worker, `engine`, or a subprocess of the local
executor, `worker`); papermill starts the notebook's kernel as a child of it, with the worker's environment
(the task's CPUs as threads, `train.threads.task_env`; CUDA_VISIBLE_DEVICES naming its GPUs). Nothing half-written is ever visible: the notebook is executed into
a hidden temporary file in the same folder and renamed when it ends (dropped when it does not read back
whole), the HTML and JSON are written atomically. A file the task cannot write (a full disk) fails it
with one line naming the path and what to free or set.
"""
from __future__ import annotations

import json
import os
import re
import socket
import time
from pathlib import Path

from .. import paths
from ..io import describe_write_error, write_json
from ..report.kernel import papermill_kwargs
from ..report.render import LineLog, has_error_output, render_html, title
from ..train.progress import HEADLESS_ENV
from ..train.threads import task_env
from .preflight import setting_for

__all__ = ["execute_task", "finish_task"]


def _node() -> str:
    return socket.gethostname()


def write_failed(e: OSError, out_dir: Path) -> str:
    """A task's error line for a file it could not write: the path, and what to free or set."""
    return describe_write_error(e, setting_for(e.filename, out_dir) if e.filename else "")


def _kernel_error(e, out_dir: Path) -> str:
    """The error line of a notebook that raised; a write error names what to set (the kernel's paths are
    relative to the reports folder)."""
    hint = ""
    if e.ename == "WriteError" and (m := re.match(r"cannot write (.+?): ", e.evalue)):
        hint = setting_for(m.group(1), out_dir)
    return f"{e.ename}: {e.evalue}" + (f", or {hint}" if hint else "")


def execute_task(spec: dict) -> dict:
    """Execute one task (spec: {"task": the study.task.Task itself, "parameters": the notebook's named
    parameters that resolve to it, "out_dir", "threads", ...}); returns its
    index entry. Never raises for a failing notebook, nor for a file it cannot write (a full disk): the
    error is in the entry, one line, and in the rendered report."""
    import papermill as pm
    out_dir, task = Path(spec["out_dir"]), spec["task"]
    where = task.paths(out_dir)
    nb_in = paths.NOTEBOOKS / f"{task.notebook}.ipynb"
    start = time.time()
    status, error = "ok", ""
    # The kernel inherits these (OpenMP reads them when torch loads): the task's share of the cores as
    # threads, and idle threads that sleep rather than spin (see `train.threads.task_env`).
    os.environ.update(task_env(spec["threads"]))
    os.environ[HEADLESS_ENV] = "1"  # nobody watches: text progress bars, redrawn rarely (train.progress.progress_bar)
    try:
        write_json(where.running, {"pid": os.getpid(), "node": _node(), "start": start})
        where.log.parent.mkdir(parents=True, exist_ok=True)
        # The log is written as the task runs (to be followed while it does), not atomically.
        with open(where.log, "w") as f:
            f.write(f"task {task.name} on {_node()} (pid {os.getpid()}), threads {os.environ.get('OMP_NUM_THREADS', '?')}, "
                    f"GPUs {os.environ.get('CUDA_VISIBLE_DEVICES', 'none')}\n")
            f.flush()
            log = LineLog(f)  # the lines a terminal would show: epoch lines, no progress-bar frames
            try:
                # the notebook's named parameters, as a person would type them (`study.parameters`): its paths
                # relative to the reports folder, where the kernel works (no machine's absolute path in a report)
                pm.execute_notebook(str(nb_in), str(where.partial_notebook), parameters=spec["parameters"],
                                    kernel_name="python3", cwd=str(out_dir), progress_bar=False, log_output=False,
                                    stdout_file=log, stderr_file=log, **papermill_kwargs())
            except pm.PapermillExecutionError as e:
                status, error = "failed", _kernel_error(e, out_dir)
            except OSError as e:  # the notebook could not be written (the kernel's own writes are above)
                status, error = "failed", write_failed(e, out_dir)
            except Exception as e:  # a kernel that died, a notebook that could not start
                status, error = "failed", f"{type(e).__name__}: {e}"
            log.close()
            f.write(f"\n{status} in {time.time() - start:.1f} s {error}\n")
    except OSError as e:  # the log or the task's state could not be written
        status, error = "failed", write_failed(e, out_dir)
    return finish_task(spec, status, error, start, time.time(), _node())


def _whole(notebook: Path) -> bool:
    """Whether a notebook file reads back as one (papermill writes it in place, not atomically)."""
    import nbformat
    try:
        nbformat.read(notebook, as_version=4)
    except OSError:
        raise
    except Exception:  # NotJSONError (a ValueError), a missing key, a wrong type: not a whole notebook
        return False
    return True


def finish_task(spec: dict, status: str, error: str, start: float, end: float, node: str) -> dict:
    """Publish what a task left (its notebook, HTML report) and return its index entry. Also called by the
    runner for a task whose worker died, on whatever notebook it had written."""
    out_dir, task = Path(spec["out_dir"]), spec["task"]
    where = task.paths(out_dir)
    part, nb_out, record = where.partial_notebook, where.notebook, where.record
    headline = ""
    try:
        if part.is_file() and not _whole(part):  # a worker killed (or a disk full) while papermill wrote it
            part.unlink()
            status, error = "failed", error or "its notebook was left half-written; a resume reruns it"
        if part.is_file():
            os.replace(part, nb_out)  # papermill wrote it under a hidden name in this folder
            render_html(nb_out, where.html, title(task.name, task.profile))
            if status == "ok" and has_error_output(nb_out):
                status, error = "failed", "a cell shows an error output"
        if status == "ok" and record.is_file():
            headline = json.loads(record.read_text()).get("headline", "")
    except OSError as e:  # the report could not be written: the task is failed, its record removed below
        status, error = "failed", write_failed(e, out_dir)
    if status != "ok":  # a failed task leaves no result for the scorecard
        for path in (record, where.predictions):
            try:
                path.unlink(missing_ok=True)
            except OSError as e:
                error = error or write_failed(e, out_dir)
    try:
        where.running.unlink(missing_ok=True)
    except OSError:
        pass  # a stale .running file is harmless: the next run of the task overwrites it
    return {"name": task.name, "run": task.run, "seed": task.seed, "grid": task.grid,
            "notebook": task.notebook, "status": status, "error": error, "start": round(start, 3),
            "end": round(end, 3), "wall_s": round(end - start, 1), "node": node, "headline": headline,
            "html": where.html.name, "log": os.path.relpath(where.log, out_dir)}
