"""One model per question, each with its population in words.

* :func:`immunity` — Frankle et al.'s question through the weights: among shuffle and reinit runs,
  compared with the original of the same pruner, sparsity and seed and *within* pruner × sparsity
  cells, does the kept weights' shift at initialization explain the accuracy change? (Trained
  shift, an outcome of training, is reported beside it as an association in a model of its own.)
* :func:`invert_cost` — what a wrong mask costs: Δaccuracy of ``invert`` against ``original`` per
  pruner × sparsity, disconnected runs counted.

Verdicts speak in the data's range (:func:`shift_verdict`): the slope times the median observed
shift, with its interval, against an accuracy margin.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.stats as ss

from paistats._deprecate import renamed_keywords
from paistats.errors import InferenceError
from paistats.regress.models import RESPONSE, RegressionResult, ols
from paistats.vocabulary import INIT, PRUNER, RANDOM_PRUNER, SEED, SPARSITY, TRAINED, VARIANT

SHIFT = {INIT: "wasserstein_rel_init", TRAINED: "wasserstein_rel_trained"}
IMMUNITY_VARIANTS = ("shuffle", "reinit")
# (pruner, variant) pairs whose variant changes nothing in distribution: a random mask is independent
# of the weights, so permuting it (shuffle) or redrawing the weights under it (reinit) gives a run
# drawn from the same distribution as the original.
NO_OP = {RANDOM_PRUNER: IMMUNITY_VARIANTS}
CELL_KEYS = ("arch", "dataset", PRUNER, SPARSITY)
VERDICTS = ("detected", "negligible", "no detectable relation", "inconclusive")


@dataclass
class ShiftEffect:
    """The answer of one shift model in the data's range.

    Attributes
    ----------
    term : str
        The shift column (e.g. ``wasserstein_rel_init``; parameter-weighted W1/σ, unitless).
    role : {"explanatory", "association"}
        Init shift is measured before training (explanatory); trained shift is an outcome of training.
    fit : RegressionResult
        The OLS fit (CR3 jackknife by seed, t on G − 1 df).
    slope, slope_low, slope_high : float
        Δaccuracy (fraction) per unit of shift, with its ``1 − alpha`` interval.
    at : str
        Whose median shift the effect is quoted at (``"shuffle"`` or ``"all runs"``).
    at_shift : float
        That median shift (unit of ``term``).
    effect, ci_low, ci_high : float
        slope × at_shift and its interval (fractions of accuracy; 0.01 = 1 pp).
    margin : float
        Accuracy margin (fraction) of the equivalence reading.
    level : float
        ``1 − alpha``, the level of the interval and of the verdict.
    verdict : str
        One of :data:`VERDICTS`.
    sentence : str
        The verdict in words, with the interval it used.
    """

    term: str
    role: str
    fit: RegressionResult
    slope: float
    slope_low: float
    slope_high: float
    at: str
    at_shift: float
    effect: float
    ci_low: float
    ci_high: float
    margin: float
    level: float
    verdict: str
    sentence: str


@dataclass
class Immunity:
    """Result of :func:`immunity`.

    Attributes
    ----------
    population : str
        Which variants, cells and runs the models use, and what was excluded and why (words).
    rows : pandas.DataFrame
        The runs the models use (shift-table rows plus ``cell``).
    excluded : dict of str to int
        Runs left out, by reason.
    no_ops : list of str
        ``pruner × variant`` pairs null by construction (left out, named).
    init : ShiftEffect
        Explanatory model (shift at initialization).
    trained : ShiftEffect or None
        Association model (trained shift), when the table has the column.
    """

    population: str
    rows: pd.DataFrame
    excluded: dict
    no_ops: list
    init: ShiftEffect
    trained: ShiftEffect | None = None
    n_cells: int = 0
    n_seeds: int = 0


@dataclass
class InvertCost:
    """Result of :func:`invert_cost`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per cell (``arch``/``dataset`` when present, ``pruner``, ``sparsity``): ``n_runs``,
        ``n_disconnected``, ``mean_delta`` (fraction; every run, disconnected included), ``ci_low``,
        ``ci_high`` (t interval over seeds at ``1 − alpha``, not adjusted over cells),
        ``mean_delta_connected`` and ``n_connected``.
    population : str
        The runs in words.
    n_runs, n_disconnected : int
        Runs in the table, and how many of them are disconnected.
    extra : dict
        Further numbers, by name.
    """

    table: pd.DataFrame
    population: str
    n_runs: int
    n_disconnected: int
    extra: dict = field(default_factory=dict)


def pp(x: float) -> str:
    """A fraction of accuracy as signed percentage points.

    Parameters
    ----------
    x : float
        Accuracy fraction (0.0123 = 1.23 pp).

    Returns
    -------
    str
        ``'+1.23'``.
    """
    return f"{100 * x:+.2f}"


def shift_verdict(slope: float, low: float, high: float, at_shift: float, margin: float) -> tuple[str, float, float, float]:
    """Read a slope's interval at an observed shift against an accuracy margin.

    Parameters
    ----------
    slope, low, high : float
        Slope (accuracy fraction per unit of shift) and its interval.
    at_shift : float
        An observed shift (> 0), e.g. the median shuffle's.
    margin : float
        Accuracy margin (fraction, > 0).

    Returns
    -------
    verdict : str
        ``detected`` (interval excludes 0 and reaches beyond the margin), ``negligible`` (excludes 0,
        inside ±margin), ``no detectable relation`` (contains 0, inside ±margin), ``inconclusive``
        (contains 0, reaches beyond the margin).
    effect, ci_low, ci_high : float
        slope × at_shift and its interval (the same level as the slope's).

    Raises
    ------
    InferenceError
        A shift or margin that is not positive.
    """
    if not at_shift > 0:
        raise InferenceError(f"the median shift is {float(at_shift):g}; an effect at a shift needs a positive shift")
    if not margin > 0:
        raise InferenceError(f"margin must be a positive accuracy fraction (0.01 = 1 pp), got {float(margin):g}")
    effect, lo, hi = slope * at_shift, low * at_shift, high * at_shift
    inside = -margin < lo and hi < margin
    excludes_zero = lo > 0 or hi < 0
    if excludes_zero:
        return ("negligible" if inside else "detected"), effect, lo, hi
    return ("no detectable relation" if inside else "inconclusive"), effect, lo, hi


def _sentence(verdict: str, role: str, at: str, at_shift: float, effect: float, lo: float, hi: float,
              margin: float, level: float) -> str:
    iv = f"[{pp(lo)}, {pp(hi)}] ({100 * level:g}% interval)"
    who = f"the median {at}'s" if at != "all runs" else "the median run's"
    prefix = ""
    if role == "explanatory":
        subject = f"a shift at init as large as {who} (W1/σ = {at_shift:.3g}) moves accuracy by"
    else:
        prefix = "association, not explanation (trained shift is an outcome of training): "
        subject = f"runs whose trained shift is as large as {who} (W1/σ = {at_shift:.3g}) differ in accuracy by"
    m = f"{100 * margin:g} pp"
    if verdict == "detected":
        return f"{prefix}{subject} {pp(effect)} pp {iv}"
    if verdict == "negligible":
        return f"{prefix}{subject} {pp(effect)} pp {iv}: detectable but inside the ±{m} margin"
    bound = 100 * max(abs(lo), abs(hi))
    if verdict == "no detectable relation":
        return f"{prefix}no detectable relation; |effect| < {bound:.2f} pp at {who} shift, {pp(effect)} pp {iv}, inside ±{m}"
    return f"{prefix}inconclusive: {pp(effect)} pp {iv} at {who} shift; the interval reaches beyond ±{m}"


def _cells(df: pd.DataFrame) -> pd.Series:
    keys = [k for k in CELL_KEYS if k in df.columns]
    return df[keys].astype(str).agg(" × ".join, axis=1)


def _population(table: pd.DataFrame, variants, no_op: dict, shift_cols) -> tuple[pd.DataFrame, dict, list]:
    """Rows of the immunity question and the runs left out, by reason."""
    need = {PRUNER, VARIANT, SPARSITY, SEED, RESPONSE}
    missing = need - set(table.columns)
    if missing:
        raise InferenceError(f"the table lacks {sorted(missing)}: pass paistats.shift_table(...) output")
    df = table[table[VARIANT].isin(variants) & (table[SPARSITY] > 0)].copy()
    if df.empty:
        raise InferenceError(f"no pruned run of {', '.join(variants)} in the table (variants: "
                             f"{', '.join(map(str, table['variant'].unique()))})")
    excluded = {}
    disc = np.zeros(len(df), bool)
    for c in ("disconnected", "disconnected_ref"):
        if c in df:
            disc |= df[c].fillna(False).astype(bool).to_numpy()
    excluded["disconnected (the run or its original)"] = int(disc.sum())
    df = df[~disc]
    noop = np.zeros(len(df), bool)
    named = []
    for pruner, vs in no_op.items():
        hit = (df[PRUNER] == pruner) & df[VARIANT].isin(vs)
        if hit.any():
            named.append(f"{pruner} under {'/'.join(v for v in vs if v in set(df.loc[hit, 'variant']))}")
        noop |= hit.to_numpy()
    excluded["no-op by construction (" + (", ".join(named) or "none") + ")"] = int(noop.sum())
    df = df[~noop]
    bad = df[[RESPONSE, *shift_cols]].isna().any(axis=1).to_numpy()
    excluded["missing Δaccuracy or shift"] = int(bad.sum())
    df = df[~bad]
    df["cell"] = _cells(df)
    seeds = df.groupby("cell")[SEED].nunique()
    thin = df["cell"].isin(seeds.index[seeds < 2]).to_numpy()
    excluded["cells with fewer than 2 seeds left"] = int(thin.sum())
    df = df[~thin]
    if df.empty or df[SEED].nunique() < 2:
        raise InferenceError(f"no connected, non-trivial {'/'.join(variants)} runs from ≥ 2 seeds remain "
                             f"(excluded: {', '.join(f'{k}: {n}' for k, n in excluded.items() if n)})")
    return df.reset_index(drop=True), {k: n for k, n in excluded.items() if n}, named


def _formula(df: pd.DataFrame, term: str) -> str:
    terms = [term]
    if df[VARIANT].nunique() > 1:
        terms.append("C(variant)")
    if df["cell"].nunique() > 1:
        terms.append("C(cell)")
    return f"{RESPONSE} ~ " + " + ".join(terms)


def _effect(df: pd.DataFrame, term: str, role: str, *, at: str, margin: float, alpha: float,
            groups: str) -> ShiftEffect:
    fit = ols(df, _formula(df, term), groups=groups, alpha=alpha)
    row = fit.coefficients.set_index("term").loc[term]
    where = df[VARIANT] == at
    at_name = at if where.any() else "all runs"
    at_shift = float(df.loc[where, term].median() if where.any() else df[term].median())
    verdict, effect, lo, hi = shift_verdict(row["estimate"], row["ci_low"], row["ci_high"], at_shift, margin)
    sentence = _sentence(verdict, role, at_name, at_shift, effect, lo, hi, margin, 1 - alpha)
    return ShiftEffect(term, role, fit, float(row["estimate"]), float(row["ci_low"]), float(row["ci_high"]), at_name,
                       at_shift, effect, lo, hi, margin, 1 - alpha, verdict, sentence)


@renamed_keywords(cluster="groups")
def immunity(table: pd.DataFrame, *, variants=IMMUNITY_VARIANTS, init: str = SHIFT[INIT],
             trained: str | None = SHIFT[TRAINED], at: str = "shuffle", margin: float = 0.01,
             alpha: float = 0.05, no_op: dict = NO_OP, groups: str = SEED) -> Immunity:
    """Does shift at initialization explain the accuracy change under shuffle and reinit?

    Population: runs of ``variants`` (default shuffle and reinit) at sparsity > 0, each against the
    original of the same pruner, sparsity and seed (``delta_accuracy``); runs that are disconnected
    (or whose original is) are excluded and counted, as are (pruner, variant) pairs that are no-ops
    by construction (``random`` under shuffle and reinit) and cells left with fewer than 2 seeds.

    Model: ``delta_accuracy ~ shift + C(variant) + C(cell)`` with ``cell`` = (arch, dataset,) pruner
    × sparsity, i.e. the slope compares runs within a cell and a variant; OLS with the
    leave-one-seed-out jackknife (CR3) and t tests on G − 1 df. ``init`` is the explanatory shift
    (measured before training); ``trained`` gets its own model and is reported as association.

    Parameters
    ----------
    table : DataFrame
        :func:`paistats.shift_table` output (one row per run; columns ``pruner``, ``variant``,
        ``sparsity``, ``seed``, ``delta_accuracy``, the shift columns, optionally ``disconnected``,
        ``disconnected_ref``, ``arch``, ``dataset``).
    variants : sequence of str
        Variants in the question (default shuffle, reinit).
    init, trained : str
        Shift columns (default parameter-weighted W1/σ at init and trained); ``trained=None`` skips
        the association model.
    at : str
        The effect is quoted at the median shift of this variant's runs (all runs when absent).
    margin : float
        Accuracy margin (fraction; default 0.01 = 1 pp) for "no detectable relation".
    alpha : float
        Level: every interval and verdict is at ``1 − alpha``.
    no_op : dict of str to tuple of str
        Pruner → variants that are null by construction for it.
    groups : str
        Cluster column of the OLS fits (default ``seed``), as in :func:`paistats.regress.ols`
        (``cluster=``, the old name, still works with a FutureWarning).

    Returns
    -------
    Immunity
        Population in words, the runs used and left out, and the explanatory (``init``) and
        association (``trained``) effects.

    Raises
    ------
    InferenceError
        Missing columns, or no connected non-trivial runs from at least 2 seeds.

    Examples
    --------
    >>> imm = regress.immunity(paistats.shift_table(tree, paistats.distances(tree)))  # doctest: +SKIP
    >>> imm.init.verdict, imm.init.sentence, imm.population  # doctest: +SKIP
    """
    cols = [c for c in (init, trained) if c]
    for c in cols:
        if c not in table.columns:
            raise InferenceError(f"shift column {c!r} is not in the table; pass init=/trained= (columns: "
                                 f"{', '.join(map(str, table.columns))})")
    df, excluded, named = _population(table, list(variants), no_op, cols)
    explain = _effect(df, init, "explanatory", at=at, margin=margin, alpha=alpha, groups=groups)
    assoc = (_effect(df, trained, "association", at=at, margin=margin, alpha=alpha, groups=groups)
             if trained else None)
    n_cells, n_seeds = int(df["cell"].nunique()), int(df[groups].nunique())
    counts = ", ".join(f"{n} {v}" for v, n in df[VARIANT].value_counts().items())
    out = ", ".join(f"{n} {k}" for k, n in excluded.items()) or "none"
    population = (f"{' and '.join(variants)} runs against the original of the same pruner, sparsity and seed, "
                  f"compared within {n_cells} pruner × sparsity cells, connected runs only: {len(df)} runs ({counts}) "
                  f"from {n_seeds} seeds; excluded: {out}")
    return Immunity(population, df, excluded, named, explain, assoc, n_cells, n_seeds)


def invert_cost(table: pd.DataFrame, *, variant: str = "invert", alpha: float = 0.05) -> InvertCost:
    """What a wrong mask costs: Δaccuracy of ``variant`` (invert) against original per pruner × sparsity.

    Every run counts (a disconnected network is part of the cost); disconnected runs are counted,
    and the mean over connected runs is given beside. The interval is the t interval over seeds
    (paired differences), per cell, not adjusted over cells (the Frankle section tests them with Holm).

    Parameters
    ----------
    table : DataFrame
        :func:`paistats.shift_table` output.
    variant : str
        The variant whose cost is measured (default invert).
    alpha : float
        Intervals at ``1 − alpha``.

    Returns
    -------
    InvertCost
        One row per pruner × sparsity cell and the population in words.

    Raises
    ------
    InferenceError
        Missing columns, or no pruned run of ``variant``.
    """
    need = {PRUNER, VARIANT, SPARSITY, SEED, RESPONSE}
    if not need <= set(table.columns):
        raise InferenceError(f"the table lacks {sorted(need - set(table.columns))}: pass paistats.shift_table(...) output")
    df = table[(table[VARIANT] == variant) & (table[SPARSITY] > 0)].dropna(subset=[RESPONSE]).copy()
    if df.empty:
        raise InferenceError(f"no pruned {variant!r} run in the table (variants: "
                             f"{', '.join(map(str, table['variant'].unique()))})")
    disc = np.zeros(len(df), bool)
    for c in ("disconnected", "disconnected_ref"):
        if c in df:
            disc |= df[c].fillna(False).astype(bool).to_numpy()
    df["_disc"] = disc
    keys = [k for k in CELL_KEYS if k in df.columns]
    rows = []
    for cell, g in df.groupby(keys, sort=True):
        d = g[RESPONSE].to_numpy(float)
        n = d.size
        if n >= 2:
            lo, hi = ss.ttest_1samp(d, 0.0).confidence_interval(1 - alpha)
        else:
            lo = hi = np.nan
        conn = d[~g["_disc"].to_numpy()]
        rows.append({**dict(zip(keys, cell if isinstance(cell, tuple) else (cell,))), "n_runs": n,
                     "n_disconnected": int(g["_disc"].sum()), "mean_delta": float(d.mean()), "ci_low": float(lo),
                     "ci_high": float(hi), "mean_delta_connected": float(conn.mean()) if conn.size else np.nan,
                     "n_connected": int(conn.size)})
    out = pd.DataFrame(rows)
    population = (f"{variant} runs against the original of the same pruner, sparsity and seed, per pruner × sparsity "
                  f"({len(out)} cells, {len(df)} runs, {int(disc.sum())} disconnected and kept: a disconnected network "
                  "is part of what a wrong mask costs)")
    return InvertCost(out, population, len(df), int(disc.sum()))
