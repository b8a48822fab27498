"""paistats.stats on real built entries (mnist1d_mlp: magnitude with three variants, two sparsities and
two seeds; random for the ratio): every number equals numpy / scipy on the same cells, the analytic
truncated-Gaussian check of the reference holds, precomputed results equal fresh ones bit for bit."""
from __future__ import annotations

import itertools
import json
import shutil
import warnings

import numpy as np
import pytest
import scipy.stats as ss
from scipy.spatial.distance import jensenshannon

import paistats
from paistats.stats import distances, layer_stats, noise_floor, write_derived
from paistats.stats.derived import derived_path, read_derived

ARCH, DATA = "mnist1d_mlp", "mnist1d"
MAG, RND = f"{ARCH}-{DATA}-magnitude", f"{ARCH}-{DATA}-random"
VARIANTS = ("original", "shuffle", "reinit")
SPARSITIES = (0.5, 0.9)
SEEDS = (0, 1)
RTOL = 1e-8


@pytest.fixture(scope="module")
def built_zoo(tmp_path_factory):
    """magnitude (1 epoch) and random (0 epochs): 3 variants × 2 sparsities × 2 seeds."""
    from zoo_builder import RunSpec, run, store
    from zoo_builder.training.recipes import RECIPES

    zoo = tmp_path_factory.mktemp("stats") / "zoo"
    one, zero = RECIPES.get("smoke").with_(epochs=1), RECIPES.get("smoke").with_(epochs=0)
    specs = [RunSpec(ARCH, DATA, "magnitude", v, s, k, one) for v in VARIANTS for s in SPARSITIES for k in SEEDS]
    # random with the same grid (an arch stack of unequal grids needs the reader's outer join of string variables)
    specs += [RunSpec(ARCH, DATA, "random", v, s, k, zero) for v in VARIANTS for s in SPARSITIES for k in SEEDS]
    for entry in store.plan_entries(zoo, specs):
        pass
    for spec in specs:
        store.write_run(zoo, run(spec))
    for entry in (MAG, RND):
        store.finalize(zoo, entry)
    return zoo


@pytest.fixture
def zoo(built_zoo, tmp_path):
    """A private copy (tests write derived stores or grow entries)."""
    dst = tmp_path / "zoo"
    shutil.copytree(built_zoo, dst)
    return dst


@pytest.fixture(scope="module")
def tree(built_zoo):
    return paistats.load(f"{ARCH}-magnitude", zoo=built_zoo)


# --- independent reference values ---------------------------------------------------------------

def raw(tree, layer, variant, sparsity, seed):
    """(mask, start, trained, score) of one run as float64 numpy arrays (read directly)."""
    node = tree[layer]
    m = np.asarray(node["mask"].sel(variant=variant, sparsity=sparsity, seed=seed))
    start = node["reinit" if variant == "reinit" else "init"].sel(seed=seed)
    t = node["trained"].sel(variant=variant, sparsity=sparsity, seed=seed)
    s = node["score"].sel(seed=seed)
    if "sparsity" in s.dims:
        s = s.sel(sparsity=sparsity)
    return m, *(np.asarray(x, dtype=np.float64) for x in (start, t, s))


def sample(tree, layer, variant, sparsity, seed, stage, mode="kept"):
    m, w0, w1, s = raw(tree, layer, variant, sparsity, seed)
    values = {"init": w0, "trained": w1, "score": s, "dense_init": w0, "dense_score": s}[stage]
    if stage.startswith("dense") or mode == "dense":
        return values.ravel()
    if mode == "pruned":
        return np.where(m, values, 0.0).ravel()
    return values[m]


def cells(tree, n, seed=0):
    rng = np.random.default_rng(seed)
    layers = paistats.layers(tree)
    allc = list(itertools.product(layers, VARIANTS, SPARSITIES, SEEDS))
    return [allc[i] for i in rng.choice(len(allc), size=n, replace=False)]


def shared_hist(x, y, bins=100):
    lo, hi = min(x.min(), y.min()), max(x.max(), y.max())
    return (np.histogram(x, bins=bins, range=(lo, hi))[0] / x.size,
            np.histogram(y, bins=bins, range=(lo, hi))[0] / y.size)


