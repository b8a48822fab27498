"""Bootstrap confidence intervals across seeds (``scipy.stats.bootstrap``).

The resampled unit is always the seed. :func:`bootstrap_ci` takes one value per seed;
:func:`hierarchical_bootstrap` takes data with a ``seed`` dim and any other dims (layers, variants,
weights…) and resamples whole seeds, keeping everything of a seed together (a cluster bootstrap):
resampling weights would treat the correlated weights of one run as independent and give intervals
far too narrow.

With 5 seeds no bootstrap interval reaches its nominal coverage (the percentile/BCa intervals of a
mean cover ≈ 80-85 % at n = 5); prefer the t interval of the seed-level tests there, and use these
for statistics without a closed form or with ≥ 10 seeds (coverage measured in
tests/test_inference_calibration.py).
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import scipy.stats as st
import xarray as xr

from paistats.errors import InferenceError, shown
from paistats.inference import _checks
from paistats.inference._result import BootstrapResult, ConfidenceInterval
from paistats.vocabulary import SEED


COVERAGE = {5: 0.84, 10: 0.93, 40: 0.95}
"""Measured coverage of the nominal 95 % BCa interval of a mean (normal data, 400 datasets each;
tests/test_inference_calibration.py asserts the 40-seed value)."""


def _warn_few_seeds(n: int) -> None:
    if n < 10:
        warnings.warn(f"bootstrap over {n} seeds: a nominal 95% BCa interval covered {COVERAGE[5]:.0%} at 5 seeds "
                      f"and {COVERAGE[10]:.0%} at 10 in our simulation; below 10 seeds prefer the t interval of "
                      "paistats.inference.paired_test", UserWarning, stacklevel=3)


def bootstrap_ci(data, statistic: Callable = np.mean, *, confidence_level: float = 0.95, method: str = "BCa",
                 n_resamples: int = 9999, rng: int | np.random.Generator | None = 0,
                 coords: dict | None = None) -> BootstrapResult:
    """Bootstrap CI of ``statistic`` over seeds.

    Parameters
    ----------
    data : array-like or DataArray, dims (seed,)
        One value per seed (NaN dropped).
    statistic : callable
        ``statistic(x, axis=-1)`` as in ``scipy.stats.bootstrap`` (default the mean).
    confidence_level : float
        Level of the interval.
    method : {"BCa", "percentile", "basic"}
        scipy's interval method.
    n_resamples : int
        Bootstrap resamples.
    rng : int, numpy.random.Generator or None
        Seed of the resampling (default 0: reproducible).
    coords : dict, optional
        Labels carried into the result.

    Returns
    -------
    BootstrapResult
        ``estimate`` (the statistic on the data), ``confidence_interval``, ``standard_error``,
        ``n`` seeds, ``unit="seed"``.

    Raises
    ------
    InferenceError
        Fewer than 3 finite values, or constant values.

    Warns
    -----
    UserWarning
        Below 10 seeds, with the coverage measured (intervals too narrow); fewer than 3 are refused.
    """
    x = _checks.finite(data, min_n=3, what="bootstrap data (seeds; with 2 a bootstrap has 3 distinct resamples)")
    _warn_few_seeds(x.size)
    _checks.not_constant(x, "values", "a bootstrap interval")
    res = st.bootstrap((x,), statistic, confidence_level=confidence_level, method=method, n_resamples=n_resamples,
                       rng=rng)
    ci = ConfidenceInterval(float(res.confidence_interval.low), float(res.confidence_interval.high),
                            confidence_level, f"bootstrap {method} over seeds")
    return BootstrapResult(float(statistic(x, axis=-1)), ci, float(res.standard_error), int(x.size), "seed",
                           f"{method} (seeds)", dict(coords or {}))


def hierarchical_bootstrap(data: xr.DataArray, statistic: Callable[[xr.DataArray], object], *, dim: str = SEED,
                           confidence_level: float = 0.95, method: str = "BCa", n_resamples: int = 1999,
                           rng: int | np.random.Generator | None = 0, coords: dict | None = None) -> BootstrapResult:
    """Cluster bootstrap: resample seeds with replacement, keep each seed's data whole.

    Parameters
    ----------
    data : DataArray with dim ``dim`` and any others
        E.g. accuracy (variant, seed), a layer statistic (variant, seed, layer), or weights.
        All variants of a seed move together, so paired contrasts stay paired.
    statistic : callable
        ``statistic(a) -> scalar``, reducing dims *by name*, e.g.
        ``lambda a: (a.sel(variant="shuffle") - a.sel(variant="original")).mean("seed")``.
        It is first called on a batch: ``a`` then has an extra leading dim ``resample`` (one
        resample of seeds each) and must return a DataArray over ``resample`` only; a statistic
        that cannot (returns a plain number) is called once per resample instead (slower).
    dim : str
        The dim resampled (seeds).
    confidence_level : float
        Level of the interval.
    method : {"BCa", "percentile", "basic"}
        scipy's interval method.
    n_resamples : int
        Bootstrap resamples.
    rng : int, numpy.random.Generator or None
        Seed of the resampling (default 0: reproducible).
    coords : dict, optional
        Labels carried into the result.

    Returns
    -------
    BootstrapResult
        ``unit="seed"``, ``n`` = number of seeds.

    Raises
    ------
    InferenceError
        No ``dim``, fewer than 3 seeds, a non-finite statistic or interval.
    """
    if not isinstance(data, xr.DataArray) or dim not in data.dims:
        raise InferenceError(f"hierarchical_bootstrap needs a DataArray with a {dim!r} dim, got "
                             f"{shown(getattr(data, 'dims', type(data).__name__))}")
    S = data.sizes[dim]
    if S < 3:
        raise InferenceError(f"hierarchical_bootstrap needs at least 3 seeds, got {S}; build more seeds or use the "
                             "t interval of paistats.inference.paired_test")
    _warn_few_seeds(S)
    data = data.load()

    def one(idx) -> float:
        return float(statistic(data.isel({dim: np.asarray(idx, dtype=int)})))

    def batch(idx, axis=-1):
        idx = np.asarray(idx, dtype=int)
        if idx.ndim == 1:
            return np.asarray(one(idx))
        flat = idx.reshape(-1, idx.shape[-1])
        out = statistic(data.isel({dim: xr.DataArray(flat, dims=("resample", dim))}))
        values = np.asarray(out.transpose("resample").values if isinstance(out, xr.DataArray) else out, dtype=float)
        return values.reshape(idx.shape[:-1])

    est = one(np.arange(S))
    if not np.isfinite(est):
        raise InferenceError(f"statistic on the observed data is {est:g}; make it skip NaN (pruned weights, "
                             "incomplete runs)")
    try:  # can the statistic take a batch of resamples (reducing dims by name)?
        probe = np.array([np.arange(S), np.arange(S)[::-1]])
        vectorized = np.allclose(batch(probe), [est, one(probe[1])], equal_nan=True)
    except Exception:  # noqa: BLE001 - any failure means: call it per resample
        vectorized = False
    res = st.bootstrap((np.arange(S),), batch if vectorized else one, vectorized=vectorized,
                       confidence_level=confidence_level, method=method, n_resamples=n_resamples, rng=rng)
    low, high = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if not (np.isfinite(low) and np.isfinite(high)):
        raise InferenceError(f"bootstrap interval is ({low:g}, {high:g}): the statistic barely varies over seeds; "
                             "use method='percentile' or more seeds")
    ci = ConfidenceInterval(low, high, confidence_level, f"hierarchical bootstrap {method} (seeds resampled)")
    return BootstrapResult(est, ci, float(res.standard_error), S, "seed", f"hierarchical {method} (seeds)",
                           dict(coords or {}))
