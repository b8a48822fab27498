"""Altair charts of the tidy statistics tables, in the paper theme (:mod:`paistats.plot.theme`).

Every function takes the library's own output as it comes — :func:`paistats.distances` (and
:func:`paistats.noise_floor`) for :func:`distance_by_layer`, :func:`paistats.shift_table` for
:func:`shift_vs_accuracy`, :func:`paistats.inference.adjust_family` for :func:`verdict_forest` — or a long
("tidy") :class:`pandas.DataFrame` (an xarray DataArray / Dataset is tidied with
``to_dataframe().reset_index()``) with the names of :mod:`paistats.vocabulary` (``pruner``,
``variant``, ``sparsity``, ``seed``, ``layer``, ``stage``; table columns
:class:`paistats.vocabulary.Columns`), and returns an :class:`altair.Chart` (or a layered / faceted
chart) that a script can show, compose or export with :func:`paistats.plot.save`. Keyword
arguments (``shift=``, ``comparison=``, ``value=``, ``estimate=``) name other columns.
Intervals are computed here in Python (Student-t over seeds), never by Vega's random bootstrap,
so a figure is reproducible.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from paistats import vocabulary as V
from paistats._deprecate import renamed_keywords
from paistats.plot import theme
from paistats.plot._frames import (
    COMPARISON_ORDER, PRUNER_ORDER, STAGE_ORDER, VARIANT_ORDER, dense_mean, distance_rows, ordered, paired_delta,
    require, seed_interval,
)
from paistats.vocabulary import Columns as C

DENSITY_TITLE = "density (kept, log scale)"


def density_axis(**kw) -> alt.X:
    """Frankle et al.'s x axis: density (fraction kept) on a log scale, dense on the left."""
    return alt.X("density:Q", title=DENSITY_TITLE, scale=alt.Scale(type="log", reverse=True, nice=False),
                 axis=alt.Axis(format=".2~%", labelOverlap="greedy"), **kw)


def _panel_width(columns: int, total: int = theme.DOUBLE_COLUMN) -> int:
    return max(60, int((total - 60) / max(columns, 1)) - 12)


@renamed_keywords(confidence="confidence_level")
def accuracy_vs_sparsity(runs: pd.DataFrame, *, value: str = "accuracy", confidence_level: float = 0.95,
                         columns: int = 3) -> alt.FacetChart:
    """Test accuracy against sparsity per pruning method (panels) and variant (colour).

    Parameters
    ----------
    runs : pandas.DataFrame
        One row per completed run: ``pruner``, ``variant``, ``sparsity`` (fraction removed),
        ``seed`` and ``value`` (accuracy as a fraction).
    value : str
        The accuracy column (a fraction; drawn in %).
    confidence_level : float
        Coverage of the Student-t interval of the mean over seeds drawn as error bars (none for one
        seed), as a fraction in (0, 1). ``confidence=`` is its deprecated spelling (a
        :class:`FutureWarning`).
    columns : int
        Panels per row.

    Returns
    -------
    altair.FacetChart
        Mean over seeds (points and lines, in %) with the seed interval; tooltips give n and std.
    """
    runs = require(runs, [*V.RUN_DIMS, value], "accuracy_vs_sparsity")
    summary = seed_interval(runs, value, [V.PRUNER, V.VARIANT, V.SPARSITY], confidence_level=confidence_level)
    for c in ("mean", "lower", "upper", "std"):
        summary[c] = 100 * summary[c]
    variants = ordered(summary["variant"], VARIANT_ORDER)
    pruners = ordered(summary["pruner"], PRUNER_ORDER)
    sparsities = sorted(summary["sparsity"].unique())
    x = alt.X("sparsity:O", title="sparsity (fraction removed)", sort=sparsities)
    color = alt.Color("variant:N", scale=theme.scale_for(variants, theme.VARIANT_COLORS), sort=variants)
    tooltip = ["pruner:N", "variant:N", "sparsity:Q", alt.Tooltip("mean:Q", format=".2f", title="accuracy %"),
               alt.Tooltip("std:Q", format=".2f", title="std %"), "n:Q"]
    base = alt.Chart().encode(x=x, color=color)
    line = base.mark_line(point=True).encode(y=alt.Y("mean:Q", title="test accuracy (%)", scale=alt.Scale(zero=False)),
                                             tooltip=tooltip)
    bars = base.mark_rule().encode(y="lower:Q", y2="upper:Q")
    n = min(columns, len(pruners))
    return alt.layer(bars, line, data=summary).properties(width=_panel_width(n), height=110).facet(
        facet=alt.Facet("pruner:N", sort=pruners, title=None), columns=n)


