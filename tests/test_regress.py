"""paistats.regress: shift table on zoo-shaped data, planted-coefficient recovery, cluster-robust errors."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
import xarray as xr

import paistats
from paistats.inference import InferenceError
from paistats import regress
from test_inference_synth import accuracy_grid, shift_frame


def _entry(rng, pruners=("snip", "random")):
    """A zoo-shaped accuracy DataArray and a matching distances Dataset (2 layers of 100 and 300 weights)."""
    acc = accuracy_grid(rng, pruners=pruners)
    layers = ["fc.0.weight", "fc.1.weight"]
    dims = ("pruner", "variant", "sparsity", "seed", "layer", "stage")
    shape = tuple(acc.sizes[d] for d in dims[:4]) + (2, 2)
    coords = {**{d: acc[d].values for d in dims[:4]}, "layer": layers, "stage": ["init", "trained"]}
    dist = xr.Dataset({m: (dims, rng.gamma(2, 0.05, shape)) for m in ("wasserstein_rel", "ks", "log_std_ratio")},
                      coords=coords)
    weights = xr.DataArray([100, 300], dims="layer", coords={"layer": layers})
    return acc, dist, weights


def test_shift_table_rows_and_delta_accuracy():
    rng = np.random.default_rng(0)
    acc, dist, weights = _entry(rng)
    table = paistats.shift_table(acc, dist, layer_weights=weights)
    assert len(table) == 2 * 2 * 2 * 5  # pruner × (shuffle, reinit) × sparsity × seed
    assert set(table["variant"]) == {"shuffle", "reinit"}
    row = table.iloc[7]
    cell = dict(pruner=row["pruner"], sparsity=row["sparsity"], seed=row["seed"])
    assert row["delta_accuracy"] == pytest.approx(
        float(acc.sel(variant=row["variant"], **cell) - acc.sel(variant="original", **cell)))
    w = dist["wasserstein_rel"].sel(variant=row["variant"], stage="trained", **cell).values
    assert row["wasserstein_rel_trained"] == pytest.approx((100 * w[0] + 300 * w[1]) / 400)
    assert {"ks_init", "ks_trained", "log_std_ratio_init", "log_std_ratio_trained"} <= set(table.columns)


def test_shift_table_several_entries_carry_arch_and_dataset():
    rng = np.random.default_rng(1)
    frames = []
    for arch in ("lenet300", "vgg16"):
        acc, dist, weights = _entry(rng)
        acc.attrs.update(arch=arch, dataset="mnist" if arch == "lenet300" else "cifar10")
        frames.append((acc, dist))
    table = paistats.shift_table([f[0] for f in frames], [f[1] for f in frames], layer_weights=weights)
    assert set(table["arch"]) == {"lenet300", "vgg16"} and set(table["dataset"]) == {"mnist", "cifar10"}
    assert "C(arch)" in regress.default_formula(table)


def test_shift_table_bad_input():
    rng = np.random.default_rng(2)
    acc, dist, weights = _entry(rng)
    with pytest.raises(InferenceError, match="reference variant 'original' is not in the entry"):
        paistats.shift_table(acc.sel(variant=["shuffle", "reinit"]), dist, layer_weights=weights)
    with pytest.raises(InferenceError, match="1 seed"):
        paistats.shift_table(acc.isel(seed=[0]), dist.isel(seed=[0]), layer_weights=weights)
    with pytest.raises(InferenceError, match="no parameter count"):
        paistats.shift_table(acc, dist)
    with pytest.raises(InferenceError, match="distances lack"):
        paistats.shift_table(acc, dist, layer_weights=weights, metrics=("energy",))


def test_ols_recovers_a_planted_coefficient_with_seed_clusters():
    table = shift_frame(np.random.default_rng(3), beta=-0.2)
    fit = regress.ols(table, "delta_accuracy ~ wasserstein_rel_trained")
    row = fit.coefficients.set_index("term").loc["wasserstein_rel_trained"]
    assert row["ci_low"] <= -0.2 <= row["ci_high"]
    assert row["pvalue"] < 0.05
    assert fit.cov_type == "cluster(seed)" and fit.n_groups == 8
    # the numbers are statsmodels'
    ref = smf.ols("delta_accuracy ~ wasserstein_rel_trained", table).fit(
        cov_type="cluster", cov_kwds={"groups": table["seed"].to_numpy()}, use_t=True)
    np.testing.assert_allclose(fit.coefficients["std_error"], ref.bse.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(fit.coefficients["pvalue"], ref.pvalues.to_numpy(), rtol=1e-8)


def test_cluster_robust_errors_are_wider_than_naive_under_clustering():
    table = shift_frame(np.random.default_rng(4), beta=-0.2, seed_sd=0.02)
    f = "delta_accuracy ~ wasserstein_rel_trained"
    robust = regress.ols(table, f).coefficients.set_index("term")["std_error"]
    naive = regress.ols(table, f, cluster=None).coefficients.set_index("term")["std_error"]
    assert robust["wasserstein_rel_trained"] > 1.5 * naive["wasserstein_rel_trained"]


@pytest.mark.slow
def test_planted_coefficient_coverage_over_datasets():
    # measured here (200 datasets each), coverage of the 95% CI of the planted slope at 5 / 10 / 20 seeds:
    # naive OLS 0.58 / 0.63 / 0.61, OLS cluster-robust by seed 0.87 / 0.90 / 0.92 (few-cluster CR1 with
    # G − 1 df still under-covers), MixedLM random intercept by seed 0.94 / 0.96 / 0.96
    rng = np.random.default_rng(5)
    f = "delta_accuracy ~ wasserstein_rel_trained"
    cover = {"naive": [], "cluster": [], "mixed": []}
    for _ in range(200):
        table = shift_frame(rng, beta=-0.2, seeds=10, n_per_seed=12)
        for key, fit in (("naive", lambda: regress.ols(table, f, cluster=None)), ("cluster", lambda: regress.ols(table, f)),
                         ("mixed", lambda: regress.mixedlm(table, f))):
            row = fit().coefficients.iloc[1]
            cover[key].append(row["ci_low"] <= -0.2 <= row["ci_high"])
    rate = {k: np.mean(v) for k, v in cover.items()}
    assert rate["naive"] < 0.75, rate
    assert rate["cluster"] >= 0.85, rate
    assert 0.92 <= rate["mixed"] <= 0.98, rate


def test_mixedlm_random_intercept_by_seed():
    table = shift_frame(np.random.default_rng(6), beta=-0.2)
    fit = regress.mixedlm(table, "delta_accuracy ~ wasserstein_rel_trained", groups="seed")
    row = fit.coefficients.set_index("term").loc["wasserstein_rel_trained"]
    # recovery is measured over many datasets in test_planted_coefficient_coverage_over_datasets; MixedLM's
    # Wald z with 8 seeds × 24 rows rejected a true slope 12% of the time at 5% (60 datasets here)
    assert row["estimate"] < 0 and row["pvalue"] < 0.05
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' boundary note, same fit as ours
        ref = smf.mixedlm("delta_accuracy ~ wasserstein_rel_trained", table, groups=table["seed"]).fit(reml=True)
    assert row["estimate"] == pytest.approx(ref.fe_params["wasserstein_rel_trained"], rel=1e-6)
    assert fit.model == "MixedLM" and fit.n_groups == 8
    by_pruner = regress.fit(table, "delta_accuracy ~ wasserstein_rel_trained", model="mixed", groups="pruner")
    assert by_pruner.groups == "pruner"


def test_default_formula_answers_the_question():
    table = shift_frame(np.random.default_rng(7))
    f = regress.default_formula(table)
    assert f == "delta_accuracy ~ wasserstein_rel_init + wasserstein_rel_trained + C(pruner) + C(sparsity)"
    fit = regress.ols(table)
    assert fit.formula == f and "wasserstein_rel_trained" in set(fit.coefficients["term"])


@pytest.mark.parametrize("call, match", [
    (lambda t: regress.ols(t.assign(seed=0)), "only 1 seed group"),
    (lambda t: regress.ols(t.assign(k=1.0), "delta_accuracy ~ wasserstein_rel_trained + k"), "constant regressor"),
    (lambda t: regress.ols(t, "delta_accuracy ~ nonexistent"), "does not fit the table"),
    (lambda t: regress.ols(t.assign(delta_accuracy=0.0)), "response .* is constant"),
    (lambda t: regress.ols(t, cluster="layer"), "grouping column 'layer'"),
    (lambda t: regress.fit(t, model="glm"), "unknown model"),
    (lambda t: regress.ols(pd.DataFrame()), "non-empty"),
])
def test_regression_bad_input(call, match):
    with pytest.raises(InferenceError, match=match) as info:
        call(shift_frame(np.random.default_rng(8)))
    assert "\n" not in str(info.value)
