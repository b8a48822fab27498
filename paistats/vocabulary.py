"""The zoo's shared vocabulary: dimension names, stages, variants, reference names, table columns.

This module sits at the bottom of paistats (it imports nothing from the project). Every other
module — the store layout, views, statistics, regressions, plots and ``analysis/`` — takes these
names from here instead of retyping them, so one spelling and one order hold everywhere.
"""
from __future__ import annotations

# --- dimensions -------------------------------------------------------------------------------

#: Dimension along which ``paistats.load(arch)`` stacks the entries of several pruning methods.
#: (Not ``method``: that is a keyword of xarray's ``.sel``, so ``.sel(method="snip")`` would be
#: silently taken as the selection method.)
PRUNER = "pruner"
VARIANT = "variant"
SPARSITY = "sparsity"
SEED = "seed"
LAYER = "layer"
#: Dimension of the statistics and distances that says where a weight sample is read (:data:`STAGES`).
STAGE = "stage"
#: Grid dimensions of an entry, in storage order.
GRID_DIMS = (VARIANT, SPARSITY, SEED)
#: Every dimension that labels a run (the stacked pruner first, then the entry's grid).
RUN_DIMS = (PRUNER,) + GRID_DIMS
#: A run's cell: the runs that differ only in their seed.
CELL_DIMS = (PRUNER, SPARSITY, VARIANT)

# --- stages -----------------------------------------------------------------------------------

INIT = "init"
TRAINED = "trained"
#: Where a weight distribution is read: before training (the start) and after it.
STAGES = (INIT, TRAINED)

# --- variants ---------------------------------------------------------------------------------

#: The variant every other one is compared with: the pruner's own mask on the original weights.
REFERENCE_VARIANT = "original"
#: Canonical variant order (tables, plots, and new variants of a growing entry appended in it).
VARIANT_ORDER = ("original", "shuffle", "reinit", "invert", "invert_shuffle", "invert_reinit", "shuffle_kept",
                 "permute_kept")
#: The randomizations of Frankle et al. (2021), in report order.
FRANKLE_VARIANTS = ("original", "shuffle", "reinit", "invert")
#: Variants whose starting prunable weights are stored per run (array ``start``): they depend on
#: the run's (sparsity, seed), not on the seed only (``zoo_builder.variants.Variant.stored_start``).
STORED_START_VARIANTS = ("shuffle_kept", "permute_kept")
#: Variants that start from the redrawn weights (array ``reinit``).
REINIT_VARIANTS = ("reinit", "invert_reinit")

# --- pruners, layers --------------------------------------------------------------------------

#: The pruner whose mask is drawn independently of the weights: the null every distance is
#: divided by, and a pruner for which shuffle and reinit are no-ops by construction.
RANDOM_PRUNER = "random"
#: Label of the pooled layer (all prunable weights of a network as one sample).
POOLED_LAYER = "all"