@renamed_keywords(confidence="confidence_level")
def accuracy_vs_density(runs: pd.DataFrame, *, value: str = "accuracy", confidence_level: float = 0.95,
                        columns: int = 3) -> alt.FacetChart:
    """Test accuracy against density on a log axis (Frankle et al. 2021, Fig. 1), with the dense baseline.

    Parameters
    ----------
    runs : pandas.DataFrame
        One row per completed run: ``pruner``, ``variant``, ``sparsity`` (fraction removed; 0 =
        dense baseline), ``seed`` and ``value`` (accuracy as a fraction).
    value : str
        The accuracy column (a fraction; drawn in %).
    confidence_level : float
        Coverage of the Student-t interval over seeds drawn as error bars and as the dense band,
        as a fraction in (0, 1). ``confidence=`` is its deprecated spelling (a
        :class:`FutureWarning`).
    columns : int
        Panels (pruning methods) per row.

    Returns
    -------
    altair.FacetChart
        One panel per pruning method; x = density = 1 − sparsity (log scale, dense on the left),
        y = mean accuracy over seeds (%), colour = variant; a dashed rule and grey band: the dense
        network's mean accuracy and its seed interval (absent without sparsity-0 runs).
    """
    runs = require(runs, [*V.RUN_DIMS, value], "accuracy_vs_density")
    pruned = runs[runs["sparsity"] > 0]
    summary = seed_interval(pruned, value, [V.PRUNER, V.VARIANT, V.SPARSITY], confidence_level=confidence_level)
    summary["density"] = 1.0 - summary["sparsity"]
    summary["series"] = "variant"
    dense = dense_mean(runs, value, confidence_level=confidence_level).assign(series="dense", variant="dense")
    data = pd.concat([summary, dense], ignore_index=True)
    for c in ("mean", "lower", "upper", "std"):
        if c in data:
            data[c] = 100 * data[c]
    variants = ordered(summary["variant"], VARIANT_ORDER)
    pruners = ordered(summary["pruner"], PRUNER_ORDER)
    color = alt.Color("variant:N", scale=theme.scale_for(variants, theme.VARIANT_COLORS), sort=variants)
    y = alt.Y("mean:Q", title="test accuracy (%)", scale=alt.Scale(zero=False))
    tips = ["pruner:N", "variant:N", "sparsity:Q", alt.Tooltip("density:Q", format=".3~%"),
            alt.Tooltip("mean:Q", format=".2f", title="accuracy %"), alt.Tooltip("std:Q", format=".2f", title="std %"),
            "n:Q"]
    is_run = "datum.series == 'variant'"
    base = alt.Chart().transform_filter(is_run).encode(x=density_axis(), color=color)
    layers = [base.mark_rule().encode(y="lower:Q", y2="upper:Q"), base.mark_line(point=True).encode(y=y, tooltip=tips)]
    if len(dense):
        d = alt.Chart().transform_filter("datum.series == 'dense'")
        layers = [d.mark_rect(color="#999999", opacity=0.25).encode(y="lower:Q", y2="upper:Q"),
                  d.mark_rule(color="#555555", strokeDash=[4, 3]).encode(
                      y="mean:Q", tooltip=[alt.Tooltip("mean:Q", format=".2f", title="dense accuracy %"), "n:Q"])] + layers
    n = min(columns, len(pruners))
    return alt.layer(*layers, data=data).properties(width=_panel_width(n), height=110).facet(
        facet=alt.Facet("pruner:N", sort=pruners, title=None), columns=n)


