"""FER2013 from the original Kaggle csv (`fer2013.csv` or `fer2013.csv.gz`), parsed once and cached.

Columns: emotion (0..6), pixels (2304 space-separated 0..255 values, 48x48 grayscale), Usage
(Training / PublicTest / PrivateTest). PublicTest is our validation split; PrivateTest the test split.

A kit (`fer2013-kit.npz`, written by `write_kit`, read by `read_kit`) is a second source: some rows of the
csv, losslessly (uint8 pixels, stored as differences that compress better, labels, usage and each image's
csv row), with the source csv's sha256 and a
sha256 of the arrays, checked on every read. `bench/gpu_kit.py` writes one holding exactly the images the
gpu-lite0 profile reads, so a machine without the 301 MB csv (a GPU machine that receives an 11 MB kit)
trains on the same tensors. Where a folder holds both, the csv is read.
"""
from __future__ import annotations

import functools
import hashlib
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
KIT = "fer2013-kit.npz"
KIT_FORMAT = 1
_KIT_ARRAYS = ("images", "labels", "usage", "rows")  # what the arrays' sha256 covers, in this order


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


def find_source(data_dir: str | Path) -> Path:
    """What `load` reads under data_dir: the csv (`find_csv`), else a kit (`fer2013-kit.npz`, in `fer2013/`
    or data_dir itself)."""
    try:
        return find_csv(data_dir)
    except DataError as e:
        for folder in (Path(data_dir) / "fer2013", Path(data_dir)):
            if (folder / KIT).is_file():
                return folder / KIT
        raise DataError(f"{e} A kit of some of its rows ({KIT}, `make gpu-kit`) is read there too.") from None


def arrays_sha256(arrays: dict) -> str:
    """One sha256 over a kit's arrays (each one's name, dtype, shape and bytes, in a fixed order)."""
    h = hashlib.sha256()
    for name in _KIT_ARRAYS:
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _diff2(images: np.ndarray) -> np.ndarray:
    """Each pixel less its left and upper neighbours plus the upper-left one, modulo 256 (uint8): lossless,
    and it deflates to 11.6 MB for the GPU kit's 7,089 faces where the pixels themselves take 14.7 (PNG's
    filters do the same)."""
    d = images.copy()
    d[:, :, 1:] -= images[:, :, :-1]
    e = d.copy()
    e[:, 1:] -= d[:, :-1]
    return e


def _undiff2(d: np.ndarray) -> np.ndarray:
    """The inverse of `_diff2` (sums modulo 256, in uint8)."""
    return np.cumsum(np.cumsum(d, axis=1, dtype=np.uint8), axis=2, dtype=np.uint8)


def write_kit(path: str | Path, arrays: dict, rows, source: str | Path, source_sha256: str) -> Path:
    """Write the csv rows `rows` of `arrays` (`parse_csv`'s) as a kit (compressed, lossless: the pixels as
    uint8 differences, `_diff2`), with the source csv's name and sha256 and the sha256 of the arrays as
    `read_kit` returns them; atomically. Returns the path."""
    rows = np.unique(np.asarray(rows, dtype=np.int64))  # sorted: the order of the csv
    kit = {"images": arrays["images"][rows], "labels": arrays["labels"][rows].astype(np.int8),
           "usage": arrays["usage"][rows].astype(np.int8), "rows": rows}
    meta = {"format": np.array(KIT_FORMAT), "source_name": np.array(Path(source).name),
            "source_sha256": np.array(source_sha256), "arrays_sha256": np.array(arrays_sha256(kit))}
    stored = {**kit, "images": _diff2(kit["images"])}

    def save(tmp):
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **stored, **meta)
    return atomic_write(path, save)


def read_kit(path: str | Path) -> tuple[dict, dict]:
    """A kit's arrays (images uint8, labels int64, usage int8, rows int64) and what it says of itself
    (format, source_name, source_sha256, arrays_sha256), its arrays' sha256 checked: a kit that does not
    match it, or cannot be read, is one DataError naming the file."""
    path = Path(path)
    rebuild = "rebuild it with `make gpu-kit` (it reads the csv in place)"
    try:
        with np.load(path, allow_pickle=False) as z:
            got = {k: z[k] for k in z.files}
    except Exception as e:  # a truncated or altered zip: BadZipFile, zlib.error, ValueError, EOFError, ...
        raise DataError(f"{path}: not a readable FER2013 kit ({type(e).__name__}: {e}); {rebuild}") from e
    missing = [k for k in (*_KIT_ARRAYS, "format", "source_sha256", "arrays_sha256") if k not in got]
    if missing:
        raise DataError(f"{path}: not a FER2013 kit (missing {', '.join(missing)}); {rebuild}")
    info = {k: got.pop(k).item() for k in ("format", "source_name", "source_sha256", "arrays_sha256") if k in got}
    if info["format"] != KIT_FORMAT:
        raise DataError(f"{path}: kit format {info['format']}, this code reads format {KIT_FORMAT}; {rebuild}")
    if got["images"].dtype != np.uint8 or got["images"].ndim != 4:
        raise DataError(f"{path}: images {got['images'].dtype} {got['images'].shape}, expected uint8 (N, H, W, C); "
                        f"{rebuild}")
    got["images"] = _undiff2(got["images"])
    digest = arrays_sha256(got)
    if digest != info["arrays_sha256"]:
        raise DataError(f"{path}: its arrays' sha256 is {digest}, not the {info['arrays_sha256']} it was written "
                        f"with: the kit is damaged or was altered; {rebuild}")
    arrays = {"images": got["images"], "labels": got["labels"].astype(np.int64), "usage": got["usage"],
              "rows": got["rows"]}
    if arrays["images"].dtype != np.uint8 or arrays["images"].shape[1:] != (SIDE, SIDE, 1):
        raise DataError(f"{path}: images {arrays['images'].dtype} {arrays['images'].shape}, expected uint8 "
                        f"(N, {SIDE}, {SIDE}, 1); {rebuild}")
    return arrays, info


@functools.lru_cache(maxsize=2)
def _read_kit_once(path: str, size: int, mtime_ns: int) -> tuple[dict, dict]:
    """`read_kit`, once per file as it is (its size and mtime in the key): a task loads train, val and test
    from one kit, and each read decompresses and hashes every image. The arrays are shared: `load` indexes
    them, which copies."""
    return read_kit(path)


def load(data_dir: str | Path, split: str = "Training", cache_dir=None, csv_path=None) -> ImageDataset:
    """One FER2013 split ("Training"/"PublicTest"/"PrivateTest", or train/val/test) as an ImageDataset, from
    the csv or, where there is none, a kit (its rows of the split, `ids` their csv rows as from the csv)."""
    usage = SPLIT_ALIASES.get(split, split)
    if usage not in USAGES:
        raise DataError(f"unknown FER2013 split {split!r}; expected one of {USAGES} or {list(SPLIT_ALIASES)}")
    path = Path(csv_path) if csv_path else find_source(data_dir)
    if path.name == KIT:
        stat = path.stat()
        arrays, _ = _read_kit_once(str(path), stat.st_size, stat.st_mtime_ns)
        ids, digest = arrays["rows"], sha256_file(path)
    else:
        arrays, digest = load_arrays(path, cache_dir)
        ids = np.arange(len(arrays["labels"]))
    rows = np.flatnonzero(arrays["usage"] == USAGES.index(usage))
    return ImageDataset(images=arrays["images"][rows], targets=arrays["labels"][rows], classes=list(CLASSES),
                        split=usage, name="fer2013", ids=ids[rows], sources={str(path): digest})
