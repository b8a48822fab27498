"""Regressions of accuracy change on distribution shift.

``shift_table(entries)`` builds one row per (pruner, variant, sparsity, seed). One model per question:
``immunity`` (shuffle and reinit against original within pruner × sparsity cells: does init shift
explain Δaccuracy? trained shift as association) and ``invert_cost`` (what a wrong mask costs).
``ols`` (CR3 jackknife by seed) and ``mixedlm`` (random intercept) remain general tools for any
formula; ``default_formula`` pools every variant and answers none of those questions.
Both regressions name their grouping column ``groups=`` (``ols(cluster=)`` still works for one
release with a FutureWarning); a :class:`RegressionResult` says which model it is in ``kind`` and
holds the fitted statsmodels results in ``result``.
"""
from __future__ import annotations

from paistats._lazy import lazy_attributes

# Lazy (PEP 562): statsmodels' formula API loads on the first fit, not on ``import paistats``.
_WHERE = {"RegressionResult": "models", "cluster_jackknife": "models", "default_formula": "models", "fit": "models",
          "mixedlm": "models", "ols": "models", "DEFAULT_METRICS": "table", "shift_table": "table",
          "Immunity": "questions", "InvertCost": "questions", "ShiftEffect": "questions", "immunity": "questions",
          "invert_cost": "questions", "shift_verdict": "questions"}
__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE)
