"""The public functions: :func:`layer_stats`, :func:`distances`, :func:`noise_floor`.

Their variable lists are generated from :mod:`paistats.stats.registry` (placeholders
``{statistics}`` / ``{distances}`` in the docstrings below)."""
from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from paistats.stats import derived
from paistats.stats._compute import Request, compute
from paistats.stats._kernels import BINS, QUANTILES
from paistats.stats.registry import docstring_list, ratio_names
from paistats.vocabulary import REFERENCE_VARIANT


def _mode(precomputed) -> str:
    if isinstance(precomputed, str) and precomputed == "require":
        return "require"
    if isinstance(precomputed, (bool, np.bool_)):
        return "use" if precomputed else "never"
    raise ValueError(f"precomputed must be True, False or 'require', got {precomputed!r}")


def _serve(obj: xr.DataTree, kind: str, req: Request, precomputed, random_entry: xr.DataTree | None = None
           ) -> xr.Dataset:
    """The stored result when it can serve (and is wanted), else computed; ``attrs["source"]`` says which."""
    mode = _mode(precomputed)
    why = "precomputed=False"
    if mode != "never":
        hit, why = derived.lookup(obj, kind, req, random=random_entry)
        if hit is not None:
            return hit
        if mode == "require":
            raise derived.NotPrecomputedError(
                f"paistats: {kind}: the stored statistics cannot serve this request ({why}); pass "
                f"precomputed=True to compute it, or store them with `python -m paistats stats ENTRY`")
    if kind == "distances" and random_entry is None and req.random:
        random_entry = derived.random_entry(obj)
    res = compute(obj, req, random=random_entry)[kind]
    res.attrs.update(source="computed", source_key="", source_reason=why)
    return res


def layer_stats(obj: xr.DataTree, *, quantiles=QUANTILES, precomputed: bool | str = True) -> xr.Dataset:
    """Statistics of the unpruned weights (and scores) of every run, layer and stage.

    Pruned entries never enter; incomplete runs (root ``complete`` flag False) are NaN. Each run's
    layer is sorted once per stage and every quantity is derived from that (streamed over dask
    chunks; an active ``distributed.Client`` runs it).

    Parameters
    ----------
    obj : xarray.DataTree
        What :func:`paistats.load` returns: an entry, an architecture's stack of pruning methods
        (dim ``pruner``), any ``.sel`` of them, or one layer node.
    quantiles : sequence of float, default (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
        Levels of ``quantile_value`` (``numpy.quantile``, linear interpolation).
    precomputed : {True, False, "require"}, default True
        True: the entry's stored statistics (:func:`write_derived`) when they can serve the request
        (fresh, default ``quantiles``; any spelling of the selection: scalar or list ``.sel``,
        ``.isel``, an entry or the arch stack), else computed; False: always computed;
        ``"require"``: stored, or :class:`NotPrecomputedError` saying why they cannot serve.

    Returns
    -------
    xarray.Dataset
        Dims ``(pruner?, variant, sparsity, seed, layer, stage[, quantile])``. ``stage``:
        ``init`` (the kept weights each variant started from; the reinit variant's are the redrawn
        ones), ``trained`` (kept trained weights), ``dense_init`` (the whole tensor the variant
        started from: the reference), ``score`` (the dense round-1 scores of the kept weights),
        ``dense_score`` (all scores). ``layer``: state-dict names, then ``"all"``.
        Variables (float64), of the sample x of each run, layer and stage (generated from
        :data:`paistats.stats.registry.STATISTICS`):

{statistics}
        - ``quantile_value``: ``numpy.quantile(x, quantiles)`` (linear interpolation; dim ``quantile``).

        ``layer="all"``: every variable averaged over layers weighted by each layer's ``count``
        (layers with NaN skipped), except ``count`` (summed) and ``density`` (total kept / total size).
        Attributes: ``entry``; ``source`` (``"stored"`` or ``"computed"``); ``source_key``
        (stored: ``"<entry>:<sha256 source key>"`` per entry read, ``"; "``-joined, in ``pruner``
        order; computed: ``""``); ``source_reason`` (computed: why the store did not serve; stored: ``""``).

    Raises
    ------
    NotPrecomputedError
        ``precomputed="require"`` and the stored statistics cannot serve the request.

    Warns
    -----
    StatsWarning
        Once per layer that is fully pruned in some runs (NaN there), and once per layer and
        stage with non-finite stored values (naming entry, layer and runs; NaN there).

    Examples
    --------
    >>> tree = paistats.load("lenet300-magnitude")                      # doctest: +SKIP
    >>> st = paistats.layer_stats(tree)                                 # doctest: +SKIP
    >>> st["std"].sel(stage="init", layer="fc.0.weight", sparsity=0.9)  # doctest: +SKIP
    >>> st.to_dataframe()                                               # doctest: +SKIP
    """
    req = Request(stats=True, dist=False, noise=False, random=False, quantiles=tuple(quantiles))
    return _serve(obj, "layer_stats", req, precomputed)


_UNSET = object()
_RANDOM_WARNED = False


def _deprecated_random(random_entry, random):
    """``random_entry`` after the deprecated spelling ``random=`` (FutureWarning, once per process)."""
    global _RANDOM_WARNED
    if random is _UNSET:
        return random_entry
    if random_entry is not None:
        raise TypeError("distances() got both random_entry= and its deprecated spelling random=: pass random_entry= only")
    if not _RANDOM_WARNED:
        _RANDOM_WARNED = True
        warnings.warn("distances(random=...) is deprecated (it reads like a random generator) and will be removed: "
                      "pass random_entry=... (the random pruner's entry)", FutureWarning, stacklevel=3)
    return random


