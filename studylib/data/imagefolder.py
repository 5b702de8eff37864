"""Any ImageFolder set (`<root>/<class>/<image>`): the LFW 8x30 faces, Plant Seedlings, generated sets.

There is no official split, so a stratified, seeded train/val/test split is drawn once and written to a
split file (path, class, split). Reruns read that file, so every run sees the same split. The file is
named by the folder's contents (`<name>-<hash of the sorted file list>-seed<k>.csv`): another folder of
the same name, or this folder with images added or removed, gets a split of its own; no recorded split
is ever overwritten or needs deleting.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from .. import paths
from ..io import atomic_write, sha256_file, sha256_folder
from .base import DataError, ImageDataset
from .images import IMAGE_SUFFIXES, check_exist, decode_all

SPLITS = ("train", "val", "test")
# 60/20/20: paper 000 gives no split of its 8 x 30 faces; this leaves 6 test faces per person.
FRACTIONS = (0.6, 0.2, 0.2)


@dataclass(frozen=True)
class LoadOptions:
    """How a set's images are decoded and split: the options `load` and `splits.load_splits` share.

    image_size: decode resized to this size (None: the images' own size; DeepWeeds reads it too).
    seed: the split's seed (default 0, `splits.SPLIT_SEED`), never a run's: it draws the recorded
        train/val/test split and `splits.load_splits`'s subsets.
    fractions: train/val/test shares of an ImageFolder set's split (three numbers summing to 1).
    """

    image_size: int | None = None
    seed: int = 0
    fractions: tuple[float, float, float] = FRACTIONS

    def __post_init__(self):
        object.__setattr__(self, "fractions", tuple(self.fractions))  # a profile's list reads as the same split


def _classes(root: Path) -> list[str]:
    return sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))


def not_images(root: Path) -> list[Path]:
    """Files in root's class folders that are no image by name (hidden files aside): the loaders skip them,
    so a stray copy or a renamed photo would go unnoticed but for the data check."""
    return [f for c in _classes(root) for f in sorted((root / c).iterdir())
            if f.is_file() and not f.name.startswith(".") and f.suffix.lower() not in IMAGE_SUFFIXES]


def scan(root: Path) -> pd.DataFrame:
    """Every image file under root's class folders (classes sorted by name, as torchvision)."""
    if not root.is_dir():
        raise DataError(f"image folder not found: {root}. Run `studylib data check` for where to get it.")
    classes = _classes(root)
    rows = [(f"{c}/{f.name}", c) for c in classes for f in sorted((root / c).iterdir())
            if f.suffix.lower() in IMAGE_SUFFIXES]
    if not rows:
        raise DataError(f"{root}: no images found in class sub-folders (expected <root>/<class>/<image>.jpg)")
    return pd.DataFrame(rows, columns=["path", "class"])


def make_split(files: pd.DataFrame, fractions=FRACTIONS, seed: int = 0) -> pd.DataFrame:
    """Stratified, seeded split of the file table into train/val/test."""
    if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-6:
        raise DataError(f"split fractions must be three numbers summing to 1, got {fractions}")
    rest, test = train_test_split(files, test_size=fractions[2], stratify=files["class"], random_state=seed)
    train, val = train_test_split(rest, test_size=fractions[1] / (fractions[0] + fractions[1]),
                                  stratify=rest["class"], random_state=seed)
    out = pd.concat([train.assign(split="train"), val.assign(split="val"), test.assign(split="test")])
    return out.sort_values("path").reset_index(drop=True)


def default_splits_dir(root: Path) -> Path:
    """splits/ in the repository (committed), or beside generated data (which must not share its names)."""
    for d in (root.parent, root.parent.parent):
        if (d / "GENERATED.txt").is_file():
            return d / "splits"
    return paths.SPLITS


def content_key(relpaths) -> str:
    """12 hex digits of sha256 over the sorted `<class>/<file>` names: which images a folder holds."""
    return hashlib.sha256("\n".join(sorted(relpaths)).encode()).hexdigest()[:12]


def split_name(name: str, files: pd.DataFrame, seed: int = 0, fractions=FRACTIONS) -> str:
    """The recorded split's file name: dataset name, content key, seed (and fractions when not the default)."""
    frac = "" if tuple(fractions) == FRACTIONS else "-split" + "-".join(f"{f:g}" for f in fractions)
    return f"{name}-{content_key(files['path'])}{frac}-seed{seed}.csv"


def split_table(root: Path, name: str, seed: int = 0, fractions=FRACTIONS, split_file=None,
                splits_dir=None, record: bool = True) -> tuple[pd.DataFrame, Path]:
    """The recorded split of this folder's contents (`split_name`), drawn on first use and written unless
    `record` is False (`load` writes it once its images decode); `split_file` names one explicitly (it must
    then cover every image of the folder)."""
    splits_dir = Path(splits_dir) if splits_dir else default_splits_dir(root)
    files = scan(root)
    explicit = split_file is not None
    split_file = Path(split_file) if explicit else splits_dir / split_name(name, files, seed, fractions)
    restore = (f"Restore it (for a committed file: `git checkout -- {split_file.name}` in its folder)"
               + (", or pass another split_file" if explicit else ""))
    if split_file.is_file():
        table = pd.read_csv(split_file)
        if not {"path", "class", "split"} <= set(table.columns):
            raise DataError(f"{split_file}: not a split file (needs columns path, class, split). {restore}.")
        extra = sorted(set(files["path"]) - set(table["path"]))
        if extra:  # only an explicit split_file (or a hand-edited one) can cover other contents
            raise DataError(f"{split_file}: {len(extra)} images in {root} are not in this split file (first: "
                            f"{extra[0]}): it records other contents. Leave split_file unset: the folder's own "
                            "recorded split is then used, or drawn and recorded beside it.")
        check_exist([root / p for p in table["path"]], f"split file {split_file}",
                    "Restore the missing images, or leave split_file unset to use the recorded split of the "
                    "folder's current contents.")
    else:
        table = make_split(files, fractions, seed)
        if record:
            _record(table, split_file)
    return table, split_file


def _record(table: pd.DataFrame, split_file: Path) -> None:
    atomic_write(split_file, lambda tmp: table.to_csv(tmp, index=False, lineterminator="\n"))


def load(root, split: str = "train", options: LoadOptions = LoadOptions(), *, name: str | None = None,
         split_file=None, splits_dir=None, grayscale: bool = False, cache_dir=None) -> ImageDataset:
    """One split of an ImageFolder set, decoded into memory (resized to `options.image_size` when given), from
    the recorded split of `options.seed` and `options.fractions` (`split_table`)."""
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; expected one of {SPLITS}")
    root, image_size = Path(root), options.image_size
    name = name or root.name
    table, split_file = split_table(root, name, options.seed, options.fractions, split_file, splits_dir,
                                    record=False)
    classes = sorted(table["class"].unique())
    part = table[table["split"] == split]

    def decode(s: str):
        return decode_all([root / p for p in table.loc[table["split"] == s, "path"]], image_size,
                          "L" if grayscale else "RGB", cache_dir, desc=f"{name} {s}")

    images = decode(split)
    if not split_file.is_file():
        # drawn just now: recorded only once every image of every split decodes, so a run that fails on a
        # broken image leaves no split in the (committed) splits/ folder. The decodes are cached: the
        # other splits' loads read them from there.
        for other in SPLITS:
            if other != split:
                decode(other)
        _record(table, split_file)
    labels = part["class"].map({c: i for i, c in enumerate(classes)}).to_numpy(np.int64)
    # provenance: the split file, and one hash over the folder's file list and bytes
    sources = {str(split_file): sha256_file(split_file), str(root): sha256_folder(root, table["path"])}
    return ImageDataset(images=images, targets=labels, classes=classes, split=split, name=name,
                        ids=part["path"].to_numpy(str), sources=sources)
