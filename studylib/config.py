"""Paths the package resolves by default (each overridable by an environment variable or a flag)."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]          # the repository (editable install)
NOTEBOOKS = ROOT / "notebooks"
PARAMS = ROOT / "params"
REPORTS = ROOT / "reports"


def default_data_dir() -> Path:
    """$STUDYLIB_DATA_DIR, else ./data in the repository (raw data is read in place, never copied)."""
    return Path(os.environ.get("STUDYLIB_DATA_DIR", ROOT / "data"))
