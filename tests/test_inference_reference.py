"""Every statistic, p-value and interval equals an independent computation on the same data: the closed
form (t statistics and t intervals, Wilcoxon's exact null by enumeration, Mann-Whitney's U by counting pairs and
its normal approximation, the KS distance of two ECDFs, Brown-Forsythe as an ANOVA of absolute deviations,
exact permutation and sign-flip nulls, Holm and Benjamini-Hochberg written out), never the call the wrapper makes."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
from numpy.testing import assert_allclose
from statsmodels.stats.multitest import multipletests

from paistats import inference as inf

RTOL = 1e-8


def _t_closed_form(d, delta=0.0):
    """(t, df, standard error) of the one-sample t test of mean(d) = delta."""
    se = np.std(d, ddof=1) / np.sqrt(d.size)
    return (np.mean(d) - delta) / se, d.size - 1, se


def _p_from_t(t, df, alternative):
    return {"two-sided": 2 * st.t.sf(abs(t), df), "greater": st.t.sf(t, df), "less": st.t.cdf(t, df)}[alternative]


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
    d = x - y
    t, df, se = _t_closed_form(d)
    assert_allclose([r.statistic, r.pvalue], [t, _p_from_t(t, df, alternative)], rtol=RTOL)
    # one-sided tests have a one-sided interval (an infinite end)
    q2, q1 = st.t.ppf(0.95, df), st.t.ppf(0.9, df)
    want = {"two-sided": (d.mean() - q2 * se, d.mean() + q2 * se), "greater": (d.mean() - q1 * se, np.inf),
            "less": (-np.inf, d.mean() + q1 * se)}[alternative]
    assert_allclose(tuple(r.confidence_interval(0.9)), want, rtol=RTOL)
    assert (r.unit, r.n, r.effect_name, r.descriptive) == ("seed", 5, "mean difference", False)


@pytest.mark.parametrize("alternative", ["two-sided", "greater"])
def test_wilcoxon_equals_scipy(xy, alternative):
    x, y = xy
    r = inf.paired_test(x, y, test="wilcoxon", alternative=alternative)
    d = x - y
    ranks = st.rankdata(np.abs(d))
    w_plus = ranks[d > 0].sum()
    # exact null: every sign pattern of the n ranks equally likely (no ties, no zeros here)
    signs = np.array(np.meshgrid(*[[0, 1]] * d.size)).reshape(d.size, -1).T
    null = signs @ ranks
    total = ranks.sum()
    if alternative == "greater":
        statistic, p = w_plus, np.mean(null >= w_plus)
    else:  # scipy's two-sided statistic is min(W+, W-)
        statistic = min(w_plus, total - w_plus)
        p = min(1.0, 2 * np.mean(null <= statistic))
    assert_allclose([r.statistic, r.pvalue], [statistic, p], rtol=RTOL)


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
    assert r.statistic == pytest.approx(d.mean(), rel=RTOL)
    assert r.min_pvalue == 2 / 32
    assert r.pvalue_at(0.0) == pytest.approx(p_manual, rel=RTOL)  # the inverted test at 0 is the test


def test_tost_paired_equals_statsmodels(xy):
    x, y = xy
    r = inf.equivalence_test(x, y, margin=0.01)
    d = x - y
    # two one-sided t tests written out: H0 mean <= -margin (reject for large t) and H0 mean >= +margin
    t_lo, df, se = _t_closed_form(d, -0.01)
    t_hi, _, _ = _t_closed_form(d, 0.01)
    p_lo, p_hi = st.t.sf(t_lo, df), st.t.cdf(t_hi, df)
    p = max(p_lo, p_hi)
    assert r.details["reference_pvalue"] == pytest.approx(p, rel=RTOL)
    assert r.pvalue == pytest.approx(min(1, 2 * p), rel=RTOL)  # ICH E9: each one-sided test at α/2
    assert r.statistic == pytest.approx(t_lo if p_lo >= p_hi else t_hi, rel=RTOL)  # the binding test's t
    assert r.confidence_interval().confidence_level == pytest.approx(0.95)
    q = st.t.ppf(0.975, df)
    assert_allclose(tuple(r.confidence_interval()), (d.mean() - q * se, d.mean() + q * se), rtol=RTOL)
    # p at ±margin of the interval's own test = the one-sided TOST p's, doubled
    assert max(r.pvalue_at(-0.01), r.pvalue_at(0.01)) == pytest.approx(min(1, 2 * p), rel=1e-6)


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_noninferiority_equals_one_sided_t(xy, higher_is_better):
    x, y = xy
    r = inf.noninferiority_test(x, y, margin=0.005, higher_is_better=higher_is_better)
    s = 1 if higher_is_better else -1
    t, df, _ = _t_closed_form(s * (x - y), -0.005)
    p = st.t.sf(t, df)
    assert_allclose([r.statistic, r.details["reference_pvalue"]], [t, p], rtol=RTOL)
    assert r.pvalue == pytest.approx(min(1, 2 * p), rel=RTOL)


def test_per_weight_tests_equal_their_definitions(weights):
    x, y = weights
    xs = x[np.isfinite(x)]
    n, m = xs.size, y.size
    grid = np.concatenate([xs, y])
    ks = np.max(np.abs(np.searchsorted(np.sort(xs), grid, side="right") / n
                       - np.searchsorted(np.sort(y), grid, side="right") / m))
    # U = pairs with x > y (no ties in continuous draws); two-sided normal approximation with continuity correction
    u = float(np.sum(xs[:, None] > y[None, :]))
    z = (abs(u - n * m / 2) - 0.5) / np.sqrt(n * m * (n + m + 1) / 12)
    # Brown-Forsythe: one-way ANOVA of the absolute deviations from each group's median
    bf = st.f_oneway(np.abs(xs - np.median(xs)), np.abs(y - np.median(y)))
    ours = {"ks": inf.ks_test(x, y), "mw": inf.mannwhitney_test(x, y), "bf": inf.brown_forsythe_test(x, y)}
    assert ours["ks"].statistic == pytest.approx(ks, rel=RTOL)
    assert_allclose([ours["mw"].statistic, ours["mw"].pvalue, ours["mw"].effect], [u, 2 * st.norm.sf(z), u / (n * m)],
                    rtol=RTOL)
    assert_allclose([ours["bf"].statistic, ours["bf"].pvalue], [bf.statistic, bf.pvalue], rtol=RTOL)
    ad = inf.anderson_test(x, y)  # anderson_ksamp is the reference implementation itself; only the NaN handling here
    for r in (*ours.values(), ad):
        assert r.unit == "weight" and r.descriptive and r.verdict() == "descriptive"
        assert r.details["n_x"] == xs.size


def test_permutation_test_equals_the_exact_enumeration():
    import itertools

    x = np.array([0.3, -1.2, 2.5, np.nan, 0.8, 1.9])  # one pruned entry: dropped
    y = np.array([-0.4, 0.1, -2.0, 0.6])
    xs = x[np.isfinite(x)]

    def std_diff(a, b, axis):
        return np.std(a, axis=axis) - np.std(b, axis=axis)

    # 9 values, 5 to x: C(9, 5) = 126 splits ≤ n_resamples, so the test is exact
    r = inf.permutation_test(x, y, std_diff, n_resamples=999, rng=1)
    pooled = np.concatenate([xs, y])
    observed = np.std(xs) - np.std(y)
    null = np.array([np.std(pooled[list(i)]) - np.std(np.delete(pooled, list(i)))
                     for i in itertools.combinations(range(pooled.size), xs.size)])
    assert null.size == 126
    p = min(1.0, 2 * min(np.mean(null >= observed - 1e-12), np.mean(null <= observed + 1e-12)))
    assert_allclose([r.statistic, r.pvalue], [observed, p], rtol=RTOL)
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


def _holm(p):
    order = np.argsort(p)
    m = p.size
    adjusted = np.minimum(1, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    return adjusted[np.argsort(order)]


def _bh(p):
    order = np.argsort(p)[::-1]  # largest first
    m = p.size
    adjusted = np.minimum(1, np.minimum.accumulate(p[order] * m / np.arange(m, 0, -1)))
    return adjusted[np.argsort(order)]


@pytest.mark.parametrize("method,written_out,sm", [("holm", _holm, "holm"), ("bh", _bh, "fdr_bh")])
def test_adjust_equals_the_written_out_procedure(method, written_out, sm):
    p = np.random.default_rng(7).uniform(size=30) ** 2
    assert_allclose(inf.adjust(p, method), written_out(p), rtol=RTOL)
    assert_allclose(written_out(p), multipletests(p, method=sm)[1], rtol=RTOL)  # the written-out procedure is right