def expected_distances(x, y):
    p, q = shared_hist(x, y)
    return {
        "ks": ss.ks_2samp(x, y).statistic, "wasserstein": ss.wasserstein_distance(x, y),
        "wasserstein_rel": ss.wasserstein_distance(x, y) / np.std(y), "energy": ss.energy_distance(x, y),
        "jensen_shannon": jensenshannon(p, q, base=2), "hellinger": np.sqrt(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2) / 2),
        "mean_diff": x.mean() - y.mean(), "log_std_ratio": np.log(np.std(x) / np.std(y)),
        "kurtosis_diff": ss.kurtosis(x) - ss.kurtosis(y),
    }


# --- layer statistics ------------------------------------------------------------------------------

def test_layer_stats_equal_numpy_and_scipy_on_random_cells(tree):
    st = layer_stats(tree, precomputed=False)
    assert st["std"].dims == ("variant", "sparsity", "seed", "layer", "stage")
    assert st["quantile_value"].dims[-1] == "quantile"
    q = st["quantile"].values
    for layer, v, s, k in cells(tree, 8):
        fan_in = int(np.prod(tree[layer]["init"].shape[2:]))
        size = int(np.prod(tree[layer]["init"].shape[1:]))
        for stage in ("init", "trained", "dense_init", "score", "dense_score"):
            x = sample(tree, layer, v, s, k, stage)
            got = st.sel(layer=layer, variant=v, sparsity=s, seed=k, stage=stage)
            want = {"count": x.size, "density": x.size / size, "mean": np.mean(x), "std": np.std(x),
                    "skewness": ss.skew(x), "kurtosis": ss.kurtosis(x), "mean_abs": np.mean(np.abs(x)),
                    "l2": np.linalg.norm(x), "frac_positive": np.mean(x > 0)}
            if not stage.endswith("score"):
                want["std_ratio_init"] = np.std(x) / np.sqrt(2 / fan_in)
                kind = "score" if stage != "dense_init" else "dense_score"
                want["spearman_abs_score"] = ss.spearmanr(np.abs(x), sample(tree, layer, v, s, k, kind)).statistic
            else:
                assert np.isnan(got["std_ratio_init"]) and np.isnan(got["spearman_abs_score"])
            for name, value in want.items():
                np.testing.assert_allclose(got[name].item(), value, rtol=RTOL, err_msg=f"{name} {layer} {v} {s} {k} {stage}")
            np.testing.assert_allclose(got["quantile_value"].values, np.quantile(x, q), rtol=RTOL)


def test_count_is_mask_sum_and_density_is_stored_density(tree):
    st = layer_stats(tree, precomputed=False)
    for layer in paistats.layers(tree):
        mask_sum = tree[layer]["mask"].sum([d for d in tree[layer]["mask"].dims if d not in ("variant", "sparsity", "seed")])
        for stage in ("init", "trained", "score"):
            np.testing.assert_array_equal(st["count"].sel(layer=layer, stage=stage), mask_sum.transpose(*st["count"].sel(layer=layer, stage=stage).dims))
    np.testing.assert_allclose(st["density"].sel(layer="all", stage="init"), tree["density"].transpose("variant", "sparsity", "seed"),
                               rtol=1e-12)
    total = sum(int(np.prod(tree[n]["init"].shape[1:])) for n in paistats.layers(tree))
    np.testing.assert_array_equal(st["count"].sel(layer="all", stage="dense_init"), total)


def test_all_layer_is_count_weighted_mean(tree):
    st = layer_stats(tree, precomputed=False).sel(variant="shuffle", sparsity=0.9, seed=1, stage="trained")
    per = st.drop_sel(layer="all")
    w = per["count"].values
    np.testing.assert_allclose(st["std"].sel(layer="all"), np.sum(per["std"].values * w) / w.sum(), rtol=1e-12)


def test_magnitude_kept_init_std_follows_truncated_gaussian(tree):
    """std(magnitude-kept) / std(shuffle-kept) = √(1 + aφ(a)/Q(a)), a = threshold / layer std (reference doc)."""
    st = layer_stats(tree, precomputed=False)
    checked = 0
    for layer, s, k in itertools.product(paistats.layers(tree), SPARSITIES, SEEDS):
        kept = sample(tree, layer, "original", s, k, "init")
        dense = sample(tree, layer, "original", s, k, "dense_init")
        if kept.size < 100 or kept.size == dense.size:
            continue
        a = np.abs(kept).min() / np.std(dense)
        predicted = np.sqrt(1 + a * ss.norm.pdf(a) / ss.norm.sf(a))
        mag = st.sel(layer=layer, variant="original", sparsity=s, seed=k, stage="init")
        shu = st.sel(layer=layer, variant="shuffle", sparsity=s, seed=k, stage="init")
        ratio = float(mag["std"] / shu["std"])
        # delta method: relative s.e. of a sample std is √((excess kurtosis + 2) / (4n))
        se = np.sqrt((float(mag["kurtosis"]) + 2) / (4 * float(mag["count"])) + 2 / (4 * float(shu["count"])))
        assert abs(ratio / predicted - 1) < 4 * se, (layer, s, k, ratio, predicted, se)
        checked += 1
    assert checked >= 6


