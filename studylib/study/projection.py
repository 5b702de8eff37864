"""A render's projection before it runs: the task-hours of its tasks, in one place.

The runner prints `summary` before a render starts; `bench/project.py` prints the per-arm table behind it
(`arm_estimates`) and `bench/project_curves.py` notebook 08's per-task table (`curves_table`). The measured
speeds and overheads are `study.speeds`. A task that ran before is projected by its last wall time. One
that never ran (`Estimator`):
- notebooks 02 to 05 (arms trained for epochs) from the per-epoch times that finished records of the same
  profile measured on this machine (a committed render's, or this render's own finished seeds):
    seconds per epoch of an arm   the measured arm of the same run and arm id (its median epoch, scaled by the
                                  training images of the run's subset against the measured run's), else the
                                  nearest measured arm of the same scope on the same dataset, scaled by the
                                  pixels per image (`PX_COST`: Lite0's measured training speed per thread
                                  at 48 px over 96 px) and, for the last two blocks, by the share of
                                  parameters between the last block's and everything's;
    epochs an arm runs            `upper`: its cap; `expected`: where the measured arm peaked (its best epoch,
                                  1.5x the measured cap when the cap cut it) plus the patience, within the new
                                  cap; an arm without early stopping runs its cap;
    learning-rate search          each grid's other rates trained once, at seed 0, for the same epochs;
- notebook 08 from Lite0's measured speeds per thread (`task_estimate`), each scope's cost per epoch against
  training everything, and each dataset's split sizes: each point once (the task that owns it: its scope and
  seed); each rate search's other rates once (at seed 0, by the scope's seed-0 task, as the runner orders
  them: `runner.execute._longest_first`); a curves task only its overhead (it reads the points);
- anything else (the data audit, the scorecard) from the last wall time of its run in the same records, else
  `TASK_OVERHEAD_S`.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import statistics
from pathlib import Path

from .build import architecture_info
from .budget import cap_bound, input_size
from .claims import record_arms
from .curves import epoch_set_indices, ladder_sizes, scope_of, task_arms
from .experiments import Arm, CurvesParams, as_dict, resolve, train_config
from .profile import load_profile
from .search import SEARCH_SEED
from .speeds import EVAL_SPEEDUP, POINT_OVERHEAD_S, PX_COST, SCOPE_COST, TASK_OVERHEAD_S, images_per_s

__all__ = ["PX_COST", "TASK_OVERHEAD_S", "TRAINED", "Estimator", "arm_estimates", "checkpoint_bytes",
           "curves_table", "measured", "point_seconds", "split_counts", "summary", "task_estimate"]

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
            for aid, m in record_arms(rec, rec.get("metrics") or {}).items():
                secs = [h["seconds"] for h in m.get("history") or [] if h.get("seconds")] if isinstance(m, dict) else []
                if not secs:
                    continue
                key = (rec["run_name"], aid)
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


# --- notebook 08: from the measured speeds -----------------------------------------------------------------

def split_counts(dataset: str, data_dir) -> dict[str, int]:
    """{train, val, test: images} of a dataset without decoding it (FER2013: the csv's Usage column; an image
    folder: its recorded split)."""
    from ..data import fer2013, imagefolder
    from ..data.splits import FOLDERS
    if dataset == "fer2013":
        import pandas as pd
        usage = pd.read_csv(fer2013.find_csv(data_dir), usecols=["Usage"])["Usage"].value_counts()
        return {k: int(usage.get(v, 0)) for k, v in fer2013.SPLIT_ALIASES.items()}
    if dataset in FOLDERS:
        root = Path(data_dir).joinpath(*FOLDERS[dataset])
        table, _ = imagefolder.split_table(root, root.name, record=False)
        return {k: int((table["split"] == k).sum()) for k in imagefolder.SPLITS}
    raise ValueError(f"no split counts for {dataset!r} without loading it")


def _epochs(cfg_epochs: int, patience: int | None, expected: bool, start: int = 0) -> float:
    """Epochs a fit runs: its cap (upper), or (expected) half the cap plus the patience, at least its warm-up
    (`early_stopping_start`), within the cap: the cpu render's arms peaked between a third and all of their
    caps."""
    if not expected or not patience:
        return float(cfg_epochs)
    return float(min(cfg_epochs, max(math.ceil(cfg_epochs / 2) + patience, start)))


def point_seconds(p: CurvesParams, arm: Arm, n: int, counts: dict, expected: bool = True) -> float:
    """Projected seconds of one point (fit and test) on one thread."""
    cfg = train_config(p, arm)
    side = p.image_size or (48 if p.dataset in ("fer2013", "ferplus") else p.load_size)
    speed = images_per_s(side)
    s = scope_of(p, arm)
    cost = SCOPE_COST.get((s["scope"], s["freeze_to"]), 1.0)
    val = min(counts["val"], p.max_val or counts["val"])
    if cost == 0:  # the probe: train and val features once, then a linear layer on stored features each epoch
        once, per_epoch = (n + val) / (EVAL_SPEEDUP * speed), 0.0
    else:
        once, per_epoch = 0.0, len(epoch_set_indices(n, p.epoch_images)) * cost / speed + val / (EVAL_SPEEDUP * speed)
    test = 2 * counts["test"] / (EVAL_SPEEDUP * speed)
    return once + _epochs(cfg.epochs, cfg.early_stopping_patience, expected, cfg.early_stopping_start) * per_epoch + test + POINT_OVERHEAD_S


def task_estimate(task, counts: dict, searched: set, data_dir=None) -> dict:
    """One notebook-08 task's projected seconds on one thread: {task, dataset, rungs, points, search trials,
    expected h, upper h}. Each rate search is recorded in `searched` (shared by a profile's tasks, so that a
    search is counted once). `counts` ({dataset: {train, val, test}}) is filled from `data_dir`
    (`split_counts`) where it lacks the task's dataset."""
    p = resolve(task.notebook, task.params)
    if p.dataset not in counts:
        counts[p.dataset] = split_counts(p.dataset, data_dir)
    c = counts[p.dataset]
    sizes = ladder_sizes(p.ladder, c["train"])
    exp = up = float(TASK_OVERHEAD_S)
    n_points = n_trials = 0
    if not p.pool:
        for arm in task_arms(p):
            for n in sizes:
                exp += point_seconds(p, arm, n, c, True)
                up += point_seconds(p, arm, n, c, False)
                n_points += 1
            for m in {min(sizes), max(sizes)}:
                key = (p.dataset, arm.id, m)
                if arm.lr_grid and key not in searched and task.seed == SEARCH_SEED:
                    searched.add(key)
                    extra = len(arm.lr_grid) - 1  # the chosen rate's trial is seed 0's point
                    exp += extra * point_seconds(p, arm, m, c, True)
                    # upper: every rate beyond the grid's ends tried too (`extend_grid`, a rate at an edge)
                    up += (extra + p.extend_grid) * point_seconds(p, arm, m, c, False)
                    n_trials += extra
    return {"task": task.name, "dataset": p.dataset, "rungs": ", ".join(f"{n:,}" for n in sizes),
            "points": n_points, "search trials": n_trials, "expected h": exp / 3600, "upper h": up / 3600}


