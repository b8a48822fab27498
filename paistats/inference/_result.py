"""Result objects of :mod:`paistats.inference`, in the style of ``scipy.stats`` results.

Every result states its unit of inference (``"seed"`` for claims, ``"weight"`` for descriptive
per-weight tests), its n, the test that produced it and, once tabulated by :func:`adjust_family`, the
family its p-value was adjusted over.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable

from paistats.errors import InferenceError  # noqa: F401  (its public home is paistats.errors; re-exported here)
from paistats.inference.verdicts import interval_claims, interval_verdict, qualifier, verdict_text
from paistats.vocabulary import Columns


@dataclass(frozen=True)
class ConfidenceInterval:
    """``low`` / ``high`` bounds at ``confidence_level``; unpacks as ``low, high = ci`` like scipy's."""

    low: float
    high: float
    confidence_level: float
    method: str

    def __iter__(self):
        return iter((self.low, self.high))


KINDS = ("difference", "shift", "equivalence", "noninferiority", "descriptive")


@dataclass(frozen=True)
class InferenceResult:
    """One seed-level (or descriptive per-weight) test, with the interval its verdict is read from.

    Attributes
    ----------
    test : str
        Name of the test (``"paired t"``, ``"TOST paired"``, ``"ks_2samp"``, …).
    kind : str
        ``difference``, ``shift`` (variant vs noise floor), ``equivalence``, ``noninferiority`` or
        ``descriptive``. It names what :attr:`pvalue` tests; the verdict of every seed-level kind is
        read off one interval (:mod:`paistats.inference.verdicts`).
    statistic, pvalue : float
        ``difference`` / ``shift``: the test of H0 δ = 0 at :attr:`alternative` (scipy's number).
        ``equivalence``: min(1, 2 × statsmodels' TOST p); ``noninferiority``: min(1, 2 × the one-sided
        p of H0 δ ≤ −margin): margin claims follow the two-sided (1 − α) interval (ICH E9: one-sided
        α/2 each), so ``pvalue < α`` exactly when the verdict makes the claim. The raw reference
        number is ``details["reference_pvalue"]``.
    effect, effect_name : float, str
        Effect size and what it is (``"mean difference"`` in the data's units, ``"KS distance"`` …).
    n : int
        Number of independent units used (seeds with both sides; Wilcoxon: non-zero differences, as
        scipy uses them; per-weight tests: weights of the smaller sample).
    unit : str
        ``"seed"`` or ``"weight"``.
    descriptive : bool
        True for per-weight tests: weights within a run are not independent, so their p-values
        describe, they do not support claims.
    alternative : str
        ``two-sided`` (interval [L, U]), ``greater`` ([L, ∞)) or ``less`` ((−∞, U]).
    margin : float or None
        Equivalence / non-inferiority margin (data units); None: only better / worse claims.
    alpha : float
    higher_is_better : bool or None
        Direction of the verdict words: True (accuracy: better / worse), False (loss, distance), None
        (no direction: higher / lower).
    min_pvalue : float
        Smallest p-value the test can reach at this n (exact tests; 0 for continuous ones).
    coords : dict
        Labels of the cell tested (pruner, variant, sparsity, layer, stage, quantity, …).
    family : str or None
        Set by :func:`adjust_family`: the family the interval level and p-values were adjusted over.
    details : dict
        Extra numbers (df, the noise floor, the reference implementation's raw p-value …).
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
    higher_is_better: bool | None = None
    min_pvalue: float = 0.0
    coords: dict = field(default_factory=dict)
    family: str | None = None
    details: dict = field(default_factory=dict)
    _ci: Callable[[float], tuple[float, float]] | None = field(default=None, repr=False, compare=False)
    _p_at: Callable[[float], float] | None = field(default=None, repr=False, compare=False)
    ci_method: str = "none"

    def confidence_interval(self, confidence_level: float | None = None) -> ConfidenceInterval:
        """Confidence interval of :attr:`effect` (one-sided, with an infinite end, for one-sided tests).

        Parameters
        ----------
        confidence_level : float, optional
            Default ``1 − α`` (the level of the verdict of a single test; :func:`adjust_family` uses the
            family's level).

        Raises
        ------
        InferenceError
            For per-weight tests whose scipy function has no interval.
        """
        if self._ci is None:
            raise InferenceError(f"{self.test} has no confidence interval; use paistats.inference.bootstrap_ci "
                                 "over seeds for one")
        level = 1 - self.alpha if confidence_level is None else float(confidence_level)
        low, high = self._ci(level)
        return ConfidenceInterval(float(low), float(high), level, self.ci_method)

    def pvalue_at(self, theta: float) -> float:
        """p-value of H0 δ = ``theta`` at :attr:`alternative`, by the test whose inversion gives
        :meth:`confidence_interval` (so ``pvalue_at(θ) < 1 − level`` exactly when θ is outside it)."""
        if self._p_at is None:
            raise InferenceError(f"{self.test} has no p-value function of the effect; it is descriptive")
        return float(self._p_at(float(theta)))

    def verdict(self, confidence_level: float | None = None) -> str:
        """Verdict word read off :meth:`confidence_interval` at ``confidence_level`` (default 1 − α).

        See :mod:`paistats.inference.verdicts` for the rules; per-weight tests: ``descriptive``.
        """
        if self.descriptive or self.kind == "descriptive" or self._ci is None:
            return "descriptive"
        low, high = self.confidence_interval(confidence_level)
        return interval_verdict(low, high, margin=self.margin, higher_is_better=self.higher_is_better,
                                shift=self.kind == "shift")

    def claims(self, confidence_level: float | None = None) -> frozenset:
        """Every claim the interval at ``confidence_level`` supports (e.g. {"worse", "equivalent"}); the
        verdict is the first of them in precedence order."""
        if self.descriptive or self._ci is None:
            return frozenset()
        low, high = self.confidence_interval(confidence_level)
        return interval_claims(low, high, margin=self.margin, higher_is_better=self.higher_is_better,
                               shift=self.kind == "shift")

    def note(self, confidence_level: float | None = None, word: str | None = None) -> str:
        """Qualifier of the verdict: "by less / more than the margin", or "cannot reach α = … with n
        seeds" for an exact test whose smallest p-value is above the level's α."""
        if self.descriptive or self._ci is None:
            return ""
        level = 1 - self.alpha if confidence_level is None else float(confidence_level)
        word = self.verdict(level) if word is None else word
        if word == "inconclusive" and self.min_pvalue > 1 - level:
            return f"cannot reach α = {1 - level:.3g} with {self.n} {self.unit}s"
        low, high = self.confidence_interval(level)
        return qualifier(word, low, high, margin=self.margin)

    def verdict_text(self, confidence_level: float | None = None) -> str:
        """:meth:`verdict` with its :meth:`note` in parentheses."""
        word = self.verdict(confidence_level)
        return verdict_text(word, note=self.note(confidence_level, word))

    def with_coords(self, **coords) -> "InferenceResult":
        return replace(self, coords={**self.coords, **coords})

    def row(self, confidence_level: float | None = None) -> dict:
        """One tidy row (coords first) at ``confidence_level`` (default 1 − α).

        The columns follow :class:`paistats.vocabulary.Columns`: :attr:`effect` is the row's
        ``estimate``, beside ``effect_name``, ``ci_low`` / ``ci_high`` and ``confidence_level``.
        """
        level = 1 - self.alpha if confidence_level is None else float(confidence_level)
        if self._ci is not None:
            low, high = self.confidence_interval(level)
        else:
            low = high = level = math.nan
        m = math.nan if self.margin is None else self.margin
        return {**self.coords, "test": self.test, "kind": self.kind, "unit": self.unit, "n": self.n,
                "descriptive": self.descriptive, "alternative": self.alternative,
                "higher_is_better": self.higher_is_better, "statistic": self.statistic, "pvalue": self.pvalue,
                Columns.ESTIMATE: self.effect, "effect_name": self.effect_name, "ci_low": low, "ci_high": high,
                "confidence_level": level, "ci_method": self.ci_method, "margin": m, "alpha": self.alpha,
                "min_pvalue": self.min_pvalue, "verdict": self.verdict(level), "verdict_text": self.verdict_text(level)}


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
