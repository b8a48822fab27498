"""Compiled loops of the statistics kernels (numba): one pass where NumPy needs many.

Two kernels carry most of the statistics' time, and NumPy can only write each as a chain of
whole-array passes (a sort, a cumsum, several temporaries):

- :func:`ecdf_sums`: the ECDF-based distances of two sorted samples (KS, Wasserstein, energy and the
  Cramér–von Mises U) in one linear merge, where NumPy re-sorts the pooled sample;
- :func:`average_ranks`: scipy's ``rankdata(method="average")`` of a float32 sample by sorting
  64-bit keys (the value's order-preserving bits and its position) with NumPy's vectorized integer
  sort, where ``argsort`` of floats is three times slower.

Both give the numbers of their NumPy references in :mod:`paistats.stats._kernels` (checked by the
tests against scipy). The loops run without the GIL, so dask's threads run them in parallel.
Without numba (an install that lacks it) :data:`AVAILABLE` is False and the kernels use NumPy.
"""
from __future__ import annotations

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; kept importable without it
    numba = None

#: Whether the compiled kernels are available (numba importable).
AVAILABLE = numba is not None


def _jit(fn):
    if not AVAILABLE:
        return None
    try:  # compiled once per machine: the machine code is cached next to this file or in the user's cache
        return numba.njit(cache=True, nogil=True)(fn)
    except RuntimeError:  # no writable cache location (a read-only install without a home): compile per process
        return numba.njit(nogil=True)(fn)


def _ecdf_sums(a, b):
    # a, b: sorted float64, finite, non-empty. One merge of the pooled values, written without
    # data-dependent branches (a merge's branch is taken at random, and mispredicted half the time):
    # each step takes the smaller head (a on ties), so a group of equal pooled values is consumed
    # in a row, a's values first. The ECDF difference after the previous value, `diff`, is that of
    # the previous group's end whenever the value changes (`new`), and gaps within a group are 0.
    n, m = a.size, b.size
    fn, fm = float(n), float(m)
    i = j = 0
    ks = w1 = e2 = u = 0.0
    prev = min(a[0], b[0])
    diff = 0.0
    group_a = group_b = 0.0  # values of a / of b in the current group so far
    for _ in range(n + m):
        x = a[min(i, n - 1)] if i < n else np.inf
        y = b[min(j, m - 1)] if j < m else np.inf
        take_a = x <= y
        value = min(x, y)
        gap = value - prev
        new = value != prev
        size = abs(diff)
        w1 += size * gap
        e2 += diff * diff * gap
        ks = max(ks, size * new)
        fi, fj = float(i), float(j)
        # Cramér–von Mises U: a value of a adds n (#b before it)², one of b adds m (#a before it)²
        # (Anderson 1962 without ties); a group of tied values adds its midrank and tie terms when
        # it ends
        u += (fn * fj * fj) if take_a else (fm * fi * fi)
        if new:
            if group_a + group_b > 1.0:  # rare: a branch predicted right almost always
                u += _tie_terms(fn, fm, fi, fj, group_a, group_b)
            group_a = group_b = 0.0
        group_a += take_a
        group_b += 1.0 - take_a
        i += take_a
        j += 1 - take_a
        diff = i / fn - j / fm
        prev = value
    if group_a + group_b > 1.0:
        u += _tie_terms(fn, fm, float(i), float(j), group_a, group_b)
    return max(ks, abs(diff)), w1, e2, u


def _tie_terms(fn, fm, i, j, c_a, c_b):
    # a group of c_a values of a and c_b of b, with i / j values of a / b up to and including it:
    # its exact U terms n c_a (B + c_b/2)² + m c_b (A + c_a/2)² + n (c_a³ − c_a)/12 + m (c_b³ − c_b)/12
    # (A, B: values before it; see paistats.stats._kernels.ecdf_sums_numpy) minus what the merge
    # added for it one value at a time, n c_a B² + m c_b (A + c_a)²
    before_a, before_b = i - c_a, j - c_b
    half_b, half_a = before_b + c_b / 2.0, before_a + c_a / 2.0
    return (fn * c_a * (half_b * half_b - before_b * before_b) + fm * c_b * (half_a * half_a - i * i)
            + (fn * (c_a * c_a - 1.0) * c_a + fm * (c_b * c_b - 1.0) * c_b) / 12.0)


