"""Seed-level tests: the unit of a claim is a run, seeds are the replicates.

Each function takes one value per seed for a variant and for its ``baseline`` — the values of the
reference variant (``original``, :data:`paistats.vocabulary.REFERENCE_VARIANT`) at the same
(pruner, sparsity, seed): a final accuracy, or any per-run statistic (a layer's std, a distance).
(``reference`` always names a variant; the arrays compared with a variant are its ``baseline``.)
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
from statsmodels.stats.weightstats import ttost_paired

from paistats._deprecate import renamed_keywords
from paistats.errors import InferenceError, shown
from paistats.inference import _checks
from paistats.inference._result import InferenceResult
from paistats.vocabulary import SEED

PAIRED_TESTS = ("t", "wilcoxon", "signflip")


def _scale(x: np.ndarray, y: np.ndarray) -> float:
    return float(max(np.abs(x).max(), np.abs(y).max()))


def _tails(level: float, alternative: str) -> tuple[float, float]:
    """Error allowed below / above the interval: two-sided splits 1 − level, one-sided puts it on one side."""
    a = 1.0 - level
    return {"two-sided": (a / 2, a / 2), "greater": (a, 0.0), "less": (0.0, a)}[alternative]


def _t_ci(d: np.ndarray, alternative: str = "two-sided"):
    """Student-t interval of the mean of ``d`` at ``alternative`` (one-sided: an infinite end) and the
    t test of H0 mean = θ that it inverts."""
    res = st.ttest_1samp(d, 0.0, alternative=alternative)

    def p_at(theta: float) -> float:
        return float(st.ttest_1samp(d, theta, alternative=alternative).pvalue)
    return (lambda level: tuple(res.confidence_interval(level))), p_at


def _order_ci(values: np.ndarray, cdf: np.ndarray, alternative: str):
    """Interval [S(k), S(M+1−k)] from sorted ``values`` S with P(bound misses) = cdf[k−1] per side.

    ``cdf[j]`` = P(fewer than j + 1 of the values lie below the centre) under the test's exact null;
    a side whose allowed error is below cdf[0] is infinite (the test cannot reach that level).
    """
    def ci(level: float):
        lo_a, hi_a = _tails(level, alternative)
        out = []
        for a, sign in ((lo_a, -1), (hi_a, 1)):
            ok = np.nonzero(cdf <= a * (1 + 1e-12))[0]
            if ok.size == 0:
                out.append(sign * math.inf)
            else:
                k = int(ok[-1]) + 1
                out.append(values[k - 1] if sign < 0 else values[values.size - k])
        return tuple(out)
    return ci


def _signed_rank_counts(n: int) -> np.ndarray:
    """Number of sign patterns giving each W+ = 0 … n(n+1)/2 (exact null of the signed-rank statistic)."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1
    for k in range(1, n + 1):
        counts[k:] = counts[k:] + counts[:-k].copy()
    return counts


def _hodges_lehmann_ci(d: np.ndarray, alternative: str = "two-sided"):
    """Exact distribution-free CI of the pseudomedian: order statistics of the Walsh averages.

    The interval [W(k), W(M+1-k)] has coverage 1 - 2 P(W+ <= k-1) (the inversion of the exact
    signed-rank test); with too few seeds for the requested level a side is infinite (stated).
    """
    walsh = np.sort(((d[:, None] + d[None, :]) / 2)[np.triu_indices(d.size)])
    return _order_ci(walsh, np.cumsum(_signed_rank_counts(d.size)) / 2.0 ** d.size, alternative)


def _subset_means(d: np.ndarray) -> np.ndarray:
    """Sorted means of the 2**n − 1 non-empty subsets of ``d`` (n ≤ 20)."""
    n = d.size
    masks = ((np.arange(1, 2 ** n)[:, None] >> np.arange(n)) & 1).astype(float)
    return np.sort(masks @ d / masks.sum(axis=1))


