"""Altair figures of paistats statistics in a paper theme.

Charts take the tidy tables of :func:`paistats.layer_stats`, :func:`paistats.distances`, the
seed-level tests and :func:`paistats.shift_table` (after ``.to_dataframe().reset_index()``) and
return Altair charts; :func:`save` writes PNG / SVG / PDF without a browser or network.

>>> from paistats import plot                                          # doctest: +SKIP
>>> chart = plot.accuracy_vs_sparsity(runs)                           # doctest: +SKIP
>>> plot.save(chart, "figures/accuracy")                              # doctest: +SKIP

Widths follow :data:`theme.SINGLE_COLUMN` / :data:`theme.DOUBLE_COLUMN`; call
``paistats.plot.theme.enable()`` to see the paper theme in a notebook (:func:`save` applies it).
"""
from paistats.plot import theme
from paistats.plot.charts import (
    accuracy_delta, accuracy_vs_density, accuracy_vs_sparsity, convergence_gain, distance_by_layer, layer_density,
    shift_vs_accuracy, stat_change_heatmap, verdict_forest, weight_ecdf,
)
from paistats.plot.export import FORMATS, javascript_bundle, save, spec

__all__ = [
    "FORMATS", "accuracy_delta", "accuracy_vs_density", "accuracy_vs_sparsity", "convergence_gain",
    "distance_by_layer", "javascript_bundle", "layer_density", "save", "shift_vs_accuracy", "spec",
    "stat_change_heatmap", "theme", "verdict_forest", "weight_ecdf",
]
from paistats.plot.factorial import interaction_frame, interaction_plot  # noqa: E402,F401 (issue 15)
