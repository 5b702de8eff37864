"""`python -m studylib.runner.worker SPEC ENTRY`: one task of the local executor (`local.LocalMachine`).

Reads the task's spec (JSON; its Task made again, once: `executor.spec_from_json`), runs `task.execute_task`
(what a Ray worker runs), writes its index entry to ENTRY (atomically). If the driver dies (killed, its
machine's session closed), the task stops too: a task nobody waits for would hold its cores and GPU, and its
result would never reach the index.
"""
from __future__ import annotations

import os
import sys
import threading
import warnings
import time
from pathlib import Path

from ..io import write_json
from .executor import spec_from_json
from .task import execute_task


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)  # the notebook's kernel exits with its parent (ipykernel watches it)


def main(argv: list[str]) -> int:
    spec_file, entry_file = map(Path, argv)
    # papermill writes the notebook under a hidden `.ipynb.part` name (renamed when whole) and warns of it
    warnings.filterwarnings("ignore", message="The specified file .* does not end in one of")
    threading.Thread(target=_exit_with, args=(os.getppid(),), daemon=True).start()
    entry = execute_task(spec_from_json(spec_file.read_text()))
    write_json(entry_file, entry)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
