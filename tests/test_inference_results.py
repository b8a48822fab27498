"""Result objects, tidy stacking with adjusted p-values and verdicts, grids over zoo-shaped data, bad input."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from statsmodels.stats.multitest import multipletests

from paistats import inference as inf
from paistats.inference import InferenceError
from test_inference_synth import accuracy_grid, distance_grid


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
    table = inf.stack(res, family=("pruner", "sparsity"), method="holm")
    for variant, rows in table.groupby("variant"):
        assert len(rows) == 4
        np.testing.assert_allclose(rows["pvalue_adj"], multipletests(rows["pvalue"], method="holm")[1], rtol=1e-12)
        assert rows["family"].iloc[0].startswith("holm over pruner × sparsity (m=4)")
        assert f"variant={variant}" in rows["family"].iloc[0]
    one = inf.stack(res, method="bh")
    np.testing.assert_allclose(one["pvalue_adj"], multipletests(one["pvalue"], method="fdr_bh")[1], rtol=1e-12)
    assert set(one["family"]) == {"bh over all tests (m=8)"}


def test_verdicts_follow_adjusted_pvalues(acc):
    table = inf.stack(inf.compare(acc, test="t"), family=("pruner", "sparsity"))
    reinit = table[table["variant"] == "reinit"]
    assert (reinit["verdict"] == "different").all()  # planted −3 points
    assert set(table.loc[table["pvalue_adj"] >= 0.05, "verdict"]) <= {"inconclusive"}


def test_equivalence_and_noninferiority_verdicts(acc):
    tost = inf.stack(inf.compare(acc, test="tost", margin=0.01), family=("pruner", "sparsity"))
    assert set(tost.loc[tost["variant"] == "shuffle", "verdict"]) == {"equivalent"}
    assert set(tost.loc[tost["variant"] == "reinit", "verdict"]) == {"different"}
    ni = inf.stack(inf.compare(acc, test="noninferiority", margin=0.01), family=("pruner", "sparsity"))
    assert set(ni.loc[ni["variant"] == "shuffle", "verdict"]) == {"non-inferior"}
    assert set(ni.loc[ni["variant"] == "reinit", "verdict"]) == {"inferior"}
    # a margin so small that neither side can be shown
    tiny = inf.stack(inf.compare(acc.sel(variant=["original", "shuffle"]), test="tost", margin=1e-4))
    assert set(tiny["verdict"]) <= {"inconclusive", "different"}
    assert tost["confidence_level"].iloc[0] == pytest.approx(0.90)


def test_tidy_dataset(acc):
    table = inf.stack(inf.compare(acc, test="t"))
    ds = inf.to_dataset(table)
    assert {"pvalue", "pvalue_adj", "verdict", "effect"} <= set(ds.data_vars)
    assert ds["pvalue"].sel(pruner="snip", variant="reinit", sparsity=0.9, quantity="accuracy",
                            test="paired t").item() < 0.05


def test_noise_test_grid():
    d, noise = distance_grid(np.random.default_rng(1), extra=0.2)
    res = inf.noise_test(d, noise)
    assert len(res) == 2 * 2 * 2 * 2  # variants × sparsities × layers × stages
    table = inf.stack(res, family=("sparsity", "layer"))
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
    row = inf.stack([r]).iloc[0]
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
    (lambda: inf.adjust([0.1, np.nan]), "NaN"),
    (lambda: inf.adjust([0.1], "sidak-ish"), "unknown multiplicity"),
])
def test_bad_input_gives_one_clear_line(call, match):
    with pytest.raises(InferenceError, match=match) as info:
        call()
    assert "\n" not in str(info.value)


def test_grid_bad_input(acc):
    with pytest.raises(InferenceError, match="reference variant 'original' is not in data"):
        inf.compare(acc.sel(variant=["shuffle", "reinit"]))
    with pytest.raises(InferenceError, match="1 seed"):
        inf.compare(acc.isel(seed=[0]))
    with pytest.raises(InferenceError, match="no 'variant' dim"):
        inf.compare(acc.sel(variant="shuffle"))
    with pytest.raises(InferenceError, match="family names"):
        inf.stack(inf.compare(acc), family=("layer",))
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
    se = noise.std(ddof=1) / np.sqrt(5)
    # mean difference one SE beyond the margin: neither "equivalent" nor significantly "different"
    r = inf.equivalence_test(m + se + noise, np.zeros(5), margin=m)
    assert 0.05 < r.pvalue_opposite < 0.5 and r.pvalue > 0.5
    assert r.verdict() == "inconclusive"
    # one SE inside the margin: not yet equivalent at α = 0.05 either
    assert inf.equivalence_test(m - se + noise, np.zeros(5), margin=m).verdict() == "inconclusive"
    # well inside / well outside
    assert inf.equivalence_test(noise, np.zeros(5) + 1e-9 * np.arange(5), margin=m).verdict() == "equivalent"
    assert inf.equivalence_test(3 * m + noise, np.zeros(5), margin=m).verdict() == "different"
    # non-inferiority: one SE below −margin is inconclusive, far below is inferior, above is non-inferior
    assert inf.noninferiority_test(-m - se + noise, np.zeros(5), margin=m).verdict() == "inconclusive"
    assert inf.noninferiority_test(-3 * m + noise, np.zeros(5), margin=m).verdict() == "inferior"
    assert inf.noninferiority_test(noise, np.zeros(5) + 1e-9, margin=m).verdict() == "non-inferior"
    lower_better = inf.noninferiority_test(-3 * m + noise, np.zeros(5), margin=m, higher_is_better=False)
    assert lower_better.verdict() == "non-inferior"
