"""Calibrated inference over a zoo: seed-level tests for claims, per-weight tests for description.

Units of inference: weights within a layer are not independent and runs of one seed share an
initialization, so claims are made at the level of runs with seeds as replicates
(:mod:`~paistats.inference.seeds`, :func:`compare`, :func:`noise_test`). Per-weight tests
(:mod:`~paistats.inference.weights`) return scipy's numbers labelled descriptive. Every result
states its test, unit, n and (after :func:`stack`) the family its p-value was adjusted over.

Public API
----------
paired_test, equivalence_test, noninferiority_test, shift_vs_noise
    One cell: one value per seed for a variant and the reference.
compare(data, test=...), noise_test(distance, noise)
    Every cell of a (variant, seed, …) DataArray → list of results.
ks_test, anderson_test, mannwhitney_test, brown_forsythe_test, permutation_test
    Per-weight, descriptive.
bootstrap_ci, hierarchical_bootstrap
    Intervals over seeds (seeds resampled, never weights).
adjust, stack, to_dataset
    Holm / Benjamini-Hochberg within a stated family; tidy DataFrame / Dataset with verdicts.
"""
from paistats.inference._result import BootstrapResult, ConfidenceInterval, InferenceError, InferenceResult
from paistats.inference.bootstrap import bootstrap_ci, hierarchical_bootstrap
from paistats.inference.grid import compare, noise_test
from paistats.inference.multiplicity import adjust, stack, to_dataset
from paistats.inference.seeds import equivalence_test, noninferiority_test, paired_test, shift_vs_noise
from paistats.inference.weights import (
    anderson_test, brown_forsythe_test, ks_test, mannwhitney_test, permutation_test,
)

__all__ = [
    "BootstrapResult", "ConfidenceInterval", "InferenceError", "InferenceResult", "adjust", "anderson_test",
    "bootstrap_ci", "brown_forsythe_test", "compare", "equivalence_test", "hierarchical_bootstrap", "ks_test",
    "mannwhitney_test", "noise_test", "noninferiority_test", "paired_test", "permutation_test", "shift_vs_noise",
    "stack", "to_dataset",
]
