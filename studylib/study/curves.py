"""Notebook 08, beyond the papers (claim-free): test scores against training-set size, one curve per scope.

Papers 003 and 004 each test one point of one question: how much of a pretrained network to train, and
whether pretraining pays. Here one dataset's training split is cut into a ladder of sizes and each training
scope (a linear probe on frozen features, the last block, the last two blocks, everything, everything from
random init: the run's `arms`) is trained at every rung and seed.

- The ladder (`ladder_sizes`, `nested_rungs`): each rung a stratified subset of the next larger one (the
  largest of the whole split), drawn with the data's seed (`data.splits.subsample`), so the smaller sets are
  nested in the larger and every seed and scope sees the same images. A rung smaller than `epoch_images`
  repeats its images within an epoch (`epoch_set`), so that an epoch, the patience and validation's
  frequency mean about the same amount of training at every rung.
- The rates (`rate_rung`, `choose_rate`): each scope's rate is chosen on seed 0's validation
  (`study.search.choose_lr`: trials memoised, so any task can run alone) at the smallest and at the largest
  rung; the other rungs use the nearer one on the ladder's log scale. A rate chosen at an end of its grid
  gets the next rate beyond it tried (`extend_grid` times at most), so that no point inherits a rate at
  its grid's edge: the best rate moves with the training-set size.
- The points (`train_point`): one scope at one rung and one seed, fitted through `build.fit_arm`, tested
  once per protocol, memoised (its record entry and per-image test predictions, under a file lock, named
  by a hash of everything it depends on) with its epochs checkpointed beside the memo. So a point is
  trained once whichever task asks first, an interrupted point resumes at its last epoch, and the curves
  task (`pool`) reads what the seeds' tasks trained, or trains what none has yet.
- The probe's features: scope 'head' with frozen BatchNorm in eval and no augmentation is a fixed prefix,
  so `train.fit` stores its outputs once per rung in the shared prefix cache (`train.prefix_cache`):
  every seed and the rate search read them, and the probe costs seconds.

Tasks (params/curves.yaml): one task per (dataset, scope, seed), every rung in it. Not one per (dataset,
seed): a seed's every scope and rung is hours on one core. Not one per (dataset, rung, seed): the seed-0
task of a middle rung would wait on the largest rung's rate search, a core idle. A scope's seed-0 task
runs its rate searches itself (the runner starts seed 0 first), so its seeds 1 and 2 find them memoised;
every point is memoised, so a task killed mid-way loses at most one epoch. Then one curves task per dataset.

`projection` prints a profile's task-hours from measured per-thread speeds (`bench/project_curves.py`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import shutil
from pathlib import Path

import numpy as np

from .. import data
from ..data.base import ImageDataset
from ..data.splits import SPLIT_SEED, data_sources, subsample
from ..io import atomic_write, file_lock, write_json
from ..train import PROTOCOLS, train_and_test
from ..train.loop import fit_label
from .arms import predictions_of, record_metrics
from .build import build_arm_model, fit_arm
from .experiments import Arm, CurvesParams, as_dict, train_config
from .search import SEARCH_SEED, choose_lr

__all__ = ["CURVE_KEYS", "POINT_FORMAT", "curve_splits", "describe", "epoch_set", "ladder_sizes", "nested_rungs", "point_label",
           "point_params", "projection", "rate_rung", "record", "rungs_of", "scope_of", "task_arms", "task_estimate",
           "task_seeds", "train_point", "train_points"]

POINT_FORMAT = 1  # bump when what a point's memo holds changes: older memos then never match a key
# What a record keeps of each point beside its metrics (`record`): the curve it belongs to and where on it
CURVE_KEYS = ("dataset", "input", "n", "of", "arm", "name", "scope", "freeze_to", "pretrained", "seed", "lr",
              "rate_from")


# --- the ladder -------------------------------------------------------------------------------------------

def ladder_sizes(ladder, n_train: int, num_classes: int = 1) -> list[int]:
    """The ladder's training-set sizes in images: a fraction (<= 1, of n_train) or a count (> 1), each at most
    n_train. They must increase, and each hold at least one image per class (a stratified draw needs it)."""
    sizes = [min(n_train, round(v * n_train) if v <= 1 else int(v)) for v in ladder]
    if any(b <= a for a, b in zip(sizes, sizes[1:])):
        raise ValueError(f"ladder {list(ladder)} gives training-set sizes {sizes} of {n_train:,} images: they "
                         "must increase (a fraction and a count naming the same size, or a count above the split)")
    if sizes[0] < max(1, num_classes):
        raise ValueError(f"ladder {list(ladder)}: its smallest rung holds {sizes[0]} images, fewer than the "
                         f"{num_classes} classes a stratified subset needs")
    return sizes


def nested_rungs(train: ImageDataset, sizes) -> dict[int, ImageDataset]:
    """{size: training subset}, smallest first: the largest rung a stratified subset of `train` (the whole
    split when it is as large), each smaller one a stratified subset of the next larger rung, every draw with
    the data's seed. Nested by construction; each class keeps its share of the split up to rounding at each
    step (a class too small to split is kept whole, `data.splits.subsample`)."""
    out, current = {}, train
    for n in sorted(sizes, reverse=True):
        current = subsample(current, n, SPLIT_SEED)
        out[n] = current
    return dict(sorted(out.items()))


def epoch_set(train: ImageDataset, epoch_images: int) -> ImageDataset:
    """`train` repeated whole (k copies, k the smallest with k x len >= epoch_images) when it is smaller than
    epoch_images, so that one epoch shows at least that many images; else `train` itself."""
    k = math.ceil(epoch_images / len(train)) if len(train) else 1
    return train if k <= 1 else train.subset(np.tile(np.arange(len(train)), k))


def rate_rung(n: int, sizes) -> int:
    """The rung whose chosen rate the rung of n images uses: the smallest or the largest, whichever is nearer
    on the ladder's log scale (a tie: the smallest)."""
    lo, hi = min(sizes), max(sizes)
    return lo if abs(math.log(n / lo)) <= abs(math.log(hi / n)) else hi


