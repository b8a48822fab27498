"""Validation and small summaries of the tidy tables the charts draw (no plotting here)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from paistats import vocabulary as V
from paistats._deprecate import renamed_keywords
from paistats.errors import shown
from paistats.vocabulary import PRUNER, SEED, SPARSITY, VARIANT

#: Variant order of every legend and facet (the zoo's canonical order).
VARIANT_ORDER = V.VARIANT_ORDER
#: Pruner order of every legend and facet: the random baseline first, then by publication.
PRUNER_ORDER = (V.RANDOM_PRUNER, "magnitude", "snip", "grasp", "grasp_abs", "synflow")
STAGE_ORDER = V.STAGES
#: Label of the seed noise floor (two seeds of the reference) in a distance plot.
NOISE_FLOOR = "noise floor"
#: Comparisons of a distance plot: every variant against the reference, random pruning, the noise floor.
COMPARISON_ORDER = tuple(v for v in VARIANT_ORDER if v != V.REFERENCE_VARIANT) + (V.RANDOM_PRUNER, NOISE_FLOOR)


def tidy(obj) -> pd.DataFrame:
    """``obj`` as a flat DataFrame: a DataFrame as it is; an xarray DataArray becomes one row per
    finite element (``to_dataframe().reset_index()``, NaN rows dropped: e.g. ``accuracy.where(complete)``);
    a Dataset one row per element, its ``complete`` flag, when present, keeping the complete runs only."""
    if isinstance(obj, pd.DataFrame):
        return obj
    import xarray as xr

    if isinstance(obj, xr.DataArray):   # NaN = a run not built or not complete: no row
        name = obj.name or "value"
        return obj.to_dataframe(name=name).reset_index().dropna(subset=[name]).reset_index(drop=True)
    if isinstance(obj, xr.Dataset):
        df = obj.to_dataframe().reset_index()
        if "complete" in df:
            df = df[df["complete"].fillna(False).astype(bool)].drop(columns="complete")
        return df.reset_index(drop=True)
    return obj


def require(df, columns, what: str) -> pd.DataFrame:
    """``df`` (a DataFrame, or an xarray object: see :func:`tidy`) as a flat DataFrame holding every
    name in ``columns``; one-line errors name what is missing."""
    df = tidy(df)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} takes a pandas DataFrame or an xarray Dataset / DataArray (a paistats table), "
                        f"got {type(df).__name__}")
    if any(n is not None for n in df.index.names) and not set(columns) <= set(df.columns):
        df = df.reset_index()
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs columns {', '.join(columns)}; missing {', '.join(missing)} "
                         f"(got {', '.join(map(str, df.columns))})")
    return df


def check_confidence_level(confidence_level) -> float:
    """``confidence_level`` as a float strictly between 0 and 1; a one-line error otherwise.

    Parameters
    ----------
    confidence_level : float
        Coverage of an interval, as a fraction (0.95 for a 95 % interval).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If it is not a number in (0, 1) (e.g. a percentage such as 95).
    """
    try:
        level = float(confidence_level)
    except (TypeError, ValueError):
        level = np.nan
    if not 0 < level < 1:
        raise ValueError(f"confidence_level must be a fraction strictly between 0 and 1 (0.95 for a 95% interval), "
                         f"got {shown(confidence_level)}")
    return level


@renamed_keywords(confidence="confidence_level")
def seed_interval(df: pd.DataFrame, value: str, by: list[str], *, confidence_level: float = 0.95) -> pd.DataFrame:
    """Mean of ``value`` over the rows of each ``by`` group (the seeds) with a Student-t interval.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per seed (run) with the columns ``by`` and ``value``; non-finite values are left out.
    value : str
        The column averaged (its unit is the unit of ``mean``, ``lower``, ``upper``, ``std``).
    by : list of str
        The columns that define a group (e.g. ``pruner``, ``variant``, ``sparsity``).
    confidence_level : float
        Coverage of the interval ``mean ± t(1 − (1 − confidence_level) / 2, n − 1) · std / √n``.
        ``confidence=`` is its deprecated spelling (a :class:`FutureWarning`).

    Returns
    -------
    pandas.DataFrame
        One row per group, in first-seen order: the ``by`` columns, ``mean``, ``lower``, ``upper``
        (NaN with fewer than 2 finite values), ``n`` (finite values) and ``std`` (ddof 1).

    Raises
    ------
    ValueError
        If ``confidence_level`` is not in (0, 1).
    """
    confidence_level = check_confidence_level(confidence_level)

    def one(x: pd.Series) -> pd.Series:
        x = x[np.isfinite(x)]
        n = len(x)
        mean = x.mean() if n else np.nan
        sd = x.std(ddof=1) if n > 1 else np.nan
        half = stats.t.ppf(0.5 + confidence_level / 2, n - 1) * sd / np.sqrt(n) if n > 1 else np.nan
        return pd.Series({"mean": mean, "lower": mean - half, "upper": mean + half, "n": n, "std": sd})

    out = df.groupby(by, sort=False, observed=True)[value].apply(one).unstack().reset_index()
    out["n"] = out["n"].astype(int)
    return out


def ordered(values, preferred=()) -> list:
    """Unique ``values`` in first-seen order, with names from ``preferred`` first in their order."""
    seen = list(dict.fromkeys(values))
    return [v for v in preferred if v in seen] + [v for v in seen if v not in preferred]


def paired_delta(runs: pd.DataFrame, value: str, *, reference: str = V.REFERENCE_VARIANT) -> pd.DataFrame:
    """Each pruned run's ``value`` minus the ``reference`` variant's of the same pruner, sparsity and seed.

    Parameters
    ----------
    runs : pandas.DataFrame
        Columns ``pruner``, ``variant``, ``sparsity``, ``seed`` and ``value``; rows at sparsity 0
        (dense baselines) are ignored.
    value : str
        Column to difference (e.g. ``accuracy`` as a fraction).
    reference : str
        The variant subtracted.

    Returns
    -------
    pandas.DataFrame
        Columns ``pruner``, ``variant``, ``sparsity``, ``seed``, ``delta`` (same unit as ``value``):
        one row per run of every other variant whose reference run exists (a seed without its
        reference is left out).
    """
    keys = [PRUNER, SPARSITY, SEED]
    pruned = runs[runs[SPARSITY] > 0]
    ref = pruned[pruned[VARIANT] == reference][keys + [value]].rename(columns={value: "_ref"})
    other = pruned[pruned[VARIANT] != reference]
    out = other.merge(ref, on=keys, how="inner")
    out["delta"] = out[value] - out["_ref"]
    return out[[PRUNER, VARIANT, SPARSITY, SEED, "delta"]].dropna(subset=["delta"]).reset_index(drop=True)


def dense_mean(runs: pd.DataFrame, value: str, *, confidence_level: float = 0.95) -> pd.DataFrame:
    """Mean ``value`` of the dense baselines (sparsity 0) over seeds per pruner, with its seed interval.

    The dense network does not depend on the pruning method (the builder trains it once), so a
    pruner without dense rows gets the mean over every dense row.

    Parameters
    ----------
    runs : pandas.DataFrame
        Columns ``pruner``, ``sparsity``, ``seed`` and ``value``; the rows at sparsity 0 are used.
    value : str
        The column averaged (e.g. ``accuracy`` as a fraction).
    confidence_level : float
        Coverage of the Student-t seed interval (:func:`seed_interval`).

    Returns
    -------
    pandas.DataFrame
        Columns ``pruner``, ``mean``, ``lower``, ``upper`` (unit of ``value``), ``n`` (seeds): one
        row per pruner of ``runs`` (empty without dense rows).
    """
    dense = runs[runs["sparsity"] == 0]
    cols = ["pruner", "mean", "lower", "upper", "n"]
    if dense.empty:
        return pd.DataFrame(columns=cols)
    per = seed_interval(dense.drop_duplicates(["pruner", "seed"]), value, ["pruner"],
                        confidence_level=confidence_level)
    pooled = seed_interval(dense.drop_duplicates(["seed"]).assign(_all=0), value, ["_all"],
                           confidence_level=confidence_level).iloc[0]
    rows = []
    for p in ordered(runs["pruner"]):
        hit = per[per["pruner"] == p]
        src = hit.iloc[0] if len(hit) else pooled
        rows.append({"pruner": p, **{c: src[c] for c in cols[1:]}})
    return pd.DataFrame(rows, columns=cols)



def _one_sparsity(ds, sparsity, what: str):
    """(``ds`` at one sparsity, that sparsity): ``sparsity`` if given, else the only pruned one."""
    if SPARSITY not in ds.dims:
        return ds, sparsity
    have = [float(s) for s in ds[SPARSITY].values]
    if sparsity is None:
        pruned = [s for s in have if s > 0]
        if len(pruned) != 1:
            raise ValueError(f"{what} draws one sparsity and the distances have {len(pruned)} pruned ones "
                             f"({', '.join(f'{s:g}' for s in pruned)}); pass sparsity=")
        sparsity = pruned[0]
    if not any(np.isclose(float(sparsity), have)):
        raise ValueError(f"{what}: sparsity {sparsity:g} is not in the distances (sparsities: "
                         f"{', '.join(f'{s:g}' for s in have)}); pass one of them")
    return ds.sel({SPARSITY: float(sparsity)}, method="nearest", drop=True), float(sparsity)


def _stages(ds, stage, what: str) -> list[str]:
    have = [str(s) for s in ds[V.STAGE].values] if V.STAGE in ds.dims else []
    want = [s for s in V.STAGES if s in have] if stage is None else (
        [stage] if isinstance(stage, str) else list(stage))
    missing = [s for s in want if s not in have]
    if missing or not want:
        raise ValueError(f"{what}: stage {', '.join(missing or want) or '(none)'} is not in the distances "
                         f"(stages: {', '.join(have) or 'none'}); pass stage=")
    return want


def _with_pruner(da, label: str):
    return da if PRUNER in da.dims else da.expand_dims({PRUNER: [label]})


def _rows(da, comparison: str) -> pd.DataFrame:
    df = da.to_dataframe(name="value").reset_index()
    return df.assign(comparison=comparison)


def distance_rows(dist, noise=None, *, metric: str, sparsity=None, stage=None, variants=None,
                  what: str = "distance_by_layer") -> pd.DataFrame:
    """Tidy rows of :func:`paistats.distances` (and :func:`paistats.noise_floor`) for a distance plot.

    Parameters
    ----------
    dist : xarray.Dataset
        :func:`paistats.distances` output, dims ``(pruner?, variant, sparsity, seed, layer, stage)``.
    noise : xarray.Dataset, optional
        :func:`paistats.noise_floor` output of the same entry (dims ``(pruner?, sparsity,
        seed_pair, layer, stage)``): comparison :data:`NOISE_FLOOR`.
    metric : str
        The distance variable (e.g. ``"wasserstein_rel"``); ``<metric>_random``, when present, gives
        the comparison ``"random"`` (random pruning's original against this pruner's reference).
    sparsity : float, optional
        The sparsity drawn (default: the only pruned one).
    stage : str or list of str, optional
        Stages drawn (default: ``init`` and ``trained``, those present).
    variants : list of str, optional
        Variants drawn against the reference (default: every variant but the reference
        ``dist.attrs["reference"]``, in the zoo's order).

    Returns
    -------
    pandas.DataFrame
        Columns ``pruner``, ``layer``, ``stage``, ``comparison``, ``value`` (the metric's unit): one
        row per seed (per seed pair for the noise floor) and layer, the pooled layer left out, NaN
        values dropped.
    """
    if metric not in dist.data_vars:
        raise ValueError(f"{what}: the distances have no variable {metric!r} (have: "
                         f"{', '.join(map(str, dist.data_vars))}); pass metric=")
    label = str(dist.attrs.get("method") or dist.attrs.get(PRUNER) or dist.attrs.get("entry") or "?")
    d, sparsity = _one_sparsity(V.drop_pooled(dist[[v for v in (metric, f"{metric}_random") if v in dist]]),
                                sparsity, what)
    stages = _stages(d, stage, what)
    d = d.sel({V.STAGE: stages})
    reference = str(dist.attrs.get("reference", V.REFERENCE_VARIANT))
    have = [str(v) for v in d[VARIANT].values] if VARIANT in d.dims else []
    chosen = [v for v in V.ordered(have) if v != reference] if variants is None else list(variants)
    missing = [v for v in chosen if v not in have]
    if missing:
        raise ValueError(f"{what}: variants {', '.join(missing)} are not in the distances (variants: "
                         f"{', '.join(have)}); pass variants=")
    parts = [_rows(_with_pruner(d[metric].sel({VARIANT: v}, drop=True), label), v) for v in chosen]
    rnd = f"{metric}_random"
    if rnd in d:
        r = d[rnd]
        if VARIANT in r.dims:   # the same number for every variant: random pruning against the reference
            r = r.sel({VARIANT: reference if reference in have else have[0]}, drop=True)
        parts.append(_rows(_with_pruner(r, label), V.RANDOM_PRUNER))
    if noise is not None:
        if metric not in noise.data_vars:
            raise ValueError(f"{what}: the noise floor has no variable {metric!r}; pass the noise_floor() of the "
                             "same entry")
        n, _ = _one_sparsity(V.drop_pooled(noise[metric]), sparsity, what)
        n = n.sel({V.STAGE: [s for s in stages if s in n[V.STAGE].values]})
        if VARIANT in n.dims:
            n = n.sel({VARIANT: reference}, drop=True)
        parts.append(_rows(_with_pruner(n, label), NOISE_FLOOR))
    out = pd.concat(parts, ignore_index=True)
    return out[[PRUNER, V.LAYER, V.STAGE, "comparison", "value"]].dropna(subset=["value"]).reset_index(drop=True)
