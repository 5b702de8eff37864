"""train / val / test of any study dataset by name, cut down (stratified, seeded) where a profile asks."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from . import deepweeds, fer2013, ferplus, imagefolder
from .base import DataError, ImageDataset
from .imagefolder import LoadOptions

DATASETS = ("fer2013", "ferplus", "deepweeds", "faces", "plants")
FOLDERS = {"faces": ("faces", "lfw-8x30"), "plants": ("plant-seedlings",)}


SPLIT_SEED = 0  # every split, subset and validation split is drawn with this seed, whatever the run's seed


def subsample(ds: ImageDataset, n: int | None, seed: int = SPLIT_SEED) -> ImageDataset:
    """A stratified, seeded subset of n images (the whole set when n is None or larger)."""
    if not n or n >= len(ds):
        return ds
    labels = ds.labels
    keep_all = np.bincount(labels)[labels] < 2  # classes too small to stratify are kept whole
    idx = np.flatnonzero(~keep_all)
    chosen, _ = train_test_split(idx, train_size=max(1, n - int(keep_all.sum())), stratify=labels[idx],
                                 random_state=seed)
    return ds.subset(np.sort(np.concatenate([chosen, np.flatnonzero(keep_all)])))


def load_splits(dataset: str, data_dir, options: LoadOptions = LoadOptions(), *,
                label_mode: str = "plurality", num_classes: int = 10, fold: int = 0, max_train: int | None = None,
                max_eval: int | None = None) -> dict[str, ImageDataset]:
    """train / val / test of a dataset named in DATASETS (FER: val = PublicTest, test = PrivateTest).

    `options` (`LoadOptions`): the image size (DeepWeeds, image folders), the split's seed and an image
    folder's split fractions. `options.seed` is the split's seed, not a run's: every seed of a run trains and
    tests on the same images (docs/METHOD.md, Replicates). label_mode / num_classes: FERPlus's targets; fold:
    DeepWeeds's. max_train / max_eval cut the splits down (stratified, with `options.seed`) for CPU profiles.
    """
    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")
    if dataset == "fer2013":
        out = {k: fer2013.load(data_dir, k) for k in fer2013.SPLIT_ALIASES}
    elif dataset == "ferplus":
        out = {k: ferplus.load(data_dir, k, mode=label_mode, num_classes=num_classes) for k in fer2013.SPLIT_ALIASES}
    elif dataset == "deepweeds":
        out = {k: deepweeds.load(data_dir, k, fold=fold, image_size=options.image_size) for k in imagefolder.SPLITS}
    else:
        root = Path(data_dir).joinpath(*FOLDERS[dataset])
        out = {k: imagefolder.load(root, k, options) for k in imagefolder.SPLITS}
    out["train"] = subsample(out["train"], max_train, options.seed)
    out["val"] = subsample(out["val"], max_eval, options.seed)
    out["test"] = subsample(out["test"], max_eval, options.seed)
    return out


def split_off_val(splits: dict[str, ImageDataset], fraction: float, seed: int = SPLIT_SEED) -> dict[str, ImageDataset]:
    """Seed 001's protocol: validation is a stratified `fraction` of the training split (test unchanged)."""
    if not 0 < fraction < 1:
        return splits
    train = splits["train"]
    tr, va = train_test_split(np.arange(len(train)), test_size=fraction, stratify=train.labels, random_state=seed)
    return {"train": train.subset(np.sort(tr)), "val": train.subset(np.sort(va), split="val (from train)"),
            "test": splits["test"]}


def data_sources(*datasets: ImageDataset) -> dict[str, str]:
    """{file: sha256} over the given datasets, for the report header and the run record."""
    out = {}
    for ds in datasets:
        out.update(ds.sources)
    return out
