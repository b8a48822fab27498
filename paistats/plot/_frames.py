"""Validation and small summaries of the tidy tables the charts draw (no plotting here)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def require(df: pd.DataFrame, columns, what: str) -> pd.DataFrame:
    """``df`` as a flat DataFrame (index levels become columns) holding every name in ``columns``."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} takes a pandas DataFrame (e.g. dataset.to_dataframe()), got {type(df).__name__}")
    if any(n is not None for n in df.index.names) and not set(columns) <= set(df.columns):
        df = df.reset_index()
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} needs columns {', '.join(columns)}; missing {', '.join(missing)} "
                         f"(got {', '.join(map(str, df.columns))})")
    return df


def seed_interval(df: pd.DataFrame, value: str, by: list[str], *, confidence: float = 0.95) -> pd.DataFrame:
    """Mean of ``value`` over the rows of each ``by`` group (the seeds) with a Student-t interval.

    Returns one row per group: ``mean``, ``lower``, ``upper`` (NaN with fewer than 2 finite
    values), ``n``, ``std`` (ddof 1).
    """
    def one(x: pd.Series) -> pd.Series:
        x = x[np.isfinite(x)]
        n = len(x)
        mean = x.mean() if n else np.nan
        sd = x.std(ddof=1) if n > 1 else np.nan
        half = stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n) if n > 1 else np.nan
        return pd.Series({"mean": mean, "lower": mean - half, "upper": mean + half, "n": n, "std": sd})

    out = df.groupby(by, sort=False, observed=True)[value].apply(one).unstack().reset_index()
    out["n"] = out["n"].astype(int)
    return out


def ordered(values, preferred=()) -> list:
    """Unique ``values`` in first-seen order, with names from ``preferred`` first in their order."""
    seen = list(dict.fromkeys(values))
    return [v for v in preferred if v in seen] + [v for v in seen if v not in preferred]


def paired_delta(runs: pd.DataFrame, value: str, *, reference: str = "original") -> pd.DataFrame:
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
    keys = ["pruner", "sparsity", "seed"]
    pruned = runs[runs["sparsity"] > 0]
    ref = pruned[pruned["variant"] == reference][keys + [value]].rename(columns={value: "_ref"})
    other = pruned[pruned["variant"] != reference]
    out = other.merge(ref, on=keys, how="inner")
    out["delta"] = out[value] - out["_ref"]
    return out[["pruner", "variant", "sparsity", "seed", "delta"]].dropna(subset=["delta"]).reset_index(drop=True)


def dense_mean(runs: pd.DataFrame, value: str) -> pd.DataFrame:
    """Mean ``value`` of the dense baselines (sparsity 0) over seeds per pruner, with its seed interval.

    The dense network does not depend on the pruning method (the builder trains it once), so a
    pruner without dense rows gets the mean over every dense row. Returns columns ``pruner``,
    ``mean``, ``lower``, ``upper``, ``n`` for each pruner of ``runs`` (empty without dense rows).
    """
    dense = runs[runs["sparsity"] == 0]
    cols = ["pruner", "mean", "lower", "upper", "n"]
    if dense.empty:
        return pd.DataFrame(columns=cols)
    per = seed_interval(dense.drop_duplicates(["pruner", "seed"]), value, ["pruner"])
    pooled = seed_interval(dense.drop_duplicates(["seed"]).assign(_all=0), value, ["_all"]).iloc[0]
    rows = []
    for p in ordered(runs["pruner"]):
        hit = per[per["pruner"] == p]
        src = hit.iloc[0] if len(hit) else pooled
        rows.append({"pruner": p, **{c: src[c] for c in cols[1:]}})
    return pd.DataFrame(rows, columns=cols)


VARIANT_ORDER = ("original", "shuffle", "reinit", "invert")
PRUNER_ORDER = ("random", "magnitude", "snip", "grasp", "grasp_abs", "synflow")
STAGE_ORDER = ("init", "trained")
