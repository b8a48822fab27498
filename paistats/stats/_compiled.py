"""Compiled loops of the statistics kernels (numba): one pass where NumPy needs many.

Two kernels carry most of the statistics' time, and NumPy can only write each as a chain of
whole-array passes (a sort, a cumsum, several temporaries):

- :func:`ecdf_sums`: the ECDF-based distances of two sorted samples (KS, Wasserstein, energy and the
  Cramér–von Mises T) in one linear merge, where NumPy re-sorts the pooled sample (several pairs'
  merges run side by side in one loop);
- :func:`sort_and_rank`: a sample sorted and scipy's ``rankdata(method="average")`` of it (or of
  its absolute values) from one sort of 64-bit keys (a float32's order-preserving bits and its
  position) with NumPy's vectorized integer sort, where ``argsort`` of floats is three times slower.

A sample's moments and quantiles (:func:`moments`, :func:`quantiles`) and the histogram distances
(:func:`binned`) are compiled too: each is a chain of small NumPy calls that held the GIL (dask's
other thread, reading the zarr chunks, waited on it), replayed in NumPy's order so that the numbers
are NumPy's bit for bit (the Jensen–Shannon terms to the last digits: numba's log is not scipy's).

All give the numbers of their NumPy references in :mod:`paistats.stats._kernels` (checked by the
tests against scipy, and bit for bit where stated in tests/test_stats_compiled.py). The loops run
without the GIL, so dask's threads run them in parallel.
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


# One merge of the pooled values of two sorted samples a, b (float64, finite, non-empty), written
# without the merge's data-dependent branch (which head comes next is random, and a branch on it is
# mispredicted half the time): each step takes the smaller head (a on ties), so a group of equal
# pooled values is consumed in a row, a's values first. The ECDF difference over the gap before the
# value, F_a − F_b = d / (n m) with the integer d = m i − n j (i, j: values of a, b taken so far), is
# that of the previous group's end whenever the value changes (`new`), and gaps within a group are 0.
# (`if new` is a branch, but taken at nearly every step unless ties are many.)
# Each step waits on the previous one's load (the next head depends on which was taken), so the
# loops run three merges side by side: independent chains fill that wait (1.75x the pairs per
# second of one merge at a time). The state is passed as scalars, which numba keeps in registers.
# Cramér–von Mises: over any order of the pooled values, Anderson's (1962) rank sum
# U = n Σ_a (#b before)² + m Σ_b (#a before)² equals (nm)²/N · S + nm(4nm − 1)/6, S = Σ (F_a − F_b)²
# after each pooled value (N = n + m), so T = U/(nmN) − (4nm − 1)/(6N) = nm/N² · S: one square per
# step (the one of the energy distance), and T without subtracting two numbers that agree to eight
# digits. A group of tied values adds its midrank and tie terms to U when it ends (rare). S is
# summed in blocks of _BLOCK steps (its terms are ≥ 0: the error stays ~1e-13 at 10⁶ values).
_BLOCK = 256


def _ecdf_step(a, b, fn, fm, inv, i, j, d, dmax, w1, e2, s, ties, prev, group_a, group_b):
    n, m = a.size, b.size
    x = a[min(i, n - 1)] if i < n else np.inf
    y = b[min(j, m - 1)] if j < m else np.inf
    take_a = x <= y
    value = min(x, y)
    diff = d * inv
    gap = value - prev
    new = value != prev
    sq = diff * diff
    w1 += abs(diff) * gap
    e2 += sq * gap
    s += sq
    dmax = max(dmax, abs(d) * new)
    if new:  # the group that ends here began at (group_a, group_b): its size is the values taken since
        if i - group_a + j - group_b > 1:  # rare: a branch predicted right almost always
            ties += _tie_terms(fn, fm, float(i), float(j), float(i - group_a), float(j - group_b))
        group_a, group_b = i, j
    d += take_a * (m + n) - n
    return i + take_a, j + 1 - take_a, d, dmax, w1, e2, s, ties, value, group_a, group_b


def _ecdf_finish(out, fn, fm, i, j, dmax, w1, e2, s_total, s, ties, group_a, group_b):
    if i - group_a + j - group_b > 1:
        ties += _tie_terms(fn, fm, float(i), float(j), float(i - group_a), float(j - group_b))
    nm, total = fn * fm, fn + fm
    out[0], out[1], out[2] = dmax / nm, w1, e2
    # T ≥ 0, and 0 for two samples of the same values (F_a = F_b at every value: KS 0, and n = m),
    # where S and the ties' terms cancel but for their rounding (~1e-14 when ties are many)
    equal = dmax == 0 and fn == fm
    out[3] = 0.0 if equal else max(nm / (total * total) * (s_total + s) + ties / (nm * total), 0.0)


def _ecdf_sums3(a0, b0, a1, b1, a2, b2, out):
    # out (3, 4): the sums of the pairs (a0, b0), (a1, b1), (a2, b2), merged side by side
    f_a0, f_b0, f_a1, f_b1, f_a2, f_b2 = (float(a0.size), float(b0.size), float(a1.size), float(b1.size),
                                          float(a2.size), float(b2.size))
    v0, v1, v2 = 1.0 / (f_a0 * f_b0), 1.0 / (f_a1 * f_b1), 1.0 / (f_a2 * f_b2)
    i0 = j0 = i1 = j1 = i2 = j2 = d0 = d1 = d2 = x0 = x1 = x2 = 0  # x: the largest |d| at a group's end
    w0 = e0 = s0 = w1 = e1 = s1 = w2 = e2 = s2 = 0.0
    t0 = t1 = t2 = r0 = r1 = r2 = 0.0  # S's totals (s0, s1, s2: the block's sums); r: U's tie terms
    ga0 = gb0 = ga1 = gb1 = ga2 = gb2 = 0  # where the current group of equal values began in a and in b
    p0, p1, p2 = min(a0[0], b0[0]), min(a1[0], b1[0]), min(a2[0], b2[0])
    n0, n1, n2 = a0.size + b0.size, a1.size + b1.size, a2.size + b2.size
    for k in range(max(n0, n1, n2)):
        if k < n0:
            i0, j0, d0, x0, w0, e0, s0, r0, p0, ga0, gb0 = _ecdf_step(a0, b0, f_a0, f_b0, v0, i0, j0, d0, x0, w0,
                                                                      e0, s0, r0, p0, ga0, gb0)
        if k < n1:
            i1, j1, d1, x1, w1, e1, s1, r1, p1, ga1, gb1 = _ecdf_step(a1, b1, f_a1, f_b1, v1, i1, j1, d1, x1, w1,
                                                                      e1, s1, r1, p1, ga1, gb1)
        if k < n2:
            i2, j2, d2, x2, w2, e2, s2, r2, p2, ga2, gb2 = _ecdf_step(a2, b2, f_a2, f_b2, v2, i2, j2, d2, x2, w2,
                                                                      e2, s2, r2, p2, ga2, gb2)
        if k % _BLOCK == _BLOCK - 1:
            t0, t1, t2 = t0 + s0, t1 + s1, t2 + s2
            s0 = s1 = s2 = 0.0
    _ecdf_finish(out[0], f_a0, f_b0, i0, j0, x0, w0, e0, t0, s0, r0, ga0, gb0)
    _ecdf_finish(out[1], f_a1, f_b1, i1, j1, x1, w1, e1, t1, s1, r1, ga1, gb1)
    _ecdf_finish(out[2], f_a2, f_b2, i2, j2, x2, w2, e2, t2, s2, r2, ga2, gb2)


def _tie_terms(fn, fm, i, j, c_a, c_b):
    # a group of c_a values of a and c_b of b, with i / j values of a / b up to and including it:
    # its exact U terms n c_a (B + c_b/2)² + m c_b (A + c_a/2)² + n (c_a³ − c_a)/12 + m (c_b³ − c_b)/12
    # (A, B: values before it; see paistats.stats._kernels.ecdf_sums_numpy) minus what the merge
    # added for it one value at a time, n c_a B² + m c_b (A + c_a)², written without cancellation:
    # (B + c_b/2)² − B² = c_b (B + c_b/4) and (A + c_a/2)² − (A + c_a)² = −c_a (A + 3 c_a/4)
    before_a, before_b = i - c_a, j - c_b
    return (fn * c_a * c_b * (before_b + c_b / 4.0) - fm * c_b * c_a * (before_a + 3.0 * c_a / 4.0)
            + (fn * (c_a * c_a - 1.0) * c_a + fm * (c_b * c_b - 1.0) * c_b) / 12.0)


def _rank_keys(x, absolute):
    # float32 → uint64 keys whose order is that of x (absolute: of |x|), for one sort that gives both
    # the sorted sample and its ranks: the order bits in the high 31 (|x|) or 32 bits, then (|x|) the
    # sign, then the position. Returns (keys, number of negative values), or (keys, -1) when a value
    # is NaN or ±inf (the caller takes the path that handles them). No branch in the loop: it vectorizes.
    n = x.size
    keys = np.empty(n, dtype=np.uint64)
    bits = x.view(np.uint32)
    negative = 0
    special = 0
    for k in range(n):
        b = bits[k]
        special |= (b & 0x7F800000) == 0x7F800000
        sign = b >> 31
        negative += sign
        if absolute:
            keys[k] = (np.uint64(b & 0x7FFFFFFF) << np.uint64(33)) | (np.uint64(sign) << np.uint64(32)) | np.uint64(k)
        else:
            b = b & ~np.uint32(0x80000000) if b == 0x80000000 else b  # -0.0 ties with +0.0, as in scipy
            b = (~b & 0xFFFFFFFF) if b & 0x80000000 else (b | 0x80000000)
            keys[k] = (np.uint64(b) << np.uint64(32)) | np.uint64(k)
    return keys, (-1 if special else negative)


def _sorted_and_ranks(keys, absolute, negative, x, ranks):
    # from the sorted keys: x, the sample sorted (float64; absolute: the negative values, met in
    # increasing |x|, fill x's first `negative` places from the end), and the average (1-based)
    # ranks of x (absolute: of |x|) at the values' positions; ties are equal order bits
    n = keys.size
    shift = np.uint64(33) if absolute else np.uint64(32)
    below, above = negative - 1, negative
    start = 0
    while start < n:
        value = keys[start] >> shift
        end = start + 1
        while end < n and (keys[end] >> shift) == value:
            end += 1
        rank = (start + end + 1) / 2.0
        for k in range(start, end):
            key = keys[k]
            ranks[key & np.uint64(0xFFFFFFFF)] = rank
            if absolute:  # without a branch on the sign (random: mispredicted half the time)
                neg = np.int64((key >> np.uint64(32)) & np.uint64(1))
                magnitude = np.float64(np.uint32(value).view(np.float32))
                x[below if neg else above] = -magnitude if neg else magnitude
                below -= neg
                above += 1 - neg
            else:
                b = np.uint32(value)
                b = (b & np.uint32(0x7FFFFFFF)) if b & np.uint32(0x80000000) else (~b & np.uint32(0xFFFFFFFF))
                x[k] = np.float64(np.uint32(b).view(np.float32))
        start = end


def _finite_negative(x):
    # the number of negative values of float64 x (-0.0 counts), or -1 when one is NaN or ±inf
    negative = 0
    special = False
    for k in range(x.size):
        v = x[k]
        special |= not np.isfinite(v)
        negative += np.signbit(v)
    return -1 if special else negative


def _place(values, k, v, absolute, below, above):
    # puts the k-th value v of an order of x (absolute: of |x|) into the sorted sample: in place k,
    # or (absolute) a negative one just below the last one placed (they come by increasing |x|, from
    # place `negative` - 1 down) and a positive one above; returns the next (below, above)
    if absolute:
        neg = np.int64(np.signbit(v))  # without a branch on the sign (random: mispredicted half the time)
        values[below if neg else above] = v
        return below - neg, above + 1 - neg
    values[k] = v
    return below, above


def _sorted_and_ranks_by_order(x, order, absolute, negative, out, ranks):
    # _sorted_and_ranks for float64 x from its argsort (of |x| when absolute): ties are equal values
    n = x.size
    below, above = negative - 1, negative
    start = 0
    while start < n:
        value = abs(x[order[start]]) if absolute else x[order[start]]
        end = start + 1
        while end < n and (abs(x[order[end]]) if absolute else x[order[end]]) == value:
            end += 1
        rank = (start + end + 1) / 2.0
        for k in range(start, end):
            ranks[order[k]] = rank
            below, above = _place(out, k, x[order[k]], absolute, below, above)
        start = end


def _sorted_and_ranks_f64(keys, absolute, negative, x, values, ranks):
    # _sorted_and_ranks for float64 x from the sorted keys of x rounded to float32 (rounding is
    # monotone: the float32 order is x's up to values that round alike, ordered here by their exact
    # values, smallest groups by insertion, larger ones by a merge sort); ties are equal float64
    # values, and the sample gets x's own values
    n = keys.size
    shift = np.uint64(33) if absolute else np.uint64(32)
    low = np.uint64(0xFFFFFFFF)
    below, above = negative - 1, negative
    at = np.empty(64, dtype=np.int64)  # the positions of a group of equal float32 keys
    by = np.empty(64)  # and their exact values (|x| when absolute)
    start = 0
    while start < n:
        group = keys[start] >> shift
        end = start + 1
        while end < n and (keys[end] >> shift) == group:
            end += 1
        size = end - start
        if size == 1:  # nearly every value
            p = np.int64(keys[start] & low)
            ranks[p] = start + 1.0
            below, above = _place(values, start, x[p], absolute, below, above)
            start = end
            continue
        if size > at.size:
            at = np.empty(2 * size, dtype=np.int64)
            by = np.empty(2 * size)
        for k in range(size):
            p = np.int64(keys[start + k] & low)
            at[k] = p
            by[k] = abs(x[p]) if absolute else x[p]
        if size > 32:
            order = np.argsort(by[:size], kind="mergesort")
            at[:size] = at[:size][order]
            by[:size] = by[:size][order]
        else:
            for k in range(1, size):
                p, v = at[k], by[k]
                j = k - 1
                while j >= 0 and by[j] > v:
                    at[j + 1] = at[j]
                    by[j + 1] = by[j]
                    j -= 1
                at[j + 1] = p
                by[j + 1] = v
        s = 0
        while s < size:
            e = s + 1
            while e < size and by[e] == by[s]:
                e += 1
            rank = (2 * start + s + e + 1) / 2.0
            for k in range(s, e):
                ranks[at[k]] = rank
                below, above = _place(values, start + k, x[at[k]], absolute, below, above)
            s = e
        start = end


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


# --- sums in NumPy's order: the same float64 bits as the NumPy expressions they replace ---------------
# numpy.add.reduce of a contiguous float64 array is its pairwise summation (numpy/_core/src/umath/
# loops_utils.h.src): below 8 values a plain loop; up to 128, eight interleaved partial sums added as
# ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the remainder; above, the two halves (the
# first a multiple of 8) summed recursively. Replaying that order (no reassociation: numba compiles
# without fast-math) gives NumPy's result bit for bit, so the compiled statistics equal the NumPy
# fallback exactly, not to a tolerance (tests/test_stats_compiled.py checks it on many sizes). The
# recursion is walked with an explicit stack: numba's cache loads a recursive function that crashes.
_PW_BLOCK = 128
_PW_DEPTH = 64  # the halves shrink by 2 per level: 64 levels cover any array


def _terms(x, mean, central):
    # central: numpy's d = x - mean; d2 = d * d; d * d2 (d³); d2 * d2 (d⁴); and x * x. Else x alone.
    if not central:
        return x, 0.0, 0.0, 0.0
    d = x - mean
    d2 = d * d
    return d2, d * d2, d2 * d2, x * x


def _leaf(a, start, n, mean, central):
    # four pairwise leaves (n ≤ 128) of the terms of a[start:start + n] side by side
    if n < 8:
        s0 = s1 = s2 = s3 = 0.0
        for i in range(start, start + n):
            t0, t1, t2, t3 = _terms(a[i], mean, central)
            s0 += t0
            s1 += t1
            s2 += t2
            s3 += t3
        return s0, s1, s2, s3
    # numpy's eight partial sums, as scalars written out: numba allocates a small array on the heap
    # (once per leaf of 128 values: the moments took 1.6x as long)
    p0, c0, f0, q0 = _terms(a[start], mean, central)
    p1, c1, f1, q1 = _terms(a[start + 1], mean, central)
    p2, c2, f2, q2 = _terms(a[start + 2], mean, central)
    p3, c3, f3, q3 = _terms(a[start + 3], mean, central)
    p4, c4, f4, q4 = _terms(a[start + 4], mean, central)
    p5, c5, f5, q5 = _terms(a[start + 5], mean, central)
    p6, c6, f6, q6 = _terms(a[start + 6], mean, central)
    p7, c7, f7, q7 = _terms(a[start + 7], mean, central)
    i = 8
    while i < n - (n % 8):
        k = start + i
        t0, t1, t2, t3 = _terms(a[k], mean, central)
        p0, c0, f0, q0 = p0 + t0, c0 + t1, f0 + t2, q0 + t3
        t0, t1, t2, t3 = _terms(a[k + 1], mean, central)
        p1, c1, f1, q1 = p1 + t0, c1 + t1, f1 + t2, q1 + t3
        t0, t1, t2, t3 = _terms(a[k + 2], mean, central)
        p2, c2, f2, q2 = p2 + t0, c2 + t1, f2 + t2, q2 + t3
        t0, t1, t2, t3 = _terms(a[k + 3], mean, central)
        p3, c3, f3, q3 = p3 + t0, c3 + t1, f3 + t2, q3 + t3
        t0, t1, t2, t3 = _terms(a[k + 4], mean, central)
        p4, c4, f4, q4 = p4 + t0, c4 + t1, f4 + t2, q4 + t3
        t0, t1, t2, t3 = _terms(a[k + 5], mean, central)
        p5, c5, f5, q5 = p5 + t0, c5 + t1, f5 + t2, q5 + t3
        t0, t1, t2, t3 = _terms(a[k + 6], mean, central)
        p6, c6, f6, q6 = p6 + t0, c6 + t1, f6 + t2, q6 + t3
        t0, t1, t2, t3 = _terms(a[k + 7], mean, central)
        p7, c7, f7, q7 = p7 + t0, c7 + t1, f7 + t2, q7 + t3
        i += 8
    s0 = ((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7))
    s1 = ((c0 + c1) + (c2 + c3)) + ((c4 + c5) + (c6 + c7))
    s2 = ((f0 + f1) + (f2 + f3)) + ((f4 + f5) + (f6 + f7))
    s3 = ((q0 + q1) + (q2 + q3)) + ((q4 + q5) + (q6 + q7))
    while i < n:
        t0, t1, t2, t3 = _terms(a[start + i], mean, central)
        s0, s1, s2, s3 = s0 + t0, s1 + t1, s2 + t2, s3 + t3
        i += 1
    return s0, s1, s2, s3


def _pairwise(a, start, n, mean, central):
    # the four pairwise sums of _terms over a[start:start + n] (without numpy's initial 0.0: the
    # caller adds it): the recursion of numpy's pairwise_sum, a frame per pending half
    if n <= _PW_BLOCK:
        return _leaf(a, start, n, mean, central)
    f_start = np.empty(_PW_DEPTH, dtype=np.int64)
    f_n = np.empty(_PW_DEPTH, dtype=np.int64)
    f_right = np.zeros(_PW_DEPTH, dtype=np.bool_)  # the frame's left half is summed, its right pending
    left = np.empty((_PW_DEPTH, 4))
    f_start[0], f_n[0] = start, n
    top = 0
    while True:
        # descend into left halves down to a leaf
        m = f_n[top]
        while m > _PW_BLOCK:
            n2 = m // 2
            n2 -= n2 % 8
            top += 1
            f_start[top], f_n[top], f_right[top] = f_start[top - 1], n2, False
            m = n2
        v0, v1, v2, v3 = _leaf(a, f_start[top], m, mean, central)
        # hand the value up: a finished right half adds to its parent's left half; a left half waits
        while True:
            top -= 1
            if top < 0:
                return v0, v1, v2, v3
            if not f_right[top]:
                left[top, 0], left[top, 1], left[top, 2], left[top, 3] = v0, v1, v2, v3
                f_right[top] = True
                n2 = f_n[top] // 2
                n2 -= n2 % 8
                top += 1
                f_start[top], f_n[top], f_right[top] = f_start[top - 1] + n2, f_n[top - 1] - n2, False
                break
            v0, v1, v2, v3 = left[top, 0] + v0, left[top, 1] + v1, left[top, 2] + v2, left[top, 3] + v3


def _pairwise_sum(a, start, n):
    # numpy.sum(a[start:start + n]) without the initial 0.0
    return _pairwise(a, start, n, 0.0, False)[0]


def _moments(x, out):
    # out = (mean, m2, m3, m4, Σ x², Σ of the values ≥ 0, Σ of those < 0) of sorted, finite,
    # non-empty x: numpy's x.mean(); d = x - mean; (d * d).mean(); ...; np.square(x).sum();
    # x[k:].sum(), x[:k].sum() (k = searchsorted(x, 0.0)), bit for bit
    n = x.size
    mean = (0.0 + _pairwise_sum(x, 0, n)) / n
    s2, s3, s4, sq = _pairwise(x, 0, n, mean, True)
    k = np.searchsorted(x, 0.0)
    out[0], out[1], out[2], out[3] = mean, (0.0 + s2) / n, (0.0 + s3) / n, (0.0 + s4) / n
    out[4] = 0.0 + sq
    out[5] = 0.0 + _pairwise_sum(x, k, n - k)
    out[6] = 0.0 + _pairwise_sum(x, 0, k)


def _quantiles(x, q, out):
    # numpy.quantile(x, q) (method "linear") of sorted x: numpy's _lerp, from the upper end when t ≥ 0.5
    n = x.size
    for k in range(q.size):
        h = (n - 1) * q[k]
        lo = int(np.floor(h))
        hi = min(lo + 1, n - 1)
        a, b = x[lo], x[hi]
        t = h - lo
        diff = b - a
        out[k] = b - diff * (1 - t) if t >= 0.5 else a + diff * t


def _edges(lo, hi, bins, out):
    # numpy.linspace(lo, hi, bins + 1), bit for bit: k · step + lo (step = (hi − lo) / bins; a step
    # that underflows to 0 is (k / bins) · (hi − lo) + lo, numpy's denormal branch); the last edge hi
    delta = hi - lo
    step = delta / bins
    for k in range(bins + 1):
        out[k] = (k * step if step != 0 else (k / bins) * delta) + lo
    out[bins] = hi


def _bin_fractions(x, edges, out):
    # numpy.histogram(x, edges)[0] / x.size of sorted x within the edges (the last bin closed)
    n = x.size
    prev = np.searchsorted(x, edges[0])
    for k in range(1, edges.size):
        cum = np.searchsorted(x, edges[k]) if k < edges.size - 1 else n
        out[k - 1] = (cum - prev) / n
        prev = cum


def _binned(x, y, bins, ln2, out):
    # out = (Jensen–Shannon, Hellinger) of the fractions p, q of sorted x, y in `bins` shared bins, as
    # the NumPy expressions of paistats.stats._kernels._jensen_shannon / _hellinger: rel_entr terms
    # p log(p / m) (0 where p = 0), sums in numpy's pairwise order. False when the range of both
    # samples overflows float64 (the caller raises numpy's error).
    lo, hi = min(x[0], y[0]), max(x[-1], y[-1])
    if not np.isfinite(hi - lo):
        return False
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.empty(bins + 1)
    _edges(lo, hi, bins, edges)
    p, q = np.empty(bins), np.empty(bins)
    _bin_fractions(x, edges, p)
    _bin_fractions(y, edges, q)
    ent_p, ent_q, sq = np.empty(bins), np.empty(bins), np.empty(bins)
    for k in range(bins):
        m = (p[k] + q[k]) / 2.0
        ent_p[k] = p[k] * np.log(p[k] / m) if p[k] > 0 else 0.0
        ent_q[k] = q[k] * np.log(q[k] / m) if q[k] > 0 else 0.0
        d = np.sqrt(p[k]) - np.sqrt(q[k])
        sq[k] = d * d
    js = ((0.0 + _pairwise_sum(ent_p, 0, bins)) + (0.0 + _pairwise_sum(ent_q, 0, bins))) / ln2
    out[0] = np.sqrt(js / 2.0)
    out[1] = np.sqrt((0.0 + _pairwise_sum(sq, 0, bins)) / 2.0)
    return True


# the helpers are compiled too (the merge calls them; LLVM inlines them into it)
_tie_terms = _jit(_tie_terms) or _tie_terms
_place = _jit(_place) or _place
_ecdf_step = _jit(_ecdf_step) or _ecdf_step
_ecdf_finish = _jit(_ecdf_finish) or _ecdf_finish
_ecdf_sums3_jit = _jit(_ecdf_sums3)
_pearson_of_ranks_jit = _jit(_pearson_of_ranks)
_rank_keys_jit = _jit(_rank_keys)
_sorted_and_ranks_jit = _jit(_sorted_and_ranks)
_finite_negative_jit = _jit(_finite_negative)
_sorted_and_ranks_by_order_jit = _jit(_sorted_and_ranks_by_order)
_sorted_and_ranks_f64_jit = _jit(_sorted_and_ranks_f64)
_to_float32_jit = _jit(_to_float32)
_terms = _jit(_terms) or _terms
_leaf = _jit(_leaf) or _leaf
_pairwise = _jit(_pairwise) or _pairwise
_pairwise_sum = _jit(_pairwise_sum) or _pairwise_sum
_moments_jit = _jit(_moments)
_quantiles_jit = _jit(_quantiles)
_edges = _jit(_edges) or _edges
_bin_fractions = _jit(_bin_fractions) or _bin_fractions
_binned_jit = _jit(_binned)


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


#: The stand-in pair of an unused merge slot (the loop steps it twice: its two pooled values).
_IDLE = np.zeros(1)


def ecdf_sums(pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """ECDF quantities of each pair of sorted samples, each in one merge (three side by side).

    Parameters
    ----------
    pairs : list of (a, b)
        numpy.ndarray of float64, shapes (n,), (m,): sorted, finite, non-empty.

    Returns
    -------
    numpy.ndarray of float64, shape (len(pairs), 4)
        Per pair: ``max |F_a − F_b|`` over the pooled values (KS); ``∫ |F_a − F_b|``
        (Wasserstein-1); ``∫ (F_a − F_b)²`` (energy distance = √(2 ·)); and the two-sample Cramér–von
        Mises statistic ``T`` of Anderson (1962), midranks for ties (``scipy.stats.cramervonmises_2samp``;
        defined for n, m ≥ 2: the caller says NaN below).
    """
    out = np.empty((len(pairs), 4))
    for start in range(0, len(pairs), 3):
        chunk = list(pairs[start:start + 3])
        used = len(chunk)
        chunk += [(_IDLE, _IDLE)] * (3 - used)
        sums = np.empty((3, 4))
        _ecdf_sums3_jit(*(x for pair in chunk for x in pair), sums)
        out[start:start + used] = sums[:used]
    return out


def sort_and_rank(x: np.ndarray, absolute: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """A sample sorted and its average ranks from one sort: what ``numpy.sort(x).astype(float64)``
    and ``scipy.stats.rankdata(numpy.abs(x) if absolute else x)`` give, where those are two sorts
    (and an ``abs``). float32: one sort of 64-bit keys (the value's order bits and its position);
    float64: the same sort of the values rounded to float32, values that round alike then ordered
    by their own (an ``argsort`` when a value is beyond float32's range).

    Parameters
    ----------
    x : numpy.ndarray of float32 or float64, shape (n,)
    absolute : bool
        Rank ``|x|`` (the sorted sample is still that of ``x``).

    Returns
    -------
    (numpy.ndarray of float64, numpy.ndarray of float64), shapes (n,), or None
        The sorted values and the (1-based) average ranks at the values' positions (a float32 -0.0
        comes back as 0.0 when not ``absolute``: the two are equal, and tie). None when numba is
        missing, ``x`` is of another dtype, has 2³² values or more, or a value is NaN or ±inf.
    """
    if not AVAILABLE or x.dtype not in (np.float32, np.float64) or x.size >= 2 ** 32:
        return None
    x = np.ascontiguousarray(x).reshape(-1)
    if x.dtype == np.float64:
        negative = _finite_negative_jit(x)
        if negative < 0:
            return None
        with np.errstate(over="ignore"):
            keys, fine = _rank_keys_jit(x.astype(np.float32), absolute)
        if fine >= 0:  # (not when a value is beyond float32's range)
            keys.sort()
            values, ranks = np.empty(x.size), np.empty(x.size)
            _sorted_and_ranks_f64_jit(keys, absolute, negative, x, values, ranks)
            return values, ranks
        order = np.argsort(np.abs(x) if absolute else x)
        values, ranks = np.empty(x.size), np.empty(x.size)
        _sorted_and_ranks_by_order_jit(x, order, absolute, negative, values, ranks)
        return values, ranks
    keys, negative = _rank_keys_jit(x, absolute)
    if negative < 0:
        return None
    keys.sort()  # NumPy's vectorized integer sort (without the GIL)
    values, ranks = np.empty(keys.size), np.empty(keys.size)
    _sorted_and_ranks_jit(keys, absolute, negative, values, ranks)
    return values, ranks


def rank_correlation(ra: np.ndarray, rb: np.ndarray) -> tuple[float, float, float]:
    """(Σ (ra − r̄)(rb − r̄), Σ (ra − r̄)², Σ (rb − r̄)²) of two average-rank vectors (r̄ = (n + 1)/2).

    Parameters
    ----------
    ra, rb : numpy.ndarray of float64, shape (n,)
        Average ranks (1-based) of two samples of the same length.
    """
    return _pearson_of_ranks_jit(ra, rb)


def moments(x: np.ndarray) -> np.ndarray:
    """NumPy's moments of a sorted sample, bit for bit, in two passes without temporaries.

    Parameters
    ----------
    x : numpy.ndarray of float64, shape (n,)
        Sorted, finite, non-empty.

    Returns
    -------
    numpy.ndarray of float64, shape (7,)
        ``x.mean()``; the means of d², d³ = d·d², d⁴ = d²·d² (d = x − mean); ``numpy.square(x).sum()``;
        the sums of the values ≥ 0 and of those < 0 (``x[k:].sum()``, ``x[:k].sum()``,
        ``k = numpy.searchsorted(x, 0.0)``).
    """
    out = np.empty(7)
    _moments_jit(x, out)
    return out


def quantiles(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``numpy.quantile(x, q)`` (linear interpolation) of sorted, non-empty float64 ``x``, bit for bit.

    Parameters
    ----------
    x : numpy.ndarray of float64, shape (n,)
    q : numpy.ndarray of float64, shape (Q,)
        Levels in [0, 1].
    """
    out = np.empty(q.size)
    _quantiles_jit(x, q, out)
    return out


_LN2 = float(np.log(2.0))


def binned(x: np.ndarray, y: np.ndarray, bins: int) -> tuple[float, float] | None:
    """(Jensen–Shannon, Hellinger) of two sorted samples' fractions in ``bins`` shared equal-width
    bins spanning both (``numpy.linspace`` edges), bit for bit the NumPy expressions of
    :mod:`paistats.stats._kernels`; None when the range overflows float64 (the caller raises numpy's error).

    Parameters
    ----------
    x, y : numpy.ndarray of float64, shapes (n,), (m,)
        Sorted, finite, non-empty.
    bins : int
    """
    out = np.empty(2)
    return (float(out[0]), float(out[1])) if _binned_jit(x, y, bins, _LN2, out) else None
