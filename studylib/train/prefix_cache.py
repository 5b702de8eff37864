"""The outputs of a deterministic frozen prefix, stored on disk and shared by every fit that asks for them.

Seeds, arms and runs of a profile that freeze the same prefix (same weights, same cut point) on the
same images compute its outputs once: the first fit builds them, the others read the file. An entry
is named by a key over everything that determines the outputs (`prefix_key`), holds the sha256 of its
data file (checked on every read: a corrupted or half-copied file is rebuilt, never used), is written
whole or not at all (temp file, then rename), and is built by one process at a time (`io.file_lock`; a
second process asking for the same entry waits, then reads the finished file).

Layout under ``<cache>/prefix/``: ``<key>.npy`` (the outputs, float, sample order of the dataset),
``<key>.json`` (what went into the key, shape, dtype, sha256 of the .npy), ``<key>.lock``.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from ..io import atomic_write, file_lock, write_json
from ..paths import default_cache_dir
from .numerics import Numerics

__all__ = ["FORMAT", "PREFIX_CACHE_MAX_BYTES", "cache_folder", "images_sha256", "load_or_build", "prefix_key",
           "state_sha256"]

FORMAT = 1  # bump when what an entry holds changes: older entries then never match a key
# Entries beyond this total are removed oldest-read first (a prefix whose weights depend on the seed,
# e.g. a frozen random first conv, makes one entry per seed that only a re-run of that seed reads).
PREFIX_CACHE_MAX_BYTES = 16 << 30


def cache_folder(cache_dir=None) -> Path:
    """Where prefix outputs are stored: ``<cache_dir>/prefix``, else $STUDYLIB_PREFIX_CACHE (the tests point
    it at a temporary folder), else ``<$STUDYLIB_CACHE or ~/.cache/studylib>/prefix``."""
    if cache_dir is None and os.environ.get("STUDYLIB_PREFIX_CACHE"):
        return Path(os.environ["STUDYLIB_PREFIX_CACHE"])
    return Path(cache_dir or default_cache_dir()) / "prefix"


def state_sha256(module: nn.Module) -> str:
    """sha256 over a module's state dict (names, dtypes, shapes, bytes): its weights file's hash where it
    was loaded from one, and also the seed's draw for randomly initialised layers and every buffer
    (BatchNorm running statistics, the input step's mean and std)."""
    h = hashlib.sha256()
    for name, t in module.state_dict().items():
        t = t.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def images_sha256(images: np.ndarray) -> str:
    """sha256 over a dataset's image array (shape, dtype, bytes in sample order): which samples, in which
    order, and every pixel of each."""
    h = hashlib.sha256(f"{images.dtype}|{images.shape}\0".encode())
    h.update(memoryview(np.ascontiguousarray(images)).cast("B"))
    return h.hexdigest()


def prefix_key(prefix: nn.Module, images: np.ndarray, numerics: Numerics) -> tuple[str, dict]:
    """(key, inputs): the entry's name and what it was computed from.

    Everything that changes the outputs is in it: the prefix's structure (its modules and their
    settings: the cut point, the input step's channels and gray repeat) and state (weights, buffers),
    the images, the resize (size, interpolation), memory format, autocast dtype, device type and the
    torch version (kernels may round differently).
    """
    inputs = dict(format=FORMAT, structure=hashlib.sha256(repr(prefix).encode()).hexdigest(),
                  steps=len(prefix), state=state_sha256(prefix), images=images_sha256(images),
                  **numerics.key(), torch=torch.__version__)
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:32]
    return key, inputs


def _sha256_of(path: Path, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file, read now (never a memo: the point is to catch a file changed in place)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _read(folder: Path, key: str) -> torch.Tensor | None:
    """The stored outputs if the entry is complete and its data file matches its recorded sha256, else None."""
    meta_path, data_path = folder / f"{key}.json", folder / f"{key}.npy"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("key") != key or _sha256_of(data_path) != meta.get("sha256"):
            return None
        arr = np.load(data_path, allow_pickle=False)
    except (OSError, ValueError, json.JSONDecodeError):
        return None
    if list(arr.shape) != meta.get("shape") or str(arr.dtype) != meta.get("dtype"):
        return None
    os.utime(data_path)  # mark it read: pruning removes the entries read longest ago first
    return torch.from_numpy(arr)


def _write(folder: Path, key: str, feats: torch.Tensor, inputs: dict, about: dict) -> None:
    """Data first, then its meta (the meta names the data's sha256, so a reader never takes a mismatch)."""
    arr = feats.detach().cpu().contiguous().numpy()
    digest = {}

    def write(tmp):
        with open(tmp, "wb") as f:
            np.save(f, arr, allow_pickle=False)
        digest["sha256"] = _sha256_of(Path(tmp))

    atomic_write(folder / f"{key}.npy", write)
    write_json(folder / f"{key}.json", dict(key=key, sha256=digest["sha256"], shape=list(arr.shape),
                                            dtype=str(arr.dtype), inputs=inputs, about=about))


def _prune(folder: Path, keep: str, max_bytes: int) -> None:
    """Remove the entries read longest ago until the folder's data files fit in max_bytes."""
    entries = []
    for p in folder.glob("*.npy"):
        with contextlib.suppress(OSError):
            st = p.stat()
            entries.append((st.st_mtime, st.st_size, p))
    total = sum(size for _, size, _ in entries)
    for _, size, p in sorted(entries):
        if total <= max_bytes:
            break
        if p.stem != keep:
            for q in (p, p.with_suffix(".json")):
                with contextlib.suppress(OSError):
                    q.unlink()
            total -= size


def load_or_build(key: str, inputs: dict, build: Callable[[], torch.Tensor], cache_dir=None,
                  about: dict | None = None) -> tuple[torch.Tensor, str]:
    """The entry's outputs and how they were had: 'hit' (read and verified), 'built' (no entry yet) or
    'rebuilt' (an entry was there but incomplete, corrupted or not matching its sha256).

    Args:
        key, inputs: from `prefix_key` (the inputs are stored beside the data, for whoever looks).
        build: computes the outputs (every sample, in dataset order) when they are not stored.
        cache_dir: the cache folder (default $STUDYLIB_CACHE, else ~/.cache/studylib).
        about: extra description stored in the entry's JSON (e.g. the backbone and weights file).
    """
    folder = cache_folder(cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    feats = _read(folder, key)
    if feats is not None:
        return feats, "hit"
    with file_lock(folder / f"{key}.lock", wait=True, keep=True):
        feats = _read(folder, key)  # another process may have built it while this one waited
        if feats is not None:
            return feats, "hit"
        stale = (folder / f"{key}.json").exists() or (folder / f"{key}.npy").exists()
        feats = build()
        _write(folder, key, feats, inputs, about or {})
    _prune(folder, key, PREFIX_CACHE_MAX_BYTES)
    return feats, "rebuilt" if stale else "built"
