"""Regressions of accuracy change on distribution shift.

``shift_table(entries)`` builds one row per (pruner, variant, sparsity, seed); ``ols`` (cluster-robust
by seed) and ``mixedlm`` (random intercept by seed or pruner) fit any statsmodels formula on it,
defaulting to ``delta_accuracy ~ wasserstein_rel_init + wasserstein_rel_trained`` (+ pruner, sparsity,
arch, dataset fixed effects when they vary).
"""
from __future__ import annotations

from paistats._lazy import lazy_attributes

# Lazy (PEP 562): statsmodels' formula API loads on the first fit, not on ``import paistats``.
_WHERE = {"RegressionResult": "models", "default_formula": "models", "fit": "models", "mixedlm": "models",
          "ols": "models", "DEFAULT_METRICS": "table", "shift_table": "table"}
__all__ = sorted(_WHERE)


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE)