def test_shuffle_and_reinit_kept_init_std_match_the_initializer(tree):
    st = layer_stats(tree, precomputed=False).sel(stage="init")
    for v in ("shuffle", "reinit"):
        r = st.sel(variant=v).drop_sel(layer="all")
        n = r["count"]
        z = (r["std_ratio_init"] - 1) / np.sqrt(1 / (2 * n))  # s.e. of a Gaussian sample std
        assert float(np.abs(z).max()) < 4.5, (v, z.values)
        # the original (magnitude) kept weights are far wider: the check has power
    assert float(st["std_ratio_init"].sel(variant="original", sparsity=0.9).min()) > 1.5


# --- distances -------------------------------------------------------------------------------------

@pytest.mark.parametrize("reference,include_pruned", [("original", False), ("original", True), ("dense", False),
                                                      ("shuffle", False)])
def test_distances_equal_scipy_on_random_cells(tree, reference, include_pruned):
    d = distances(tree, reference=reference, include_pruned=include_pruned, precomputed=False)
    assert d["ks"].dims == ("variant", "sparsity", "seed", "layer", "stage")
    mode = "pruned" if include_pruned else "kept"
    for layer, v, s, k in cells(tree, 5, seed=1):
        for stage in ("init", "trained", "score"):
            x = sample(tree, layer, v, s, k, stage, mode)
            if reference == "dense":
                y = sample(tree, layer, v, s, k, stage, "dense")
                if stage == "trained":
                    y = sample(tree, layer, v, s, k, "dense_init")
            else:
                y = sample(tree, layer, reference, s, k, stage, mode)
            got = d.sel(layer=layer, variant=v, sparsity=s, seed=k, stage=stage)
            for name, value in expected_distances(x, y).items():
                np.testing.assert_allclose(got[name].item(), value, rtol=RTOL, atol=1e-300 if value == 0 else 0,
                                           err_msg=f"{name} {layer} {v} {s} {k} {stage} {reference}")


def test_noise_floor_one_value_per_seed_pair_equal_to_scipy(tree):
    nf = noise_floor(tree, precomputed=False)
    assert nf.sizes["seed_pair"] == 1 and (nf["seed_a"].item(), nf["seed_b"].item()) == (0, 1)
    assert nf["wasserstein"].dims == ("sparsity", "seed_pair", "layer", "stage")
    layer = paistats.layers(tree)[1]
    for s, stage in itertools.product(SPARSITIES, ("init", "trained")):
        x = sample(tree, layer, "original", s, 0, stage)
        y = sample(tree, layer, "original", s, 1, stage)
        got = nf.sel(layer=layer, sparsity=s, stage=stage).isel(seed_pair=0)
        for name, value in expected_distances(x, y).items():
            np.testing.assert_allclose(got[name].item(), value, rtol=RTOL, err_msg=name)


def test_ratio_to_random_pruning_on_an_architecture_stack(built_zoo):
    arch = paistats.load(ARCH, zoo=built_zoo)
    d = distances(arch, precomputed=False)
    pdim = d["ks"].dims[0]
    assert d["ks"].dims[1:] == ("variant", "sparsity", "seed", "layer", "stage")
    mag, rnd = arch.sel({pdim: "magnitude"}), arch.sel({pdim: "random"})
    layer = paistats.layers(arch)[0]
    for v, s, k in [("shuffle", 0.9, 1), ("reinit", 0.5, 0)]:
        x = sample(mag, layer, v, s, k, "trained")
        y = sample(mag, layer, "original", s, k, "trained")
        r = sample(rnd, layer, "original", s, k, "trained")
        got = d.sel({pdim: "magnitude", "layer": layer, "variant": v, "sparsity": s, "seed": k, "stage": "trained"})
        want = ss.wasserstein_distance(x, y) / ss.wasserstein_distance(r, y)
        np.testing.assert_allclose(got["wasserstein_random_ratio"].item(), want, rtol=RTOL)
    assert np.isnan(d["wasserstein_random"].sel(stage="score")).all()
    # one entry plus its random entry gives the same numbers
    single = distances(paistats.load(MAG, zoo=built_zoo), random_entry=paistats.load(RND, zoo=built_zoo), precomputed=False)
    np.testing.assert_array_equal(single["wasserstein_random_ratio"],
                                  d["wasserstein_random_ratio"].sel({pdim: "magnitude"}, drop=True))


