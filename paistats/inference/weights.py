"""Per-weight two-sample tests: descriptive only.

Weights of one layer of one run share an initialization, a mask and a training trajectory, so
they are not independent draws; with 10⁵ weights nearly every difference is "significant". These
wrappers return scipy's own numbers labelled ``unit="weight"``, ``descriptive=True`` (verdict
``descriptive``). Claims go through :mod:`paistats.inference.seeds`.

Inputs are 1-D arrays or DataArrays of surviving weights (NaN = pruned, dropped), e.g.
``paistats.unpruned(node, stage="init").sel(variant=..., sparsity=..., seed=...)`` flattened.
"""
from __future__ import annotations

import numpy as np
import scipy.stats as st
import xarray as xr

from paistats.errors import InferenceError
from paistats.inference import _checks
from paistats.inference._result import InferenceResult


def _flat(x, what: str) -> np.ndarray:
    if isinstance(x, xr.DataArray):
        x = x.values
    x = np.asarray(x, dtype=float).ravel()
    return _checks.finite(x, min_n=2, what=what)


def _result(test, res, effect, effect_name, x, y, alternative="two-sided", coords=None, **details):
    _checks.check_result(float(res.statistic), float(res.pvalue), test)
    return InferenceResult(test=test, kind="descriptive", statistic=float(res.statistic), pvalue=float(res.pvalue),
                           effect=float(effect), effect_name=effect_name, n=int(min(x.size, y.size)), unit="weight",
                           descriptive=True, alternative=alternative, coords=dict(coords or {}),
                           details={"n_x": int(x.size), "n_y": int(y.size), **details})


def ks_test(x, y, *, alternative: str = "two-sided", coords: dict | None = None) -> InferenceResult:
    """Two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``), descriptive.

    Parameters
    ----------
    x, y : array-like or DataArray
        Surviving weights of the two samples (any shape, flattened; NaN = pruned, dropped).
    alternative : {"two-sided", "less", "greater"}
        As in scipy.
    coords : dict, optional
        Labels of what is compared, carried into the result.

    Returns
    -------
    InferenceResult
        ``descriptive=True``, ``unit="weight"``, ``n`` = the smaller sample; effect = the KS statistic (sup |F_x − F_y|).

    Raises
    ------
    InferenceError
        A sample with fewer than 2 finite values, or a degenerate statistic.
    """
    x, y = _flat(x, "x"), _flat(y, "y")
    res = st.ks_2samp(x, y, alternative=alternative)
    return _result("ks_2samp", res, res.statistic, "KS distance", x, y, alternative, coords)


def anderson_test(x, y, *, coords: dict | None = None) -> InferenceResult:
    """Anderson-Darling k-sample test (``scipy.stats.anderson_ksamp([x, y], variant="midrank")``), descriptive.

    The p-value is scipy's, interpolated and clipped to [0.001, 0.25].

    Parameters
    ----------
    x, y : array-like or DataArray
        Surviving weights of the two samples (any shape, flattened; NaN = pruned, dropped).
    coords : dict, optional
        Labels of what is compared, carried into the result.

    Returns
    -------
    InferenceResult
        ``descriptive=True``, ``unit="weight"``, ``n`` = the smaller sample; effect = the normalized A-D statistic.

    Raises
    ------
    InferenceError
        A sample with fewer than 2 finite values, or a degenerate statistic.
    """
    x, y = _flat(x, "x"), _flat(y, "y")
    res = st.anderson_ksamp([x, y], variant="midrank")
    return _result("anderson_ksamp", res, res.statistic, "normalized A-D statistic", x, y, "two-sided", coords)


def mannwhitney_test(x, y, *, alternative: str = "two-sided", coords: dict | None = None) -> InferenceResult:
    """Mann-Whitney U test (``scipy.stats.mannwhitneyu``), descriptive.

    Parameters
    ----------
    x, y : array-like or DataArray
        Surviving weights of the two samples (any shape, flattened; NaN = pruned, dropped).
    alternative : {"two-sided", "less", "greater"}
        As in scipy.
    coords : dict, optional
        Labels of what is compared, carried into the result.

    Returns
    -------
    InferenceResult
        ``descriptive=True``, ``unit="weight"``, ``n`` = the smaller sample; effect = U / (n_x n_y), the probability that x > y (ties count ½).

    Raises
    ------
    InferenceError
        A sample with fewer than 2 finite values, or a degenerate statistic.
    """
    x, y = _flat(x, "x"), _flat(y, "y")
    res = st.mannwhitneyu(x, y, alternative=alternative)
    return _result("mannwhitneyu", res, res.statistic / (x.size * y.size), "common-language effect P(x > y)",
                   x, y, alternative, coords)


def brown_forsythe_test(x, y, *, coords: dict | None = None) -> InferenceResult:
    """Brown-Forsythe scale test (``scipy.stats.levene(x, y, center="median")``), descriptive.

    Parameters
    ----------
    x, y : array-like or DataArray
        Surviving weights of the two samples (any shape, flattened; NaN = pruned, dropped).
    coords : dict, optional
        Labels of what is compared, carried into the result.

    Returns
    -------
    InferenceResult
        ``descriptive=True``, ``unit="weight"``, ``n`` = the smaller sample; effect = log(std_x / std_y) (NaN when a std is 0).

    Raises
    ------
    InferenceError
        A sample with fewer than 2 finite values, or a degenerate statistic.
    """
    x, y = _flat(x, "x"), _flat(y, "y")
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        raise InferenceError("brown-forsythe: both samples are constant (degenerate scale test); check the weights")
    res = st.levene(x, y, center="median")
    sx, sy = x.std(ddof=1), y.std(ddof=1)
    return _result("brown-forsythe", res, np.log(sx / sy) if sx > 0 and sy > 0 else np.nan, "log std ratio", x, y,
                   "two-sided", coords)


def permutation_test(x, y, statistic, *, n_resamples: int = 9999, alternative: str = "two-sided",
                     rng: int | np.random.Generator | None = 0, name: str | None = None,
                     coords: dict | None = None) -> InferenceResult:
    """``scipy.stats.permutation_test((x, y), statistic, permutation_type="independent")``.

    Parameters
    ----------
    x, y : array-like or DataArray
        Surviving weights of the two samples (any shape, flattened; NaN = pruned, dropped).
    statistic : callable
        ``statistic(x, y, axis)`` vectorized over ``axis`` (scipy's convention), e.g.
        ``lambda x, y, axis: np.std(x, axis=axis) - np.std(y, axis=axis)``.
    n_resamples : int
        Permutations drawn (scipy enumerates all when fewer exist).
    alternative : {"two-sided", "less", "greater"}
        As in scipy.
    rng : int, numpy.random.Generator or None
        Seed of the permutations (default 0: reproducible).
    name : str, optional
        Label of the statistic (default its ``__name__``).
    coords : dict, optional
        Labels of what is compared, carried into the result.

    Returns
    -------
    InferenceResult
        ``descriptive=True``, ``unit="weight"``, ``n`` = the smaller sample; effect = the statistic on the observed samples.

    Raises
    ------
    InferenceError
        A sample with fewer than 2 finite values, or a degenerate statistic.
    """
    x, y = _flat(x, "x"), _flat(y, "y")
    res = st.permutation_test((x, y), statistic, permutation_type="independent", vectorized=True,
                              n_resamples=n_resamples, alternative=alternative, rng=rng)
    label = name or getattr(statistic, "__name__", "statistic")
    return _result(f"permutation ({label})", res, res.statistic, label, x, y, alternative, coords,
                   n_resamples=n_resamples)
