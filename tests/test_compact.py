"""The compacted (published) layout: identical values, far fewer files, counts predicted from the plan."""
from __future__ import annotations

import os

import numpy as np
import pytest
import xarray as xr

import paistats
from paistats.store import compact
from paistats.store.layout import MANIFEST_FILE
from paistats.store.reader import open_entry


def _files(path) -> list[str]:
    return [os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs]


def _max_folder(path) -> int:
    return max(len(ds) + len(fs) for _, ds, fs in os.walk(path))


def _assert_same_tree(a: xr.DataTree, b: xr.DataTree) -> None:
    assert {n.path for n in a.subtree} == {n.path for n in b.subtree}
    for node in a.subtree:
        assert set(node.data_vars) == set(b[node.path].data_vars), node.path
        for v in node.data_vars:
            x, y = node[v], b[node.path][v]
            assert x.dims == y.dims and x.dtype == y.dtype, (node.path, v)
            np.testing.assert_array_equal(x.values, y.values, err_msg=f"{node.path}/{v}")
    assert a.attrs["runs"] == b.attrs["runs"] and a.attrs["tensors"] == b.attrs["tensors"]


def test_compacted_snapshot_loads_identical_with_fewer_files(small_zoo):
    zoo, entry = small_zoo
    snap = compact.snapshot(zoo, entry)
    assert snap == zoo / ".builder" / "publish" / entry
    built, packed = paistats.load(entry, zoo=zoo), open_entry(snap)
    _assert_same_tree(built, packed)
    assert packed.attrs["layout"] == "compact" and paistats.verify(snap).ok
    # plain Zarr v3: xarray reads it on its own, lazily
    plain = xr.open_datatree(snap, engine="zarr", chunks={})
    np.testing.assert_array_equal(plain["fc.0.weight"]["trained"].values, built["fc.0.weight"]["trained"].values)
    trained = packed["fc.0.weight"]["trained"].variable
    assert trained.data.chunks[-2:] == ((100,), (40,))          # dask: whole tensors, runs grouped
    n_build, n_packed = len(_files(zoo / entry)), len(_files(snap))
    data = [f for f in _files(snap) if not f.endswith(("zarr.json", MANIFEST_FILE))]
    n_arrays = sum(1 for f in _files(snap) if f.endswith("zarr.json")) - 1 - len(list(packed.subtree))
    assert len(data) <= n_arrays < n_packed < n_build                # at most one data file per array here


def test_predicted_file_counts_bound_the_measured_ones(tmp_path, small_results):
    from zoo_builder import plan as P
    from zoo_builder import store

    zoo = tmp_path / "zoo"
    results = small_results
    specs = [r.spec for r in results]
    (entry,) = store.plan_entries(zoo, specs)
    for r in results:
        store.write_run(zoo, r)
    store.finalize(zoo, entry)
    snap = compact.snapshot(zoo, entry)
    (row,) = P.file_counts(P.make_plan("t", specs))
    measured_build, measured_compact = len(_files(zoo / entry)), len(_files(snap))
    # fill-only chunks (False flags, never-run cells) are not stored: the prediction is an upper bound
    assert measured_build <= row["build"] and measured_compact <= row["compact"]
    assert row["compact"] - measured_compact <= 20 and row["build"] - measured_build <= 60
    assert _max_folder(snap) <= row["compact_max_folder"]


def test_frankle_vgg16_entry_fits_the_hub():
    from zoo_builder import plan as P
    from zoo_builder import presets

    rows = P.file_counts(P.from_config(presets.load("frankle-cifar10")))
    vgg = [r for r in rows if r["entry"].startswith("vgg16")]
    assert vgg and all(r["build"] > 40_000 for r in vgg)        # why the build layout is never published
    assert all(r["compact"] <= 2_000 for r in rows)
    assert sum(r["compact"] for r in rows) < 100_000
    assert max(r["compact_max_folder"] for r in rows) < 10_000


def test_snapshot_is_remade_only_when_the_entry_changed(small_zoo, small_results):
    from zoo_builder import store

    zoo, entry = small_zoo
    snap = compact.snapshot(zoo, entry)
    stamp = (snap / MANIFEST_FILE).stat().st_mtime_ns
    assert compact.snapshot(zoo, entry) == snap and (snap / MANIFEST_FILE).stat().st_mtime_ns == stamp
    store.plan_entries(zoo, [small_results[4].spec])
    store.write_run(zoo, small_results[4])
    with pytest.raises(paistats.ManifestError, match="not finalized"):
        compact.snapshot(zoo, entry)
    store.finalize(zoo, entry)
    again = compact.snapshot(zoo, entry)
    assert (again / MANIFEST_FILE).stat().st_mtime_ns != stamp
    _assert_same_tree(paistats.load(entry, zoo=zoo), open_entry(again))
    assert 1 in open_entry(again)["seed"].values


def test_compaction_is_deterministic(small_zoo, tmp_path):
    zoo, entry = small_zoo
    a = compact.compact_entry(zoo / entry, tmp_path / "a")
    b = compact.compact_entry(zoo / entry, tmp_path / "b")
    fa = sorted(os.path.relpath(p, a) for p in _files(a))
    assert fa == sorted(os.path.relpath(p, b) for p in _files(b))
    assert all(open(os.path.join(a, f), "rb").read() == open(os.path.join(b, f), "rb").read() for f in fa)
