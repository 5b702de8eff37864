"""Projection: the task-hours a profile will take, from the per-epoch times a finished render measured.

Prints figures; not a test. `bench_seeds.py` measures fresh fractions of every arm (minutes of both cores);
this reads what the last render of the profile already measured on this machine, in the layout the runner
uses (one thread per task, two tasks at once), and projects the profile as it is now written:

  seconds per epoch of an arm   from the last render's record of the same run and arm id (its median epoch,
                                scaled by the training images of the run's subset), else from the nearest measured arm of the
                                same scope on the same dataset, scaled by the pixels per image (`--px-cost`:
                                the cost of a 96 px image over a 48 px one, measured: about 180 img/s against
                                50 per thread for Lite0) and by the trainable share (full vs partial);
  epochs an arm runs            `upper`: every epoch to its cap; `expected`: where the last render's arm
                                peaked (its best epoch, the cap's 1.5x when it was cut by its cap) plus the
                                patience, within the new cap; a run without early stopping runs its cap;
  learning-rate search          each grid's other rates trained once, at seed 0, for the same epochs;
  per task                      `TASK_OVERHEAD_S` for kernel start, data, testing and HTML.

    python bench/project.py [--profile cpu] [--from reports/cpu] [--px-cost 3.6] [--budget 32]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TASK_OVERHEAD_S = 60


def measured(results: Path) -> dict:
    """{(run, arm id): {"s_per_epoch", "max_train", "best", "cap", "cut", "px", "full"}} from a render's records."""
    from studylib.study.claims import arm_id
    out = {}
    for path in sorted(results.glob("*.json")):
        rec = json.loads(path.read_text())
        if rec.get("notebook") in (None, "01_data_audit", "06_scorecard", "07_sweep"):
            continue
        for label, m in (rec.get("metrics") or {}).items():
            if not isinstance(m, dict) or not m.get("history"):
                continue
            secs = [h["seconds"] for h in m["history"] if h.get("seconds")]
            cfg = m.get("config") or {}
            key = (rec["run_name"], arm_id(rec["notebook"], label, rec["params"]))
            cap, best = cfg.get("epochs"), m.get("best_epoch")
            curve = [h.get(cfg.get("monitor") or "val_acc") for h in m["history"]]
            cut = bool(cap and not m.get("stopped_early") and (best == cap or (len(curve) >= 3 and
                                                                           curve[-1] > curve[-2] > curve[-3])))
            out.setdefault(key, []).append(dict(s=statistics.median(secs), max_train=rec["params"].get("max_train"),
                                                best=best, cap=cap,
                                                cut=cut, px=_px(rec["params"]),
                                                full=m.get("frozen_params", 0) == 0))
    return {k: dict(s_per_epoch=statistics.median(v["s"] for v in vs), max_train=vs[0]["max_train"],
                    best=statistics.median(v["best"] for v in vs), cap=vs[0]["cap"], cut=any(v["cut"] for v in vs),
                    px=vs[0]["px"], full=vs[0]["full"]) for k, vs in out.items()}


