"""NumPy kernels on one sample (a run's layer at one stage): statistics and two-sample distances.

Every ECDF-based quantity (quantiles, KS, Wasserstein, energy, the histogram counts of
Jensen-Shannon and Hellinger) is derived from sorted float64 arrays, so a run's layer is sorted
once per stage and reused by every statistic and every comparison it enters (float32 values are
sorted as float32 and widened exactly; a comparison merges two sorted samples in one compiled pass,
:mod:`paistats.stats._compiled`, or with one sort without numba). The formulas are those of numpy /
scipy (see the tests, which check each against them at rtol 1e-8).

Each statistic and distance is one function registered in :mod:`paistats.stats.registry`; the
positions of the output vectors (:data:`STAT_NAMES`, :data:`DIST_NAMES`) and the ratio list
(:data:`RATIO_METRICS`) follow the registration order below.
"""
from __future__ import annotations

import math
from functools import cached_property

import numpy as np
from scipy.special import rel_entr

from paistats.stats import _compiled
from paistats.stats.registry import DISTANCES, STATISTICS, Metric, ratio_names, register_distance, register_statistic

#: Default quantile levels of ``quantile_value``.
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
#: Default number of shared equal-width bins for ``jensen_shannon`` and ``hellinger``.
BINS = 100

#: Dtypes whose values widen to float64 with the lowest mantissa bit zero (see :func:`_merged_counts`).
_NARROW = (np.dtype(np.float32), np.dtype(np.float16))
#: scipy.stats.skew / kurtosis call a variance zero below (this · mean)².
_EPS10 = np.finfo(np.float64).resolution * 10
_SQRT2 = math.sqrt(2.0)


class Sample:
    """A sorted float64 sample with its moments (computed once).

    ``sums``: :func:`paistats.stats._compiled.moments` of ``x`` (mean, m2, m3, m4, Σ x², Σ x≥0, Σ x<0;
    None without numba or when the sample is empty or non-finite)."""

    __slots__ = ("x", "n", "finite", "mean", "m2", "m3", "m4", "narrow", "sums")

    def __init__(self, values: np.ndarray) -> None:
        values = np.asarray(values)
        # float32 / float16 values are sorted in their own dtype (the same order, half the bytes)
        # and widened exactly: every float64 of ``x`` then has its low mantissa bits zero
        narrow = values.dtype in _NARROW
        if narrow:
            x = np.sort(values.ravel()).astype(np.float64)
        else:
            x = np.sort(np.asarray(values, dtype=np.float64).ravel())
        self._of(x, narrow)

    @classmethod
    def of_sorted(cls, x: np.ndarray, narrow: bool) -> Sample:
        """The sample of ``x``, float64 values already sorted (``narrow``: all widened from float32)."""
        sample = object.__new__(cls)
        sample._of(x, narrow)
        return sample

    def _of(self, x: np.ndarray, narrow: bool) -> None:
        self.narrow = narrow
        self.n = x.size
        # NaN sorts last, -inf first: one look at both ends finds non-finite values
        self.finite = bool(self.n == 0 or (np.isfinite(x[0]) and np.isfinite(x[-1])))
        self.x = x
        self.sums = None
        if self.n and self.finite:
            if _compiled.AVAILABLE:  # the same numbers in two passes without temporaries
                self.sums = _compiled.moments(x)
                self.mean, self.m2, self.m3, self.m4 = self.sums[:4]
            else:
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
        return math.sqrt(self.m2)  # correctly rounded, as numpy.sqrt

    def _degenerate(self) -> bool:
        # scipy.stats.skew / kurtosis return NaN when the variance is zero up to precision
        return bool(self.m2 <= (_EPS10 * self.mean) ** 2)

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
        if _compiled.AVAILABLE:
            return _compiled.quantiles(self.x, np.asarray(q, dtype=np.float64))
        h = (self.n - 1) * np.asarray(q, dtype=np.float64)
        lo = np.floor(h).astype(np.intp)
        hi = np.minimum(lo + 1, self.n - 1)
        a, b = self.x[lo], self.x[hi]
        t = h - lo
        diff = b - a
        # numpy's _lerp: a + diff * t, computed from the upper end when t >= 0.5
        return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def rankdata(x: np.ndarray) -> np.ndarray:
    """Average ranks (``scipy.stats.rankdata(x, method="average")``): compiled for finite float32 and
    float64 (:func:`paistats.stats._compiled.sort_and_rank`), else with one quicksort."""
    got = _compiled.sort_and_rank(x, False)
    if got is not None:
        return got[1]
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


