"""Projection: the task-hours a profile will take, from the per-epoch times a finished render measured.

Prints figures; not a test. `bench_seeds.py` measures fresh fractions of every arm (minutes of both cores);
this reads what the last render of the profile already measured on this machine, in the layout the runner
uses (one thread per task, two tasks at once), and projects the profile as it is now written, arm by arm:
the model is `studylib.study.projection` (the runner prints its total before a render starts), where each
figure's rule is written once.

    python bench/project.py [--profile cpu] [--from reports/cpu] [--px-cost 3.6] [--budget 32]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> None:
    from studylib.study import projection as P
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--from", dest="src", default=str(ROOT / "reports" / "cpu"), help="a finished render's folder")
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--px-cost", type=float, default=P.PX_COST, help="cost of a 96 px image over a 48 px one")
    ap.add_argument("--budget", type=float, default=32.0, help="task-hours allowed")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)

    import contextlib
    import io
    from studylib.study.profile import load_profile
    with contextlib.redirect_stdout(io.StringIO()):
        prof = load_profile(args.profile, data_dir=args.data_dir)
    estimate = P.Estimator([Path(args.src) / "results"], data_dir=args.data_dir, px_cost=args.px_cost)
    last = json.loads((Path(args.src) / "index.json").read_text())
    print(f"projection of params/{args.profile}.yaml from the per-epoch times of {args.src} "
          f"({len(estimate.seen)} arm x run measured; 96 px costs {args.px_cost:.1f}x a 48 px image)\n")
    print(f"{'task':40s} {'arm':30s} {'px':>4s} {'s/ep':>6s} {'epochs exp/cap':>14s} {'trials':>6s} {'exp h':>6s} {'max h':>6s}")
    total_exp = total_max = 0.0
    for task in prof.tasks:
        for r in (P.arm_estimates(task, estimate.seen, args.px_cost) or []) if task.seed == 0 else []:
            if r["s_per_epoch"] is None:
                print(f"{task.name:40s} {r['arm'][:30]:30s}: nothing measured to project from")
                continue
            print(f"{task.name:40s} {r['arm'][:30]:30s} {r['px']:4d} {r['s_per_epoch']:6.0f} {r['epochs']:6.0f}/"
                  f"{r['cap']:<7d} {r['trials']:6d} {r['expected_s'] / 3600:6.2f} {r['upper_s'] / 3600:6.2f}")
        e = estimate(task)
        if e is not None:
            total_exp += e[0]
            total_max += e[1]
    verdict = "within" if total_exp / 3600 <= args.budget else "OVER"
    print(f"\n{len(prof.tasks)} tasks: expected {total_exp / 3600:.1f} task-hours ({verdict} the budget of "
          f"{args.budget:g}), at most {total_max / 3600:.1f} if every arm ran to its cap; "
          f"{total_exp / 3600 / args.workers:.1f} h of wall time with {args.workers} tasks at once "
          f"(the last render: {last['total_wall_s'] / 3600:.1f} task-hours)")


if __name__ == "__main__":
    main()
