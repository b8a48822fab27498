"""Result objects, tidy stacking with adjusted p-values and verdicts, grids over zoo-shaped data, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as st
import xarray as xr
from statsmodels.stats.multitest import multipletests

from paistats import inference as inf
from paistats.inference import InferenceError
from _synth import accuracy_grid, distance_grid


@pytest.fixture
def acc():
    return accuracy_grid(np.random.default_rng(0), effects={"reinit": -0.03})


def test_compare_covers_every_cell_and_labels_it(acc):
    res = inf.compare(acc, test="t")
    assert len(res) == 2 * 2 * 2  # pruner × sparsity × (shuffle, reinit)
    r = res[0]
    assert set(r.coords) == {"pruner", "sparsity", "variant", "quantity"}
    assert r.coords["quantity"] == "accuracy" and r.unit == "seed" and r.n == 5
    x = acc.sel(pruner=r.coords["pruner"], sparsity=r.coords["sparsity"])
    ref = inf.paired_test(x.sel(variant=r.coords["variant"]).values, x.sel(variant="original").values)
    assert r.pvalue == ref.pvalue


def test_stack_adjusts_within_the_stated_family(acc):
    res = inf.compare(acc, test="t")
    table = inf.adjust_family(res, family=("pruner", "sparsity"), method="holm")
    for variant, rows in table.groupby("variant"):
        assert len(rows) == 4
        np.testing.assert_allclose(rows["pvalue_adjusted"], multipletests(rows["pvalue"], method="holm")[1], rtol=1e-12)
        assert rows["family"].iloc[0].startswith("holm over pruner × sparsity (m=4; p-values only")
        assert f"variant={variant}" in rows["family"].iloc[0]
        assert rows["ci_low"].isna().all()  # Holm has no matching interval: none is printed
    one = inf.adjust_family(res, method="bh")
    np.testing.assert_allclose(one["pvalue_adjusted"], multipletests(one["pvalue"], method="fdr_bh")[1], rtol=1e-12)
    assert set(one["family"]) == {"bh over all tests (m=8; p-values only: bh has no matching interval)"}
    bonf = inf.adjust_family(res, family=("pruner", "sparsity"))
    np.testing.assert_allclose(bonf["pvalue_adjusted"], np.minimum(1, 4 * bonf["pvalue"]), rtol=1e-12)
    assert (bonf["confidence_level"] == 1 - 0.05 / 4).all()
    assert bonf["family"].str.startswith("bonferroni over pruner × sparsity (m=4; intervals at 98.75%)").all()


def test_verdicts_follow_adjusted_pvalues(acc):
    table = inf.adjust_family(inf.compare(acc, test="t"), family=("pruner", "sparsity"))
    reinit = table[table["variant"] == "reinit"]
    assert (reinit["verdict"] == "lower").all()  # planted −3 points; no direction given: higher / lower
    assert set(table.loc[table["pvalue_adjusted"] >= 0.05, "verdict"]) <= {"inconclusive"}
    assert (table.loc[table["pvalue_adjusted"] < 0.05, "verdict"] != "inconclusive").all()
    worded = inf.adjust_family(inf.compare(acc, test="t", higher_is_better=True), family=("pruner", "sparsity"))
    assert set(worded.loc[worded["variant"] == "reinit", "verdict"]) == {"worse"}


def test_equivalence_and_noninferiority_verdicts(acc):
    # Bonferroni over 4 cells with 5 seeds: intervals at 98.75 %, half-width ≈ 1 point, so a 2-point margin
    tost = inf.adjust_family(inf.compare(acc, test="tost", margin=0.02), family=("pruner", "sparsity"))
    assert set(tost.loc[tost["variant"] == "shuffle", "verdict"]) == {"equivalent"}
    assert set(tost.loc[tost["variant"] == "reinit", "verdict"]) == {"lower"}
    ni = inf.adjust_family(inf.compare(acc, test="noninferiority", margin=0.02, higher_is_better=True),
                   family=("pruner", "sparsity"))
    assert set(ni.loc[ni["variant"] == "shuffle", "verdict"]) <= {"non-inferior", "equivalent"}
    assert set(ni.loc[ni["variant"] == "reinit", "verdict"]) == {"worse"}
    # a margin so small that neither side can be shown
    tiny = inf.adjust_family(inf.compare(acc.sel(variant=["original", "shuffle"]), test="tost", margin=1e-4))
    assert set(tiny["verdict"]) <= {"inconclusive", "higher", "lower"}
    assert tost["confidence_level"].iloc[0] == pytest.approx(1 - 0.05 / 4)


def test_tidy_dataset(acc):
    table = inf.adjust_family(inf.compare(acc, test="t"))
    ds = inf.to_dataset(table)
    assert {"pvalue", "pvalue_adjusted", "verdict", "estimate"} <= set(ds.data_vars)
    assert ds["pvalue"].sel(pruner="snip", variant="reinit", sparsity=0.9, quantity="accuracy",
                            test="paired t").item() < 0.05


def test_noise_test_grid():
    d, noise = distance_grid(np.random.default_rng(1), extra=0.2)
    res = inf.noise_test(d, noise)
    assert len(res) == 2 * 2 * 2 * 2  # variants × sparsities × layers × stages
    table = inf.adjust_family(res, family=("sparsity", "layer"))
    assert set(table["verdict"]) == {"above noise"}
    r = res[0]
    assert r.details["ratio"] > 1 and r.kind == "shift" and r.unit == "seed"
    null_d, null_noise = distance_grid(np.random.default_rng(2))
    assert np.mean([x.pvalue < 0.05 for x in inf.noise_test(null_d, null_noise)]) < 0.5


def test_shift_vs_noise_uses_the_jackknife():
    d = np.array([0.30, 0.34, 0.28, 0.31, 0.33])
    a, b = np.triu_indices(5, 1)
    noise = 0.2 + 0.01 * np.arange(10)
    r = inf.shift_vs_noise(d, noise, seed_a=a, seed_b=b)
    loo = []
    for s in range(5):
        keep = (a != s) & (b != s)
        loo.append(np.delete(d, s).mean() - noise[keep].mean())
    loo = np.array(loo)
    se = np.sqrt(4 / 5 * ((loo - loo.mean()) ** 2).sum())
    assert r.effect == pytest.approx(d.mean() - noise.mean())
    assert r.statistic == pytest.approx(r.effect / se)
    assert r.details["df"] == 4 and r.details["noise_floor"] == pytest.approx(noise.mean())


def test_per_weight_results_are_labelled_descriptive_in_tables():
    rng = np.random.default_rng(3)
    r = inf.ks_test(rng.normal(size=1000), rng.normal(size=1000), coords={"layer": "fc"})
    row = inf.adjust_family([r]).iloc[0]
    assert row["unit"] == "weight" and row["descriptive"] and row["verdict"] == "descriptive"
    with pytest.raises(InferenceError, match="no confidence interval"):
        r.confidence_interval()


# ------------------------------------------------------------------ bad input: one clear message


@pytest.mark.parametrize("call, match", [
    (lambda: inf.paired_test([0.9], [0.8]), "at least 2 seeds"),
    (lambda: inf.paired_test([0.9, np.nan], [0.8, 0.7]), "at least 2 seeds"),
    (lambda: inf.paired_test([0.9, 0.8], [0.8, 0.7]), "constant"),
    (lambda: inf.paired_test([0.9, 0.8, 0.7], [0.9, 0.8, 0.7], test="wilcoxon"), "equals the reference"),
    (lambda: inf.paired_test([0.9, 0.8], [0.8, 0.7], test="anova"), "unknown paired test"),
    (lambda: inf.equivalence_test([0.9, 0.8], [0.8, 0.7], margin=0.1), "constant"),
    (lambda: inf.equivalence_test([0.9, 0.8], [0.8, 0.75], margin=None), "needs a margin"),
    (lambda: inf.noninferiority_test([0.9, 0.8], [0.8, 0.75], margin=-1), "positive"),
    (lambda: inf.shift_vs_noise([0.1, 0.2], [0.1], seed_a=[0], seed_b=[1]), "at least 3 seeds"),
    (lambda: inf.shift_vs_noise([0.1, 0.2, 0.3], [0.1, 0.2], seed_a=[0, 0], seed_b=[1, 2]), "lacks 1 seed pair"),
    (lambda: inf.shift_vs_noise([0.1] * 3, [0.1] * 3, seed_a=[0, 0, 1], seed_b=[1, 2, 2]), "constant"),
    (lambda: inf.ks_test([1.0], [1.0, 2.0]), "at least 2"),
    (lambda: inf.brown_forsythe_test([1.0, 1.0, 1.0], [2.0, 2.0, 2.0]), "degenerate"),
    (lambda: inf.bootstrap_ci([0.5, 0.5, 0.5]), "constant"),
    (lambda: inf.bootstrap_ci([0.5, 0.6]), "at least 3"),
    (lambda: inf.equivalence_test([0.9, 0.8, 0.7], [0.8, 0.75, 0.7], margin=1), "implausible for data in"),
    (lambda: inf.paired_test([0.9, 0.8, 0.7], [0.8, 0.75, 0.7], margin=0.5), "margin=0.01 for one accuracy"),
    (lambda: inf.equivalence_test([0.9, 0.8, 0.7], [0.8, 0.75, 0.7], margin=0.1, paired=False), "unpaired"),
    (lambda: inf.noninferiority_test([0.9, 0.8, 0.7], [0.8, 0.75, 0.7], margin=0.1, paired=False), "unpaired"),
    (lambda: inf.noninferiority_test([0.9, 0.8, 0.7], [0.8, 0.75, 0.7], margin=0.1, higher_is_better=None),
     "needs a direction"),
    (lambda: inf.shift_vs_noise([-193.0, 0.2, 0.3], [0.1, 0.2, 0.1], seed_a=[0, 0, 1], seed_b=[1, 2, 2]),
     "negative value.*absolute value"),
    (lambda: inf.paired_test(np.arange(21.0), np.zeros(21), test="signflip"), "at most 20"),
    (lambda: inf.adjust([0.1, np.nan]), "NaN"),
    (lambda: inf.adjust([0.1], "sidak-ish"), "unknown multiplicity"),
    # NumPy inputs: messages show plain numbers, never np.int64(1)
    (lambda: inf.shift_vs_noise(np.array([0.1, 0.2, 0.3]), np.array([0.1, 0.2]), seeds=np.arange(3),
                                seed_a=np.array([0, 0]), seed_b=np.array([1, 2])), r"e\.g\. \(1, 2\);"),
    (lambda: inf.hierarchical_bootstrap(xr.DataArray(np.ones(3), dims="run"), np.mean), r"got \('run',\)"),
])
def test_bad_input_gives_one_clear_line(call, match):
    with pytest.raises(InferenceError, match=match) as info:
        call()
    assert "\n" not in str(info.value) and "np." not in str(info.value)


def test_grid_bad_input(acc):
    with pytest.raises(InferenceError, match="reference variant 'original' is not in data"):
        inf.compare(acc.sel(variant=["shuffle", "reinit"]))
    with pytest.raises(InferenceError, match="1 seed"):
        inf.compare(acc.isel(seed=[0]))
    with pytest.raises(InferenceError, match="no 'variant' dim"):
        inf.compare(acc.sel(variant="shuffle"))
    with pytest.raises(InferenceError, match="family names"):
        inf.adjust_family(inf.compare(acc), family=("layer",))
    const = acc.copy()
    const.loc[{"variant": "shuffle", "pruner": "snip", "sparsity": 0.5}] = \
        const.sel(variant="original", pruner="snip", sparsity=0.5) + 0.01
    with pytest.raises(InferenceError, match=r"at \{'pruner': 'snip', 'sparsity': 0.5.*constant"):
        inf.compare(const)
    with pytest.warns(UserWarning, match="skipped 1 untestable cell"):
        res = inf.compare(const, errors="skip")
    assert len(res) == 7


def test_incomplete_runs_are_dropped_and_counted(acc):
    masked = acc.where(~((acc.seed == 4) & (acc.variant == "shuffle")))
    res = inf.compare(masked)
    assert {r.n for r in res if r.coords["variant"] == "shuffle"} == {4}
    assert {r.n for r in res if r.coords["variant"] == "reinit"} == {5}


def test_verdicts_at_the_margin_are_inconclusive():
    m = 0.01
    noise = np.array([-2.0, -1.0, 0.0, 1.0, 2.0]) * 0.002
    half = st.t.ppf(0.975, 4) * noise.std(ddof=1) / np.sqrt(5)  # half-width of the 95 % interval
    # mean difference just beyond the margin (interval straddles +m): neither equivalent nor "by more"
    r = inf.equivalence_test(m + 0.5 * half + noise, np.zeros(5), margin=m)
    assert r.verdict() == "higher" and r.note() == ""
    # just inside (interval straddles +m): not yet equivalent; significantly above 0 though
    r = inf.equivalence_test(m - 0.5 * half + noise, np.zeros(5), margin=m)
    assert r.verdict() == "higher" and r.pvalue > 0.05
    assert inf.equivalence_test(0.5 * half + noise, np.zeros(5), margin=m).verdict() == "equivalent"
    assert inf.equivalence_test(3 * m + noise, np.zeros(5), margin=m).verdict_text() == \
        "higher (by more than the margin)"
    # non-inferiority: interval straddling −m is inconclusive, far below is worse, above −m is non-inferior
    assert inf.noninferiority_test(-m - 0.5 * half + noise, np.zeros(5), margin=m).verdict() == "worse"
    assert inf.noninferiority_test(-m + 0.5 * half + noise, np.zeros(5), margin=m).verdict() == "worse"
    assert inf.noninferiority_test(-m + 1.5 * half + noise, np.zeros(5), margin=m).verdict_text() == \
        "worse (by less than the margin)"
    wide = 4 * noise
    assert inf.noninferiority_test(-m / 2 + wide, np.zeros(5), margin=m).verdict() == "inconclusive"
    assert inf.noninferiority_test(1.2 * half * 4 - m + wide, np.zeros(5), margin=m).verdict() == "non-inferior"
    lower_better = inf.noninferiority_test(-3 * m + noise, np.zeros(5), margin=m, higher_is_better=False)
    assert lower_better.verdict() == "better"


def test_stacked_and_regression_tables_share_one_column_schema(acc):
    """stack() and a regression's coefficient table name their columns from paistats.vocabulary.Columns,
    and each stacked row's estimate is the result's effect (the names a plot reads)."""
    from _link_zoo import link_zoo

    from paistats.regress import fit, shift_table
    from paistats.vocabulary import Columns as C

    results = inf.compare(acc, test="t", margin=0.01)
    table = inf.adjust_family(results, family=["pruner", "sparsity"])
    assert {C.ESTIMATE, C.CI_LOW, C.CI_HIGH, C.CONFIDENCE_LEVEL, C.PVALUE, C.PVALUE_ADJUSTED,
            C.PVALUE_LOWER_ADJUSTED, C.PVALUE_UPPER_ADJUSTED, C.FAMILY, C.VERDICT, C.N} <= set(table.columns)
    assert not {"effect", "pvalue_adj", "pvalue_lower_adj", "pvalue_upper_adj"} & set(table.columns)
    np.testing.assert_array_equal(table[C.ESTIMATE], [r.effect for r in results])
    coef = fit(shift_table(*link_zoo())).coefficients
    assert list(coef.columns) == [C.TERM, C.ESTIMATE, C.STD_ERROR, "statistic", C.PVALUE, C.CI_LOW, C.CI_HIGH]