def distances(obj: xr.DataTree, reference: str = REFERENCE_VARIANT, include_pruned: bool = False, *,
              bins: int = BINS, random_entry: xr.DataTree | None = None, precomputed: bool | str = True,
              random=_UNSET) -> xr.Dataset:
    """Distances between each run's weights and a reference, per layer and stage.

    Parameters
    ----------
    obj : xarray.DataTree
        As for :func:`layer_stats`.
    reference : str, default "original"
        ``"original"`` (or any other variant): that variant of the same pruner, sparsity and seed
        (paired); ``"dense"``: the whole tensor the run started from (its scores for stage score).
    include_pruned : bool, default False
        Put the pruned entries back as zeros in both samples (as Singh & Liu's notebooks computed
        Wasserstein distances on whole tensors; then dominated by density differences).
    bins : int, default 100
        Shared bins of ``jensen_shannon`` and ``hellinger``: ``bins`` equal-width bins spanning the
        range of the two samples together.
    random_entry : xarray.DataTree, optional
        The ``random`` pruner's entry (same architecture and dataset), whose ``original`` runs give
        the ratio to random pruning. Default: the zoo's ``{arch}-{dataset}-random`` entry when it
        exists (an arch stack with ``pruner="random"`` uses its own), so that an entry, any selection
        of the arch stack and the stored statistics give the same ratios.
    precomputed : {True, False, "require"}, default True
        As for :func:`layer_stats` (stored: ``reference="original"`` and the default ``bins``).
    random : xarray.DataTree, optional
        Deprecated spelling of ``random_entry`` (a :class:`FutureWarning`, once per process).

    Returns
    -------
    xarray.Dataset
        Dims ``(pruner?, variant, sparsity, seed, layer, stage)``, stage ``init`` / ``trained`` /
        ``score`` (each the run's sample against the reference's sample of that stage). Variables
        (float64), sample x of the run against reference y (generated from
        :data:`paistats.stats.registry.DISTANCES`):

{distances}

        Where the random pruner is available, for each distance with a ratio ({ratio_list}):
        ``<m>_random`` (the same distance between the random pruner's ``original`` run at the same
        sparsity and seed and this pruner's reference; NaN at stage score, whose scales differ by
        method) and ``<m>_random_ratio`` (= ``<m>`` / ``<m>_random``, Singh & Liu's ratio).
        ``layer="all"``: count-weighted mean over layers (weights: the run's kept count).
        Attributes ``entry``, ``reference``, ``include_pruned``, ``bins`` and ``source``,
        ``source_key``, ``source_reason`` as for :func:`layer_stats`.

    Raises
    ------
    NotPrecomputedError
        ``precomputed="require"`` and the stored statistics cannot serve the request.
    TypeError
        Both ``random_entry=`` and the deprecated ``random=`` are passed.

    Warns
    -----
    FutureWarning
        ``random=`` (deprecated spelling of ``random_entry=``), once per process.

    See Also
    --------
    noise_floor : the same distances between two seeds of the reference.

    Examples
    --------
    >>> d = paistats.distances(paistats.load("lenet300"))                # doctest: +SKIP
    >>> d["wasserstein_random_ratio"].sel(stage="trained", variant="shuffle").median()  # doctest: +SKIP
    """
    req = Request(stats=False, dist=True, noise=False, random=True, reference=reference,
                  include_pruned=bool(include_pruned), bins=bins)
    random_entry = _deprecated_random(random_entry, random)
    return _serve(obj, "distances", req, precomputed, random_entry=random_entry)


def noise_floor(obj: xr.DataTree, reference: str = REFERENCE_VARIANT, include_pruned: bool = False, *, bins: int = BINS,
                precomputed: bool | str = True) -> xr.Dataset:
    """The seed noise floor: each distance of :func:`distances` between two seeds of the reference.

    For every pair of seeds (a, b), a < b, the reference sample of seed a against that of seed b
    at the same pruner and sparsity, per layer and stage, so that a distance between variants can
    be judged against replicate noise.

    Parameters
    ----------
    obj, reference, include_pruned, bins, precomputed
        As for :func:`distances`.

    Returns
    -------
    xarray.Dataset
        Dims ``(pruner?, sparsity, seed_pair, layer, stage)``; coords ``seed_a``, ``seed_b`` on
        ``seed_pair``; the variables of :func:`distances` without the random ratios. With fewer
        than two seeds: one ``seed_pair`` (``seed_b = -1``) of NaN and one :class:`StatsWarning`.
        Attributes as for :func:`distances`.

    Raises
    ------
    NotPrecomputedError
        ``precomputed="require"`` and the stored statistics cannot serve the request.
    """
    req = Request(stats=False, dist=False, noise=True, random=False, reference=reference,
                  include_pruned=bool(include_pruned), bins=bins)
    return _serve(obj, "noise_floor", req, precomputed)


def _fill_docstrings() -> None:
    """Put the registries' variable lists into the docstrings (``{statistics}``, ``{distances}``)."""
    ratios = ", ".join(f"``{m}``" for m in ratio_names())
    for fn, fields in ((layer_stats, {"statistics": docstring_list("statistic")}),
                       (distances, {"distances": docstring_list("distance"), "ratio_list": ratios})):
        if fn.__doc__:
            for key, text in fields.items():
                fn.__doc__ = fn.__doc__.replace("{" + key + "}", text)


_fill_docstrings()
