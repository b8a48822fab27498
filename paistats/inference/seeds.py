"""Seed-level tests: the unit of a claim is a run, seeds are the replicates.

Each function takes one value per seed for a variant and for the reference (``original``) at the
same (pruner, sparsity, seed): a final accuracy, or any per-run statistic (a layer's std, a distance).
Seeds where either side is missing (NaN, incomplete run) are dropped and ``n`` says how many remain.

Attainable levels with few seeds: the exact sign-flip and Wilcoxon tests have 2**n equally likely
sign patterns, so with 5 seeds the smallest two-sided p-value is 2/32 = 0.0625 (never below 0.05)
and the smallest one-sided p-value is 1/32 = 0.031. The paired t test has no such floor but assumes
roughly normal seed-to-seed differences.
"""
from __future__ import annotations

import math

import numpy as np
import scipy.stats as st
from statsmodels.stats.weightstats import ttost_ind, ttost_paired

from paistats.inference import _checks
from paistats.inference._result import InferenceError, InferenceResult

PAIRED_TESTS = ("t", "wilcoxon", "signflip")


def _scale(x: np.ndarray, y: np.ndarray) -> float:
    return float(max(np.abs(x).max(), np.abs(y).max()))


def _t_ci(d: np.ndarray):
    res = st.ttest_1samp(d, 0.0)
    return lambda level: tuple(res.confidence_interval(level))


def _welch_ci(x: np.ndarray, y: np.ndarray):
    res = st.ttest_ind(x, y, equal_var=False)
    return lambda level: tuple(res.confidence_interval(level))