def _order_keys(x):
    # float32 → uint64 whose order is the values' order: the float's bits made monotone (negative
    # values: every bit flipped; others: the sign bit set) in the high half, the position below.
    keys = np.empty(x.size, dtype=np.uint64)
    bits = x.view(np.uint32)
    for k in range(x.size):
        b = bits[k]
        if b == 0x80000000:  # -0.0 ties with +0.0, as in scipy
            b = 0
        if b & 0x80000000:
            b = ~b & 0xFFFFFFFF
        else:
            b = b | 0x80000000
        keys[k] = (np.uint64(b) << np.uint64(32)) | np.uint64(k)
    return keys


def _ranks_of_sorted_keys(keys):
    # average (1-based) ranks, scattered back to the positions held in the keys' low halves
    n = keys.size
    ranks = np.empty(n, dtype=np.float64)
    start = 0
    while start < n:
        value = keys[start] >> np.uint64(32)
        end = start + 1
        while end < n and (keys[end] >> np.uint64(32)) == value:
            end += 1
        rank = (start + end + 1) / 2.0
        for k in range(start, end):
            ranks[keys[k] & np.uint64(0xFFFFFFFF)] = rank
        start = end
    return ranks


def _pearson_of_ranks(ra, rb):
    # Pearson's r of two average-rank vectors; their mean is (n + 1) / 2 exactly
    n = ra.size
    mean = (n + 1) / 2.0
    sab = saa = sbb = 0.0
    for k in range(n):
        da = ra[k] - mean
        db = rb[k] - mean
        sab += da * db
        saa += da * da
        sbb += db * db
    return sab, saa, sbb


def _to_float32(a, out):
    # out[k] = float32(a[k]) while that is exact (NaN for NaN); the index where it is not, else -1
    for k in range(a.size):
        x = a[k]
        f = np.float32(x)
        if np.float64(f) != x and not (x != x):
            return k
        out[k] = f
    return -1


_tie_terms = _jit(_tie_terms) or _tie_terms  # called from the compiled merge
_ecdf_sums_jit = _jit(_ecdf_sums)
_order_keys_jit = _jit(_order_keys)
_ranks_of_sorted_keys_jit = _jit(_ranks_of_sorted_keys)
_pearson_of_ranks_jit = _jit(_pearson_of_ranks)
_to_float32_jit = _jit(_to_float32)


def exact_float32(a: np.ndarray) -> np.ndarray | None:
    """``a`` (float64) as float32 when every value is exactly a float32 (NaN included), else None;
    stops at the first value that is not. None also without numba (the caller checks with NumPy).

    Parameters
    ----------
    a : numpy.ndarray of float64, any shape
    """
    if not AVAILABLE:
        return None
    flat = np.ascontiguousarray(a).reshape(-1)
    out = np.empty(flat.size, dtype=np.float32)
    return out.reshape(a.shape) if _to_float32_jit(flat, out) < 0 else None


def ecdf_sums(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, float]:
    """ECDF quantities of two sorted samples in one merge.

    Parameters
    ----------
    a, b : numpy.ndarray of float64, shape (n,), (m,)
        Sorted, finite, non-empty.

    Returns
    -------
    ks : float
        ``max |F_a − F_b|`` over the pooled values.
    w1 : float
        ``∫ |F_a − F_b|`` (Wasserstein-1).
    e2 : float
        ``∫ (F_a − F_b)²`` (energy distance = √(2 e2)).
    u : float
        The Cramér–von Mises rank sum ``U`` (midranks for ties) of Anderson (1962).
    """
    return _ecdf_sums_jit(a, b)


def average_ranks(x: np.ndarray) -> np.ndarray | None:
    """``scipy.stats.rankdata(x, method="average")`` of a finite float32 sample (None otherwise:
    the caller ranks it with NumPy).

    Parameters
    ----------
    x : numpy.ndarray, shape (n,)

    Returns
    -------
    numpy.ndarray of float64, shape (n,), or None
        None when numba is missing, ``x`` is not float32 or has more than 2³² values.
    """
    if not AVAILABLE or x.dtype != np.float32 or x.size >= 2 ** 32:
        return None
    keys = _order_keys_jit(np.ascontiguousarray(x))
    keys.sort()  # NumPy's vectorized integer sort
    return _ranks_of_sorted_keys_jit(keys)


def rank_correlation(ra: np.ndarray, rb: np.ndarray) -> tuple[float, float, float]:
    """(Σ (ra − r̄)(rb − r̄), Σ (ra − r̄)², Σ (rb − r̄)²) of two average-rank vectors (r̄ = (n + 1)/2).

    Parameters
    ----------
    ra, rb : numpy.ndarray of float64, shape (n,)
        Average ranks (1-based) of two samples of the same length.
    """
    return _pearson_of_ranks_jit(ra, rb)
