"""Synthetic zoo-shaped data for the inference and regression tests (test_inference_* / test_regress*).

A run's weights are correlated: a seed-level scale shared by every variant of the seed (pairing), a
run-level scale, and row effects shared by the weights of one output unit.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

SEEDS = 5
SHAPE = (20, 100)


def run_weights(rng, n, *, seed_scale, shape=SHAPE, run_sd=0.05, row_sd=0.5, scale=1.0):
    """(n, out*in) correlated weights of n runs; ``seed_scale`` (n,) is shared by runs of one seed."""
    out, inn = shape
    rows = rng.standard_normal((n, out, 1)) * row_sd
    noise = rng.standard_normal((n, out, inn))
    run = np.exp(run_sd * rng.standard_normal((n, 1, 1)))
    w = (seed_scale.reshape(n, 1, 1) * run * scale) * (rows + noise) / np.sqrt(inn)
    return w.reshape(n, -1)


def paired_runs(rng, n_datasets, *, seeds=SEEDS, shift=0.0, seed_sd=0.1):
    """Per-run std of the weights: arrays (n_datasets, seeds) for reference and variant.

    The variant's weights are scaled by ``1 + shift`` (0 = null: same process as the reference).
    """
    seed_scale = np.exp(seed_sd * rng.standard_normal((n_datasets, seeds)))
    flat = seed_scale.reshape(-1)
    ref = run_weights(rng, flat.size, seed_scale=flat).std(axis=1).reshape(n_datasets, seeds)
    var = run_weights(rng, flat.size, seed_scale=flat, scale=1.0 + shift).std(axis=1).reshape(n_datasets, seeds)
    return var, ref


def wasserstein(a, b):
    return float(np.mean(np.abs(np.sort(a) - np.sort(b))))


def distances_with_noise(rng, *, seeds=SEEDS, shift=0.0, seed_sd=0.1, n=2000, share_seed=False):
    """distance[s] = W1(variant_s, reference_s) and the reference's seed-pair noise floor.

    With ``shift = 0`` and ``share_seed=False`` the variant run is one more independent replicate, so
    E[distance] = E[noise] (the boundary of the null); ``share_seed=True`` lets a variant share its
    seed's scale (distance below the noise floor: inside the null).
    """
    seed_scale = np.exp(seed_sd * rng.standard_normal(seeds))
    var_scale = seed_scale if share_seed else np.exp(seed_sd * rng.standard_normal(seeds))
    ref = run_weights(rng, seeds, seed_scale=seed_scale, shape=(20, n // 20))
    var = run_weights(rng, seeds, seed_scale=var_scale, shape=(20, n // 20), scale=1.0 + shift)
    d = np.array([wasserstein(var[s], ref[s]) for s in range(seeds)])
    a, b = np.triu_indices(seeds, 1)
    noise = np.array([wasserstein(ref[i], ref[j]) for i, j in zip(a, b)])
    return d, noise, a, b


def accuracy_grid(rng, *, pruners=("snip", "random"), variants=("original", "shuffle", "reinit"),
                  sparsities=(0.5, 0.9), seeds=SEEDS, effects=None) -> xr.DataArray:
    """Root ``accuracy`` (pruner, variant, sparsity, seed) with a seed effect shared within a seed."""
    shape = (len(pruners), len(variants), len(sparsities), seeds)
    seed_effect = rng.normal(0, 0.01, (len(pruners), 1, len(sparsities), seeds))
    acc = 0.9 + seed_effect + rng.normal(0, 0.003, shape)
    for (v, delta) in (effects or {}).items():
        acc[:, list(variants).index(v)] += delta
    return xr.DataArray(acc, dims=("pruner", "variant", "sparsity", "seed"), name="accuracy",
                        coords={"pruner": list(pruners), "variant": list(variants), "sparsity": list(sparsities),
                                "seed": np.arange(seeds)})


def distance_grid(rng, *, variants=("original", "shuffle", "reinit"), sparsities=(0.5, 0.9), seeds=SEEDS,
                  layers=("fc.0.weight", "fc.1.weight"), stages=("init", "trained"), metric="wasserstein_rel",
                  extra=0.0):
    """Distances (variant, sparsity, seed, layer, stage) and noise (sparsity, seed_pair, layer, stage)."""
    a, b = np.triu_indices(seeds, 1)
    base = 0.05 + rng.gamma(4, 0.005, (len(variants), len(sparsities), seeds, len(layers), len(stages)))
    base[list(variants).index("original")] = 0.0
    base[1:] += extra
    noise = 0.05 + rng.gamma(4, 0.005, (len(sparsities), a.size, len(layers), len(stages)))
    coords = {"variant": list(variants), "sparsity": list(sparsities), "seed": np.arange(seeds),
              "layer": list(layers), "stage": list(stages)}
    d = xr.DataArray(base, dims=("variant", "sparsity", "seed", "layer", "stage"), coords=coords, name=metric)
    nz = xr.DataArray(noise, dims=("sparsity", "seed_pair", "layer", "stage"), name=metric,
                      coords={"sparsity": list(sparsities), "seed_pair": np.arange(a.size), "seed_a": ("seed_pair", a),
                              "seed_b": ("seed_pair", b), "layer": list(layers), "stage": list(stages)})
    return d, nz


def shift_frame(rng, *, seeds=8, beta=-0.2, seed_sd=0.01, noise_sd=0.005, x_seed_sd=0.05, n_per_seed=24):
    """A synthetic shift table: delta_accuracy = beta·shift + seed intercept + noise, with the shift
    itself partly seed-level (so errors *and* regressor cluster by seed)."""
    rows = []
    for s in range(seeds):
        u, xs = rng.normal(0, seed_sd), rng.normal(0, x_seed_sd)
        for i in range(n_per_seed):
            x_init = abs(xs + rng.normal(0.1, 0.03))
            x = abs(xs + rng.normal(0.2, 0.05))
            rows.append({"pruner": ("snip", "random")[i % 2], "variant": ("shuffle", "reinit")[(i // 2) % 2],
                         "sparsity": (0.5, 0.8, 0.9)[(i // 4) % 3], "seed": s, "wasserstein_rel_init": x_init,
                         "wasserstein_rel_trained": x,
                         "delta_accuracy": beta * x + u + rng.normal(0, noise_sd)})
    return pd.DataFrame(rows)
