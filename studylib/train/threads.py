"""How many tasks run at once, with how many threads each, and the environment each task's process needs.

No torch here: the runner (its driver and each task's worker) reads it, and the environment must be set
before torch is imported in the task's kernel (OpenMP reads it when it loads).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ThreadPlan", "task_env", "thread_plan", "usable_cpus"]


def usable_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by a cgroup CPU quota (containers)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        n = os.cpu_count() or 1
    for path in ("/sys/fs/cgroup/cpu.max", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"):
        try:
            text = Path(path).read_text().split()
            if path.endswith("cpu.max"):
                quota, period = text[0], text[1]
            else:
                quota, period = text[0], Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text().split()[0]
            if quota not in ("max", "-1") and int(period) > 0:
                n = min(n, max(1, math.ceil(int(quota) / int(period))))
            break
        except (OSError, ValueError, IndexError):
            continue
    return max(1, n)


def task_env(threads: int) -> dict[str, str]:
    """Environment for a task's process running `threads` CPU threads; it must be set before torch loads.

    OMP_WAIT_POLICY=PASSIVE: an idle OpenMP thread sleeps instead of spinning for its next job. With the
    default (spin), a 2-thread process whose second thread is descheduled by another busy process waits
    for it at every barrier, burning the core it needs: measured on this 2-core machine, the small CNN's
    training steps fell to 1.7 steps/s next to one busy process (PASSIVE: 9.9/s), and EfficientNet-Lite0's
    full fine-tuning to 0.03 steps/s under the other developers' load (2 one-thread processes: 0.46/s).
    """
    n = str(max(1, int(threads)))
    return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OMP_WAIT_POLICY": "PASSIVE"}


@dataclass(frozen=True)
class ThreadPlan:
    """How to run `tasks` training tasks on `cpus` cores: `concurrent` at a time, `threads` each."""

    cpus: int
    tasks: int
    concurrent: int
    threads: int
    env: dict = field(default_factory=dict)  # task_env(threads): for each task's process


def thread_plan(cpus_available: int | None = None, tasks: int = 1) -> ThreadPlan:
    """One task per core, one thread each, while there are at least as many tasks as cores; fewer tasks
    share the cores out (cpus // tasks threads each), so a lone task still uses them all.

    Why: per-operation overhead leaves a second thread of these small models half idle (paper 003's CNN
    steps in 19.3 ms on 1 thread, 14.1 ms on 2), so two 1-thread processes do about 1.4x the work of one
    2-thread process, and a 1-thread task loses only its share, not its synchronisation, when the machine
    is busy (bench/bench_seeds.py measures both layouts).

    Args:
        cpus_available: cores the tasks may use (default `usable_cpus()`: affinity and cgroup quota).
        tasks: tasks waiting to run (e.g. runs x seeds of a profile).

    Returns:
        ThreadPlan; `env` is what each task's process needs (`task_env`).
    Example:
        >>> thread_plan(2, 10)   # ThreadPlan(cpus=2, tasks=10, concurrent=2, threads=1, env={...})
    """
    cpus = max(1, int(cpus_available or usable_cpus()))
    concurrent = max(1, min(int(tasks), cpus))
    threads = max(1, cpus // concurrent)
    return ThreadPlan(cpus, max(0, int(tasks)), concurrent, threads, task_env(threads))