def _signflip_ci(d: np.ndarray, alternative: str = "two-sided"):
    """Exact interval of the sign-flip test of the mean (test inversion) and its p-value of H0 mean = θ.

    A sign pattern flipping the subset F gives a mean at least the observed one exactly when
    mean_F(d) ≤ θ, so the one-sided p of H0 mean = θ vs greater is (1 + #{F ≠ ∅: mean_F ≤ θ}) / 2**n
    and the exact (1 − a) lower bound is the k-th smallest subset mean, k = ⌊a 2**n⌋ (Hartigan 1969).
    """
    means = _subset_means(d)
    total = 2.0 ** d.size
    cdf = np.arange(1, means.size + 1) / total  # P(lower bound S(k) misses) = k / 2**n

    def p_at(theta: float) -> float:
        greater = (1 + np.searchsorted(means, theta, side="right")) / total
        less = (1 + means.size - np.searchsorted(means, theta, side="left")) / total
        p = {"greater": greater, "less": less, "two-sided": 2 * min(greater, less)}[alternative]
        return float(min(1.0, p))
    return _order_ci(means, cdf, alternative), p_at


def _direction(h) -> bool | None:
    if h not in (True, False, None):
        raise InferenceError(f"higher_is_better must be True, False or None (no direction), got {h!r}")
    return h


def _margin(margin, x: np.ndarray, y: np.ndarray) -> float | None:
    return None if margin is None else _checks.margin_on_scale(margin, np.concatenate([x, y]))


@renamed_keywords(reference="baseline")
def paired_test(variant, baseline, *, test: str = "t", alternative: str = "two-sided", alpha: float = 0.05,
                margin: float | None = None, higher_is_better: bool | None = None,
                coords: dict | None = None) -> InferenceResult:
    """Paired comparison of a per-run quantity between a variant and its baseline across seeds.

    Parameters
    ----------
    variant, baseline : array-like or DataArray, dims (seed,)
        One value per seed (same seed order) of the variant and of the reference variant it is
        compared with; e.g. final accuracy (fraction) or a layer statistic. (Renamed from
        ``reference=``, which still works with a FutureWarning for one release.)
    test : {"t", "wilcoxon", "signflip"}
        ``scipy.stats.ttest_rel`` (interval: Student t); ``scipy.stats.wilcoxon`` (exact for n <= 50;
        zero differences dropped as scipy drops them, ``n`` = the non-zero ones; interval: exact
        Walsh averages = its inversion); exact sign-flip permutation of the mean difference
        (``scipy.stats.permutation_test`` over all 2**n signs, n ≤ 20; interval: its exact
        inversion, the order statistics of subset means).
    alternative : {"two-sided", "less", "greater"}
        For δ = variant − baseline; one-sided tests have one-sided intervals (an infinite end).
    alpha : float
        Level of the verdict: the interval is at ``1 − alpha``.
    margin : float, optional
        Equivalence / non-inferiority margin (data units): lets the verdict say *equivalent* or
        *non-inferior* (read off the same interval). Refused when implausible for the data's scale.
    higher_is_better : bool or None
        Verdict words: better / worse (True, False) or higher / lower (None).
    coords : dict, optional
        Labels of the cell tested (pruner, variant, sparsity, …), carried into the result.

    Returns
    -------
    InferenceResult
        kind ``difference``, unit ``seed``; effect = mean difference (t, sign-flip) or
        Hodges-Lehmann pseudomedian (Wilcoxon); ``min_pvalue`` = the smallest attainable p of the
        exact tests (2/2**n two-sided), so an "inconclusive" verdict can say the level is out of reach.

    Raises
    ------
    InferenceError
        Fewer than 2 seeds with both sides, all differences zero, (t) constant differences,
        (sign-flip) more than 20 seeds.
    """
    alternative = _checks.alternative(alternative)
    x, y = _checks.paired(variant, baseline)
    d = x - y
    if np.all(np.abs(d) <= 64 * np.finfo(float).eps * _scale(x, y)):
        raise InferenceError(f"variant equals the reference at all {d.size} seeds: nothing to test "
                             "(is the variant the reference itself?)")
    common = dict(kind="difference", unit="seed", alternative=alternative, alpha=alpha, margin=_margin(margin, x, y),
                  higher_is_better=_direction(higher_is_better), coords=dict(coords or {}))
    if test == "t":
        _checks.not_constant(d, "differences variant − reference", "a paired t test", _scale(x, y))
        res = st.ttest_rel(x, y, alternative=alternative)
        ci, p_at = _t_ci(d, alternative)
        sd = d.std(ddof=1)
        return InferenceResult(test="paired t", statistic=float(res.statistic), pvalue=float(res.pvalue),
                               effect=float(d.mean()), effect_name="mean difference", n=int(d.size), _ci=ci,
                               _p_at=p_at, ci_method="t",
                               details={"df": float(res.df), "cohen_dz": float(d.mean() / sd)}, **common)
    if test == "wilcoxon":
        res = st.wilcoxon(x, y, alternative=alternative)
        _checks.check_result(res.statistic, res.pvalue, "wilcoxon")
        dn = d[d != 0]  # scipy's default zero_method="wilcox" drops zero differences
        if dn.size < 2:
            raise InferenceError(f"wilcoxon: only {dn.size} non-zero difference(s) of {d.size} seeds; "
                                 "use test='t' or build more seeds")
        walsh = ((dn[:, None] + dn[None, :]) / 2)[np.triu_indices(dn.size)]
        return InferenceResult(test="wilcoxon signed-rank", statistic=float(res.statistic), pvalue=float(res.pvalue),
                               effect=float(np.median(walsh)), effect_name="Hodges-Lehmann pseudomedian",
                               n=int(dn.size), min_pvalue=_min_p(dn.size, alternative),
                               _ci=_hodges_lehmann_ci(dn, alternative),
                               _p_at=lambda t: float(st.wilcoxon(dn - t, alternative=alternative).pvalue),
                               ci_method="exact Walsh averages (signed-rank inversion)",
                               details={"zeros_dropped": int(d.size - dn.size)}, **common)
    if test == "signflip":
        if d.size > 20:
            raise InferenceError(f"the exact sign-flip test enumerates 2**n sign patterns; {d.size} seeds is too "
                                 "many (at most 20): use test='t' or 'wilcoxon'")
        res = st.permutation_test((d,), np.mean, permutation_type="samples", alternative=alternative,
                                  n_resamples=np.inf, vectorized=True)
        ci, p_at = _signflip_ci(d, alternative)
        return InferenceResult(test="sign-flip permutation", statistic=float(res.statistic),
                               pvalue=float(res.pvalue), effect=float(d.mean()), effect_name="mean difference",
                               n=int(d.size), min_pvalue=_min_p(d.size, alternative), _ci=ci, _p_at=p_at,
                               ci_method="exact sign-flip inversion (subset means)", details={"exact": True},
                               **common)
    raise InferenceError(f"unknown paired test {test!r}; choose one of {', '.join(PAIRED_TESTS)}")


