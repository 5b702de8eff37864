"""What each task pays before its first line of work: the imports of its three processes, and papermill's
kernel around one cell. Prints figures (median of --repeat fresh processes); not a test.

    python bench/bench_startup.py [--repeat 3]

- `import papermill` (papermill loads studylib's engine, `studylib.report.kernel`, through its entry point);
- the local executor's worker (`studylib.runner.worker`);
- the runner's driver (`studylib.runner.run_profile`);
- a notebook's import cell (the same in every notebook), and whether it loaded torchvision;
- papermill on a one-cell notebook running that import cell: from the cell's end to papermill's return
  (the kernel's shutdown).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def notebook_import_cell() -> str:
    """The import cell the notebooks share (the code cell after the parameters), read from notebook 07."""
    cells = [c for c in json.loads((ROOT / "notebooks" / "07_sweep.ipynb").read_text())["cells"]
             if c["cell_type"] == "code"]
    return "".join(cells[1]["source"])


NOTEBOOK_CELL = notebook_import_cell()
IMPORT_CELL = "\n".join(line for line in NOTEBOOK_CELL.splitlines() if not line.startswith("%"))  # plain Python
CASES = {
    "import papermill": "import papermill",
    "the local worker (studylib.runner.worker)": "import studylib.runner.worker",
    "the runner's driver (runner.run_profile)": "from studylib import runner; runner.run_profile",
    "a notebook's import cell": IMPORT_CELL,
}


def seconds(code: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - t


def kernel_shutdown_s() -> float:
    """Seconds from the last cell's end to papermill's return, one cell importing what notebooks import."""
    import nbformat
    import papermill as pm

    from studylib.report.kernel import papermill_kwargs
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.ipynb", Path(tmp) / "out.ipynb"
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(NOTEBOOK_CELL)]
        nbformat.write(nb, src)
        pm.execute_notebook(str(src), str(dst), kernel_name="python3", progress_bar=False, **papermill_kwargs())
        end = nbformat.read(dst, as_version=4).cells[0].metadata.papermill["end_time"]
        return time.time() - dt.datetime.fromisoformat(end.replace("Z", "+00:00")).timestamp()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    for name, code in CASES.items():
        runs = [seconds(code) for _ in range(args.repeat)]
        print(f"{name:45s} {statistics.median(runs):6.2f} s (median of {args.repeat}; Python's own start included)")
    loaded = subprocess.run([sys.executable, "-c", IMPORT_CELL + "\nimport sys; print('torchvision' in sys.modules)"],
                            capture_output=True, text=True, check=True).stdout.strip()
    print(f"{'torchvision loaded by the import cell':45s} {loaded}")
    runs = [kernel_shutdown_s() for _ in range(args.repeat)]
    print(f"{'last cell end -> papermill returns':45s} {statistics.median(runs):6.2f} s (median of {args.repeat})")


if __name__ == "__main__":
    main()
