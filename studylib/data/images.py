"""Decoding image files into one uint8 array, with a cache of the decoded result."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm import tqdm  # text bars: a finished widget bar (tqdm.auto) reads "model not found" once saved

from ..io import atomic_write
from ..paths import default_cache_dir
from .base import DataError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


def read_image(path: Path, size: int | None, mode: str = "RGB") -> np.ndarray:
    """One image as uint8 (H, W, C), resized to size x size when size is given."""
    try:
        if path.stat().st_size == 0:
            raise DataError(f"{path}: empty image file; replace it with the original image")
        with Image.open(path) as im:
            im = im.convert(mode)
            if size and im.size != (size, size):
                im = im.resize((size, size), Image.BILINEAR)
            arr = np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise DataError(f"{path}: unreadable image ({e}); replace it with the original image") from e
    return arr[..., None] if arr.ndim == 2 else arr


def unreadable(paths: list[Path], desc: str = "check") -> list[str]:
    """Every file of `paths` that does not decode, each as the loaders' own error for it (empty, truncated,
    not an image): a data check lists them all at once, where a run would stop at the first."""
    problems = []
    for p in tqdm(paths, desc=desc, leave=False):
        try:
            read_image(p, None, "RGB")  # a full decode: opening reads only the header, truncation shows later
        except DataError as e:
            problems.append(str(e))
    return problems


def check_exist(paths: list[Path], what: str, how_to_fix: str) -> None:
    """Raise one DataError listing how many files are missing and the first few."""
    missing = [p for p in paths if not p.is_file()]
    if missing:
        first = ", ".join(str(p) for p in missing[:5])
        raise DataError(f"{what}: {len(missing)} of {len(paths)} image files are missing (first: {first}). "
                        f"{how_to_fix}")


def decode_all(paths: list[Path], size: int | None, mode: str = "RGB", cache_dir=None,
               desc: str = "decode") -> np.ndarray:
    """All images as one uint8 (N, H, W, C) array; cached by file list, sizes, mtimes and target size."""
    key = hashlib.sha256()
    for p in paths:
        st = p.stat()
        key.update(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    key.update(f"{size}|{mode}".encode())
    cache = Path(cache_dir or default_cache_dir()) / f"images-{key.hexdigest()[:20]}.npy"
    if cache.is_file():
        return np.load(cache)
    arrays = [read_image(p, size, mode) for p in tqdm(paths, desc=desc, leave=False)]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise DataError(f"{desc}: images differ in size {sorted(shapes)[:3]}...; pass image_size to resize them")
    out = np.stack(arrays) if arrays else np.zeros((0, size or 1, size or 1, 3 if mode == "RGB" else 1), np.uint8)
    def save(tmp):
        with open(tmp, "wb") as f:  # closed (and flushed) before the rename
            np.save(f, out)
    atomic_write(cache, save)
    return out
