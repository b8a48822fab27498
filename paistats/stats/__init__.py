"""Mask-aware layer statistics and distribution distances over a zoo, streamed over dask chunks.

Public API (also exported as ``paistats.layer_stats`` etc.):

- :func:`layer_stats` – per run, layer and stage: count, density, moments, quantiles, … of the
  unpruned weights (and of the scores).
- :func:`distances` – per run, layer and stage: KS, Wasserstein, energy, Jensen-Shannon, Hellinger,
  moment differences against a reference, with the ratio to random pruning.
- :func:`noise_floor` – the same distances between two seeds of the reference (every seed pair).
- :func:`write_derived` / :func:`read_derived` – precomputed results stored in an entry.
- :data:`STATISTICS` / :data:`DISTANCES` – the registries (:mod:`paistats.stats.registry`): each
  statistic and distance is one registered kernel; variable lists, ratios and store keys follow them.

Every result says where it came from: ``attrs["source"]`` is ``"stored"`` or ``"computed"``
(``source_key``, ``source_reason``); ``precomputed="require"`` raises :class:`NotPrecomputedError`
when the store cannot serve.
"""
from __future__ import annotations

from paistats.stats._compute import DIST_STAGES, STAT_STAGES, StatsWarning
from paistats.stats._kernels import BINS, QUANTILES, RATIO_METRICS
from paistats.stats.api import distances, layer_stats, noise_floor
from paistats.stats.derived import NotPrecomputedError, read_derived, write_derived
from paistats.stats.registry import DISTANCES, STATISTICS, Metric, UnknownMetricError

__all__ = ["BINS", "DISTANCES", "DIST_STAGES", "Metric", "NotPrecomputedError", "QUANTILES", "RATIO_METRICS",
           "STATISTICS", "STAT_STAGES", "StatsWarning", "UnknownMetricError", "distances", "layer_stats",
           "noise_floor", "read_derived", "write_derived"]
