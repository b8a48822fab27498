"""The statistics and distances registries: every registered kernel equals its independent
reference (scipy / numpy), and everything that lists metrics — kernel vector positions, the ratio
list, result variables, docstrings, the docs tables, the derived stores' freshness key — follows
the registries."""
from __future__ import annotations

import dataclasses
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import scipy.stats as ss
from scipy.spatial.distance import jensenshannon

import paistats
from paistats.stats import _compiled, _compute, _kernels, api, derived
from paistats.stats import DISTANCES, RATIO_METRICS, STATISTICS, Metric, NotPrecomputedError, UnknownMetricError
from paistats.stats import distances, layer_stats, read_derived, write_derived
from paistats.stats._kernels import BINS, Sample, describe, distance
from paistats.stats.metric_tables import render_page
from paistats.stats.registry import docstring_list, fingerprint, markdown_table
from test_stats_edge import fake_entry

RTOL = 1e-8


def _hist(x, y, bins=BINS):
    lo, hi = min(x.min(), y.min()), max(x.max(), y.max())
    return np.histogram(x, bins=bins, range=(lo, hi))[0] / x.size, np.histogram(y, bins=bins, range=(lo, hi))[0] / y.size


def _hellinger(x, y):
    p, q = _hist(x, y)
    return np.sqrt(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2) / 2)


#: The independent reference of every registered distance: sample x of the run, y of the reference.
DISTANCE_REFERENCES = {
    "ks": lambda x, y: ss.ks_2samp(x, y).statistic,
    "wasserstein": ss.wasserstein_distance,
    "wasserstein_rel": lambda x, y: ss.wasserstein_distance(x, y) / np.std(y),
    "energy": ss.energy_distance,
    "jensen_shannon": lambda x, y: jensenshannon(*_hist(x, y), base=2),
    "hellinger": _hellinger,
    "mean_diff": lambda x, y: np.mean(x) - np.mean(y),
    "log_std_ratio": lambda x, y: np.log(np.std(x) / np.std(y)),
    "kurtosis_diff": lambda x, y: ss.kurtosis(x) - ss.kurtosis(y),
    "cramer_von_mises": lambda x, y: ss.cramervonmises_2samp(x, y, method="asymptotic").statistic,
}

#: The independent reference of every statistic computed in the kernel (``size``: the tensor's entries).
STATISTIC_REFERENCES = {
    "count": lambda x, size: x.size,
    "density": lambda x, size: x.size / size,
    "mean": lambda x, size: np.mean(x),
    "std": lambda x, size: np.std(x),
    "skewness": lambda x, size: ss.skew(x),
    "kurtosis": lambda x, size: ss.kurtosis(x),
    "mean_abs": lambda x, size: np.mean(np.abs(x)),
    "l2": lambda x, size: np.linalg.norm(x),
    "frac_positive": lambda x, size: np.mean(x > 0),
}