def test_results_are_tidy_tables(tree):
    """One row per run × layer × stage, each exactly once, holding that cell's numbers."""
    df = distances(tree, precomputed=False).to_dataframe()
    assert list(df.index.names) == ["variant", "sparsity", "seed", "layer", "stage"]
    layers = [*paistats.layers(tree), "all"]
    assert df.index.is_unique
    assert set(df.index) == set(itertools.product(VARIANTS, SPARSITIES, SEEDS, layers, ("init", "trained", "score")))
    for layer, v, s, k in cells(tree, 4, seed=1):
        for stage in ("init", "trained"):
            row = df.loc[(v, s, k, layer, stage)]
            want = expected_distances(sample(tree, layer, v, s, k, stage), sample(tree, layer, "original", s, k, stage))
            for name in ("ks", "wasserstein", "energy", "log_std_ratio"):
                np.testing.assert_allclose(row[name], want[name], rtol=RTOL, atol=1e-12, err_msg=f"{name} {layer} {v} {s} {k}")


# --- precomputed statistics ---------------------------------------------------------------------------

def _same(a, b):
    assert set(a.data_vars) == set(b.data_vars)
    for v in b.data_vars:
        assert a[v].dims == b[v].dims, v
        assert np.array_equal(a[v].values, b[v].values, equal_nan=True), v  # bit for bit (NaN where NaN)
    assert set(a.coords) == set(b.coords)
    for c in b.coords:
        assert a[c].dims == b[c].dims and np.array_equal(a[c].values, b[c].values), c
    assert _plain(a.attrs) == _plain(b.attrs)


def _plain(attrs):
    """Attributes without the provenance ones (stored and computed results differ there by design)."""
    return {k: v for k, v in attrs.items() if not k.startswith("source")}


def test_precomputed_equal_fresh_bit_for_bit_and_read_no_tensor(zoo, monkeypatch):
    for e in (RND, MAG):
        write_derived(zoo / e)
    for name in (f"{ARCH}-magnitude", ARCH):
        obj = paistats.load(name, zoo=zoo)
        fresh = {"s": layer_stats(obj, precomputed=False), "d": distances(obj, precomputed=False),
                 "dp": distances(obj, include_pruned=True, precomputed=False), "n": noise_floor(obj, precomputed=False)}
        from paistats.store import reader

        reads = []
        orig = reader._SafeArray.__getitem__
        monkeypatch.setattr(reader._SafeArray, "__getitem__", lambda self, key: (reads.append(self.rel), orig(self, key))[1])
        pre = {"s": layer_stats(obj), "d": distances(obj), "dp": distances(obj, include_pruned=True), "n": noise_floor(obj)}
        monkeypatch.undo()
        assert not [r for r in reads if "/" in r], reads  # no tensor chunk was read
        for k in fresh:
            _same(pre[k], fresh[k])
        light = paistats.load(name, zoo=zoo, tensors=False)  # root variables + derived statistics only
        _same(layer_stats(light), fresh["s"])
        _same(distances(light, include_pruned=True), fresh["dp"])


def test_precomputed_is_recomputed_when_the_entry_grows(zoo, monkeypatch):
    from zoo_builder import RunSpec, run, store
    from zoo_builder.training.recipes import RECIPES

    write_derived(zoo / MAG)
    assert read_derived(zoo / MAG) is not None
    spec = RunSpec(ARCH, DATA, "magnitude", "original", 0.5, 2, RECIPES.get("smoke").with_(epochs=1))
    store.plan_entries(zoo, [spec])  # the grid grows by a seed that is not written yet
    assert read_derived(zoo / MAG) is None
    grown = paistats.load(f"{ARCH}-magnitude", zoo=zoo)
    st = layer_stats(grown)
    assert 2 in st["seed"].values and np.isnan(st["count"].sel(seed=2)).all()  # incomplete: excluded
    store.write_run(zoo, run(spec))
    store.finalize(zoo, MAG)
    st = layer_stats(paistats.load(f"{ARCH}-magnitude", zoo=zoo))
    assert np.isfinite(st["count"].sel(seed=2, variant="original", sparsity=0.5)).all()
    write_derived(zoo / MAG)
    assert read_derived(zoo / MAG) is not None and derived_path(zoo / MAG).is_file()