def _signed_rank_counts(n: int) -> np.ndarray:
    """Number of sign patterns giving each W+ = 0 … n(n+1)/2 (exact null of the signed-rank statistic)."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k].copy()
    return counts


def _hodges_lehmann_ci(d: np.ndarray):
    """Exact distribution-free CI of the pseudomedian: order statistics of the Walsh averages.

    The interval [W(k), W(M+1-k)] has coverage 1 - 2 P(W+ <= k-1); with too few seeds for the
    requested level the interval is the whole line (stated, not a NaN).
    """
    walsh = np.sort(((d[:, None] + d[None, :]) / 2)[np.triu_indices(d.size)])
    cdf = np.cumsum(_signed_rank_counts(d.size)) / 2.0 ** d.size

    def ci(level: float):
        ok = np.nonzero(cdf <= (1 - level) / 2)[0]  # P(W+ <= k-1) <= (1-level)/2, k = index + 1
        if ok.size == 0:
            return (-math.inf, math.inf)
        k = int(ok[-1]) + 1
        return (walsh[k - 1], walsh[walsh.size - k])
    return ci


def paired_test(variant, reference, *, test: str = "t", alternative: str = "two-sided", alpha: float = 0.05,
                coords: dict | None = None) -> InferenceResult:
    """Paired comparison of a per-run quantity between a variant and the reference across seeds.

    Parameters
    ----------
    variant, reference : array-like or DataArray, dims (seed,)
        One value per seed (same seed order); e.g. final accuracy (fraction) or a layer statistic.
    test : {"t", "wilcoxon", "signflip"}
        ``scipy.stats.ttest_rel``; ``scipy.stats.wilcoxon`` (exact for n <= 50); exact sign-flip
        permutation of the mean difference (``scipy.stats.permutation_test`` over all 2**n signs).
    alternative : {"two-sided", "less", "greater"}
        For δ = variant − reference.

    Returns
    -------
    InferenceResult
        kind ``difference``, unit ``seed``; effect = mean difference (t, sign-flip; CI from the t
        distribution) or Hodges-Lehmann pseudomedian (Wilcoxon; exact Walsh-average CI).

    Raises
    ------
    InferenceError
        Fewer than 2 seeds with both sides, all differences zero, or (t) constant differences.
    """
    alternative = _checks.alternative(alternative)
    x, y = _checks.paired(variant, reference)
    d = x - y
    if np.all(np.abs(d) <= 64 * np.finfo(float).eps * _scale(x, y)):
        raise InferenceError(f"variant equals the reference at all {d.size} seeds: nothing to test "
                             "(is the variant the reference itself?)")
    common = dict(kind="difference", n=int(d.size), unit="seed", alternative=alternative, alpha=alpha,
                  coords=dict(coords or {}))
    if test == "t":
        _checks.not_constant(d, "differences variant − reference", "a paired t test", _scale(x, y))
        res = st.ttest_rel(x, y, alternative=alternative)
        sd = d.std(ddof=1)
        return InferenceResult(test="paired t", statistic=float(res.statistic), pvalue=float(res.pvalue),
                               effect=float(d.mean()), effect_name="mean difference", _ci=_t_ci(d),
                               ci_method="t", details={"df": float(res.df), "cohen_dz": float(d.mean() / sd)},
                               **common)
    if test == "wilcoxon":
        res = st.wilcoxon(x, y, alternative=alternative)
        _checks.check_result(res.statistic, res.pvalue, "wilcoxon")
        walsh = ((d[:, None] + d[None, :]) / 2)[np.triu_indices(d.size)]
        return InferenceResult(test="wilcoxon signed-rank", statistic=float(res.statistic), pvalue=float(res.pvalue),
                               effect=float(np.median(walsh)), effect_name="Hodges-Lehmann pseudomedian",
                               _ci=_hodges_lehmann_ci(d), ci_method="exact Walsh averages", **common)
    if test == "signflip":
        exact = d.size <= 20
        res = st.permutation_test((d,), np.mean, permutation_type="samples", alternative=alternative,
                                  n_resamples=np.inf if exact else 99_999, vectorized=True,
                                  rng=np.random.default_rng(0))
        return InferenceResult(test="sign-flip permutation" + ("" if exact else " (Monte Carlo)"),
                               statistic=float(res.statistic), pvalue=float(res.pvalue), effect=float(d.mean()),
                               effect_name="mean difference", _ci=_t_ci(d) if np.ptp(d) > 64 * np.finfo(float).eps * _scale(x, y) else None,
                               ci_method="t", details={"exact": exact, "min_pvalue": _min_p(d.size, alternative)},
                               **common)
    raise InferenceError(f"unknown paired test {test!r}; choose one of {', '.join(PAIRED_TESTS)}")


def _min_p(n: int, alternative: str) -> float:
    return min(1.0, (2.0 if alternative == "two-sided" else 1.0) / 2.0 ** n)


def equivalence_test(variant, reference, *, margin: float, paired: bool = True, alpha: float = 0.05,
                     coords: dict | None = None) -> InferenceResult:
    """Two one-sided tests (TOST): is |δ| < margin, δ = mean(variant − reference)?

    Uses statsmodels' ``ttost_paired`` (paired by seed) or ``ttost_ind`` (``usevar="unequal"``).

    Parameters
    ----------
    variant, reference : array-like or DataArray, dims (seed,)
    margin : float
        Equivalence bound in the data's units (e.g. 0.01 = one accuracy point); the interval is
        (−margin, margin).
    paired : bool
        Pair by seed (the zoo's design: a variant shares its seed's init, data order and mask source).

    Returns
    -------
    InferenceResult
        kind ``equivalence``: ``pvalue`` = TOST p (H0: |δ| ≥ margin), ``statistic`` = the t of the
        binding (larger-p) one-sided test; ``pvalue_opposite`` = 2·min one-sided p of δ beyond
        ±margin (H0: |δ| ≤ margin). Verdict at α: *equivalent* when the (1 − 2α) CI lies inside
        (−margin, margin), *different* when the (1 − α) CI lies outside [−margin, margin],
        else *inconclusive*. ``confidence_interval()`` defaults to the (1 − 2α) interval.
    """
    m = _checks.margin(margin)
    if paired:
        x, y = _checks.paired(variant, reference)
        d = x - y
        _checks.not_constant(d, "differences variant − reference", "TOST", _scale(x, y))
        p, lo, hi = ttost_paired(x, y, -m, m)
        p_gt = st.ttest_1samp(d, m, alternative="greater").pvalue
        p_lt = st.ttest_1samp(d, -m, alternative="less").pvalue
        ci, name, n, est = _t_ci(d), "TOST paired", d.size, d.mean()
    else:
        x = _checks.finite(variant, min_n=2, what="variant")
        y = _checks.finite(reference, min_n=2, what="reference")
        if np.ptp(x) <= 64 * np.finfo(float).eps * _scale(x, y) and np.ptp(y) <= 64 * np.finfo(float).eps * _scale(x, y):
            raise InferenceError("variant and reference are each constant across seeds: TOST is undefined; "
                                 "check the inputs")
        p, lo, hi = ttost_ind(x, y, -m, m, usevar="unequal")
        p_gt = st.ttest_ind(x - m, y, equal_var=False, alternative="greater").pvalue
        p_lt = st.ttest_ind(x + m, y, equal_var=False, alternative="less").pvalue
        ci, name, n, est = _welch_ci(x, y), "TOST Welch", min(x.size, y.size), x.mean() - y.mean()
    binding = lo if lo[1] >= hi[1] else hi
    _checks.check_result(binding[0], p, name)
    return InferenceResult(test=name, kind="equivalence", statistic=float(binding[0]), pvalue=float(p),
                           pvalue_opposite=float(min(1.0, 2 * min(p_gt, p_lt))), effect=float(est),
                           effect_name="mean difference", n=int(n), unit="seed", alternative="equivalence",
                           margin=m, alpha=alpha, coords=dict(coords or {}), _ci=ci, ci_method="t",
                           default_confidence_level=1 - 2 * alpha,
                           details={"t_lower": float(lo[0]), "p_lower": float(lo[1]), "t_upper": float(hi[0]),
                                    "p_upper": float(hi[1]), "df": float(lo[2])})


def noninferiority_test(variant, reference, *, margin: float, higher_is_better: bool = True, paired: bool = True,
                        alpha: float = 0.05, coords: dict | None = None) -> InferenceResult:
    """One-sided non-inferiority ("same or better"): is the variant worse by less than ``margin``?

    With higher_is_better (accuracy): H0 δ ≤ −margin vs H1 δ > −margin, δ = mean(variant − reference),
    by ``scipy.stats.ttest_1samp(δ_i, -margin, alternative="greater")`` (paired) or Welch's
    ``ttest_ind`` (unpaired). For lower-is-better statistics (distances, losses) the sign is flipped.

    Returns
    -------
    InferenceResult
        kind ``noninferiority``; ``pvalue`` as above; ``pvalue_opposite`` tests H0 δ ≥ −margin
        (rejecting = *inferior*); effect = mean difference variant − reference (raw sign);
        ``confidence_interval()`` defaults to the two-sided (1 − 2α) interval, whose lower (or upper)
        end vs −margin (or +margin) gives the verdict.
    """
    m = _checks.margin(margin)
    s = 1.0 if higher_is_better else -1.0
    if paired:
        x, y = _checks.paired(variant, reference)
        d = x - y
        _checks.not_constant(d, "differences variant − reference", "a non-inferiority t test", _scale(x, y))
        res = st.ttest_1samp(s * d, -m, alternative="greater")
        opp = st.ttest_1samp(s * d, -m, alternative="less").pvalue
        ci, name, n, est = _t_ci(d), "non-inferiority paired t", d.size, d.mean()
    else:
        x = _checks.finite(variant, min_n=2, what="variant")
        y = _checks.finite(reference, min_n=2, what="reference")
        res = st.ttest_ind(s * x + m, s * y, equal_var=False, alternative="greater")
        opp = st.ttest_ind(s * x + m, s * y, equal_var=False, alternative="less").pvalue
        ci, name, n, est = _welch_ci(x, y), "non-inferiority Welch t", min(x.size, y.size), x.mean() - y.mean()
    _checks.check_result(res.statistic, res.pvalue, name)
    return InferenceResult(test=name, kind="noninferiority", statistic=float(res.statistic), pvalue=float(res.pvalue),
                           pvalue_opposite=float(opp), effect=float(est), effect_name="mean difference", n=int(n),
                           unit="seed", alternative="greater" if higher_is_better else "less", margin=m, alpha=alpha,
                           coords=dict(coords or {}), _ci=ci, ci_method="t" if paired else "Welch t",
                           default_confidence_level=1 - 2 * alpha,
                           details={"df": float(res.df), "higher_is_better": higher_is_better})


def shift_vs_noise(distance, noise, *, seeds=None, seed_a=None, seed_b=None, alternative: str = "greater",
                   alpha: float = 0.05, coords: dict | None = None) -> InferenceResult:
    """Is a variant's distance to the reference larger than the distance between two reference seeds?

    Design. ``distance[s]`` = D(variant at seed s, reference at seed s); ``noise[a, b]`` =
    D(reference seed a, reference seed b), the seed noise floor. The estimand is
    Δ = E[distance] − E[noise]; its estimate T = mean_s distance[s] − mean_{a<b} noise[a, b].
    The noise values are not independent (each seed enters S − 1 pairs, and the same reference run
    enters ``distance``), so a two-sample test of distances vs noise pairs would be anti-conservative.
    T is a smooth function of S independent seed bundles (each seed's reference and variant runs);
    its standard error is the delete-one-seed jackknife (leave out a seed's distance and every pair
    it enters), and T / SE is referred to Student's t with S − 1 df. For a U-statistic such as the
    mean noise the jackknife variance is conservative in expectation (Efron-Stein), so the test errs
    on the side of "inconclusive". An exact alternative does not exist here: the within-seed
    swap permutation of a full run-by-run distance matrix has a smallest p of 2/2**S = 0.0625 at 5
    seeds. Calibration at 5 seeds is shown by simulation in tests/test_inference_calibration.py.

    Parameters
    ----------
    distance : array-like or DataArray, dims (seed,)
    noise : array-like or DataArray, dims (seed_pair,)
        With ``seed_a`` / ``seed_b`` coordinates (DataArray) or arguments.
    seeds : array-like, optional
        Seed labels of ``distance`` (default: its ``seed`` coordinate, else 0 … S−1).

    Returns
    -------
    InferenceResult
        kind ``shift``, unit ``seed``, effect = T ("excess distance over noise floor", the metric's
        units), CI = T ± t_{S−1} SE; details: ``noise_floor`` (mean noise), ``ratio`` (mean distance /
        noise floor), ``se``, ``df``.

    Raises
    ------
    InferenceError
        Fewer than 3 seeds with a distance, a noise pair missing between two of them, or no spread.
    """
    alternative = _checks.alternative(alternative)
    d = _checks.values(distance, "distance")
    if seeds is None:
        seeds = distance["seed"].values if hasattr(distance, "coords") and "seed" in distance.coords else np.arange(d.size)
    seeds = np.asarray(seeds)
    nz = _checks.values(noise, "noise")
    if seed_a is None:
        if not (hasattr(noise, "coords") and "seed_a" in noise.coords and "seed_b" in noise.coords):
            raise InferenceError("noise needs seed_a / seed_b coordinates (or arguments) saying which seeds each pair "
                                 "compares")
        seed_a, seed_b = noise["seed_a"].values, noise["seed_b"].values
    seed_a, seed_b = np.asarray(seed_a), np.asarray(seed_b)
    keep = np.isfinite(d)
    d, seeds = d[keep], seeds[keep]
    S = d.size
    if S < 3:
        raise InferenceError(f"shift vs noise needs at least 3 seeds (a noise floor from seed pairs and a jackknife "
                             f"over seeds), got {S}; build more seeds")
    pos = {s: i for i, s in enumerate(seeds.tolist())}
    pairs = np.full((S, S), np.nan)
    for a, b, v in zip(seed_a.tolist(), seed_b.tolist(), nz):
        if a in pos and b in pos and a != b and np.isfinite(v):
            pairs[pos[a], pos[b]] = pairs[pos[b], pos[a]] = v
    iu = np.triu_indices(S, 1)
    if np.isnan(pairs[iu]).any():
        missing = [(seeds[i], seeds[j]) for i, j in zip(*iu) if np.isnan(pairs[i, j])]
        raise InferenceError(f"noise floor lacks {len(missing)} seed pair(s), e.g. {missing[0]}; compute the reference's "
                             "distance for every pair of the seeds tested")

    def estimate(idx: np.ndarray) -> float:
        sub = pairs[np.ix_(idx, idx)]
        return d[idx].mean() - sub[np.triu_indices(idx.size, 1)].mean()

    everything = np.arange(S)
    t_hat = estimate(everything)
    loo = np.array([estimate(np.delete(everything, s)) for s in range(S)])
    se = math.sqrt((S - 1) / S * ((loo - loo.mean()) ** 2).sum())
    if not se > 0:
        raise InferenceError(f"distances and noise floor are constant across {S} seeds: no seed-to-seed spread to "
                             "test against; check the inputs")
    df = S - 1
    t = t_hat / se
    p = {"greater": st.t.sf(t, df), "less": st.t.cdf(t, df), "two-sided": 2 * st.t.sf(abs(t), df)}[alternative]
    floor = pairs[iu].mean()

    def ci(level: float):
        q = st.t.ppf(0.5 + level / 2, df)
        return (t_hat - q * se, t_hat + q * se)

    return InferenceResult(test="shift vs seed noise (jackknife t)", kind="shift", statistic=float(t), pvalue=float(p),
                           effect=float(t_hat), effect_name="excess distance over noise floor", n=int(S), unit="seed",
                           alternative=alternative, alpha=alpha, coords=dict(coords or {}), _ci=ci,
                           ci_method="jackknife t",
                           details={"noise_floor": float(floor), "mean_distance": float(d.mean()),
                                    "ratio": float(d.mean() / floor) if floor > 0 else math.inf, "se": se, "df": df})
