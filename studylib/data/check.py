"""`studylib data check`: which datasets are present, their sizes, and verified checksums.

Every image of the image-folder sets (faces, plants, DeepWeeds) is decoded: each unreadable or non-image
file is listed, all at once, where a run would stop at the first. "missing" means the folder is absent;
a folder that is there but unusable is "invalid", with what is wrong.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import deepweeds, fer2013, ferplus, imagefolder
from ..io import sha256_file, sha256_folder
from .base import DataError
from .images import unreadable

# sha256 of the files as published (see ../shared/data/PROVENANCE.md)
KNOWN_SHA256 = {
    "fer2013.csv": "3b8d9617d1017f34733c8f2474d7784c563ce86c40a86ac12c2d37cc968f871b",
    "fer2013.csv.gz": "67dab5b3a8ed52854e74014d7e46ef7a42cc72a7508b8a3a33b5a37d4d1eb464",
    "fer2013new.csv": "9206e20d62f56475939f516847d61753e4860caeac9718b560129541b776fc2c",
    "deepweeds/labels.csv": "6fb95b89fd9d384f94e185a5cab6c5da7c987649399c90618ecc60acfb0112eb",
    "plant-seedlings/labels.csv": "b8987427a6154fb4750d33a2ad7b4f8e74d7ac47b1b0942daf2dde141ce6a2c9",
}


@dataclass
class Item:
    dataset: str
    status: str        # ok | missing | invalid | partial | checksum mismatch
    rows: int | None
    classes: int | None
    checksum: str      # verified | mismatch | n/a | -
    required: bool
    where: str
    fix: str = ""
    error: str = ""    # invalid: the first problem found (file, line) as the loader reports it; for images, all
    sha256: str = ""   # of the file (or of a folder's images) as read, for the audit's run record


def _invalid(dataset: str, path: Path, error: DataError, required: bool, generated: bool, original: str) -> Item:
    """A file that is there but cannot be used: its first error, and the fix (never 'put it at' its own path)."""
    fix = ("regenerate the demo data (`studylib data make-demo DIR`)" if generated else
           f"the file is in the right place but unusable: correct what is named, or replace it with the "
           f"original ({original})")
    return Item(dataset, "invalid", None, None, "-", required, str(path), fix, str(error))


def _bad_images(what: str, problems: list[str], total: int) -> DataError:
    """One error listing every unusable image file, one per line."""
    return DataError(f"{len(problems)} of {total} files of {what} are not usable images:\n    "
                     + "\n    ".join(problems))


def _verify(path: Path, key: str, generated: bool) -> tuple[str, str]:
    """(checksum status, sha256): generated data has no published hash to check, but is still hashed."""
    digest = sha256_file(path)
    return ("n/a" if generated else "verified" if digest == KNOWN_SHA256[key] else "mismatch"), digest


FER_ORIGIN = ("Kaggle: challenges-in-representation-learning-facial-expression-recognition-challenge "
              "(fer2013.csv, 301 MB; .csv.gz also read)")
FERPLUS_ORIGIN = "https://github.com/microsoft/FERPlus: fer2013new.csv (needs FER2013 beside it)"


def _fer(d: Path, generated: bool) -> list[Item]:
    items, usage = [], None
    try:
        p = fer2013.find_csv(d)
    except DataError:
        items.append(Item("FER2013", "missing", None, None, "-", True, str(d / "fer2013" / "fer2013.csv"),
                          FER_ORIGIN))
    else:
        try:
            arrays, _ = fer2013.load_arrays(p)  # parses and validates every row (raises naming file and line)
        except DataError as e:
            items.append(_invalid("FER2013", p, e, True, generated, FER_ORIGIN))
        else:
            usage = arrays["usage"]
            ck, digest = _verify(p, p.name, generated)
            items.append(Item("FER2013", "ok", len(arrays["labels"]), 7, ck, True, str(p), sha256=digest))
    try:
        p = ferplus.find_csv(d)
    except DataError:
        items.append(Item("FERPlus votes", "missing", None, None, "-", True,
                          str(d / "ferplus" / "fer2013new.csv"), FERPLUS_ORIGIN))
        return items
    try:  # the votes are checked against FER2013's rows when those could be read
        n = len(ferplus.read_votes(p, usage)) if usage is not None else sum(1 for _ in open(p)) - 1
    except DataError as e:
        items.append(_invalid("FERPlus votes", p, e, True, generated, FERPLUS_ORIGIN))
        return items
    ck, digest = _verify(p, "fer2013new.csv", generated)
    items.append(Item("FERPlus votes", "ok", n, 10, ck, True, str(p), sha256=digest))
    return items


def _deepweeds(d: Path, generated: bool) -> list[Item]:
    root = deepweeds.root_of(d)
    labels = root / "labels" / "labels.csv"
    if not labels.is_file():
        return [Item("DeepWeeds labels", "missing", None, None, "-", False, str(labels),
                     "https://github.com/AlexOlsen/DeepWeeds: the labels/ folder (labels.csv + 5-fold splits)")]
    try:
        df = deepweeds.read_labels(labels, "labels")
    except DataError as e:
        return [_invalid("DeepWeeds labels", labels, e, False, generated,
                         "https://github.com/AlexOlsen/DeepWeeds: labels/labels.csv")]
    ck, digest = _verify(labels, "deepweeds/labels.csv", generated)
    folds = sum((root / "labels" / f"{s}_subset{k}.csv").is_file() for s in deepweeds.SPLITS for k in range(5))
    items = [Item("DeepWeeds labels", "ok" if folds == 15 else "partial", len(df), df["Label"].nunique(), ck,
                  False, str(labels), "" if folds == 15 else f"only {folds} of 15 split files found", sha256=digest)]
    images = root / "images"
    get = deepweeds.GET_IMAGES.format(folder=images) + " Only the gpu profile needs them."
    if not images.is_dir():
        return items + [Item("DeepWeeds images", "missing", 0, None, "-", False, str(images), get)]
    present = [images / f for f in df["Filename"] if (images / f).is_file()]
    absent = "" if len(present) == len(df) else f"{len(df) - len(present)} of {len(df)} images absent. {get}"
    problems = unreadable(present, "DeepWeeds images")
    if problems:
        item = _invalid("DeepWeeds images", images, _bad_images(str(images), problems, len(present)), False,
                        generated, "https://github.com/AlexOlsen/DeepWeeds: images.zip")
        item.rows, item.fix = len(present), " ".join(filter(None, [item.fix, absent]))
        return items + [item]
    return items + [Item("DeepWeeds images", "partial" if absent else "ok", len(present), None, "-", False,
                         str(images), absent)]


def _folder(label: str, root: Path, generated: bool, expect: tuple[int, int], labels_key: str | None,
            fix: str) -> Item:
    try:
        files = imagefolder.scan(root)
    except DataError as e:  # a folder that is there but holds no class folders of images is invalid
        return (_invalid(label, root, e, True, generated, fix) if root.is_dir()
                else Item(label, "missing", None, None, "-", True, str(root), fix))
    strays = [f"{p}: not an image file (the loaders skip it); move it out of the class folder"
              for p in imagefolder.not_images(root)]
    problems = sorted(strays + unreadable([root / p for p in files["path"]], label))
    if problems:
        return _invalid(label, root, _bad_images(str(root), problems, len(files) + len(strays)), True, generated,
                        fix)
    ck = "-"
    if labels_key and (root / "labels.csv").is_file():
        ck = _verify(root / "labels.csv", labels_key, generated)[0]
    n, k = len(files), files["class"].nunique()
    status = "ok" if generated or (n, k) == expect else "partial"
    return Item(label, status, n, k, ck, True, str(root),
                "" if status == "ok" else f"expected {expect[0]} images in {expect[1]} classes. {fix}",
                sha256=sha256_folder(root, files["path"]))


def check(data_dir) -> pd.DataFrame:
    """One row per dataset: status, rows, classes, checksum, whether required, path, and how to fix."""
    d = Path(data_dir)
    generated = (d / "GENERATED.txt").is_file()
    # a missing folder reports every dataset as missing, each with where to get it
    items = _fer(d, generated) + _deepweeds(d, generated) + [
        _folder("LFW faces 8x30", d / "faces" / "lfw-8x30", generated, (240, 8), None,
                "LFW deep-funneled (http://vis-www.cs.umass.edu/lfw/): the first 30 images of the 8 people "
                "with most images, as <Person>/<Person>_NNNN.jpg"),
        _folder("Plant Seedlings", d / "plant-seedlings", generated, (4747, 12), "plant-seedlings/labels.csv",
                "Kaggle plant-seedlings-classification train/ (Giselsson et al. 2017), <Species>/<id>.jpg"),
    ]
    df = pd.DataFrame([i.__dict__ for i in items])
    bad = df["checksum"].eq("mismatch")
    df.loc[bad, "status"] = "checksum mismatch"
    df.loc[bad, "fix"] = "this file differs from the published one (sha256); replace it with the original"
    return df


def sources(df: pd.DataFrame) -> dict[str, str]:
    """{path: sha256} of what `check` read, for the audit's run record (absent datasets are left out)."""
    return {r["where"]: r["sha256"] for _, r in df.iterrows() if r["sha256"]}


