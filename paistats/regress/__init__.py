"""Regressions of accuracy change on distribution shift.

``shift_table(entries)`` builds one row per (pruner, variant, sparsity, seed); ``ols`` (cluster-robust
by seed) and ``mixedlm`` (random intercept by seed or pruner) fit any statsmodels formula on it,
defaulting to ``delta_accuracy ~ wasserstein_rel_init + wasserstein_rel_trained`` (+ pruner, sparsity,
arch, dataset fixed effects when they vary).
"""
from paistats.regress.models import RegressionResult, default_formula, fit, mixedlm, ols
from paistats.regress.table import DEFAULT_METRICS, shift_table

__all__ = ["DEFAULT_METRICS", "RegressionResult", "default_formula", "fit", "mixedlm", "ols", "shift_table"]
