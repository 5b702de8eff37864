"""A notebook's named parameters (what its papermill `parameters` cell declares) resolved into its typed Task.

Every notebook's parameters cell holds the same six literals, which papermill lists (`papermill
--help-notebook`) and sets (`-p seed 1`):

    profile = "demo"   # a profile: params/<profile>.yaml, or a path to a YAML file
    run = ""           # a run of that profile; empty: the profile's (first) run of this notebook
    seed = 0           # the training seed
    grid = {}          # a grid point of the run ({"lr": 0.01}); empty: its first
    data_dir = ""      # the data folder; empty: the profile's
    out_dir = ""       # the reports folder the record goes to (<out_dir>/results); empty: no record
    overrides = {}     # settings over the run's, e.g. {"train": {"lr": 0.001}}

The runner passes the same names (`runner.task`), so `studylib run` and a hand-typed papermill command take
one path: the profile is loaded and checked whole (`profile.load_profile`), the run's task at that grid
point and seed is taken (its cuts, siblings and name as the runner has them), and the overrides are checked
by the same rules as a profile's params (`experiments.resolve`). An unknown run, grid key or value, a bad
override, a value of the wrong type: one ParamsError naming it and the valid choices.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from .experiments import resolve
from .profile import interactive_task, load_profile, profile_path
from .schema import ParamsError
from .task import SMOKE_SUFFIX, Task

__all__ = ["NAMES", "as_parameters", "profile_ref", "task_from_parameters"]

# the notebooks' parameters and their defaults, in the parameters cell's order
NAMES = {"profile": "demo", "run": "", "seed": 0, "grid": {}, "data_dir": "", "out_dir": "", "overrides": {}}


def _expect(value, types, name: str, what: str):
    if not isinstance(value, types) or isinstance(value, bool):  # a bool is an int to Python, not a value here
        raise ParamsError(f"parameter {name!r} must be {what}, got {type(value).__name__} {value!r}")
    return value


def _mapping(value, name: str):
    """A mapping parameter as given, or as papermill's `-p` gives it (a string: read as YAML, so JSON too)."""
    if isinstance(value, str):
        import yaml
        try:
            value = yaml.safe_load(value) if value.strip() else {}
        except yaml.YAMLError as e:
            where = getattr(e, "problem_mark", None)
            at = f" at column {where.column + 1}" if where else ""
            raise ParamsError(f"parameter {name!r}: {value!r} is not a mapping in YAML or JSON "
                              f"({getattr(e, 'problem', 'unreadable')}{at})") from None
    return value


def _load(profile: str, data_dir: str):
    """The profile by name or path; `<name>-smoke` (with no file of that name) is `<name>` at smoke scale."""
    smoke = profile.endswith(SMOKE_SUFFIX) and not profile_path(profile).is_file()
    base = profile[:-len(SMOKE_SUFFIX)] if smoke else profile
    return load_profile(base, data_dir=data_dir or None, smoke=smoke)


