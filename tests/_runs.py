"""Helpers shared by test modules: small run specs, writing an entry, comparing two builds."""
from __future__ import annotations

from pathlib import Path

import numpy as np

SMALL_ARCH, SMALL_DATASET, SMALL_METHOD = "mnist1d_mlp", "mnist1d", "magnitude"


def make_spec(variant="original", sparsity=0.5, seed=0, recipe=None, arch=SMALL_ARCH, method=SMALL_METHOD,
              dataset=SMALL_DATASET):
    """A RunSpec of the small defaults (mnist1d MLP, magnitude; recipe ``smoke`` unless given)."""
    from zoo_builder import RunSpec

    return RunSpec(arch, dataset, method, variant, sparsity, seed, recipe if recipe is not None else "smoke")


def write_entry(zoo: Path, results) -> str:
    """Plan, write and finalize the runs with the builder's store; the entry name."""
    from zoo_builder import store

    entries = store.plan_entries(zoo, [r.spec for r in results])
    for r in results:
        store.write_run(zoo, r)
    for entry in entries:
        store.finalize(zoo, entry)
    return entries[0]


# Provenance that may differ between two builds of the same runs: whether a dense run reused
# another method's dense training depends on which runs one process ran together (a resumed
# build trains it itself); the weights are identical either way (test_dense_baselines_share...).
PROVENANCE_ONLY = ("dense_training_shared_with",)


def entry_arrays(entry_dir: Path) -> dict[str, np.ndarray]:
    """Every array of an entry (except wall times), for bit-wise comparison of two builds."""
    import json

    import zarr

    g = zarr.open_group(str(entry_dir), mode="r")
    out = {name: a[...] for name, a in g.members(max_depth=None)
           if isinstance(a, zarr.Array) and name != "seconds"}
    if "extra" in out:
        def strip(text):
            if not text:
                return text
            d = json.loads(text)
            return json.dumps({k: v for k, v in d.items() if k not in PROVENANCE_ONLY}, sort_keys=True)

        out["extra"] = np.vectorize(strip, otypes=[object])(out["extra"].astype(object))
    return out


def assert_same_entries(a: Path, b: Path, entries) -> None:
    """Every array of every entry is bit-identical in zoos ``a`` and ``b`` (wall times and provenance aside)."""
    for e in entries:
        xa, xb = entry_arrays(a / e), entry_arrays(b / e)
        assert xa.keys() == xb.keys()
        for k in xa:
            assert xa[k].dtype == xb[k].dtype
            assert np.array_equal(xa[k], xb[k], equal_nan=xa[k].dtype.kind == "f"), f"{e}/{k} differs"


def paistats_ok(entry_dir: Path) -> bool:
    """``paistats.verify`` finds every file of the entry as its manifest lists it."""
    import paistats

    return bool(paistats.verify(entry_dir))
