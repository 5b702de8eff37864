"""Notebook 08's ladder of training-set sizes (`study.curves`' first part; docs in its module string): the
rungs' sizes (`ladder_sizes`), each rung a stratified subset of the next larger one drawn with the data's
seed (`nested_rungs`), a small rung repeated to `epoch_images` per epoch (`epoch_set`), the rung whose rate
another uses (`rate_rung`), and what a point trains on (`rung_splits`). `study.curves` re-exports them."""
from __future__ import annotations

import math

import numpy as np

from .. import data
from ..data.base import ImageDataset
from ..data.splits import SPLIT_SEED, subsample
from .experiments import CurvesParams

__all__ = ["curve_splits", "epoch_set", "epoch_set_indices", "ladder_sizes", "nested_rungs", "rate_rung", "rung_splits",
           "rungs_of"]


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


def epoch_set_indices(n: int, epoch_images: int) -> range:
    """The images an epoch of a rung of n shows (`epoch_set`'s length)."""
    k = max(1, math.ceil(epoch_images / n)) if n else 1
    return range(n * k)


def rate_rung(n: int, sizes) -> int:
    """The rung whose chosen rate the rung of n images uses: the smallest or the largest, whichever is nearer
    on the ladder's log scale (a tie: the smallest)."""
    lo, hi = min(sizes), max(sizes)
    return lo if abs(math.log(n / lo)) <= abs(math.log(hi / n)) else hi


def curve_splits(p: CurvesParams, data_dir) -> dict[str, ImageDataset]:
    """train (the whole training split) / val / test of the run's dataset, as notebook 05 loads it, validation
    cut to `max_val` (stratified); the same for every seed (subsets with the data's seed)."""
    splits = data.splits.load_splits(p.dataset, data_dir, data.LoadOptions(image_size=p.load_size), fold=p.fold,
                                     max_eval=p.max_eval)
    return {**splits, "val": subsample(splits["val"], p.max_val, SPLIT_SEED)}


def rungs_of(p: CurvesParams, splits: dict) -> dict[int, ImageDataset]:
    """{size: nested training subset} of the run's ladder."""
    train = splits["train"]
    return nested_rungs(train, ladder_sizes(p.ladder, len(train), train.num_classes))


def rung_splits(splits: dict, rung: ImageDataset, epoch_images: int) -> dict[str, ImageDataset]:
    """What a point trains on: its rung (repeated to `epoch_images` per epoch), the run's val and test."""
    return {"train": epoch_set(rung, epoch_images), "val": splits["val"], "test": splits["test"]}
