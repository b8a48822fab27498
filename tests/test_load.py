"""Loading: names and aliases, lazy metadata-only open, views, to_model, bad input."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import paistats


def test_import_paistats_does_not_import_torch():
    code = ("import sys, paistats; assert 'torch' not in sys.modules and 'zoo_builder' not in sys.modules; "
            "assert 'paistats.store.writer' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_load_is_lazy_and_reads_no_torch(small_zoo):
    zoo, entry = small_zoo
    code = (f"import sys, paistats; t = paistats.load({entry!r}, zoo={str(zoo)!r}); "
            "assert t['fc.0.weight']['trained'].chunks is not None; assert 'torch' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_entry_alias_and_arch_names(small_zoo):
    zoo, entry = small_zoo
    full = paistats.load(entry, zoo=zoo)
    alias = paistats.load("mnist1d_mlp-magnitude", zoo=zoo)
    assert full.identical(alias)
    arch = paistats.load("mnist1d_mlp", zoo=zoo)
    assert list(arch["pruner"].values) == ["magnitude"]
    assert arch["fc.0.weight"]["mask"].dims[0] == "pruner"
    assert arch["accuracy"].sel(pruner="magnitude").dims == ("variant", "sparsity", "seed")
    assert set(full.coords) == {"variant", "sparsity", "seed", "epoch"}
    assert full["fc.0.weight"]["trained"].dims == ("variant", "sparsity", "seed", "out_features", "in_features")
    assert full["fc.0.weight"]["init"].dims == ("seed", "out_features", "in_features")
    assert full["fc.0.weight"]["score"].dims == ("seed", "out_features", "in_features")
    assert full["state/fc.0.bias"]["trained"].dims == ("variant", "sparsity", "seed", "out_features")
    assert paistats.layers(full) == ["fc.0.weight", "fc.1.weight", "out.weight"]


def test_the_pruner_is_called_pruner_wherever_the_user_sees_it(small_zoo):
    """No ``method``-named thing invites ``.sel(method=...)`` (xarray's keyword): the entry's attrs,
    the stacked tree's attrs and dim and ``list_zoo``'s column all say ``pruner``."""
    zoo, entry = small_zoo
    full = paistats.load(entry, zoo=zoo)
    assert full.attrs["pruner"] == "magnitude" and "method" not in full.attrs
    arch = paistats.load("mnist1d_mlp", zoo=zoo)
    assert arch.attrs["pruners"] == ["magnitude"] and arch.attrs["entries"] == [entry]
    assert not {"method", "methods"} & set(arch.attrs)
    for node in arch.subtree:
        assert not any("method" in str(name) for name in (*node.dims, *node.coords, *node.data_vars)), node.path
    table = paistats.list_zoo(zoo)
    assert "pruner" in table.columns and "method" not in table.columns
    assert table.loc[entry, "pruner"] == "magnitude"


def test_bad_selection_names_the_labels_as_plain_numbers(small_zoo):
    zoo, entry = small_zoo
    tree = paistats.load(entry, zoo=zoo)
    with pytest.raises(paistats.UnknownLabelError, match=r"sparsity=0.7 is not in this entry; available: \[0, 0.5\]"
                       ) as info:
        paistats.state_dict(tree, variant="original", sparsity=0.7, seed=0)
    with pytest.raises(paistats.UnknownLabelError, match=r"seed=9 .*available: \[0\]") as seed_info:
        paistats.state_dict(tree, variant="original", sparsity=0.5, seed=9)
    with pytest.raises(paistats.UnknownLabelError, match="stage must be one of init, trained") as stage_info:
        paistats.state_dict(tree, variant="original", sparsity=0.5, seed=0, stage="final")
    with pytest.raises(paistats.UnknownLabelError, match="stage must be one of init, trained"):
        paistats.unpruned(tree, stage="final")
    with pytest.raises(paistats.UnknownLabelError, match="'/state/fc.0.bias' is not a prunable tensor"):
        paistats.unpruned(tree["state/fc.0.bias"])
    arch = paistats.load("mnist1d_mlp", zoo=zoo)
    with pytest.raises(paistats.UnknownLabelError, match=r"stacks pruners \['magnitude'\]: pass pruner=") as p_info:
        paistats.state_dict(arch, variant="original", sparsity=0.5, seed=0)
    for e in (info, seed_info, stage_info, p_info):
        assert isinstance(e.value, ValueError) and "np." not in str(e.value) and "\n" not in str(e.value)


def test_unknown_entry_lists_close_matches(small_zoo):
    zoo, _ = small_zoo
    with pytest.raises(paistats.UnknownEntryError, match="mnist1d_mlp-magnitude"):
        paistats.load("mnist1d_mlp-magnitud", zoo=zoo)


@pytest.mark.parametrize("bad", ["../etc", "a/b", "..", ".hidden", "a\\b", ""])
def test_names_with_path_parts_are_rejected(small_zoo, bad):
    zoo, _ = small_zoo
    with pytest.raises(paistats.InvalidNameError):
        paistats.load(bad, zoo=zoo)


def test_unsupported_format_version(small_zoo):
    zoo, entry = small_zoo
    meta = zoo / entry / "zarr.json"
    doc = json.loads(meta.read_text())
    doc["attributes"]["format_version"] = 99
    meta.write_text(json.dumps(doc))
    with pytest.raises(paistats.UnsupportedFormatError, match="99"):
        paistats.load(entry, zoo=zoo)


def test_truncated_store(small_zoo):
    zoo, entry = small_zoo
    (zoo / entry / "zarr.json").write_text('{"zarr_format": 3, "node_ty')
    with pytest.raises(paistats.TruncatedStoreError, match="re-download"):
        paistats.load(entry, zoo=zoo)
    (zoo / entry / "zarr.json").unlink()
    with pytest.raises(paistats.TruncatedStoreError):
        paistats.load(entry, zoo=zoo)


def test_corrupt_chunk_names_the_file(small_zoo):
    zoo, entry = small_zoo
    f = zoo / entry / "fc.1.weight" / "trained" / "c" / "0" / "1" / "0" / "0" / "0"
    raw = bytearray(f.read_bytes())
    for i in range(10, len(raw) - 10, 97):
        raw[i] ^= 0x5A
    f.write_bytes(bytes(raw))
    tree = paistats.load(entry, zoo=zoo)
    with pytest.raises(paistats.CorruptChunkError, match=r"fc\.1\.weight/trained/c/0/1/0/0/0.*verify") as e:
        tree["fc.1.weight"]["trained"].sel(variant="original", sparsity=0.5, seed=0).values
    assert isinstance(e.value, OSError) and "\n" not in str(e.value)
    # other arrays still read (runs of the same array share dask chunks of up to 4 MiB, so a
    # corrupt shard makes its whole dask chunk unreadable until it is re-downloaded)
    tree["fc.1.weight"]["mask"].sel(variant="original", sparsity=0.5, seed=0).values
    tree["fc.0.weight"]["trained"].sel(variant="original", sparsity=0.5, seed=0).values


def test_missing_chunk_listed_in_manifest_is_an_error(small_zoo):
    zoo, entry = small_zoo
    (zoo / entry / "fc.0.weight" / "mask" / "c" / "1" / "1" / "0" / "0" / "0").unlink()
    tree = paistats.load(entry, zoo=zoo)
    with pytest.raises(paistats.MissingChunkError, match=r"fc\.0\.weight/mask/c/1/1/0/0/0"):
        tree["fc.0.weight"]["mask"].sel(variant="reinit", sparsity=0.5, seed=0).values


def test_unpruned_views(small_zoo, small_results):
    zoo, entry = small_zoo
    tree = paistats.load(entry, zoo=zoo)
    views = paistats.unpruned(tree, stage="init")
    w = views["fc.1.weight"]
    assert w.dims == ("variant", "sparsity", "seed", "out_features", "in_features")
    orig, rein = small_results[1], small_results[3]  # (original, 0.5, 0) and (reinit, 0.5, 0)
    got = w.sel(variant="original", sparsity=0.5, seed=0).values
    mask = orig.masks["fc.1.weight"].numpy()
    assert np.isnan(got[~mask]).all()
    np.testing.assert_array_equal(got[mask], orig.initial["fc.1.weight"].numpy()[mask])
    got = w.sel(variant="reinit", sparsity=0.5, seed=0).values
    mask = rein.masks["fc.1.weight"].numpy()
    np.testing.assert_array_equal(got[mask], rein.reinit["fc.1.weight"].numpy()[mask])
    trained = paistats.unpruned(tree["fc.1.weight"], stage="trained")
    assert np.isnan(trained.sel(variant="original", sparsity=0.5, seed=0).values).mean() == pytest.approx(0.5, abs=0.2)
    assert not np.isnan(trained.sel(variant="original", sparsity=0.0, seed=0).values).any()


def test_to_model_reproduces_stored_accuracy(small_zoo, small_results):
    from zoo_builder import datasets, training

    zoo, entry = small_zoo
    tree = paistats.load(entry, zoo=zoo)
    test = datasets.load("mnist1d", train=False)
    for r in (small_results[1], small_results[3]):
        model = paistats.to_model(tree, variant=r.spec.variant, sparsity=r.spec.sparsity, seed=r.spec.seed)
        assert training.evaluate(model, test)[1] == pytest.approx(r.accuracy, abs=1e-9)
        assert (model.fc[1].weight.detach().numpy()[~model.masks["fc.1.weight"].numpy()] == 0).all()
    start = paistats.to_model(tree, variant="reinit", sparsity=0.5, seed=0, stage="init")
    m = small_results[3].masks["out.weight"]
    assert np.array_equal(start.out.weight.detach()[m].numpy(), small_results[3].reinit["out.weight"][m].numpy())


def test_to_model_with_batchnorm_buffers(tmp_path, tiny_recipe, spec_factory):
    from zoo_builder import datasets, run, store, training

    r = run(spec_factory("original", 0.5, 0, tiny_recipe, arch="mnist1d_cnn"))
    store.plan_entries(tmp_path, [r.spec])
    store.write_run(tmp_path, r)
    tree = paistats.load("mnist1d_cnn-magnitude", zoo=tmp_path)
    assert tree["state/features.1.num_batches_tracked"]["trained"].dtype == np.int64
    model = paistats.to_model(tree, variant="original", sparsity=0.5, seed=0)
    assert training.evaluate(model, datasets.load("mnist1d", train=False))[1] == pytest.approx(r.accuracy, abs=1e-9)


def test_to_model_of_incomplete_run_is_refused(tmp_path, small_results):
    from zoo_builder import store

    store.plan_entries(tmp_path, [r.spec for r in small_results[:2]])
    store.write_run(tmp_path, small_results[0])
    tree = paistats.load("mnist1d_mlp-magnitude", zoo=tmp_path)
    with pytest.raises(paistats.IncompleteRunError):
        paistats.to_model(tree, variant="original", sparsity=0.5, seed=0)


def test_store_is_plain_zarr_v3_readable_by_xarray(small_zoo):
    zoo, entry = small_zoo
    tree = xr.open_datatree(zoo / entry, engine="zarr", chunks={})
    ours = paistats.load(entry, zoo=zoo)
    np.testing.assert_array_equal(tree["fc.0.weight"]["trained"].values, ours["fc.0.weight"]["trained"].values)


def test_list_zoo_and_cli(small_zoo):
    zoo, entry = small_zoo
    table = paistats.list_zoo(zoo)
    row = table.loc[entry]
    assert (row["planned"], row["complete"], row["finalized"]) == (4, 4, True)
    assert row["alias"] == "mnist1d_mlp-magnitude" and row["sparsities"] == [0.0, 0.5]
    out = subprocess.run([sys.executable, "-m", "paistats", "list", "--zoo", str(zoo)], capture_output=True, text=True)
    assert out.returncode == 0 and entry in out.stdout


def test_default_zoo_comes_from_the_environment(small_zoo, monkeypatch, tmp_path):
    zoo, entry = small_zoo
    monkeypatch.setenv("PAISTATS_CACHE", str(tmp_path / "nocache"))
    monkeypatch.delenv("PAISTATS_HUB_REPO", raising=False)
    monkeypatch.delenv("PAISTATS_ZOO", raising=False)
    with pytest.raises(paistats.ZooNotFoundError, match="PAISTATS_ZOO"):
        paistats.resolve_zoo()
    monkeypatch.setenv("PAISTATS_ZOO", str(zoo))
    assert paistats.resolve_zoo() == zoo
    assert paistats.load(entry).name == entry
    with pytest.raises(paistats.ZooNotFoundError):
        paistats.resolve_zoo(tmp_path / "does-not-exist")


def test_sparsity_labels_select_exactly_and_nearest(small_zoo):
    zoo, entry = small_zoo
    tree = paistats.load(entry, zoo=zoo)
    assert tree["accuracy"].sel(sparsity=0.5).dims == ("variant", "seed")
    assert float(tree["accuracy"].sel(sparsity=0.47, method="nearest")["sparsity"]) == 0.5
    assert float(tree["fc.0.weight"]["mask"].sel(sparsity=1 - 0.5000000000001, method="nearest")["sparsity"]) == 0.5
    # one rounding rule: a spec's sparsity is the label the store writes
    from paistats.store.grid import canonical_sparsity
    from zoo_builder import RunSpec

    assert RunSpec("mnist1d_mlp", "mnist1d", "magnitude", sparsity=1 - 0.8 ** 3).sparsity == canonical_sparsity(0.488)


def test_no_dimension_name_shadows_a_sel_or_python_keyword():
    import keyword

    from paistats.store import layout
    from zoo_builder import models, store

    names = set(layout.RUN_DIMS) | {"epoch"}
    for arch in models.names():
        for t in store._tensors(arch, models.ARCHITECTURES.get(arch).default_dataset):
            names |= set(t.dims)
            if t.prunable:
                assert t.dims[:2] in (("out_features", "in_features"), ("out_channels", "in_channels")), (arch, t)
    assert not names & {"method", "tolerance", "drop", "indexers", "in"}
    assert not any(keyword.iskeyword(n) for n in names)
    with pytest.raises(ValueError, match="keyword"):
        layout.check_dim_name("method")


def test_arch_stack_of_entries_with_different_grids(small_zoo, tiny_recipe, spec_factory):
    from zoo_builder import run, store

    zoo, entry = small_zoo
    spec = spec_factory("original", 0.9, 2, tiny_recipe, method="random")   # a sparsity and seed magnitude lacks
    store.plan_entries(zoo, [spec])
    store.write_run(zoo, run(spec))
    arch = paistats.load("mnist1d_mlp", zoo=zoo)
    assert list(arch["pruner"].values) == ["magnitude", "random"]
    assert list(arch["sparsity"].values) == [0.0, 0.5, 0.9] and list(arch["seed"].values) == [0, 2]
    cell = dict(pruner="random", variant="original", sparsity=0.9, seed=2)
    assert arch["complete"].sel(cell).values.item() and arch["device"].sel(cell).values.item() == "cpu"
    assert not arch["complete"].sel(pruner="magnitude", sparsity=0.9).values.any()
    missing = dict(pruner="magnitude", sparsity=0.9, seed=2, variant="original")
    assert arch["device"].sel(missing).values.item() == ""
    assert np.isnan(arch["accuracy"].sel(missing).values.item())
    assert np.isnan(arch["fc.0.weight"]["trained"].sel(missing).values).all()