@renamed_keywords(confidence="confidence_level")
def accuracy_delta(runs: pd.DataFrame, *, value: str = "accuracy", reference: str = V.REFERENCE_VARIANT,
                   own_panel=("invert",), confidence_level: float = 0.95) -> alt.FacetChart:
    """Accuracy of each variant minus the reference's (paired by seed, percentage points) against log density.

    Parameters
    ----------
    runs : pandas.DataFrame
        One row per completed run: ``pruner``, ``variant``, ``sparsity`` (0 = dense baseline),
        ``seed`` and ``value`` (accuracy as a fraction).
    value : str
        The accuracy column (a fraction; differences drawn in percentage points).
    reference : str
        Variant subtracted within (pruner, sparsity, seed); drawn as the zero line.
    own_panel : sequence of str
        Variants drawn in a row of their own (``invert`` loses tens of points, which would hide
        shuffle's and reinit's fractions of a point); the other variants share one row.
    confidence_level : float
        Coverage of the Student-t interval of the mean paired difference over seeds (error bars),
        as a fraction in (0, 1). ``confidence=`` is its deprecated spelling (a
        :class:`FutureWarning`).

    Returns
    -------
    altair.FacetChart
        Rows = variant group, columns = pruning method, each panel with its own y scale; x =
        density (log, dense on the left); y = mean over seeds of variant − reference (pp); a solid
        rule at 0 (= reference) and, with sparsity-0 runs, a dashed grey line "dense − reference":
        the dense network's mean accuracy minus the reference's at each density.
    """
    runs = require(runs, [*V.RUN_DIMS, value], "accuracy_delta")
    if reference not in set(runs["variant"]):
        raise ValueError(f"accuracy_delta: reference variant {reference!r} is not in the runs (variants: "
                         f"{', '.join(map(str, ordered(runs['variant'])))}); pass reference=")
    delta = paired_delta(runs, value, reference=reference)
    summary = seed_interval(delta, "delta", [V.PRUNER, V.VARIANT, V.SPARSITY], confidence_level=confidence_level)
    variants = ordered(summary["variant"], VARIANT_ORDER)
    shared = [v for v in variants if v not in own_panel]
    label = {v: (f"{v} − {reference}" if v in own_panel else ", ".join(shared) + f" − {reference}") for v in variants}
    summary["panel"] = summary["variant"].map(label)
    panels = ordered(summary["panel"].tolist())
    summary["series"] = "variant"
    parts = [summary]
    dense = dense_mean(runs, value)
    pruned = runs[runs["sparsity"] > 0]
    ref = seed_interval(pruned[pruned["variant"] == reference], value, ["pruner", "sparsity"])
    if len(dense) and len(ref):
        line = ref.merge(dense[["pruner", "mean"]].rename(columns={"mean": "dense"}), on="pruner")
        line["mean"] = line["dense"] - line["mean"]
        for panel in panels:
            parts.append(line[["pruner", "sparsity", "mean", "n"]].assign(panel=panel, series=f"dense − {reference}",
                                                                           variant=f"dense − {reference}"))
    data = pd.concat(parts, ignore_index=True)
    data["density"] = 1.0 - data["sparsity"]
    for c in ("mean", "lower", "upper", "std"):
        if c in data:
            data[c] = 100 * data[c]
    pruners = ordered(summary["pruner"], PRUNER_ORDER)
    color = alt.Color("variant:N", scale=theme.scale_for(variants, theme.VARIANT_COLORS), sort=variants)
    y = alt.Y("mean:Q", title=f"Δ accuracy vs {reference} (pp)")
    tips = ["pruner:N", "variant:N", "sparsity:Q", alt.Tooltip("density:Q", format=".3~%"),
            alt.Tooltip("mean:Q", format=".2f", title="Δ pp"), alt.Tooltip("lower:Q", format=".2f"),
            alt.Tooltip("upper:Q", format=".2f"), "n:Q"]
    var = alt.Chart().transform_filter("datum.series == 'variant'").encode(x=density_axis(), color=color)
    layers = [alt.Chart().mark_rule(color="#000000", strokeWidth=0.8).encode(y=alt.datum(0))]
    if len(parts) > 1:
        layers.append(alt.Chart().transform_filter("datum.series != 'variant'").mark_line(
            color="#777777", strokeDash=[4, 3], point=alt.OverlayMarkDef(color="#777777", size=12)).encode(
            x=density_axis(), y="mean:Q", tooltip=["pruner:N", "sparsity:Q", alt.Tooltip(
                "mean:Q", format=".2f", title=f"dense − {reference} (pp)")]))
    layers += [var.mark_rule().encode(y="lower:Q", y2="upper:Q"), var.mark_line(point=True).encode(y=y, tooltip=tips)]
    return alt.layer(*layers, data=data).properties(width=_panel_width(len(pruners)), height=100).facet(
        row=alt.Row("panel:N", sort=panels, title=None, header=alt.Header(labelAngle=0, labelAlign="left",
                                                                          labelOrient="top", labelAnchor="start")),
        column=alt.Column("pruner:N", sort=pruners, title=None)).resolve_scale(y="independent")


