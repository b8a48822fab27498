"""scikit-learn's 8×8 handwritten digits (1,797 real images), fixed stratified 75/25 split."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .registry import DATASETS, DatasetInfo, Split

SPLIT_SEED = 0
TEST_FRACTION = 0.25


@lru_cache(maxsize=1)
def _arrays():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.images.astype(np.float32) / 16.0 - 0.5) / 0.5
    return train_test_split(x, data.target.astype(np.int64), test_size=TEST_FRACTION,
                            stratify=data.target, random_state=SPLIT_SEED)


def load_digits_split(root: Path | None, train: bool, download: bool = True) -> Split:
    x_train, x_test, y_train, y_test = _arrays()
    x, y = (x_train, y_train) if train else (x_test, y_test)
    return Split(torch.from_numpy(x.copy()).unsqueeze(1), torch.from_numpy(y.copy()))


DATASETS.add("digits", DatasetInfo(
    "digits", (1, 8, 8), 10, load_digits_split,
    source="sklearn.datasets.load_digits, stratified split (test 25%, random_state 0)",
))
