"""Multiplicity control over a stated family, and stacking results into tidy tables."""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from statsmodels.stats.multitest import multipletests

from paistats.inference._result import InferenceError, InferenceResult

METHODS = {"holm": "holm", "bh": "fdr_bh", "fdr_bh": "fdr_bh", "bonferroni": "bonferroni", "none": None}


def adjust(pvalues, method: str = "holm") -> np.ndarray:
    """Adjusted p-values (``statsmodels.stats.multitest.multipletests``).

    ``holm`` controls the family-wise error rate; ``bh`` (``fdr_bh``, Benjamini-Hochberg) the false
    discovery rate (independent or positively dependent tests); ``none`` returns the input.
    """
    if method not in METHODS:
        raise InferenceError(f"unknown multiplicity method {method!r}; choose one of {', '.join(METHODS)}")
    p = np.asarray(pvalues, dtype=float)
    if METHODS[method] is None or p.size == 0:
        return p.copy()
    if np.isnan(p).any():
        raise InferenceError(f"{int(np.isnan(p).sum())} p-value(s) are NaN; drop or fix those tests before adjusting")
    if method == "holm":
        return _holm(p)
    return multipletests(p, method=METHODS[method])[1]


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values, as ``multipletests(p, method="holm")[1]`` computes them
    (checked equal in the tests). statsmodels' holm branch calls ``gc.collect()`` on every call
    (0.15 s here), which dominates stacking many families."""
    order = np.argsort(p)
    adj = np.minimum(1.0, np.maximum.accumulate(p[order] * np.arange(p.size, 0, -1)))
    out = np.empty_like(adj)
    out[order] = adj
    return out


def stack(results: list[InferenceResult], *, family: tuple[str, ...] | list[str] | None = None,
          method: str = "holm") -> pd.DataFrame:
    """Tidy table of results with p-values adjusted within each family and a verdict at each result's α.

    Parameters
    ----------
    results : list of InferenceResult
    family : sequence of coord names, optional
        The dims that vary *within* one family, e.g. ``("pruner", "sparsity", "layer")``: results that
        share every other coord (and the test) form one family. Default: all results are one family.
    method : {"holm", "bh", "bonferroni", "none"}

    Returns
    -------
    pandas.DataFrame
        One row per result: its coords, test, kind, unit, n, statistic, pvalue, effect, effect_name,
        ci_low / ci_high / confidence_level, margin, alpha, ``pvalue_adj`` (and
        ``pvalue_opposite_adj``), ``family`` (method, the dims, m and the fixed coords) and
        ``verdict`` from the adjusted p-values.
    """
    if not results:
        raise InferenceError("no results to stack")
    rows = pd.DataFrame([r.row() for r in results])
    coord_names = list(dict.fromkeys(k for r in results for k in r.coords))
    fam = list(family) if family is not None else None
    if fam is not None:
        unknown = [f for f in fam if f not in coord_names]
        if unknown:
            raise InferenceError(f"family names {unknown} are not coords of the results (coords: {coord_names})")
        keys = [c for c in coord_names if c not in fam] + ["test"]
    else:
        keys = []
    rows["pvalue_adj"] = np.nan
    rows["pvalue_opposite_adj"] = np.nan
    rows["family"] = ""
    groups = rows.groupby(keys, dropna=False, sort=False).groups if keys else {(): rows.index}
    dims_txt = " × ".join(fam) if fam else "all tests"
    for key, index in groups.items():
        index = list(index)
        rows.loc[index, "pvalue_adj"] = adjust(rows.loc[index, "pvalue"].to_numpy(), method)
        opp = rows.loc[index, "pvalue_opposite"].to_numpy(dtype=float)
        if np.isfinite(opp).all():
            rows.loc[index, "pvalue_opposite_adj"] = adjust(opp, method)
        fixed = ", ".join(f"{k}={v}" for k, v in zip(keys, key if isinstance(key, tuple) else (key,)))
        rows.loc[index, "family"] = f"{method} over {dims_txt} (m={len(index)})" + (f" | {fixed}" if fixed else "")
    rows["verdict"] = [r.verdict(p, q) for r, p, q in zip(results, rows["pvalue_adj"], rows["pvalue_opposite_adj"])]
    return rows


def to_dataset(table: pd.DataFrame, dims: list[str] | tuple[str, ...] | None = None) -> xr.Dataset:
    """The stacked table as an ``xarray.Dataset`` indexed by ``dims`` (default: the coords present among
    pruner, variant, sparsity, layer, stage, quantity, test)."""
    if dims is None:
        dims = [d for d in ("pruner", "variant", "sparsity", "layer", "stage", "quantity", "test")
                if d in table.columns]
    indexed = table.set_index(list(dims))
    if not indexed.index.is_unique:
        raise InferenceError(f"dims {list(dims)} do not identify the rows uniquely; add the coord that differs "
                             "(e.g. 'test' or 'quantity')")
    return indexed.to_xarray()
