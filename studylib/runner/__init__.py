"""The runner: a profile's tasks executed on this machine or on Ray (local by default, or a cluster), resumable.

- ``execute``: ``run_profile`` (expand, skip what is done, run, index; its flags a ``RunOptions``), ``check_clean``,
  ``prepare_data``.
- ``executor``: what both executors share (picking one, a task's share of the cores, Ctrl-C and SIGTERM).
- ``local``: the local executor: each task a subprocess (``worker``) of this machine, no Ray.
- ``engine``: the Ray executor: the Ray instance and the task loop (resources, Ctrl-C, dead workers).
- ``task``: one task in its worker: papermill into a hidden file, renamed; HTML; its log.
- ``resume``: a task's inputs and whether it must run again (its outputs checked against its record).
- ``preflight``: before any task starts: one run per reports folder (a lock), the folders it writes writable.
"""
from .. import lazy

# imported on first use (`studylib.lazy`): a task's worker process needs `task`, not the whole runner
__getattr__, __dir__, __all__ = lazy.attach(__name__, attrs={
    name: "execute" for name in ("DirtyTreeError", "RunOptions", "RunRefused", "check_clean", "prepare_data",
                                 "run_profile")})
