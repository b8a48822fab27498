"""A zoo-shaped root and distances where pooling invert flips the sign of the shift slope.

Within pruner × sparsity cells, shuffle and reinit runs lose *less* accuracy the larger their shift at
init (a planted positive slope); invert runs sit far out (large shift) and far below (−30 pp, and −85 pp
where disconnected), so a pooled regression without a variant term finds a steep negative slope.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

PRUNERS = ("random", "snip", "synflow")
VARIANTS = ("original", "shuffle", "reinit", "invert")
SPARSITIES = (0.0, 0.5, 0.9)
LAYERS = {"fc.0.weight": (64, 40), "fc.1.weight": (10, 64)}
SLOPE = 0.05        # Δaccuracy per unit of W1/σ at init, within a cell and variant (shuffle / reinit)


def link_zoo(seed: int = 0, *, seeds: int = 5, slope: float = SLOPE):
    """(root Dataset with accuracy / complete / disconnected and a ``tensors`` attr, distances Dataset)."""
    rng = np.random.default_rng(seed)
    shape = (len(PRUNERS), len(VARIANTS), len(SPARSITIES), seeds)
    shift = np.zeros(shape)
    shift[:, 1] = rng.normal(0.4, 0.12, shape[:1] + shape[2:])        # shuffle
    shift[:, 2] = rng.normal(0.2, 0.08, shape[:1] + shape[2:])        # reinit
    shift[:, 3] = rng.normal(1.2, 0.05, shape[:1] + shape[2:])        # invert
    shift = np.abs(shift)
    seed_shock = rng.normal(0, 0.004, (1, 1, 1, seeds))
    acc = 0.95 - 0.05 * np.asarray(SPARSITIES)[None, None, :, None] + rng.normal(0, 0.001, shape)
    acc = acc + seed_shock
    acc[:, 1:3] += slope * shift[:, 1:3] + seed_shock * 0.5
    acc[:, 3] -= 0.30
    disc = np.zeros(shape, bool)
    disc[PRUNERS.index("synflow"), VARIANTS.index("invert"), 2, :3] = True
    acc[disc] = 0.1                                                     # chance
    disc[PRUNERS.index("snip"), VARIANTS.index("reinit"), 2, 0] = True   # one odd connected-looking loss
    acc[PRUNERS.index("snip"), VARIANTS.index("reinit"), 2, 0] = 0.1
    complete = np.ones(shape, bool)
    complete[:, 1:, 0, :] = False                                      # dense: original only
    coords = {"pruner": list(PRUNERS), "variant": list(VARIANTS), "sparsity": list(SPARSITIES),
              "seed": np.arange(seeds)}
    dims = tuple(coords)
    tensors = [{"name": n, "shape": list(s), "prunable": True} for n, s in LAYERS.items()]
    root = xr.Dataset({"accuracy": (dims, acc), "complete": (dims, complete), "disconnected": (dims, disc)},
                      coords=coords, attrs={"arch": "toy", "dataset": "toy", "tensors": tensors})
    d6 = dims + ("layer", "stage")
    per_layer = np.stack([shift, shift], axis=-1)                      # same value in both layers
    trained = 2 * shift + rng.normal(0, 0.05, shape)
    vals = np.stack([per_layer, np.stack([trained, trained], axis=-1)], axis=-1)
    dist_coords = {**coords, "layer": list(LAYERS), "stage": ["init", "trained"]}
    dist = xr.Dataset({m: (d6, vals * k) for m, k in (("wasserstein_rel", 1.0), ("ks", 0.3), ("log_std_ratio", 0.1))},
                      coords=dist_coords)
    return root, dist
