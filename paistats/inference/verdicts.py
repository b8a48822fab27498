"""Verdict words read off one confidence interval of an effect δ = variant − reference.

Rules (``L``, ``U``: the interval's bounds at the family's level, either may be infinite for a
one-sided interval; ``m``: the margin, optional). With ``higher_is_better=True`` the precedence is:

1. ``L > 0``: **better**; ``U < 0``: **worse** (a significant difference, whatever the margin);
2. ``−m < L`` and ``U < m``: **equivalent**;
3. ``L > −m``: **non-inferior**;
4. otherwise **inconclusive**.

``higher_is_better=False`` swaps better and worse, and non-inferior reads ``U < m``.
``higher_is_better=None`` (no direction, e.g. a layer's std): **higher** / **lower** /
**equivalent** / **inconclusive** (no non-inferiority without a direction). Shift-vs-noise results
use **above noise** / **below noise** / **inconclusive**.

Qualifiers (in :func:`verdict_text`, never in the word itself): a significant difference whose
interval lies inside (−m, m) is "by less than the margin"; one whose interval lies wholly beyond
a margin is "by more than the margin"; an exact test that cannot reach the family's level at this
n says so ("cannot reach α = 0.05 with 5 seeds").

Since every claim is read off one interval, whenever the interval covers δ no claim is false: a
family of intervals with simultaneous coverage 1 − α (Bonferroni, 1 − α/m each) makes every
verdict of the family true with probability ≥ 1 − α.
"""
from __future__ import annotations

import math

from paistats.errors import InferenceError

DIRECTIONS = {True: ("better", "worse"), False: ("worse", "better"), None: ("higher", "lower")}
SHIFT_WORDS = ("above noise", "below noise")
WORDS = ("better", "worse", "higher", "lower", "equivalent", "non-inferior", "above noise", "below noise",
         "inconclusive", "descriptive")


def _up_down(higher_is_better, shift: bool) -> tuple[str, str]:
    if shift:
        return SHIFT_WORDS
    if higher_is_better not in DIRECTIONS:
        raise InferenceError(f"higher_is_better must be True, False or None (no direction), got {higher_is_better!r}")
    return DIRECTIONS[higher_is_better]


def interval_claims(low: float, high: float, *, margin: float | None = None, higher_is_better: bool | None = True,
                    shift: bool = False) -> frozenset:
    """Every claim the interval [low, high] supports (a verdict is the first of them in precedence order).

    E.g. [−3.36, −1.14] pp with a 5 pp margin supports {worse, equivalent}: the verdict is "worse"
    (qualified "by less than the margin").

    Parameters
    ----------
    low, high : float
        Interval bounds of δ = variant − reference, in the data's units (infinite ends allowed).
    margin : float, optional
        Equivalence / non-inferiority margin (> 0, data units).
    higher_is_better : bool or None
        Direction of the words (better / worse, or higher / lower for None).
    shift : bool
        Words of the shift-vs-noise test (above / below noise); the margin is not used.

    Returns
    -------
    frozenset of str
        Words of :data:`WORDS`; empty for a NaN bound.
    """
    up, down = _up_down(higher_is_better, shift)
    if math.isnan(low) or math.isnan(high):
        return frozenset()
    out = set()
    if low > 0:
        out.add(up)
    if high < 0:
        out.add(down)
    if margin is not None and not shift:
        if -margin < low and high < margin:
            out.add("equivalent")
        if (higher_is_better is True and low > -margin) or (higher_is_better is False and high < margin):
            out.add("non-inferior")
    return frozenset(out)


def interval_verdict(low: float, high: float, *, margin: float | None = None, higher_is_better: bool | None = True,
                     shift: bool = False) -> str:
    """The verdict word of an interval [low, high] of δ = variant − reference (rules in the module doc).

    Parameters
    ----------
    low, high : float
        Interval bounds in the data's units; ``-inf`` / ``inf`` for one-sided intervals; NaN gives
        ``inconclusive``.
    margin : float, optional
        Equivalence / non-inferiority margin (> 0, data units).
    higher_is_better : bool or None
        Direction of the words (better / worse, or higher / lower for None).
    shift : bool
        Words of the shift-vs-noise test (above / below noise); the margin is not used.

    Returns
    -------
    str
        One of :data:`WORDS`: the first claim of :func:`interval_claims` in the order
        better/worse (or higher/lower, above/below noise), equivalent, non-inferior; else inconclusive.
    """
    claims = interval_claims(low, high, margin=margin, higher_is_better=higher_is_better, shift=shift)
    up, down = _up_down(higher_is_better, shift)
    for word in (up, down, "equivalent", "non-inferior"):
        if word in claims:
            return word
    return "inconclusive"


def pvalue_verdict(estimate: float, p_zero: float, p_lower: float = math.nan, p_upper: float = math.nan, *,
                   alpha: float, margin: float | None = None, higher_is_better: bool | None = True,
                   shift: bool = False) -> str:
    """The same rules from (adjusted) p-values instead of an interval, for step-wise adjustments
    (Holm, BH) that have no matching interval.

    ``p_zero`` tests H0 δ = 0, ``p_lower`` H0 δ = −margin, ``p_upper`` H0 δ = +margin, each at the
    convention of the result's interval (two-sided unless the test was one-sided); "p < α" stands
    for "the interval excludes that value", and the side is the estimate's.

    Parameters
    ----------
    estimate : float
        Point estimate of δ (its sign picks the side of a significant difference).
    p_zero, p_lower, p_upper : float
        (Adjusted) p-values of H0 δ = 0, δ = −margin, δ = +margin (NaN without a margin).
    alpha : float
        Level the p-values are compared with.
    margin : float, optional
        Equivalence / non-inferiority margin (data units).
    higher_is_better : bool or None
        Direction of the words.
    shift : bool
        Words of the shift-vs-noise test.

    Returns
    -------
    str
        One of :data:`WORDS`.
    """
    up, down = _up_down(higher_is_better, shift)
    if p_zero < alpha:
        return up if estimate > 0 else down
    if margin is None or shift:
        return "inconclusive"
    lo_ok = p_lower < alpha and estimate > -margin
    hi_ok = p_upper < alpha and estimate < margin
    if lo_ok and hi_ok:
        return "equivalent"
    if (higher_is_better is True and lo_ok) or (higher_is_better is False and hi_ok):
        return "non-inferior"
    return "inconclusive"


def qualifier(word: str, low: float, high: float, *, margin: float | None = None) -> str:
    """"by less than the margin" / "by more than the margin" for a significant difference, else ''."""
    if margin is None or word not in ("better", "worse", "higher", "lower") or math.isnan(low) or math.isnan(high):
        return ""
    if -margin < low and high < margin:
        return "by less than the margin"
    if low > margin or high < -margin:
        return "by more than the margin"
    return ""


def verdict_text(word: str, *, note: str = "") -> str:
    """``word`` with its qualifier in parentheses (``"worse (by less than the margin)"``)."""
    return f"{word} ({note})" if note else word