def convergence_gain(table: pd.DataFrame, *, gain: str = "gain_pp", threshold: float | None = 0.2) -> alt.FacetChart:
    """Last-epoch gain of test accuracy (pp) against log density, per pruning method, with the flag threshold.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``pruner``, ``variant``, ``sparsity`` and ``gain`` (percentage points; e.g.
        :func:`analysis.frankle.convergence_table`), optional ``converged`` (bool).
    gain : str
        The gain column: test accuracy at the last epoch minus the epoch before, in percentage
        points (``gain_pp`` in :func:`analysis.frankle.convergence_table`).
    threshold : float, optional
        Gain (pp) at and above which a cell counts as not converged: a dashed rule. Used to flag
        cells only when the table has no ``converged`` column; None: no rule (and, without a
        ``converged`` column, every cell counts as converged).

    Returns
    -------
    altair.FacetChart
        One panel per pruning method; colour = variant; hollow points mark cells not converged.
    """
    t = require(table, ["pruner", "variant", "sparsity", gain], "convergence_gain").copy()
    t["density"] = 1.0 - t["sparsity"]
    if "converged" not in t:
        t["converged"] = t[gain] < threshold if threshold is not None else True
    t["status"] = np.where(t["converged"], "converged", "not converged")
    variants = ordered(t["variant"], VARIANT_ORDER)
    pruners = ordered(t["pruner"], PRUNER_ORDER)
    color = alt.Color("variant:N", scale=theme.scale_for(variants, theme.VARIANT_COLORS), sort=variants)
    pts = alt.Chart().mark_line(point=True).encode(
        x=density_axis(), y=alt.Y(f"{gain}:Q", title="last-epoch gain (pp)"), color=color,
        tooltip=["pruner:N", "variant:N", "sparsity:Q", alt.Tooltip(f"{gain}:Q", format=".2f"), "status:N"])
    flag = alt.Chart().transform_filter("datum.status == 'not converged'").mark_point(
        shape="circle", size=90, filled=False, color="#D55E00").encode(x=density_axis(), y=f"{gain}:Q")
    layers = [alt.Chart().mark_rule(color="#000000", strokeWidth=0.6).encode(y=alt.datum(0)), pts, flag]
    if threshold is not None:
        layers.insert(1, alt.Chart().mark_rule(color="#D55E00", strokeDash=[4, 3]).encode(y=alt.datum(threshold)))
    n = min(3, len(pruners))
    return alt.layer(*layers, data=t).properties(width=_panel_width(n), height=100).facet(
        facet=alt.Facet("pruner:N", sort=pruners, title=None), columns=n)


def distance_by_layer(distances, noise=None, *, metric: str = "wasserstein_rel", sparsity: float | None = None,
                      stage: str | list[str] | None = None, variants: list[str] | None = None,
                      value: str = "value", title: str | None = None, layer_order: list[str] | None = None,
                      log: bool = False) -> alt.FacetChart:
    """Per-layer distance of each comparison (each variant vs the reference, random pruning, seed noise floor).

    Parameters
    ----------
    distances : xarray.Dataset, xarray.DataArray or pandas.DataFrame
        :func:`paistats.distances` output as it comes (dims ``(pruner?, variant, sparsity, seed,
        layer, stage)``; a named DataArray such as ``d["ks"]`` is that metric alone, without the
        random baseline): the chart draws variable ``metric`` of every variant against the reference
        (``distances.attrs["reference"]``, default ``original``), ``<metric>_random`` as the
        comparison ``random`` when present, at one ``sparsity``; the pooled layer ``all`` is left
        out. Or a tidy DataFrame with columns ``pruner``, ``layer``, ``stage``, ``comparison`` and
        ``value`` (:func:`paistats.plot._frames.distance_rows` builds it), drawn as given.
    noise : xarray.Dataset, optional
        :func:`paistats.noise_floor` of the same entry: the comparison ``noise floor`` (the metric
        between two seeds of the reference), one value per seed pair. Dataset input only.
    metric : str
        The distance variable drawn (Dataset input), e.g. ``"wasserstein_rel"`` (W1 ÷ σ of the
        reference, unitless) or ``"ks"``.
    sparsity : float, optional
        Sparsity drawn (Dataset input; default: the only pruned sparsity, else an error naming them).
    stage : str or list of str, optional
        Stages drawn as rows (Dataset input; default ``init`` and ``trained``).
    variants : list of str, optional
        Variants drawn against the reference (Dataset input; default every other variant).
    value : str
        Value column of a DataFrame input.
    title : str, optional
        Axis title (the distance's name and unit; default ``metric``).
    layer_order : list of str, optional
        Model order of the layers (default: the distances' layer order).
    log : bool
        Logarithmic y axis (zeros are dropped from the drawing).

    Returns
    -------
    altair.FacetChart
        Rows = stage, columns = pruning method; points = mean over seeds (seed pairs), rules = min
        to max; the data holds one row per (pruner, layer, stage, comparison) with ``mean``, ``min``,
        ``max``, ``count``.

    Examples
    --------
    >>> tree = paistats.load("lenet300")                                        # doctest: +SKIP
    >>> plot.distance_by_layer(paistats.distances(tree), paistats.noise_floor(tree), sparsity=0.9)  # doctest: +SKIP
    """
    if not isinstance(distances, pd.DataFrame) and hasattr(distances, "to_dataset") and distances.name:
        metric, distances = str(distances.name), distances.to_dataset()     # one variable: d["ks"]
    if not isinstance(distances, pd.DataFrame) and hasattr(distances, "data_vars"):
        distances = distance_rows(distances, noise, metric=metric, sparsity=sparsity, stage=stage, variants=variants)
        value = "value"
    elif noise is not None:
        raise ValueError("distance_by_layer: noise= goes with the distances Dataset (paistats.distances), not a "
                         "DataFrame; add the noise floor as rows with comparison 'noise floor'")
    df = require(distances, ["pruner", "layer", "stage", "comparison", value], "distance_by_layer")
    d = df[np.isfinite(df[value])]
    if log:
        d = d[d[value] > 0]
    g = d.groupby(["pruner", "layer", "stage", "comparison"], sort=False, observed=True)[value]
    summary = g.agg(["mean", "min", "max", "count"]).reset_index()
    layers = layer_order or ordered(summary["layer"])
    comparisons = ordered(summary["comparison"], COMPARISON_ORDER)
    pruners = ordered(summary["pruner"], PRUNER_ORDER)
    stages = ordered(summary["stage"], STAGE_ORDER)
    scale = alt.Scale(type="log") if log else alt.Scale(zero=True)
    x = alt.X("layer:N", sort=layers, title="layer", axis=alt.Axis(labelAngle=-45, labelLimit=80))
    color = alt.Color("comparison:N", scale=theme.scale_for(comparisons, theme.VARIANT_COLORS), sort=comparisons,
                      title=f"vs {V.REFERENCE_VARIANT}")
    xo = alt.XOffset("comparison:N", sort=comparisons)
    base = alt.Chart().encode(x=x, xOffset=xo, color=color)
    pts = base.mark_point(filled=True).encode(
        y=alt.Y("mean:Q", title=title or metric, scale=scale),
        tooltip=["pruner:N", "stage:N", "layer:N", "comparison:N", alt.Tooltip("mean:Q", format=".4g"),
                 alt.Tooltip("min:Q", format=".4g"), alt.Tooltip("max:Q", format=".4g"), alt.Tooltip("count:Q", title="n")])
    rng = base.mark_rule().encode(y="min:Q", y2="max:Q")
    width = _panel_width(len(pruners)) if len(pruners) > 1 else theme.SINGLE_COLUMN
    return alt.layer(rng, pts, data=summary).properties(width=width, height=110).facet(
        row=alt.Row("stage:N", sort=stages, title=None), column=alt.Column("pruner:N", sort=pruners, title=None))


