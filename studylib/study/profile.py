"""Parameter profiles: `params/<profile>.yaml` is a list of runs (a notebook + overrides of its parameters).

A profile is checked whole against the notebooks' parameter dataclasses (`study.experiments`) before
anything runs: an unknown key, a wrong type or a value out of range (`study.schema`), at any depth and in
`defaults` too, is one error naming the file, run and key. Numbers read as YAML 1.2 reads them: `1e-3` is
the float 0.001 (YAML 1.1, PyYAML's default, would read the string "1e-3").

    profile: cpu
    title: Real data, cut down for 2 CPU cores
    data_dir: ../shared/data          # relative: from the repository root (where params/ is), whatever the
                                      # current folder; or `generated` (demo data written beside the reports)
    defaults: {train: {device: cpu}}  # merged into every run whose notebook has the key (a key no notebook
                                      # of the profile has is an error, as in a run's params)
    seeds: [0, 1, 2, 3, 4]            # training seeds of every run that trains (a run may list its own)
    resources: {cpus: 1, gpus: 0}     # what one task asks of the Ray cluster (a run may set its own)
    cuts: ["...", ...]                # what the whole profile changes from the papers, shown in every report
    runs:
      - name: 05_partial_vs_full-fer2013
        notebook: 05_partial_vs_full
        params: {dataset: fer2013, train: {epochs: 3}}
        grid: {lr: [0.01, 0.001], batch_size: [32, 64]}   # optional: one task per combination
        cuts: ["3 epochs instead of 10"]   # what this run changes: its report shows the profile's cuts and these

Each run becomes one task per grid point and seed. The task's name is the run's, then `--<key>=<value>` for
each grid key (in the order written) when the run has a grid, then `--seed<k>` when it has several seeds:
`sweep--lr=0.01--batch_size=32--seed0`. A grid key is a parameter of the notebook or, when the notebook has
none of that name, a field of its `train` settings (`lr` above). Every task writes its own record.
"""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import paths
from ..train.config import SEED_BOUNDS, describe, out_of_bounds
from .experiments import EXPERIMENTS, params_class, resolve
from .schema import ParamsError, build
from .task import RESOURCES, Task

__all__ = ["ParamsError", "Profile", "Task", "load_profile"]

PROFILE_KEYS = {"profile", "title", "data_dir", "defaults", "cuts", "runs", "description", "seeds", "resources"}
RUN_KEYS = {"name", "notebook", "params", "headline", "seeds", "grid", "resources", "cuts"}


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader reading floats as YAML 1.2 does: `1e-3` and `2E5` are numbers, not strings."""


_Loader.add_implicit_resolver(  # copies the inherited resolvers first: yaml.SafeLoader is left as it is
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"), list("-+.0123456789"))


@dataclass
class Profile:
    name: str
    path: Path
    title: str
    data_dir: str
    cuts: list
    tasks: list                     # study.task.Task, in the profile's order


def _merge(defaults: dict, params: dict, fields: set) -> dict:
    """The profile's defaults (keys the notebook has; mappings merged one level) under the run's params."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in defaults.items() if k in fields}
    for k, v in params.items():
        out[k] = {**out[k], **v} if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _seeds(value, where: str, default: int = 0) -> list[int]:
    """The seeds a run trains with: a non-empty list of distinct ints (default: the run's `seed`)."""
    if value is None:
        return [default]
    if (not isinstance(value, list) or not value or len(set(value)) != len(value)
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in value)):
        raise ParamsError(f"{where}: key 'seeds' must be a non-empty list of distinct integers, got {value!r}")
    for i, s in enumerate(value):
        if out_of_bounds(SEED_BOUNDS, s):  # the bounds of TrainConfig.seed: numpy and torch refuse others
            raise ParamsError(f"{where}: key 'seeds[{i}]' is {s}; valid: integers {describe(SEED_BOUNDS)}")
    return list(value)


def _resources(value, where: str, default: dict) -> dict:
    """`{cpus: int >= 1, gpus: number >= 0}`, missing keys from `default`."""
    if value is None:
        return dict(default)
    if not isinstance(value, dict) or set(value) - set(RESOURCES):
        raise ParamsError(f"{where}: key 'resources' must be a mapping with keys {', '.join(RESOURCES)}, got {value!r}")
    out = {**default, **value}
    if not (isinstance(out["cpus"], int) and out["cpus"] >= 1 and isinstance(out["gpus"], (int, float))
            and not isinstance(out["gpus"], bool) and out["gpus"] >= 0):
        raise ParamsError(f"{where}: 'resources' needs cpus an integer >= 1 and gpus a number >= 0, got {value!r}")
    return out


