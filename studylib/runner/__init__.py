"""The runner: a profile's tasks executed on Ray (local by default, or a cluster), resumable.

- ``execute``: ``run_profile`` (expand, skip what is done, run, index), ``check_clean``, ``prepare_data``.
- ``engine``: the Ray instance and the task loop (resources, Ctrl-C, dead workers).
- ``task``: one task in its worker: papermill into a hidden file, renamed; HTML; its log.
- ``resume``: a task's inputs and whether it must run again (its outputs checked against its record).
- ``preflight``: before Ray starts: one run per reports folder (a lock), the folders it writes writable.
"""
from .execute import DirtyTreeError, RunRefused, check_clean, prepare_data, run_profile

__all__ = ["DirtyTreeError", "RunRefused", "check_clean", "prepare_data", "run_profile"]
