"""The compiled kernels (paistats.stats._compiled) give the numbers of the NumPy expressions they
replace: bit for bit where they replay NumPy's summation order (moments, quantiles, Hellinger), to
the last digits where their log is not scipy's (Jensen–Shannon)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from scipy.special import rel_entr

from paistats.stats import _compiled, _kernels

SIZES = [*range(1, 140), 255, 256, 257, 1000, 1023, 8191, 8192, 8193, 65537, 235_200]


def _numpy_moments(x):
    mean = x.mean()
    d = x - mean
    d2 = d * d
    m2 = d2.mean()
    d *= d2
    m3 = d.mean()
    d2 *= d2
    m4 = d2.mean()
    k = np.searchsorted(x, 0.0)
    return np.array([mean, m2, m3, m4, np.square(x).sum(), x[k:].sum(), x[:k].sum()])


def _sample(rng, n, ties=False):
    x = (rng.standard_normal(n) * 0.05 + rng.choice([0.0, 0.01, -3.0])).astype(np.float32)
    if ties:
        x = np.round(x * 40) / 40
    return np.sort(x).astype(np.float64)


@pytest.mark.parametrize("n", SIZES)
def test_moments_and_quantiles_are_numpys_bit_for_bit(n):
    rng = np.random.default_rng(n)
    q = np.array([0.0, 0.01, 0.05, 0.25, 0.333, 0.5, 0.75, 0.95, 0.99, 1.0])
    for ties in (False, True):
        x = _sample(rng, n, ties)
        np.testing.assert_array_equal(_compiled.moments(x), _numpy_moments(x))
        np.testing.assert_array_equal(_compiled.quantiles(x, q), np.quantile(x, q))


def test_sample_statistics_equal_the_numpy_path_exactly(monkeypatch):
    rng = np.random.default_rng(1)
    q = np.asarray(_kernels.QUANTILES)
    for n in (5, 129, 4000, 50_001):
        values = (rng.standard_normal(n) * 0.05).astype(np.float32)
        compiled = _kernels.describe(_kernels.Sample(values), 2 * n, q)
        with monkeypatch.context() as m:
            m.setattr(_compiled, "AVAILABLE", False)
            numpy_path = _kernels.describe(_kernels.Sample(values), 2 * n, q)
        np.testing.assert_array_equal(compiled, numpy_path)


def _numpy_binned(x, y, bins):
    edges = _kernels.shared_edges(x, y, bins)
    hp, hq = _kernels._hist(x, edges) / x.size, _kernels._hist(y, edges) / y.size
    m = (hp + hq) / 2.0
    js = np.sqrt((np.sum(rel_entr(hp, m)) + np.sum(rel_entr(hq, m))) / np.log(2.0) / 2.0)
    return js, np.sqrt(np.sum(np.square(np.sqrt(hp) - np.sqrt(hq))) / 2.0)


@pytest.mark.parametrize("bins", [1, 7, 100, 200])
def test_binned_distances_equal_numpys(bins):
    rng = np.random.default_rng(bins)
    for n in (1, 2, 9, 130, 5000, 60_000):
        for ties in (False, True):
            x, y = _sample(rng, n, ties), _sample(rng, n + 3, ties) * 1.2
            js, hellinger = _compiled.binned(x, y, bins)
            ref_js, ref_hellinger = _numpy_binned(x, y, bins)
            assert hellinger == ref_hellinger  # sqrt and sums in numpy's order: exact
            np.testing.assert_allclose(js, ref_js, rtol=1e-12, atol=1e-15)  # numba's log, not scipy's rel_entr


def test_binned_edges_are_numpys_linspace_bit_for_bit():
    rng = np.random.default_rng(2)
    out = np.empty(101)
    for lo, hi in [(-1.0, 1.0), (0.1, 0.3), (-1e-300, 1e-300), (5e-324, 1e-323), *rng.standard_normal((200, 2))]:
        lo, hi = min(lo, hi), max(lo, hi)
        _compiled._edges(lo, hi, 100, out)
        np.testing.assert_array_equal(out, np.linspace(lo, hi, 101))


def test_binned_refuses_a_range_wider_than_float64():
    x = np.array([-1e308, 1e308])
    assert _compiled.binned(x, x, 10) is None  # the caller raises numpy's error (tests/test_stats_registry.py)


def test_the_compiled_kernels_load_from_numbas_cache_without_crashing():
    """A recursive function loaded from numba's cache crashed the process (the pairwise sums were
    recursive once): two fresh processes, the second loading what the first compiled."""
    code = ("import numpy as np; from paistats.stats import _compiled as C; "
            "x = np.sort(np.random.default_rng(0).standard_normal(100_000)); "
            "print(C.moments(x)[0] == x.mean(), C.binned(x, x, 100), C.ecdf_sums([(x, x[::2])])[0, 0], "
            "C.sort_and_rank(x.astype(np.float32), True)[1][0], C.quantiles(x, np.array([0.5]))[0])")
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.startswith("True")


@pytest.mark.parametrize("absolute", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_one_sort_gives_numpys_sorted_sample_and_scipys_ranks(absolute, dtype):
    import scipy.stats as ss

    rng = np.random.default_rng(5)
    for n in (*range(0, 40), 1000, 40_000):
        for kind in ("normal", "ties", "zeros", "mirrored"):
            x = (rng.standard_normal(n) * 0.05).astype(dtype)
            if kind == "ties":
                x = (np.round(x * 40) / 40).astype(dtype)
            elif kind == "zeros":  # pruned entries, and -0.0 (ties with 0.0)
                x[rng.random(n) < 0.3], x[rng.random(n) < 0.1] = 0.0, -0.0
            elif kind == "mirrored":  # |x| ties across signs
                x = np.concatenate([x, -x])
            values, ranks = _compiled.sort_and_rank(x, absolute)
            np.testing.assert_array_equal(values, np.sort(x).astype(np.float64))
            assert values.dtype == ranks.dtype == np.float64
            np.testing.assert_array_equal(ranks, ss.rankdata(np.abs(x) if absolute else x))


@pytest.mark.parametrize("absolute", [False, True])
def test_float64_ranked_through_float32_keys_keeps_its_own_order(absolute):
    """float64 samples are sorted by their float32 roundings, then values that round alike by their
    own: neighbours one float64 ulp apart, values below float32's smallest (one group of zeros),
    above its largest (the argsort path) all come out as NumPy's sort and SciPy's ranks."""
    import scipy.stats as ss

    rng = np.random.default_rng(11)
    for n in (1, 2, 3, 33, 200, 5000):
        x = rng.standard_normal(n) * 0.05
        for y in (np.concatenate([x, np.nextafter(x, 1), np.nextafter(x, -1), x]),  # round alike, and ties
                  x * 1e-300, x * 1e-45, np.concatenate([x * 1e-300, -x * 1e-300, x]),
                  x * 1e30, np.concatenate([x * 1e300, x])):
            values, ranks = _compiled.sort_and_rank(y, absolute)
            np.testing.assert_array_equal(values, np.sort(y))
            np.testing.assert_array_equal(ranks, ss.rankdata(np.abs(y) if absolute else y))


def test_one_sort_refuses_what_it_cannot_rank():
    assert _compiled.sort_and_rank(np.array([0.1, np.nan], np.float32), True) is None
    assert _compiled.sort_and_rank(np.array([0.1, -np.inf], np.float32), False) is None
    assert _compiled.sort_and_rank(np.array([0.1, np.inf]), False) is None  # float64
    assert _compiled.sort_and_rank(np.array([1, 2], np.int64), False) is None  # another dtype: the NumPy path


def test_a_ranked_sample_is_the_sample_and_ranks_of_the_numpy_path(monkeypatch):
    rng = np.random.default_rng(6)
    q = np.asarray(_kernels.QUANTILES)
    for values in ((rng.standard_normal(3000) * 0.05).astype(np.float32), np.array([], np.float32),
                   np.array([0.5, np.nan], np.float32), rng.standard_normal(3000) * 1e-3, np.array([0.5, -np.inf])):
        for absolute in (False, True):
            sample, ranks = _kernels.ranked(values, absolute)
            with monkeypatch.context() as m:
                m.setattr(_compiled, "AVAILABLE", False)
                ref_sample, ref_ranks = _kernels.ranked(values, absolute)
            np.testing.assert_array_equal(_kernels.describe(sample, 6000, q), _kernels.describe(ref_sample, 6000, q))
            assert (ranks is None) == (ref_ranks is None) == (not ref_sample.ok)
            if ranks is not None:
                np.testing.assert_array_equal(ranks, ref_ranks)


def test_cramer_von_mises_of_two_samples_of_the_same_values_is_zero():
    """Two distinct arrays of the same (tied) values: T is 0 exactly, as for a sample against
    itself (S and the tie terms would cancel to ~1e-14 only), so a stored and a recomputed result
    agree whichever way a selection reached the pair."""
    rng = np.random.default_rng(8)
    x = np.round(rng.standard_normal(20_000) * 4) / 4
    x[rng.random(x.size) < 0.7] = 0.0
    a, b = np.sort(x), np.sort(x.copy())
    ks, w1, e2, t = _compiled.ecdf_sums([(a, b)])[0]
    assert (ks, w1, e2, t) == (0.0, 0.0, 0.0, 0.0)
    t_other = _compiled.ecdf_sums([(a, np.sort(np.append(x, 0.25)))])[0][3]
    assert t_other > 0
    # the same distribution in proportional counts (KS 0, n ≠ m) is not the same sample: scipy's T > 0
    import scipy.stats as ss

    x, y = np.array([1.0, 2.0]), np.array([1.0, 1.0, 2.0, 2.0])
    got = _compiled.ecdf_sums([(x, y)])[0]
    assert got[0] == 0.0
    np.testing.assert_allclose(got[3], ss.cramervonmises_2samp(x, y, method="asymptotic").statistic, rtol=1e-12)
    assert got[3] > 0
    # the NumPy path gives the same zero
    assert _kernels.ecdf_sums_numpy(_kernels.Sample(a), _kernels.Sample(b))[3] == 0.0
