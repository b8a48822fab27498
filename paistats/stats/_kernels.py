"""NumPy kernels on one sample (a run's layer at one stage): statistics and two-sample distances.

Every ECDF-based quantity (quantiles, KS, Wasserstein, energy, the histogram counts of
Jensen-Shannon and Hellinger) is derived from sorted float64 arrays, so a run's layer is sorted
once per stage and reused by every statistic and every comparison it enters (float32 values are
sorted as float32 and widened exactly; a comparison merges two sorted samples with one sort). The formulas are
those of numpy / scipy (see the tests, which check each against them at rtol 1e-8).
"""
from __future__ import annotations

import numpy as np
from scipy.special import rel_entr

#: Default quantile levels of ``quantile_value``.
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
#: Default number of shared equal-width bins for ``jensen_shannon`` and ``hellinger``.
BINS = 100

#: Scalar statistics, in the order of a statistics vector (then the quantiles).
STAT_NAMES = ("count", "density", "mean", "std", "skewness", "kurtosis", "mean_abs", "l2", "frac_positive",
              "std_ratio_init", "spearman_abs_score", "nonfinite")
#: Distances, in the order of a distance vector; ``count`` (size of the compared sample) is kept for
#: the parameter-weighted ``layer="all"`` aggregate and dropped from the results.
DIST_NAMES = ("ks", "wasserstein", "wasserstein_rel", "energy", "jensen_shannon", "hellinger", "mean_diff",
              "log_std_ratio", "kurtosis_diff", "count")


#: Dtypes whose values widen to float64 with the lowest mantissa bit zero (see :func:`_merged_ecdf`).
_NARROW = (np.dtype(np.float32), np.dtype(np.float16))


