"""Coverage of the verdict intervals on simulated studies with known seed and image effects (docs/METHOD.md,
Crossed bootstrap and Variance components): prints, per regime, the share of 200 studies whose interval covers
the population value, for the interval the verdict uses (`ci`), each of its two parts, and version 1's
two-level bootstrap when its file is given (`git show 56808cb:studylib/study/stats.py > /tmp/stats_v1.py`).

    python bench/coverage.py [--v1 /tmp/stats_v1.py]
"""
import argparse
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
from scipy import stats as sps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from studylib.study import stats  # noqa: E402
from studylib.study.simulated import simulated_study  # noqa: E402

SEEDS = 5  # training seeds a study has, as the coverage test (tests/test_verdicts.py)
REGIMES = {"images dominate": (0.02, 0.15, 300), "seeds dominate": (0.7, 0.10, 200)}  # as the coverage test


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--v1", default=None, help="the file of version 1's stats.py")
    args = ap.parse_args()
    v1 = None
    if args.v1:
        spec = importlib.util.spec_from_file_location("stats_v1", args.v1)
        v1 = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(v1)
    mu, tau, studies, n_boot = 0.8, 1.5, 200, 300
    for regime, (omega, sigma, n_img) in REGIMES.items():
        truth = sps.norm.cdf(mu / math.sqrt(tau ** 2 + omega ** 2 + sigma ** 2))
        rng = np.random.default_rng(2024)
        hits = {"ci": 0, "ci_boot": 0, "ci_vc": 0, "v1": 0}
        for i in range(studies):
            study = simulated_study(rng, n_img, SEEDS, mu, tau, omega, sigma)
            boot = stats.crossed_bootstrap(study, "accuracy", n_boot=n_boot, seed=i)
            for key in ("ci", "ci_boot", "ci_vc"):
                hits[key] += boot[key][0] <= truth <= boot[key][1]
            if v1 is not None:
                lo, hi = v1.two_level_bootstrap(study, "accuracy", n_boot=n_boot, seed=i)["ci"]
                hits["v1"] += lo <= truth <= hi
        shown = {k: f"{v / studies:.3f}" for k, v in hits.items() if k != "v1" or v1 is not None}
        print(f"{regime}: coverage over {studies} studies of {SEEDS} seeds x {n_img} images: {shown}")


if __name__ == "__main__":
    main()
