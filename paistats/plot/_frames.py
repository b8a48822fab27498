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


VARIANT_ORDER = ("original", "shuffle", "reinit", "invert")
PRUNER_ORDER = ("random", "magnitude", "snip", "grasp", "grasp_abs", "synflow")
STAGE_ORDER = ("init", "trained")
