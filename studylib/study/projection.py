"""A render's projection before it runs: the task-hours of the tasks it has never timed.

A task that ran before is projected by its last wall time (`needs.projection`). One that never ran:
- notebooks 02 to 05 (arms trained for epochs) from the per-epoch times that finished records of the same
  profile measured on this machine (a committed render's, or this render's own finished seeds):
    seconds per epoch of an arm   the measured arm of the same run and arm id (its median epoch, scaled by the
                                  training images of the run's subset against the measured run's), else the
                                  nearest measured arm of the same scope on the same dataset, scaled by the
                                  pixels per image (`PX_COST`: Lite0 trains about 180 img/s against 50 per
                                  thread at 96 px) and, for the last two blocks, by the share of parameters
                                  between the last block's and everything's;
    epochs an arm runs            `upper`: its cap; `expected`: where the measured arm peaked (its best epoch,
                                  1.5x the measured cap when the cap cut it) plus the patience, within the new
                                  cap; an arm without early stopping runs its cap;
    learning-rate search          each grid's other rates trained once, at seed 0, for the same epochs;
- notebook 08 from Lite0's measured speeds (`curves.task_estimate`);
- anything else (the data audit, the scorecard) from the last wall time of its run in the same records, else
  `TASK_OVERHEAD_S`.
`bench/project.py` prints the per-arm table behind these figures.
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

from .budget import cap_bound, input_size
from .claims import arm_id
from .experiments import as_dict, resolve, train_config

__all__ = ["PX_COST", "TASK_OVERHEAD_S", "TRAINED", "Estimator", "arm_estimates", "measured"]

TASK_OVERHEAD_S = 60     # kernel start, data, testing and the report of one task
PX_COST = 180 / 50       # a 96 px image over a 48 px one, Lite0 training per thread (measured)
TRAINED = ("02_features_svm_vs_finetune", "03_cnn_from_scratch", "04_frozen_vs_full", "05_partial_vs_full")


def _px(params: dict) -> int:
    """The side of the images a run's network saw (`budget.input_size`, the scorecard's regime)."""
    return input_size(params) or 224


def measured(results_dirs) -> tuple[dict, dict]:
    """From the records of finished renders: ({(run, arm id): {s_per_epoch, max_train, best, cap, cut, px,
    full}}, {run: [wall seconds]}). An arm is `cut` where its cap stopped it while validation still rose."""
    arms, walls = {}, {}
    for folder in results_dirs:
        for path in sorted(Path(folder).glob("*.json")):
            try:
                rec = json.loads(path.read_text())
            except (OSError, ValueError):  # a record being written, or not a record: nothing to measure
                continue
            if rec.get("wall_time_s"):
                walls.setdefault(rec.get("run_name"), []).append(rec["wall_time_s"])
            if rec.get("notebook") not in TRAINED:
                continue
            for label, m in (rec.get("metrics") or {}).items():
                secs = [h["seconds"] for h in m.get("history") or [] if h.get("seconds")] if isinstance(m, dict) else []
                if not secs:
                    continue
                key = (rec["run_name"], arm_id(rec["notebook"], label, rec["params"]))
                # `cut`: the scorecard's cap-bound flag, read as if the paper named no epochs (our cap alone)
                arms.setdefault(key, []).append(dict(
                    s=statistics.median(secs), max_train=rec["params"].get("max_train"),
                    best=m.get("best_epoch") or len(secs), cap=(m.get("config") or {}).get("epochs"),
                    cut=bool(cap_bound(m, None, "best")), px=_px(rec["params"]), full=m.get("frozen_params", 0) == 0))
    return ({k: dict(s_per_epoch=statistics.median(v["s"] for v in vs), max_train=vs[0]["max_train"],
                     best=statistics.median(v["best"] for v in vs), cap=vs[0]["cap"], cut=any(v["cut"] for v in vs),
                     px=vs[0]["px"], full=vs[0]["full"]) for k, vs in arms.items()}, walls)


def _nearest(seen: dict, task, arm, p) -> dict | None:
    """A measured arm to project an unmeasured one from: the same notebook's runs on the same dataset first
    (the closest trainable share), then any run of the notebook."""
    same = [(k, v) for k, v in seen.items() if k[0].startswith(task.notebook)
            and (getattr(p, "dataset", "") in k[0] or not getattr(p, "dataset", ""))]
    full = [v for _, v in same if v["full"]]
    part = [v for _, v in same if not v["full"]]
    if arm.scope == "all" or not part:
        return full[0] if full else (same[0][1] if same else None)
    if arm.scope == "freeze_to" and (arm.freeze_to or -1) < -1 and full:
        # more stages trained than the measured last block: a cost between it and training everything, by the
        # share of parameters each trains
        from .build import architecture_info
        share = lambda k: (architecture_info(p.backbone, 7, scope="freeze_to", freeze_to=k)["trainable_params"]  # noqa: E731
                           / architecture_info(p.backbone, 7, scope="all")["trainable_params"])
        w = (share(arm.freeze_to) - share(-1)) / (1 - share(-1))
        a, b = part[0], full[0]
        return {**a, "s_per_epoch": a["s_per_epoch"] + w * (b["s_per_epoch"] - a["s_per_epoch"])}
    return part[0]


def arm_estimates(task, seen: dict, px_cost: float = PX_COST) -> list[dict] | None:
    """One row per arm of a training task: {arm, px, s_per_epoch, epochs, cap, trials, expected_s, upper_s},
    or an arm's row with `s_per_epoch` None where nothing measured is near it. None for a task that trains no
    arms."""
    p = resolve(task.notebook, task.params)
    arms = getattr(p, "arms", None)
    if not arms or task.notebook not in TRAINED:
        return None
    rows = []
    for arm in arms:
        cfg = train_config(p, arm)
        px = _px(as_dict(p))
        src = seen.get((task.run, arm.id)) or _nearest(seen, task, arm, p)
        if src is None:
            rows.append(dict(arm=arm.name, px=px, s_per_epoch=None))
            continue
        # an epoch's time scales with its training images (the run's subset against the measured run's) and
        # with the pixels per image
        mt = getattr(p, "max_train", None)
        ratio = mt / src["max_train"] if mt and src["max_train"] else 1.0
        s_ep = src["s_per_epoch"] * ratio * (px_cost if px >= 96 > src["px"] else 1)
        cap, patience = cfg.epochs, cfg.early_stopping_patience
        peak = src["best"] if not src["cut"] else max(src["best"], 1.5 * (src["cap"] or cap))
        epochs = min(cap, peak + patience) if patience else cap
        trials = max(len(arm.lr_grid or ()) - 1, 0) if task.seed == 0 else 0
        rows.append(dict(arm=arm.name, px=px, s_per_epoch=s_ep, epochs=epochs, cap=cap, trials=trials,
                         expected_s=(1 + trials) * epochs * s_ep, upper_s=(1 + trials) * cap * s_ep))
    return rows


class Estimator:
    """(expected, upper) seconds of a task never timed, from finished records (`results_dirs`) and, for
    notebook 08, from measured speeds and the data's split sizes (`data_dir`); None where nothing is near it."""

    def __init__(self, results_dirs, data_dir=None, px_cost: float = PX_COST):
        self.seen, self.walls = measured([d for d in results_dirs if Path(d).is_dir()])
        self.data_dir, self.px_cost = data_dir, px_cost
        self.counts, self.searched = {}, set()

    def __call__(self, task) -> tuple[float, float] | None:
        try:
            return self._estimate(task)
        except Exception:  # noqa: BLE001 - a figure it cannot project (a data folder it cannot count, a record
            return None    # of another shape) is counted as never timed; a projection never stops a render

    def _estimate(self, task) -> tuple[float, float] | None:
        if task.notebook == "08_curves":
            from .curves import task_estimate
            row = task_estimate(task, self.counts, self.searched, self.data_dir)
            return row["expected h"] * 3600, row["upper h"] * 3600
        rows = arm_estimates(task, self.seen, self.px_cost)
        if rows is None:
            walls = self.walls.get(task.run)
            return (statistics.median(walls),) * 2 if walls else (TASK_OVERHEAD_S, TASK_OVERHEAD_S)
        if any(r["s_per_epoch"] is None for r in rows):
            return None
        return (TASK_OVERHEAD_S + sum(r["expected_s"] for r in rows),
                TASK_OVERHEAD_S + sum(r["upper_s"] for r in rows))
