"""Result objects of :mod:`paistats.inference`, in the style of ``scipy.stats`` results.

Every result states its unit of inference (``"seed"`` for claims, ``"weight"`` for descriptive
per-weight tests), its n, the test that produced it and, once stacked with :func:`stack`, the
family its p-value was adjusted over.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable

from paistats.errors import ZooError


class InferenceError(ZooError, ValueError):
    """Input a test cannot answer (too few seeds, missing reference, constant data). One line, with the fix."""


@dataclass(frozen=True)
class ConfidenceInterval:
    """``low`` / ``high`` bounds at ``confidence_level``; unpacks as ``low, high = ci`` like scipy's."""

    low: float
    high: float
    confidence_level: float
    method: str

    def __iter__(self):
        return iter((self.low, self.high))


# kind → (verdict when the claim test rejects, verdict when the opposite test rejects)
VERDICTS = {
    "difference": ("different", None),
    "shift": ("above noise", None),
    "equivalence": ("equivalent", "different"),
    "noninferiority": ("non-inferior", "inferior"),
    "descriptive": (None, None),
}


@dataclass(frozen=True)
class InferenceResult:
    """One hypothesis test.

    Attributes
    ----------
    test : str
        Name of the test (``"paired t"``, ``"TOST paired"``, ``"ks_2samp"``, …).
    kind : str
        ``difference``, ``shift`` (variant vs noise floor), ``equivalence``, ``noninferiority`` or
        ``descriptive``; decides the verdict words.
    statistic, pvalue : float
        The reference implementation's numbers (scipy / statsmodels). For ``equivalence`` ``pvalue``
        is TOST's (H0: |δ| ≥ margin); for ``noninferiority`` it is H0: δ ≤ −margin (in the
        "better" direction).
    pvalue_opposite : float
        ``equivalence``: H0 |δ| ≤ margin (rejecting means "different" beyond the margin);
        ``noninferiority``: H0 δ ≥ −margin (rejecting means "inferior"). NaN for other kinds.
    effect, effect_name : float, str
        Effect size and what it is (``"mean difference"`` in the data's units, ``"KS distance"`` …).
    n : int
        Number of independent units (seeds for seed-level tests, weights of the smaller sample for
        per-weight tests).
    unit : str
        ``"seed"`` or ``"weight"``.
    descriptive : bool
        True for per-weight tests: weights within a run are not independent, so their p-values
        describe, they do not support claims.
    alternative, margin, alpha : str, float, float
    coords : dict
        Labels of the cell tested (pruner, variant, sparsity, layer, stage, quantity, …).
    family : str or None
        Set by :func:`stack`: the family the p-value was adjusted over.
    details : dict
        Extra numbers (e.g. the binding one-sided t's of TOST, the noise floor).
    """

    test: str
    kind: str
    statistic: float
    pvalue: float
    effect: float
    effect_name: str
    n: int
    unit: str
    descriptive: bool = False
    alternative: str = "two-sided"
    margin: float | None = None
    alpha: float = 0.05
    pvalue_opposite: float = math.nan
    coords: dict = field(default_factory=dict)
    family: str | None = None
    details: dict = field(default_factory=dict)
    _ci: Callable[[float], tuple[float, float]] | None = field(default=None, repr=False, compare=False)
    ci_method: str = "none"
    default_confidence_level: float = 0.95

    def confidence_interval(self, confidence_level: float | None = None) -> ConfidenceInterval:
        """Confidence interval of :attr:`effect`.

        Parameters
        ----------
        confidence_level : float, optional
            Default: ``1 − 2α`` for equivalence and non-inferiority results (the interval whose
            position relative to the margin gives the verdict), else 0.95.

        Raises
        ------
        InferenceError
            For per-weight tests whose scipy function has no interval.
        """
        if self._ci is None:
            raise InferenceError(f"{self.test} has no confidence interval; use paistats.inference.bootstrap_ci "
                                 "over seeds for one")
        level = self.default_confidence_level if confidence_level is None else float(confidence_level)
        low, high = self._ci(level)
        return ConfidenceInterval(float(low), float(high), level, self.ci_method)

    def verdict(self, pvalue: float | None = None, pvalue_opposite: float | None = None) -> str:
        """Verdict at :attr:`alpha` from (adjusted) p-values; undecidable claims are ``inconclusive``.

        ``equivalence``: equivalent / different / inconclusive; ``noninferiority``: non-inferior /
        inferior / inconclusive; ``difference``: different / inconclusive (not rejecting is no
        evidence of sameness); ``shift``: above noise / inconclusive; per-weight: descriptive.
        """
        if self.descriptive or self.kind == "descriptive":
            return "descriptive"
        p = self.pvalue if pvalue is None else pvalue
        q = self.pvalue_opposite if pvalue_opposite is None else pvalue_opposite
        yes, no = VERDICTS[self.kind]
        if p < self.alpha:
            return yes
        if no is not None and q < self.alpha:
            return no
        return "inconclusive"

    def with_coords(self, **coords) -> "InferenceResult":
        return replace(self, coords={**self.coords, **coords})

    def row(self) -> dict:
        """One tidy row (coords first), as used by :func:`stack`."""
        if self._ci is not None:
            ci = self.confidence_interval()
            low, high, level = ci.low, ci.high, ci.confidence_level
        else:
            low = high = level = math.nan
        return {**self.coords, "test": self.test, "kind": self.kind, "unit": self.unit, "n": self.n,
                "descriptive": self.descriptive, "alternative": self.alternative,
                "statistic": self.statistic, "pvalue": self.pvalue, "pvalue_opposite": self.pvalue_opposite,
                "effect": self.effect, "effect_name": self.effect_name, "ci_low": low, "ci_high": high,
                "confidence_level": level, "ci_method": self.ci_method,
                "margin": math.nan if self.margin is None else self.margin, "alpha": self.alpha,
                "verdict": self.verdict()}


@dataclass(frozen=True)
class BootstrapResult:
    """Bootstrap confidence interval over seeds.

    Attributes
    ----------
    estimate : float
        The statistic on the observed data.
    confidence_interval : ConfidenceInterval
    standard_error : float
        Bootstrap standard error.
    n : int
        Seeds resampled.
    unit : str
        ``"seed"`` (always: seeds are resampled, never weights).
    method : str
        scipy's method (``BCa``, ``percentile``, ``basic``) and whether it was hierarchical.
    """

    estimate: float
    confidence_interval: ConfidenceInterval
    standard_error: float
    n: int
    unit: str
    method: str
    coords: dict = field(default_factory=dict)
