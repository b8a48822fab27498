"""Block functions for :func:`xarray.apply_ufunc` (``dask="parallelized"``): each receives one dask
block of runs of one layer (tensor dims last) and returns statistics / distance vectors.

Module-level functions of NumPy arrays only, so that a ``distributed`` worker can run them.
Within a block a run's samples are built and sorted once per stage and shared by every
statistic and distance they enter.
"""
from __future__ import annotations

import itertools

import numpy as np

from paistats.stats import _compiled
from paistats.stats._kernels import DIST_NAMES, STAT_NAMES, Sample, describe, rank_pearson, ranked, stage_distances

#: Stages of a run's samples inside the kernels (rows of the outputs).
RUN_STAGES = ("init", "trained", "score")
_SPEARMAN = STAT_NAMES.index("spearman_abs_score")


def _flat(a: np.ndarray, nt: int) -> np.ndarray:
    """Collapse the last ``nt`` (tensor) axes into one."""
    return a.reshape(a.shape[: a.ndim - nt] + (-1,))


def _narrow(a: np.ndarray) -> np.ndarray:
    """``a`` as float32 when that is exact for every value (e.g. float64 scores computed in float32):
    the kernels then sort it as float32 and merge two samples with one plain sort, and every result
    is the same as from the float64 array (the widened values are the same numbers)."""
    if a.dtype != np.float64 or not a.size:
        return a
    if _compiled.AVAILABLE:
        b = _compiled.exact_float32(a)
        return a if b is None else b
    b = a.astype(np.float32)
    if np.array_equal(b, a, equal_nan=True):
        return b
    return a


def _samples(m, w0, w1, s, mode: str):
    """Raw (unsorted) values of the three stages of one run: ``kept`` (unpruned only),
    ``pruned`` (pruned entries as zeros) or ``dense`` (the whole starting tensor and scores)."""
    if mode == "kept":
        idx = np.flatnonzero(m)  # once for the three stages
        return w0.take(idx), w1.take(idx), s.take(idx)
    if mode == "pruned":
        return np.where(m, w0, 0), np.where(m, w1, 0), np.where(m, s, 0)
    return w0, w0, s


def _lead(*arrays, core: int) -> tuple[int, ...]:
    return np.broadcast_shapes(*(a.shape[: a.ndim - core] for a in arrays))


class _Kept:
    """The kept samples of the runs of one cell, each built once, by key: ``(the three stages'
    Samples, their ranks (of |w| at the weight stages; None without ``want_ranks``), mask, kept indices)``.

    ``run(key)`` gives a run's ``(mask, start, trained, score)``. A run whose mask equals its
    reference's (``reinit``) and whose scores are the reference's (the cell's scores broadcast over
    the variants) shares the reference's score sample (a distance of 0 without a merge) and ranks.
    """

    def __init__(self, run, want_ranks: bool) -> None:
        self.run = run
        self.want_ranks = want_ranks
        self.of: dict = {}

    def _stage(self, values: np.ndarray, absolute: bool) -> tuple[Sample, np.ndarray | None]:
        return ranked(values, absolute) if self.want_ranks else (Sample(values), None)

    def __call__(self, key, ref_key=None):
        if key not in self.of:
            m, w0, w1, s = self.run(key)
            r = self.of.get(ref_key) if ref_key is not None and ref_key != key else None
            shared = r is not None and r[2] is not None and np.array_equal(m, r[2])
            idx = r[3] if shared else np.flatnonzero(m)
            stages = [self._stage(w0.take(idx), True), self._stage(w1.take(idx), True),
                      (r[0][2], r[1][2]) if shared else self._stage(s.take(idx), False)]
            self.of[key] = ([x[0] for x in stages], [x[1] for x in stages], m, idx)
        return self.of[key]

    def drop(self, key) -> None:
        self.of.pop(key, None)

    def keep_samples(self, key) -> None:
        """Keep only the sorted samples of ``key`` (no other run will share its mask or ranks)."""
        if key in self.of:
            self.of[key] = (self.of[key][0], None, None, None)


def _run_stats(kept: tuple, n_tensor: int, q: np.ndarray) -> np.ndarray:
    """Statistics (3, S) of one run's three kept samples (an entry of :class:`_Kept`), with
    Spearman's ρ of |w| and the scores at the two weight stages."""
    samples, ranks = kept[:2]
    out = np.stack([describe(smp, n_tensor, q) for smp in samples])
    for k in (0, 1):
        out[k, _SPEARMAN] = rank_pearson(ranks[k], ranks[2])
    return out


