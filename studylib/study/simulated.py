"""Simulated studies of a known population, for the coverage of the verdict intervals (docs/METHOD.md,
Crossed bootstrap and Variance components): `bench/coverage.py` prints it; tests/test_verdicts.py asserts it."""
from __future__ import annotations

import numpy as np

__all__ = ["simulated_study"]


def simulated_study(rng, n_img: int, n_seeds: int, mu: float, tau: float, omega: float, sigma: float) -> list:
    """One study of a known population: image i has latent difficulty a_i ~ N(mu, tau^2) (the image effect),
    seed s adds b_s ~ N(0, omega^2) (the seed effect) and its own per-image perturbation e_si ~ N(0, sigma^2);
    the prediction is correct iff a_i + b_s + e_si > 0. One arm: [(y_true, y_pred)] a seed."""
    a = mu + tau * rng.standard_normal(n_img)
    y = rng.integers(0, 3, n_img)
    arm = []
    for _ in range(n_seeds):
        correct = a + omega * rng.standard_normal() + sigma * rng.standard_normal(n_img) > 0
        arm.append((y, np.where(correct, y, (y + 1) % 3)))
    return arm
