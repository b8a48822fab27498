"""End to end on a small real entry: load → distances / noise floor → seed-level tests with Holm over
the stated family → shift table → default regression."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import paistats
from paistats import inference as inf
from paistats import regress
from paistats.stats import distances, noise_floor

pytestmark = pytest.mark.slow  # builds 9 real runs (≈ 10 s alone, minutes on a shared machine)

ARCH, DATA = "mnist1d_mlp", "mnist1d"
VARIANTS = ("original", "shuffle", "reinit")
SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    """magnitude, 1 epoch: 3 variants × sparsity 0.8 × 3 seeds (9 runs of the mnist1d MLP)."""
    from zoo_builder import RunSpec, run, store
    from zoo_builder.training.recipes import RECIPES

    zoo = tmp_path_factory.mktemp("inference") / "zoo"
    recipe = RECIPES.get("smoke").with_(epochs=1)
    specs = [RunSpec(ARCH, DATA, "magnitude", v, 0.8, k, recipe) for v in VARIANTS for k in SEEDS]
    (entry,) = store.plan_entries(zoo, specs)
    for spec in specs:
        store.write_run(zoo, run(spec))
    store.finalize(zoo, entry)
    return paistats.load(entry, zoo=zoo)


@pytest.fixture(scope="module")
def dist(tree):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return distances(tree), noise_floor(tree)


def test_seed_level_tests_on_a_real_entry(tree, dist):
    d, noise = dist
    acc = tree["accuracy"].where(tree["complete"])
    table = inf.adjust_family(inf.compare(acc, test="t"), family=("sparsity",))
    assert set(table["variant"]) == {"shuffle", "reinit"} and (table["n"] == 3).all()
    x = acc.sel(variant="reinit", sparsity=0.8).values
    y = acc.sel(variant="original", sparsity=0.8).values
    assert table.set_index("variant").loc["reinit", "pvalue"] == pytest.approx(
        inf.paired_test(x, y).pvalue, rel=1e-12)

    w = d["wasserstein_rel"].sel(stage=["init", "trained"])
    w = w.sel(layer=[v for v in w["layer"].values if v != "all"])
    results = inf.noise_test(w, noise["wasserstein_rel"].sel(stage=["init", "trained"]))
    shift = inf.adjust_family(results, family=("layer",), method="holm")
    assert len(shift) == 2 * 2 * w.sizes["layer"]  # variants × stages × layers
    assert shift["family"].str.startswith(f"holm over layer (m={w.sizes['layer']}; p-values only").all()
    assert (shift["unit"] == "seed").all() and np.isfinite(shift["pvalue_adjusted"]).all()
    # the adjustment is Holm's within each family (the layers of one variant and stage), as statsmodels
    # computes it: checked on the numbers, not only on the verdicts read off them
    from statsmodels.stats.multitest import multipletests

    for _, family in shift.groupby(["variant", "stage"]):
        np.testing.assert_allclose(family["pvalue_adjusted"], multipletests(family["pvalue"], method="holm")[1],
                                   rtol=1e-12)
    # Holm has no matching interval: each verdict is read off its Holm-adjusted p-value (one-sided test)
    expected = np.where(shift["pvalue_adjusted"] < 0.05, "above noise", "inconclusive")
    assert shift["verdict"].tolist() == expected.tolist()
    # magnitude keeps the large-|w| tail: at init the original's kept weights are far from the
    # shuffled ones (an untruncated Gaussian), far beyond seed-to-seed noise, in every layer
    init = shift[(shift["stage"] == "init") & (shift["variant"] == "shuffle")]
    assert (init["estimate"] > 0).all()
    assert (init["verdict"] == "above noise").all(), init[["layer", "estimate", "pvalue", "pvalue_adjusted"]]
    tidy = inf.to_dataset(shift)
    assert "verdict" in tidy and "layer" in tidy.dims


def test_shift_table_and_default_regression_on_a_real_entry(tree, dist):
    d, _ = dist
    table = paistats.shift_table(tree, d)
    assert len(table) == 2 * 3  # (shuffle, reinit) × seeds at one sparsity
    assert {"arch", "dataset", "pruner"} <= set(table.columns)
    assert table["arch"].iloc[0] == ARCH and table["pruner"].iloc[0] == "magnitude"
    acc = tree["accuracy"]
    row = table.iloc[0]
    cell = dict(sparsity=row["sparsity"], seed=row["seed"])
    assert row["delta_accuracy"] == pytest.approx(
        float(acc.sel(variant=row["variant"], **cell) - acc.sel(variant="original", **cell)))
    sizes = {t["name"]: int(np.prod(t["shape"])) for t in tree.attrs["tensors"] if t.get("prunable", True)}
    per_layer = d["wasserstein_rel"].sel(variant=row["variant"], stage="trained", **cell)
    expect = sum(sizes[name] * float(per_layer.sel(layer=name)) for name in sizes) / sum(sizes.values())
    assert row["wasserstein_rel_trained"] == pytest.approx(expect)
    fit = regress.ols(table)
    assert fit.n_groups == 3 and fit.cov_type.startswith("cluster(seed)")
    assert fit.coefficients["term"].tolist() == ["Intercept", "wasserstein_rel_init", "wasserstein_rel_trained"]
