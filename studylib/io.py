"""Files written whole or not at all, file hashes, and one lock helper (a leaf: imports nothing of studylib)."""
from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import socket
import tempfile
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: the lock is the PID file alone (see `file_lock`)
    fcntl = None

__all__ = ["LockHeld", "WriteError", "atomic_write", "describe_write_error", "file_lock", "sha256_file", "to_jsonable",
           "sha256_folder", "write_json", "write_text"]

_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_DENIED = {errno.EACCES, errno.EPERM, errno.EROFS}


def describe_write_error(err: OSError, setting: str = "") -> str:
    """One line for a failed write: the path, why, and what to free or change (`setting`: e.g. "pass
    --out-dir", what the caller knows the user can set instead)."""
    path = err.filename or "a file"
    folder = os.path.dirname(str(path)) or "."
    reason = err.strerror or (str(err.args[0]) if err.args else type(err).__name__)
    if err.errno in _FULL:
        fix = f"free space on the disk holding {folder}"
    elif err.errno in _DENIED:
        fix = f"make {folder} writable"
    else:
        fix = f"check that {folder} is writable and has free space"
    return f"cannot write {path}: {reason}; {fix}" + (f", or {setting}" if setting else "")


class WriteError(OSError):
    """A file could not be written (its errno, reason and path kept); its message is one line."""

    def __str__(self) -> str:
        return describe_write_error(self)


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it (os.umask alone must set it)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    old = os.umask(0o022)
    os.umask(old)
    return old


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Call write(tmp_path) then move it into place, so readers never see half a file. The file gets the
    usual mode (0666 less the umask, as open() gives), not mkstemp's 0600. Any OSError (a full disk, a
    folder not writable) leaves the old file, removes the temporary one and is raised as a WriteError
    naming `path`."""
    path, tmp = Path(path), None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        os.chmod(tmp, 0o666 & ~_umask())
        write(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.remove(tmp)
        if isinstance(e, OSError) and not isinstance(e, WriteError):
            raise WriteError(e.errno, e.strerror or str(e), str(path)) from e
        raise
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write a UTF-8 text file atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_json(path: str | os.PathLike, obj) -> Path:
    """Write strict JSON (no NaN) atomically, indented, with a final newline."""
    return write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")


def sha256_file(path: str | os.PathLike, cached: bool = True) -> str:
    """Hex sha256 of a file, computed once per process for a given path, size and mtime
    (loading three splits of FER2013 would otherwise hash its 94-301 MB three times); `cached=False`
    reads it now (an integrity check: a byte changed in place keeps size and maybe mtime)."""
    st = os.stat(path)
    if not cached:
        return _sha256.__wrapped__(str(path), st.st_size, st.st_mtime_ns)
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


# -- one lock helper: the runner's out-dir, the learning-rate search's trials, the prefix cache's entries --

class LockHeld(RuntimeError):
    """Another live process holds the lock: `pid` and `host` name it (None, "" when it has not said yet)."""

    def __init__(self, path: Path, pid: int | None, host: str):
        self.path, self.pid, self.host = Path(path), pid, host
        super().__init__(f"{path} is held by {_who(pid, host)}")


def _who(pid, host) -> str:
    return f"PID {pid}" + (f" on {host}" if host else "") if pid else "a process that has not written its PID yet"


def _holder(text: str) -> tuple[int | None, str]:
    """(pid, host) of a lock file's text "PID HOST" (None, "" when empty or unreadable)."""
    parts = text.split()
    try:
        return int(parts[0]), (parts[1] if len(parts) > 1 else "")
    except (IndexError, ValueError):
        return None, ""


def _alive(pid: int, host: str) -> bool:
    """Whether a lock's holder still runs. Another machine's process cannot be checked: it counts as alive."""
    if host and host != socket.gethostname():
        return True
    if os.name == "nt":  # os.kill(pid, 0) would terminate it there
        try:
            import psutil
        except ImportError:
            return True
        return psutil.pid_exists(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _stale(path: Path, pid, host, why: str = "no longer runs") -> str:
    return f"took over the lock {path} left by {_who(pid, host)}, which {why}"


def _flock(path: Path, wait: bool) -> tuple[int, str]:
    """flock on the file at `path` (created): (fd, a message when a dead holder's lock was taken over)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            text = os.read(fd, 200).decode(errors="replace")
            os.close(fd)
            raise LockHeld(path, *_holder(text)) from None
        # The holder removes the file on release: this one may have locked a file no longer at `path`.
        with contextlib.suppress(FileNotFoundError):
            st, now = os.fstat(fd), os.stat(path)
            if (st.st_dev, st.st_ino) == (now.st_dev, now.st_ino):
                break
        os.close(fd)
    # A holder that ends empties or removes the file: text left in a file locked now is a dead holder's.
    left = os.read(fd, 200).decode(errors="replace")
    return fd, _stale(path, *_holder(left), why="no longer holds it") if left.strip() else ""


def _pidfile(path: Path, wait: bool) -> tuple[int, str]:
    """Without fcntl: the file's existence is the lock; a dead holder's file is removed, then created anew."""
    took_over = ""
    while True:
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666 & ~_umask()), took_over
        except FileExistsError:
            pass
        try:
            pid, host = _holder(path.read_text(errors="replace"))
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            continue  # released meanwhile
        if (pid is None and age < 10) or (pid is not None and _alive(pid, host)):
            if not wait:
                raise LockHeld(path, pid, host)
            time.sleep(0.2)
            continue
        took_over = _stale(path, pid, host)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


@contextlib.contextmanager
def file_lock(path: str | os.PathLike, wait: bool = False, keep: bool = False):
    """`with file_lock(path) as took_over:` an exclusive lock between processes, the file holding
    "PID HOST" while held and removed on release (`keep`: emptied instead, where a folder's layout lists
    it). `took_over` is "" or a message saying a dead holder's lock was taken over. A held lock raises
    LockHeld naming the holder, or with `wait` blocks until it is free.

    flock where there is fcntl (released by the kernel when its holder dies, however it dies); else the
    PID file alone, a dead holder's file taken over (best effort: two takers at once may both win)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, took_over = (_flock if fcntl is not None else _pidfile)(path, wait)
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        yield took_over
    finally:
        if fcntl is None:  # the file is the lock
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(path)
        else:  # emptied or removed while still held: a waiter then finds no holder's text, or no file
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0) if keep else os.unlink(path)
            os.close(fd)


def to_jsonable(obj):
    """Convert numpy/pandas/Path values to plain JSON types; NaN/inf become null (strict JSON). The one
    conversion of what a record or a memo stores (numpy and pandas imported only when asked)."""
    import dataclasses
    import math

    import numpy as np
    import pandas as pd
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return to_jsonable(obj.reset_index().to_dict(orient="records"))
    if isinstance(obj, pd.Series):
        return to_jsonable(obj.to_dict())
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise TypeError(f"cannot store {type(obj).__name__} in a run record: {obj!r:.80}")