def weight_ecdf(df: pd.DataFrame, *, layer_order: list[str] | None = None, value: str = "value",
                probability: str = "probability") -> alt.FacetChart:
    """Empirical CDFs of the unpruned weights per layer (columns) and stage (rows), one line per variant.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``layer``, ``stage``, ``variant``, ``probability`` (in [0, 1]) and ``value`` (the
        weight at that quantile): a quantile grid per (layer, stage, variant), pooled over seeds.
    layer_order : list of str, optional
        Order of the layer columns (model order); default: first-seen order in ``df``.
    value : str
        The weight column (x axis; the weights' own unit).
    probability : str
        The cumulative probability column (y axis, in [0, 1]).

    Returns
    -------
    altair.FacetChart
        Rows = stage, columns = layer (each with its own x scale); one step line per variant.
    """
    df = require(df, ["layer", "stage", "variant", probability, value], "weight_ecdf")
    layers = layer_order or ordered(df["layer"])
    variants = ordered(df["variant"], VARIANT_ORDER)
    stages = ordered(df["stage"], STAGE_ORDER)
    color = alt.Color("variant:N", scale=theme.scale_for(variants, theme.VARIANT_COLORS), sort=variants)
    chart = alt.Chart(df).mark_line(strokeWidth=1.2, interpolate="step-after").encode(
        x=alt.X(f"{value}:Q", title="weight"), y=alt.Y(f"{probability}:Q", title="ECDF"), color=color,
        strokeDash=alt.StrokeDash("variant:N", sort=variants, legend=None),
        tooltip=["layer:N", "stage:N", "variant:N", alt.Tooltip(f"{value}:Q", format=".4g"), f"{probability}:Q"])
    return chart.properties(width=_panel_width(len(layers)), height=90).facet(
        row=alt.Row("stage:N", sort=stages, title=None), column=alt.Column("layer:N", sort=layers, title=None)
    ).resolve_scale(x="independent")


