"""Machine-readable run records: what ran, on what data and weights, and how each claim fared.

Every experiment notebook writes one JSON record; notebook 06 loads them all
into the scorecard. A record carries its own provenance (params, data sha256,
weights, library versions, device, git commit, wall time), so a number in the
scorecard can be traced back without the notebook that made it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_write, sha256_file, to_jsonable, write_json
from ..study import claims as registry

__all__ = ["Provenance", "RunRecord", "by_arm_id", "code_version", "make_record", "write_record", "load_records",
           "library_versions", "git_commit", "git_diff", "read_predictions", "read_probabilities", "write_predictions"]

# A claim row (study.verdicts): these keys are required; the engine adds estimate, n, p, ... beside them.
CLAIM_KEYS = ("id", "claim", "paper_value", "estimate", "ci", "verdict", "note")
_REQUIRED_CLAIM_KEYS = ("id", "claim", "verdict")
_PACKAGES = {"torch": "torch", "torchvision": "torchvision", "sklearn": "scikit-learn",
             "numpy": "numpy", "pandas": "pandas", "kornia": "kornia"}


@dataclass
class RunRecord:
    """One experiment run; `write_record` stores it as JSON."""

    experiment: str                  # e.g. "03-cnn-scratch"
    paper: str                       # seed paper id, e.g. "003"
    params: dict                     # the resolved parameters the run used
    metrics: dict                    # measured numbers (floats, arrays, report tables)
    data_sources: dict               # data file path -> sha256
    weights: dict                    # name -> {"file", "sha256"} or "random init"
    wall_time_s: float
    device: str
    claims: list                     # dicts with CLAIM_KEYS
    versions: dict = field(default_factory=dict)
    git_commit: str = "unknown"
    timestamp: str = ""
    git_diff: str = ""               # uncommitted changes the run was made with (a "-dirty" commit)
    # {arm id: display label} of the arms its per-arm metrics and predictions are keyed by (`by_arm_id`);
    # None: a record written before ids, keyed by display label (read by study.claims.record_arms)
    arms: dict | None = None


def library_versions() -> dict:
    """Installed versions of the libraries that shape results, plus Python."""
    out = {"python": platform.python_version()}
    for key, dist in _PACKAGES.items():
        try:
            out[key] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[key] = "not installed"
    return out


def git_commit(cwd: str | Path | None = None) -> str:
    """`git rev-parse HEAD` of the code (suffix "-dirty" with uncommitted changes), else "unknown"."""
    cwd = cwd or Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True,
                              timeout=10, check=True).stdout.strip()
        # rendered reports are the run's output, not its code: writing them must not make later tasks dirty
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ":(top)",
                                ":(top,exclude)reports"], cwd=cwd,
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}-dirty" if dirty else head


def code_version(cwd: str | Path | None = None) -> str:
    """The code as a folder-safe name: the commit, plus a hash of the diff when the tree is dirty (two
    different dirty trees of one commit are different code)."""
    commit = git_commit(cwd)
    if not commit.endswith("-dirty"):
        return commit[:12]
    return f"{commit[:12]}-dirty-{hashlib.sha256(git_diff(cwd).encode()).hexdigest()[:12]}"


def by_arm_id(notebook: str, params, metrics: dict, predictions: dict | None) -> tuple[dict, dict | None, dict]:
    """(metrics, predictions, arms) as a record keeps them: a notebook's per-arm entries, keyed by its arms'
    display labels, keyed by arm id (`study.claims.by_id`; other entries, a curves point or the scorecard's
    claims, as they are), and {arm id: display label} of the arms they hold, so that a report can show them."""
    metrics = registry.by_id(notebook, params, metrics)
    predictions = None if predictions is None else {
        protocol: registry.by_id(notebook, params, per_arm) for protocol, per_arm in predictions.items()}
    held = set(metrics).union(*(predictions or {}).values())
    return metrics, predictions, {aid: label for aid, label in registry.arm_labels(notebook, params).items() if aid in held}


def write_predictions(path: str | Path, predictions: dict) -> dict:
    """Per-image test predictions {protocol: {arm id: (y_true, y_pred[, probabilities])}} as a compressed .npz
    (atomically). Class probabilities (N, K) are kept as float16 (docs/METHOD.md, Replicates: enough for calibration
    and log-loss); a model that gives none (an SVM) stores class indices only.

    Returns what the record keeps: {"file": name, "sha256": ..., "protocols": {protocol: {arm id: key}}}.
    """
    arrays, keys = {}, {}
    for protocol, per_arm in predictions.items():
        keys[protocol] = {}
        for i, (arm, pred) in enumerate(per_arm.items()):
            y_true, y_pred, probs = (*pred, None)[:3]
            key = keys[protocol][arm] = f"{protocol}_a{i}"
            arrays[f"{key}_true"] = np.asarray(y_true, dtype=np.int16)
            arrays[f"{key}_pred"] = np.asarray(y_pred, dtype=np.int16)
            if probs is not None:
                arrays[f"{key}_prob"] = np.asarray(probs, dtype=np.float16)
    def save(tmp):
        with open(tmp, "wb") as f:  # closed (and flushed) before the rename: a short file is never published
            np.savez_compressed(f, **arrays)
    atomic_write(path, save)
    return {"file": Path(path).name, "sha256": sha256_file(path), "protocols": keys}


def _predictions_file(record_path: str | Path, record: dict) -> tuple[Path | None, dict]:
    info = record.get("predictions")
    if not info:
        return None, {}
    path = Path(record_path).parent / info["file"]
    if not path.is_file() or sha256_file(path) != info["sha256"]:
        raise ValueError(f"{path}: missing, or not the predictions {Path(record_path).name} was written with "
                         "(sha256 differs); rerun that task")
    return path, info.get("protocols") or {"best": info.get("arms", {})}


def read_predictions(record_path: str | Path, record: dict) -> dict:
    """{protocol: {arm: (y_true, y_pred)}} of a record, after checking the .npz against the sha256 the
    record holds. Records from before the two protocols (key "arms") hold the best epoch's only."""
    path, protocols = _predictions_file(record_path, record)
    if path is None:
        return {}
    with np.load(path) as z:
        return {protocol: {arm: (z[f"{k}_true"].astype(np.int64), z[f"{k}_pred"].astype(np.int64))
                           for arm, k in keys.items()} for protocol, keys in protocols.items()}


