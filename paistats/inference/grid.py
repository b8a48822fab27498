"""Seed-level tests over every cell of a zoo-shaped DataArray (pruner × sparsity × layer × stage …)."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import xarray as xr

from paistats.errors import InferenceError, shown
from paistats.inference._result import InferenceResult
from paistats.inference.seeds import equivalence_test, noninferiority_test, paired_test, shift_vs_noise
from paistats.vocabulary import REFERENCE_VARIANT, SEED, VARIANT

TESTS = ("t", "wilcoxon", "signflip", "tost", "noninferiority")


def _item(v):
    return v.item() if hasattr(v, "item") else v


def _check_grid(data: xr.DataArray, reference: str, variants, dim: str, what: str) -> list:
    if not isinstance(data, xr.DataArray):
        raise InferenceError(f"{what} must be an xarray.DataArray with dims variant and {dim}, got {type(data).__name__}")
    for need in (VARIANT, dim):
        if need not in data.dims:
            raise InferenceError(f"{what} has no {need!r} dim (dims: {shown(data.dims)}); pass data with one value per "
                                 f"variant and {dim}")
    names = [str(v) for v in data[VARIANT].values]
    if reference not in names:
        raise InferenceError(f"reference variant {reference!r} is not in {what} (variants: {', '.join(names)}); "
                             "pass reference=... or build the reference variant")
    variants = [v for v in names if v != reference] if variants is None else list(variants)
    missing = [v for v in variants if v not in names]
    if missing or not variants:
        raise InferenceError(f"variants {missing or variants} not testable in {what} (variants: {', '.join(names)})")
    if data.sizes[dim] < 2:
        raise InferenceError(f"{what} has {data.sizes[dim]} {dim}(s); seed-level tests need at least 2: build more seeds")
    return variants


def _cells(data: xr.DataArray, skip: tuple[str, ...]):
    other = [d for d in data.dims if d not in skip]
    for labels in itertools.product(*(range(data.sizes[d]) for d in other)):
        sel = dict(zip(other, labels))
        yield {d: _item(data[d].values[i]) for d, i in sel.items()}, sel


def _run(cells, errors: str):
    results, skipped = [], []
    for coords, fn in cells:
        try:
            results.append(fn())
        except InferenceError as e:
            if errors == "raise":
                raise InferenceError(f"at {shown(coords)}: {e}") from None
            skipped.append((coords, str(e)))
    if skipped:
        warnings.warn(f"skipped {len(skipped)} untestable cell(s), e.g. {shown(skipped[0][0])}: {skipped[0][1]}",
                      stacklevel=3)
    return results


def compare(data: xr.DataArray, *, test: str = "t", reference: str = REFERENCE_VARIANT, variants=None, dim: str = SEED,
            margin: float | None = None, alpha: float = 0.05, alternative: str = "two-sided",
            higher_is_better: bool | None = None, paired: bool = True, errors: str = "raise") -> list[InferenceResult]:
    """Seed-level test of each variant against the reference in every cell of ``data``.

    Parameters
    ----------
    data : DataArray, dims (variant, seed, …)
        A per-run quantity: root ``accuracy`` (mask incomplete runs with ``.where(complete)``), a
        layer statistic from ``paistats.layer_stats`` or a distance; every other dim (pruner,
        sparsity, layer, stage, …) is a cell. Its ``name`` is recorded as coord ``quantity``.
        Cells where a variant was not built at all (every seed NaN, e.g. sparsity 0: dense
        baselines have no variants) are left out with one warning.
    test : {"t", "wilcoxon", "signflip", "tost", "noninferiority"}
        See :func:`paired_test`, :func:`equivalence_test`, :func:`noninferiority_test`.
    reference : str
        The variant every other one is compared with (default ``"original"``); its values are each
        test's ``baseline``.
    variants : list of str, optional
        The variants to test (default: every variant of ``data`` but ``reference``).
    dim : str
        The replicate dim (seeds).
    margin : float
        Needed by ``tost`` and ``noninferiority``; optional for the paired tests, where it lets the
        verdict say *equivalent* / *non-inferior* from the same interval (data units).
    higher_is_better : bool or None
        Verdict words: True (accuracy: better / worse), False (loss), None (higher / lower; the
        default, for quantities without a better direction). ``noninferiority`` needs True or False.
    alpha : float
        Level of each verdict before adjustment (:func:`paistats.inference.adjust_family` sets the
        family's).
    alternative : {"two-sided", "less", "greater"}
        Of the paired tests.
    paired : bool
        Must be True for ``tost`` and ``noninferiority`` (unpaired versions are refused).
    errors : {"raise", "skip"}
        ``skip`` leaves out untestable cells (too few seeds, constant) with one warning naming them.

    Returns
    -------
    list of InferenceResult
        Coords: every cell dim, ``variant`` and ``quantity``; adjust and tabulate with
        :func:`paistats.inference.adjust_family`.

    Raises
    ------
    InferenceError
        Unknown test, no reference variant in ``data``, fewer than 2 seeds, nothing built, or
        (``errors="raise"``) the first untestable cell, named.
    """
    if test not in TESTS:
        raise InferenceError(f"unknown test {test!r}; choose one of {', '.join(TESTS)}")
    if test == "noninferiority" and higher_is_better not in (True, False):
        raise InferenceError("test='noninferiority' needs a direction: pass higher_is_better=True (accuracy) or "
                             "False (loss, distance)")
    variants = _check_grid(data, reference, variants, dim, "data")
    data = data.transpose(..., VARIANT, dim).load()
    name = data.name or "value"

    def fn_for(x, y, coords):
        if test == "tost":
            return lambda: equivalence_test(x, y, margin=margin, paired=paired, alpha=alpha,
                                            higher_is_better=higher_is_better, coords=coords)
        if test == "noninferiority":
            return lambda: noninferiority_test(x, y, margin=margin, higher_is_better=higher_is_better, paired=paired,
                                               alpha=alpha, coords=coords)
        return lambda: paired_test(x, y, test=test, alternative=alternative, alpha=alpha, margin=margin,
                                   higher_is_better=higher_is_better, coords=coords)

    vpos = {str(v): i for i, v in enumerate(data[VARIANT].values)}
    cells, unbuilt = [], []
    for coords, sel in _cells(data, (VARIANT, dim)):
        block = data.isel(sel).values  # (variant, seed)
        y = block[vpos[reference]]
        for v in variants:
            c = {**coords, VARIANT: v, "quantity": name}
            if not np.isfinite(block[vpos[v]]).any():
                unbuilt.append(c)
                continue
            cells.append((c, fn_for(block[vpos[v]], y, c)))
    if unbuilt:
        warnings.warn(f"left out {len(unbuilt)} cell(s) whose variant was not built (no seed has a value), e.g. "
                      f"{shown(unbuilt[0])}; at sparsity 0 the variants of a dense baseline are not built", stacklevel=2)
    if not cells:
        raise InferenceError("no variant was built in any cell of data (every value NaN); select the sparsities "
                             "> 0 or check the 'complete' flag")
    return _run(cells, errors)


def noise_test(distance: xr.DataArray, noise: xr.DataArray, *, reference: str = REFERENCE_VARIANT, variants=None,
               dim: str = SEED, pair_dim: str = "seed_pair", alternative: str = "greater", alpha: float = 0.05,
               errors: str = "raise") -> list[InferenceResult]:
    """:func:`shift_vs_noise` in every cell: is each variant farther from the reference than two
    seeds of the reference are from each other?

    A signed metric (negative values, e.g. ``log_std_ratio``) is refused: pass ``abs(x)`` of it.

    Parameters
    ----------
    distance : DataArray, dims (variant, seed, …)
        A metric of ``paistats.distances`` (variant vs reference at the same seed).
    noise : DataArray, dims (seed_pair, …) with coords ``seed_a``, ``seed_b``
        The same metric between two seeds of the reference; cells (all other dims) must match
        ``distance``'s. A ``variant`` dim, if present, is reduced to ``reference``.
    reference : str
        The variant the distances are measured from (default ``"original"``).
    variants : list of str, optional
        The variants to test (default: every one but ``reference``).
    dim, pair_dim : str
        The seed dim of ``distance`` and the seed-pair dim of ``noise``.
    alternative : {"greater", "less", "two-sided"}
        See :func:`shift_vs_noise`.
    alpha : float
        Level of each verdict before adjustment.
    errors : {"raise", "skip"}
        ``skip`` leaves out untestable cells with one warning naming them.

    Returns
    -------
    list of InferenceResult
        kind ``shift``; coords: every cell dim, ``variant`` and ``quantity``.

    Raises
    ------
    InferenceError
        Missing reference, seed pairs or dims; (``errors="raise"``) the first untestable cell.
    """
    variants = _check_grid(distance, reference, variants, dim, "distance")
    if pair_dim not in noise.dims or "seed_a" not in noise.coords or "seed_b" not in noise.coords:
        raise InferenceError(f"noise needs a {pair_dim!r} dim with seed_a / seed_b coords (the reference's seed noise "
                             f"floor from paistats.distances), got dims {shown(noise.dims)}")
    if VARIANT in noise.dims:
        noise = noise.sel({VARIANT: reference})
    distance = distance.transpose(..., VARIANT, dim).load()
    noise = noise.load()
    seeds = distance[dim].values
    name = distance.name or "distance"
    cells = []
    for coords, sel in _cells(distance, (VARIANT, dim)):
        cell_noise = noise.sel({k: v for k, v in coords.items() if k in noise.dims})
        extra = [d for d in cell_noise.dims if d != pair_dim]
        if extra:
            raise InferenceError(f"noise has dims {extra} that distance lacks; select them first")
        block = distance.isel(sel)
        for v in variants:
            c = {**coords, VARIANT: v, "quantity": name}
            d = block.sel({VARIANT: v}).values
            cells.append((c, lambda d=d, c=c, n=cell_noise: shift_vs_noise(
                d, n.values, seeds=seeds, seed_a=n["seed_a"].values, seed_b=n["seed_b"].values,
                alternative=alternative, alpha=alpha, coords=c)))
    return _run(cells, errors)