def _min_p(n: int, alternative: str) -> float:
    return min(1.0, (2.0 if alternative == "two-sided" else 1.0) / 2.0 ** n)


def _refuse_unpaired(paired: bool, what: str) -> None:
    if not paired:
        raise InferenceError(f"unpaired (Welch) {what} is refused: with few seeds it claimed 'equivalent' 12% of "
                             "the time at δ = −margin (nominal 5%); pair variant and reference by seed (the zoo's "
                             "design), paired=True")


@renamed_keywords(reference="baseline")
def equivalence_test(variant, baseline, *, margin: float, paired: bool = True, alpha: float = 0.05,
                     higher_is_better: bool | None = None, coords: dict | None = None) -> InferenceResult:
    """Equivalence (TOST, paired by seed): is |δ| < margin, δ = mean(variant − reference)?

    The claim is read off the two-sided (1 − α) Student-t interval of δ: *equivalent* when it lies
    inside (−margin, margin), i.e. both one-sided t tests at α/2 (ICH E9's convention; statsmodels'
    ``ttost_paired`` at α/2). The stricter level keeps the claim's type-I error ≤ 0.05 under
    left-skewed seed noise (a variant that now and then trains badly; measured in
    tests/test_inference_verdicts.py), where one-sided tests at α reached 0.08.

    Parameters
    ----------
    variant, baseline : array-like or DataArray, dims (seed,)
        One value per seed of the variant and of the reference variant (``reference=`` still
        works with a FutureWarning for one release).
    margin : float
        Equivalence bound in the data's units (e.g. 0.01 = one accuracy point); the interval is
        (−margin, margin). Refused when implausible for the data (≥ 0.5 on fractions in [0, 1]).
    paired : bool
        Must be True: the unpaired Welch TOST is refused (liberal with few seeds).
    alpha : float
        Level of the verdict: the two-sided interval is at ``1 − alpha``.
    higher_is_better : bool or None
        Words of a significant difference (better / worse, or higher / lower).
    coords : dict, optional
        Labels of the cell tested, carried into the result.

    Returns
    -------
    InferenceResult
        kind ``equivalence``: ``pvalue`` = min(1, 2 × statsmodels' TOST p) (< α exactly when the
        interval lies inside the margins), ``statistic`` = the t of the binding one-sided test;
        ``details["reference_pvalue"]`` = statsmodels' TOST p.
    """
    _refuse_unpaired(paired, "TOST")
    x, y = _checks.paired(variant, baseline)
    m = _checks.margin_on_scale(margin, np.concatenate([x, y]))
    d = x - y
    _checks.not_constant(d, "differences variant − reference", "TOST", _scale(x, y))
    p, lo, hi = ttost_paired(x, y, -m, m)
    binding = lo if lo[1] >= hi[1] else hi
    _checks.check_result(binding[0], p, "TOST paired")
    ci, p_at = _t_ci(d)
    return InferenceResult(test="TOST paired", kind="equivalence", statistic=float(binding[0]),
                           pvalue=float(min(1.0, 2 * p)), effect=float(d.mean()), effect_name="mean difference",
                           n=int(d.size), unit="seed", alternative="two-sided", margin=m, alpha=alpha,
                           higher_is_better=_direction(higher_is_better), coords=dict(coords or {}), _ci=ci,
                           _p_at=p_at, ci_method="t",
                           details={"reference_pvalue": float(p), "t_lower": float(lo[0]), "p_lower": float(lo[1]),
                                    "t_upper": float(hi[0]), "p_upper": float(hi[1]), "df": float(lo[2])})