def _grid_points(grid, fields: set, where: str) -> list[tuple[str, dict, dict]]:
    """[(name suffix, params override, {key: value})] for every combination of a run's `grid` (one empty
    point without)."""
    if grid is None:
        return [("", {}, {})]
    if not isinstance(grid, dict) or not grid or not all(isinstance(v, list) and v for v in grid.values()):
        raise ParamsError(f"{where}: key 'grid' must map parameter names to non-empty lists, got {grid!r}")
    points = [("", {}, {})]
    for key, values in grid.items():
        if len(set(map(repr, values))) != len(values):
            raise ParamsError(f"{where}: grid key {key!r} lists a value twice: {values!r}")
        path = [key] if key in fields else ["train", key] if "train" in fields else None
        if path is None:
            raise ParamsError(f"{where}: grid key {key!r} is not a parameter of this notebook")
        points = [(f"{name}--{key}={v}", _set(over, path, v), {**point, key: v})
                  for name, over, point in points for v in values]
    return points


def _set(mapping: dict, path: list, value) -> dict:
    """A copy of `mapping` with mapping[path[0]][path[1]]... = value."""
    out = dict(mapping)
    if len(path) == 1:
        out[path[0]] = value
    else:
        out[path[0]] = _set(out.get(path[0], {}), path[1:], value)
    return out


def _cuts(value, where: str) -> list[str]:
    """A list of strings (what a profile or run changes from the papers)."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise ParamsError(f"{where}: key 'cuts' must be a list of strings, got {value!r}")
    return list(value)


def _check_defaults(defaults, classes: list, where: str) -> None:
    """`defaults` checked as a run's params are: each key a parameter of some notebook of the profile, its
    value valid for every one that has it (else a typo, `trian:`, would silently apply to no run)."""
    if not isinstance(defaults, dict):
        raise ParamsError(f"{where}: key 'defaults' must be a mapping of notebook parameters, got {defaults!r}")
    fields = {cls: {f.name for f in dataclasses.fields(cls)} for cls in classes}
    for key, value in defaults.items():
        having = [cls for cls in classes if key in fields[cls]]
        if not having:
            valid = ", ".join(sorted(set().union(*fields.values())))
            raise ParamsError(f"{where}: unknown key 'defaults.{key}': no notebook of this profile has it; "
                              f"valid: {valid}")
        for cls in having:
            build(cls, {key: value}, where, prefix="defaults.")


def data_folder(value: str) -> str:
    """A profile's data_dir: `generated`, or a folder; a relative one is read from the repository root (where
    params/ is: `../shared/data` is the folder beside the checkout), never from the current folder."""
    if value == "generated" or Path(value).is_absolute():
        return value
    return os.path.normpath(Path(paths.ROOT, value))


def profile_path(profile: str, params_dir=None) -> Path:
    """params/<profile>.yaml, or the path itself when it names a YAML file."""
    if str(profile).endswith((".yaml", ".yml")):
        return Path(profile)
    return Path(params_dir or paths.PARAMS) / f"{profile}.yaml"


def _read(profile: str, params_dir) -> tuple[Path, dict]:
    """The profile's file and its YAML, checked at the top level: known keys, a non-empty list of runs."""
    path = profile_path(profile, params_dir)
    if not path.is_file():
        have = sorted(p.stem for p in Path(params_dir or paths.PARAMS).glob("*.yaml"))
        raise ParamsError(f"profile {profile!r}: {path} does not exist; profiles: {', '.join(have)}")
    try:
        raw = yaml.load(path.read_text(), Loader=_Loader) or {}
    except yaml.YAMLError as e:
        raise ParamsError(f"profile {path}: not valid YAML ({e})") from e
    where = f"profile {path.stem} ({path})"
    if not isinstance(raw, dict):
        raise ParamsError(f"{where}: the top level must be a mapping")
    unknown = set(raw) - PROFILE_KEYS
    if unknown:
        raise ParamsError(f"{where}: unknown key '{sorted(unknown)[0]}'; valid: {', '.join(sorted(PROFILE_KEYS))}")
    runs = raw.get("runs")
    if not isinstance(runs, list) or not runs:
        raise ParamsError(f"{where}: 'runs' must be a non-empty list")
    return path, raw


def _run_tasks(r: dict, raw: dict, name: str, where: str, notebooks: Path, shared_cuts: list) -> list[Task]:
    """One run's tasks, one per grid point and seed, each made here once (`where`: the run, for errors)."""
    if not (notebooks / f"{r['notebook']}.ipynb").is_file():
        raise ParamsError(f"{where}: notebook {notebooks / (r['notebook'] + '.ipynb')} does not exist")
    fields = {f.name for f in dataclasses.fields(params_class(r["notebook"]))}
    params = _merge(raw.get("defaults") or {}, r.get("params") or {}, fields)
    resolve(r["notebook"], params, where)  # raises ParamsError naming file, run and key
    seed = params.get("seed", 0)
    seeds = _seeds(r.get("seeds", raw.get("seeds")), where, seed) if "train" in fields else [seed]
    run_cuts = _cuts(r.get("cuts"), where)
    cuts = shared_cuts + run_cuts
    resources = _resources(r.get("resources"), where, _resources(raw.get("resources"), where, RESOURCES))
    tasks = []
    for suffix, over, point_values in _grid_points(r.get("grid"), fields, where):
        point = _merge(params, over, fields)
        if over:
            resolve(r["notebook"], point, f"{where}, grid point {suffix[2:]}")
        names = [r["name"] + suffix + (f"--seed{s}" if len(seeds) > 1 else "") for s in seeds]
        tasks += [Task(task, r["notebook"], r["name"], s, point_values, point, cuts,
                       resources=resources, profile=name, run_cuts=run_cuts,
                       siblings=names if len(seeds) > 1 else [])
                  for s, task in zip(seeds, names)]
    return tasks


