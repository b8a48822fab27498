"""Interaction plot of the 2 × 2 mask-layout × kept-values design (issue 15).

One panel per pruner (columns) and sparsity (rows): test accuracy of the four cells — mask
{method's, shuffled} on the x axis, values {method's kept values, fresh} as colour — as the mean
over seeds with a Student-t seed interval, lines joining the cells of one value level (parallel
lines = no interaction). The ``original`` run (method's mask, kept values at their scored
positions) is drawn as a separate grey point at the method's mask.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from paistats._deprecate import renamed_keywords
from paistats.plot import theme
from paistats.plot._frames import PRUNER_ORDER, ordered, require, seed_interval
from paistats.vocabulary import CELL_DIMS, REFERENCE_VARIANT, RUN_DIMS

#: variant → (mask, values) cell of the design; ``original`` sits at (method's, "kept, scored positions").
CELLS = {"permute_kept": ("method's", "kept values"), "shuffle_kept": ("shuffled", "kept values"),
         "reinit": ("method's", "fresh values"), "shuffle": ("shuffled", "fresh values"),
         REFERENCE_VARIANT: ("method's", "kept values, scored positions")}
MASK_ORDER = ["method's", "shuffled"]
VALUE_ORDER = ["kept values", "fresh values", "kept values, scored positions"]
VALUE_COLORS = ["#0072B2", "#D55E00", "#7f7f7f"]


@renamed_keywords(confidence="confidence_level")
def interaction_frame(runs: pd.DataFrame, *, value: str = "accuracy", confidence_level: float = 0.95) -> pd.DataFrame:
    """Cell means of the design with their seed intervals (in %).

    Parameters
    ----------
    runs : pandas.DataFrame
        One row per complete run: ``pruner``, ``variant``, ``sparsity`` (fraction removed), ``seed``
        and ``value`` (a fraction). Variants outside :data:`CELLS` are ignored.
    value : str
        The accuracy column (a fraction; returned in %).
    confidence_level : float
        Coverage of the Student-t interval over seeds, as a fraction in (0, 1). ``confidence=`` is
        its deprecated spelling (a :class:`FutureWarning`).

    Returns
    -------
    pandas.DataFrame
        ``pruner``, ``sparsity``, ``variant``, ``mask``, ``values``, ``mean``, ``lower``,
        ``upper``, ``std`` (percent) and ``n`` (seeds).
    """
    runs = require(runs, [*RUN_DIMS, value], "interaction_frame")
    runs = runs[runs["variant"].isin(list(CELLS))]
    out = seed_interval(runs, value, list(CELL_DIMS), confidence_level=confidence_level)
    for c in ("mean", "lower", "upper", "std"):
        out[c] = 100 * out[c]
    out["mask"] = [CELLS[v][0] for v in out["variant"]]
    out["values"] = [CELLS[v][1] for v in out["variant"]]
    return out


def interaction_plot(cells: pd.DataFrame) -> alt.FacetChart:
    """Accuracy of the four cells per pruner and sparsity (see the module docstring).

    Parameters
    ----------
    cells : pandas.DataFrame
        What :func:`interaction_frame` returns.

    Returns
    -------
    altair.FacetChart
    """
    cells = require(cells, ["pruner", "sparsity", "variant", "mask", "values", "mean", "lower", "upper", "n"],
                    "interaction_plot")
    pruners = ordered(cells["pruner"], PRUNER_ORDER)
    values = [v for v in VALUE_ORDER if v in set(cells["values"])]
    x = alt.X("mask:N", title="mask", sort=MASK_ORDER, scale=alt.Scale(domain=MASK_ORDER))
    color = alt.Color("values:N", title="values", sort=values,
                      scale=alt.Scale(domain=VALUE_ORDER, range=VALUE_COLORS))
    tooltip = ["pruner:N", "sparsity:Q", "variant:N", alt.Tooltip("mean:Q", format=".2f", title="accuracy %"),
               alt.Tooltip("lower:Q", format=".2f"), alt.Tooltip("upper:Q", format=".2f"), "n:Q"]
    base = alt.Chart().encode(x=x, color=color)
    line = base.mark_line(point=True).encode(
        y=alt.Y("mean:Q", title="test accuracy (%)", scale=alt.Scale(zero=False)), detail="values:N",
        tooltip=tooltip)
    bars = base.mark_rule().encode(y="lower:Q", y2="upper:Q")
    width = max(60, int((theme.DOUBLE_COLUMN - 60) / max(len(pruners), 1)) - 12)
    return alt.layer(bars, line, data=cells).properties(width=width, height=110).facet(
        column=alt.Column("pruner:N", sort=pruners, title=None),
        row=alt.Row("sparsity:O", title="sparsity")).resolve_scale(y="independent")  # differences of ~1 pp stay visible