def start_source(variant: str, stage: str = INIT) -> str:
    """Stored array holding the prunable weights of ``variant`` at ``stage``.

    Parameters
    ----------
    variant : str
        A variant name (:data:`VARIANT_ORDER`).
    stage : {"init", "trained"}
        ``"trained"`` is always read from ``trained``; at ``"init"`` a variant starts from
        ``start`` (per run) for :data:`STORED_START_VARIANTS`, ``reinit`` for
        :data:`REINIT_VARIANTS`, else ``init``.

    Returns
    -------
    str
        The array's name in the entry.
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    if stage == TRAINED:
        return TRAINED
    if variant in STORED_START_VARIANTS:
        return "start"
    return "reinit" if variant in REINIT_VARIANTS else INIT


def ordered(values, order=VARIANT_ORDER) -> list:
    """``values`` (deduplicated) in ``order``; values not in ``order`` follow, sorted.

    Parameters
    ----------
    values : iterable
        Labels (e.g. a ``variant`` coordinate or column); each is compared as ``str(value)``.
    order : sequence of str
        The preferred order; default :data:`VARIANT_ORDER`.

    Returns
    -------
    list of str
        Each distinct label once: those in ``order`` in that order, then the others sorted.

    Examples
    --------
    >>> ordered(["reinit", "zeta", "original", "reinit", "alpha"])
    ['original', 'reinit', 'alpha', 'zeta']
    """
    seen = list(dict.fromkeys(str(v) for v in values))
    return [v for v in order if v in seen] + sorted(v for v in seen if v not in order)


# --- table columns ----------------------------------------------------------------------------

class Columns:
    """Column names shared by inference tables, regression tables and plots.

    A table produced by :mod:`paistats.inference` or :mod:`paistats.regress` uses these names,
    and every plot function reads them, so a library table goes into a plot unchanged.
    """

    #: What is compared (e.g. a variant, "random", "noise floor") or a regression term.
    COMPARISON = "comparison"
    TERM = "term"
    #: Point estimate (an effect, a difference of means, a coefficient), in the table's unit.
    ESTIMATE = "estimate"
    STD_ERROR = "std_error"
    CI_LOW = "ci_low"
    CI_HIGH = "ci_high"
    PVALUE = "pvalue"
    #: P-value adjusted within the family named in :attr:`FAMILY` (H0: estimate = 0).
    PVALUE_ADJUSTED = "pvalue_adjusted"
    #: Adjusted p-values of H0 estimate = −margin / +margin (NaN without a margin).
    PVALUE_LOWER_ADJUSTED = "pvalue_lower_adjusted"
    PVALUE_UPPER_ADJUSTED = "pvalue_upper_adjusted"
    #: Level of the interval [:attr:`CI_LOW`, :attr:`CI_HIGH`] (the family's level after stacking).
    CONFIDENCE_LEVEL = "confidence_level"
    FAMILY = "family"
    VERDICT = "verdict"
    #: Number of units of inference (seeds) behind a row.
    N = "n"
    #: Accuracy change against the reference variant, in percentage points or fractions (stated
    #: in the table's attrs).
    DELTA_ACCURACY = "delta_accuracy"
    #: A generic shift column; the shift table names its columns :func:`shift_column`.
    SHIFT = "shift"


COLUMNS = Columns


def shift_column(metric: str, stage: str) -> str:
    """Name of the shift-table column of a distance at a stage.

    Parameters
    ----------
    metric : str
        A distance variable of ``paistats.distances`` (e.g. ``"wasserstein_rel"``).
    stage : str
        One of :data:`STAGES`.

    Returns
    -------
    str
        ``"{metric}_{stage}"``, e.g. ``"wasserstein_rel_init"`` (the layer-aggregated distance, in
        the metric's unit).
    """
    return f"{metric}_{stage}"


def shift_columns(columns) -> list[str]:
    """The shift columns among ``columns``, in their order.

    Parameters
    ----------
    columns : iterable of str
        Column names of a table (e.g. ``paistats.shift_table(...).columns``).

    Returns
    -------
    list of str
        :attr:`Columns.SHIFT` if present, then every ``{metric}_{stage}`` name (:func:`shift_column`)
        with ``stage`` in :data:`STAGES`, in table order.
    """
    names = [str(c) for c in columns]
    staged = [c for c in names if any(c.endswith(f"_{s}") and len(c) > len(s) + 1 for s in STAGES)]
    return ([Columns.SHIFT] if Columns.SHIFT in names else []) + staged


def drop_pooled(x):
    """``x`` (an xarray Dataset or DataArray) without the pooled layer :data:`POOLED_LAYER`, if it has one.

    Parameters
    ----------
    x : xarray.Dataset or xarray.DataArray
        Anything with an optional ``layer`` dim (statistics, distances, noise floors).

    Returns
    -------
    Same type as ``x``: every per-tensor layer, the pooled ``"all"`` left out (unchanged without a
    ``layer`` dim).
    """
    if LAYER not in getattr(x, "dims", ()):
        return x
    return x.drop_sel({LAYER: POOLED_LAYER}, errors="ignore")