@renamed_keywords(reference="baseline")
def noninferiority_test(variant, baseline, *, margin: float, higher_is_better: bool = True, paired: bool = True,
                        alpha: float = 0.05, coords: dict | None = None) -> InferenceResult:
    """Non-inferiority ("same or better"), paired by seed: is the variant worse by less than ``margin``?

    With higher_is_better (accuracy): H0 δ ≤ −margin vs H1 δ > −margin, δ = mean(variant − baseline),
    by ``scipy.stats.ttest_1samp(δ_i, -margin, alternative="greater")``; for lower-is-better
    statistics (distances, losses) the sign is flipped. The claim is read off the two-sided (1 − α)
    t interval (lower end above −margin), i.e. the one-sided test at α/2 (ICH E9), which keeps its
    type-I error ≤ 0.05 under left-skewed seed noise where the one-sided test at α reached 0.08.

    Parameters
    ----------
    variant, baseline : array-like or DataArray, dims (seed,)
        One value per seed of the variant and of the reference variant (``reference=`` still
        works with a FutureWarning for one release).
    margin : float
        Largest loss called negligible, in the data's units (0.01 = one accuracy point).
    higher_is_better : bool
        True for accuracy, False for losses and distances (the sign of "worse").
    paired : bool
        Must be True (the unpaired test is refused).
    alpha : float
        Level of the verdict: the two-sided interval is at ``1 − alpha``.
    coords : dict, optional
        Labels of the cell tested, carried into the result.

    Returns
    -------
    InferenceResult
        kind ``noninferiority``; ``pvalue`` = min(1, 2 × the one-sided p) (< α exactly when the
        interval clears the margin); ``details["reference_pvalue"]`` = scipy's one-sided p; effect
        = mean difference variant − baseline (raw sign). The verdict may also be better / worse /
        equivalent when the interval says so.
    """
    _refuse_unpaired(paired, "non-inferiority test")
    if higher_is_better not in (True, False):
        raise InferenceError(f"non-inferiority needs a direction: higher_is_better=True (accuracy) or False (loss, "
                             f"distance), got {higher_is_better!r}")
    x, y = _checks.paired(variant, baseline)
    m = _checks.margin_on_scale(margin, np.concatenate([x, y]))
    s = 1.0 if higher_is_better else -1.0
    d = x - y
    _checks.not_constant(d, "differences variant − reference", "a non-inferiority t test", _scale(x, y))
    res = st.ttest_1samp(s * d, -m, alternative="greater")
    _checks.check_result(res.statistic, res.pvalue, "non-inferiority paired t")
    ci, p_at = _t_ci(d)
    return InferenceResult(test="non-inferiority paired t", kind="noninferiority", statistic=float(res.statistic),
                           pvalue=float(min(1.0, 2 * res.pvalue)), effect=float(d.mean()),
                           effect_name="mean difference", n=int(d.size), unit="seed", alternative="two-sided",
                           margin=m, alpha=alpha, higher_is_better=higher_is_better, coords=dict(coords or {}),
                           _ci=ci, _p_at=p_at, ci_method="t",
                           details={"df": float(res.df), "reference_pvalue": float(res.pvalue)})


