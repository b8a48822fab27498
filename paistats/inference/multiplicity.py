"""Multiplicity control over a stated family, and the tidy table of a family's results.

:func:`adjust` adjusts an array of p-values; :func:`adjust_family` adjusts a list of results within
stated families and tabulates them, each verdict read off the interval printed beside it
(``stack``, its old name, still works for one release with a FutureWarning).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from statsmodels.stats.multitest import multipletests

from paistats._deprecate import renamed_function
from paistats.errors import InferenceError
from paistats.inference._result import InferenceResult
from paistats.inference.verdicts import pvalue_verdict
from paistats.vocabulary import LAYER, PRUNER, SPARSITY, VARIANT
from paistats.vocabulary import Columns as C

METHODS = {"bonferroni": "bonferroni", "none": None, "holm": "holm", "bh": "fdr_bh", "fdr_bh": "fdr_bh"}


def adjust(pvalues, method: str = "holm") -> np.ndarray:
    """Adjusted p-values of one family (``statsmodels.stats.multitest.multipletests``).

    Parameters
    ----------
    pvalues : array-like
        The family's p-values (no NaN).
    method : {"holm", "bonferroni", "bh", "fdr_bh", "none"}
        ``holm`` controls the family-wise error rate; ``bh`` (``fdr_bh``, Benjamini-Hochberg) the
        false discovery rate (independent or positively dependent tests); ``none`` returns the input.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same shape as ``pvalues``.

    Raises
    ------
    InferenceError
        Unknown method or NaN p-values.
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


INTERVAL_METHODS = ("bonferroni", "none")


def family_level(alpha: float, m: int, method: str = "bonferroni") -> float:
    """Confidence level of each interval of a family.

    Parameters
    ----------
    alpha : float
        Family-wise error rate.
    m : int
        Number of results in the family.
    method : str
        The multiplicity method.

    Returns
    -------
    float
        ``1 − α/m`` (Bonferroni: the m intervals cover together with probability ≥ 1 − α),
        ``1 − α`` (``none``); NaN for step-wise methods (Holm, BH), which have no matching interval.
    """
    if method == "bonferroni":
        return 1 - alpha / m
    if method == "none":
        return 1 - alpha
    return float("nan")


def _claim_pvalues(r: InferenceResult) -> tuple[float, float, float]:
    """p of H0 δ = 0, δ = −margin, δ = +margin at the result's interval convention (NaN if not defined)."""
    if r.descriptive or r._p_at is None:
        return r.pvalue, np.nan, np.nan
    if r.margin is None:
        return r.pvalue_at(0.0), np.nan, np.nan
    return r.pvalue_at(0.0), r.pvalue_at(-r.margin), r.pvalue_at(r.margin)


def _adjust_block(p: np.ndarray, method: str, m: int) -> np.ndarray:
    if not np.isfinite(p).all():
        return np.full(p.shape, np.nan)
    if method == "bonferroni":
        return np.minimum(1.0, p * m)
    return adjust(p, method)