def ranked(values: np.ndarray, absolute: bool) -> tuple[Sample, np.ndarray | None]:
    """The sample of ``values`` and the average ranks of ``|values|`` (``absolute``) or of ``values``,
    from one sort where compiled (:func:`paistats.stats._compiled.sort_and_rank`: float32 or float64,
    finite), else :class:`Sample` and :func:`rankdata`.

    Parameters
    ----------
    values : numpy.ndarray, shape (n,)
    absolute : bool

    Returns
    -------
    (Sample, numpy.ndarray of float64 of shape (n,) or None)
        Ranks at the values' positions; None when the sample is empty or not finite (its Spearman's ρ is NaN).
    """
    got = _compiled.sort_and_rank(values, absolute)
    if got is not None:
        x, ranks = got
        return Sample.of_sorted(x, narrow=values.dtype == np.float32), (ranks if x.size else None)
    sample = Sample(values)
    if not sample.ok:
        return sample, None
    return sample, rankdata(np.abs(values) if absolute else values)


def rank_pearson(ra: np.ndarray | None, rb: np.ndarray | None) -> float:
    """Pearson's r of two average-rank vectors: Spearman's ρ of the samples they rank
    (``scipy.stats.spearmanr(a, b).statistic``); NaN when a rank vector is None, has fewer than two
    values or is constant."""
    if ra is None or rb is None or ra.size < 2:
        return np.nan
    if _compiled.AVAILABLE:
        sab, saa, sbb = _compiled.rank_correlation(ra, rb)
        den = np.sqrt(saa * sbb)
        return np.nan if den == 0 else float(np.clip(sab / den, -1.0, 1.0))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    if den == 0:
        return np.nan
    return float(np.clip((ra * rb).sum() / den, -1.0, 1.0))


def spearman(a: np.ndarray, b: np.ndarray, rb: np.ndarray | None = None) -> float:
    """Spearman's rank correlation (``scipy.stats.spearmanr(a, b).statistic``); NaN when undefined.
    ``rb``: ``rankdata(b)`` when the caller has it already (a run's score ranks serve two stages)."""
    if a.size < 2 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return np.nan
    return rank_pearson(rankdata(a), rankdata(b) if rb is None else rb)