def curve_splits(p: CurvesParams, data_dir) -> dict[str, ImageDataset]:
    """train (the whole training split) / val / test of the run's dataset, as notebook 05 loads it, validation
    cut to `max_val` (stratified); the same for every seed (subsets with the data's seed)."""
    splits = data.splits.load_splits(p.dataset, data_dir, fold=p.fold, image_size=p.load_size, max_eval=p.max_eval)
    return {**splits, "val": subsample(splits["val"], p.max_val, SPLIT_SEED)}


def rungs_of(p: CurvesParams, splits: dict) -> dict[int, ImageDataset]:
    """{size: nested training subset} of the run's ladder."""
    train = splits["train"]
    return nested_rungs(train, ladder_sizes(p.ladder, len(train), train.num_classes))


def rung_splits(splits: dict, rung: ImageDataset, epoch_images: int) -> dict[str, ImageDataset]:
    """What a point trains on: its rung (repeated to `epoch_images` per epoch), the run's val and test."""
    return {"train": epoch_set(rung, epoch_images), "val": splits["val"], "test": splits["test"]}


# --- the scopes and the rates ----------------------------------------------------------------------------

def describe(p: CurvesParams) -> str:
    """What a task does, for its title: one scope at one seed, or the curves over the pooled seeds."""
    what = (f"the curves over seeds {', '.join(map(str, p.pool))}" if p.pool else
            f"{next(a.name for a in p.arms if a.id == p.scope) if p.scope else 'every scope'}, seed {p.seed}")
    return f"{p.dataset}, {len(p.ladder)} training-set sizes x {len(task_arms(p))} scope(s): {what}"


def task_arms(p: CurvesParams) -> list[Arm]:
    """The arms this task trains: its `scope`, or every arm."""
    return [a for a in p.arms if not p.scope or a.id == p.scope]


def task_seeds(p: CurvesParams) -> list[int]:
    """The seeds of this task's points: the pooled seeds, or its own."""
    return list(p.pool) or [p.seed]


def scope_of(p: CurvesParams, arm: Arm) -> dict:
    """What an arm trains, resolved with the run's defaults: scope, freeze_to (None but for freeze_to) and
    whether its weights are pretrained (the curves' roles: probe, last block, everything, random init)."""
    return {"scope": arm.scope, "freeze_to": (arm.freeze_to if arm.freeze_to is not None else p.freeze_to)
            if arm.scope == "freeze_to" else None,
            "pretrained": p.pretrained if arm.pretrained is None else arm.pretrained}


def point_params(p: CurvesParams, n: int) -> CurvesParams:
    """The parameters of every point at rung n: what this task trains, pools and compares with cleared (a
    point does not depend on which task trains it), the rung set; seed 0 (a point's own seed is passed to
    `fit_arm`). The rate search's trials are keyed by these too (`search.trial_key`)."""
    return dataclasses.replace(p, seed=SEARCH_SEED, scope="", pool=[], reference="", rung=int(n))