def read_probabilities(record_path: str | Path, record: dict) -> dict:
    """{protocol: {arm: probabilities (N, K) float32, or None}}: None for records written before
    probabilities were kept, and for models that give none."""
    path, protocols = _predictions_file(record_path, record)
    if path is None:
        return {}
    with np.load(path) as z:
        return {protocol: {arm: (z[f"{k}_prob"].astype(np.float32) if f"{k}_prob" in z.files else None)
                           for arm, k in keys.items()} for protocol, keys in protocols.items()}


def git_diff(cwd: str | Path | None = None) -> str:
    """`git diff HEAD` of the code: what a run on a dirty tree ran beyond its commit ("" if unknown)."""
    cwd = cwd or Path(__file__).resolve().parent
    try:
        return subprocess.run(["git", "diff", "HEAD", "--", ":(top)", ":(top,exclude)reports"], cwd=cwd,
                              capture_output=True, text=True, timeout=30,
                              check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def _check_claim(i: int, claim: dict) -> dict:
    """Validate one claim dict and fill the optional keys."""
    if not isinstance(claim, dict):
        raise TypeError(f"claims[{i}] must be a dict with keys {', '.join(CLAIM_KEYS)}, got {type(claim).__name__}")
    missing = [k for k in _REQUIRED_CLAIM_KEYS if k not in claim]
    if missing:
        raise ValueError(f"claims[{i}] ({claim.get('claim', '?')!r}): missing {missing}; "
                         f"a claim row has {', '.join(CLAIM_KEYS)}")
    ci = claim.get("ci")
    if ci is not None and len(ci) != 2:
        raise ValueError(f"claims[{i}] ({claim['claim']!r}): ci must be (low, high) or None, got {ci!r}")
    return {"paper_value": None, "estimate": None, "ci": None, "note": "", **claim}


@dataclass(frozen=True)
class Provenance:
    """What a run read and ran on, as its record keeps it (the library versions, git commit and timestamp
    `make_record` adds itself)."""

    data_sources: dict               # {data file path: sha256}
    weights: dict                    # {name: {"file": ..., "sha256": ...}} or {name: "random init"}
    wall_time_s: float               # run time in seconds
    device: str                      # e.g. "cuda" or "cpu"


def make_record(experiment: str, paper: str, params: dict, metrics: dict, provenance: Provenance,
                claims: list[dict], arms: dict | None = None) -> RunRecord:
    """Build a RunRecord, adding library versions, git commit and a UTC timestamp.

    Args:
        experiment: notebook/experiment name.
        paper: seed paper id ("000", "001", "003", "004", or "all").
        params: resolved parameters (e.g. `dataclasses.asdict(params)`).
        metrics: measured values; numpy values, arrays and DataFrames are converted on write.
        provenance: the data read, the weights, the wall time and the device (`Provenance`).
        claims: dicts with claim, paper_value, our_value, verdict and optional ci (low, high), note.
        arms: {arm id: display label} of the arms `metrics` is keyed by (`by_arm_id`).

    Returns:
        The RunRecord.
    """
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        params = dataclasses.asdict(params)
    return RunRecord(experiment=experiment, paper=str(paper), params=dict(params), metrics=dict(metrics),
                     data_sources=dict(provenance.data_sources), weights=dict(provenance.weights),
                     wall_time_s=float(provenance.wall_time_s), device=str(provenance.device),
                     claims=[_check_claim(i, c) for i, c in enumerate(claims)],
                     arms=None if arms is None else dict(arms),
                     versions=library_versions(), git_commit=(commit := git_commit()),
                     git_diff=git_diff() if commit.endswith("-dirty") else "",
                     timestamp=datetime.now(timezone.utc).isoformat(timespec="seconds"))


def write_record(record: RunRecord | dict, path: str | Path) -> Path:
    """Write a record as JSON atomically (a reader never sees half a file).

    Args:
        record: RunRecord (or an equivalent dict).
        path: destination .json file; parent folders are created.

    Returns:
        The path written.
    """
    return write_json(path, to_jsonable(record))


_ROW_FIELDS = ("experiment", "paper", "device", "git_commit", "timestamp", "wall_time_s")


def iter_records(folder: str | Path, pattern: str = "**/*.json"):
    """Yield (path, record dict) for every run record under `folder`, sorted by path.

    Raises:
        ValueError: a file is not valid JSON or not a run record (the message names it).
    """
    for path in sorted(Path(folder).glob(pattern)):
        try:
            rec = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: not valid JSON ({e}); rerun the task that writes it (or restore the committed file)") from e
        missing = [k for k in (*_ROW_FIELDS, "claims") if not isinstance(rec, dict) or k not in rec]
        if missing:
            raise ValueError(f"{path}: not a run record (missing {', '.join(missing)})")
        yield path, rec


def load_records(folder: str | Path, pattern: str = "**/*.json") -> pd.DataFrame:
    """Collect run records into one table, one row per claim (the scorecard's input).

    Args:
        folder: folder searched recursively for record files.
        pattern: glob relative to folder.

    Returns:
        DataFrame with experiment, paper, id, claim, paper_value, estimate, ci_low,
        ci_high, verdict, note, device, git_commit, timestamp, wall_time_s, file.
        Records without claims contribute no rows.

    Raises:
        ValueError: a file is not valid JSON or not a run record (the message names it).
    """
    rows = []
    for path, rec in iter_records(folder, pattern):
        for i, claim in enumerate(rec["claims"]):
            try:
                claim = _check_claim(i, claim)
            except (TypeError, ValueError) as e:
                raise ValueError(f"{path}: {e}") from e
            ci = claim["ci"] or (None, None)
            rows.append({**{k: rec[k] for k in ("experiment", "paper")},
                         **{k: claim[k] for k in ("id", "claim", "paper_value", "estimate")},
                         "ci_low": ci[0], "ci_high": ci[1], "verdict": claim["verdict"], "note": claim["note"],
                         **{k: rec[k] for k in _ROW_FIELDS[2:]}, "file": str(path)})
    cols = ["experiment", "paper", "id", "claim", "paper_value", "estimate", "ci_low", "ci_high", "verdict",
            "note", *_ROW_FIELDS[2:], "file"]
    return pd.DataFrame(rows, columns=cols)