def test_same_numbers_on_a_distributed_local_cluster(tree):
    distributed = pytest.importorskip("distributed")
    local = distances(tree.sel(sparsity=[0.9]), precomputed=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                      dashboard_address=None) as cluster, distributed.Client(cluster):
            remote = distances(tree.sel(sparsity=[0.9]), precomputed=False)
            rstats = layer_stats(tree.sel(sparsity=[0.9]), precomputed=False)
    _same(remote, local)
    _same(rstats, layer_stats(tree.sel(sparsity=[0.9]), precomputed=False))


def test_cli_stats_writes_tables(zoo, tmp_path, capsys):
    import pandas as pd
    import xarray as xr

    from paistats.cli import main

    assert main(["stats", str(zoo / MAG)]) == 0
    assert read_derived(zoo / MAG) is not None
    fresh = layer_stats(paistats.load(f"{ARCH}-magnitude", zoo=zoo), precomputed=False)
    for ext in ("parquet", "csv", "nc"):
        out = tmp_path / f"stats.{ext}"
        assert main(["stats", str(zoo / MAG), "--out", str(out)]) == 0
        if ext == "parquet":
            df = pd.read_parquet(out)
        elif ext == "csv":
            df = pd.read_csv(out)
        else:
            with xr.open_dataset(out, engine="scipy") as ds:
                np.testing.assert_array_equal(ds["std"].values, fresh["std"].values)
            continue
        assert list(df.columns[:5]) == ["variant", "sparsity", "seed", "layer", "stage"]
        assert len(df) == fresh["std"].size  # one row per run × layer × stage, quantiles as columns
        np.testing.assert_array_equal(df["quantile_value_0.5"].values,
                                      fresh["quantile_value"].sel(quantile=0.5).values.ravel())
        np.testing.assert_allclose(np.sort(df["std"].dropna().unique()), np.sort(np.unique(fresh["std"].values[
            np.isfinite(fresh["std"].values)])), rtol=1e-15)
    out = tmp_path / "nf.parquet"
    assert main(["stats", str(zoo / MAG), "--out", str(out), "--table", "noise_floor_pruned"]) == 0
    assert {"seed_pair", "seed_a", "seed_b", "wasserstein"} <= set(pd.read_parquet(out).columns)
    assert paistats.verify(zoo / MAG).ok  # the manifest lists the derived store
    assert main(["stats", str(tmp_path / "nowhere")]) == 2
    assert "paistats: error:" in capsys.readouterr().err


