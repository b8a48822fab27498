"""Boundary checks shared by the tests: one clear line naming the problem and the fix."""
from __future__ import annotations

import math

import numpy as np
import xarray as xr

from paistats.errors import InferenceError, shown


def values(x, what: str) -> np.ndarray:
    """1-D float array from an array-like or a 1-D DataArray."""
    if isinstance(x, xr.DataArray):
        if x.ndim != 1:
            raise InferenceError(f"{what} must have one dim (seed or weights), got dims {shown(x.dims)}; select a cell first "
                                 "or use paistats.inference.compare")
        x = x.values
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        arr = arr.ravel()
    return arr


def paired(variant, baseline, *, min_n: int = 2, what: str = "seeds") -> tuple[np.ndarray, np.ndarray]:
    """Aligned (variant, baseline) values with seeds missing from either side dropped."""
    x, y = values(variant, "variant"), values(baseline, "baseline")
    if isinstance(variant, xr.DataArray) and isinstance(baseline, xr.DataArray) and variant.dims == baseline.dims:
        variant, baseline = xr.align(variant, baseline, join="inner")
        x, y = variant.values.astype(float), baseline.values.astype(float)
    if x.shape != y.shape:
        raise InferenceError(f"paired test needs one value per seed on both sides, got {x.size} and {y.size}; "
                             "align the seeds (or pass paired=False)")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size == 0:
        raise InferenceError(f"no {what[:-1]} has both variant and reference (not built or incomplete here; at "
                             "sparsity 0 the variants are usually not built)")
    if x.size < min_n:
        raise InferenceError(f"needs at least {min_n} {what} with both variant and reference, got {x.size}; "
                             "build more seeds or check the 'complete' flag")
    return x, y


def finite(x, *, min_n: int, what: str) -> np.ndarray:
    x = values(x, what)
    x = x[np.isfinite(x)]
    if x.size < min_n:
        raise InferenceError(f"{what} needs at least {min_n} finite values, got {x.size}")
    return x


def not_constant(d: np.ndarray, what: str, test: str, scale: float | None = None) -> None:
    """Constant up to rounding: a spread below 64 ulps of ``scale`` (the inputs' magnitude) is
    cancellation noise (0.9 − 0.8 vs 0.8 − 0.7), not seed-to-seed variation."""
    scale = np.abs(d).max() if scale is None else scale
    if d.size and np.ptp(d) <= 64 * np.finfo(float).eps * max(scale, np.finfo(float).tiny):
        raise InferenceError(f"{what} are constant (all ≈ {d[0]:.6g}) across {d.size} seeds: {test} is undefined; "
                             "check that the variant really differs per seed, or use a margin-free description")


def check_result(stat: float, p: float, test: str) -> None:
    if not (math.isfinite(p) and not math.isnan(stat)):
        raise InferenceError(f"{test} gave statistic {float(stat):g} and p-value {float(p):g} (constant or degenerate input); "
                             "check the data for constant values")


def margin(m) -> float:
    if m is None:
        raise InferenceError("this test needs a margin (the largest difference you call negligible, in the data's "
                             "units), e.g. margin=0.01 for one accuracy point")
    m = float(m)
    if not (m > 0 and math.isfinite(m)):
        raise InferenceError(f"margin must be a positive finite number, got {m}")
    return m


def alternative(a: str) -> str:
    if a not in ("two-sided", "less", "greater"):
        raise InferenceError(f"alternative must be 'two-sided', 'less' or 'greater', got {a!r}")
    return a


def margin_on_scale(m, values: np.ndarray) -> float:
    """A margin plausible for the data: refused when the data are fractions in [0, 1] and the margin
    is half the scale or more (``margin=1`` meant one point: 0.01)."""
    m = margin(m)
    v = values[np.isfinite(values)]
    if v.size and v.min() >= 0 and v.max() <= 1 and m >= 0.5:
        raise InferenceError(f"margin={m:g} is implausible for data in [0, 1] (fractions, e.g. accuracy): every "
                             "difference is within it; give the margin in the data's units, e.g. margin=0.01 for "
                             "one accuracy point")
    return m


def non_negative(x: np.ndarray, what: str) -> None:
    """Refuse a signed metric where a distance (≥ 0) is needed."""
    neg = x[np.isfinite(x) & (x < 0)]
    if neg.size:
        raise InferenceError(f"{what} has {neg.size} negative value(s) (e.g. {neg[0]:.4g}): a signed metric such as "
                             "log_std_ratio cannot be compared with the seed noise floor one-sidedly; pass its "
                             "absolute value (the test then asks whether |x| exceeds the seed-to-seed |x|)")
