"""Generated stand-ins that write the real on-disk formats, for tests and the `demo` profile.

- fer2013.csv + fer2013new.csv with cartoon faces whose expression (brows, eyes, mouth) is the label;
- a DeepWeeds folder (labels/, images/), its file names generated in the real set's pattern;
- ImageFolder sets of synthetic identities (faces) and synthetic plants.
Each is learnable (a small CNN gets > 90%) but not trivial: position, scale, contrast and noise vary.
The demo data depend on nothing but the seed and this code: the same bytes on every machine, whatever
lies beside the repository.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from . import deepweeds, fer2013, ferplus

FER_TO_FERPLUS = {v: k for k, v in ferplus.TO_FER2013.items()}


def _face(label: int, rng: np.random.Generator, side: int = 48) -> np.ndarray:
    """A 48x48 grayscale cartoon face showing FER2013 expression `label`."""
    s = side / 48 * rng.uniform(0.9, 1.1)
    cx, cy = side / 2 + rng.uniform(-3, 3), side / 2 + rng.uniform(-3, 3)
    im = Image.new("L", (side, side), int(rng.uniform(20, 80)))
    d = ImageDraw.Draw(im)
    skin, ink = int(rng.uniform(140, 220)), int(rng.uniform(0, 50))
    d.ellipse([cx - 17 * s, cy - 21 * s, cx + 17 * s, cy + 21 * s], fill=skin)
    big = label in (2, 5)  # fear, surprise: wide eyes
    er = (3.2 if big else 2.0) * s
    for ex in (-7, 7):
        d.ellipse([cx + ex * s - er, cy - 5 * s - er, cx + ex * s + er, cy - 5 * s + er], fill=ink)
    # brows: (inner height, outer height) relative to the eyes; angry slants down inwards, sad/fear up
    inner, outer = {0: (-7, -12), 1: (-11, -11), 2: (-13, -10), 3: (-11, -11), 4: (-13, -9),
                    5: (-15, -15), 6: (-11, -11)}[label]
    for side_sign in (-1, 1):
        left_h = inner if label != 1 or side_sign < 0 else -14  # disgust: one brow raised
        d.line([cx + side_sign * 3 * s, cy + left_h * s, cx + side_sign * 11 * s, cy + outer * s],
               fill=ink, width=max(1, round(2 * s)))
    my, w = cy + 10 * s, 7 * s
    if label == 3:    # happy: smile
        d.arc([cx - w, my - 6 * s, cx + w, my + 4 * s], 20, 160, fill=ink, width=2)
    elif label == 4:  # sad: frown
        d.arc([cx - w, my, cx + w, my + 8 * s], 200, 340, fill=ink, width=2)
    elif label in (2, 5):  # fear: small open mouth, surprise: big one
        r = (2.5 if label == 2 else 5) * s
        d.ellipse([cx - r, my - r, cx + r, my + r], fill=ink)
    elif label == 1:  # disgust: skewed mouth
        d.line([cx - w, my + 3 * s, cx + w, my - 3 * s], fill=ink, width=2)
    else:             # angry (tight) / neutral (flat)
        d.line([cx - (5 if label == 0 else 7) * s, my, cx + (5 if label == 0 else 7) * s, my], fill=ink, width=2)
    arr = np.asarray(im, dtype=np.float32) + rng.normal(0, 8, (side, side))
    return np.clip(arr, 0, 255).astype(np.uint8)


def make_fer(data_dir, n_per_class=(60, 12, 12), seed: int = 0, blank: int = 2, gzip: bool = False) -> dict:
    """Write data_dir/fer2013/fer2013.csv and data_dir/ferplus/fer2013new.csv (aligned row by row)."""
    rng = np.random.default_rng(seed)
    rows, votes, names = [], [], []
    for usage, n in zip(fer2013.USAGES, n_per_class):
        for label in rng.permutation(np.repeat(np.arange(7), n)):
            img = _face(int(label), rng)
            v = np.zeros(10, int)
            k = int(rng.integers(6, 11))  # 6-10 of 10 annotators agree, the rest scatter
            v[FER_TO_FERPLUS[int(label)]] += k
            np.add.at(v, rng.integers(0, 8, 10 - k), 1)
            rows.append((int(label), " ".join(map(str, img.ravel())), usage))
            votes.append(v)
            names.append(f"fer{len(rows) - 1:07d}.png")
    for i in rng.choice(len(rows), blank, replace=False):  # like the real set: blank images marked not-a-face
        rows[i] = (rows[i][0], " ".join(["0"] * 2304), rows[i][2])
        votes[i] = np.eye(10, dtype=int)[9] * 10
        names[i] = ""
    fer_path = Path(data_dir) / "fer2013" / ("fer2013.csv.gz" if gzip else "fer2013.csv")
    fer_path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["emotion", "pixels", "Usage"]).to_csv(fer_path, index=False, lineterminator="\n")
    plus = pd.DataFrame(votes, columns=ferplus.CLASSES_10)
    plus.insert(0, "Image name", names)
    plus.insert(0, "Usage", [r[2] for r in rows])
    plus_path = Path(data_dir) / "ferplus" / "fer2013new.csv"
    plus_path.parent.mkdir(parents=True, exist_ok=True)
    plus.to_csv(plus_path, index=False, lineterminator="\n")
    return {"fer2013": fer_path, "ferplus": plus_path}


def _blob_image(cls: int, n_classes: int, rng, size: int, plant: bool) -> np.ndarray:
    """An RGB image whose class sets a hue and a shape (identities / plant species)."""
    hue = np.array([np.cos(2 * np.pi * cls / n_classes), np.cos(2 * np.pi * (cls / n_classes + 1 / 3)),
                    np.cos(2 * np.pi * (cls / n_classes + 2 / 3))]) * 70 + 128
    bg = (90, 70, 50) if plant else tuple(int(x) for x in rng.uniform(40, 200, 3))
    im = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(im)
    c = size / 2 + rng.uniform(-0.1, 0.1, 2) * size
    r = size * rng.uniform(0.22, 0.3)
    n_parts = 2 + cls % 4  # petals / facial features: count is the second class cue
    for k in range(n_parts):
        a = 2 * np.pi * k / n_parts + rng.uniform(-0.2, 0.2)
        px, py = c[0] + r * np.cos(a), c[1] + r * np.sin(a)
        d.ellipse([px - r / 2, py - r / 2, px + r / 2, py + r / 2], fill=tuple(int(x) for x in hue))
    arr = np.asarray(im, dtype=np.float32) + rng.normal(0, 10, (size, size, 3))
    return np.clip(arr, 0, 255).astype(np.uint8)


def make_imagefolder(root, classes: list[str], n_per_class: int = 20, size: int = 64, seed: int = 0,
                     plant: bool = False) -> Path:
    """Write root/<class>/<class>_NNNN.jpg for each class."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    for i, c in enumerate(classes):
        (root / c).mkdir(parents=True, exist_ok=True)
        for j in range(n_per_class):
            Image.fromarray(_blob_image(i, len(classes), rng, size, plant)).save(
                root / c / f"{c}_{j + 1:04d}.jpg", quality=95)
    return root