def stat_change_heatmap(df: pd.DataFrame, *, value: str = "change", layer_order: list[str] | None = None,
                        title: str = f"change vs {V.REFERENCE_VARIANT}") -> alt.FacetChart:
    """Heatmap of changes of layer statistics (rows) per layer (columns), one panel per pruner × variant · stage.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``pruner``, ``layer``, ``statistic`` (e.g. ``"std"``), ``panel`` (e.g.
        ``"shuffle · init"``) and ``change`` (signed, e.g. variant − original, averaged over seeds).
    value : str
        The column coloured (default ``change``); the colour scale is symmetric, ± its largest
        finite absolute value.
    layer_order : list of str, optional
        Order of the layers along x (model order); default: first-seen order in ``df``.
    title : str
        Title of the colour legend (the change's name and unit).

    Returns
    -------
    altair.FacetChart
        Diverging colour centred on 0 (:data:`paistats.plot.theme.DIVERGING_SCHEME`).
    """
    df = require(df, ["pruner", "layer", "statistic", "panel", value], "stat_change_heatmap")
    layers = layer_order or ordered(df["layer"])
    pruners = ordered(df["pruner"], PRUNER_ORDER)
    panels = ordered(df["panel"])
    lim = float(np.nanmax(np.abs(df[value]))) if len(df) and np.isfinite(df[value]).any() else 1.0
    chart = alt.Chart(df).mark_rect().encode(
        x=alt.X("layer:N", sort=layers, title=None, axis=alt.Axis(labelAngle=-45, labelLimit=80)),
        y=alt.Y("statistic:N", title=None, sort=ordered(df["statistic"])),
        color=alt.Color(f"{value}:Q", title=title,
                        scale=alt.Scale(scheme=theme.DIVERGING_SCHEME, domain=[-lim or -1, lim or 1], domainMid=0)),
        tooltip=["pruner:N", "panel:N", "layer:N", "statistic:N", alt.Tooltip(f"{value}:Q", format=".3g")])
    return chart.properties(width=max(60, 22 * len(layers)), height=alt.Step(12)).facet(
        row=alt.Row("pruner:N", sort=pruners, title=None), column=alt.Column("panel:N", sort=panels, title=None))


def layer_density(df: pd.DataFrame, *, layer_order: list[str] | None = None) -> alt.FacetChart:
    """Fraction of weights kept per layer for each pruning method: layer collapse shows as density 0.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``pruner``, ``layer``, ``sparsity`` and ``density`` (fraction kept; rows per seed or
        already averaged — the mean over rows is drawn). Collapsed layers (density 0 in any row)
        get a cross.
    layer_order : list of str, optional
        Order of the layers along x (model order); default: first-seen order in ``df``.

    Returns
    -------
    altair.FacetChart
        One panel per sparsity.
    """
    df = require(df, ["pruner", "layer", "sparsity", "density"], "layer_density")
    g = df.groupby(["pruner", "layer", "sparsity"], sort=False, observed=True)["density"]
    summary = g.agg(density="mean", lowest="min").reset_index()
    summary["collapsed"] = summary["lowest"] <= 0
    layers = layer_order or ordered(summary["layer"])
    pruners = ordered(summary["pruner"], PRUNER_ORDER)
    sparsities = sorted(summary["sparsity"].unique())
    color = alt.Color("pruner:N", scale=theme.scale_for(pruners, theme.PRUNER_COLORS), sort=pruners)
    x = alt.X("layer:N", sort=layers, title="layer", axis=alt.Axis(labelAngle=-45, labelLimit=80))
    base = alt.Chart().encode(x=x, color=color)
    line = base.mark_line(point=True).encode(
        y=alt.Y("density:Q", title="density (fraction kept)", scale=alt.Scale(domain=[0, 1])),
        tooltip=["pruner:N", "layer:N", "sparsity:Q", alt.Tooltip("density:Q", format=".4f"),
                 alt.Tooltip("lowest:Q", format=".4f", title="lowest over seeds")])
    cross = base.mark_point(shape="cross", size=90, filled=True).encode(y="lowest:Q").transform_filter("datum.collapsed")
    n = len(sparsities)
    return alt.layer(line, cross, data=summary).properties(width=_panel_width(min(n, 4)), height=110).facet(
        facet=alt.Facet("sparsity:O", sort=sparsities, title="sparsity"), columns=min(n, 4))