def _hist(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``numpy.histogram(x, edges)[0]`` of sorted ``x`` whose values lie within the edges (last bin closed)."""
    cum = np.searchsorted(x, edges, side="left")
    cum[-1] = x.size  # the last bin is closed: the values equal to the last edge fall in it
    return np.diff(cum)


def shared_edges(a: np.ndarray, b: np.ndarray, bins: int) -> np.ndarray:
    """Binning rule of ``jensen_shannon`` / ``hellinger``: ``bins`` equal-width bins spanning
    the range of both samples together (``numpy.histogram_bin_edges(concat(a, b), bins)``: the
    same ``linspace``). Unlike numpy, a range too narrow for ``bins`` distinct edges is not an
    error: the repeated edges give empty bins. A range wider than the largest float64 is numpy's
    error, as before."""
    lo, hi = min(a[0], b[0]), max(a[-1], b[-1])
    with np.errstate(over="ignore", invalid="ignore"):
        if not np.isfinite(hi - lo):
            return np.histogram_bin_edges(np.array([lo, hi]), bins=bins, range=(lo, hi))
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return np.linspace(lo, hi, bins + 1)


def _merged_counts(a: Sample, b: Sample) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct values of ``a`` and ``b`` together, sorted; how many values of ``a`` and of ``b``
    are ≤ each of them (int64)).

    The pooled values are ordered by one sort that also says which sample each came from: for
    float32 samples the origin rides in the lowest mantissa bit of the widened value (zero for
    every widened float32, so the order of distinct values is unchanged), otherwise a stable
    argsort merges the two sorted runs. Counts are taken at the last element of each group of
    equal values, so ties count as in ``searchsorted(..., side="right")``.
    """
    n_a = a.n
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
    return vals[last], pos - c_b, c_b


def ecdf_sums_numpy(a: Sample, b: Sample) -> tuple[float, float, float, float]:
    """NumPy reference of :func:`paistats.stats._compiled.ecdf_sums` (the kernel without numba):
    (max |F_a − F_b|, ∫ |F_a − F_b|, ∫ (F_a − F_b)², Cramér–von Mises T) from the merged sample
    (T from Anderson's rank sum U: ~1e-10 off at 10⁶ values, where the compiled merge is ~1e-13)."""
    vals, cum_a, cum_b = _merged_counts(a, b)
    n, m = a.n, b.n
    diff = cum_a / n - cum_b / m
    deltas = np.diff(vals)
    ks = np.abs(diff).max()
    w1 = np.sum(np.multiply(np.abs(diff[:-1]), deltas))
    e2 = np.sum(np.multiply(np.square(diff[:-1]), deltas))
    c_a, c_b = np.diff(cum_a, prepend=0), np.diff(cum_b, prepend=0)
    # U = n Σ (rank of x_(i) − i)² + m Σ (rank of y_(j) − j)², ranks pooled midranks: the c_a
    # values of x in a group, ranks i = A+1 … A+c_a (A of x before it, B of y), all at midrank
    # A + B + (c_a + c_b + 1)/2, add c_a (B + c_b/2)² + (c_a³ − c_a)/12 (and likewise for y)
    half_b = cum_b - c_b / 2.0
    half_a = cum_a - c_a / 2.0
    u = n * np.sum(c_a * np.square(half_b)) + m * np.sum(c_b * np.square(half_a))
    for size, c in ((n, c_a), (m, c_b)):
        tied = c[c > 1].astype(np.float64)
        if tied.size:
            u += size * np.sum((tied * tied - 1.0) * tied) / 12.0
    k, total = n * m, n + m
    t = 0.0 if ks == 0 and n == m else u / (k * total) - (4 * k - 1) / (6 * total)  # the same values: 0, as compiled
    return float(ks), float(w1), float(e2), float(t)


def binned_numpy(hp: np.ndarray, hq: np.ndarray) -> tuple[float, float]:
    """(Jensen–Shannon distance base 2, Hellinger distance) of two histograms' fractions ``hp``,
    ``hq`` (the NumPy reference of :func:`paistats.stats._compiled.binned`, which agrees to the last
    digits: its log is not scipy's ``rel_entr``)."""
    m = (hp + hq) / 2.0
    js = (np.sum(rel_entr(hp, m)) + np.sum(rel_entr(hq, m))) / np.log(2.0)
    return float(np.sqrt(js / 2.0)), float(np.sqrt(np.sum(np.square(np.sqrt(hp) - np.sqrt(hq))) / 2.0))


def merge_pairs(pairs: list[Pair]) -> None:
    """Compute :attr:`Pair.ecdf` of every pair, the compiled merges three at a time side by side."""
    # the compiled merge counts n·m in an int64 (a sample of 3·10⁹ values would overflow it)
    merged = [p for p in pairs if p.a.n * p.b.n < 2 ** 62] if _compiled.AVAILABLE else []
    for pair, sums in zip(merged, _compiled.ecdf_sums([(p.a.x, p.b.x) for p in merged]) if merged else ()):
        pair._ecdf = tuple(sums)
    for pair in pairs:
        if pair._ecdf is None:
            pair._ecdf = ecdf_sums_numpy(pair.a, pair.b)


class Pair:
    """A run's sample ``a`` against its reference sample ``b`` (both non-empty and finite): what
    several distances share, computed on first use — the ECDF sums of one merge of the two sorted
    samples (:attr:`ecdf`), the shared-bin histograms, and the distances already evaluated (:meth:`value`).

    Parameters
    ----------
    a, b : Sample
        ``a is b``: the distances registered ``zero_on_identical`` are 0 without being computed.
    bins : int
        Shared equal-width bins of the histograms (:func:`shared_edges`).
    """

    def __init__(self, a: Sample, b: Sample, bins: int) -> None:
        self.a, self.b, self.bins = a, b, bins
        self._values: dict[str, float] = {}
        self._ecdf: tuple | None = None

    @property
    def identical(self) -> bool:
        return self.a is self.b

    @property
    def ecdf(self) -> tuple[float, float, float, float]:
        """(max |F_a − F_b|, ∫ |F_a − F_b|, ∫ (F_a − F_b)², Cramér–von Mises T) of the ECDFs
        (:func:`paistats.stats._compiled.ecdf_sums`; :func:`ecdf_sums_numpy` without numba),
        computed on first use unless :func:`merge_pairs` computed it with other pairs'."""
        if self._ecdf is None:
            merge_pairs([self])
        return self._ecdf

    @cached_property
    def merged(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(distinct pooled values z, sorted; #a ≤ z; #b ≤ z) (:func:`_merged_counts`). The arrays
        behind the ECDFs, for a metric that needs more than :attr:`ecdf` (the registered ECDF
        distances use :attr:`ecdf`, one compiled merge without these arrays)."""
        return _merged_counts(self.a, self.b)

    @property
    def vals(self) -> np.ndarray:
        """Distinct values of both samples together, sorted (length G)."""
        return self.merged[0]

    @cached_property
    def diff(self) -> np.ndarray:
        """ECDF of ``a`` minus ECDF of ``b`` at :attr:`vals` (length G)."""
        _, cum_a, cum_b = self.merged
        return cum_a / self.a.n - cum_b / self.b.n

    @cached_property
    def deltas(self) -> np.ndarray:
        """Gaps between consecutive :attr:`vals` (length G − 1)."""
        return np.diff(self.vals)

    @cached_property
    def hist(self) -> tuple[np.ndarray, np.ndarray]:
        """(p, q): the fractions of ``a`` and of ``b`` in each shared bin (length ``bins``)."""
        x, y = self.a.x, self.b.x
        edges = shared_edges(x, y, self.bins)
        return _hist(x, edges) / self.a.n, _hist(y, edges) / self.b.n

    @cached_property
    def binned(self) -> tuple[float, float]:
        """(Jensen–Shannon, Hellinger) of :attr:`hist`: one compiled pass
        (:func:`paistats.stats._compiled.binned`), else :func:`binned_numpy`."""
        if _compiled.AVAILABLE:
            got = _compiled.binned(self.a.x, self.b.x, self.bins)
            if got is not None:
                return got
        return binned_numpy(*self.hist)

    def value(self, name: str) -> float:
        """Registered distance ``name`` of this pair (evaluated once; another distance may use it)."""
        value = self._values.get(name)
        if value is None:
            value = self._evaluate(DISTANCES.get(name))
        return value

    def _evaluate(self, m: Metric) -> float:
        value = 0.0 if (m.zero_on_identical and self.a is self.b) else float(m.fn(self))
        self._values[m.name] = value
        return value

    def values(self) -> list[float]:
        """Every registered distance of this pair, in the order of :data:`DIST_NAMES` (without ``count``)."""
        got = self._values
        return [got[m.name] if m.name in got else self._evaluate(m) for m in _DISTANCES]


# --- statistics of one sorted sample x (registration order = positions of a statistics vector) ---

@register_statistic("count", needs_ok=False, doc="number of kept entries (its sample size n; the unpruned weights "
                    "of the run's layer at that stage)")
def _count(s: Sample, size: int) -> float:
    return s.n


@register_statistic("density", needs_ok=False, doc="`count` / number of entries of the tensor")
def _density(s: Sample, size: int) -> float:
    return s.n / size if size else np.nan


@register_statistic("mean", doc="`numpy.mean(x)`")
def _mean(s: Sample, size: int) -> float:
    return s.mean


@register_statistic("std", doc="`numpy.std(x)` (ddof 0)")
def _std(s: Sample, size: int) -> float:
    return s.std()


@register_statistic("skewness", doc="`scipy.stats.skew(x)` (biased; NaN when the variance is zero up to precision)")
def _skewness(s: Sample, size: int) -> float:
    return s.skewness()


@register_statistic("kurtosis", doc="`scipy.stats.kurtosis(x)` (excess, Fisher, biased; NaN as skewness)")
def _kurtosis(s: Sample, size: int) -> float:
    return s.kurtosis()


@register_statistic("mean_abs", doc="`numpy.mean(numpy.abs(x))`")
def _mean_abs(s: Sample, size: int) -> float:
    if s.sums is not None:
        return (s.sums[5] - s.sums[6]) / s.n
    x = s.x
    neg = np.searchsorted(x, 0.0, side="left")  # x sorted: |x| = -x before, x from there on
    return (x[neg:].sum() - x[:neg].sum()) / s.n


@register_statistic("l2", doc="`numpy.linalg.norm(x)` (Euclidean norm)")
def _l2(s: Sample, size: int) -> float:
    if s.sums is not None:
        return np.sqrt(s.sums[4])
    return np.sqrt(np.square(s.x).sum())  # not np.dot: a threaded BLAS spins beside dask's threads


@register_statistic("frac_positive", doc="`numpy.mean(x > 0)`")
def _frac_positive(s: Sample, size: int) -> float:
    return (s.n - np.searchsorted(s.x, 0.0, side="right")) / s.n


# filled outside the kernel: they need the layer's fan-in / the run's unsorted scores
STATISTICS.add(Metric("std_ratio_init", "statistic", None,
                      "`std` / √(2 / fan_in), the Kaiming initializer's std (fan_in = prod(shape[1:])); "
                      "NaN at the score stages"))
STATISTICS.add(Metric("spearman_abs_score", "statistic", None,
                      "`scipy.stats.spearmanr(numpy.abs(x), score).statistic` over the kept entries (stages "
                      "init, trained, dense_init; NaN elsewhere)"))


# --- distances of a run's sample x against the reference's y (registration order = positions) ----

@register_distance("ks", ratio=True, zero_on_identical=True, doc="`scipy.stats.ks_2samp(x, y).statistic`")
def _ks(p: Pair) -> float:
    return p.ecdf[0]


@register_distance("wasserstein", ratio=True, zero_on_identical=True, doc="`scipy.stats.wasserstein_distance(x, y)`")
def _wasserstein(p: Pair) -> float:
    return p.ecdf[1]


@register_distance("wasserstein_rel", ratio=True, doc="`wasserstein` / `numpy.std(y)` (NaN when std y is 0)")
def _wasserstein_rel(p: Pair) -> float:
    return p.value("wasserstein") / p.b.std() if p.b.m2 > 0 else np.nan


@register_distance("energy", ratio=True, zero_on_identical=True, doc="`scipy.stats.energy_distance(x, y)`")
def _energy(p: Pair) -> float:
    return _SQRT2 * math.sqrt(p.ecdf[2])


@register_distance("jensen_shannon", ratio=True, zero_on_identical=True,
                   doc="`scipy.spatial.distance.jensenshannon(p, q, base=2)` of the shared-bin histograms p of x "
                       "and q of y (`bins` equal-width bins spanning x and y together)")
def _jensen_shannon(p: Pair) -> float:
    return p.binned[0]


@register_distance("hellinger", ratio=True, zero_on_identical=True, doc="√(½ Σ (√p − √q)²) on the same bins")
def _hellinger(p: Pair) -> float:
    return p.binned[1]


@register_distance("mean_diff", doc="`numpy.mean(x) - numpy.mean(y)` (signed)")
def _mean_diff(p: Pair) -> float:
    return p.a.mean - p.b.mean


@register_distance("log_std_ratio", doc="`log(numpy.std(x) / numpy.std(y))` (signed; ±inf when a std is 0)")
def _log_std_ratio(p: Pair) -> float:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # 0/0, x/0, a ratio past float64
        return np.log(np.float64(p.a.std()) / p.b.std())  # NaN, ±inf, not ZeroDivisionError


@register_distance("kurtosis_diff", doc="`scipy.stats.kurtosis(x) - scipy.stats.kurtosis(y)` (signed)")
def _kurtosis_diff(p: Pair) -> float:
    return p.a.kurtosis() - p.b.kurtosis()


@register_distance("cramer_von_mises", ratio=True, version=2,
                   doc="`scipy.stats.cramervonmises_2samp(x, y).statistic` (the two-sample T of Anderson 1962, "
                       "midranks for ties; NaN when a sample has fewer than two values)")
def _cramer_von_mises(p: Pair) -> float:
    # not registered zero_on_identical: a sample against itself is 0 only when T is defined (n ≥ 2)
    n, m = p.a.n, p.b.n
    if n < 2 or m < 2:
        return np.nan
    if p.identical:
        return 0.0
    return p.ecdf[3]  # midranks for ties: see ecdf_sums_numpy

# --- derived from the registries ---------------------------------------------------------------------

#: Statistics, in the order of a statistics vector (then the quantiles); ``nonfinite`` (count of
#: NaN / inf values, for the warnings) is the kernel's own and dropped from the results.
STAT_NAMES = (*STATISTICS.names(), "nonfinite")
#: Distances, in the order of a distance vector; ``count`` (size of the compared sample) is kept for
#: the parameter-weighted ``layer="all"`` aggregate and dropped from the results.
DIST_NAMES = (*DISTANCES.names(), "count")
#: Distances that get a ratio to random pruning (``<m>_random``, ``<m>_random_ratio``).
RATIO_METRICS = ratio_names()
STATISTICS.freeze()
DISTANCES.freeze()
_STATISTICS = STATISTICS.values()
_DISTANCES = DISTANCES.values()


def describe(s: Sample, size: int, quantiles: np.ndarray) -> np.ndarray:
    """Statistics vector of one sample: :data:`STAT_NAMES` then ``numpy.quantile(x, quantiles)``.

    Parameters
    ----------
    s : Sample
        The sorted sample (kept entries of one run's layer at one stage).
    size : int
        Entries of the whole tensor (for ``density``).
    quantiles : array of float, shape (Q,)
        Levels in [0, 1].

    Returns
    -------
    numpy.ndarray of float64, shape (len(STAT_NAMES) + Q,)
        NaN where undefined (an empty or non-finite sample) and for the statistics filled by the
        caller (registered with ``fn=None``: ``std_ratio_init``, ``spearman_abs_score``).
    """
    n_stats = len(STAT_NAMES)
    out = np.full(n_stats + len(quantiles), np.nan)
    out[n_stats - 1] = 0.0 if s.finite else float(np.count_nonzero(~np.isfinite(s.x)))
    for i, m in enumerate(_STATISTICS):
        if m.fn is not None and (s.ok or not m.needs_ok):
            out[i] = m.fn(s, size)
    if s.ok:
        out[n_stats:] = s.quantiles(quantiles)
    return out


def distance(a: Sample, b: Sample, bins: int) -> np.ndarray:
    """Distance vector (:data:`DIST_NAMES`) between sample ``a`` and reference ``b``.

    Parameters
    ----------
    a, b : Sample
        ``a is b``: the distances registered ``zero_on_identical`` are 0 without being computed.
    bins : int
        Shared equal-width bins of the histogram distances.

    Returns
    -------
    numpy.ndarray of float64, shape (len(DIST_NAMES),)
        Every registered distance (NaN unless both samples are non-empty and finite), then ``a.n``.
    """
    return stage_distances([a], [b], bins)[0]


def stage_distances(mine: list[Sample], theirs: list[Sample], bins: int) -> np.ndarray:
    """:func:`distance` of each pair ``(mine[k], theirs[k])`` (a run's stages against the reference's),
    their merges side by side (:func:`merge_pairs`).

    Parameters
    ----------
    mine, theirs : list of Sample
        Of equal length K.
    bins : int
        Shared equal-width bins of the histogram distances.

    Returns
    -------
    numpy.ndarray of float64, shape (K, len(DIST_NAMES))
    """
    out = np.full((len(mine), len(DIST_NAMES)), np.nan)
    out[:, -1] = [a.n for a in mine]
    pairs = {k: Pair(a, b, bins) for k, (a, b) in enumerate(zip(mine, theirs)) if a.ok and b.ok}
    merge_pairs([p for p in pairs.values() if not p.identical])  # (identical: nothing to merge)
    for k, pair in pairs.items():
        out[k, :-1] = pair.values()
    return out
