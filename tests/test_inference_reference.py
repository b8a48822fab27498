"""Every statistic and p-value equals the scipy / statsmodels call on the same data."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from numpy.testing import assert_allclose
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import ttost_paired

from paistats import inference as inf

RTOL = 1e-8


@pytest.fixture
def xy():
    rng = np.random.default_rng(3)
    return rng.normal(0.90, 0.01, 5), rng.normal(0.895, 0.01, 5)


@pytest.fixture
def weights():
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1, 400)
    y = rng.normal(0.1, 1.2, 300)
    x[::7] = np.nan  # pruned
    return x, y


@pytest.mark.parametrize("alternative", ["two-sided", "less", "greater"])
def test_paired_t_equals_ttest_rel(xy, alternative):
    x, y = xy
    r = inf.paired_test(x, y, test="t", alternative=alternative)
    ref = st.ttest_rel(x, y, alternative=alternative)
    assert_allclose([r.statistic, r.pvalue], [ref.statistic, ref.pvalue], rtol=RTOL)
    # one-sided tests have scipy's one-sided interval (an infinite end)
    assert_allclose(tuple(r.confidence_interval(0.9)),
                    tuple(st.ttest_1samp(x - y, 0, alternative=alternative).confidence_interval(0.9)), rtol=RTOL)
    assert (r.unit, r.n, r.effect_name, r.descriptive) == ("seed", 5, "mean difference", False)


@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
def test_wilcoxon_equals_scipy(xy, alternative):
    x, y = xy
    r = inf.paired_test(x, y, test="wilcoxon", alternative=alternative)
    ref = st.wilcoxon(x, y, alternative=alternative)
    assert_allclose([r.statistic, r.pvalue], [ref.statistic, ref.pvalue], rtol=RTOL)


def test_hodges_lehmann_interval_matches_walsh_order_statistics():
    rng = np.random.default_rng(0)
    d = rng.normal(0, 1, 12)
    r = inf.paired_test(d, np.zeros(12), test="wilcoxon")
    walsh = np.sort(((d[:, None] + d[None, :]) / 2)[np.triu_indices(12)])
    # n = 12: the exact two-sided 95% critical value of W+ is 13 (P(W+ <= 13) = 0.0212), so k = 14
    assert_allclose(tuple(r.confidence_interval(0.95)), (walsh[13], walsh[-14]), rtol=RTOL)
    assert r.effect == pytest.approx(np.median(walsh))


def test_signflip_is_scipy_exact_permutation(xy):
    x, y = xy
    r = inf.paired_test(x, y, test="signflip")
    d = x - y
    signs = np.array(np.meshgrid(*[[1, -1]] * 5)).reshape(5, -1).T
    null = (signs * d).mean(axis=1)
    p_manual = np.mean(np.abs(null) >= abs(d.mean()) - 1e-15)
    assert r.pvalue == pytest.approx(p_manual, rel=RTOL)
    ref = st.permutation_test((d,), np.mean, permutation_type="samples", n_resamples=np.inf)
    assert_allclose([r.statistic, r.pvalue], [ref.statistic, ref.pvalue], rtol=RTOL)
    assert r.min_pvalue == 2 / 32
    assert r.pvalue_at(0.0) == pytest.approx(ref.pvalue, rel=RTOL)  # the inverted test is scipy's


def test_tost_paired_equals_statsmodels(xy):
    x, y = xy
    r = inf.equivalence_test(x, y, margin=0.01)
    p, lo, hi = ttost_paired(x, y, -0.01, 0.01)
    assert r.details["reference_pvalue"] == pytest.approx(p, rel=RTOL)
    assert r.pvalue == pytest.approx(min(1, 2 * p), rel=RTOL)  # ICH E9: each one-sided test at α/2
    binding = lo if lo[1] >= hi[1] else hi
    assert r.statistic == pytest.approx(binding[0], rel=RTOL)
    assert r.confidence_interval().confidence_level == pytest.approx(0.95)
    d = x - y
    assert_allclose(tuple(r.confidence_interval()), tuple(st.ttest_1samp(d, 0).confidence_interval(0.95)), rtol=RTOL)
    # p at ±margin of the interval's own test = the one-sided TOST p's, doubled
    assert max(r.pvalue_at(-0.01), r.pvalue_at(0.01)) == pytest.approx(min(1, 2 * p), rel=1e-6)


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_noninferiority_equals_one_sided_t(xy, higher_is_better):
    x, y = xy
    r = inf.noninferiority_test(x, y, margin=0.005, higher_is_better=higher_is_better)
    s = 1 if higher_is_better else -1
    ref = st.ttest_1samp(s * (x - y), -0.005, alternative="greater")
    assert_allclose([r.statistic, r.details["reference_pvalue"]], [ref.statistic, ref.pvalue], rtol=RTOL)
    assert r.pvalue == pytest.approx(min(1, 2 * ref.pvalue), rel=RTOL)


def test_per_weight_tests_equal_scipy(weights):
    x, y = weights
    xs = x[np.isfinite(x)]
    pairs = [
        (inf.ks_test(x, y), st.ks_2samp(xs, y)),
        (inf.mannwhitney_test(x, y), st.mannwhitneyu(xs, y)),
        (inf.brown_forsythe_test(x, y), st.levene(xs, y, center="median")),
        (inf.anderson_test(x, y), st.anderson_ksamp([xs, y], variant="midrank")),
    ]
    for ours, ref in pairs:
        assert_allclose([ours.statistic, ours.pvalue], [ref.statistic, ref.pvalue], rtol=RTOL)
        assert ours.unit == "weight" and ours.descriptive and ours.verdict() == "descriptive"
        assert ours.details["n_x"] == xs.size


def test_permutation_test_equals_scipy(weights):
    x, y = weights
    xs = x[np.isfinite(x)]

    def std_diff(a, b, axis):
        return np.std(a, axis=axis) - np.std(b, axis=axis)

    r = inf.permutation_test(x, y, std_diff, n_resamples=999, rng=1)
    ref = st.permutation_test((xs, y), std_diff, permutation_type="independent", vectorized=True, n_resamples=999,
                              rng=1)
    assert_allclose([r.statistic, r.pvalue], [ref.statistic, ref.pvalue], rtol=RTOL)
    assert r.descriptive and r.unit == "weight"


def test_bootstrap_equals_scipy():
    rng = np.random.default_rng(5)
    x = rng.normal(size=8)
    with pytest.warns(UserWarning, match="covered 84% at 5 seeds"):
        r = inf.bootstrap_ci(x, n_resamples=999, rng=2)
    ref = st.bootstrap((x,), np.mean, n_resamples=999, rng=2)
    assert_allclose([r.confidence_interval.low, r.confidence_interval.high],
                    [ref.confidence_interval.low, ref.confidence_interval.high], rtol=RTOL)
    assert r.unit == "seed" and r.n == 8


def test_hierarchical_bootstrap_on_seed_means_equals_scipy_on_run_means():
    # resampling whole seeds of a (seed, weight) array with statistic = mean of run means
    # is scipy's bootstrap of the run means
    import xarray as xr

    rng = np.random.default_rng(6)
    w = xr.DataArray(rng.normal(size=(7, 50)), dims=("seed", "weight"))
    with pytest.warns(UserWarning, match="bootstrap over 7 seeds"):
        r = inf.hierarchical_bootstrap(w, lambda a: a.mean("weight").mean("seed"), n_resamples=499, rng=3,
                                       method="percentile")
    ref = st.bootstrap((w.mean("weight").values,), np.mean, n_resamples=499, rng=3, method="percentile")
    assert_allclose([r.confidence_interval.low, r.confidence_interval.high],
                    [ref.confidence_interval.low, ref.confidence_interval.high], rtol=RTOL)


@pytest.mark.parametrize("method,sm", [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjust_equals_multipletests(method, sm):
    p = np.random.default_rng(7).uniform(size=30) ** 2
    assert_allclose(inf.adjust(p, method), multipletests(p, method=sm)[1], rtol=RTOL)
