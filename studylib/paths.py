"""Where things are: the repository's folders and the defaults for data and cache (each overridable)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]          # the repository (editable install)
NOTEBOOKS = ROOT / "notebooks"
PARAMS = ROOT / "params"
REPORTS = ROOT / "reports"
SPLITS = ROOT / "splits"                             # recorded train/val/test splits of image folders
# The real datasets sit beside the repository in this project's checkout (`../shared/data`).
SHARED_DATA = ROOT.parent / "shared" / "data"


def shown(path, data_dir=None) -> str:
    """A path as reports show it: relative to the data folder when inside it, else to the repository,
    else its name alone (never a machine's absolute path)."""
    path = Path(path).resolve()
    for base in (data_dir, ROOT):
        if base and path.is_relative_to(Path(base).resolve()):
            return str(path.relative_to(Path(base).resolve()))
    return path.name


def default_data_dir() -> Path:
    """$STUDYLIB_DATA_DIR, else ./data in the repository (raw data is read in place, never copied)."""
    return Path(os.environ.get("STUDYLIB_DATA_DIR", ROOT / "data"))


def default_cache_dir() -> Path:
    """Where parsed datasets are cached: $STUDYLIB_CACHE, else ~/.cache/studylib."""
    return Path(os.environ.get("STUDYLIB_CACHE", Path.home() / ".cache" / "studylib"))
