"""An arm's learning rate chosen on validation, once, at seed 0 (paper 004 names no rate or epoch count).

For an arm with an `lr_grid`, `choose_lr` trains the arm at seed 0 on seed 0's train/val at every rate of
the grid (each until validation stops improving, within the epoch cap: the run's `early_stopping_patience`
and `epochs`) and picks the rate whose best validation score is highest (ties: the earlier rate in the
grid). Every seed then trains at that rate. Test is never read.

Why every task can run alone: the search depends on nothing seed-specific, so a task of any seed can
compute it and gets the same answer. Each trial's outcome is memoised as a small JSON file in `memo_dir`
(named by a hash of everything the trial depends on: the run's parameters but its seed, the arm, the
rate, the data files' sha256; the caller puts the code version in `memo_dir`), under a file lock
(`io.file_lock`). So the trials are trained once however the tasks are ordered or spread over processes,
an interrupted search resumes at its first unfinished trial, and tasks of several seeds running at once
share the trials. While a trial trains, it checkpoints beside its memo (`<key>.ck/`, removed once the memo
is written), so a trial interrupted mid-way continues from its last epoch. A memoised trial's checkpoints
are removed by whoever finds them (a process killed between the memo and the removal leaves them).

With `extend` > 0 the grid grows where the chosen rate sits at one of its ends (`next_rate`): the rate one
step beyond that end is tried, up to `extend` times, so that the chosen rate ends interior (a rate at the
grid's edge is a budget flag, `study.budget.grid_edge`, judged against the grid as extended). The first
curves render (notebook 08) showed why: a scope's best rate moves with the training-set size, and no fixed
three-rate grid held it at both ends of the ladder.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import shutil
from pathlib import Path

from ..data.splits import data_sources
from ..io import file_lock, write_json
from ..train.config import MONITORS
from ..train.loop import fit_label
from .build import fit_arm
from .experiments import Arm, as_dict, train_config

__all__ = ["SEARCH_SEED", "choose_lr", "next_rate", "trial_key"]

SEARCH_SEED = 0  # the protocol: choose on seed 0, then train every seed at the chosen rate


def trial_key(params, arm: Arm, lr: float, splits: dict) -> str:
    """A hash of everything one search trial depends on (not the task's seed, not the other arms)."""
    settings = {k: v for k, v in as_dict(params).items() if k not in ("seed", "arms")}
    payload = {"params": settings, "arm": dataclasses.asdict(arm), "lr": lr, "seed": SEARCH_SEED,
               "data": sorted(data_sources(splits["train"], splits["val"]).items())}  # never test
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _summary(lr: float, result) -> dict:
    """What the search keeps of a trial: its best validation score, where it peaked and where it stopped."""
    h = result.history
    return {"lr": lr, "best_val": result.best_val, "best_epoch": result.best_epoch, "final_epoch": result.final_epoch,
            "stopped_early": result.stopped_early, "seconds": round(float(h["seconds"].sum()), 1),
            "val_curve": [round(float(v), 4) for v in h[result.monitor]]}


def _trial(params, arm: Arm, lr: float, splits: dict, build, checkpoint_dir=None):
    """Train the arm at seed 0 at rate lr on train, scored on val; the FitResult. With `checkpoint_dir` it
    checkpoints there each epoch and continues from what is there (a trial interrupted before)."""
    with fit_label(f"{arm.name}, lr {lr:g} (search)"):
        return fit_arm(params, arm, splits, seed=SEARCH_SEED, checkpoint_dir=checkpoint_dir, build=build, lr=lr)


def next_rate(grid, downward: bool) -> float:
    """The rate one step beyond the grid's lowest (downward) or highest end: the grid's mean step on a log
    scale, snapped to the 1-3-10 sequence (1e-4, 3e-4, 1e-3, ...) when every rate of the grid is on it."""
    g = sorted(grid)
    if len(g) < 2:
        raise ValueError(f"grid {list(grid)}: a step needs at least two rates")
    step = (math.log10(g[-1]) - math.log10(g[0])) / (len(g) - 1)
    lr = 10 ** (math.log10(g[0]) - step if downward else math.log10(g[-1]) + step)

    def on_sequence(x):
        m = x / 10 ** math.floor(math.log10(x) + 1e-9)
        return any(abs(m - k) < 1e-6 for k in (1, 3))
    if all(on_sequence(x) for x in g):
        e = math.floor(math.log10(lr))
        options = [k * 10.0 ** d for d in (e - 1, e, e + 1) for k in (1, 3)]
        options = [x for x in options if (x < g[0] if downward else x > g[-1])]
        lr = min(options, key=lambda x: abs(math.log10(x / lr)))
    return float(f"{lr:.6g}")


@dataclasses.dataclass(frozen=True)
class _Search:
    """What every trial of one arm's search shares: the run's parameters, the arm, seed 0's train/val, the
    model builder, the memo folder (None: nothing memoised) and the validation score compared."""

    params: object
    arm: Arm
    splits: dict
    build: object
    memo_dir: object
    monitor: str

    def trial(self, lr: float) -> tuple[dict, object | None]:
        """(summary, fit) of the trial at rate lr: read from its memo, or trained here (fit: its FitResult,
        None when memoised); printed."""
        params, arm, splits, monitor = self.params, self.arm, self.splits, self.monitor
        result = None
        if self.memo_dir is not None:
            memo = Path(self.memo_dir) / f"{trial_key(params, arm, lr, splits)}.json"
            # another process training the same trial makes this one wait, then read its memo
            with file_lock(memo.with_suffix(".lock"), wait=True):
                if not memo.is_file():
                    result = _trial(params, arm, lr, splits, self.build, memo.with_suffix(".ck"))
                    write_json(memo, {"arm": arm.name, "monitor": monitor, **_summary(lr, result)})
                shutil.rmtree(memo.with_suffix(".ck"), ignore_errors=True)  # memoised: nothing to resume
            summary = json.loads(memo.read_text())
        else:
            result = _trial(params, arm, lr, splits, self.build)
            summary = {"arm": arm.name, "monitor": monitor, **_summary(lr, result)}
        summary.pop("arm", None), summary.pop("monitor", None)
        best = "none" if summary["best_val"] is None else f"{summary['best_val']:.3f}"
        print(f"lr search, {arm.name}: lr {lr:g} -> best {monitor} {best} at epoch {summary['best_epoch']}, "
              f"stopped at {summary['final_epoch']}{' (early)' if summary.get('stopped_early') else ''}"
              f"{' (memoised)' if result is None else ''}")
        return summary, result


def choose_lr(params, arm: Arm, splits: dict, build, memo_dir=None, extend: int = 0) -> tuple[dict, object | None]:
    """The arm's rate chosen on validation at seed 0.

    Args:
        params: the run's parameters (its seed is ignored). arm: an arm with a non-empty lr_grid.
        splits: seed 0's train/val (test is not read). build: (params, arm, splits) -> model.
        memo_dir: folder of memoised trials (None: nothing memoised, every trial trains here).
        extend: how many rates may be added beyond the grid's ends while the chosen rate sits at one (0: the
            grid as given).

    Returns:
        (selection, fit): selection = {seed, monitor, grid (as extended), trials: [per rate: lr, best_val,
        best_epoch, final_epoch, stopped_early, seconds, val_curve], lr: the chosen rate, extended: the rates
        added}; fit = the chosen trial's FitResult when it was trained in this process (it is seed 0's model
        at that rate), else None.
    """
    if not arm.lr_grid:
        raise ValueError(f"arm {arm.name!r} has no lr_grid to choose from")
    monitor = train_config(params, arm).monitor
    better = (lambda a, b: a > b) if MONITORS[monitor] == "max" else (lambda a, b: a < b)
    search = _Search(params, arm, splits, build, memo_dir, monitor)
    trials, chosen, chosen_fit = [], None, None
    print(f"lr search, {arm.name}: {len(arm.lr_grid)} rates ({', '.join(f'{lr:g}' for lr in arm.lr_grid)}) "
          f"on seed {SEARCH_SEED}'s validation, best {monitor} of each")

    def run(lr: float) -> None:
        nonlocal chosen, chosen_fit
        summary, result = search.trial(lr)
        trials.append(summary)
        if chosen is None or chosen["best_val"] is None or (
                summary["best_val"] is not None and better(summary["best_val"], chosen["best_val"])):
            chosen, chosen_fit = summary, result  # keep only the leading trial's model in memory

    grid, added = list(arm.lr_grid), []
    for lr in grid:
        run(lr)
    # a chosen rate at an end of the grid: try one step beyond it (never back into the grid: the next step
    # is always further out), at most `extend` times
    while len(added) < extend and len(grid) >= 2 and chosen["lr"] in (min(grid), max(grid)):
        lr = next_rate(grid, downward=chosen["lr"] == min(grid))
        edges = ", ".join(f"{g:g}" for g in sorted(grid))
        print(f"lr search, {arm.name}: lr {chosen['lr']:g} is at the edge of {edges}: trying {lr:g}")
        grid.append(lr)
        added.append(lr)
        run(lr)
    print(f"lr search, {arm.name}: chose lr {chosen['lr']:g} on validation")
    selection = {"seed": SEARCH_SEED, "monitor": monitor, "grid": sorted(grid) if added else list(arm.lr_grid),
                 "trials": trials, "lr": chosen["lr"]}
    if added:
        selection["extended"] = added
    return selection, chosen_fit
