"""FERPlus: Microsoft's 10-annotator votes (`fer2013new.csv`) joined row by row to FER2013's pixels.

Label modes:
  plurality   -- argmax of the votes (first class on ties), as seed 003's code scores it;
  majority    -- as the FERPlus paper (Barsoum et al. 2016): single votes are dropped as outliers and
                 a row is kept only when one class has more than half of the remaining votes;
  probability -- soft targets: the vote distribution, for cross-entropy with probabilities;
  votes       -- the raw vote counts (summing to 10) as targets, exactly what seed 003's code feeds to
                 CrossEntropyLoss: soft labels with a 10x loss scale (so 10x the effective SGD step).
                 Hard labels (`.labels`) are the argmax of the votes, as that code scores them.
Class sets: 10 (the 8 emotions + unknown + NF, as seed 003) or 8 (emotions only; rows whose label
is unknown/NF are dropped). Rows with an empty image name (FERPlus marks them not-a-face) are dropped
and counted in `LAST_DROPPED`/the dataset's `dropped` attribute.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import fer2013
from ..io import sha256_file
from .base import DataError, ImageDataset

CLASSES_10 = ["neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear", "contempt",
              "unknown", "NF"]
CLASSES_8 = CLASSES_10[:8]
MODES = ("plurality", "majority", "probability", "votes")
# FERPlus emotion index -> FER2013 label (contempt/unknown/NF have no FER2013 counterpart).
TO_FER2013 = {0: 6, 1: 3, 2: 5, 3: 4, 4: 0, 5: 1, 6: 2}


def find_csv(data_dir: str | Path) -> Path:
    data_dir = Path(data_dir)
    for p in (data_dir / "ferplus" / "fer2013new.csv", data_dir / "fer2013new.csv"):
        if p.is_file():
            return p
    raise DataError(f"FERPlus not found: expected {data_dir / 'ferplus' / 'fer2013new.csv'}. Get fer2013new.csv "
                    "from https://github.com/microsoft/FERPlus and put it there (it also needs FER2013's "
                    "fer2013.csv); run `studylib data check` for all datasets.")


def read_votes(path: str | Path, fer_usage: np.ndarray) -> pd.DataFrame:
    """Read and check the votes file against FER2013's rows (same count, same Usage on every row)."""
    path = Path(path)
    try:
        df = pd.read_csv(path, keep_default_na=False, dtype={"Image name": "string", "Usage": "string"})
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as e:
        raise DataError(f"{path}: cannot be read as the FERPlus csv ({e})") from e
    missing = {"Usage", "Image name", *CLASSES_10} - set(df.columns)
    if missing:
        raise DataError(f"{path}: missing column(s) {sorted(missing)}; expected Usage, Image name, "
                        f"{', '.join(CLASSES_10)}")
    if len(df) != len(fer_usage):
        raise DataError(f"{path}: {len(df)} rows but FER2013 has {len(fer_usage)}; fer2013new.csv must align "
                        "row by row with fer2013.csv (use the two original files, unsorted and unfiltered)")
    usage = df["Usage"].str.strip().to_numpy()
    expected = np.array(fer2013.USAGES)[fer_usage]
    bad = np.flatnonzero(usage != expected)
    if bad.size:
        i = int(bad[0])
        raise DataError(f"{path}, line {i + 2}: Usage {usage[i]!r} but FER2013 row {i} is {expected[i]!r} "
                        f"({bad.size} rows disagree); the files do not align row by row")
    votes = df[CLASSES_10].apply(pd.to_numeric, errors="coerce")
    bad = np.flatnonzero(votes.isna().any(axis=1).to_numpy() | (votes < 0).any(axis=1).to_numpy())
    if bad.size:
        raise DataError(f"{path}, line {int(bad[0]) + 2}: vote counts must be non-negative integers")
    df[CLASSES_10] = votes.astype(np.float32)
    return df


def majority_labels(votes: np.ndarray) -> np.ndarray:
    """FERPlus-paper majority vote: drop single votes, keep a class with > half of the rest; else -1."""
    v = np.where(votes <= 1, 0, votes)
    top = v.argmax(1)
    ok = v.max(1) > 0.5 * v.sum(1)
    return np.where(ok, top, -1)


def load(data_dir: str | Path, split: str = "Training", mode: str = "plurality", num_classes: int = 10,
         cache_dir=None, fer_csv=None, votes_csv=None) -> ImageDataset:
    """One FERPlus split as an ImageDataset (hard labels, or soft targets for mode='probability')."""
    if mode not in MODES:
        raise DataError(f"unknown FERPlus label mode {mode!r}; expected one of {MODES}")
    if num_classes not in (8, 10):
        raise DataError(f"FERPlus num_classes must be 8 or 10, got {num_classes}")
    usage_name = fer2013.SPLIT_ALIASES.get(split, split)
    if usage_name not in fer2013.USAGES:
        raise DataError(f"unknown FERPlus split {split!r}; expected one of {fer2013.USAGES}")
    fer_path = Path(fer_csv) if fer_csv else fer2013.find_csv(data_dir)
    arrays, fer_sha = fer2013.load_arrays(fer_path, cache_dir)
    votes_path = Path(votes_csv) if votes_csv else find_csv(data_dir)
    df = read_votes(votes_path, arrays["usage"])

    rows = np.flatnonzero(arrays["usage"] == fer2013.USAGES.index(usage_name))
    named = df["Image name"].str.strip().to_numpy()[rows] != ""
    dropped_unnamed = int((~named).sum())
    rows = rows[named]
    votes = df[CLASSES_10].to_numpy()[rows]
    if mode in ("probability", "votes"):
        if num_classes == 8:
            votes = votes[:, :8]
        keep = votes.sum(1) > 0
        targets = votes[keep] if mode == "votes" else votes[keep] / votes[keep].sum(1, keepdims=True)
        targets = targets.astype(np.float32)
    else:
        labels = votes.argmax(1) if mode == "plurality" else majority_labels(votes)
        keep = (labels >= 0) & (labels < num_classes)
        targets = labels[keep].astype(np.int64)
    rows = rows[keep]
    ds = ImageDataset(images=arrays["images"][rows], targets=targets,
                      classes=list(CLASSES_10[:num_classes]), split=usage_name, name="ferplus", ids=rows,
                      sources={str(fer_path): fer_sha, str(votes_path): sha256_file(votes_path)})
    ds.dropped = {"empty_image_name": dropped_unnamed, "no_label": int((~keep).sum())}
    return ds


def votes_table(data_dir: str | Path, cache_dir=None) -> pd.DataFrame:
    """All rows: FER2013 label and usage, plurality and majority labels, and the vote columns."""
    fer_path = fer2013.find_csv(data_dir)
    arrays, _ = fer2013.load_arrays(fer_path, cache_dir)
    df = read_votes(find_csv(data_dir), arrays["usage"])
    votes = df[CLASSES_10].to_numpy()
    out = pd.DataFrame({"usage": np.array(fer2013.USAGES)[arrays["usage"]], "fer2013": arrays["labels"],
                        "named": df["Image name"].str.strip().to_numpy() != "",
                        "plurality": votes.argmax(1), "majority": majority_labels(votes)})
    return pd.concat([out, df[CLASSES_10]], axis=1)
