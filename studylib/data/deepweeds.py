"""DeepWeeds (Olsen et al. 2019): `labels/labels.csv`, `images/<Filename>`, official 5-fold splits.

Layout expected under data_dir/deepweeds: labels/labels.csv, labels/{train,val,test}_subset{K}.csv
(columns Filename, Label) and images/*.jpg (256x256 RGB, from the DeepWeeds repository).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..io import sha256_file
from .base import DataError, ImageDataset
from .images import check_exist, decode_all

CLASSES = ["Chinee apple", "Lantana", "Parkinsonia", "Parthenium", "Prickly acacia", "Rubber vine",
           "Siam weed", "Snake weed", "Negative"]
SPLITS = ("train", "val", "test")
GET_IMAGES = ("Download images.zip from https://github.com/AlexOlsen/DeepWeeds (the README links it, ~470 MB) "
              "and unzip it so the files sit in {folder}.")


def root_of(data_dir) -> Path:
    data_dir = Path(data_dir)
    # either the folder holding deepweeds/ or the DeepWeeds folder itself
    return data_dir if (data_dir / "labels" / "labels.csv").is_file() else data_dir / "deepweeds"


def read_labels(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"DeepWeeds {what} not found: {path}. Get the labels folder from "
                        "https://github.com/AlexOlsen/DeepWeeds (labels/) and put it there.")
    df = pd.read_csv(path, dtype={"Filename": "string"})
    if not {"Filename", "Label"} <= set(df.columns):
        raise DataError(f"{path}: needs columns Filename, Label (has {list(df.columns)})")
    lab = pd.to_numeric(df["Label"], errors="coerce")
    bad = np.flatnonzero((lab.isna() | ~lab.isin(range(len(CLASSES)))).to_numpy())
    if bad.size:
        raise DataError(f"{path}, line {int(bad[0]) + 2}: Label {df['Label'].iloc[bad[0]]!r} is not in 0..8")
    df["Label"] = lab.astype(int)
    return df


def load(data_dir, split: str = "train", fold: int = 0, image_size: int | None = 224,
         cache_dir=None) -> ImageDataset:
    """One split of one official fold, images decoded (and resized) into memory."""
    if split not in SPLITS:
        raise DataError(f"unknown DeepWeeds split {split!r}; expected one of {SPLITS}")
    if fold not in range(5):
        raise DataError(f"DeepWeeds fold must be 0..4, got {fold}")
    root = root_of(data_dir)
    split_csv = root / "labels" / f"{split}_subset{fold}.csv"
    df = read_labels(split_csv, f"split file {split_csv.name}")
    paths = [root / "images" / f for f in df["Filename"]]
    check_exist(paths, f"DeepWeeds {split} fold {fold}", GET_IMAGES.format(folder=root / "images"))
    images = decode_all(paths, image_size, "RGB", cache_dir, desc=f"DeepWeeds {split}{fold}")
    return ImageDataset(images=images, targets=df["Label"].to_numpy(np.int64), classes=list(CLASSES),
                        split=split, name="deepweeds", ids=df["Filename"].to_numpy(str),
                        sources={str(split_csv): sha256_file(split_csv)})
