"""Time one fixed fit at whatever studylib is on PYTHONPATH, to compare two commits' training code.

Prints figures; not a test. Random 48 px gray images (NTR training images, default 3,000; 500 validation),
EP epochs (default 3), batch 64, one thread; the backbone is the first argument (small_cnn by default, or
efficientnet_lite0 from random init). Run it as a whole process, alternating the two commits, e.g.:

    git worktree add --detach ../wt-old a44758d
    for i in 1 2 3 4; do for root in ../wt-old .; do
      OMP_NUM_THREADS=1 STUDYLIB_TASK=1 NTR=1500 EP=2 PYTHONPATH=$root /usr/bin/time -f "$root %e s" \
        .venv/bin/python bench/bench_fit.py efficientnet_lite0 >/dev/null; done; done
"""
import os
import sys
import time

import numpy as np
import torch

from studylib.data.base import ImageDataset
from studylib.models import build_model
from studylib.train import TrainConfig, fit

arch = sys.argv[1] if len(sys.argv) > 1 else "small_cnn"
rng = np.random.default_rng(0)


def ds(n, split):
    return ImageDataset(images=rng.integers(0, 255, (n, 48, 48, 1), dtype=np.uint8),
                        targets=rng.integers(0, 7, n).astype(np.int64), classes=list("abcdefg"), split=split, name="x")


tr, va = ds(int(os.environ.get("NTR", 3000)), "train"), ds(500, "val")
torch.manual_seed(0)
kw = dict(in_channels=1, image_size=48) if arch == "small_cnn" else dict(in_channels=1, image_size=48, pretrained=False)
m = build_model(arch, 7, **kw)
cfg = TrainConfig(epochs=int(os.environ.get("EP", 3)), batch_size=64, lr=1e-3, num_threads=1)
t = time.perf_counter(); fit(m, tr, va, cfg); print("fit s", time.perf_counter() - t, file=sys.stderr)
