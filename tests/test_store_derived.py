"""The store only stores: ``paistats.store.manifest.finalize`` hashes what is there and computes
nothing; the builder's derived step writes the statistics first, so that the manifest lists them;
stored statistics are found from the entry folder the reader records (no dask-graph walk)."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import xarray as xr

import paistats
from paistats.stats.derived import derived_path, entry_dirs, lookup, read_derived
from paistats.store.layout import MANIFEST_FILE

ARCH, DATA = "mnist1d_mlp", "mnist1d"
MAG, RND = f"{ARCH}-{DATA}-magnitude", f"{ARCH}-{DATA}-random"
DERIVED_REL = "derived/stats.zarr.zip"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """magnitude (original, shuffle) and random (original), sparsity 0.9, seeds 0 and 1, no
    training epoch: every run written, no entry finalized."""
    from zoo_builder import RunSpec, run, store
    from zoo_builder.training.recipes import RECIPES

    zoo = tmp_path_factory.mktemp("derived") / "zoo"
    zero = RECIPES.get("smoke").with_(epochs=0)
    specs = [RunSpec(ARCH, DATA, "magnitude", v, 0.9, k, zero) for v in ("original", "shuffle") for k in (0, 1)]
    specs += [RunSpec(ARCH, DATA, "random", "original", 0.9, k, zero) for k in (0, 1)]
    store.plan_entries(zoo, specs)
    for spec in specs:
        store.write_run(zoo, run(spec))
    return zoo


@pytest.fixture
def zoo(written, tmp_path):
    dst = tmp_path / "zoo"
    shutil.copytree(written, dst)
    return dst


def _listed(zoo, entry) -> dict:
    return json.loads((zoo / entry / MANIFEST_FILE).read_text())["files"]


def test_store_finalize_computes_no_statistics_and_imports_no_stats(zoo):
    code = ("import sys; from paistats.store.manifest import finalize; "
            f"finalize({str(zoo)!r}, {MAG!r}); print(sorted(m for m in sys.modules if m.startswith('paistats')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    loaded = eval(out.stdout.strip().splitlines()[-1])  # noqa: S307 (our own print of a list of str)
    assert loaded and not [m for m in loaded if m.startswith("paistats.stats")], loaded
    assert not derived_path(zoo / MAG).exists()
    assert DERIVED_REL not in _listed(zoo, MAG) and paistats.verify(zoo / MAG).ok


def test_builder_writes_statistics_before_the_manifest_that_lists_them(zoo):
    from paistats.store.manifest import sha256_file
    from zoo_builder import store

    manifests = store.finalize_entries(zoo, [MAG, RND], derived=True)
    assert [m.parent.name for m in manifests] == [RND, MAG]  # the random entry first
    for entry in (MAG, RND):
        listed = _listed(zoo, entry)[DERIVED_REL]
        assert listed["sha256"] == sha256_file(derived_path(zoo / entry))
        assert paistats.verify(zoo / entry).ok and read_derived(zoo / entry) is not None
    served = paistats.distances(paistats.load(f"{ARCH}-magnitude", zoo=zoo), precomputed="require")
    assert served.attrs["source"] == "stored" and any(v.endswith("_random_ratio") for v in served.data_vars)


def test_finalize_without_derived_leaves_statistics_alone(zoo):
    from zoo_builder import store

    store.finalize_entries(zoo, [MAG, RND], derived=False)
    assert not derived_path(zoo / MAG).exists() and DERIVED_REL not in _listed(zoo, MAG)


def test_statistics_do_not_depend_on_the_entry_order(written, tmp_path):
    """The ratios are computed from the random entry's tensors, not its stored statistics: the
    magnitude entry's statistics are the same whether the random entry's were written before or not."""
    from zoo_builder import store

    stored = {}
    for order in ((RND, MAG), (MAG, RND)):
        zoo = tmp_path / "-".join(e.rsplit("-", 1)[1] for e in order)
        shutil.copytree(written, zoo)
        for entry in order:
            store.write_statistics(zoo, entry)
        stored[order] = read_derived(zoo / MAG)
    first, second = stored.values()
    assert first is not None and second is not None
    assert first.identical(second)
    assert any(v.endswith("_random_ratio") for v in first["distances/original"].data_vars)


@pytest.mark.parametrize("entries, expected", [
    ([MAG, RND], [RND, MAG]),
    ([RND, MAG], [RND, MAG]),
    (["a-b-snip", "a-b-random", "c-d-random", "a-b-synflow"], ["a-b-random", "c-d-random", "a-b-snip", "a-b-synflow"]),
    (["a-b-snip", "a-b-not_random"], ["a-b-snip", "a-b-not_random"]),
])
def test_statistics_order_puts_random_entries_first_and_keeps_the_rest(entries, expected):
    from zoo_builder.store import statistics_order

    assert statistics_order(entries) == expected


def test_entry_folder_comes_from_the_readers_encoding_not_the_dask_graph(zoo):
    from zoo_builder import store

    store.finalize_entries(zoo, [MAG, RND], derived=True)
    tree = paistats.load(f"{ARCH}-magnitude", zoo=zoo)
    assert entry_dirs(tree) == [zoo / MAG] == entry_dirs(tree.sel(seed=[1])) == entry_dirs(tree["fc.0.weight"])
    stack = paistats.load(ARCH, zoo=zoo)
    assert sorted(entry_dirs(stack.sel(pruner=["magnitude"]))) == sorted([zoo / MAG, zoo / RND])
    # rebuilt from its root dataset: the tree's encoding is gone, the run flags' remains
    rebuilt = xr.DataTree(dataset=tree.to_dataset())
    rebuilt.encoding = {}
    assert entry_dirs(rebuilt) == [zoo / MAG]
    # no record at all (the data still lazily read from the entry): nothing is guessed from the graph
    rebuilt["complete"].encoding.pop("source")
    assert rebuilt["complete"].chunks is not None and entry_dirs(rebuilt) == []
    from paistats.stats._compute import Request

    hit, why = lookup(rebuilt, "layer_stats", Request())
    assert hit is None and "records no entry directory" in why
