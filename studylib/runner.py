"""Run a profile: each run's notebook through papermill, rendered to HTML by nbconvert, plus an index.

A failing run still renders its HTML (with the error visible), is marked failed in the index, the
other runs go on, and the command exits non-zero.
"""
from __future__ import annotations

import fnmatch
import os
import json
import time
from pathlib import Path

from . import paths
from .report.display import title
from .report import records
from .report.index import write_index
from .report.render import has_error_output, render_html
from .study.profile import load_profile


def prepare_data(data_dir: str, out_dir: Path) -> Path:
    """The data folder to use: `generated` writes the demo data once beside the reports."""
    if data_dir != "generated":
        return Path(data_dir).resolve()
    from .data import synthetic
    target = out_dir / "data"
    if not (target / "GENERATED.txt").is_file():
        real = paths.SHARED_DATA  # only DeepWeeds' file names are borrowed from it
        synthetic.make_demo_data(target, seed=0, real_data_dir=real if real.is_dir() else None)
    return target.resolve()


def execute_run(run, profile, data_dir: Path, out_dir: Path) -> dict:
    """Execute one run; returns its index entry (status, wall time, headline, files)."""
    import papermill as pm
    nb_in = paths.NOTEBOOKS / f"{run.notebook}.ipynb"
    nb_out = out_dir / f"{run.name}.ipynb"
    results_dir = out_dir / "results"
    # The kernel works in the report folder and gets paths relative to it: no machine's absolute path
    # lands in a report.
    params = dict(profile=profile.name, run_name=run.run, task=run.name,
                  data_dir=os.path.relpath(data_dir, out_dir), results_dir=os.path.relpath(results_dir, out_dir),
                  params=run.params, cuts=profile.cuts)
    t0 = time.perf_counter()
    status, error = "ok", ""
    try:
        pm.execute_notebook(str(nb_in), str(nb_out), parameters=params, kernel_name="python3",
                            cwd=str(out_dir), progress_bar=False, log_output=False)
    except pm.PapermillExecutionError as e:
        status, error = "failed", f"{e.ename}: {e.evalue}"
    except Exception as e:  # a kernel that died, a notebook that could not start
        status, error = "failed", f"{type(e).__name__}: {e}"
    wall = time.perf_counter() - t0
    if nb_out.is_file():
        render_html(nb_out, out_dir / f"{run.name}.html", title(run.name, profile.name))
        if status == "ok" and has_error_output(nb_out):
            status, error = "failed", "a cell shows an error output"
    record = results_dir / f"{run.name}.json"
    headline = ""
    if status == "ok" and record.is_file():
        headline = json.loads(record.read_text()).get("headline", "")
    elif status != "ok" and record.is_file():
        record.unlink()  # a failed run leaves no result for the scorecard
        record.with_suffix(".npz").unlink(missing_ok=True)
    return {"name": run.name, "run": run.run, "seed": run.seed, "notebook": run.notebook, "status": status, "error": error,
            "wall_s": round(wall, 1), "headline": headline, "html": f"{run.name}.html"}


class DirtyTreeError(ValueError):
    """The code has uncommitted changes and the profile's verdicts must come from one commit."""


def check_clean(profile_name: str, allow_dirty: bool) -> None:
    """Refuse to render a profile (other than the demo) from a tree with uncommitted changes, unless
    allowed: then every record stores the diff (`git_diff`)."""
    commit = records.git_commit()
    if commit.endswith("-dirty") and not allow_dirty and profile_name != "demo":
        raise DirtyTreeError(f"profile {profile_name}: the code has uncommitted changes ({commit}); commit them "
                             "first, or pass --allow-dirty (each record then stores the diff)")


def run_profile(profile: str = "demo", only: str | None = None, data_dir=None, out_dir=None,
                allow_dirty: bool = False) -> int:
    """Validate the profile, execute its runs, render reports and the index; 0 when every run passed."""
    prof = load_profile(profile, data_dir=data_dir)  # every run validated before any notebook starts
    check_clean(prof.name, allow_dirty)
    out = Path(out_dir or paths.REPORTS / prof.name).resolve()
    out.mkdir(parents=True, exist_ok=True)
    runs = [r for r in prof.runs if not only or fnmatch.fnmatch(r.name, only) or only in r.name]
    data = prepare_data(prof.data_dir, out)
    print(f"{prof.title}: {len(runs)} runs -> {out}")
    old = json.loads((out / "index.json").read_text())["runs"] if only and (out / "index.json").is_file() else []
    entries = {e["name"]: e for e in old}
    t0 = time.perf_counter()
    for i, run in enumerate(runs, 1):
        print(f"[{i}/{len(runs)}] {run.name} ...", flush=True)
        e = execute_run(run, prof, data, out)
        entries[run.name] = e
        print(f"[{i}/{len(runs)}] {run.name}: {e['status']} in {e['wall_s']:.0f}s  {e['headline'] or e['error']}",
              flush=True)
        order = [r.name for r in prof.runs]  # tasks, in the profile's order
        write_index(out, prof, sorted(entries.values(), key=lambda x: order.index(x["name"])
                                      if x["name"] in order else 99))
    failed = [e for e in entries.values() if e["status"] != "ok" and e["name"] in {r.name for r in runs}]
    print(f"done in {(time.perf_counter() - t0) / 60:.1f} min: {len(runs) - len(failed)} ok, {len(failed)} failed"
          f"; index: {out / 'index.html'}")
    return 1 if failed else 0
