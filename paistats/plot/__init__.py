"""Altair figures of paistats statistics in a paper theme.

Charts take the library's outputs as they come — :func:`paistats.distances` (with
:func:`paistats.noise_floor`), :func:`paistats.shift_table`, :func:`paistats.inference.adjust_family`, an
accuracy DataArray — or tidy tables with the names of :mod:`paistats.vocabulary` (columns
:class:`paistats.vocabulary.Columns`), and return Altair charts; :func:`save` writes PNG / SVG / PDF
without a browser or network. ``import paistats; paistats.plot`` works without an import statement
and imports altair only when a chart is first used.

>>> from paistats import plot                                          # doctest: +SKIP
>>> chart = plot.accuracy_vs_sparsity(tree["accuracy"].where(tree["complete"]))   # doctest: +SKIP
>>> plot.distance_by_layer(paistats.distances(tree), sparsity=0.9)    # doctest: +SKIP
>>> plot.save(chart, "figures/accuracy")                              # doctest: +SKIP

Widths follow :data:`theme.SINGLE_COLUMN` / :data:`theme.DOUBLE_COLUMN`; call
``paistats.plot.theme.enable()`` to see the paper theme in a notebook (:func:`save` applies it).

The names load their submodules on first access (PEP 562): a worker process that renders figures
imports :mod:`paistats.plot._render` (vl-convert only) without altair, pandas or scipy.
"""
from paistats._lazy import lazy_attributes

_CHARTS = ("accuracy_delta", "accuracy_vs_density", "accuracy_vs_sparsity", "convergence_gain", "distance_by_layer",
           "layer_density", "shift_vs_accuracy", "stat_change_heatmap", "verdict_forest", "weight_ecdf")
_WHERE = {**{n: "charts" for n in _CHARTS}, **{n: "export" for n in ("FORMATS", "javascript_bundle", "save", "spec")},
          "interaction_frame": "factorial", "interaction_plot": "factorial"}   # factorial: issue 15

__all__ = sorted({*_WHERE, "theme"} - {"interaction_frame", "interaction_plot"})

__getattr__, __dir__ = lazy_attributes(__name__, _WHERE, modules=("theme",))