def adjust_family(results: list[InferenceResult], *, family: tuple[str, ...] | list[str] | None = None,
          method: str = "bonferroni") -> pd.DataFrame:
    """Tidy table of results: each verdict read off the interval printed beside it, at the family's level.

    Parameters
    ----------
    results : list of InferenceResult
        From :func:`compare`, :func:`noise_test` or the single tests.
    family : sequence of coord names, optional
        The dims that vary *within* one family, e.g. ``("pruner", "sparsity")``: results that share
        every other coord (and the test) form one family of m results. Default: all results are one.
    method : {"bonferroni", "none", "holm", "bh"}
        ``bonferroni`` (default): every interval at ``1 − α/m`` (simultaneous coverage ≥ 1 − α over
        the family), the verdict read off it, p-values × m. ``none``: ``1 − α`` per result.
        ``holm`` / ``bh``: step-wise adjusted p-values only; they have no matching interval, so the
        interval columns are NaN (never an interval that disagrees with the verdict) and the verdict
        is read from the adjusted p-values by the same rules.

    Returns
    -------
    pandas.DataFrame
        One row per result: its coords, test, kind, unit, n, statistic, ``pvalue`` (the test's own,
        see :class:`InferenceResult`), ``estimate`` (the result's ``effect``), effect_name, ``ci_low`` /
        ``ci_high`` / ``confidence_level`` / ``ci_method`` (the interval the verdict is read from),
        margin, alpha, ``pvalue_adjusted`` (H0 δ = 0), ``pvalue_lower_adjusted`` /
        ``pvalue_upper_adjusted`` (H0 δ = ∓margin; NaN without a margin), all adjusted within the
        family and each < α exactly when the interval
        excludes that value; ``family`` (method, dims, m, interval level, fixed coords), ``verdict``
        (one word of :data:`paistats.inference.verdicts.WORDS`) and ``verdict_text`` (with its
        qualifier, e.g. "worse (by less than the margin)"). The names are those of
        :class:`paistats.vocabulary.Columns`, so the table goes into :func:`paistats.plot.verdict_forest`
        unchanged.
    """
    if not results:
        raise InferenceError("no results to adjust: pass the list returned by paistats.inference.compare")
    if method not in METHODS:
        raise InferenceError(f"unknown multiplicity method {method!r}; choose one of {', '.join(METHODS)}")
    coord_names = list(dict.fromkeys(k for r in results for k in r.coords))
    fam = list(family) if family is not None else None
    if fam is not None:
        unknown = [f for f in fam if f not in coord_names]
        if unknown:
            raise InferenceError(f"family names {unknown} are not coords of the results (coords: {coord_names})")
        keys = [c for c in coord_names if c not in fam] + ["test"]
    else:
        keys = []
    keyframe = pd.DataFrame([{**r.coords, "test": r.test} for r in results])
    by = keys[0] if len(keys) == 1 else keys
    groups = keyframe.groupby(by, dropna=False, sort=False).groups if keys else {(): keyframe.index}
    dims_txt = " × ".join(fam) if fam else "all tests"
    rows: list[dict | None] = [None] * len(results)
    for key, index in groups.items():
        index = list(index)
        m = len(index)
        level = family_level(results[index[0]].alpha, m, method)
        claims = np.array([_claim_pvalues(results[i]) for i in index]).reshape(m, 3)
        adj = np.column_stack([_adjust_block(claims[:, j], method, m)
                               for j in range(3)])
        fixed = ", ".join(f"{k}={v}" for k, v in zip(keys, key if isinstance(key, tuple) else (key,)))
        where = f" | {fixed}" if fixed else ""
        if method in INTERVAL_METHODS:
            fam_txt = f"{method} over {dims_txt} (m={m}; intervals at {100 * level:.4g}%){where}"
        else:
            fam_txt = f"{method} over {dims_txt} (m={m}; p-values only: {method} has no matching interval){where}"
        for i, (p0, pl, pu) in zip(index, adj):
            r = results[i]
            if method in INTERVAL_METHODS:
                row = r.row(level)
            else:
                row = r.row()
                row.update(ci_low=np.nan, ci_high=np.nan, confidence_level=np.nan,
                           ci_method=f"none ({method} has no matching interval; use method='bonferroni')")
                if row["verdict"] != "descriptive":
                    word = pvalue_verdict(r.effect, p0, pl, pu, alpha=r.alpha, margin=r.margin,
                                          higher_is_better=r.higher_is_better, shift=r.kind == "shift")
                    row.update(verdict=word, verdict_text=word)
            row.update({C.PVALUE_ADJUSTED: p0, C.PVALUE_LOWER_ADJUSTED: pl, C.PVALUE_UPPER_ADJUSTED: pu,
                        C.FAMILY: fam_txt})
            rows[i] = row
    return pd.DataFrame(rows)


stack = renamed_function(adjust_family, "stack", "paistats.inference")


def to_dataset(table: pd.DataFrame, dims: list[str] | tuple[str, ...] | None = None) -> xr.Dataset:
    """The table of :func:`adjust_family` as an ``xarray.Dataset``.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`adjust_family`.
    dims : sequence of str, optional
        Columns that index the rows (default: those present among pruner, variant, sparsity,
        layer, stage, quantity, test).

    Returns
    -------
    xarray.Dataset
        One variable per other column, indexed by ``dims``.

    Raises
    ------
    InferenceError
        If ``dims`` do not identify the rows uniquely.
    """
    if dims is None:
        dims = [d for d in (PRUNER, VARIANT, SPARSITY, LAYER, "stage", "quantity", "test")
                if d in table.columns]
    indexed = table.set_index(list(dims))
    if not indexed.index.is_unique:
        raise InferenceError(f"dims {list(dims)} do not identify the rows uniquely; add the coord that differs "
                             "(e.g. 'test' or 'quantity')")
    return indexed.to_xarray()