def choose_rate(p: CurvesParams, arm: Arm, n: int, splits_n: dict, memo_dir=None):
    """(selection, fit) of the arm's rate at rung n (`search.choose_lr` on seed 0's validation, trials
    memoised under memo_dir/search); (None, None) for an arm without a grid (its train.lr)."""
    if not arm.lr_grid:
        return None, None
    memo = Path(memo_dir) / "search" if memo_dir is not None else None
    return choose_lr(point_params(p, n), arm, splits_n, build_arm_model, memo, extend=p.extend_grid)


# --- the points --------------------------------------------------------------------------------------------

def point_label(name: str, n: int, seed: int) -> str:
    """How a record names a point: `last block + head · 1,000 images · seed 2`."""
    return f"{name} · {n:,} images · seed {seed}"


def point_key(p: CurvesParams, arm: Arm, n: int, seed: int, lr, splits_n: dict) -> str:
    """A hash of everything a point depends on: the run's parameters at rung n (not which task trains it),
    the arm, its seed and rate, the data files' sha256."""
    settings = {k: v for k, v in as_dict(point_params(p, n)).items() if k not in ("seed", "arms", "reference")}
    payload = {"format": POINT_FORMAT, "params": settings, "arm": dataclasses.asdict(arm), "seed": seed, "lr": lr,
               "data": sorted(data_sources(*splits_n.values()).items())}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _plain(obj):
    """A record entry as JSON types (numpy values and arrays, DataFrames as lists of rows)."""
    import pandas as pd
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return _plain(obj.reset_index().to_dict(orient="records"))
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _fit_point(p, arm, n, seed, splits_n, chosen: dict, selection, fitted, checkpoint_dir):
    """Fit (or take the search's fit at seed 0) and test one point: (record entry, {protocol: (y_true,
    y_pred, probabilities)})."""
    pp = point_params(p, n)
    if fitted is None:
        with fit_label(point_label(arm.name, n, seed)):
            fitted = fit_arm(pp, arm, splits_n, seed=seed, checkpoint_dir=checkpoint_dir, build=build_arm_model,
                             **chosen)
    cfg = train_config(dataclasses.replace(pp, seed=seed), arm, **chosen)
    label = point_label(arm.name, n, seed)
    outcome = train_and_test(label, fitted.model, splits_n, cfg, result=fitted)
    outcome.selection = selection
    entry = _plain(record_metrics({label: outcome})[label])
    preds = {proto: tuple(np.asarray(a) if a is not None else None for a in per[label])
             for proto, per in predictions_of({label: outcome}).items()}
    return entry, preds


def _save_predictions(path: Path, preds: dict) -> None:
    arrays = {}
    for proto, (y_true, y_pred, probs) in preds.items():
        arrays[f"{proto}_true"] = np.asarray(y_true, dtype=np.int16)
        arrays[f"{proto}_pred"] = np.asarray(y_pred, dtype=np.int16)
        if probs is not None:
            arrays[f"{proto}_prob"] = np.asarray(probs, dtype=np.float16)

    def save(tmp):
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    atomic_write(path, save)


def _load_predictions(path: Path) -> dict:
    with np.load(path) as z:
        return {proto: (z[f"{proto}_true"].astype(np.int64), z[f"{proto}_pred"].astype(np.int64),
                        z[f"{proto}_prob"].astype(np.float32) if f"{proto}_prob" in z.files else None)
                for proto in PROTOCOLS if f"{proto}_true" in z.files}