def _deep_merge(base: dict, over: dict) -> dict:
    """`over` on `base`, mapping into mapping at every depth (lists and values replace)."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _pick(tasks: list, notebook: str, run: str, grid: dict, seed: int, where: str) -> Task:
    """The run's task at the grid point and seed; a seed the profile does not list is the run's task at
    that seed (named `--seed<k>` so its record never takes another seed's place)."""
    of_notebook = list(dict.fromkeys(t.run for t in tasks if t.notebook == notebook))
    if not run:
        if not of_notebook:
            runs = ", ".join(dict.fromkeys(t.run for t in tasks))
            raise ParamsError(f"{where}: no run of notebook {notebook}; its runs: {runs}")
        run = of_notebook[0]
    mine = [t for t in tasks if t.run == run]
    if not mine or mine[0].notebook != notebook:
        other = f" (run {run} is of notebook {mine[0].notebook})" if mine else ""
        raise ParamsError(f"{where}: parameter 'run' is {run!r}, not a run of notebook {notebook}{other}; "
                          f"valid: {', '.join(of_notebook) or '(none)'}")
    points = list(dict.fromkeys(repr(t.grid) for t in mine))
    if grid:
        keys = set(mine[0].grid)
        if set(grid) - keys:
            bad = sorted(set(grid) - keys)[0]
            raise ParamsError(f"{where}: grid key {bad!r} is not in run {run}'s grid; valid: "
                              f"{', '.join(keys) or '(the run has no grid)'}")
        mine = [t for t in mine if all(t.grid.get(k) == v for k, v in grid.items())]
        if not mine:
            raise ParamsError(f"{where}: grid point {grid!r} is not one of run {run}'s; valid: {', '.join(points)}")
    at_point = [t for t in mine if t.grid == mine[0].grid]
    for t in at_point:
        if t.seed == seed:
            return t
    first = at_point[0]
    if "train" not in first.params and len(at_point) == 1:  # a notebook that trains nothing: its seed is the profile's
        return first
    stem = first.name[:-len(f"--seed{first.seed}")] if first.name.endswith(f"--seed{first.seed}") else first.name
    return dataclasses.replace(first, name=f"{stem}--seed{seed}", seed=seed, params={**first.params, "seed": seed})


def task_from_parameters(notebook: str, profile: str = "demo", run: str = "", seed: int = 0, grid: dict | None = None,
                         data_dir: str = "", out_dir: str = "", overrides: dict | None = None) -> Task:
    """The typed Task a notebook's named parameters stand for (see the module docstring). With every
    parameter at its default (a notebook opened in JupyterLab as cloned): the demo profile's run of the
    notebook, on the demo data, writing no record."""
    _expect(profile, str, "profile", "a profile name or a path to a YAML file")
    _expect(run, str, "run", "a run name (a string)")
    _expect(seed, int, "seed", "an integer")
    grid = _expect(_mapping(grid, "grid") or {}, dict, "grid", "a mapping {key: value}")
    _expect(data_dir, (str, Path), "data_dir", "a folder (a string)")
    _expect(out_dir, (str, Path), "out_dir", "a folder (a string)")
    overrides = _expect(_mapping(overrides, "overrides") or {}, dict, "overrides", 'a mapping of settings, e.g. {"train": {"lr": 0.001}}')
    if "seed" in overrides:
        raise ParamsError("parameter 'overrides' sets 'seed': pass it as the 'seed' parameter")
    if not any((run, grid, data_dir, out_dir, overrides)) and profile == NAMES["profile"] and seed == NAMES["seed"]:
        return interactive_task(notebook)  # as cloned: the demo's run of it, on the demo data, no record
    prof = _load(profile, str(data_dir))
    where = f"profile {prof.name} ({prof.path})"
    task = _pick(prof.tasks, notebook, run, grid, seed, where)
    if overrides:
        params = _deep_merge(task.params, overrides)
        resolve(notebook, params, f"{where}, run {task.run}, parameter 'overrides'")  # refuses as a profile would
        task = dataclasses.replace(task, params=params)
    if not out_dir:  # an interactive session: no record; the profile's data unless it is generated
        data = "" if prof.data_dir == "generated" else prof.data_dir
        return dataclasses.replace(task, data_dir=data, results_dir="", upstream=[])
    # as given (the runner's is relative to the reports folder, where the kernel works: no machine's
    # absolute path lands in a report); else the profile's, or the demo data written beside the reports
    generated = not data_dir and prof.data_dir == "generated"
    data = str(data_dir) if data_dir else str(Path(out_dir) / "data") if generated else prof.data_dir
    if generated:
        from ..data import synthetic
        if not (Path(data) / "GENERATED.txt").is_file():  # as the runner writes it: from the seed alone
            synthetic.make_demo_data(Path(data), seed=0)
    return task.with_paths(data, str(Path(out_dir) / "results"))


def profile_ref(prof) -> str:
    """How a notebook names a loaded profile: its name when params/<name>.yaml is its file, else the file's
    path; a smoke profile with its suffix (resolved back by `task_from_parameters`)."""
    smoke = prof.name.endswith(SMOKE_SUFFIX) and not profile_path(prof.name).is_file()
    base = prof.name[:-len(SMOKE_SUFFIX)] if smoke else prof.name
    ref = base if profile_path(base).resolve() == Path(prof.path).resolve() else str(Path(prof.path).resolve())
    return ref + (SMOKE_SUFFIX if smoke else "")


def as_parameters(task: Task, profile: str, data_dir: str, out_dir: str) -> dict:
    """The named parameters that resolve to `task` (what the runner hands papermill)."""
    return {"profile": profile, "run": task.run, "seed": task.seed, "grid": dict(task.grid),
            "data_dir": str(data_dir), "out_dir": str(out_dir), "overrides": {}}
