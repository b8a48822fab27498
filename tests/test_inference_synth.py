"""The synthetic zoo-shaped data of ``tests/_synth.py`` has the structure the inference tests rely on."""
from __future__ import annotations

import numpy as np

from _synth import SHAPE, run_weights


def test_synthetic_runs_are_correlated_within_a_run():
    rng = np.random.default_rng(0)
    w = run_weights(rng, 2, seed_scale=np.ones(2)).reshape(2, *SHAPE)
    row_means = w.mean(axis=2)
    # row effects make the spread of row means far larger than independent weights would give
    assert row_means.std() > 3 * w.std() / np.sqrt(SHAPE[1])
