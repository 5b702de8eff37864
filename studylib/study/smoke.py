"""A profile at smoke scale: every run once, tiny, on generated data (`studylib run --profile gpu --smoke`).

Proves that every task of a profile executes (its notebooks, arms, heads, image sizes, the search, the
reports) before anyone spends a GPU hour finding our bugs: the first task of each run (its first seed and
grid point), one epoch of two steps of at most 4 images, at most 32 training and 32 evaluation images
where the notebook takes a cap, one rate per learning-rate grid, a ladder of two rungs (notebook 08), on the demo's generated data (DeepWeeds images included, in
the real layout), one CPU and no GPU per task. Pretrained weights that are absent become random
initialisation (`models.weights.allow_random_fallback`, set by the notebook's `Run` for a smoke task), and
every report says SMOKE. Its profile is `<profile>-smoke`, rendered into `reports/<profile>-smoke`.
"""
from __future__ import annotations

import copy
import dataclasses

from .experiments import params_class, resolve
from .task import SMOKE_SUFFIX

__all__ = ["SMOKE_BATCH", "SMOKE_CAP", "SMOKE_LADDER", "SMOKE_TRAIN", "smoke_profile"]

SMOKE_TRAIN = {"epochs": 1, "max_steps_per_epoch": 2, "early_stopping_patience": None}
SMOKE_CAP = 32    # images of train, and of val and test, where the notebook takes a cap (paper 000's SVM is
                  # cross-validated 3-fold on train: each of its 8 people needs 3 images there)
SMOKE_BATCH = 4   # at most: ResNet50 at 224 px on a CPU core is a few images a second
# notebook 08's ladder of training-set sizes, as fractions of the (generated) training split: two rungs, so the
# search at both ends and the nesting still run; a profile's counts (300, 1000, ...) exceed the generated split
SMOKE_LADDER = [0.5, 1.0]


def _shrink(task, where: str) -> dict:
    fields = {f.name for f in dataclasses.fields(params_class(task.notebook))}
    params = copy.deepcopy(task.params)
    if "train" in fields:
        train = params.get("train", {})
        batch = min(train.get("batch_size") or SMOKE_BATCH, SMOKE_BATCH)
        params["train"] = {**train, **SMOKE_TRAIN, "batch_size": batch, "eval_batch_size": 2 * SMOKE_BATCH}
    for key in ("max_train", "max_eval", "max_val"):
        if key in fields:
            params[key] = min(params.get(key) or SMOKE_CAP, SMOKE_CAP)
    if "ladder" in fields:
        params["ladder"] = list(SMOKE_LADDER)
    if "arms" in fields:  # one rate per grid: the search still runs, on one trial
        arms = resolve(task.notebook, params, where).arms
        params["arms"] = [{**dataclasses.asdict(a), "lr_grid": a.lr_grid[:1]} for a in arms]
    resolve(task.notebook, params, where)  # still valid
    return params


def smoke_profile(prof, with_upstream):
    """The profile at smoke scale (see the module docstring); `with_upstream` recomputes what each of the
    kept tasks reads."""
    name = prof.name + SMOKE_SUFFIX
    kept, seen = [], set()
    for t in prof.tasks:
        if t.run in seen:  # its other seeds and grid points
            continue
        seen.add(t.run)
        params = _shrink(t, f"profile {name} (smoke of {prof.path}), run {t.run}")
        kept.append(dataclasses.replace(t, params=params, profile=name, resources={"cpus": 1, "gpus": 0}))
    cuts = [f"SMOKE: every run once at a tiny scale ({SMOKE_TRAIN['epochs']} epoch of "
            f"{SMOKE_TRAIN['max_steps_per_epoch']} steps, <= {SMOKE_CAP} images, one rate per grid) on generated "
            "data; absent pretrained weights are random initialisation"] + list(prof.cuts)
    kept = [dataclasses.replace(t, cuts=[cuts[0], *t.cuts]) for t in kept]
    return dataclasses.replace(prof, name=name, title=f"SMOKE of {prof.title}", data_dir="generated", cuts=cuts,
                               tasks=with_upstream(kept))