@pytest.mark.slow
def test_benchmark_script_runs_on_a_tiny_zoo(zoo, capsys):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    import bench_stats

    bench_stats.main([str(zoo), "--naive-cells", "1", "--write-derived", "--mem-arch", ARCH, "--mem-dataset", DATA,
                      "--mem-recipe", "smoke", "--mem-seeds", "1", "--grow", "2", "--decompose"])
    out = capsys.readouterr().out
    for line in ("× the I/O floor", "× paistats", "precomputed layer_stats + distances", "growth of the peak",
                 "held in memory", "reading and computing overlap by", "bytes floor (read + decode the",
                 "every chunk through zarr instead"):
        assert line in out, out
    # the bytes floor decodes every stored chunk of the five tensors, whole
    files = bench_stats._chunk_files(paistats.load(MAG, zoo=zoo))
    chunk_bytes, arrays = {}, set()
    for path, _ in files:
        array = next(p for p in path.parents if (p / "zarr.json").exists() and p.name in bench_stats._TENSORS)
        meta = json.loads((array / "zarr.json").read_text())
        shape = meta["chunk_grid"]["configuration"]["chunk_shape"]
        chunk_bytes[path] = int(np.prod(shape)) * np.dtype(meta["data_type"]).itemsize
        arrays.add(array.name)
    assert arrays == set(bench_stats._TENSORS)
    assert bench_stats.bytes_floor(files, 2) == sum(chunk_bytes.values()) > 0
    bench_stats.main([str(zoo), "--stored-only", "--repeat", "1"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if "[source:" in line]
    assert len(rows) == 6 and all("computed" not in r and "?" not in r for r in rows), out
    assert out.count("ratios to random: yes") == 2, out


# --- caching: visible, and the same for every spelling of a selection ---------------------------------

KINDS = {
    "layer_stats": lambda o, **kw: layer_stats(o, **kw),
    "distances": lambda o, **kw: distances(o, **kw),
    "distances_pruned": lambda o, **kw: distances(o, include_pruned=True, **kw),
    "noise_floor": lambda o, **kw: noise_floor(o, **kw),
}


@pytest.fixture
def stored_zoo(zoo):
    for e in (RND, MAG):  # random first: the others take their ratios from it
        write_derived(zoo / e)
    return zoo


def _keys(zoo, *entries):
    from paistats.stats.derived import source_key

    return "; ".join(f"{e}:{source_key(zoo / e)}" for e in entries)


def test_results_say_whether_stored_or_computed(stored_zoo):
    tree = paistats.load(f"{ARCH}-magnitude", zoo=stored_zoo)
    stored = layer_stats(tree)
    assert (stored.attrs["source"], stored.attrs["source_key"], stored.attrs["source_reason"]) == \
        ("stored", _keys(stored_zoo, MAG), "")
    fresh = layer_stats(tree, precomputed=False)
    assert (fresh.attrs["source"], fresh.attrs["source_key"], fresh.attrs["source_reason"]) == \
        ("computed", "", "precomputed=False")
    other = layer_stats(tree, quantiles=(0.5,))
    assert other.attrs["source"] == "computed" and "quantiles" in other.attrs["source_reason"]
    arch = distances(paistats.load(ARCH, zoo=stored_zoo))
    assert arch.attrs["source"] == "stored"
    assert arch.attrs["source_key"] == _keys(stored_zoo, *[f"{ARCH}-{DATA}-{p}" for p in arch["pruner"].values])


def _spellings(zoo):
    """(scalar spelling, list spelling, dims the scalar one selected) of the same runs."""
    arch = paistats.load(ARCH, zoo=zoo)
    entry = paistats.load(f"{ARCH}-magnitude", zoo=zoo)
    p = [str(x) for x in arch["pruner"].values].index("magnitude")
    return [
        (arch.sel(pruner="magnitude", sparsity=0.9), arch.sel(pruner=["magnitude"], sparsity=[0.9]), ("pruner", "sparsity")),
        (arch.isel(pruner=p, sparsity=1), arch.isel(pruner=[p], sparsity=[1]), ("pruner", "sparsity")),
        (entry.sel(sparsity=0.9), entry.sel(sparsity=[0.9]), ("sparsity",)),
        (entry.isel(seed=1), entry.isel(seed=[1]), ("seed",)),
        (entry.sel(variant="original"), entry.sel(variant=["original"]), ("variant",)),
        (arch.sel(pruner="random"), arch.sel(pruner=["random"]), ("pruner",)),
    ]


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_selection_spelling_is_served_from_the_store_and_equals_computing(stored_zoo, kind):
    f = KINDS[kind]
    for scalar, listed, dims in _spellings(stored_zoo):
        one_seed = "seed" in dims
        if kind == "noise_floor" and one_seed:
            continue  # the noise floor of one seed: NaN by definition (tested below)
        a, b = f(scalar), f(listed)
        assert a.attrs["source"] == b.attrs["source"] == "stored", (dims, a.attrs, b.attrs)
        assert a.attrs["source_key"] == b.attrs["source_key"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # fully pruned layers of single cells
            _same(a, f(scalar, precomputed=False))
            _same(b, f(listed, precomputed=False))
        _same(a, b.isel({d: 0 for d in dims if d in b.dims}).drop_vars(
            [c for c in ("variant", "seed") if kind == "noise_floor" and c in dims], errors="ignore"))


def test_noise_floor_of_one_selected_seed_is_computed_and_says_why(stored_zoo):
    tree = paistats.load(f"{ARCH}-magnitude", zoo=stored_zoo)
    with pytest.warns(paistats.stats.StatsWarning, match="two seeds"):
        nf = noise_floor(tree.sel(seed=[0]))
    assert nf.attrs["source"] == "computed" and "fewer than two seeds" in nf.attrs["source_reason"]


def test_one_entry_gets_the_stored_ratios_to_random_pruning(stored_zoo):
    arch = distances(paistats.load(ARCH, zoo=stored_zoo))
    entry = paistats.load(f"{ARCH}-magnitude", zoo=stored_zoo)
    rnd = paistats.load(RND, zoo=stored_zoo)
    want = arch["wasserstein_random_ratio"].sel(pruner="magnitude", drop=True)
    for d in (distances(entry), distances(entry, random_entry=rnd), distances(entry, precomputed=False),
              distances(entry, random_entry=rnd, precomputed=False)):
        np.testing.assert_array_equal(d["wasserstein_random_ratio"], want)
    assert distances(entry, random_entry=rnd).attrs["source"] == "stored"


def test_stale_ratios_to_random_pruning_are_recomputed(stored_zoo):
    from zoo_builder import RunSpec, store
    from zoo_builder.training.recipes import RECIPES

    spec = RunSpec(ARCH, DATA, "random", "original", 0.5, 2, RECIPES.get("smoke").with_(epochs=0))
    store.plan_entries(stored_zoo, [spec])  # the random entry grows: its key changes
    entry = paistats.load(f"{ARCH}-magnitude", zoo=stored_zoo)
    d = distances(entry)
    assert d.attrs["source"] == "computed" and "random pruning" in d.attrs["source_reason"]
    assert layer_stats(entry).attrs["source"] == "stored"  # the magnitude entry itself did not change
    with pytest.raises(paistats.stats.NotPrecomputedError, match="older than"):
        distances(entry, precomputed="require")


def test_require_raises_one_line_when_the_store_cannot_serve(stored_zoo):
    from paistats.stats import NotPrecomputedError

    tree = paistats.load(f"{ARCH}-magnitude", zoo=stored_zoo)
    layer = paistats.layers(tree)[0]
    cases = [(lambda: layer_stats(tree, quantiles=(0.5,), precomputed="require"), "quantiles"),
             (lambda: distances(tree, reference="dense", precomputed="require"), "reference"),
             (lambda: distances(tree, bins=10, precomputed="require"), "bins"),
             (lambda: layer_stats(tree[layer], precomputed="require"), "layer node"),
             (lambda: noise_floor(tree.sel(seed=1), precomputed="require"), "two seeds")]
    for call, why in cases:
        with pytest.raises(NotPrecomputedError, match=why) as e:
            call()
        assert "\n" not in str(e.value) and "precomputed=True" in str(e.value)
    assert isinstance(e.value, paistats.ZooError)
    assert layer_stats(tree, precomputed="require").attrs["source"] == "stored"
    with pytest.raises(ValueError, match="precomputed must be True, False or 'require'"):
        layer_stats(tree, precomputed="yes")


def test_require_raises_without_a_store(built_zoo):
    with pytest.raises(paistats.stats.NotPrecomputedError, match="python -m paistats stats"):
        layer_stats(paistats.load(f"{ARCH}-magnitude", zoo=built_zoo), precomputed="require")


def test_an_arch_stacks_dense_statistics_are_one_task_per_seed_chunk_over_every_pruner(built_zoo, monkeypatch):
    """The pruners of an arch stack start from the same init: each dense task receives every pruner
    (so that dense_block computes a shared tensor's statistics once), and the numbers equal those of
    each entry alone."""
    from paistats.stats import _blocks

    calls = []
    real = _blocks.dense_block
    monkeypatch.setattr(_blocks, "dense_block", lambda init, reinit, score, *, nt, quantiles: (
        calls.append((np.asarray(init), nt)), real(init, reinit, score, nt=nt, quantiles=quantiles))[1])
    arch = paistats.load(ARCH, zoo=built_zoo)
    stacked = layer_stats(arch, precomputed=False)
    assert calls
    for init, nt in calls:  # the axis before the tensor's: magnitude and random, starting from one init
        axis = init.ndim - nt - 1
        assert init.shape[axis] == 2
        np.testing.assert_array_equal(np.take(init, 0, axis=axis), np.take(init, 1, axis=axis))
    pdim = stacked["mean"].dims[0]
    for entry, name in ((MAG, "magnitude"), (RND, "random")):
        alone = layer_stats(paistats.load(entry, zoo=built_zoo), precomputed=False)
        dense = alone["mean"].sel(stage=["dense_init", "dense_score"])
        np.testing.assert_array_equal(stacked["mean"].sel({pdim: name}, drop=True).sel(stage=["dense_init", "dense_score"])
                                      .transpose(*dense.dims), dense)
