"""Projection: the task-hours of a notebook-08 profile (params/curves.yaml) before it renders.

Prints figures; not a test. From Lite0's measured training speed per thread (180 img/s at 48 px, 50 at 96 px,
`study.curves.TRAIN_IMAGES_PER_S`), each scope's cost per epoch against training everything, and each
dataset's split sizes (read without decoding: the FER2013 csv's Usage column, an image folder's recorded
split): every point once, each rate search's other rates once at seed 0, a curves task its overhead.
`expected`: each fit stops at half its epoch cap plus its patience, no rate added beyond a grid; `upper`:
every fit to its cap, every search with its `extend_grid` rates added.

    python bench/project_curves.py [--profile curves] [--data-dir ../shared/data] [--budget 12]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="curves")
    ap.add_argument("--data-dir", default=None, help="default: the profile's data_dir")
    ap.add_argument("--budget", type=float, default=12.0, help="task-hours allowed")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    from studylib.study.curves import projection
    projection(args.profile, data_dir=args.data_dir, budget=args.budget, workers=args.workers)


if __name__ == "__main__":
    main()