def run_block(mask, start, trained, score, complete, *, nt: int, ref: int | None, ref_mode: str,
              dist_mode: str, bins: int, quantiles: tuple, want_stats: bool, want_dist: bool):
    """Statistics and distances of every run of a block (``variant`` is the last loop axis).

    Shapes: mask/start/trained (..., V, *T); score (..., *T) (broadcast over V); complete (..., V).
    Returns stats (..., V, 3, S) and distances (..., V, 3, D) (float64).
    ``ref``: index of the reference variant (``ref_mode="variant"``), else the run's own dense
    tensor (``ref_mode="dense"``).
    """
    mask, start, trained = (_flat(a, nt) for a in (mask, start, trained))
    score = _narrow(_flat(score, nt))[..., None, :]
    lead = _lead(mask, start, trained, score, complete[..., None], core=1)
    size = lead[-1] if lead else 1
    n_tensor = mask.shape[-1]
    q = np.asarray(quantiles, dtype=np.float64)
    stats = np.full(lead + (3, len(STAT_NAMES) + len(q)), np.nan)
    dists = np.full(lead + (3, len(DIST_NAMES)), np.nan)
    arrays = [np.broadcast_to(a, lead + (n_tensor,)) for a in (mask, start, trained, score)]
    done = np.broadcast_to(complete, lead)

    def run(idx):
        return [a[idx] for a in arrays]

    for outer in np.ndindex(*lead[:-1]):
        kept = _Kept(lambda v: run(outer + (v,)), want_ranks=want_stats)

        ref_samples = None
        if want_dist and ref_mode == "variant" and done[outer + (ref,)]:
            if dist_mode == "kept":
                ref_samples = kept(ref)[0]
            else:
                ref_samples = [Sample(x) for x in _samples(*run(outer + (ref,)), dist_mode)]
        for v in range(size):
            idx = outer + (v,)
            if not done[idx]:
                continue
            m, w0, w1, s = run(idx)
            if want_stats:
                stats[idx] = _run_stats(kept(v, ref), n_tensor, q)
            if not want_dist:
                kept.drop(v)
                continue
            if ref_mode == "dense":
                ref_samples = [Sample(x) for x in _samples(m, w0, w1, s, "dense")]
            if ref_samples is None:
                continue
            if dist_mode == "kept":
                mine = kept(v, ref)[0]
            else:
                mine = [Sample(x) for x in _samples(m, w0, w1, s, dist_mode)]
            dists[idx] = stage_distances(mine, ref_samples, bins)
            if v != ref:
                kept.drop(v)  # only the reference's samples are needed again
    return stats, dists


def dense_block(init, reinit, score, *, nt: int, quantiles: tuple):
    """Statistics of the dense starting tensors: rows ``init``, ``reinit`` (with Spearman's ρ of
    their |w| with the scores) and ``score``. Shapes (..., *T) → (..., 3, S). A starting tensor
    equal to the previous one along the last loop axis (the pruners of an arch stack start from
    the same init) reuses its statistics and ranks."""
    init, reinit, score = (_flat(a, nt) for a in (init, reinit, score))
    score = _narrow(score)
    lead = _lead(init, reinit, score, core=1)
    n_tensor = init.shape[-1]
    q = np.asarray(quantiles, dtype=np.float64)
    out = np.full(lead + (3, len(STAT_NAMES) + len(q)), np.nan)
    arrays = [np.broadcast_to(a, lead + (n_tensor,)) for a in (init, reinit, score)]
    previous: list = [None, None]  # (tensor, its statistics row, its |w| ranks) of init and of reinit
    for idx in np.ndindex(*lead):
        if lead and idx[-1] == 0:
            previous = [None, None]
        s_sample, s_ranks = ranked(arrays[2][idx], False)
        out[idx + (2,)] = describe(s_sample, n_tensor, q)
        for k in (0, 1):
            w = arrays[k][idx]
            if previous[k] is None or not np.array_equal(previous[k][0], w):
                smp, ranks = ranked(w, True)
                previous[k] = (w, describe(smp, n_tensor, q), ranks)
            out[idx + (k,)] = previous[k][1]
            out[idx + (k, _SPEARMAN)] = rank_pearson(previous[k][2], s_ranks)
    return out


def pair_block(mask, start, trained, score, complete, *, nt: int, mode: str, ref_mode: str, bins: int):
    """Seed noise floor: distances between every pair of seeds (``seed`` is the last loop axis,
    pairs in ``itertools.combinations`` order, the first seed as the compared sample).
    Shapes (..., K, *T), complete (..., K) → (..., K(K-1)/2, 3, D)."""
    arrays = (mask, start, trained, score, complete)
    return tile_block(*arrays, *arrays, nt=nt, mode=mode, ref_mode=ref_mode, bins=bins, same=True)


