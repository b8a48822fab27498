"""Canonical grid labels: the one rounding rule and tolerance for sparsities.

Every place that writes, reads or compares a sparsity label (the builder's specs and planner, the
store writer and reader, ``to_model``, the Hub card) goes through these functions, so that
``tree.sel(sparsity=0.9)`` finds the label the builder wrote for ``1 - 0.1`` or ``0.9000000000001``.

Rule: a sparsity label is ``round(s, SPARSITY_DECIMALS)`` as a float64; two sparsities are the same
when their canonical labels are equal.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

#: Decimal places kept in a sparsity label (1 - 0.8**20 = 0.9884707850 keeps 10).
SPARSITY_DECIMALS = 10


def canonical_sparsity(value) -> float:
    """The canonical label of a sparsity (fraction of prunable weights removed, in [0, 1)).

    Raises
    ------
    ValueError
        If ``value`` is not a number in [0, 1).
    """
    try:
        s = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"sparsity must be a number in [0, 1) (fraction of weights removed), got {value!r}") from None
    if isinstance(value, bool) or math.isnan(s) or not 0.0 <= s < 1.0:
        raise ValueError(f"sparsity must be a number in [0, 1) (fraction of weights removed), got {value!r}")
    return round(s, SPARSITY_DECIMALS) + 0.0  # + 0.0: never -0.0


def same_sparsity(a, b) -> bool:
    """True when ``a`` and ``b`` have the same canonical label."""
    return canonical_sparsity(a) == canonical_sparsity(b)


def sparsity_position(labels: Iterable[float], value) -> int:
    """Position of ``value`` among the sparsity ``labels`` (compared by canonical label).

    Raises
    ------
    KeyError
        If no label matches; the message lists the labels.
    """
    labels = [float(x) for x in np.asarray(list(labels), dtype="float64")]
    target = canonical_sparsity(value)
    for i, label in enumerate(labels):
        if not math.isnan(label) and round(label, SPARSITY_DECIMALS) == target:
            return i
    raise KeyError(f"sparsity {value!r} is not in the grid (available: {', '.join(f'{x:g}' for x in labels)})")
