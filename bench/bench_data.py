"""Benchmark: FER2013's first parse vs the cached load (`studylib.data.fer2013.load_arrays`).

Prints figures; not a test. The first load parses the csv(.gz) and writes the .npz cache into an
empty temporary folder; the second reads that cache. Both hash the source file (the cache key).

    python bench/bench_data.py [--data-dir ../shared/data]

Without FER2013 under --data-dir, a generated stand-in (studylib.data.synthetic.make_fer) is used.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studylib import io as base  # noqa: E402
from studylib.data import fer2013, synthetic  # noqa: E402
from studylib.data.base import DataError  # noqa: E402


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"),
                    help="folder with fer2013/fer2013.csv(.gz) (default ../shared/data; generated if absent)")
    ap.add_argument("--repeats", type=int, default=3, help="cached loads to time (the best is reported)")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        try:
            csv, what = fer2013.find_csv(args.data_dir), "real"
        except DataError:
            csv = synthetic.make_fer(Path(tmp) / "data", n_per_class=(600, 120, 120), seed=0)["fer2013"]
            what = "generated"
        cache = Path(tmp) / "cache"
        cache.mkdir()
        print(f"FER2013 ({what}): {csv} ({csv.stat().st_size / 2**20:,.1f} MB)")

        base._sha256.cache_clear()
        t0 = time.perf_counter()
        arrays, _ = fer2013.load_arrays(csv, cache)
        first = time.perf_counter() - t0
        cached = []
        for _ in range(max(1, args.repeats)):
            base._sha256.cache_clear()  # time what a new process pays: the source is hashed to find the cache
            t0 = time.perf_counter()
            again, _ = fer2013.load_arrays(csv, cache)
            cached.append(time.perf_counter() - t0)
        assert all((arrays[k] == again[k]).all() for k in arrays), "cached arrays differ from the parsed ones"
        best = min(cached)
        print(f"  rows: {len(arrays['labels']):,}; cache file {sum(f.stat().st_size for f in cache.iterdir()) / 2**20:,.1f} MB")
        print(f"  first load (parse csv + write cache): {first:8.2f} s")
        print(f"  cached load (best of {len(cached)}):          {best:8.2f} s")
        print(f"  ratio first / cached:                 {first / best:8.1f}x")


if __name__ == "__main__":
    main()
