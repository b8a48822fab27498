"""The Frankle section's training check: the last-epoch gain table against a hand computation."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from analysis import frankle


def _curves() -> xr.Dataset:
    # test accuracy (fraction) per (pruner, variant, sparsity, seed, epoch); epochs stored out of order
    acc = np.zeros((2, 2, 2, 3, 3))
    acc[..., 0] = 0.80                                   # epoch 1
    acc[..., 1] = 0.90                                   # epoch 2 (the one before last)
    acc[..., 2] = 0.90 + 0.001 * np.arange(3)            # epoch 3: seeds gain 0, 0.1, 0.2 pp
    acc[0, 1, 1, :, 2] = 0.90 + np.array([0.002, 0.003, 0.004])   # snip/shuffle/0.9: 0.2, 0.3, 0.4 pp
    acc[1, 0, 0, 2, 2] = 0.99                             # an incomplete run's huge gain: must be ignored
    complete = np.ones((2, 2, 2, 3), bool)
    complete[1, 0, 0, 2] = False
    coords = dict(pruner=["snip", "random"], variant=["original", "shuffle"], sparsity=[0.5, 0.9], seed=[0, 1, 2])
    ds = xr.Dataset({"test_accuracy": (("pruner", "variant", "sparsity", "seed", "epoch"), acc),
                     "complete": (("pruner", "variant", "sparsity", "seed"), complete)},
                    coords=dict(coords, epoch=[1, 2, 3]))
    return ds.isel(epoch=[2, 0, 1])


def test_convergence_table_is_the_seed_mean_last_epoch_gain_in_pp():
    t = frankle.convergence_table(_curves()).set_index(["pruner", "variant", "sparsity"])
    assert len(t) == 8 and (t["last_epoch"] == 3).all()
    assert t.loc[("snip", "original", 0.5), "gain_pp"] == pytest.approx(np.mean([0.0, 0.1, 0.2]))
    assert t.loc[("snip", "shuffle", 0.9), "gain_pp"] == pytest.approx(0.3)
    assert t.loc[("snip", "shuffle", 0.9), "last_pp"] == pytest.approx(90.3)
    inc = t.loc[("random", "original", 0.5)]
    assert inc["n"] == 2 and inc["gain_pp"] == pytest.approx(0.05)     # seeds 0 and 1 only
    assert list(t.index[t["status"] == "not converged"]) == [("snip", "shuffle", 0.9)]
    assert not t.loc[("snip", "shuffle", 0.9), "converged"]


def test_convergence_table_with_one_epoch_is_empty_and_bad_input_is_one_line():
    assert frankle.convergence_table(_curves().isel(epoch=[0])).empty
    with pytest.raises(ValueError, match="test_accuracy with an epoch dim"):
        frankle.convergence_table(_curves().drop_vars("test_accuracy"))
