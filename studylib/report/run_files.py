"""Where a notebook run reads and writes (`Run` asks here): its data folder, its record's paths, the memo
folders its code keeps intermediate results in, and its checkpoints."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from .. import paths
from ..study.task import Task, TaskPaths
from . import records

__all__ = ["checkpoints", "data_dir", "memo_dir", "task_paths"]


def data_dir(task: Task) -> str:
    """The task's data folder; in an interactive session without one, the demo data (generated once into
    the cache), so every notebook runs as cloned."""
    if task.data_dir:
        return task.data_dir
    from ..data import synthetic
    demo = paths.default_cache_dir() / "demo-data"
    if not (demo / "GENERATED.txt").is_file():
        synthetic.make_demo_data(demo, seed=0)
    return str(demo)


def task_paths(task: Task) -> TaskPaths:
    """The task's files, its record where it was asked to go (`task.results_dir`)."""
    results = Path(task.results_dir)
    return TaskPaths(results.parent, task.name, results)


def memo_dir(task: Task, name: str) -> Path:
    """A folder for this code's memoised intermediate results (the learning-rate search's trials): beside
    the profile's records, so every task of the profile finds it, or in the cache for an interactive
    session; one subfolder per code version, so other code never reuses them."""
    base = Path(task.results_dir).parent if task.results_dir else paths.default_cache_dir()
    return base / name / records.code_version()


def checkpoints(task: Task, params: dict, sources: dict) -> Path | None:
    """The task's folder for its arms' training checkpoints (`study.arms.train_arms`), so that a rerun after
    an interruption resumes each arm from its last epoch; None in an interactive session.

    Keyed by the code, the parameters and the data read (`params`: the run's parameters as a dict), so that
    other code, settings or data start afresh (an older key's folder is removed here); `Run.save` removes
    the task's folder once the record is written."""
    if not task.results_dir:
        return None
    key = hashlib.sha256(json.dumps([records.code_version(), params, sources], sort_keys=True,
                                    default=str).encode()).hexdigest()[:16]
    folder = task_paths(task).checkpoints
    for old in folder.glob("*"):
        if old.name != key:
            shutil.rmtree(old, ignore_errors=True)
    return folder / key