def report(data_dir) -> tuple[str, bool]:
    """The printable table plus fix-it lines, and whether everything required is usable."""
    df = check(data_dir)
    table = df[["dataset", "status", "rows", "classes", "checksum", "required"]].copy()
    table["rows"] = table["rows"].map(lambda v: "-" if pd.isna(v) else f"{int(v):,}")
    table["classes"] = table["classes"].map(lambda v: "-" if pd.isna(v) else str(int(v)))
    table["required"] = table["required"].map({True: "yes", False: "gpu profile only"})
    note = "" if Path(data_dir).is_dir() else "  (does not exist: pass --data-dir, or create it as below)"
    lines = [f"Data folder: {Path(data_dir).resolve()}{note}", table.to_string(index=False), ""]
    for _, r in df[df["status"] != "ok"].iterrows():
        if r["status"] == "invalid":  # present: say what is wrong with it, not where to put it
            lines.append(f"- {r['dataset']}: invalid: {r['error']}\n    fix: {r['fix']}")
        else:
            lines.append(f"- {r['dataset']}: put it at {r['where']}\n    {r['fix']}")
    ok = not ((df["status"] != "ok") & df["required"]).any()
    lines.append("All required datasets are present." if ok else
                 "Some required datasets are missing or invalid (above).")
    return "\n".join(lines), ok
