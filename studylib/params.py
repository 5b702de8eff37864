"""Parameter profiles: `params/<profile>.yaml` is a list of runs (notebook + parameter overrides).

The valid keys and their types are the ones in each notebook's papermill `parameters` cell, so a
profile is checked against the notebooks themselves before anything runs (and cannot rot silently).

    profile: cpu
    title: Real data, cut down for 2 CPU cores
    data_dir: ../shared/data          # or `generated` (demo data written beside the reports)
    defaults: {device: cpu}           # applied to every run whose notebook has the key
    cuts: ["...", ...]                # what this profile changes from the papers, shown in every report
    runs:
      - name: 05_partial_vs_full-fer2013
        notebook: 05_partial_vs_full
        params: {dataset: fer2013, epochs: 3}
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from . import config

PROFILE_KEYS = {"profile", "title", "data_dir", "defaults", "cuts", "runs", "description"}
RUN_KEYS = {"name", "notebook", "params", "headline"}
# Set by the runner for every run; notebooks declare them but profiles must not.
INJECTED = {"profile", "data_dir", "run_name", "results_dir", "cuts"}


class ParamsError(ValueError):
    """A bad parameter file: the message names the profile, run and key."""


@dataclass
class Run:
    name: str
    notebook: str
    params: dict = field(default_factory=dict)


@dataclass
class Profile:
    name: str
    path: Path
    title: str
    data_dir: str
    cuts: list
    runs: list


@lru_cache(maxsize=None)
def notebook_parameters(notebook: str, notebooks_dir: str | None = None) -> dict:
    """{name: default value} of the notebook's `parameters` cell (literals only, evaluated safely)."""
    import ast

    import nbformat
    path = Path(notebooks_dir or config.NOTEBOOKS) / f"{notebook}.ipynb"
    if not path.is_file():
        raise ParamsError(f"notebook {path} does not exist")
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise ParamsError(f"{path}: needs exactly one cell tagged 'parameters' (found {len(cells)})")
    out = {}
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = ast.literal_eval(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = ast.literal_eval(node.value)
    return out


def _type_ok(value, default) -> bool:
    if default is None or value is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


def check_run_params(where: str, notebook: str, params: dict, notebooks_dir=None) -> None:
    """Unknown key or wrong type -> ParamsError naming where, the key, and what is valid."""
    defaults = notebook_parameters(notebook, str(notebooks_dir) if notebooks_dir else None)
    for key, value in params.items():
        if key in INJECTED:
            raise ParamsError(f"{where}: key '{key}' is set by the runner, not by a profile")
        if key not in defaults:
            valid = ", ".join(sorted(k for k in defaults if k not in INJECTED))
            raise ParamsError(f"{where}: unknown key '{key}' for notebook {notebook}; valid keys: {valid}")
        if not _type_ok(value, defaults[key]):
            raise ParamsError(f"{where}: key '{key}' must be {type(defaults[key]).__name__} "
                              f"(like the default {defaults[key]!r}), got {type(value).__name__} {value!r}")


def load_profile(profile: str, params_dir=None, notebooks_dir=None, data_dir=None) -> Profile:
    """Read and validate a whole profile before anything runs."""
    path = Path(profile) if str(profile).endswith((".yaml", ".yml")) else \
        Path(params_dir or config.PARAMS) / f"{profile}.yaml"
    if not path.is_file():
        have = sorted(p.stem for p in Path(params_dir or config.PARAMS).glob("*.yaml"))
        raise ParamsError(f"profile {profile!r}: {path} does not exist; profiles: {', '.join(have)}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ParamsError(f"profile {path}: not valid YAML ({e})") from e
    name = path.stem
    if not isinstance(raw, dict):
        raise ParamsError(f"profile {name} ({path}): the top level must be a mapping")
    unknown = set(raw) - PROFILE_KEYS
    if unknown:
        raise ParamsError(f"profile {name} ({path}): unknown key '{sorted(unknown)[0]}'; valid: "
                          f"{', '.join(sorted(PROFILE_KEYS))}")
    runs_raw = raw.get("runs")
    if not isinstance(runs_raw, list) or not runs_raw:
        raise ParamsError(f"profile {name} ({path}): 'runs' must be a non-empty list")
    defaults = raw.get("defaults") or {}
    runs, seen = [], set()
    for i, r in enumerate(runs_raw):
        if not isinstance(r, dict) or not {"name", "notebook"} <= set(r):
            raise ParamsError(f"profile {name}, run #{i + 1}: needs 'name' and 'notebook'")
        where = f"profile {name}, run {r['name']}"
        bad = set(r) - RUN_KEYS
        if bad:
            raise ParamsError(f"{where}: unknown key '{sorted(bad)[0]}'; a run has {', '.join(sorted(RUN_KEYS))}")
        if r["name"] in seen:
            raise ParamsError(f"{where}: the run name is used twice")
        seen.add(r["name"])
        nb_defaults = notebook_parameters(r["notebook"], str(notebooks_dir) if notebooks_dir else None)
        params = {k: v for k, v in defaults.items() if k in nb_defaults}
        params.update(r.get("params") or {})
        check_run_params(where, r["notebook"], params, notebooks_dir)
        runs.append(Run(r["name"], r["notebook"], params))
    data = str(data_dir or raw.get("data_dir") or config.default_data_dir())
    if data != "generated" and not Path(data).is_dir():
        raise ParamsError(f"profile {name}: data_dir '{data}' does not exist; pass --data-dir DIR "
                          "(`studylib data check --data-dir DIR` tells what belongs there)")
    return Profile(name, path, raw.get("title", name), data, list(raw.get("cuts") or []), runs)