def _px(params: dict) -> int:
    """The side of the images a run's network saw (plants are decoded at load_size; FER is 48 px)."""
    if params.get("image_size"):
        return int(params["image_size"])
    return int(params.get("load_size") or 224) if params.get("dataset") in ("plants", "deepweeds") else 48


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--from", dest="src", default=str(ROOT / "reports" / "cpu"), help="a finished render's folder")
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--px-cost", type=float, default=180 / 50, help="cost of a 96 px image over a 48 px one")
    ap.add_argument("--budget", type=float, default=32.0, help="task-hours allowed")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)

    import io, contextlib
    from studylib.study import experiments, profile as P
    with contextlib.redirect_stdout(io.StringIO()):
        prof = P.load_profile(args.profile, data_dir=args.data_dir)
    seen = measured(Path(args.src) / "results")
    last = json.loads((Path(args.src) / "index.json").read_text())
    wall_of = {}
    for e in last["runs"]:
        wall_of.setdefault(e["run"], []).append(e["wall_s"])
    print(f"projection of params/{args.profile}.yaml from the per-epoch times of {args.src} "
          f"({len(seen)} arm x run measured; 96 px costs {args.px_cost:.1f}x a 48 px image)\n")
    print(f"{'task':40s} {'arm':30s} {'px':>4s} {'s/ep':>6s} {'epochs exp/cap':>14s} {'trials':>6s} {'exp h':>6s} {'max h':>6s}")
    total_exp = total_max = 0.0
    for task in prof.tasks:
        p = experiments.resolve(task.notebook, task.params)
        arms = getattr(p, "arms", None)
        if not arms or task.notebook not in ("02_features_svm_vs_finetune", "03_cnn_from_scratch", "04_frozen_vs_full",
                                             "05_partial_vs_full"):
            t = statistics.median(wall_of.get(task.run, [60]))
            total_exp += t
            total_max += t
            continue
        task_exp = task_max = TASK_OVERHEAD_S
        for arm in arms:
            cfg = experiments.train_config(p, arm)
            px = _px(experiments.as_dict(p))
            key = (task.run, arm.id)
            src = seen.get(key) or _nearest(seen, task, arm, p)
            if src is None:
                print(f"{task.name:40s} {arm.name[:30]:30s}: nothing measured to project from")
                continue
            # an epoch's time scales with its training images (a run's own subset against the measured run's)
            # and with the pixels per image
            ratio = (p.max_train / src["max_train"]) if getattr(p, "max_train", None) and src["max_train"] else 1.0
            s_ep = src["s_per_epoch"] * ratio * (args.px_cost if px > src["px"] and px >= 96 and src["px"] < 96 else 1)
            cap, patience = cfg.epochs, cfg.early_stopping_patience
            if patience:
                peak = src["best"] if not src["cut"] else max(src["best"], 1.5 * src["cap"])
                exp_epochs = min(cap, peak + patience)
            else:
                exp_epochs = cap
            trials = max(len(arm.lr_grid or ()) - 1, 0) if task.seed == 0 else 0
            e, mx = (1 + trials) * exp_epochs * s_ep, (1 + trials) * cap * s_ep
            task_exp += e
            task_max += mx
            if task.seed == 0:
                print(f"{task.name:40s} {arm.name[:30]:30s} {px:4d} {s_ep:6.0f} {exp_epochs:6.0f}/{cap:<7d} {trials:6d} "
                      f"{e / 3600:6.2f} {mx / 3600:6.2f}")
        total_exp += task_exp
        total_max += task_max
    verdict = "within" if total_exp / 3600 <= args.budget else "OVER"
    print(f"\n{len(prof.tasks)} tasks: expected {total_exp / 3600:.1f} task-hours ({verdict} the budget of "
          f"{args.budget:g}), at most {total_max / 3600:.1f} if every arm ran to its cap; "
          f"{total_exp / 3600 / args.workers:.1f} h of wall time with {args.workers} tasks at once "
          f"(the last render: {last['total_wall_s'] / 3600:.1f} task-hours)")


def _nearest(seen: dict, task, arm, p) -> dict | None:
    """A measured arm to project an unmeasured one from: same notebook's runs on the same dataset first (the
    closest trainable share), then any run of the notebook."""
    same = [(k, v) for k, v in seen.items() if k[0].startswith(task.notebook)
            and (getattr(p, "dataset", "") in k[0] or not getattr(p, "dataset", ""))]
    full = [v for _, v in same if v["full"]]
    part = [v for _, v in same if not v["full"]]
    if arm.scope == "all" or not part:
        return full[0] if full else (same[0][1] if same else None)
    if arm.scope == "freeze_to" and (arm.freeze_to or -1) < -1 and full:
        # more stages trained than the measured last block: cost between it and full fine-tuning, by the
        # share of parameters each trains
        from studylib.study.build import architecture_info
        share = lambda k: (architecture_info(p.backbone, 7, scope="freeze_to", freeze_to=k)["trainable_params"]
                           / architecture_info(p.backbone, 7, scope="all")["trainable_params"])
        w = (share(arm.freeze_to) - share(-1)) / (1 - share(-1))
        a, b = part[0], full[0]
        return {**a, "s_per_epoch": a["s_per_epoch"] + w * (b["s_per_epoch"] - a["s_per_epoch"])}
    return part[0]


if __name__ == "__main__":
    main()