def _data_dir(data_dir, raw: dict, name: str, smoke: bool) -> str:
    """The profile's data folder: `data_dir` (--data-dir, $STUDYLIB_DATA_DIR), else the profile's, else the
    default; refused when it does not exist (a smoke run generates its data)."""
    # --data-dir (and $STUDYLIB_DATA_DIR) is relative to the current folder, where it was typed; the
    # profile's data_dir to the repository root, so a run means the same data from any folder
    if data_dir:
        data = data_dir if data_dir == "generated" else str(Path(data_dir).absolute())
    elif raw.get("data_dir"):
        data = data_folder(str(raw["data_dir"]))
    else:
        data = str(Path(paths.default_data_dir()).absolute())
    if data != "generated" and not smoke and not Path(data).is_dir():
        given = "" if data == str(data_dir or raw.get("data_dir")) else f" ('{data_dir or raw.get('data_dir')}')"
        raise ParamsError(f"profile {name}: data_dir '{data}'{given} does not exist; pass --data-dir DIR "
                          "(`studylib data check --data-dir DIR` tells what belongs there)")
    return data


def load_profile(profile: str, params_dir=None, notebooks_dir=None, data_dir=None, smoke: bool = False) -> Profile:
    """Read and validate a whole profile before anything runs; `smoke`: the profile at smoke scale, on
    generated data (`study.smoke`). Each task is made once, here, and handed on as itself."""
    path, raw = _read(profile, params_dir)
    name = path.stem
    shared_cuts = _cuts(raw.get("cuts"), f"profile {name} ({path})")
    notebooks = Path(notebooks_dir or paths.NOTEBOOKS)
    for i, r in enumerate(raw["runs"]):
        if not isinstance(r, dict) or not {"name", "notebook"} <= set(r):
            raise ParamsError(f"profile {name} ({path}), run #{i + 1}: needs 'name' and 'notebook'")
    # an unknown notebook is reported with its run below
    classes = list(dict.fromkeys(EXPERIMENTS[r["notebook"]] for r in raw["runs"] if r["notebook"] in EXPERIMENTS))
    _check_defaults(raw.get("defaults") or {}, classes, f"profile {name} ({path})")
    tasks, seen = [], set()
    for r in raw["runs"]:
        where = f"profile {name} ({path}), run {r['name']}"
        bad = set(r) - RUN_KEYS
        if bad:
            raise ParamsError(f"{where}: unknown key '{sorted(bad)[0]}'; a run has {', '.join(sorted(RUN_KEYS))}")
        if r["name"] in seen:
            raise ParamsError(f"{where}: the run name is used twice")
        seen.add(r["name"])
        tasks += _run_tasks(r, raw, name, where, notebooks, shared_cuts)
    data = _data_dir(data_dir, raw, name, smoke)
    prof = Profile(name, path, raw.get("title", name), data, shared_cuts, _with_upstream(tasks))
    if smoke:
        from .smoke import smoke_profile
        return smoke_profile(prof, _with_upstream)
    return prof


def _with_upstream(tasks: list) -> list:
    """Each task with the tasks it reads (declared by its notebook's parameters class, `READS`): the
    scorecard reads every task that does not read records itself, a sweep's table its points' tasks."""
    readers = {t.name for t in tasks if getattr(params_class(t.notebook), "READS", None)}
    out = []
    for t in tasks:
        cls = params_class(t.notebook)
        reads = getattr(cls, "READS", None)
        if reads == "records":
            up = [u.name for u in tasks if u.name not in readers]
        elif reads == "points":
            source = t.params.get("notebook", getattr(cls, "notebook", None))
            up = [u.name for u in tasks if u.notebook == source]
        else:
            up = []
        out.append(dataclasses.replace(t, upstream=up))
    return out


def interactive_task(notebook: str, profile: str = "demo") -> Task:
    """The task of an interactive session (a notebook opened in JupyterLab with its `task` left empty): the
    demo profile's first run of `notebook`, at its first grid point and seed, with that run's parameters
    and cuts; no data folder (`report.Run.data_dir` then uses the demo data, generated once into the
    cache) and no results folder (no record is written). A notebook the profile does not run, or a checkout
    without the profile's file, gets the notebook's own defaults."""
    if profile_path(profile).is_file():
        for task in load_profile(profile, data_dir="generated").tasks:
            if task.notebook == notebook:
                return dataclasses.replace(task, data_dir="", results_dir="", upstream=[])
    return Task(name=notebook, notebook=notebook, profile=profile)