def shift_vs_noise(distance, noise, *, seeds=None, seed_a=None, seed_b=None, alternative: str = "greater",
                   alpha: float = 0.05, coords: dict | None = None) -> InferenceResult:
    """Is a variant farther from the reference than two seeds of the reference are from each other?

    The question is exactly that one: H0 is "the variant's distance to the reference (same seed) is
    no larger than the distance between two reference seeds" — *not* "the variant equals the
    reference". A consistent shift smaller than the seed noise floor is inside this null and is
    never called "above noise" (a paired test of a per-run statistic asks that other question).

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
    seed_a, seed_b : array-like, optional
        The two seeds each noise value compares (default: ``noise``'s coordinates).
    alternative : {"greater", "less", "two-sided"}
        Verdict words follow it: "greater" can say *above noise* (interval [L, ∞)), "less" *below
        noise* ((−∞, U]), "two-sided" either ([L, U]); otherwise *inconclusive*.
    alpha : float
        Level of the verdict: the interval is at ``1 − alpha``.
    coords : dict, optional
        Labels of the cell tested, carried into the result.

    Returns
    -------
    InferenceResult
        kind ``shift``, unit ``seed``, effect = T ("excess distance over noise floor", the metric's
        units), interval T ± t_{S−1} SE (one-sided for one-sided alternatives); details:
        ``noise_floor`` (mean noise), ``ratio`` (mean distance / noise floor), ``se``, ``df``.

    Raises
    ------
    InferenceError
        Fewer than 3 seeds with a distance, a noise pair missing between two of them, no spread, or
        a negative distance (a signed metric such as ``log_std_ratio``: pass ``abs(x)``, and the test
        then asks whether |x| exceeds the seed-to-seed |x|).
    """
    alternative = _checks.alternative(alternative)
    d = _checks.values(distance, "distance")
    _checks.non_negative(d, "distance")
    _checks.non_negative(_checks.values(noise, "noise"), "noise")
    if seeds is None:
        seeds = distance[SEED].values if hasattr(distance, "coords") and SEED in distance.coords else np.arange(d.size)
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
        raise InferenceError(f"noise floor lacks {len(missing)} seed pair(s), e.g. {shown(missing[0])}; compute the reference's "
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
    def p_at(theta: float) -> float:
        u = (t_hat - theta) / se
        return float({"greater": st.t.sf(u, df), "less": st.t.cdf(u, df), "two-sided": 2 * st.t.sf(abs(u), df)}[
            alternative])

    floor = pairs[iu].mean()

    def ci(level: float):
        lo_a, hi_a = _tails(level, alternative)
        return (t_hat - st.t.isf(lo_a, df) * se if lo_a > 0 else -math.inf,
                t_hat + st.t.isf(hi_a, df) * se if hi_a > 0 else math.inf)

    return InferenceResult(test="shift vs seed noise (jackknife t)", kind="shift", statistic=float(t),
                           pvalue=p_at(0.0), effect=float(t_hat), effect_name="excess distance over noise floor",
                           n=int(S), unit="seed", alternative=alternative, alpha=alpha, coords=dict(coords or {}),
                           _ci=ci, _p_at=p_at, ci_method="jackknife t",
                           details={"noise_floor": float(floor), "mean_distance": float(d.mean()),
                                    "ratio": float(d.mean() / floor) if floor > 0 else math.inf, "se": se, "df": df,
                                    "question": "farther from the reference than two seeds of the reference are "
                                                "from each other"})
