"""Edge cases of paistats.stats on small in-memory entries of the same structure as a loaded one:
one kept weight, ties, a fully pruned layer, NaN in stored weights, too few seeds, bad requests."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.stats as ss
import xarray as xr

from paistats.stats import StatsWarning, distances, layer_stats, noise_floor

VARIANTS = ["original", "shuffle", "reinit"]


def fake_entry(masks: dict[str, np.ndarray] | None = None, *, shape=(6, 5), seeds=(0, 1), sparsities=(0.5,),
               seed: int = 0, name: str = "fake-entry", edit=None) -> xr.DataTree:
    """An entry-shaped DataTree (numpy-backed): one layer ``fc.weight``. ``edit(arrays)`` may
    change the arrays (init, reinit, score, mask, trained, complete) before the tree is built."""
    rng = np.random.default_rng(seed)
    V, S, K = len(VARIANTS), len(sparsities), len(seeds)
    init = rng.standard_normal((K, *shape))
    reinit = rng.standard_normal((K, *shape))
    score = np.abs(init) + 0.0
    mask = rng.random((V, S, K, *shape)) < 0.6
    if masks:
        for (v, s, k), m in masks.items():
            mask[VARIANTS.index(v), s, k] = m
    trained = np.where(mask, rng.standard_normal((V, S, K, *shape)), 0.0)
    a = {"init": init, "reinit": reinit, "score": score, "mask": mask, "trained": trained,
         "complete": np.ones((V, S, K), bool)}
    if edit is not None:
        edit(a)
    init, reinit, score, mask, trained = (a[k] for k in ("init", "reinit", "score", "mask", "trained"))
    tdims = ("out", "in")
    root = xr.Dataset(
        {"complete": (("variant", "sparsity", "seed"), a["complete"])},
        coords={"variant": np.array(VARIANTS, dtype=object), "sparsity": list(sparsities), "seed": list(seeds)},
        attrs={"entry": name},
    )
    layer = xr.Dataset({
        "init": (("seed", *tdims), init), "reinit": (("seed", *tdims), reinit), "score": (("seed", *tdims), score),
        "mask": (("variant", "sparsity", "seed", *tdims), mask),
        "trained": (("variant", "sparsity", "seed", *tdims), trained),
    })
    return xr.DataTree.from_dict({"/": root, "fc.weight": layer}, name=name)


def _kept(tree, variant, s, k, stage="init"):
    node = tree["fc.weight"]
    m = node["mask"].values[VARIANTS.index(variant), s, k]
    src = node["reinit"] if (stage == "init" and variant == "reinit") else node["init"]
    w = node["trained"].values[VARIANTS.index(variant), s, k] if stage == "trained" else src.values[k]
    return w[m].astype(np.float64)


def _quiet(f, *a, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatsWarning)
        return f(*a, **kw)


def test_one_kept_weight_gives_its_value_and_nan_shape_statistics():
    one = np.zeros((6, 5), bool)
    one[2, 3] = True
    tree = fake_entry({("shuffle", 0, 1): one})
    st = layer_stats(tree).sel(variant="shuffle", seed=1, layer="fc.weight", stage="init").isel(sparsity=0)
    x = _kept(tree, "shuffle", 0, 1)
    assert st["count"] == 1 and st["density"] == pytest.approx(1 / 30)
    assert st["mean"] == x[0] and st["std"] == 0
    assert np.all(st["quantile_value"].values == x[0])
    assert np.isnan(st["skewness"]) and np.isnan(st["kurtosis"]) and np.isnan(st["spearman_abs_score"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(ss.skew(x))  # scipy agrees
    d = distances(tree).sel(variant="shuffle", seed=1, layer="fc.weight", stage="init").isel(sparsity=0)
    y = _kept(tree, "original", 0, 1)
    assert d["ks"] == pytest.approx(ss.ks_2samp(x, y).statistic, rel=1e-12)
    assert d["wasserstein"] == pytest.approx(ss.wasserstein_distance(x, y), rel=1e-12)
    assert d["energy"] == pytest.approx(ss.energy_distance(x, y), rel=1e-12)
    assert d["log_std_ratio"] == -np.inf


def test_ties_match_scipy():
    def tie(a):
        a["init"] = np.round(a["init"] * 2) / 2  # many exact ties
        a["score"] = np.abs(a["init"])

    tree = fake_entry(edit=tie)
    node = tree["fc.weight"]
    st = layer_stats(tree).isel(sparsity=0)
    d = distances(tree).isel(sparsity=0)
    for v in VARIANTS:
        x, y = _kept(tree, v, 0, 0), _kept(tree, "original", 0, 0)
        c = st.sel(variant=v, seed=0, layer="fc.weight", stage="init")
        s = node["score"].values[0][node["mask"].values[VARIANTS.index(v), 0, 0]]
        if v != "reinit":
            np.testing.assert_allclose(c["spearman_abs_score"], ss.spearmanr(np.abs(x), s).statistic, rtol=1e-12)
        np.testing.assert_allclose(c["quantile_value"], np.quantile(x, c["quantile"].values), rtol=1e-12)
        np.testing.assert_allclose(c["kurtosis"], ss.kurtosis(x), rtol=1e-10)
        e = d.sel(variant=v, seed=0, layer="fc.weight", stage="init")
        np.testing.assert_allclose(e["ks"], ss.ks_2samp(x, y).statistic, rtol=1e-12)
        np.testing.assert_allclose(e["wasserstein"], ss.wasserstein_distance(x, y), rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(e["energy"], ss.energy_distance(x, y), rtol=1e-10, atol=1e-15)


def test_fully_pruned_layer_is_nan_with_one_warning_naming_it():
    tree = fake_entry({("reinit", 0, 0): np.zeros((6, 5), bool)})
    with pytest.warns(StatsWarning) as rec:
        st = layer_stats(tree)
    msgs = [str(w.message) for w in rec if "fully pruned" in str(w.message)]
    assert len(msgs) == 1 and "fake-entry/fc.weight" in msgs[0] and "variant=reinit" in msgs[0]
    c = st.sel(variant="reinit", seed=0, layer="fc.weight").isel(sparsity=0)
    assert c["count"].sel(stage="init") == 0
    assert np.isnan(c["mean"].sel(stage="init")) and np.isnan(c["std"].sel(stage="trained"))
    assert np.isfinite(c["mean"].sel(stage="dense_init"))  # the reference is still there
    d = distances(tree).sel(variant="reinit", seed=0, layer="fc.weight").isel(sparsity=0)
    assert np.isnan(d["ks"]).all()


def test_nan_in_stored_weights_reported_with_entry_layer_and_run():
    def poison(a):
        r, c = np.argwhere(a["mask"][1, 0, 1])[0]
        a["trained"][1, 0, 1, r, c] = np.nan  # a kept weight of (shuffle, 0.5, seed 1)

    tree = fake_entry(edit=poison)
    with pytest.warns(StatsWarning, match=r"fake-entry/fc.weight: non-finite .* stage trained .*variant=shuffle, "
                                          r"sparsity=0.5, seed=1"):
        st = layer_stats(tree)
    bad = st.sel(variant="shuffle", seed=1, layer="fc.weight", stage="trained").isel(sparsity=0)
    assert np.isnan(bad["mean"]) and np.isnan(bad["quantile_value"]).all()
    ok = st.sel(variant="shuffle", seed=0, layer="fc.weight", stage="trained").isel(sparsity=0)
    assert np.isfinite(ok["mean"])


def test_incomplete_runs_are_nan():
    tree = fake_entry(edit=lambda a: a["complete"].__setitem__((0, 0, 1), False))
    st = layer_stats(tree)
    assert np.isnan(st["count"].sel(variant="original", seed=1)).all()
    assert np.isfinite(st["count"].sel(variant="shuffle", seed=1)).all()
    d = distances(tree)  # original is the reference: every variant of seed 1 loses it
    assert np.isnan(d["ks"].sel(seed=1)).all() and np.isfinite(d["ks"].sel(seed=0, layer="fc.weight")).all()


def test_noise_floor_with_one_seed_is_nan_with_one_message():
    tree = fake_entry(seeds=(3,))
    with pytest.warns(StatsWarning, match="at least two seeds") as rec:
        nf = noise_floor(tree)
    assert len([w for w in rec if "seeds" in str(w.message)]) == 1
    assert nf.sizes["seed_pair"] == 1 and nf["seed_a"].item() == 3 and nf["seed_b"].item() == -1
    assert np.isnan(nf["ks"]).all()


def test_noise_floor_pairs_every_seed_pair():
    tree = fake_entry(seeds=(0, 1, 2))
    nf = noise_floor(tree)
    assert [(int(a), int(b)) for a, b in zip(nf["seed_a"].values, nf["seed_b"].values)] == [(0, 1), (0, 2), (1, 2)]
    x, y = _kept(tree, "original", 0, 1), _kept(tree, "original", 0, 2)
    got = nf.sel(layer="fc.weight", stage="init").isel(sparsity=0, seed_pair=2)
    np.testing.assert_allclose(got["wasserstein"], ss.wasserstein_distance(x, y), rtol=1e-10)


def test_scalar_variant_selection_and_bad_reference():
    tree = fake_entry()
    st = layer_stats(tree.sel(variant="shuffle"))
    assert "variant" not in st.dims and st["variant"].item() == "shuffle"
    with pytest.raises(ValueError, match="reference='original' is neither"):
        distances(tree.sel(variant=["shuffle", "reinit"]))
    d = distances(tree.sel(variant=["shuffle", "reinit"]), reference="shuffle")
    assert float(d["ks"].sel(variant="shuffle").max()) == 0.0
    with pytest.raises(TypeError, match="expected what paistats.load returns"):
        layer_stats(tree.to_dataset())


@pytest.mark.parametrize("chunked", [False, True])
def test_noise_floor_in_seed_tiles_equals_all_pairs_at_once(monkeypatch, chunked):
    """More seeds than a tile holds: pairs computed tile by tile (bounded memory) are the pairs of
    the one-block computation, in the same order, each equal to scipy; an incomplete seed stays NaN."""
    import paistats.stats._compute as compute

    def drop_seed_3(a):
        a["complete"][:, :, 3] = False

    tree = fake_entry(seeds=(10, 11, 12, 13, 14), sparsities=(0.5, 0.8), edit=drop_seed_3)
    if chunked:
        tree = tree.chunk({"seed": 1})
    whole = _quiet(noise_floor, tree)
    monkeypatch.setattr(compute, "NOISE_TILE", 2)
    tiled = _quiet(noise_floor, tree)
    xr.testing.assert_identical(tiled, whole)
    pairs = [(int(a), int(b)) for a, b in zip(tiled["seed_a"].values, tiled["seed_b"].values)]
    assert pairs == [(a, b) for i, a in enumerate(range(10, 15)) for b in range(a + 1, 15)]
    for p, (a, b) in enumerate(pairs):
        got = tiled.sel(layer="fc.weight", stage="init").isel(sparsity=1, seed_pair=p)
        if 13 in (a, b):
            assert np.isnan(got["ks"])
            continue
        x, y = _kept(tree, "original", 1, a - 10), _kept(tree, "original", 1, b - 10)
        np.testing.assert_allclose(got["ks"], ss.ks_2samp(x, y).statistic, rtol=1e-12)
        np.testing.assert_allclose(got["energy"], ss.energy_distance(x, y), rtol=1e-10)
