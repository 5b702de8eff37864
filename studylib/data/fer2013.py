"""FER2013 from the original Kaggle csv (`fer2013.csv` or `fer2013.csv.gz`), parsed once and cached.

Columns: emotion (0..6), pixels (2304 space-separated 0..255 values, 48x48 grayscale), Usage
(Training / PublicTest / PrivateTest). PublicTest is our validation split; PrivateTest the test split.
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_write, sha256_file
from ..paths import default_cache_dir
from .base import DataError, ImageDataset

CLASSES = ["Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"]
USAGES = ["Training", "PublicTest", "PrivateTest"]
SPLIT_ALIASES = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
SIDE = 48
FILENAMES = ("fer2013.csv", "fer2013.csv.gz")


def find_csv(data_dir: str | Path) -> Path:
    """The FER2013 csv under data_dir (either `fer2013/` inside it or data_dir itself), plain or gzipped."""
    data_dir = Path(data_dir)
    for folder in (data_dir / "fer2013", data_dir):
        for name in FILENAMES:
            if (folder / name).is_file():
                return folder / name
    raise DataError(f"FER2013 not found: expected {data_dir / 'fer2013' / 'fer2013.csv'} (or .csv.gz). "
                    "Get fer2013.csv from Kaggle (challenges-in-representation-learning-facial-expression-"
                    "recognition-challenge) and put it there; run `studylib data check` for all datasets.")


def _line(row: int) -> int:
    return row + 2  # csv line number: header is line 1


def parse_csv(path: str | Path) -> dict[str, np.ndarray]:
    """Parse and validate the csv; raises DataError naming file and line on the first bad row."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype={"emotion": "string", "pixels": "string", "Usage": "string"},
                         keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError) as e:
        raise DataError(f"{path}: cannot be read as a FER2013 csv ({e})") from e
    missing = {"emotion", "pixels", "Usage"} - set(df.columns)
    if missing:
        raise DataError(f"{path}: missing column(s) {sorted(missing)}; the header must be emotion,pixels,Usage")
    if len(df) == 0:
        raise DataError(f"{path}: no data rows")

    emo = pd.to_numeric(df["emotion"], errors="coerce")
    bad = emo.isna() | ~emo.isin(range(len(CLASSES)))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path}, line {_line(i)}: emotion {df['emotion'].iloc[i]!r} is not a label in 0..6")
    usage = df["Usage"].str.strip()
    bad = ~usage.isin(USAGES)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path}, line {_line(i)}: unknown Usage {df['Usage'].iloc[i]!r}; expected one of {USAGES}")

    pix = df["pixels"].str.strip()
    counts = pix.str.count(r"\s+").fillna(-1).to_numpy() + 1
    bad = counts != SIDE * SIDE
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{path}, line {_line(i)}: {counts[i]} pixel values, expected {SIDE * SIDE} (48x48)")
    # One vectorised parse of all pixels; a non-numeric token shows up as a size mismatch or a bad value.
    # A non-numeric token stops the parse early: numpy warns (older) or raises (newer); either way the
    # slow per-row check below then finds the line.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            flat = np.fromstring(" ".join(pix.tolist()), dtype=np.int32, sep=" ")
        except ValueError:
            flat = np.zeros(0, dtype=np.int32)
    if flat.size != len(df) * SIDE * SIDE or flat.max() > 255:
        ok = pix.str.fullmatch(r"\d{1,3}(?:\s+\d{1,3})*")
        vals_ok = [ok.iloc[i] and max(map(int, pix.iloc[i].split())) <= 255 for i in range(len(df))]
        i = int(np.flatnonzero(~np.array(vals_ok))[0])
        raise DataError(f"{path}, line {_line(i)}: pixels must be integers 0..255 (found a bad value)")
    images = flat.astype(np.uint8).reshape(len(df), SIDE, SIDE, 1)
    return {"images": images, "labels": emo.to_numpy().astype(np.int64),
            "usage": np.array([USAGES.index(u) for u in usage], dtype=np.int8)}


def load_arrays(path: str | Path, cache_dir: str | Path | None = None, verbose: bool = False):
    """All rows as arrays, from the cache (.npz keyed by the source sha256) or a fresh parse.

    Returns (arrays dict, sha256 of the source file).
    """
    path = Path(path)
    digest = sha256_file(path)
    cache = Path(cache_dir or default_cache_dir()) / f"fer2013-{digest[:16]}.npz"
    t0 = time.perf_counter()
    if cache.is_file():
        with np.load(cache) as z:
            arrays = {k: z[k] for k in z.files}
        how = "cache"
    else:
        arrays = parse_csv(path)  # raises before anything is cached
        def save(tmp):
            with open(tmp, "wb") as f:  # closed (and flushed) before the rename
                np.savez(f, **arrays)
        atomic_write(cache, save)
        how = "parsed"
    if verbose:
        print(f"FER2013: {len(arrays['labels'])} rows from {how} in {time.perf_counter() - t0:.2f}s ({path.name})")
    return arrays, digest


def load(data_dir: str | Path, split: str = "Training", cache_dir=None, csv_path=None) -> ImageDataset:
    """One FER2013 split ("Training"/"PublicTest"/"PrivateTest", or train/val/test) as an ImageDataset."""
    usage = SPLIT_ALIASES.get(split, split)
    if usage not in USAGES:
        raise DataError(f"unknown FER2013 split {split!r}; expected one of {USAGES} or {list(SPLIT_ALIASES)}")
    path = Path(csv_path) if csv_path else find_csv(data_dir)
    arrays, digest = load_arrays(path, cache_dir)
    rows = np.flatnonzero(arrays["usage"] == USAGES.index(usage))
    return ImageDataset(images=arrays["images"][rows], targets=arrays["labels"][rows], classes=list(CLASSES),
                        split=usage, name="fer2013", ids=rows, sources={str(path): digest})