def _pairs(n_pairs=24, seed=0):
    """(x, y) pairs: float32 and float64, unequal sizes, shifted and scaled, with ties, pruned zeros."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_pairs):
        dtype = (np.float32, np.float64)[i % 2]
        n, m = int(rng.integers(2, 400)), int(rng.integers(2, 400))
        x = rng.standard_normal(n) * 0.05
        y = rng.standard_normal(m) * float(rng.uniform(0.03, 0.08)) + float(rng.uniform(-0.02, 0.02))
        if i % 4 == 1:  # many exact ties within and across the samples
            x, y = np.round(x * 40) / 40, np.round(y * 40) / 40
        if i % 4 == 2:  # include_pruned: pruned entries as zeros in both samples
            x[rng.random(n) < 0.5], y[rng.random(m) < 0.3] = 0.0, 0.0
        out.append((x.astype(dtype), y.astype(dtype)))
    return out


@pytest.fixture(params=["compiled", "numpy"])
def kernels(request, monkeypatch):
    """Each kernel test runs twice: on the compiled kernels (numba, a dependency) and on their NumPy
    fallback, the path of an install without numba."""
    if request.param == "numpy":
        monkeypatch.setattr(_compiled, "AVAILABLE", False)
    else:
        assert _compiled.AVAILABLE, "numba is a dependency of paistats: the compiled kernels must load"
    return request.param


def _large_pairs():
    """Pairs the size of a layer (float32, ties across the samples from float32 rounding)."""
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(60_000) * 0.05).astype(np.float32)
    y = (rng.standard_normal(40_000) * 0.06 + 0.001).astype(np.float32)
    return [(x, y), (y, x), (np.round(x * 200) / 200, y)]


def test_every_distance_and_statistic_has_an_independent_reference_here():
    assert set(DISTANCE_REFERENCES) == set(DISTANCES.names())
    assert set(STATISTIC_REFERENCES) == {m.name for m in STATISTICS.values() if m.fn is not None}


@pytest.mark.parametrize("name", DISTANCES.names())
def test_each_registered_distance_equals_its_reference(name, kernels):
    i = DISTANCES.names().index(name)
    for x, y in _pairs() + _large_pairs():
        got = distance(Sample(x), Sample(y), BINS)[i]
        want = DISTANCE_REFERENCES[name](x.astype(np.float64), y.astype(np.float64))
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-300 if want == 0 else 0, err_msg=name)


@pytest.mark.parametrize("name", [m.name for m in DISTANCES.values() if m.zero_on_identical])
def test_a_distance_zero_on_identical_samples_is_zero_for_the_sample_itself(name):
    i = DISTANCES.names().index(name)
    for x, _ in _pairs(6):
        s = Sample(x)
        assert distance(s, s, BINS)[i] == 0.0
        assert abs(DISTANCE_REFERENCES[name](x.astype(np.float64), x.astype(np.float64))) < 1e-9  # and scipy agrees


@pytest.mark.parametrize("name", list(STATISTIC_REFERENCES))
def test_each_registered_statistic_equals_its_reference(name, kernels):
    i = _kernels.STAT_NAMES.index(name)
    for x, _ in _pairs():
        got = describe(Sample(x), 1000, np.array(_kernels.QUANTILES))[i]
        np.testing.assert_allclose(got, STATISTIC_REFERENCES[name](x.astype(np.float64), 1000), rtol=RTOL,
                                   err_msg=name)


def test_cramer_von_mises_equals_scipy_with_ties_pruned_zeros_and_through_distances(kernels):
    """Midranks for ties (scipy's definition), float32 merged by the mantissa-bit path, NaN below
    two values (scipy refuses), 0 against itself; and what ``distances`` returns per run."""
    i = DISTANCES.names().index("cramer_von_mises")
    rng = np.random.default_rng(7)
    x = np.round(rng.standard_normal(3000) * 8) / 8  # ≈ 60 distinct values: heavy ties
    y = np.round(rng.standard_normal(2000) * 8 + 0.3) / 8
    x[:1500] = 0.0  # include_pruned: a block of zeros in one sample only
    for a, b in ((x, y), (x.astype(np.float32), y.astype(np.float32)), (y, x)):
        # (scipy on the float64 values: on float32 input it computes in float32)
        want = ss.cramervonmises_2samp(a.astype(np.float64), b.astype(np.float64), method="asymptotic").statistic
        np.testing.assert_allclose(distance(Sample(a), Sample(b), BINS)[i], want, rtol=RTOL)
    assert np.isnan(distance(Sample(x[:1]), Sample(y), BINS)[i])
    assert np.isnan(distance(Sample(x), Sample(y[:1]), BINS)[i])
    s = Sample(y)
    assert distance(s, s, BINS)[i] == 0.0
    assert distance(s, Sample(y.copy()), BINS)[i] == pytest.approx(0.0, abs=1e-12)  # computed, not short-cut
    tree = fake_entry(shape=(20, 15))
    d = distances(tree, include_pruned=True).sel(layer="fc.weight", stage="trained").isel(sparsity=0)
    node = tree["fc.weight"]
    for v in ("shuffle", "reinit"):
        def pruned(variant):
            m = node["mask"].values[["original", "shuffle", "reinit"].index(variant), 0, 1]
            return np.where(m, node["trained"].values[["original", "shuffle", "reinit"].index(variant), 0, 1], 0.0)

        want = ss.cramervonmises_2samp(pruned(v).ravel(), pruned("original").ravel(), method="asymptotic").statistic
        np.testing.assert_allclose(d["cramer_von_mises"].sel(variant=v, seed=1), want, rtol=RTOL)


def test_merges_side_by_side_equal_one_pair_at_a_time(kernels):
    """The compiled merges run three pairs side by side in one loop: every number equals the pair's
    own :func:`distance` (bit for bit), whatever the pairs' sizes, ties, and empty or identical samples."""
    pairs = [(Sample(x), Sample(y)) for x, y in _pairs(8) + _large_pairs()]
    same = Sample(np.arange(5.0))
    mine = [a for a, _ in pairs] + [Sample(np.array([])), same]
    theirs = [b for _, b in pairs] + [pairs[0][1], same]
    together = _kernels.stage_distances(mine, theirs, BINS)
    alone = np.array([distance(a, b, BINS) for a, b in zip(mine, theirs)])
    np.testing.assert_array_equal(together, alone)


def test_a_new_metric_can_read_the_merged_ecdf_arrays():
    """The ECDF arrays a new registered distance may need (Pair.vals / diff / deltas) agree with
    the compiled sums the registered ones read."""
    for x, y in _pairs(8):
        pair = _kernels.Pair(Sample(x), Sample(y), BINS)
        ks, w1, e2, _ = pair.ecdf
        np.testing.assert_allclose(np.abs(pair.diff).max(), ks, rtol=1e-12)
        np.testing.assert_allclose(np.sum(np.abs(pair.diff[:-1]) * pair.deltas), w1, rtol=1e-10)
        np.testing.assert_allclose(np.sum(pair.diff[:-1] ** 2 * pair.deltas), e2, rtol=1e-10)
        assert np.all(np.diff(pair.vals) > 0)


def test_ranks_and_spearman_equal_scipy_with_ties_signed_zeros_and_both_dtypes(kernels):
    rng = np.random.default_rng(11)
    x = rng.standard_normal(5000)
    cases = [x, np.round(x * 4) / 4, np.abs(x), np.concatenate([[-0.0, 0.0, 0.0, -0.0], x[:50]]), x[:1], x[:2]]
    for values in cases:
        for dtype in (np.float32, np.float64):
            v = values.astype(dtype)
            np.testing.assert_array_equal(_kernels.rankdata(v), ss.rankdata(v), err_msg=f"{dtype} {v.size}")
    w = (rng.standard_normal(5000) * 0.05).astype(np.float32)
    score = np.round(np.abs(w) * 400 + rng.standard_normal(5000), 1).astype(np.float32)  # tied scores
    for a, b in ((np.abs(w), score), (score, -score), (np.abs(w).astype(np.float64), score)):
        np.testing.assert_allclose(_kernels.spearman(a, b), ss.spearmanr(a, b).statistic, rtol=1e-12)
    assert np.isnan(_kernels.spearman(np.ones(10, np.float32), score[:10]))  # constant: undefined, as scipy


def test_scores_are_narrowed_to_float32_only_when_exact(kernels):
    from paistats.stats._blocks import _narrow

    exact = np.array([[0.5, np.nan], [-3.25, 1e-3]], dtype=np.float32).astype(np.float64)
    got = _narrow(exact)
    assert got.dtype == np.float32 and got.shape == (2, 2)
    np.testing.assert_array_equal(got.astype(np.float64), exact)
    inexact = exact.copy()
    inexact[1, 1] = 0.1  # not a float32
    assert _narrow(inexact).dtype == np.float64
    assert _narrow(np.array([1, 2], dtype=np.float32)).dtype == np.float32  # float32 already: as it is


def test_cramer_von_mises_of_a_sample_against_itself_is_zero_only_where_defined(kernels):
    i = DISTANCES.names().index("cramer_von_mises")
    two, one = Sample(np.array([0.5, 1.0], np.float32)), Sample(np.array([0.5], np.float32))
    assert distance(two, two, BINS)[i] == 0.0
    assert np.isnan(distance(one, one, BINS)[i])  # n = 1: T is undefined (scipy refuses), as for any pair


def _exact_cramer_von_mises(a: Sample, b: Sample) -> float:
    """T of scipy's definition (midranks), in exact rational arithmetic over the groups of equal values."""
    vals, cum_a, cum_b = _kernels._merged_counts(a, b)
    n, m = a.n, b.n
    c_a, c_b = np.diff(cum_a, prepend=0), np.diff(cum_b, prepend=0)
    u = Fraction(0)
    for ca, cb, to_a, to_b in zip(c_a.tolist(), c_b.tolist(), cum_a.tolist(), cum_b.tolist()):
        before_a, before_b = to_a - ca, to_b - cb
        u += (n * ca * (before_b + Fraction(cb, 2)) ** 2 + m * cb * (before_a + Fraction(ca, 2)) ** 2
              + Fraction(n * (ca ** 3 - ca) + m * (cb ** 3 - cb), 12))
    return float(u / (n * m * (n + m)) - Fraction(4 * n * m - 1, 6 * (n + m)))


def test_cramer_von_mises_at_a_million_values_keeps_its_digits():
    """Scipy's T subtracts two numbers equal to ~8 digits (U / (nmN) and (4nm − 1) / (6N)); the
    compiled merge sums Anderson's Σ (F_a − F_b)² instead and keeps 1e-12 of the exact T, ties
    (groups of ~40,000 equal values) included; the NumPy path keeps 1e-8."""
    rng = np.random.default_rng(7)
    n = m = 1_000_000
    for x, y in (((rng.standard_normal(n) * 0.05).astype(np.float32),
                  (rng.standard_normal(m) * 0.05 + 0.002).astype(np.float32)),
                 (rng.integers(0, 50, n).astype(np.float32), rng.integers(0, 50, m).astype(np.float32))):  # ties
        x, y = Sample(x), Sample(y)
        compiled = _compiled.ecdf_sums([(x.x, y.x)])[0]
        reference = _kernels.ecdf_sums_numpy(x, y)
        np.testing.assert_allclose(compiled[:3], reference[:3], rtol=1e-10)
        if len(np.unique(x.x)) < 100:  # exact T over the groups (a million Fractions would take a minute)
            exact = _exact_cramer_von_mises(x, y)
            np.testing.assert_allclose(compiled[3], exact, rtol=1e-12)
            np.testing.assert_allclose(reference[3], exact, rtol=1e-8)
        else:
            np.testing.assert_allclose(compiled[3], reference[3], rtol=1e-8)


def test_kernel_vector_positions_and_the_ratio_list_follow_the_registries():
    assert _kernels.STAT_NAMES == (*STATISTICS.names(), "nonfinite")
    assert _kernels.DIST_NAMES == (*DISTANCES.names(), "count")
    assert RATIO_METRICS == tuple(m.name for m in DISTANCES.values() if m.ratio)
    assert _compute.RATIO_METRICS == RATIO_METRICS  # what the ratios are computed for
    assert {"mean_diff", "log_std_ratio", "kurtosis_diff"}.isdisjoint(RATIO_METRICS)  # signed: no ratio


def test_result_variables_are_the_registered_metrics_in_order():
    tree = fake_entry()
    rnd = fake_entry(seed=1, name="fake-random")
    st = layer_stats(tree)
    assert list(st.data_vars) == [*STATISTICS.names(), "quantile_value"]
    assert list(distances(tree).data_vars) == list(DISTANCES.names())
    d = distances(tree, random_entry=rnd)
    ratios = [v for m in RATIO_METRICS for v in (f"{m}_random", f"{m}_random_ratio")]
    assert list(d.data_vars) == [*DISTANCES.names(), *ratios]
    one = d.sel(layer="fc.weight")  # (layer "all": the count-weighted mean of the layers' ratios)
    np.testing.assert_allclose(one["ks_random_ratio"], (one["ks"] / one["ks_random"]).where(one["ks_random"] > 0),
                               rtol=1e-15)


def test_unknown_metric_error_is_one_line_with_close_matches():
    with pytest.raises(UnknownMetricError, match="Did you mean 'wasserstein'") as e:
        DISTANCES.get("wasserstien")
    assert "\n" not in str(e.value) and isinstance(e.value, paistats.ZooError)
    assert "ks" in str(e.value)  # lists every registered name


def test_registries_refuse_a_late_or_duplicate_registration():
    with pytest.raises(ValueError, match="registered twice|fixed at import"):
        DISTANCES.add(Metric("ks", "distance", lambda p: 0.0, "again"))
    with pytest.raises(ValueError, match="fixed at import"):
        STATISTICS.add(Metric("new_stat", "statistic", lambda s, size: 0.0, "late"))


def test_docstrings_list_every_registered_metric():
    for fn, kind in ((layer_stats, "statistic"), (distances, "distance")):
        assert docstring_list(kind) in fn.__doc__
        assert "{statistics}" not in fn.__doc__ and "{distances}" not in fn.__doc__
    ratios = ", ".join(f"``{m}``" for m in RATIO_METRICS)
    assert f"for each distance with a ratio ({ratios})" in distances.__doc__


def test_docs_page_holds_exactly_the_generated_tables():
    """Fails when a metric was added without ``python -m paistats.stats.metric_tables``."""
    page = Path(__file__).parents[1] / "docs" / "api.md"
    text = page.read_text()
    assert render_page(text) == text
    for kind in ("statistic", "distance"):
        table = markdown_table(kind)
        assert table in text
        assert table.count("\n") == len(STATISTICS if kind == "statistic" else DISTANCES) + 2


def test_metric_tables_check_fails_on_a_stale_page(tmp_path):
    from paistats.stats.metric_tables import main

    page = tmp_path / "api.md"
    text = (Path(__file__).parents[1] / "docs" / "api.md").read_text()
    page.write_text(text.replace("| `ks` |", "| `ks_old` |"))
    assert main([str(page), "--check"]) == 1
    assert main([str(page)]) == 0 and page.read_text() == text
    assert main([str(page), "--check"]) == 0


# --- the derived stores' freshness key ------------------------------------------------------------

@pytest.mark.filterwarnings("ignore::paistats.stats.StatsWarning")
def test_a_store_written_before_a_metric_changed_is_recomputed_not_served(small_zoo, monkeypatch):
    zoo, entry = small_zoo
    write_derived(zoo / entry)
    tree = paistats.load(entry, zoo=zoo)
    assert distances(tree).attrs["source"] == "stored"
    # a kernel changed meaning: its version is bumped (same variables, so computed end to end)
    monkeypatch.setitem(DISTANCES._items, "ks", dataclasses.replace(DISTANCES.get("ks"), version=2))
    assert read_derived(zoo / entry) is None
    d = distances(tree)
    assert d.attrs["source"] == "computed" and "no fresh stored statistics" in d.attrs["source_reason"]
    with pytest.raises(NotPrecomputedError, match="no fresh stored statistics"):
        layer_stats(tree, precomputed="require")
    write_derived(zoo / entry)  # recomputed (not the no-op of a fresh store) ...
    assert distances(tree).attrs["source"] == "stored"  # ... and served again
    stored = read_derived(zoo / entry)
    assert stored.attrs["metrics"] == fingerprint() and '"ks",2' in stored.attrs["metrics"]


@pytest.mark.filterwarnings("ignore::paistats.stats.StatsWarning")
def test_adding_a_metric_makes_stores_written_before_stale(small_zoo, monkeypatch):
    zoo, entry = small_zoo
    write_derived(zoo / entry)
    key = derived.source_key(zoo / entry)
    tree = paistats.load(entry, zoo=zoo)
    assert layer_stats(tree, precomputed="require").attrs["source"] == "stored"
    added = Metric("added_distance", "distance", lambda p: 0.0, "a distance added after the store was written")
    monkeypatch.setitem(DISTANCES._items, added.name, added)
    assert derived.source_key(zoo / entry) != key
    assert read_derived(zoo / entry) is None
    with pytest.raises(NotPrecomputedError, match="no fresh stored statistics"):
        layer_stats(tree, precomputed="require")

    class Recomputed(Exception):
        pass

    def compute(*args, **kwargs):
        raise Recomputed

    monkeypatch.setattr(derived, "compute", compute)
    with pytest.raises(Recomputed):  # write_derived recomputes: the old store is not fresh
        write_derived(zoo / entry)
    monkeypatch.undo()
    assert derived.source_key(zoo / entry) == key
    assert layer_stats(tree, precomputed="require").attrs["source"] == "stored"


# --- random_entry= (formerly random=) --------------------------------------------------------------

def test_random_is_a_deprecated_spelling_of_random_entry_warning_once(monkeypatch):
    tree, rnd = fake_entry(), fake_entry(seed=1, name="fake-random")
    monkeypatch.setattr(api, "_RANDOM_WARNED", False)
    want = distances(tree, random_entry=rnd)
    with pytest.warns(FutureWarning, match="random_entry="):
        got = distances(tree, random=rnd)
    np.testing.assert_array_equal(got["ks_random_ratio"], want["ks_random_ratio"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        distances(tree, random=rnd)  # once per process
    with pytest.raises(TypeError, match="random_entry= only"):
        distances(tree, random_entry=rnd, random=rnd)


def test_compiled_kernels_load_where_no_cache_can_be_written(monkeypatch):
    """numba refuses ``cache=True`` when no cache location is writable (a read-only install, no home):
    the kernels then compile per process instead of failing the import."""
    import importlib.util

    import numba

    real = numba.njit

    def njit(*args, **kwargs):
        if kwargs.get("cache"):
            raise RuntimeError("cannot cache function: no locator available")
        return real(*args, **kwargs)

    monkeypatch.setattr(numba, "njit", njit)
    spec = importlib.util.spec_from_file_location("compiled_without_cache", _compiled.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # a fresh copy: paistats' own module is left as it is
    a, b = np.sort(np.array([0.1, 0.5, 0.9])), np.sort(np.array([0.2, 0.5]))
    np.testing.assert_array_equal(module.ecdf_sums([(a, b)]), _compiled.ecdf_sums([(a, b)]))


def test_shared_edges_are_numpys_and_a_narrow_range_is_not_an_error():
    """The histogram edges equal numpy.histogram_bin_edges of both samples (counts equal
    numpy.histogram); a range too narrow for the bins gives repeated edges (empty bins; numpy
    refuses), a range wider than float64 is numpy's error, not NaN edges with empty histograms."""
    from paistats.stats._kernels import _hist, shared_edges

    rng = np.random.default_rng(3)
    for bins in (1, 7, 100):
        a, b = np.sort(rng.standard_normal(50)), np.sort(rng.integers(-2, 3, 40).astype(float))
        edges = shared_edges(a, b, bins)
        want = np.histogram_bin_edges(np.concatenate([a, b]), bins=bins)
        np.testing.assert_array_equal(edges, want)
        for x in (a, b):
            np.testing.assert_array_equal(_hist(x, edges), np.histogram(x, want)[0])
    np.testing.assert_array_equal(shared_edges(np.array([2.5]), np.array([2.5]), 4), [2.0, 2.25, 2.5, 2.75, 3.0])
    a, b = np.array([1.0]), np.array([np.nextafter(1.0, 2.0)])
    edges = shared_edges(a, b, 100)
    assert np.all(np.diff(edges) >= 0) and _hist(a, edges).sum() == 1 and _hist(b, edges).sum() == 1
    with pytest.raises(ValueError):
        shared_edges(np.array([-1.5e308]), np.array([1.5e308]), 100)


def test_log_std_ratio_at_the_limits_of_float64_is_its_limit_without_a_warning():
    """log(std x / std y) where the ratio under- or overflows, or a std is 0: numpy's values
    (-inf, inf, NaN for 0/0), without numpy's warnings."""
    class Std:
        def __init__(self, value):
            self.value = value

        def std(self):
            return self.value

    class StubPair:
        def __init__(self, a, b):
            self.a, self.b = Std(a), Std(b)

    fn = DISTANCES.get("log_std_ratio").fn
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for a, b, want in ((1e-200, 1e200, -np.inf), (1e200, 1e-200, np.inf), (0.0, 1.0, -np.inf),
                           (1.0, 0.0, np.inf), (2.0, 1.0, np.log(2.0))):
            assert fn(StubPair(a, b)) == want, (a, b)
        assert np.isnan(fn(StubPair(0.0, 0.0))) and np.isnan(fn(StubPair(np.nan, 1.0)))
