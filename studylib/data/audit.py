"""Audit functions for notebook 01: counts, imbalance, majority baseline, blank and duplicate images."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from .. import metrics
from . import deepweeds, fer2013, ferplus
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
    """`metrics.majority_baseline` on two datasets, with the majority class's name."""
    out = metrics.majority_baseline(train.labels, test.labels)
    return {"class": train.classes[out["majority_class"]], **out}


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
    """FER2013 label (rows, FER2013's own classes) vs FERPlus plurality label (columns, FERPlus's own
    classes), named rows. The columns put FERPlus's 7 shared emotions in the order of the FER2013 rows
    they correspond to (ferplus.TO_FER2013), then contempt, unknown and not-a-face: full agreement is
    then the diagonal of the first 7 columns."""
    t = ferplus.votes_table(data_dir, cache_dir)
    t = t[t["named"]]
    to_fer = {fer: plus for plus, fer in ferplus.TO_FER2013.items()}
    order = [ferplus.CLASSES_10[to_fer[i]] for i in range(len(fer2013.CLASSES))]
    order += [c for c in ferplus.CLASSES_10 if c not in order]
    return pd.crosstab(pd.Categorical(np.array(fer2013.CLASSES)[t["fer2013"]], fer2013.CLASSES),
                       pd.Categorical(np.array(ferplus.CLASSES_10)[t["plurality"]], order),
                       rownames=["FER2013"], colnames=["FERPlus plurality"], dropna=False)


# --- what notebook 01 shows, one call per cell --------------------------------------------------------

# The rows of `check.check` each audited dataset needs (FERPlus's votes are read against FER2013's rows).
NEEDS = {"fer2013": ("FER2013",), "ferplus": ("FER2013", "FERPlus votes"), "deepweeds": ("DeepWeeds labels",),
         "faces": ("LFW faces 8x30",), "plants": ("Plant Seedlings",)}
NAMES = {"fer2013": "FER2013", "ferplus": "FERPlus", "deepweeds": "DeepWeeds", "faces": "LFW faces",
         "plants": "Plant Seedlings"}
CHECKSUM_WORDS = {"verified": "verified (the published sha256)", "mismatch": "MISMATCH", "n/a": "n/a (generated)",
                  "-": "—"}
USABLE = ("ok", "checksum mismatch")  # a file differing from the published one is audited (the check flags it)


def _skip_line(dataset: str, status: pd.DataFrame, datasets) -> str:
    """'' when the dataset's section runs, else the one line saying why it is skipped."""
    name = NAMES.get(dataset, dataset)
    if dataset not in datasets:
        return f"**{name}** is not audited in this run (its `datasets` parameter leaves it out)."
    rows = status.set_index("dataset").reindex(list(NEEDS.get(dataset, ())))
    bad = rows[~rows["status"].isin(USABLE)]
    if bad.empty:
        return ""
    hint = "(`studylib data check --data-dir DIR` says what belongs where and how to get it)"
    if list(bad.index) == [rows.index[-1]] and bad["status"].iloc[0] == "missing":  # its own file, absent
        return f"**{bad.index[0]}** is not in the data folder: this section is skipped {hint}."
    return f"**{name}** is skipped: " + "; ".join(_why(label, r) for label, r in bad.iterrows()) + f" {hint}."


def _why(label: str, row) -> str:
    """What is wrong with one dataset of the check (a partial one: the first sentence of its fix)."""
    if row["status"] == "missing":
        return f"{label} is not in the data folder"
    partial = f" ({str(row['fix']).split('. ')[0]})" if row["status"] == "partial" else ""
    return f"{label} is {row['status']}{partial}"


def sections(status: pd.DataFrame, datasets) -> dict[str, str]:
    """Which of the audit's sections run, from the data check (`check.check`): {dataset: '' when its
    section runs, else the one line saying why it is skipped (not audited, absent, unusable)}."""
    return {d: _skip_line(d, status, datasets) for d in NEEDS}


def _runs(plan, dataset: str) -> bool:
    """Whether a dataset's section runs: `plan` is `sections(...)`, or a plain list of dataset names."""
    return plan.get(dataset) == "" if isinstance(plan, dict) else dataset in plan


def check_table(status: pd.DataFrame) -> pd.DataFrame:
    """The data check as the audit shows it, one row per dataset: status, size, checksum verdict, the first
    16 hex digits of its sha256 (of the file, or of a folder over its images) and the fix when absent."""
    table = status[["dataset", "status"]].copy()
    for col in ("rows", "classes"):
        table[col] = status[col].map(lambda v: "—" if pd.isna(v) else f"{int(v):,}")
    table["checksum"] = status["checksum"].map(CHECKSUM_WORDS).fillna(status["checksum"])
    table["sha256 (first 16)"] = status["sha256"].map(lambda h: h[:16] if h else "—")
    table["needed by"] = status["required"].map({True: "every profile", False: "gpu profile only"})
    table["fix"] = status["fix"]
    return table.set_index("dataset")


def load_fer(data_dir, plan) -> dict[str, ImageDataset]:
    """FER2013's three splits by usage name, or {} when its section does not run (`sections`)."""
    return {s: fer2013.load(data_dir, s) for s in fer2013.USAGES} if _runs(plan, "fer2013") else {}