def make_deepweeds(data_dir, n_per_class: int = 12, size: int = 64, seed: int = 0, real_labels=None) -> Path:
    """Write data_dir/deepweeds/{labels,images} like the real set. File names follow the real pattern
    (`<date>-<time>-<n>.jpg`); `real_labels` (a real labels.csv) takes them from it instead, for tests
    that compare with the real set. The demo never passes it (`make_demo_data`)."""
    rng = np.random.default_rng(seed)
    root = Path(data_dir) / "deepweeds"
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    if real_labels and Path(real_labels).is_file():
        real = pd.read_csv(real_labels)
        df = real.groupby("Label", group_keys=False).head(n_per_class).reset_index(drop=True)
    else:
        df = pd.DataFrame({"Filename": [f"20170101-0000{i:02d}-{j}.jpg" for i in range(9) for j in range(n_per_class)],
                           "Label": np.repeat(np.arange(9), n_per_class)})
        df["Species"] = [deepweeds.CLASSES[k] for k in df["Label"]]
    for f, lab in zip(df["Filename"], df["Label"]):
        Image.fromarray(_blob_image(int(lab), 9, rng, size, plant=True)).save(root / "images" / f, quality=95)
    df.to_csv(root / "labels" / "labels.csv", index=False, lineterminator="\n")
    for fold in range(5):  # stratified 60/20/20 per fold, as the official files cover every image once
        order = df.sample(frac=1, random_state=seed + fold)
        part = order.groupby("Label").cumcount() % 5
        for split, sel in (("train", part < 3), ("val", part == 3), ("test", part == 4)):
            order[sel][["Filename", "Label"]].to_csv(root / "labels" / f"{split}_subset{fold}.csv", index=False,
                                                     lineterminator="\n")
    return root


FACE_IDS = ["Ada_Lovelace", "Alan_Turing", "Grace_Hopper", "John_von_Neumann", "Katherine_Johnson",
            "Claude_Shannon", "Hedy_Lamarr", "Edsger_Dijkstra"]
PLANTS = ["Black-grass", "Charlock", "Cleavers", "Common_Chickweed", "Fat_Hen", "Maize"]


def make_demo_data(data_dir, seed: int = 0, scale: int = 1) -> Path:
    """A whole data folder laid out like ../shared/data, every set generated from `seed` alone: nothing
    outside the repository is read, so the demo's bytes (and its figures) are the same everywhere."""
    data_dir = Path(data_dir)
    make_fer(data_dir, n_per_class=(60 * scale, 15 * scale, 15 * scale), seed=seed)
    make_deepweeds(data_dir, n_per_class=10 * scale, seed=seed)
    make_imagefolder(data_dir / "faces" / "lfw-8x30", FACE_IDS, n_per_class=30, size=64, seed=seed)
    make_imagefolder(data_dir / "plant-seedlings", PLANTS, n_per_class=20 * scale, size=64, seed=seed, plant=True)
    (data_dir / "GENERATED.txt").write_text("Generated by studylib.data.synthetic.make_demo_data: not real data.\n",
                                            newline="\n")
    return data_dir