def shift_vs_accuracy(table, fit: pd.DataFrame | None = None, *, shift: str | None = None,
                      delta: str = C.DELTA_ACCURACY, shift_title: str | None = None) -> alt.LayerChart:
    """Δaccuracy (percentage points) against a shift metric, one point per run, with an optional fitted line.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`paistats.shift_table` output as it comes (or any selection of its rows): columns
        ``pruner``, ``variant``, ``delta_accuracy`` (a fraction; drawn ×100) and the shift columns.
        Rows without a shift or a Δaccuracy are not drawn.
    fit : pandas.DataFrame, optional
        Columns ``shift`` (named as the ``shift`` column), ``fitted`` and optionally ``lower`` /
        ``upper`` (fractions): a regression's prediction and its confidence band over a grid.
    shift : str, optional
        The column on the x axis. Default: the first shift column of the table
        (:func:`paistats.vocabulary.shift_columns`: a column named ``shift``, else the first
        ``{metric}_{stage}`` column, ``wasserstein_rel_init`` with :func:`paistats.shift_table`'s
        defaults).
    delta : str
        The Δaccuracy column (a fraction).
    shift_title : str, optional
        Axis title (default: the shift column's name).

    Returns
    -------
    altair.LayerChart
        Points: x = ``shift``, y = ``delta_pp`` (= 100 × ``delta``), colour = pruner, shape = variant.

    Examples
    --------
    >>> table = paistats.shift_table(tree, paistats.distances(tree))          # doctest: +SKIP
    >>> plot.shift_vs_accuracy(table, shift="ks_trained")                      # doctest: +SKIP
    """
    table = require(table, ["pruner", "variant", delta], "shift_vs_accuracy")
    if shift is None:
        found = V.shift_columns(table.columns)
        if not found:
            raise ValueError("shift_vs_accuracy: the table has no shift column ('shift' or '<metric>_<stage>', as "
                             f"paistats.shift_table gives; columns: {', '.join(map(str, table.columns))}); pass shift=")
        shift = found[0]
    points = require(table, [shift], "shift_vs_accuracy").copy()
    points = points[np.isfinite(points[shift].astype(float)) & np.isfinite(points[delta].astype(float))]
    points["delta_pp"] = 100 * points[delta]
    pruners = ordered(points["pruner"], PRUNER_ORDER)
    variants = ordered(points["variant"], VARIANT_ORDER)
    pts = alt.Chart(points).mark_point(filled=True, opacity=0.8).encode(
        x=alt.X(f"{shift}:Q", title=shift_title or shift),
        y=alt.Y("delta_pp:Q", title=f"Δ accuracy vs {V.REFERENCE_VARIANT} (pp)"),
        color=alt.Color("pruner:N", scale=theme.scale_for(pruners, theme.PRUNER_COLORS), sort=pruners),
        shape=alt.Shape("variant:N", sort=variants),
        tooltip=[c for c in ("pruner:N", "variant:N", "sparsity:Q", "seed:Q") if c.split(":")[0] in points]
        + [alt.Tooltip(f"{shift}:Q", format=".4g"), alt.Tooltip("delta_pp:Q", format=".2f", title="Δ pp")])
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#777777", strokeDash=[2, 2]).encode(y="y:Q")
    layers = [zero, pts]
    if fit is not None and len(fit):
        fit = require(fit, [shift, "fitted"], "shift_vs_accuracy(fit=)").copy()
        for c in ("fitted", "lower", "upper"):
            if c in fit:
                fit[c] = 100 * fit[c]
        if {"lower", "upper"} <= set(fit.columns):
            layers.insert(0, alt.Chart(fit).mark_area(opacity=0.2, color="#555555").encode(
                x=f"{shift}:Q", y="lower:Q", y2="upper:Q"))
        layers.append(alt.Chart(fit).mark_line(color="#000000").encode(x=f"{shift}:Q", y="fitted:Q"))
    return alt.layer(*layers).properties(width=theme.SINGLE_COLUMN + 60, height=200)


def _forest_margin(df: pd.DataFrame, margin: float | None) -> float | None:
    """``margin``, else the table's one finite ``margin`` value (rows of :func:`paistats.inference.adjust_family`)."""
    if margin is not None or "margin" not in df:
        return margin
    found = pd.to_numeric(df["margin"], errors="coerce").dropna().unique()
    return float(found[0]) if len(found) == 1 else None


