"""Run a profile: expand it into tasks (run x grid point x seed), skip those already done, execute the
rest (each a papermill process with its share of the CPUs and GPUs), render each report, and keep the
index current as tasks end.

Two executors run the tasks, behind one loop (`executor`): `local` (subprocesses of this machine, no Ray)
and `ray` (a local Ray instance, or a cluster with `address`); `auto` is Ray where it is installed, else
local. Everything else (expansion, resume, lock, projection, index, records, progress bar, upstream
ordering, Ctrl-C and SIGTERM, failure reports) is this module's, the same for both. A failing task
still renders its HTML (with the error visible), is marked failed, the others go on, and the command
exits non-zero; a resume reruns it. A task starts once the tasks it declares upstream (those whose
records it reads: the scorecard's, a sweep table's) have ended.

Before any task starts: the reports folder is locked (one run per folder), and it, the cache and (for a
local Ray instance) Ray's temp folder are checked writable (`preflight`). A file the run cannot write ends it with one line naming the
path and what to free or set; the task states written so far stay, so the same command resumes.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import fnmatch
import os
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .. import paths
from ..io import WriteError, describe_write_error
from ..report import records
from ..report.index import write_index
from ..study.projection import Estimator, summary
from ..study.profile import load_profile
from ..study.task import proves_only_the_pipeline
from ..study.search import SEARCH_SEED
from ..study.parameters import as_parameters, profile_ref
from .executor import cpu_share, pick_executor, sigterm_as_interrupt, terminated
from .preflight import RunRefused, check_writable, run_lock, setting_for
from .resume import code_version, load_state, reason_to_run, save_state, task_inputs

__all__ = ["DirtyTreeError", "RunOptions", "RunRefused", "check_clean", "prepare_data", "run_profile", "select"]


WRITE_ERRNOS = {errno.ENOSPC, errno.EACCES, errno.EPERM, errno.EROFS, getattr(errno, "EDQUOT", errno.ENOSPC)}


def prepare_data(data_dir: str, out_dir: Path) -> Path:
    """The data folder to use: `generated` writes the demo data once beside the reports."""
    if data_dir != "generated":
        return Path(data_dir).resolve()
    from ..data import synthetic
    target = out_dir / "data"
    if not (target / "GENERATED.txt").is_file():
        synthetic.make_demo_data(target, seed=0)  # from the seed alone: the same bytes everywhere
    return target.resolve()


class DirtyTreeError(ValueError):
    """The code has uncommitted changes and the profile's verdicts must come from one commit."""


def check_clean(profile_name: str, allow_dirty: bool) -> None:
    """Refuse to render a profile (other than the demo) from a tree with uncommitted changes, unless
    allowed: then every record stores the diff (`git_diff`)."""
    commit = records.git_commit()
    if commit.endswith("-dirty") and not allow_dirty and not proves_only_the_pipeline(profile_name):
        raise DirtyTreeError(f"profile {profile_name}: the code has uncommitted changes ({commit}); commit them "
                             "first, or pass --allow-dirty (each record then stores the diff)")


def executor_for(executor: str, address: str | None):
    """The executor (not started yet): `local.LocalMachine()` or `engine.RayCluster(address)`; only the
    second imports Ray, when it starts."""
    if executor == "local":
        from .local import LocalMachine
        return LocalMachine()
    from .engine import RayCluster
    return RayCluster(address)


