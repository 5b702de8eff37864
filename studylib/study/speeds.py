"""The measured speeds and overheads a render's projection (`study.projection`) reads, each written once.

Measured on this machine's CPU, one thread a task (the runner's layout); `bench/project.py` and
`bench/project_curves.py` print what they project.
"""
from __future__ import annotations

import math

__all__ = ["EVAL_SPEEDUP", "POINT_OVERHEAD_S", "PX_COST", "SCOPE_COST", "TASK_OVERHEAD_S", "TRAIN_IMAGES_PER_S",
           "images_per_s"]

# Lite0 on one CPU thread, training images per second (forward, backward, step; the measurement), by
# input side; evaluation (no gradients) about EVAL_SPEEDUP times faster.
TRAIN_IMAGES_PER_S = {48: 180.0, 96: 50.0}
EVAL_SPEEDUP = 3.0
# A 96 px image over a 48 px one, Lite0 training per thread: what scales a 48 px arm's measured epoch to 96 px
PX_COST = TRAIN_IMAGES_PER_S[48] / TRAIN_IMAGES_PER_S[96]
# Cost of an epoch relative to training everything: a frozen prefix runs forward only, under no_grad. The
# last block's 0.45 is the cpu render's (arm A against B, per epoch, less validation: 0.42 on FER2013 at 48
# px, 0.51 on plants at 96 px). The last two blocks: 1.64x the last block's on generated 48 px images, one
# thread (0.54 against 0.33 of everything's epoch), so 0.75 beside the render's 0.45. The probe's features
# are computed once per rung (then its epochs cost next to nothing).
SCOPE_COST = {("head", None): 0.0, ("freeze_to", -1): 0.45, ("freeze_to", -2): 0.75, ("all", None): 1.0}
TASK_OVERHEAD_S = 60   # kernel start, data, testing and the report of one task
POINT_OVERHEAD_S = 5   # building the model, the bootstrap intervals of one notebook-08 point


def images_per_s(side: int) -> float:
    """Training images per second at an input side: the nearest measured side, scaled by pixels."""
    ref = min(TRAIN_IMAGES_PER_S, key=lambda s: abs(math.log(s / side)))
    return TRAIN_IMAGES_PER_S[ref] * (ref / side) ** 2
