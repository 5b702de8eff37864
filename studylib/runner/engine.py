"""The Ray executor: start (or join) an instance, run tasks with their resources, report as each ends, shut down.

A local instance sized to the machine is the default; `address` ("auto" or host:port) joins a running
cluster instead, where every node must see the same repository, environment, data and reports folder.
Ray's dashboard is not started; its token authentication is left as Ray sets it (on).
"""
from __future__ import annotations

import contextlib
import logging
import signal
import threading

from ..train.threads import usable_cpus
from .executor import Terminated, cpu_share, crashed, sigterm_as_interrupt, terminated
from .task import execute_task

__all__ = ["RayCluster", "Terminated", "cpu_share", "run_tasks", "sigterm_as_interrupt", "terminated"]

STARTS = 5  # attempts at starting the local instance (see RayCluster.__enter__)


class RayCluster:
    """`with RayCluster(address, workers) as cluster:` a started Ray, shut down on exit (Ctrl-C too)."""

    label, place = "Ray", "this Ray cluster"  # what the run's first lines call it

    def __init__(self, address: str | None = None):
        self.address = address

    def __enter__(self):
        import ray
        kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        if not self.address:  # embedded: this machine's usable CPUs (cgroup limits included), GPUs as Ray finds
            kwargs["num_cpus"] = usable_cpus()
        # ray.init replaces the SIGTERM handler with one calling sys.exit: keep the caller's
        sigterm = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
        for attempt in range(1, STARTS + 1):
            try:
                ray.init(address=self.address, **kwargs)
                if sigterm is not None:
                    signal.signal(signal.SIGTERM, sigterm)
                return self
            except Exception as e:  # Ray raises a bare Exception for this
                # On a busy machine the raylet gives its metrics agent a fixed 15 s to start and exits
                # (ray-project/ray#65983); a second start usually finds the machine warmer.
                if "timed out during startup" not in str(e) or attempt == STARTS:
                    raise
                ray.shutdown()
                print(f"Ray did not start in time (busy machine?); starting again ({attempt + 1}/{STARTS})",
                      flush=True)
        return self

    def __exit__(self, *exc):
        import ray
        ray.shutdown()
        return False

    @staticmethod
    def resources() -> dict:
        """{'cpus': total, 'gpus': total, 'node_cpus': most CPUs on one node} of the running cluster."""
        import ray
        total = ray.cluster_resources()
        nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
        return {"cpus": int(total.get("CPU", 0)), "gpus": float(total.get("GPU", 0)),
                "node_cpus": int(max((n.get("CPU", 0) for n in nodes), default=0))}

    @staticmethod
    def run(specs: list[dict], workers: int, on_done) -> None:
        """The executor's task loop (`executor`): `run_tasks` on this cluster."""
        run_tasks(specs, workers, on_done)


def _remote():
    import ray
    # A task is not retried: a worker that dies is reported failed with the reason, and a resume reruns it.
    return ray.remote(max_retries=0)(execute_task)


def run_tasks(specs: list[dict], workers: int, on_done) -> None:
    """Run `specs` on the started cluster, at most `workers` at once; `on_done(spec, entry)` as each ends.
    On Ctrl-C (or SIGTERM, see `sigterm_as_interrupt`) the running tasks are cancelled (their workers
    killed), reported 'interrupted', and the KeyboardInterrupt goes on to the caller. On any other error
    (e.g. the state of a task could not be written) they are cancelled and the error goes on."""
    import ray
    remote = _remote()
    pending, inflight = list(specs), {}
    try:
        while pending or inflight:
            while pending and len(inflight) < workers:
                spec = pending.pop(0)
                # Ray pickles the spec, its Task as itself: the worker gets the Task the driver built
                ref = remote.options(num_cpus=spec["threads"], num_gpus=spec["gpus"]).remote(spec)
                inflight[ref] = spec
            done, _ = ray.wait(list(inflight), num_returns=1)
            for ref in done:
                spec = inflight.pop(ref)
                try:
                    entry = ray.get(ref)
                except (ray.exceptions.RayError, OSError) as e:  # the worker died, the node was lost
                    entry = crashed(spec, e)
                on_done(spec, entry)
    except KeyboardInterrupt as e:
        how = "terminated (SIGTERM)" if terminated(e) else "interrupted (Ctrl-C)"
        for ref, spec in inflight.items():
            ray.cancel(ref, force=True)
            entry = crashed(spec, KeyboardInterrupt(f"{how}; a resume reruns it"))
            on_done(spec, dict(entry, status="interrupted"))
        raise
    except BaseException:
        for ref in inflight:  # their states are not written: a resume reruns them
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        raise