def verdict_forest(table, *, margin: float | None = None, comparison: str | None = None,
                   estimate: str = C.ESTIMATE, title: str = "difference, first − second (pp)",
                   scale: float = 100.0) -> alt.FacetChart:
    """Forest plot of seed-level differences with their confidence intervals, coloured by verdict.

    Parameters
    ----------
    table : pandas.DataFrame
        A table of :func:`paistats.inference.adjust_family` (of :func:`paistats.inference.compare`'s
        results) as it comes: columns ``sparsity``, ``estimate``, ``ci_low``, ``ci_high`` (same unit
        as ``estimate``), ``verdict``, a comparison column (see ``comparison``), ``pruner`` when the
        data had that dim; optional ``pvalue_adjusted``, ``n``, ``margin``
        (:class:`paistats.vocabulary.Columns`). One row per comparison × pruner × sparsity: select
        other dims (layer, stage, quantity) first. A step-wise adjusted table (Holm, BH) has no
        intervals: its points are drawn without rules.
    margin : float, optional
        Equivalence / non-inferiority margin in the unit of ``estimate``: dashed rules at ± margin.
        Default: the table's ``margin`` column when it holds one finite value, else none.
    comparison : str, optional
        Column naming each row of panels. Default ``comparison`` when the table has it (e.g.
        ``"shuffle − original"``), else ``variant`` (the variant compared with the reference).
    estimate : str
        The estimate column.
    title : str
        Title of the x axis (what the difference is and its unit after ``scale``).
    scale : float
        Factor applied to ``estimate``, the interval and the margin for display (100: fractions → pp).

    Returns
    -------
    altair.FacetChart
        Rows = comparison, columns = sparsity; one line per pruning method. Every panel has its own
        x scale, which always spans 0 and ± ``margin`` (so the margin stays visible next to a
        comparison whose intervals are small, and invert's large losses do not squash the others).

    Examples
    --------
    >>> acc = tree["accuracy"].where(tree["complete"])                          # doctest: +SKIP
    >>> table = inference.adjust_family(inference.compare(acc.sel(sparsity=acc.sparsity > 0), margin=0.01,
    ...                                            higher_is_better=True), family=["pruner", "sparsity"])  # doctest: +SKIP
    >>> plot.verdict_forest(table)                                               # doctest: +SKIP
    """
    df = require(table, [estimate, C.CI_LOW, C.CI_HIGH, C.VERDICT, V.SPARSITY], "verdict_forest").copy()
    if comparison is None:
        comparison = C.COMPARISON if C.COMPARISON in df else V.VARIANT
    df = require(df, [comparison], "verdict_forest")
    if V.PRUNER not in df:   # one entry: its results have no pruner coord
        df[V.PRUNER] = str(df["quantity"].iloc[0]) if "quantity" in df and len(df) else "estimate"
    if df.duplicated([comparison, V.PRUNER, V.SPARSITY]).any():
        extra = [c for c in (V.LAYER, V.STAGE, "quantity", "test") if c in df and df[c].nunique() > 1]
        raise ValueError(f"verdict_forest draws one row per {comparison} × pruner × sparsity; the table has several "
                         f"(they differ in {', '.join(extra) or 'other columns'}): select one first")
    margin = _forest_margin(df, margin)
    for c in (estimate, C.CI_LOW, C.CI_HIGH):
        df[c] = scale * df[c]
    pruners = ordered(df["pruner"], PRUNER_ORDER)
    verdicts = ordered(df["verdict"])
    sparsities = sorted(df["sparsity"].unique())
    color = alt.Color("verdict:N", scale=theme.scale_for(verdicts, theme.VERDICT_COLORS), sort=verdicts)
    tips = ["pruner:N", f"{comparison}:N", "sparsity:Q", alt.Tooltip(f"{estimate}:Q", format=".3g"),
            alt.Tooltip("ci_low:Q", format=".3g"), alt.Tooltip("ci_high:Q", format=".3g"), "verdict:N"]
    tips += [alt.Tooltip(f"{c}:Q", format=".3g") for c in (C.PVALUE_ADJUSTED,) if c in df]
    tips += [f"{c}:Q" for c in (C.N,) if c in df]
    y = alt.Y("pruner:N", sort=pruners, title=None)
    base = alt.Chart().encode(y=y, color=color)
    layers = [alt.Chart().mark_rule(color="#777777").encode(x=alt.datum(0))]
    if margin is not None:
        for m in (-margin * scale, margin * scale):
            layers.append(alt.Chart().mark_rule(color="#777777", strokeDash=[3, 3]).encode(x=alt.datum(m)))
    layers += [base.mark_rule().encode(x=alt.X("ci_low:Q", title=title), x2="ci_high:Q"),
               base.mark_point(filled=True).encode(x=f"{estimate}:Q", tooltip=tips)]
    n = len(sparsities)
    return alt.layer(*layers, data=df).properties(width=_panel_width(min(n, 4)), height=alt.Step(12)).facet(
        row=alt.Row(f"{comparison}:N", title=None, sort=ordered(df[comparison], VARIANT_ORDER),
                    header=alt.Header(labelAngle=0, labelAlign="left", labelOrient="top", labelAnchor="start")),
        column=alt.Column("sparsity:O", sort=sparsities, title="sparsity")).resolve_scale(x="independent")
