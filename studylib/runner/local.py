"""The local executor: a profile's tasks as subprocesses of this machine, without Ray.

For one box (a laptop, one GPU machine, a container without /dev/shm) a cluster runtime only adds a raylet,
an object store and a temp folder. Here each task is `python -m studylib.runner.worker SPEC ENTRY`: the same
`task.execute_task` a Ray worker runs (papermill into a hidden file, its HTML, its log), in its own session
so a terminal's Ctrl-C reaches only this driver, which then stops each running task's process group and
reports it interrupted. A task gets its share of the cores (`executor.cpu_share`, as threads) and of the
GPUs: whole devices, or a fraction of one, through CUDA_VISIBLE_DEVICES (none: an empty value, so a task
that asks no GPU never takes one). Nothing on this path imports Ray.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..train.threads import usable_cpus
from .executor import crashed, spec_as_json, terminated

__all__ = ["GpuSlots", "LocalMachine", "gpu_count"]

POLL_S = 0.2       # how often the driver looks for a finished task
STOP_GRACE_S = 10  # after SIGTERM, how long a task's processes get before SIGKILL


def gpu_count() -> int:
    """This machine's GPUs without importing torch (which would start CUDA in the driver): the devices
    CUDA_VISIBLE_DEVICES names when it is set, else those `nvidia-smi -L` lists, else none."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return len([d for d in visible.split(",") if d.strip() and d.strip() != "-1"])
    if not shutil.which("nvidia-smi"):
        return 0
    try:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(line.startswith("GPU ") for line in listed.splitlines())


class GpuSlots:
    """Which GPUs a task may use: a task asking g <= 1 shares the device with the most room left (g of its
    1.0), one asking more takes ceil(g) whole free devices; None when the room is not free yet."""

    def __init__(self, devices: list[str]):
        self.devices = list(devices)
        self.free = {d: 1.0 for d in self.devices}

    def take(self, gpus: float) -> list[str] | None:
        if gpus <= 0:
            return []
        if gpus <= 1:
            best = max(self.devices, key=lambda d: self.free[d], default=None)
            if best is None or self.free[best] + 1e-9 < gpus:
                return None
            self.free[best] -= gpus
            return [best]
        whole = [d for d in self.devices if self.free[d] >= 1 - 1e-9][:math.ceil(gpus)]
        if len(whole) < math.ceil(gpus):
            return None
        for d in whole:
            self.free[d] = 0.0
        return whole

    def give(self, taken: list[str], gpus: float) -> None:
        for d in taken:
            self.free[d] = min(1.0, self.free[d] + (gpus if gpus <= 1 else 1.0))


def _devices() -> list[str]:
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:  # the ids this process was given, passed on as they are
        return [d.strip() for d in visible.split(",") if d.strip() and d.strip() != "-1"]
    return [str(i) for i in range(gpu_count())]


class LocalMachine:
    """`with LocalMachine() as machine:` this machine as the executor (see the module docstring)."""

    label, place = "local (no Ray)", "this machine"  # what the run's first lines call it

    def __enter__(self):
        self.scratch = Path(tempfile.mkdtemp(prefix="studylib-local-"))  # each task's spec and entry
        self.slots = GpuSlots(_devices())
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.scratch, ignore_errors=True)
        return False

    def resources(self) -> dict:
        cpus = usable_cpus()
        return {"cpus": cpus, "gpus": float(len(self.slots.devices)), "node_cpus": cpus}

    def _start(self, spec: dict, gpus: list[str], k: int) -> tuple:
        spec_file, entry_file = self.scratch / f"{k}.spec.json", self.scratch / f"{k}.entry.json"
        spec_file.write_text(spec_as_json(spec))  # a process boundary: the Task as plain data, once
        env = dict(os.environ, CUDA_VISIBLE_DEVICES=",".join(gpus))
        # the notebook's output goes to the task's log (`task.execute_task`); the worker's own (a traceback
        # if it dies) to a file read when it ends without a result
        with open(self.scratch / f"{k}.err", "wb") as err:
            proc = subprocess.Popen([sys.executable, "-m", "studylib.runner.worker", str(spec_file), str(entry_file)],
                                    env=env, start_new_session=True, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
        return proc, entry_file, gpus

    def _ended(self, spec: dict, proc, entry_file: Path) -> dict:
        try:
            return json.loads(entry_file.read_text())
        except (OSError, ValueError):  # the worker died before it could say how the task ended
            how = f"killed by signal {-proc.returncode}" if proc.returncode < 0 else f"exit code {proc.returncode}"
            said = [line for line in (entry_file.with_suffix("").with_suffix(".err")).read_text(errors="replace")
                    .splitlines() if line.strip()] if entry_file.with_suffix("").with_suffix(".err").is_file() else []
            last = f": {said[-1].strip()}" if said else ""
            return crashed(spec, RuntimeError(f"the task's process ended without a result ({how}){last}"))

    def run(self, specs: list[dict], workers: int, on_done) -> None:
        pending, inflight, k = list(specs), {}, 0
        try:
            while pending or inflight:
                while pending and len(inflight) < workers:
                    gpus = self.slots.take(pending[0]["gpus"])
                    if gpus is None:  # its GPUs are busy: it waits for a task to end
                        break
                    spec = pending.pop(0)
                    k += 1
                    inflight[k] = (spec, *self._start(spec, gpus, k))
                time.sleep(POLL_S)
                for key in [key for key, (_, proc, *_) in inflight.items() if proc.poll() is not None]:
                    spec, proc, entry_file, gpus = inflight.pop(key)
                    self.slots.give(gpus, spec["gpus"])
                    on_done(spec, self._ended(spec, proc, entry_file))
        except KeyboardInterrupt as e:
            how = "terminated (SIGTERM)" if terminated(e) else "interrupted (Ctrl-C)"
            _stop([proc for _, proc, *_ in inflight.values()])
            for spec, *_ in inflight.values():
                entry = crashed(spec, KeyboardInterrupt(f"{how}; a resume reruns it"))
                on_done(spec, dict(entry, status="interrupted"))
            raise
        except BaseException:
            _stop([proc for _, proc, *_ in inflight.values()])  # their states are not written: a resume reruns them
            raise


def _stop(procs: list) -> None:
    """SIGTERM to each task's process group (its worker; the notebook's kernel exits with its parent), then
    SIGKILL to what is left after the grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for proc in procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass
        deadline = time.time() + (STOP_GRACE_S if sig == signal.SIGTERM else 5)
        while any(p.poll() is None for p in procs) and time.time() < deadline:
            time.sleep(0.1)