def train_point(p: CurvesParams, arm: Arm, n: int, seed: int, splits_n: dict, memo_dir=None, selection=None,
                fitted=None, rate_from: int | None = None, of: int | None = None) -> dict:
    """One point: the arm trained on rung n (`splits_n`, `rung_splits`) at `seed` and the rate `selection`
    chose (None: the arm's train.lr), tested once per protocol. Memoised in memo_dir/points (None: trained
    here, kept nowhere), its epochs checkpointed beside the memo until it is written. `fitted`: the search's
    fit of this very point (seed 0 at the chosen rate), tested instead of fitting again.

    `of`: the training split's images (the rung's share of it; default n).

    Returns {dataset, input, n, of, arm, name, scope, freeze_to, pretrained, seed, lr, rate_from, entry (the
    record's metrics of the arm: test, ci, history, config, selection, ...), predictions ({protocol:
    (y_true, y_pred, probabilities)})}."""
    chosen = {"lr": selection["lr"]} if selection else {}
    lr = train_config(point_params(p, n), arm, **chosen).lr
    if fitted is not None and seed != SEARCH_SEED:
        raise ValueError("a search's fit is seed 0's point; it cannot stand for seed " + str(seed))
    if memo_dir is None:
        entry, preds = _fit_point(p, arm, n, seed, splits_n, chosen, selection, fitted, None)
    else:
        memo = Path(memo_dir) / "points" / f"{point_key(p, arm, n, seed, lr, splits_n)}.json"
        with file_lock(memo.with_suffix(".lock"), wait=True):  # another task training it: wait, then read it
            if not memo.is_file():
                entry, preds = _fit_point(p, arm, n, seed, splits_n, chosen, selection, fitted,
                                          memo.with_suffix(".ck"))
                _save_predictions(memo.with_suffix(".npz"), preds)
                write_json(memo, entry)  # written last: a memo names a complete point
            shutil.rmtree(memo.with_suffix(".ck"), ignore_errors=True)
        entry, preds = json.loads(memo.read_text()), _load_predictions(memo.with_suffix(".npz"))
    size = p.image_size or splits_n["train"].images.shape[1]
    return {"dataset": p.dataset, "input": int(size), "n": int(n), "of": int(of or n), "arm": arm.id,
            "name": arm.name, **scope_of(p, arm), "seed": int(seed), "lr": lr, "rate_from": rate_from,
            "entry": entry, "predictions": preds}


def _order(sizes) -> list[int]:
    """The rungs in the order a task trains them: the searched ones first (smallest, largest: at seed 0 the
    search's chosen fit is that rung's point), then the others from small to large."""
    lo, hi = min(sizes), max(sizes)
    return [lo, hi] + [n for n in sorted(sizes) if n not in (lo, hi)]


def train_points(p: CurvesParams, splits: dict, memo_dir=None, rungs: dict | None = None) -> list[dict]:
    """Every point of this task (its arms x seeds x the ladder's rungs), trained or read from the memo, in
    the order (arm, seed, rung) with the searched rungs first; the rates chosen once per arm and rung."""
    rungs = rungs if rungs is not None else rungs_of(p, splits)
    sizes = sorted(rungs)
    out = []
    for arm in task_arms(p):
        chosen = {}  # rate rung -> (selection, the search's fit of seed 0's point, if trained here)
        for seed in task_seeds(p):
            for n in _order(sizes):
                m = rate_rung(n, sizes)
                if m not in chosen:
                    chosen[m] = choose_rate(p, arm, m, rung_splits(splits, rungs[m], p.epoch_images), memo_dir)
                selection, fit = chosen[m]
                use = fit if (seed == SEARCH_SEED and n == m) else None
                out.append(train_point(p, arm, n, seed, rung_splits(splits, rungs[n], p.epoch_images), memo_dir,
                                       selection, use, rate_from=m if selection else None, of=len(splits["train"])))
                if use is not None:
                    chosen[m] = (selection, None)  # tested: the model is not needed again
    return sorted(out, key=lambda q: ([a.id for a in p.arms].index(q["arm"]), q["seed"], q["n"]))


def record(points: list[dict], p: CurvesParams | None = None) -> tuple[dict, dict]:
    """(metrics, predictions) for `Run.save`: {"points": {label: entry + its "curve" (dataset, input, n, arm,
    scope, seed, rate)}} and {protocol: {label: (y_true, y_pred, probabilities)}}. A curves task (`p.pool`)
    keeps no probabilities: its points' own tasks recorded them."""
    keep = p is None or not p.pool
    metrics, preds = {}, {proto: {} for proto in PROTOCOLS}
    for q in points:
        label = point_label(q["name"], q["n"], q["seed"])
        curve = {k: q[k] for k in CURVE_KEYS}
        metrics[label] = {**q["entry"], "curve": curve}
        for proto, pred in q["predictions"].items():
            preds[proto][label] = tuple(pred) if keep else tuple(pred[:2])
    return {"points": metrics}, preds


# --- the projection -----------------------------------------------------------------------------------------