def blank_rows(fer: dict[str, ImageDataset]) -> list[int]:
    """Csv rows of the blank images over all splits, sorted."""
    return sorted(int(r) for ds in fer.values() for r in ds.ids[blank_images(ds)])


def duplicates(fer: dict[str, ImageDataset], enabled: bool) -> dict:
    """duplicate_summary of FER2013's byte-identical images ({} when disabled or not audited)."""
    return duplicate_summary(duplicate_groups(list(fer.values()))) if fer and enabled else {}


def agreement(data_dir, plan) -> dict | None:
    """`ferplus_agreement` when FERPlus's section runs, else None."""
    return ferplus_agreement(data_dir) if _runs(plan, "ferplus") else None


def record_metrics(fer: dict, blank: list[int], dups: dict, agree: dict | None) -> dict:
    """What the audit's record keeps: FER2013's majority baseline (PrivateTest), blank images, duplicates,
    FERPlus agreement (None, or {}, for a dataset not audited)."""
    return {"fer2013_majority_baseline": majority_baseline(fer["Training"], fer["PrivateTest"]) if fer else {},
            "blank_images": len(blank) if fer else None, "duplicates": dups,
            "ferplus_agreement": agree["agreement"] if agree else None}


def oddities_table(blank: list[int], dups: dict) -> pd.DataFrame:
    """The blank images and the duplicates as one small table a reader reads (finding, count, why it
    matters), instead of a printed dict."""
    why = {"blank images": "one grey value everywhere: no face to learn from",
           "duplicate groups": "byte-identical images",
           "images in duplicate groups": "",
           "groups across splits": "the same image in Training and a test split: test images leak into training",
           "groups with conflicting labels": "the same image under two labels"}
    keys = ("groups", "images", "cross_split_groups", "label_conflict_groups")
    counts = [len(blank), *(dups[k] if dups else "not searched" for k in keys)]  # find_duplicates off: {}
    return pd.DataFrame({"finding": list(why), "count": counts, "why it matters": list(why.values())})


def sample_indices(ds: ImageDataset, n: int) -> list[int]:
    """About n images, the first few of every class, for a sample grid."""
    per_class = max(1, n // ds.num_classes)
    return [int(i) for c in range(ds.num_classes) for i in np.flatnonzero(ds.labels == c)[:per_class]]


def ferplus_counts(data_dir, plan) -> pd.DataFrame:
    """FERPlus class counts per split under plurality and majority labels (empty when not audited)."""
    if not _runs(plan, "ferplus"):
        return pd.DataFrame()
    return pd.DataFrame({f"{m} {s}": ferplus.load(data_dir, s, mode=m, num_classes=10).class_counts()
                         for m in ("plurality", "majority") for s in fer2013.USAGES})


def deepweeds_folds(data_dir, plan) -> tuple[pd.DataFrame, str]:
    """Class counts of every official DeepWeeds fold and split, and a one-line imbalance summary (empty
    when its section does not run)."""
    if not _runs(plan, "deepweeds"):
        return pd.DataFrame(), ""
    root = deepweeds.root_of(data_dir)
    labels = deepweeds.read_labels(root / "labels" / "labels.csv", "labels")
    df = pd.DataFrame({f"{s} fold {k}": deepweeds.read_labels(root / "labels" / f"{s}_subset{k}.csv", s)["Label"]
                       .value_counts().sort_index() for k in range(5) for s in deepweeds.SPLITS})
    df.index = deepweeds.CLASSES
    line = (f"imbalance (max/min): {df.iloc[:, 0].max() / df.iloc[:, 0].min():.1f}; "
            f"'Negative' share {labels['Label'].eq(8).mean():.1%} = majority baseline")
    return df, line


def image_folders(data_dir, plan, image_size: int, seed: int) -> dict[str, dict[str, ImageDataset]]:
    """The ImageFolder sets whose sections run (faces, plants), each as its recorded train/val/test split."""
    from .splits import LoadOptions, load_splits
    return {name: load_splits(name, data_dir, LoadOptions(image_size=image_size, seed=seed))
            for name in ("faces", "plants") if _runs(plan, name)}


def folder_summary(folders: dict) -> pd.DataFrame:
    """`summary` of every split of every folder set, one table."""
    return pd.concat([summary(list(sp.values())) for sp in folders.values()], ignore_index=True)


def browsable(fer: dict, folders: dict) -> dict[str, ImageDataset]:
    """Every audited split by a readable name, for the sample browser."""
    return {f"fer2013 {k}": v for k, v in fer.items()} | {f"{n} {k}": v for n, sp in folders.items()
                                                          for k, v in sp.items()}


def agreement_line(agree: dict) -> str:
    """FERPlus against FER2013's labels, in one sentence."""
    return (f"{agree['named_rows']:,} named rows ({agree['empty_name_rows']:,} with an empty image name: not a "
            f"face); FERPlus's plurality (over the 7 shared emotions) agrees with FER2013's label on "
            f"**{agree['agreement']:.1%}** of them.")


def headline(fer: dict, base: dict, n_blank: int, plan) -> str:
    """The audit's one line for the index (`plan`: `sections(...)`, or the dataset names)."""
    if not fer:
        return "audit of " + (", ".join(d for d in NEEDS if _runs(plan, d)) or "no dataset present")
    return (f"FER2013 majority baseline {base['accuracy']:.1%} ({base['class']}); "
            f"imbalance {imbalance_ratio(fer['Training']):.1f}:1; {n_blank} blank images")
