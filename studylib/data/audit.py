"""Audit functions for notebook 01: counts, imbalance, majority baseline, blank and duplicate images."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from . import fer2013, ferplus
from .base import ImageDataset


def counts(splits: list[ImageDataset]) -> pd.DataFrame:
    """Images per class (rows) and split (columns), with a total column."""
    df = pd.concat([s.class_counts() for s in splits], axis=1)
    df["total"] = df.sum(axis=1)
    return df


def imbalance_ratio(ds: ImageDataset) -> float:
    """Largest class count over the smallest non-empty one."""
    c = ds.class_counts()
    c = c[c > 0]
    return float(c.max() / c.min())


def majority_baseline(train: ImageDataset, test: ImageDataset) -> dict:
    """Accuracy of always predicting the training set's most frequent class on `test`."""
    top = int(np.bincount(train.labels, minlength=train.num_classes).argmax())
    return {"class": train.classes[top], "accuracy": float((test.labels == top).mean())}


def summary(splits: list[ImageDataset]) -> pd.DataFrame:
    """One row per split: images, classes present, imbalance ratio, majority-class share."""
    train = splits[0]
    rows = []
    for s in splits:
        rows.append({"dataset": s.name, "split": s.split, "images": len(s),
                     "image shape": "x".join(map(str, s.images.shape[1:])),
                     "classes present": int((s.class_counts() > 0).sum()),
                     "imbalance (max/min)": round(imbalance_ratio(s), 1),
                     "majority baseline acc": round(majority_baseline(train, s)["accuracy"], 4)})
    return pd.DataFrame(rows)


def blank_images(ds: ImageDataset) -> np.ndarray:
    """Row positions of images with a single value everywhere (no content)."""
    flat = ds.images.reshape(len(ds), -1)
    return np.flatnonzero(flat.min(1) == flat.max(1))


def duplicate_groups(datasets: list[ImageDataset], skip_blank: bool = True) -> pd.DataFrame:
    """Groups of byte-identical images across the given splits (split, id), one row per image."""
    recs = []
    for ds in datasets:
        blank = set(blank_images(ds)) if skip_blank else set()
        for i, img in enumerate(ds.images):
            if i not in blank:
                recs.append((hashlib.blake2b(img.tobytes(), digest_size=16).hexdigest(), ds.split, ds.ids[i],
                             int(ds.labels[i])))
    df = pd.DataFrame(recs, columns=["hash", "split", "id", "label"])
    dup = df[df.duplicated("hash", keep=False)].copy()
    dup["group"] = dup.groupby("hash").ngroup()
    return dup.drop(columns="hash").sort_values(["group", "split"]).reset_index(drop=True)


def duplicate_summary(dups: pd.DataFrame) -> dict:
    """How many duplicate groups, how many cross splits, how many disagree on the label."""
    if dups.empty:
        return {"groups": 0, "images": 0, "cross_split_groups": 0, "label_conflict_groups": 0}
    g = dups.groupby("group")
    return {"groups": int(g.ngroups), "images": int(len(dups)),
            "cross_split_groups": int((g["split"].nunique() > 1).sum()),
            "label_conflict_groups": int((g["label"].nunique() > 1).sum())}


def ferplus_agreement(data_dir, cache_dir=None) -> dict:
    """How often FERPlus's plurality emotion (among FER2013's 7) matches the FER2013 label, on named rows."""
    t = ferplus.votes_table(data_dir, cache_dir)
    votes = t[ferplus.CLASSES_10].to_numpy()
    named = t["named"].to_numpy()
    plural7 = pd.Series(votes[:, :7].argmax(1)).map(ferplus.TO_FER2013).to_numpy()
    agree = plural7 == t["fer2013"].to_numpy()
    per_class = pd.DataFrame({"fer2013": np.array(fer2013.CLASSES)[t["fer2013"].to_numpy()[named]],
                              "agree": agree[named]}).groupby("fer2013")["agree"].mean()
    return {"named_rows": int(named.sum()), "empty_name_rows": int((~named).sum()),
            "agreement": float(agree[named].mean()), "per_class": per_class}


def crosstab_votes(data_dir, cache_dir=None) -> pd.DataFrame:
    """FER2013 label (rows) vs FERPlus plurality label (columns), named rows."""
    t = ferplus.votes_table(data_dir, cache_dir)
    t = t[t["named"]]
    return pd.crosstab(pd.Categorical(np.array(fer2013.CLASSES)[t["fer2013"]], fer2013.CLASSES),
                       pd.Categorical(np.array(ferplus.CLASSES_10)[t["plurality"]], ferplus.CLASSES_10),
                       rownames=["FER2013"], colnames=["FERPlus plurality"], dropna=False)
