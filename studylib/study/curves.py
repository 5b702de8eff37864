"""Notebook 08, beyond the papers (claim-free): test scores against training-set size, one curve per scope.

Papers 003 and 004 each test one point of one question: how much of a pretrained network to train, and
whether pretraining pays. Here one dataset's training split is cut into a ladder of sizes and each training
scope (a linear probe on frozen features, the last block, the last two blocks, everything, everything from
random init: the run's `arms`) is trained at every rung and seed.

- The ladder (`study.curves_ladder`, its names re-exported here: `ladder_sizes`, `nested_rungs`): each rung
  a stratified subset of the next larger one (the largest of the whole split), drawn with the data's seed
  (`data.splits.subsample`), so the smaller sets are nested in the larger and every seed and scope sees the
  same images. A rung smaller than `epoch_images`
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

A profile's task-hours are projected from measured per-thread speeds in `study.projection` (`task_estimate`;
`bench/project_curves.py` prints them).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from ..data.splits import data_sources
from ..io import atomic_write, file_lock, to_jsonable, write_json
from ..train import PROTOCOLS, train_and_test
from ..train.loop import fit_label
from .arms import predictions_of, record_metrics
from .build import build_arm_model, fit_arm
from .curves_ladder import (curve_splits, epoch_set, epoch_set_indices, ladder_sizes, nested_rungs, rate_rung,
                            rung_splits, rungs_of)
from .experiments import Arm, CurvesParams, as_dict, train_config
from .search import SEARCH_SEED, choose_lr

__all__ = ["CURVE_KEYS", "POINT_FORMAT", "Place", "Point", "curve_splits", "describe", "epoch_set", "epoch_set_indices", "ladder_sizes",
           "nested_rungs", "point_label", "point_params", "rate_rung", "record", "rungs_of", "scope_of", "task_arms",
           "task_seeds", "train_point", "train_points"]

POINT_FORMAT = 1  # bump when what a point's memo holds changes: older memos then never match a key
# What a record keeps of each point beside its metrics (`record`): the curve it belongs to and where on it
CURVE_KEYS = ("dataset", "input", "n", "of", "arm", "name", "scope", "freeze_to", "pretrained", "seed", "lr",
              "rate_from")


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


@dataclasses.dataclass(frozen=True)
class Point:
    """What one point trains, the values that travel together from `train_point` to its fit: the run's
    parameters, the arm, the rung (n images) and its splits (`rung_splits`), the seed."""

    p: CurvesParams
    arm: Arm
    n: int
    seed: int
    splits: dict


@dataclasses.dataclass(frozen=True)
class Place:
    """Where a point sits on its curve, recorded as given (`train_point`'s keywords): the rung whose chosen
    rate it uses (None: the arm's train.lr) and the training split's images (None: the rung's n)."""

    rate_from: int | None = None
    of: int | None = None


def _fit_point(point: Point, selection, fitted, checkpoint_dir):
    """Fit (or take the search's fit at seed 0) and test one point: (record entry, {protocol: (y_true,
    y_pred, probabilities)})."""
    p, arm, n, seed, splits_n = point.p, point.arm, point.n, point.seed, point.splits
    chosen = {"lr": selection["lr"]} if selection else {}
    pp = point_params(p, n)
    if fitted is None:
        with fit_label(point_label(arm.name, n, seed)):
            fitted = fit_arm(pp, arm, splits_n, seed=seed, checkpoint_dir=checkpoint_dir, build=build_arm_model,
                             **chosen)
    cfg = train_config(dataclasses.replace(pp, seed=seed), arm, **chosen)
    label = point_label(arm.name, n, seed)
    outcome = train_and_test(label, fitted.model, splits_n, cfg, result=fitted)
    outcome.selection = selection
    entry = to_jsonable(record_metrics({label: outcome})[label])
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
                fitted=None, **place) -> dict:
    """One point: the arm trained on rung n (`splits_n`, `rung_splits`) at `seed` and the rate `selection`
    chose (None: the arm's train.lr), tested once per protocol. Memoised in memo_dir/points (None: trained
    here, kept nowhere), its epochs checkpointed beside the memo until it is written. `fitted`: the search's
    fit of this very point (seed 0 at the chosen rate), tested instead of fitting again.

    `place`: where the point sits on its curve (`Place`: `rate_from`, the rung whose rate it uses; `of`, the
    training split's images, the rung's share of it; default n); another keyword is a TypeError.

    Returns {dataset, input, n, of, arm, name, scope, freeze_to, pretrained, seed, lr, rate_from, entry (the
    record's metrics of the arm: test, ci, history, config, selection, ...), predictions ({protocol:
    (y_true, y_pred, probabilities)})}."""
    where, point = Place(**place), Point(p, arm, n, seed, splits_n)
    chosen = {"lr": selection["lr"]} if selection else {}
    lr = train_config(point_params(p, n), arm, **chosen).lr
    if fitted is not None and seed != SEARCH_SEED:
        raise ValueError("a search's fit is seed 0's point; it cannot stand for seed " + str(seed))
    if memo_dir is None:
        entry, preds = _fit_point(point, selection, fitted, None)
    else:
        memo = Path(memo_dir) / "points" / f"{point_key(p, arm, n, seed, lr, splits_n)}.json"
        with file_lock(memo.with_suffix(".lock"), wait=True):  # another task training it: wait, then read it
            if not memo.is_file():
                entry, preds = _fit_point(point, selection, fitted, memo.with_suffix(".ck"))
                _save_predictions(memo.with_suffix(".npz"), preds)
                write_json(memo, entry)  # written last: a memo names a complete point
            shutil.rmtree(memo.with_suffix(".ck"), ignore_errors=True)
        entry, preds = json.loads(memo.read_text()), _load_predictions(memo.with_suffix(".npz"))
    size = p.image_size or splits_n["train"].images.shape[1]
    return {"dataset": p.dataset, "input": int(size), "n": int(n), "of": int(where.of or n), "arm": arm.id,
            "name": arm.name, **scope_of(p, arm), "seed": int(seed), "lr": lr, "rate_from": where.rate_from,
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
