"""Accuracy summaries of an entry: mean and spread over seeds of the completed runs."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from paistats.vocabulary import PRUNER, SEED, SPARSITY, VARIANT, ordered


def accuracy_summary(tree: xr.DataTree) -> pd.DataFrame:
    """Final test accuracy per (pruner, sparsity, variant), summarized over seeds.

    Only completed runs count. Works on one entry or on an architecture's stack of methods
    (``paistats.load("lenet300")``).

    Parameters
    ----------
    tree : xarray.DataTree
        From :func:`paistats.load`; uses the root variables ``accuracy`` and ``complete``.

    Returns
    -------
    pandas.DataFrame
        Index (``pruner``, ``sparsity``, ``variant``); columns ``mean`` and ``std`` (fractions,
        std with ddof = 1, NaN for one seed) and ``n`` (completed seeds). Cells with no completed
        run are dropped.
    """
    root = tree.to_dataset(inherit=True) if isinstance(tree, xr.DataTree) else tree
    acc = root["accuracy"].where(root["complete"].astype(bool)).load()  # one small root array
    if PRUNER not in acc.dims:
        acc = acc.expand_dims({PRUNER: [tree.attrs.get("pruner", tree.attrs.get("method", "?"))]})
    n = acc.notnull().sum(SEED)
    with warnings.catch_warnings():  # all-NaN cells and single seeds are expected here
        warnings.simplefilter("ignore", RuntimeWarning)
        table = xr.Dataset({
            "mean": acc.mean(SEED, skipna=True),
            "std": acc.std(SEED, skipna=True, ddof=1).where(n > 1),
            "n": n,
        }).to_dataframe()
    table = table[table["n"] > 0]
    table["n"] = table["n"].astype(int)
    return table.reorder_levels([PRUNER, SPARSITY, VARIANT]).sort_index()[["mean", "std", "n"]]


def format_accuracy_summary(table: pd.DataFrame, *, title: str = "") -> str:
    """Text table: one row per (pruner, sparsity), one column per variant, ``mean ± std`` in %.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`accuracy_summary` output (``mean`` and ``std`` as fractions).
    title : str
        A first line, if given.

    Returns
    -------
    str
        Variants in the zoo's order (:data:`paistats.vocabulary.VARIANT_ORDER`), others after them.
    """
    cells = table.apply(lambda r: f"{100 * r['mean']:.2f}" + (f" ± {100 * r['std']:.2f}" if np.isfinite(r["std"]) else ""),
                        axis=1)
    wide = cells.unstack(VARIANT)
    wide = wide[ordered(wide.columns)].fillna("")
    head = f"{title}\n" if title else ""
    return head + "test accuracy % (mean ± std over seeds)\n" + wide.to_string()
