"""What is checked before Ray starts: one run per reports folder (a lock), and every folder a run writes
to is writable. Each refusal is one line naming what to change (a flag or an environment variable).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .. import paths
from ..io import LockHeld, describe_write_error, file_lock

__all__ = ["RunRefused", "check_writable", "ray_temp_dir", "run_lock", "setting_for"]


class RunRefused(RuntimeError):
    """The run cannot start (or go on); the message is one line saying what to change."""


def ray_temp_dir() -> Path:
    """The folder a local Ray instance writes its session to, as Ray picks it
    (ray._common.utils.get_default_ray_temp_dir, without importing Ray)."""
    if "RAY_TMPDIR" in os.environ:
        base = os.environ["RAY_TMPDIR"]
    elif sys.platform.startswith("linux") and "TMPDIR" in os.environ:
        base = os.environ["TMPDIR"]
    elif sys.platform.startswith(("linux", "darwin")):
        base = "/tmp"
    else:
        base = tempfile.gettempdir()
    return Path(base) / "ray"


def setting_for(path, out_dir: Path | None = None) -> str:
    """What the user can set to write `path` elsewhere ("" when it is none of the run's folders)."""
    path = Path(path)
    if out_dir is not None and not path.is_absolute():
        path = Path(out_dir) / path  # the kernels write relative to the reports folder
    roots = [(out_dir, "pass --out-dir"), (paths.default_cache_dir(), "set STUDYLIB_CACHE"),
             (ray_temp_dir(), "set RAY_TMPDIR (or TMPDIR)")]
    for root, setting in roots:
        with contextlib.suppress(ValueError, OSError):
            if root is not None and path.resolve().is_relative_to(Path(root).resolve()):
                return setting
    return ""


def _probe(folder: Path) -> OSError | None:
    """None when a file can be written in `folder` (created if missing), else the error."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".studylib-probe-") as f:
            f.write(b"ok")
            f.flush()
    except OSError as e:
        return e
    return None


def _reason(e: OSError) -> str:
    return e.strerror or str(e)


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def check_writable(out_dir: Path, local_ray: bool, stack: contextlib.ExitStack) -> list[str]:
    """Refuse (RunRefused) a reports folder or Ray temp folder that cannot be written; return warnings.

    A cache that cannot be written is not needed: the run then caches in a temporary folder, removed when
    it ends (STUDYLIB_CACHE is set for its tasks, and restored by `stack`). Ray's folder is checked only for
    a local instance (a cluster's nodes have their own)."""
    if e := _probe(out_dir):
        raise RunRefused(f"the reports folder {out_dir} is not writable ({_reason(e)}): make it writable, "
                         "or pass --out-dir")
    if local_ray and (e := _probe(ray_temp_dir())):
        raise RunRefused(f"Ray's temp folder {ray_temp_dir()} is not writable ({_reason(e)}): set RAY_TMPDIR "
                         "(or TMPDIR) to a writable folder")
    cache = paths.default_cache_dir()
    if not (e := _probe(cache)):
        return []
    scratch = tempfile.mkdtemp(prefix="studylib-cache-", dir=ray_temp_dir().parent if local_ray else None)
    stack.callback(shutil.rmtree, scratch, ignore_errors=True)
    stack.callback(_restore, "STUDYLIB_CACHE", os.environ.get("STUDYLIB_CACHE"))
    os.environ["STUDYLIB_CACHE"] = scratch  # the Ray workers, started after this, inherit it
    return [f"warning: the cache {cache} is not writable ({_reason(e)}); this run caches in {scratch}, "
            "removed when it ends; set STUDYLIB_CACHE to a writable folder to keep the cache"]


@contextlib.contextmanager
def run_lock(out_dir: Path):
    """`with run_lock(out):` this process is the only run writing to `out` (reports/<profile>/.lock holds
    its PID); yields "" or a message saying a dead run's lock was taken over."""
    lock = Path(out_dir) / ".lock"
    with contextlib.ExitStack() as stack:
        try:
            took_over = stack.enter_context(file_lock(lock))
        except LockHeld as e:
            raise RunRefused(f"another run is writing to {out_dir} ({e}): wait for it to end or stop it, or "
                             "pass --out-dir") from None
        except OSError as e:
            raise RunRefused(describe_write_error(e if e.filename else OSError(e.errno, e.strerror, str(lock)),
                                                  "pass --out-dir")) from None
        yield took_over
