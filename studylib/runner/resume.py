"""When a task can be skipped: its inputs are unchanged and its record is the one it wrote.

A task's inputs are the notebook's sha256, its resolved parameters (seed and grid point included), the
profile's name and cuts, the code (commit, plus a hash of the diff when the tree is dirty) and, for a
task that reads the profile's records (the scorecard, a sweep's table), the sha256 of each record of the
profile's other tasks (not of the other record readers: two of them would rerun each other). Its data are
the files its record lists under `data_sources`: each source's size and mtime signature is kept with
the sha256 of its content (a file's, or one over a folder's files and their paths). A source whose size
or mtime changed is hashed again and compared by content, so the same data copied afresh (a new checkout,
another machine: new mtimes) does not rerun anything; a changed byte, or a file added, removed or renamed
in a folder, does.

The state of each task is `tasks/<task>.json` in the profile's report folder: its index entry, its
inputs, the sha256 of its record and its data signature. A task is skipped when that state says ok,
the inputs match, the record still has the sha256 it was written with, every file the record lists
beside it (its predictions `.npz`) is there with the sha256 the record holds, its HTML report is there,
and the data are unchanged. Otherwise the task reruns: a plain resume restores a deleted or damaged
output, no --force needed.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .. import paths
from ..io import sha256_file, sha256_folder, write_json
from ..report.records import code_version
from ..study.task import TaskPaths

__all__ = ["code_version", "data_signature", "load_state", "reason_to_run", "save_state", "task_inputs"]


def records_digest(results_dir: Path, tasks: list[str]) -> dict:
    """{record: sha256} of the given tasks' records (those a scorecard reads; None for a missing one)."""
    paths_ = {t: Path(results_dir) / f"{t}.json" for t in tasks}
    return {t: sha256_file(p) if p.is_file() else None for t, p in paths_.items()}


def task_inputs(spec: dict, code: str) -> dict:
    task = spec["task"]
    nb = paths.NOTEBOOKS / f"{task.notebook}.ipynb"
    inputs = {"notebook_sha256": sha256_file(nb), "params": task.params, "seed": task.seed,
              "grid": task.grid, "profile": task.profile, "cuts": task.cuts, "code": code}
    if task.upstream:  # the records it reads: those of the tasks it declares upstream
        inputs["records"] = records_digest(TaskPaths(Path(spec["out_dir"]), "").results, task.upstream)
    return json.loads(json.dumps(inputs))  # as it reads back from JSON (tuples -> lists)


def _resolve(key: str, data_dir: Path) -> Path | None:
    """A record's data-source key (relative to the data folder, else the repository) as a path."""
    for base in (data_dir, paths.ROOT):
        if (Path(base) / key).exists():
            return Path(base) / key
    return None


def _files(folder: Path) -> list[str]:
    """A folder's files as relative paths, in one fixed order (folders and names sorted)."""
    out = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        out += [os.path.relpath(Path(root) / name, folder) for name in sorted(files)]
    return out


def _stat(path: Path) -> list:
    """[size, mtime_ns] of a file; of a folder, a hash over its files' relative paths, sizes and mtimes."""
    if path.is_file():
        st = path.stat()
        return [st.st_size, st.st_mtime_ns]
    h = hashlib.sha256()
    for rel in _files(path):
        st = (path / rel).stat()
        h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return ["folder", h.hexdigest()]


def _content(path: Path) -> str:
    """sha256 of a file's bytes, or of a folder's files (every relative path and its bytes)."""
    return sha256_file(path) if path.is_file() else sha256_folder(path, _files(path))


def data_signature(record: Path, data_dir: Path) -> dict:
    """{source: [sha256 from the record, size/mtime signature, content sha256]} for each data source
    the record lists."""
    if not record.is_file():
        return {}
    sources = json.loads(record.read_text()).get("data_sources", {})
    out = {}
    for key, digest in sources.items():
        path = _resolve(key, data_dir)
        out[key] = [digest, _stat(path), _content(path)] if path else [digest, None, None]
    return out


def _data_changed(signature: dict, data_dir: Path) -> str:
    """'' when every data file is as the record found it, else which one changed."""
    for key, (digest, stat, *content) in signature.items():
        path = _resolve(key, data_dir)
        if path is None or stat is None:
            return f"data {key} is missing"
        if _stat(path) == stat:
            continue
        # touched or copied afresh: compare the bytes (a state written before content hashes were kept
        # has only the record's digest, which for a folder covers the split's files, not the folder's)
        same = content[0] if content else (digest if path.is_file() else None)
        if same and _content(path) == same:
            continue
        return f"data {key} changed"
    return ""


def load_state(out_dir: Path, task: str) -> dict | None:
    try:
        return json.loads(TaskPaths(Path(out_dir), task).state.read_text())
    except (OSError, ValueError):
        return None


def save_state(out_dir: Path, entry: dict, inputs: dict, data_dir: Path) -> None:
    where = TaskPaths(Path(out_dir), entry["name"])
    record = where.record
    write_json(where.state, {
        "entry": entry, "inputs": inputs, "record_sha256": sha256_file(record) if record.is_file() else None,
        "data": data_signature(record, data_dir) if entry["status"] == "ok" else {}})


def _outputs_changed(record: Path, entry: dict) -> str:
    """'' when the files a record lists beside it (its predictions) have the sha256 it holds, and the
    task's HTML report is there; else what is missing or changed. Hashed now, never from the in-process
    memo: a byte changed in place may keep the file's size and mtime."""
    try:
        info = json.loads(record.read_text()).get("predictions") or {}
    except ValueError:
        return "its record is not valid JSON"
    if info:
        path = record.parent / info["file"]
        if not path.is_file():
            return f"its predictions {info['file']} are missing"
        if sha256_file(path, cached=False) != info.get("sha256"):
            return f"its predictions {info['file']} were changed (sha256 differs from its record's)"
    html = entry.get("html")
    if html and not (record.parent.parent / html).is_file():
        return f"its report {html} is missing"
    return ""


def reason_to_run(state: dict | None, inputs: dict, out_dir: Path, data_dir: Path) -> str:
    """Why the task must run ('' when it can be skipped)."""
    if state is None:
        return "never ran"
    if state["entry"]["status"] != "ok":
        return f"last run {state['entry']['status']}"
    changed = sorted(k for k in set(inputs) | set(state["inputs"]) if inputs.get(k) != state["inputs"].get(k))
    if changed:
        return f"changed: {', '.join(changed)}"
    record = TaskPaths(Path(out_dir), state["entry"]["name"]).record
    if not record.is_file():
        return "its record is missing"
    if sha256_file(record, cached=False) != state["record_sha256"]:
        return "its record was changed"
    return _outputs_changed(record, state["entry"]) or _data_changed(state["data"], data_dir)
