"""Projection: the task-hours of a notebook-08 profile (params/curves.yaml) before it renders.

Prints figures; not a test. The model is `studylib.study.projection` (`curves_table`, `task_estimate`): from
Lite0's measured training speed per thread (`study.speeds`, printed below the table), each scope's cost per
epoch against training everything, and each dataset's split sizes (read without decoding: the FER2013 csv's
Usage column, an image folder's recorded split): every point once, each rate search's other rates once at
seed 0, a curves task its overhead.
`expected`: each fit stops at half its epoch cap plus its patience, no rate added beyond a grid; `upper`:
every fit to its cap, every search with its `extend_grid` rates added.

With `--against` a render folder (its index.json), the finished tasks' hours stand beside their projection,
and the unfinished ones are projected again at the ratio measured so far: the estimate of what is left of
a render under way. A task resumed across sittings records only its last sitting's hours; the hours of
training epochs each task's record holds (every sitting) are printed beside them.

    python bench/project_curves.py [--profile curves] [--data-dir ../shared/data] [--budget 12]
                                   [--against reports/curves]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def against(table, folder: Path, workers: int) -> None:
    """Print each finished task's measured hours beside its projection, and what is left at their ratio."""
    index = folder / "index.json"
    if not index.exists():
        raise SystemExit(f"{index}: no such file; --against takes a render folder (one `studylib run` wrote)")
    runs = {r["name"]: r["wall_s"] / 3600 for r in json.loads(index.read_text())["runs"] if r.get("status") == "ok"}
    table = table.assign(**{"spent h": table["task"].map(runs)})
    done = table[table["spent h"].notna()]
    if done.empty:
        print(f"\n{folder}: no finished task yet")
        return
    ratio = done["spent h"].sum() / done["expected h"].sum()
    print(f"\nFinished in {folder}:")
    per = task_fit_hours(folder)
    fits = {task: h[0] + h[1] for task, h in per.items()}
    shown = done[["task", "expected h", "spent h"]].assign(ratio=done["spent h"] / done["expected h"])
    if fits:  # the index counts a resumed task's last sitting; its record's epochs count every sitting
        shown = shown.assign(**{"fit h": shown["task"].map(fits)})
        shown = shown.assign(**{"fit ratio": shown["fit h"] / shown["expected h"]})
    print(shown.round(2).to_string(index=False))
    left = table[table["spent h"].isna()]
    rest = left["expected h"].sum() * ratio
    print(f"\n{len(done)} of {len(table)} tasks finished: {done['spent h'].sum():.1f} task-hours spent against "
          f"{done['expected h'].sum():.1f} projected (x{ratio:.2f}). The {len(left)} left, at that ratio: "
          f"{rest:.1f} task-hours, about {rest / workers:.1f} h of wall time with {workers} tasks at once.")
    search, points, trials = fit_hours(folder, per)
    if trials or points:
        print(f"Training epochs recorded (every sitting, epochs only): {search + points:.1f} h = {trials} search "
              f"trials {search:.1f} h + the points' own fits {points:.1f} h.")


def task_fit_hours(folder: Path) -> dict:
    """{point task: (search hours, point hours, search trials)}: the training epochs its record holds
    (`<folder>/results`): each point's epochs, and for a seed-0 point at a searched rung (its search's chosen
    fit, tested, not trained again) its search's trials instead, so no epoch counts twice. Epochs only (no data
    loading, feature caching or testing), but every sitting of a task resumed across sittings."""
    from studylib.report.records import iter_records
    out = {}
    for _, rec in iter_records(folder / "results", "*.json"):
        if rec.get("notebook") != "08_curves" or not rec["params"].get("scope"):
            continue  # a curves task's record pools the point tasks' points
        search = points = trials = 0
        for entry in rec["metrics"]["points"].values():
            c = entry["curve"]
            if c["seed"] == 0 and c["rate_from"] == c["n"]:
                tried = entry["selection"]["trials"]
                search, trials = search + sum(t["seconds"] for t in tried), trials + len(tried)
            else:
                points += sum(h["seconds"] for h in entry["history"])
        out[rec["task"]] = (search / 3600, points / 3600, trials)
    return out


def fit_hours(folder: Path, per: dict | None = None) -> tuple[float, float, int]:
    """(search hours, point hours, search trials) of the whole render: `task_fit_hours` (or `per`, its
    result already read), summed."""
    per = (task_fit_hours(folder) if per is None else per).values()
    return sum(t[0] for t in per), sum(t[1] for t in per), sum(t[2] for t in per)


def report(table, budget: float, workers: int) -> None:
    """Print the per-task table and its total against the budget, with the speeds it was projected from."""
    import pandas as pd
    from studylib.study.speeds import EVAL_SPEEDUP, SCOPE_COST, TRAIN_IMAGES_PER_S
    total_exp, total_up = table["expected h"].sum(), table["upper h"].sum()
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(table.round(2).to_string(index=False))
    verdict = "within" if total_exp <= budget else "OVER"
    speeds = ", ".join(f"{v:g} img/s at {k} px" for k, v in TRAIN_IMAGES_PER_S.items())
    print(f"\n{len(table)} tasks: expected {total_exp:.1f} task-hours ({verdict} the budget of {budget:g}), at most "
          f"{total_up:.1f} if every fit ran to its epoch cap and every search grew its grid; "
          f"{total_exp / workers:.1f} h of wall time with {workers} tasks at once. Speeds: Lite0 {speeds}"
          f" per thread, evaluation {EVAL_SPEEDUP:g}x; relative epoch costs {SCOPE_COST}.")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="curves")
    ap.add_argument("--data-dir", default=None, help="default: the profile's data_dir")
    ap.add_argument("--budget", type=float, default=12.0, help="task-hours allowed")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--against", type=Path, default=None,
                    help="a render folder: its finished tasks against the projection, and what is left")
    args = ap.parse_args(argv)
    from studylib.study.projection import curves_table
    table = curves_table(args.profile, data_dir=args.data_dir)
    report(table, args.budget, args.workers)
    if args.against is not None:
        against(table, args.against, args.workers)


if __name__ == "__main__":
    main()
