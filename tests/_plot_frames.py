"""Inputs of the chart and report tests: the library's own outputs (stacked tests, shift tables, distances)
on synthetic zoo-shaped data, and a few tidy tables shaped like the statistics schema."""
from __future__ import annotations

import numpy as np
import pandas as pd

PRUNERS = ["random", "snip", "synflow"]
VARIANTS = ["original", "shuffle", "reinit", "invert"]
SPARSITIES = [0.5, 0.9]
SEEDS = [0, 1, 2]
LAYERS = ["fc.0.weight", "fc.1.weight", "fc.2.weight"]
STAGES = ["init", "trained"]


def runs(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = [dict(pruner=p, variant=v, sparsity=s, seed=k, accuracy=0.9 - 0.1 * s - 0.05 * (v == "invert")
                 + rng.normal(0, 0.005))
            for p in PRUNERS for v in VARIANTS for s in SPARSITIES for k in SEEDS]
    return pd.DataFrame(rows)


def distances():
    """A Dataset with :func:`paistats.distances`' dims and variables (``tests/_link_zoo.py``; sparsities 0.5, 0.9)."""
    from _link_zoo import link_zoo

    return link_zoo()[1]


def ecdf() -> pd.DataFrame:
    from scipy import stats

    probs = np.linspace(0.01, 0.99, 25)
    rows = []
    for layer in LAYERS[:2]:
        for st in STAGES:
            for v, sd in (("original", 1.2), ("shuffle", 1.0), ("reinit", 1.0)):
                for q, x in zip(probs, stats.norm.ppf(probs, scale=sd)):
                    rows.append(dict(layer=layer, stage=st, variant=v, probability=q, value=x))
    return pd.DataFrame(rows)


def heatmap() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return pd.DataFrame([dict(pruner=p, layer=layer, statistic=s, panel=f"{v} · {st}", change=rng.normal())
                         for p in PRUNERS for layer in LAYERS for s in ("std", "kurtosis", "mean_abs")
                         for v in ("shuffle", "reinit") for st in STAGES])


def densities() -> pd.DataFrame:
    return pd.DataFrame([dict(pruner=p, layer=layer, sparsity=s, seed=k,
                              density=0.0 if (p == "synflow" and s == 0.9 and layer == LAYERS[1]) else 1 - s)
                         for p in PRUNERS for layer in LAYERS for s in SPARSITIES for k in SEEDS])


def shift() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(:func:`paistats.shift_table` of the link zoo, a fitted line over a grid of its first shift column)."""
    from _link_zoo import link_zoo

    from paistats.regress import shift_table

    table = shift_table(*link_zoo())
    grid = np.linspace(0, 0.6, 20)
    fit = pd.DataFrame({"wasserstein_rel_init": grid, "fitted": -0.02 * grid, "lower": -0.02 * grid - 0.003,
                        "upper": -0.02 * grid + 0.003})
    return table, fit


def verdicts() -> pd.DataFrame:
    """:func:`paistats.inference.adjust_family` of paired t tests of every variant against original in :func:`runs`
    (margin 1 pp, Bonferroni over pruner × sparsity)."""
    from paistats import inference

    results = inference.compare(accuracy_array(4), margin=0.01, higher_is_better=True)
    return inference.adjust_family(results, family=["pruner", "sparsity"])


# ---- the library's own outputs, for charts that take them as they come ---------------------------------------------
TINY = ("mnist1d_mlp", "mnist1d")


def tiny_zoo(zoo):
    """A real zoo written by the builder: mnist1d_mlp, pruners magnitude and random, variants original and
    shuffle, sparsity 0.5, seeds 0-2, no training (12 runs; the stage ``trained`` equals init)."""
    from zoo_builder import RunSpec, run, store
    from zoo_builder.training.recipes import RECIPES

    zero = RECIPES.get("smoke").with_(epochs=0)
    specs = [RunSpec(*TINY, m, v, s, k, zero) for m in ("magnitude", "random") for v in ("original", "shuffle")
             for s in (0.5,) for k in (0, 1, 2)]
    entries = store.plan_entries(zoo, specs)
    for spec in specs:
        store.write_run(zoo, run(spec))
    for entry in entries:
        store.finalize(zoo, entry)
    return zoo


def accuracy_array(seed: int = 0):
    """:func:`runs` as the root ``accuracy`` DataArray (pruner, variant, sparsity, seed) of an arch stack."""
    da = runs(seed).set_index(["pruner", "variant", "sparsity", "seed"])["accuracy"].to_xarray()
    da.name = "accuracy"
    return da