def _workers(workers: int | None, res: dict, tasks: list, prof, where: str = "this Ray cluster") -> int:
    """Tasks at once: `--workers`, else as many as the machine's (cluster's) CPUs hold; refuses GPUs it lacks."""
    need = max((r.resources["gpus"] for r in tasks), default=0)
    if need > res["gpus"]:
        raise RunRefused(f"profile {prof.name} asks {need:g} GPU(s) per task; {where} has "
                         f"{res['gpus']:g}. Run it where GPUs are, or set resources.gpus: 0 in {prof.path}")
    return max(1, workers or res["cpus"] // max(r.resources["cpus"] for r in tasks))


def _spec(task, data: Path, out: Path, profile: str) -> dict:
    """What a worker needs to execute one task: the task itself (with its data and results folders
    relative to the reports folder, where its kernel works), the notebook's named parameters that resolve
    to it (the reports folder itself: "."), and its GPUs. The Task stays a Task here: Ray pickles it, the
    local executor writes it as JSON (`executor.spec_as_json`)."""
    rel_data = os.path.relpath(data, out)
    task = task.with_paths(rel_data, os.path.relpath(task.paths(out).results, out))
    return {"task": task, "parameters": as_parameters(task, profile, rel_data, "."), "out_dir": str(out),
            "gpus": task.resources["gpus"]}


def _longest_first(specs: list[dict]) -> list[dict]:
    """Every run's search seed first, then the tasks by their last wall time, longest (or never timed)
    first: a long task started last would leave the other cores idle at the end. Seed 0 leads because a
    run's learning-rate search is trained at that seed and memoised: another seed started beside it would
    only wait on the search's lock, holding a core."""
    def key(spec):
        last = float("inf") if spec["last_wall_s"] is None else spec["last_wall_s"]
        return ((spec["task"].seed or SEARCH_SEED) != SEARCH_SEED, -last)
    return sorted(specs, key=key)  # stable: untimed tasks keep the profile's order


def select(prof, only: str | None) -> list:
    """The profile's tasks whose name matches `only` (a glob, or a part of the name); all without it.
    Matching nothing is refused, listing the runs (a typo would otherwise run nothing and say ok)."""
    tasks = [t for t in prof.tasks if not only or fnmatch.fnmatch(t.name, only) or only in t.name]
    if not tasks:
        runs = ", ".join(dict.fromkeys(t.run for t in prof.tasks))
        raise RunRefused(f"--only {only!r} matches no task of profile {prof.name}; its runs: {runs}")
    return tasks


def _line(entry: dict) -> str:
    return (f"{entry['name']}: {entry['status']} in {entry['wall_s']:.0f}s on {entry['node']}  "
            f"{entry['headline'] or entry['error']}")


@dataclass(frozen=True)
class RunOptions:
    """How `run_profile` runs a profile (the `studylib run` flags besides --profile)."""

    only: str | None = None         # a glob, or a part of a task's name (`select`)
    data_dir: str | None = None     # over the profile's data_dir
    out_dir: str | None = None      # the reports folder (default: reports/<profile>)
    allow_dirty: bool = False       # render from a tree with uncommitted changes (`check_clean`)
    workers: int | None = None      # tasks at once (default: as many as the CPUs hold, `_workers`)
    address: str | None = None      # a Ray cluster to join
    force: bool = False             # rerun the tasks that are done
    smoke: bool = False             # the profile at smoke scale (`study.smoke`)
    executor: str = "auto"          # local, ray or auto (`pick_executor`)


def run_profile(profile: str = "demo", options: RunOptions | None = None, **settings) -> int:
    """Validate the profile, run its tasks that are not done yet, render reports and the index; 0 when
    every selected task is ok (ran now or earlier). `options` (or its fields as keywords, which every
    caller passes: `run_profile("demo", out_dir=out, workers=2)`): see RunOptions.
    Refusals before anything runs raise RunRefused (or ParamsError, DirtyTreeError); Ctrl-C and SIGTERM
    return 130 and 143, a file that cannot be written 1."""
    opts = dataclasses.replace(options or RunOptions(), **settings)  # an unknown keyword is a TypeError
    prof = load_profile(profile, data_dir=opts.data_dir, smoke=opts.smoke)  # every run validated before any notebook starts
    check_clean(prof.name, opts.allow_dirty)
    tasks = select(prof, opts.only)
    executor = pick_executor(opts.executor, opts.address)
    out = Path(opts.out_dir or paths.REPORTS / prof.name).resolve()
    t0 = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:  # the lock, a scratch cache, the executor, the bar: released on any exit
            stack.enter_context(sigterm_as_interrupt())
            for warning in check_writable(out, local_ray=executor == "ray" and not opts.address, stack=stack):
                print(warning, flush=True)
            if took_over := stack.enter_context(run_lock(out)):
                print(took_over, flush=True)
            entries = _run(prof, tasks, out, stack, executor_for(executor, opts.address), opts)
    except KeyboardInterrupt as e:  # the executor is stopped by now, the running tasks reported interrupted
        how = "terminated (SIGTERM)" if terminated(e) else "interrupted"
        print(f"{how}: the running tasks were stopped; run the same command again to resume", flush=True)
        return 143 if terminated(e) else 130
    except OSError as e:  # the driver's own writes (a task's state, the index, the demo data)
        if not _a_write(e):
            raise
        print(f"error: {describe_write_error(e, setting_for(e.filename, out) if e.filename else '')}; "
              "the tasks finished so far are kept: run the same command again to resume", flush=True)
        return 1
    failed = [n for n in (r.name for r in tasks) if entries.get(n, {}).get("status") != "ok"]
    print(f"done in {(time.perf_counter() - t0) / 60:.1f} min: {len(tasks) - len(failed)} ok, {len(failed)} failed"
          f"{' (' + ', '.join(failed) + ')' if failed else ''}; index: {out / 'index.html'}", flush=True)
    return 1 if failed else 0


def _a_write(e: OSError) -> bool:
    """Whether an OSError is a file that could not be written (not, say, Ray's ConnectionError)."""
    return isinstance(e, WriteError) or bool(e.filename) or e.errno in WRITE_ERRNOS


def _stages(tasks: list) -> list[list]:
    """The tasks in stages: a task comes after every task it declares upstream (`Task.upstream`)."""
    level: dict[str, int] = {}
    names = {t.name for t in tasks}

    def depth(t) -> int:
        if t.name not in level:
            level[t.name] = 1 + max((depth(u) for u in tasks if u.name in t.upstream and u.name in names), default=-1)
        return level[t.name]
    for t in tasks:
        depth(t)
    return [[t for t in tasks if level[t.name] == k] for k in range(max(level.values(), default=-1) + 1)]


def _to_run(stage: list, data: Path, out: Path, ref: str, code: str, force: bool, bar) -> list[tuple]:
    """[(task, spec)] of the stage's tasks that must run (each with its inputs and last wall time); the
    others are counted done on the bar."""
    todo = []
    for run in stage:
        spec = _spec(run, data, out, ref)
        spec["inputs"] = task_inputs(spec, code)
        state = load_state(out, run.name)
        spec["last_wall_s"] = state["entry"]["wall_s"] if state else None
        why = "--force" if force else reason_to_run(state, spec["inputs"], out, data)
        if why:
            todo.append((run, spec))
            bar.write(f"run  {run.name}: {why}")
        else:
            bar.write(f"skip {run.name}: unchanged, ok")
            bar.update(1)
    return todo


def _run(prof, tasks: list, out: Path, stack: contextlib.ExitStack, machine, opts: RunOptions) -> dict:
    """Run the selected tasks not done yet on `machine` (an executor, started when a task must run), stage
    by stage (a task after its upstream); {task: index entry}."""
    data = prepare_data(prof.data_dir, out)
    ref, code = profile_ref(prof), code_version()
    order = [t.name for t in prof.tasks]
    entries = {name: s["entry"] for name in order if (s := load_state(out, name))}

    def publish():
        write_index(out, prof, [entries[n] for n in order if n in entries],
                    pending=[r.name for r in tasks if r.name not in entries])

    stages = _stages(tasks)
    # the index first, and with it the folder's .gitignore: the pages rendered from here on link only what
    # the folder commits (`report.publish`), the first task's included
    publish()
    print(f"{prof.title}: {len(tasks)} tasks -> {out}", flush=True)
    bar = stack.enter_context(tqdm(total=len(tasks), unit="task", desc=prof.name))
    res, workers = None, opts.workers
    for stage in stages:  # inputs of the second stage include the records the first one wrote
        todo = _to_run(stage, data, out, ref, code, opts.force, bar)
        if not todo:
            continue
        if res is None:  # the executor is started only when a task must run
            res = stack.enter_context(machine).resources()
            workers = _workers(workers, res, tasks, prof, machine.place)
            bar.write(f"{machine.label}: {res['cpus']} CPUs, {res['gpus']:g} GPUs; at most {workers} tasks at once")
            # the render's projection: this stage's tasks to run and every later stage's (they read these)
            ahead = [r for r, _ in todo] + [t for st in stages[stages.index(stage) + 1:] for t in st]
            # a task never timed is projected from the per-epoch times of finished records: this render's own
            # and the profile's committed render (reports/<profile>), whose arms this one repeats or extends
            estimate = Estimator([out / "results", paths.REPORTS / prof.name / "results"], data_dir=data)
            bar.write(summary(ahead, {n: e.get("wall_s") for n, e in entries.items()}, workers, estimate))
        # the cores / workers, however many are left to run: a resume computes what the first run did
        for run, spec in todo:
            spec["threads"] = cpu_share(run.resources["cpus"], workers, res)

        def done(spec, entry):
            entries[entry["name"]] = entry
            save_state(out, entry, spec["inputs"], data)
            publish()
            bar.write(_line(entry))
            bar.update(1)

        machine.run(_longest_first([spec for _, spec in todo]), workers, done)
    publish()
    return entries