def curves_table(profile: str = "curves", data_dir=None, counts: dict | None = None) -> "object":
    """A profile's notebook-08 tasks, one `task_estimate` row each (a DataFrame: task, dataset, rungs,
    points, search trials, expected h, upper h). `counts`: {dataset: {train, val, test}} (default: read from
    the data folder without decoding, `split_counts`)."""
    import pandas as pd
    with contextlib.redirect_stdout(io.StringIO()):  # loading a profile reports its cuts: not this table's
        prof = load_profile(profile, data_dir=data_dir)
    counts = dict(counts or {})
    searched: set = set()
    return pd.DataFrame([task_estimate(task, counts, searched, prof.data_dir)
                         for task in prof.tasks if task.notebook == "08_curves"])


# --- a render's projection: every task -----------------------------------------------------------------------

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


def checkpoint_bytes(task) -> int:
    """Disk a training task holds at most in checkpoints while it runs: its arm's last and best epoch,
    each the weights and Adam's two moments in float32 (an lr-search trial keeps the same beside its
    memo). 0 for a task that trains nothing."""
    p = resolve(task.notebook, task.params)
    if not getattr(p, "arms", None):
        return 0
    backbone = getattr(p, "backbone", "small_cnn")
    return 2 * 3 * 4 * architecture_info(backbone)["total_params"]


def summary(tasks: list, last_wall_s: dict, workers: int, estimate=None) -> str:
    """The render's projection, printed before it starts: task-hours from each task's last wall time
    (where it ran before), and for those never timed what `estimate(task)` projects ((expected, upper)
    seconds, or None: `Estimator`), the wall time with `workers` tasks at once, and the temporary disk its
    checkpoints need at once (the largest `workers` tasks' checkpoints; each is removed when its task ends)."""
    workers = max(1, workers)
    timed = [last_wall_s[t.name] for t in tasks if last_wall_s.get(t.name)]
    fresh = [t for t in tasks if not last_wall_s.get(t.name)]
    projected = [e for e in map(estimate, fresh) if e is not None] if estimate else []
    untimed = len(fresh) - len(projected)
    need = sorted((checkpoint_bytes(t) for t in tasks), reverse=True)[:workers]
    hours = sum(timed) / 3600
    text = f"projection: {len(tasks)} task(s) to run; {len(timed)} ran before, {hours:.1f} task-hours at their last wall times"
    if projected:
        exp, up = (sum(e[i] for e in projected) / 3600 for i in (0, 1))
        text += (f"; {len(projected)} projected from measured speeds, {exp:.1f} task-hours expected ({up:.1f} if "
                 f"every arm ran to its cap); in all about {(hours + exp) / workers:.1f} h of wall time with "
                 f"{workers} at once")
    if untimed:
        text += f"; {untimed} never timed and nothing measured near them (see README: bench figures)"
    return text + (f"; temporary space for checkpoints at most {sum(need) / 1e6:,.0f} MB "
                   f"({workers} at once, removed as each task ends)")
