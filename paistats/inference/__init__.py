"""Calibrated inference over a zoo: seed-level tests for claims, per-weight tests for description.

Units of inference: weights within a layer are not independent and runs of one seed share an
initialization, so claims are made at the level of runs with seeds as replicates
(:mod:`~paistats.inference.seeds`, :func:`compare`, :func:`noise_test`). Per-weight tests
(:mod:`~paistats.inference.weights`) return scipy's numbers labelled descriptive. Every result
states its test, unit, n and (after :func:`adjust_family`) the family its p-value was adjusted over.

The arrays a variant is compared with are its ``baseline``; ``reference`` always names a variant
(default ``"original"``). Errors are :class:`paistats.errors.InferenceError` (one line, with the fix).

Public API
----------
paired_test(variant, baseline), equivalence_test, noninferiority_test, shift_vs_noise
    One cell: one value per seed for a variant and its baseline (the reference variant's values).
compare(data, test=..., reference="original"), noise_test(distance, noise)
    Every cell of a (variant, seed, …) DataArray → list of results.
ks_test, anderson_test, mannwhitney_test, brown_forsythe_test, permutation_test
    Per-weight, descriptive.
bootstrap_ci, hierarchical_bootstrap
    Intervals over seeds (seeds resampled, never weights).
adjust_family, adjust, to_dataset, family_level
    Bonferroni intervals (default) or Holm / Benjamini-Hochberg p-values within a stated family;
    tidy DataFrame / Dataset with verdicts read off the interval printed beside them. ``stack``
    (the old name of ``adjust_family``) still works for one release with a FutureWarning.
interval_verdict, pvalue_verdict, WORDS
    The verdict rules (better / worse / equivalent / non-inferior / inconclusive; higher / lower
    without a direction; above / below noise for shift tests).
"""
from __future__ import annotations

from paistats._lazy import lazy_attributes
from paistats.errors import InferenceError

# Lazy (PEP 562): ``import paistats`` stays free of scipy / statsmodels until a test is used.
_WHERE = {
    "BootstrapResult": "_result", "ConfidenceInterval": "_result",
    "InferenceResult": "_result", "bootstrap_ci": "bootstrap", "hierarchical_bootstrap": "bootstrap",
    "compare": "grid", "noise_test": "grid", "adjust": "multiplicity", "adjust_family": "multiplicity",
    "stack": "multiplicity",
    "to_dataset": "multiplicity", "equivalence_test": "seeds", "noninferiority_test": "seeds",
    "paired_test": "seeds", "shift_vs_noise": "seeds", "anderson_test": "weights", "brown_forsythe_test": "weights",
    "ks_test": "weights", "mannwhitney_test": "weights", "permutation_test": "weights",
    "family_level": "multiplicity", "interval_verdict": "verdicts", "interval_claims": "verdicts", "pvalue_verdict": "verdicts",
    "WORDS": "verdicts",
}
#: Deprecated names: still reachable, left out of ``__all__``.
DEPRECATED = ("stack",)
__all__ = sorted({*_WHERE, "InferenceError"} - set(DEPRECATED))


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE)