def tile_pairs(n_a: int, n_b: int, same: bool) -> list[tuple[int, int]]:
    """(seed of group a, seed of group b) of a tile: the pairs within one group, or all across two."""
    if same:
        return list(itertools.combinations(range(n_a), 2))
    return list(itertools.product(range(n_a), range(n_b)))


def tile_block(mask_a, start_a, trained_a, score_a, complete_a, mask_b, start_b, trained_b, score_b, complete_b,
               *, nt: int, mode: str, ref_mode: str, bins: int, same: bool):
    """Noise-floor distances of one tile of seed pairs: seed group ``a`` (compared samples) against
    seed group ``b`` (references), in :func:`tile_pairs` order. ``same``: ``b`` is ``a`` (pairs within).
    Shapes (..., Ka, *T), complete (..., Ka) and likewise for ``b`` → (..., P, 3, D). Holds the two
    groups' samples only, so memory is bounded by the tile, not by the number of seeds."""
    groups = []
    for arrs in ((mask_a, start_a, trained_a, score_a), (mask_b, start_b, trained_b, score_b)):
        groups.append([_narrow(_flat(a, nt)) for a in arrs])
    comps = (complete_a, complete_b)
    leads = [_lead(*g, c[..., None], core=1) for g, c in zip(groups, comps)]
    outer_shape = np.broadcast_shapes(leads[0][:-1], leads[1][:-1])
    n_a, n_b = leads[0][-1], leads[1][-1]
    pairs = tile_pairs(n_a, n_b, same)
    out = np.full(outer_shape + (len(pairs), 3, len(DIST_NAMES)), np.nan)
    arrays = [[np.broadcast_to(a, outer_shape + (lead[-1], a.shape[-1])) for a in g] for g, lead in zip(groups, leads)]
    done = [np.broadcast_to(c, outer_shape + (lead[-1],)) for c, lead in zip(comps, leads)]
    for outer in np.ndindex(*outer_shape):
        cache: dict[tuple[int, int], tuple] = {}

        def samples(g, k):
            if same:
                g = 0
            if (g, k) not in cache:
                m, w0, w1, s = (a[outer + (k,)] for a in arrays[g])
                own = [Sample(x) for x in _samples(m, w0, w1, s, mode)]
                ref = own if ref_mode == mode else [Sample(x) for x in _samples(m, w0, w1, s, ref_mode)]
                cache[(g, k)] = (own, ref)
            return cache[(g, k)]

        for p, (a, b) in enumerate(pairs):
            if not same and p and a != pairs[p - 1][0]:
                cache.pop((0, pairs[p - 1][0]), None)  # across two groups, a-major: that seed of a is done
            if not (done[0][outer + (a,)] and done[1 - same][outer + (b,)]):
                continue
            mine, theirs = samples(0, a)[0], samples(1, b)[1]
            out[outer + (p,)] = stage_distances(mine, theirs, bins)
    return out


def cross_block(mask_a, start_a, trained_a, score_a, complete_a, mask_b, start_b, trained_b, score_b,
                complete_b, *, nt: int, mode: str, ref_mode: str, bins: int):
    """Distances between run ``a`` (e.g. the random pruner's original) and reference run ``b``
    (e.g. this pruner's original) of each cell. Shapes (..., *T), complete (...) → (..., 3, D)."""
    arrays = [_narrow(_flat(x, nt)) for x in (mask_a, start_a, trained_a, score_a, mask_b, start_b, trained_b, score_b)]
    lead = _lead(*arrays, complete_a[..., None], complete_b[..., None], core=1)
    arrays = [np.broadcast_to(x, lead + (x.shape[-1],)) for x in arrays]
    ok = np.broadcast_to(complete_a, lead) & np.broadcast_to(complete_b, lead)
    out = np.full(lead + (3, len(DIST_NAMES)), np.nan)
    for idx in np.ndindex(*lead):
        if not ok[idx]:
            continue
        va = [x[idx] for x in arrays[:4]]
        vb = [x[idx] for x in arrays[4:]]
        mine = [Sample(x) for x in _samples(*va, mode)]
        if mode == ref_mode and all(np.array_equal(x, y) for x, y in zip(va, vb)):
            ref = mine  # the same run (the random pruner against itself): distances 0 without merges
        else:
            ref = [Sample(x) for x in _samples(*vb, ref_mode)]
        out[idx] = stage_distances(mine, ref, bins)
    return out


