"""Re-check a budget-flagged curve point: train it again with a higher epoch cap and print what changes.

Prints figures; not a test, and writes no record: a rendered report's numbers stay those of its own commit.
docs/METHOD.md (Budget flags) asks what a budget could have decided; a point that chose its last epoch (its
validation still rising at the cap) is such a place. This trains that one point (a notebook-08 scope at one
rung and seed) at the rate its committed record used, with the cap raised, and prints the recorded fit beside
the longer one: the best epoch, validation and test macro F1 and accuracy. Training is deterministic
(TrainConfig `deterministic`), so the first epochs of the longer fit should repeat the recorded ones (printed:
the largest difference in validation macro F1 over the recorded epochs).

    python bench/extend_point.py --run 08_curves-plants-points --scope last_block --seed 1 --n 285 --epochs 60
                                 [--profile curves] [--records reports/curves/results] [--threads 1]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def recorded_point(records: Path, dataset: str, scope: str, seed: int, n: int) -> dict:
    """The point's record entry, from the render's records (`report.curves.points_from_records`)."""
    from studylib.report.curves import points_from_records
    mine = [q for q in points_from_records(records) if (q["dataset"], q["arm"], q["seed"]) == (dataset, scope, seed)]
    if not mine:
        raise SystemExit(f"{records}: no {dataset} point of scope {scope} at seed {seed}; --records names a "
                         f"render's results folder")
    hit = [q for q in mine if q["n"] == n]
    if not hit:
        sizes = ", ".join(f"{m:,}" for m in sorted(q["n"] for q in mine))
        raise SystemExit(f"{records}: no point at {n:,} images (it has {sizes}); pass --n one of those")
    return hit[0]["entry"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="curves")
    ap.add_argument("--run", required=True, help="the profile's point run, e.g. 08_curves-plants-points")
    ap.add_argument("--scope", required=True, help="probe | last_block | last_two | everything | random_init")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--n", type=int, required=True, help="the rung: training images")
    ap.add_argument("--epochs", type=int, required=True, help="the raised epoch cap")
    ap.add_argument("--records", type=Path, default=ROOT / "reports" / "curves" / "results")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    import torch
    from studylib.study import curves
    from studylib.study.experiments import resolve
    from studylib.study.profile import load_profile

    torch.set_num_threads(args.threads)
    prof = load_profile(args.profile)
    task = next((t for t in prof.tasks if t.run == args.run and t.grid.get("scope") == args.scope), None)
    if task is None:
        raise SystemExit(f"params/{args.profile}.yaml: no run {args.run} with scope {args.scope}")
    p = resolve(task.notebook, task.params, f"run {args.run} of profile {args.profile}")
    old = recorded_point(args.records, p.dataset, args.scope, args.seed, args.n)
    splits = curves.curve_splits(p, prof.data_dir)  # load_profile resolved it from the repository root
    rungs = curves.rungs_of(p, splits)
    if args.n not in rungs:
        raise SystemExit(f"--n {args.n}: the ladder's rungs are {sorted(rungs)}")
    arm = next(a for a in curves.task_arms(p) if a.id == args.scope)
    longer = dataclasses.replace(arm, train={**arm.train, "epochs": args.epochs})
    lr = old["config"]["lr"]
    print(f"{curves.point_label(arm.name, args.n, args.seed)}: recorded cap {old['config']['epochs']}, rate {lr}; "
          f"training again with cap {args.epochs}")
    new = curves.train_point(p, longer, args.n, args.seed, curves.rung_splits(splits, rungs[args.n], p.epoch_images),
                             memo_dir=None, selection={"lr": lr})["entry"]

    def line(e: dict) -> str:
        val = max(h["val_macro_f1"] for h in e["history"])
        stop = "stopped early" if e["stopped_early"] else "ran to its cap"
        return (f"best epoch {e['best_epoch']} of {e['final_epoch']} ({stop}); validation macro F1 {val:.3f}; "
                f"test macro F1 {e['test']['f1_macro']:.3f}, accuracy {e['test']['accuracy']:.3f}")

    same = min(len(old["history"]), len(new["history"]))
    drift = max(abs(a["val_macro_f1"] - b["val_macro_f1"]) for a, b in zip(old["history"][:same], new["history"]))
    print(f"recorded (cap {old['config']['epochs']}): {line(old)}")
    print(f"longer   (cap {args.epochs}): {line(new)}")
    print(f"the first {same} epochs differ in validation macro F1 by at most {drift:.4f}")


if __name__ == "__main__":
    main()