# Lite0 on one CPU thread, training images per second (forward, backward, step; the measurement), by
# input side; evaluation (no gradients) about EVAL_SPEEDUP times faster.
TRAIN_IMAGES_PER_S = {48: 180.0, 96: 50.0}
EVAL_SPEEDUP = 3.0
# Cost of an epoch relative to training everything: a frozen prefix runs forward only, under no_grad. The
# last block's 0.45 is the cpu render's (arm A against B, per epoch, less validation: 0.42 on FER2013 at 48
# px, 0.51 on plants at 96 px). The last two blocks: 1.64x the last block's on generated 48 px images, one
# thread (0.54 against 0.33 of everything's epoch), so 0.75 beside the render's 0.45. The probe's features
# are computed once per rung (then its epochs cost next to nothing).
SCOPE_COST = {("head", None): 0.0, ("freeze_to", -1): 0.45, ("freeze_to", -2): 0.75, ("all", None): 1.0}
TASK_OVERHEAD_S = 60   # kernel start, data, the report (bench/project.py)
POINT_OVERHEAD_S = 5   # building the model, the bootstrap intervals of one point


def _images_per_s(side: int) -> float:
    """Training images per second at an input side: the nearest measured side, scaled by pixels."""
    ref = min(TRAIN_IMAGES_PER_S, key=lambda s: abs(math.log(s / side)))
    return TRAIN_IMAGES_PER_S[ref] * (ref / side) ** 2


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
    speed = _images_per_s(side)
    s = scope_of(p, arm)
    cost = SCOPE_COST.get((s["scope"], s["freeze_to"]), 1.0)
    val = min(counts["val"], p.max_val or counts["val"])
    if cost == 0:  # the probe: train and val features once, then a linear layer on stored features each epoch
        once, per_epoch = (n + val) / (EVAL_SPEEDUP * speed), 0.0
    else:
        once, per_epoch = 0.0, len(epoch_set_indices(n, p.epoch_images)) * cost / speed + val / (EVAL_SPEEDUP * speed)
    test = 2 * counts["test"] / (EVAL_SPEEDUP * speed)
    return once + _epochs(cfg.epochs, cfg.early_stopping_patience, expected, cfg.early_stopping_start) * per_epoch + test + POINT_OVERHEAD_S


def epoch_set_indices(n: int, epoch_images: int) -> range:
    """The images an epoch of a rung of n shows (`epoch_set`'s length)."""
    k = max(1, math.ceil(epoch_images / n)) if n else 1
    return range(n * k)


def task_estimate(task, counts: dict, searched: set, data_dir=None) -> dict:
    """One notebook-08 task's projected seconds on one thread: {task, dataset, rungs, points, search trials,
    expected h, upper h}. Each point once (the task that owns it: its scope and seed); each rate search's other
    rates once, at seed 0, recorded in `searched` (shared by a profile's tasks, so that a search is counted
    once); a curves task only its overhead (it reads the points). `counts` ({dataset: {train, val, test}}) is
    filled from `data_dir` (`split_counts`) where it lacks the task's dataset."""
    from .experiments import resolve
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


def projection(profile: str = "curves", data_dir=None, counts: dict | None = None, budget: float = 12.0,
               workers: int = 2) -> "object":
    """The task-hours of a profile's notebook-08 tasks from the per-thread speeds above; prints a table
    (task, points, searched trials, expected and upper hours) and a total, returns the table (a DataFrame).

    Each point once (the task that owns it: its scope and seed); each rate search's other rates once (at
    seed 0, by the scope's seed-0 task, as the runner orders them: `runner.execute._longest_first`); a
    curves task only its overhead (it reads the points). `counts`: {dataset: {train, val, test}} (default:
    read from the data folder without decoding, `split_counts`)."""
    import contextlib
    import io

    import pandas as pd

    from .profile import load_profile
    with contextlib.redirect_stdout(io.StringIO()):
        prof = load_profile(profile, data_dir=data_dir)
    counts = dict(counts or {})
    rows, searched = [], set()
    for task in prof.tasks:
        if task.notebook == "08_curves":
            rows.append(task_estimate(task, counts, searched, prof.data_dir))
    table = pd.DataFrame(rows)
    total_exp, total_up = table["expected h"].sum(), table["upper h"].sum()
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(table.round(2).to_string(index=False))
    verdict = "within" if total_exp <= budget else "OVER"
    print(f"\n{len(table)} tasks: expected {total_exp:.1f} task-hours ({verdict} the budget of {budget:g}), at most "
          f"{total_up:.1f} if every fit ran to its epoch cap and every search grew its grid; "
          f"{total_exp / workers:.1f} h of wall time with {workers} tasks at once. Speeds: Lite0 {', '.join(f'{v:g} img/s at {k} px' for k, v in TRAIN_IMAGES_PER_S.items())}"
          f" per thread, evaluation {EVAL_SPEEDUP:g}x; relative epoch costs {SCOPE_COST}.")
    return table