def cell_block(mask, start, trained, score, complete, *random, nt: int, ref: int, dist_mode: str, bins: int,
               quantiles: tuple, want_stats: bool, want_dist: bool, want_noise: bool):
    """Everything about the runs of one cell (a pruner, sparsity and layer: all its variants and
    seeds) from one set of sorted samples, each run's sorted once:

    - the statistics and distances of every run, as :func:`run_block` with the reference variant ``ref``;
    - the seed noise floor of the reference variant, as :func:`pair_block`;
    - the distances of the random pruner's original run to the reference of each seed, as
      :func:`cross_block` (when ``random`` is given).

    Shapes: mask/start/trained (..., V, K, *T); score (..., K, *T) (broadcast over V); complete
    (..., V, K); ``random``: the random pruner's original run of each seed, mask/start/trained/score
    (..., K, *T) and complete (..., K), or nothing. Returns stats (..., V, K, 3, S), distances
    (..., V, K, 3, D), noise (..., K(K-1)/2, 3, D) in ``itertools.combinations`` order and cross
    (..., K, 3, D), float64. It holds every seed of the reference variant (for the noise floor):
    :mod:`paistats.stats._compute` sends it cells of at most ``NOISE_TILE`` seeds.
    """
    mask, start, trained = (_flat(a, nt) for a in (mask, start, trained))
    score = _narrow(_flat(score, nt))[..., None, :, :]
    lead = _lead(mask, start, trained, score, complete[..., None], core=1)
    n_var, n_seeds = lead[-2:]
    outer_shape = lead[:-2]
    n_tensor = mask.shape[-1]
    q = np.asarray(quantiles, dtype=np.float64)
    arrays = [np.broadcast_to(a, lead + (n_tensor,)) for a in (mask, start, trained, score)]
    done = np.broadcast_to(complete, lead)
    pairs = tile_pairs(n_seeds, n_seeds, True)
    stats = np.full(lead + (3, len(STAT_NAMES) + len(q)), np.nan)
    dists = np.full(lead + (3, len(DIST_NAMES)), np.nan)
    noise = np.full(outer_shape + (len(pairs), 3, len(DIST_NAMES)), np.nan)
    cross = np.full(outer_shape + (n_seeds, 3, len(DIST_NAMES)), np.nan)
    if random:
        r_arrays = [_narrow(_flat(a, nt)) for a in random[:4]]
        r_lead = outer_shape + (n_seeds,)
        r_arrays = [np.broadcast_to(a, r_lead + (a.shape[-1],)) for a in r_arrays]
        r_done = np.broadcast_to(random[4], r_lead)
    order = [ref, *(v for v in range(n_var) if v != ref)]  # the reference's samples first: the others share them
    for outer in np.ndindex(*outer_shape):
        def run(key):
            return [a[outer + key] for a in arrays]

        kept = _Kept(run, want_ranks=want_stats)
        modal: dict = {}

        def samples(key):
            """The run's three samples of the distances (``dist_mode``)."""
            if dist_mode == "kept":
                return kept(key, (ref, key[1]))[0]
            if key not in modal:
                modal[key] = [Sample(x) for x in _samples(*run(key), dist_mode)]
            return modal[key]

        for k in range(n_seeds):
            ref_done = done[outer + (ref, k)]
            for v in order:
                key = (v, k)
                if not done[outer + key]:
                    continue
                if want_stats:
                    stats[outer + key] = _run_stats(kept(key, (ref, k)), n_tensor, q)
                if want_dist and ref_done:
                    dists[outer + key] = stage_distances(samples(key), samples((ref, k)), bins)
                if v != ref:
                    kept.drop(key)
                    modal.pop(key, None)
            if dist_mode == "kept":
                kept.keep_samples((ref, k))  # the seed's other variants are done: its samples serve the pairs
            else:
                kept.drop((ref, k))
        if want_noise:
            for p, (a, b) in enumerate(pairs):
                if done[outer + (ref, a)] and done[outer + (ref, b)]:
                    noise[outer + (p,)] = stage_distances(samples((ref, a)), samples((ref, b)), bins)
        if not random:
            continue
        for k in range(n_seeds):
            if not (r_done[outer + (k,)] and done[outer + (ref, k)]):
                continue
            theirs = samples((ref, k))
            va, vb = [a[outer + (k,)] for a in r_arrays], run((ref, k))
            if all(np.array_equal(x, y) for x, y in zip(va, vb)):
                mine = theirs  # the same run (the random pruner against itself): distances 0 without merges
            else:
                mine = [Sample(x) for x in _samples(*va, dist_mode)]
            cross[outer + (k,)] = stage_distances(mine, theirs, bins)
    return stats, dists, noise, cross
