"""What both executors share: choosing one, each task's share of the cores, Ctrl-C and SIGTERM, and the
entry of a task whose worker died. Nothing here imports Ray.

An executor is a context manager (started on enter, stopped on exit, Ctrl-C included) with two methods:
`resources()` -> {'cpus', 'gpus', 'node_cpus'} and `run(specs, workers, on_done)`, which runs the specs (each
a dict: "task", the study.task.Task itself; "parameters", the notebook's named parameters; "out_dir",
"gpus", "threads", "inputs", "last_wall_s") at most `workers` at once and calls `on_done(spec, entry)` as each ends; on Ctrl-C (or SIGTERM) it stops the
running tasks, reports each 'interrupted' and lets the KeyboardInterrupt go on. `local.LocalMachine` runs
tasks as subprocesses of this machine; `engine.RayCluster` on a Ray instance or cluster.
"""
from __future__ import annotations

import contextlib
import importlib.util
import json
import signal
import threading
import time
from pathlib import Path

from ..study.task import Task
from .preflight import RunRefused
from .task import finish_task

__all__ = ["EXECUTORS", "Terminated", "cpu_share", "crashed", "pick_executor", "ray_installed",
           "sigterm_as_interrupt", "spec_as_json", "spec_from_json", "terminated"]

EXECUTORS = ("auto", "local", "ray")


class Terminated(KeyboardInterrupt):
    """SIGTERM (a `kill`, a scheduler ending the job): handled as Ctrl-C is."""


_SIGTERM = threading.Event()  # set by the handler: Ray turns an exception raised in its calls into a
#                               plain KeyboardInterrupt, so the type alone cannot say it was SIGTERM


def _raise_terminated(signum, frame):
    _SIGTERM.set()
    raise Terminated()


def terminated(e: BaseException) -> bool:
    """Whether an interrupt came from SIGTERM (else Ctrl-C)."""
    return isinstance(e, Terminated) or _SIGTERM.is_set()


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within the block SIGTERM raises Terminated (a KeyboardInterrupt): the running tasks are stopped and
    reported interrupted, with a message, rather than the process dying (or Ray's handler exiting mid-call)."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return
    _SIGTERM.clear()
    old = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def cpu_share(requested: int, workers: int, resources: dict) -> int:
    """CPUs (and so torch threads) a task gets: what it asks, or its share of the machine's (cluster's) CPUs
    for `workers` tasks at once, never more than one node has. Concurrent tasks then use the cores without
    oversubscribing them (two 2-thread torch processes on 2 cores thrash). The share does not depend on
    how many tasks are left to run: torch's numbers depend on its thread count, so a task resumed alone
    must compute what it computed beside others (`--workers 1` gives each task every core)."""
    share = max(requested, resources["cpus"] // max(1, workers))
    return max(1, min(share, resources["node_cpus"] or share))


def spec_as_json(spec: dict) -> str:
    """A spec as the local executor's worker process reads it (`spec_from_json`): its Task as plain data,
    the one conversion on the way out (Ray pickles the Task itself)."""
    return json.dumps({**spec, "task": spec["task"].as_dict()})


def spec_from_json(text: str) -> dict:
    """The spec `spec_as_json` wrote, its Task made again, once, in the worker process."""
    spec = json.loads(text)
    return {**spec, "task": Task.from_dict(spec["task"])}


def crashed(spec: dict, error: BaseException) -> dict:
    """The entry of a task whose worker process died (or was stopped): what it had written is published."""
    out = Path(spec["out_dir"])
    try:
        info = json.loads(spec["task"].paths(out).running.read_text())
    except (OSError, ValueError):
        info = {}
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return finish_task(spec, "failed", f"{type(error).__name__}: {reason}", info.get("start", time.time()),
                       time.time(), info.get("node", "?"))


def ray_installed() -> bool:
    return importlib.util.find_spec("ray") is not None


def pick_executor(executor: str, address: str | None) -> str:
    """'local' or 'ray': `auto` is Ray where it is installed (a cluster needs it), else this machine.
    A cluster address needs Ray; Ray asked for and not installed is refused in one line."""
    if executor not in EXECUTORS:
        raise RunRefused(f"--executor {executor!r}: valid: {', '.join(EXECUTORS)}")
    if executor == "auto":
        executor = "ray" if address or ray_installed() else "local"
    if executor == "local" and address:
        raise RunRefused(f"--address {address} joins a Ray cluster: use --executor ray (or drop --address)")
    if executor == "ray" and not ray_installed():
        raise RunRefused("--executor ray: Ray is not installed in this environment; use --executor local "
                         "(tasks as subprocesses of this machine), or install Ray (`make install`)")
    return executor