class Sample:
    """A sorted float64 sample with its moments (computed once)."""

    __slots__ = ("x", "n", "finite", "mean", "m2", "m3", "m4", "narrow")

    def __init__(self, values: np.ndarray) -> None:
        values = np.asarray(values)
        # float32 / float16 values are sorted in their own dtype (the same order, half the bytes)
        # and widened exactly: every float64 of ``x`` then has its low mantissa bits zero
        self.narrow = values.dtype in _NARROW
        if self.narrow:
            x = np.sort(values.ravel()).astype(np.float64)
        else:
            x = np.sort(np.asarray(values, dtype=np.float64).ravel())
        self.n = x.size
        # NaN sorts last, -inf first: one look at both ends finds non-finite values
        self.finite = bool(self.n == 0 or (np.isfinite(x[0]) and np.isfinite(x[-1])))
        self.x = x
        if self.n and self.finite:
            self.mean = x.mean()
            d = x - self.mean
            d2 = d * d
            self.m2 = d2.mean()
            d *= d2
            self.m3 = d.mean()
            d2 *= d2
            self.m4 = d2.mean()
        else:
            self.mean = self.m2 = self.m3 = self.m4 = np.nan

    @property
    def ok(self) -> bool:
        """Non-empty and finite: statistics are defined."""
        return self.n > 0 and self.finite

    def std(self) -> float:
        return float(np.sqrt(self.m2))

    def _degenerate(self) -> bool:
        # scipy.stats.skew / kurtosis return NaN when the variance is zero up to precision
        eps = np.finfo(np.float64).resolution * 10
        return bool(self.m2 <= (eps * self.mean) ** 2)

    def skewness(self) -> float:
        """Biased sample skewness (``scipy.stats.skew``)."""
        if not self.ok or self._degenerate():
            return np.nan
        return float(self.m3 / self.m2 ** 1.5)

    def kurtosis(self) -> float:
        """Biased excess (Fisher) kurtosis (``scipy.stats.kurtosis``)."""
        if not self.ok or self._degenerate():
            return np.nan
        return float(self.m4 / self.m2 ** 2 - 3.0)

    def quantiles(self, q: np.ndarray) -> np.ndarray:
        """``numpy.quantile(x, q)`` (linear interpolation) from the sorted values."""
        if not self.ok:
            return np.full(len(q), np.nan)
        h = (self.n - 1) * np.asarray(q, dtype=np.float64)
        lo = np.floor(h).astype(np.intp)
        hi = np.minimum(lo + 1, self.n - 1)
        a, b = self.x[lo], self.x[hi]
        t = h - lo
        diff = b - a
        # numpy's _lerp: a + diff * t, computed from the upper end when t >= 0.5
        return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def rankdata(x: np.ndarray) -> np.ndarray:
    """Average ranks (``scipy.stats.rankdata(x, method="average")``) with one quicksort."""
    n = x.size
    order = np.argsort(x)
    xs = x[order]
    new = np.empty(n, dtype=bool)
    new[:1] = True
    np.not_equal(xs[1:], xs[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)
    avg = (starts + ends + 1) / 2.0  # mean of 1-based ranks start+1 … end
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def spearman(a: np.ndarray, b: np.ndarray, rb: np.ndarray | None = None) -> float:
    """Spearman's rank correlation (``scipy.stats.spearmanr(a, b).statistic``); NaN when undefined.
    ``rb``: ``rankdata(b)`` when the caller has it already (a run's score ranks serve two stages)."""
    if a.size < 2 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return np.nan
    ra = rankdata(a)
    rb = rankdata(b) if rb is None else rb.copy()
    ra -= ra.mean()
    rb -= rb.mean()
    den = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    if den == 0:
        return np.nan
    return float(np.clip((ra * rb).sum() / den, -1.0, 1.0))


def describe(s: Sample, size: int, quantiles: np.ndarray) -> np.ndarray:
    """Statistics vector (:data:`STAT_NAMES` then the quantiles) of one sample out of ``size``
    entries of the tensor. ``std_ratio_init`` and ``spearman_abs_score`` are filled by the caller."""
    out = np.full(len(STAT_NAMES) + len(quantiles), np.nan)
    out[0] = s.n
    out[1] = s.n / size if size else np.nan
    out[11] = 0.0 if s.finite else float(np.count_nonzero(~np.isfinite(s.x)))
    if not s.ok:
        return out
    x = s.x
    out[2] = s.mean
    out[3] = s.std()
    out[4] = s.skewness()
    out[5] = s.kurtosis()
    neg = np.searchsorted(x, 0.0, side="left")  # x sorted: |x| = -x before, x from there on
    out[6] = (x[neg:].sum() - x[:neg].sum()) / s.n
    out[7] = np.sqrt(np.square(x).sum())  # not np.dot: a threaded BLAS spins beside dask's threads
    out[8] = (s.n - np.searchsorted(x, 0.0, side="right")) / s.n
    out[len(STAT_NAMES):] = s.quantiles(quantiles)
    return out


def _hist(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``numpy.histogram(x, edges)[0]`` of sorted ``x`` (last bin closed)."""
    idx = np.searchsorted(x, edges[1:-1], side="left")
    return np.diff(np.concatenate(([0], idx, [x.size])))


def shared_edges(a: np.ndarray, b: np.ndarray, bins: int) -> np.ndarray:
    """Binning rule of ``jensen_shannon`` / ``hellinger``: ``bins`` equal-width bins spanning
    the range of both samples together (``numpy.histogram_bin_edges(concat(a, b), bins)``)."""
    lo, hi = min(a[0], b[0]), max(a[-1], b[-1])
    return np.histogram_bin_edges(np.array([lo, hi]), bins=bins, range=(lo, hi))


def _merged_ecdf(a: Sample, b: Sample) -> tuple[np.ndarray, np.ndarray]:
    """(distinct values of ``a`` and ``b`` together, sorted; ECDF of ``a`` minus ECDF of ``b`` there).

    The pooled values are ordered by one sort that also says which sample each came from: for
    float32 samples the origin rides in the lowest mantissa bit of the widened value (zero for
    every widened float32, so the order of distinct values is unchanged), otherwise a stable
    argsort merges the two sorted runs. Counts are taken at the last element of each group of
    equal values, so ties count as in ``searchsorted(..., side="right")``.
    """
    n_a, n_b = a.n, b.n
    if a.narrow and b.narrow:
        bits = np.concatenate((a.x.view(np.int64), b.x.view(np.int64) | 1))
        bits.view(np.float64).sort()
        from_b = bits & 1
        bits -= from_b
        vals = bits.view(np.float64)
    else:
        both = np.concatenate((a.x, b.x))
        order = np.argsort(both, kind="stable")  # two sorted runs: a linear merge
        vals = both[order]
        from_b = order >= n_a
    last = np.empty(vals.size, dtype=bool)
    np.not_equal(vals[1:], vals[:-1], out=last[:-1])
    last[-1] = True
    c_b = np.cumsum(from_b)[last]
    pos = np.flatnonzero(last) + 1  # pooled count up to and including each group
    return vals[last], (pos - c_b) / n_a - c_b / n_b


def distance(a: Sample, b: Sample, bins: int) -> np.ndarray:
    """Distance vector (:data:`DIST_NAMES`) between sample ``a`` and reference ``b``
    (``a is b``: the ECDF and histogram distances are zero without being computed)."""
    out = np.full(len(DIST_NAMES), np.nan)
    out[9] = a.n
    if not (a.ok and b.ok):
        return out
    if a is b:
        out[[0, 1, 3, 4, 5]] = 0.0
    else:
        vals, diff = _merged_ecdf(a, b)
        out[0] = np.abs(diff).max()
        deltas = np.diff(vals)
        d = diff[:-1]
        out[1] = np.sum(np.multiply(np.abs(d), deltas))
        out[3] = np.sqrt(2) * np.sqrt(np.sum(np.multiply(np.square(d), deltas)))
        x, y = a.x, b.x
        edges = shared_edges(x, y, bins)
        p, q = _hist(x, edges) / a.n, _hist(y, edges) / b.n
        m = (p + q) / 2.0
        js = (np.sum(rel_entr(p, m)) + np.sum(rel_entr(q, m))) / np.log(2.0)
        out[4] = np.sqrt(js / 2.0)
        out[5] = np.sqrt(np.sum(np.square(np.sqrt(p) - np.sqrt(q))) / 2.0)
    out[2] = out[1] / b.std() if b.m2 > 0 else np.nan
    out[6] = a.mean - b.mean
    with np.errstate(divide="ignore", invalid="ignore"):
        out[7] = np.log(np.float64(a.std()) / b.std())  # 0/0 and x/0: NaN / inf, not ZeroDivisionError
    out[8] = a.kurtosis() - b.kurtosis()
    return out
