"""Files written whole or not at all, and file hashes (a leaf: imports nothing of studylib)."""
from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "sha256_file", "sha256_folder", "write_json", "write_text"]


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call write(tmp_path) then move it into place, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write a UTF-8 text file atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_json(path: str | os.PathLike, obj) -> Path:
    """Write strict JSON (no NaN) atomically, indented, with a final newline."""
    return write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, computed once per process for a given path, size and mtime
    (loading three splits of FER2013 would otherwise hash its 94-301 MB three times)."""
    st = os.stat(path)
    return _sha256(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _sha256(path: str, size: int, mtime_ns: int, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_folder(root: str | os.PathLike, relpaths) -> str:
    """One sha256 over a folder's files: each relative path (sorted) and its bytes, so a renamed, added,
    removed or changed file changes it. Computed once per process for the same files, sizes and mtimes."""
    root = Path(root).resolve()
    stats = tuple((p, st.st_size, st.st_mtime_ns) for p in sorted(relpaths) for st in [(root / p).stat()])
    return _sha256_folder(str(root), stats)


@functools.lru_cache(maxsize=16)
def _sha256_folder(root: str, stats: tuple) -> str:
    h = hashlib.sha256()
    for rel, _, _ in stats:
        h.update(rel.encode() + b"\0")
        h.update(Path(root, rel).read_bytes())
    return h.hexdigest()
