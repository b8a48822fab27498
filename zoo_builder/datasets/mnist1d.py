"""mnist1d (Greydanus 2020): procedural 1-D digit signals, generated offline from a fixed seed.

The default generator arguments (5,000 samples, 80/20 split, length 40, seed 42) give the
published data set without downloading it.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .registry import DATASETS, DatasetInfo, Split

GENERATOR_SEED = 42


@lru_cache(maxsize=1)
def _arrays():
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.seed = GENERATOR_SEED
    state = np.random.get_state()  # make_dataset reseeds numpy's global RNG: restore it after
    try:
        return make_dataset(args)
    finally:
        np.random.set_state(state)


def load_mnist1d(root: Path | None, train: bool, download: bool = True) -> Split:
    d = _arrays()
    x, y = (d["x"], d["y"]) if train else (d["x_test"], d["y_test"])
    return Split(torch.as_tensor(x, dtype=torch.float32).unsqueeze(1).contiguous(),
                 torch.as_tensor(y, dtype=torch.int64))


DATASETS.add("mnist1d", DatasetInfo(
    "mnist1d", (1, 40), 10, load_mnist1d,
    source=f"mnist1d.data.make_dataset (default args, seed {GENERATOR_SEED})",
))
