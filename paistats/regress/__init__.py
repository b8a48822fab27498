"""Regressions of accuracy change on distribution shift.

``shift_table(entries)`` builds one row per (pruner, variant, sparsity, seed); ``ols`` (cluster-robust
by seed) and ``mixedlm`` (random intercept by seed or pruner) fit any statsmodels formula on it,
defaulting to ``delta_accuracy ~ wasserstein_rel_init + wasserstein_rel_trained`` (+ pruner, sparsity,
arch, dataset fixed effects when they vary).
"""
from __future__ import annotations

import importlib

# Lazy (PEP 562): statsmodels' formula API loads on the first fit, not on ``import paistats``.
_WHERE = {"RegressionResult": "models", "default_formula": "models", "fit": "models", "mixedlm": "models",
          "ols": "models", "DEFAULT_METRICS": "table", "shift_table": "table"}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        value = getattr(importlib.import_module(f"paistats.regress.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'paistats.regress' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
