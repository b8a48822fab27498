"""One pass over an entry: builds the lazy per-layer computations, runs them in a single
``dask.compute`` (so that each tensor chunk is read once even when several results need it, and so
that an active ``distributed.Client`` runs them; with more than ``NOISE_TILE`` seeds a call per part
of a layer, which bounds memory), then shapes tidy Datasets."""
from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass

import dask
import dask.array
import numpy as np
import xarray as xr
try:  # private in dask (2024.12+): the graph nodes that :func:`_own_copy` renames
    from dask._task_spec import convert_legacy_graph, cull
except ImportError:  # pragma: no cover - an older dask: tiles share their reads (same results, more memory)
    convert_legacy_graph = cull = None
from dask.base import tokenize
from dask.core import flatten

from paistats.errors import StatsWarning  # noqa: F401 (re-exported by paistats.stats)
from paistats.store.layout import GRID_DIMS, REINIT_VARIANTS

from paistats.stats import _blocks
from paistats.stats._inputs import (
    PRUNER_DIM, RANDOM, SEED, VARIANT, Layer, complete_flags, entry_label, layer_nodes, pruner_dim, read_layer,
    whole,
)
from paistats.stats._kernels import BINS, DIST_NAMES, QUANTILES, RATIO_METRICS, STAT_NAMES
from paistats.vocabulary import INIT, POOLED_LAYER, REFERENCE_VARIANT, TRAINED

#: Stages of ``layer_stats`` (``dense_*``: the whole starting tensor / all scores, as reference).
STAT_STAGES = (INIT, TRAINED, "dense_init", "score", "dense_score")
#: Stages of ``distances``.
DIST_STAGES = _blocks.RUN_STAGES
_NS = len(STAT_NAMES)
KNOWN_DIMS = (PRUNER_DIM, *GRID_DIMS, "seed_pair", "layer", "stage", "quantile")


@dataclass(frozen=True)
class Request:
    """What to compute (also the key of precomputed results)."""

    stats: bool = True
    dist: bool = True
    noise: bool = True
    random: bool = True
    reference: str = REFERENCE_VARIANT
    include_pruned: bool = False
    bins: int = BINS
    quantiles: tuple = QUANTILES

    @property
    def dist_mode(self) -> str:
        return "pruned" if self.include_pruned else "kept"


def _check(req: Request, variants: list[str]) -> None:
    if req.reference != "dense" and req.reference not in variants:
        raise ValueError(f"reference={req.reference!r} is neither 'dense' nor a variant of the selection "
                         f"({', '.join(variants) or 'none'}): select that variant too or pass another reference")
    if not (isinstance(req.bins, (int, np.integer)) and req.bins >= 1):
        raise ValueError(f"bins must be a positive integer, got {req.bins!r}")
    q = np.asarray(req.quantiles, dtype=float)
    if q.ndim != 1 or np.any((q < 0) | (q > 1)):
        raise ValueError(f"quantiles must be numbers in [0, 1], got {req.quantiles!r}")


def _ensure_variant(layer: Layer) -> tuple[Layer, bool]:
    """Give a scalar-selected variant back its (length-1) dim; returns whether it was added."""
    if VARIANT in layer.mask.dims:
        return layer, False
    v = layer.complete.coords.get(VARIANT)
    if v is None or v.ndim:
        raise ValueError("the selection has no `variant` coordinate: pass an entry from paistats.load")
    value = v.values.item()

    def ex(da):
        return da.drop_vars(VARIANT, errors="ignore").expand_dims({VARIANT: [value]})

    return Layer(**{**layer.__dict__, "mask": ex(layer.mask), "start": ex(layer.start),
                    "trained": ex(layer.trained), "complete": ex(layer.complete)}), True


def _lazy_runs(layer: Layer, req: Request, variants: list[str]):
    T = list(layer.tensor_dims)
    core = [VARIANT, *T]
    ref = None
    if req.dist:
        ref = variants.index(req.reference) if req.reference != "dense" else None
    stats, dists = xr.apply_ufunc(
        _blocks.run_block, whole(layer.mask, core), whole(layer.start, core), whole(layer.trained, core),
        whole(layer.score, T), layer.complete,
        input_core_dims=[core, core, core, T, [VARIANT]],
        output_core_dims=[[VARIANT, "stage", "stat"], [VARIANT, "stage", "metric"]],
        dask="parallelized", output_dtypes=[np.float64, np.float64],
        dask_gufunc_kwargs={"output_sizes": {"stage": 3, "stat": _NS + len(req.quantiles),
                                             "metric": len(DIST_NAMES)}},
        kwargs=dict(nt=len(T), ref=ref, ref_mode="variant" if ref is not None else "dense", dist_mode=req.dist_mode,
                    bins=int(req.bins), quantiles=tuple(req.quantiles), want_stats=req.stats, want_dist=req.dist),
    )
    return stats, dists


def _fused(layer: Layer, rnd: Layer | None, req: Request, variants: list[str], do_noise: bool) -> bool:
    """Whether the layer's runs, noise floor and ratio to random come from one task per cell
    (:func:`_lazy_cells`): the runs and a noise floor or ratio to random are asked for (without
    those, a task per chunk of runs holds less), the reference is a selected variant, every array
    has a seed dim and a cell at most :data:`NOISE_TILE` seeds (more seeds take the tiled noise
    floor, whose memory does not grow with them)."""
    arrays = [layer.mask, layer.score] + ([rnd.mask, rnd.start, rnd.trained, rnd.score] if rnd is not None else [])
    return ((req.stats or req.dist) and (do_noise or rnd is not None) and req.reference in variants
            and all(SEED in x.dims for x in arrays) and layer.mask.sizes[SEED] <= NOISE_TILE)


def _lazy_cells(layer: Layer, rnd: Layer | None, req: Request, variants: list[str], do_noise: bool):
    """stats, distances, noise floor and cross (random-pruner) distances of every cell of ``layer``
    (:func:`paistats.stats._blocks.cell_block`; the results :func:`_lazy_runs`, :func:`_lazy_noise`
    and :func:`_lazy_random` give). The cross distances are None without a random pruner."""
    T = list(layer.tensor_dims)
    runs, seeds = [VARIANT, SEED, *T], [SEED, *T]
    args = [whole(layer.mask, runs), whole(layer.start, runs), whole(layer.trained, runs), whole(layer.score, seeds),
            layer.complete]
    core = [runs, runs, runs, seeds, [VARIANT, SEED]]
    if rnd is not None:
        sel = {VARIANT: REFERENCE_VARIANT}
        args += [whole(x.sel(sel, drop=True), seeds) for x in (rnd.mask, rnd.start, rnd.trained)]
        args += [whole(rnd.score, seeds), rnd.complete.sel(sel, drop=True)]
        core += [seeds] * 4 + [[SEED]]
    n_seeds = layer.mask.sizes[SEED]
    stats, dists, noise, cross = xr.apply_ufunc(
        _blocks.cell_block, *args, input_core_dims=core,
        output_core_dims=[[VARIANT, SEED, "stage", "stat"], [VARIANT, SEED, "stage", "metric"],
                          ["seed_pair", "stage", "metric"], [SEED, "stage", "metric"]],
        dask="parallelized", output_dtypes=[np.float64] * 4,
        dask_gufunc_kwargs={"output_sizes": {"stage": 3, "stat": _NS + len(req.quantiles), "metric": len(DIST_NAMES),
                                             "seed_pair": n_seeds * (n_seeds - 1) // 2}},
        kwargs=dict(nt=len(T), ref=variants.index(req.reference), dist_mode=req.dist_mode, bins=int(req.bins),
                    quantiles=tuple(req.quantiles), want_stats=req.stats, want_dist=req.dist, want_noise=do_noise),
    )
    return (stats, dists), noise, (cross if rnd is not None else None)


def _lazy_dense(layer: Layer, req: Request):
    """Statistics of the dense starting tensors and scores (:func:`paistats.stats._blocks.dense_block`).
    An arch stack's pruners start from the same tensors (one init per seed): a task holds every
    pruner of its seeds, so that a starting tensor's statistics are computed once, not per pruner."""
    T = list(layer.tensor_dims)
    stack = pruner_dim(layer.complete)
    shared = [stack] if stack is not None and all(stack in x.dims for x in (layer.init, layer.reinit, layer.score)) else []
    core = [*shared, *T]
    return xr.apply_ufunc(
        _blocks.dense_block, whole(layer.init, core), whole(layer.reinit, core), whole(layer.score, core),
        input_core_dims=[core] * 3, output_core_dims=[[*shared, "dstage", "stat"]], dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"dstage": 3, "stat": _NS + len(req.quantiles)}},
        kwargs=dict(nt=len(T), quantiles=tuple(req.quantiles)),
    )


def _reference_run(layer: Layer, req: Request):
    """(mask, start, trained, score, complete, mode) of the reference sample of each cell."""
    if req.reference == "dense":
        base = layer.init
        mask = xr.ones_like(base, dtype=bool)
        comp = layer.complete.any(VARIANT) if VARIANT in layer.complete.dims else layer.complete
        return mask, base, base, layer.score, comp, "dense"
    sel = {VARIANT: req.reference}
    return (layer.mask.sel(sel, drop=True), layer.start.sel(sel, drop=True), layer.trained.sel(sel, drop=True),
            layer.score, layer.complete.sel(sel, drop=True), req.dist_mode)


#: Most seeds one task holds: up to this many seeds per cell, one task per cell computes everything
#: (:func:`_lazy_cells`); an entry with more seeds per cell computes its runs chunk by chunk and its seed pairs
#: tile by tile, two groups of NOISE_TILE // 2 seeds at a time, so that one task holds at most
#: NOISE_TILE seeds of one cell and layer (as many as one block of NOISE_TILE seeds), not every seed.
#: Each tile reads its two groups itself (:func:`_own_reads`): a group shared by the tiles would
#: stay in memory from its first tile to its last, i.e. every seed at once.
#: Memory is then bounded in seeds; each group is read once per group, ⌈seeds / (NOISE_TILE / 2)⌉ times
#: instead of once (nothing changes up to NOISE_TILE seeds).
NOISE_TILE = 8


def _seed_groups(n_seeds: int, tile: int) -> list[range]:
    return [range(i, min(i + tile, n_seeds)) for i in range(0, n_seeds, tile)]


def _tile_order(groups: list[range]) -> tuple[list[tuple[int, int, bool]], np.ndarray]:
    """Tiles (group a, group b, same) and the permutation that puts their pairs, concatenated,
    into ``itertools.combinations`` order of the seeds."""
    n = groups[-1].stop
    index = {pair: i for i, pair in enumerate(itertools.combinations(range(n), 2))}
    tiles, where = [], []
    for i, ga in enumerate(groups):
        for j in range(i, len(groups)):
            gb = groups[j]
            tiles.append((i, j, i == j))
            where += [index[(ga[a], gb[b])] for a, b in _blocks.tile_pairs(len(ga), len(gb), i == j)]
    return tiles, np.argsort(where)


def _lazy_noise(layer: Layer, req: Request, tile: int | None = None):
    T = list(layer.tensor_dims)
    mask, start, trained, score, comp, mode = _reference_run(layer, req)
    n_seeds = layer.mask.sizes[SEED]
    tile = NOISE_TILE if tile is None else tile
    kwargs = dict(nt=len(T), mode=mode, ref_mode=mode, bins=int(req.bins))
    core = [SEED, *T]
    sizes = {"stage": 3, "metric": len(DIST_NAMES)}
    if n_seeds <= tile:
        return xr.apply_ufunc(
            _blocks.pair_block, whole(mask, core), whole(start, core), whole(trained, core), whole(score, core),
            comp, input_core_dims=[core, core, core, core, [SEED]], output_core_dims=[["seed_pair", "stage", "metric"]],
            dask="parallelized", output_dtypes=[np.float64],
            dask_gufunc_kwargs={"output_sizes": {"seed_pair": n_seeds * (n_seeds - 1) // 2, **sizes}}, kwargs=kwargs)
    groups = _seed_groups(n_seeds, max(1, tile // 2))  # a tile holds two groups: at most `tile` seeds
    tiles, order = _tile_order(groups)
    parts = []
    for i, j, same in tiles:
        a = _own_reads([_group(x, groups[i], core) for x in (mask, start, trained, score, comp)], (layer.name, i, j))
        b = _own_reads([_group(x, groups[j], core) for x in (mask, start, trained, score, comp)], (layer.name, j, i))
        seed_a = [f"{SEED}_a" if SEED in x.dims else None for x in a]
        b = [x.rename({SEED: f"{SEED}_b"}) if SEED in x.dims else x for x in b]
        a = [x.rename({SEED: f"{SEED}_a"}) if SEED in x.dims else x for x in a]
        ca, cb = [f"{SEED}_a", *T], [f"{SEED}_b", *T]
        n_pairs = len(_blocks.tile_pairs(len(groups[i]), len(groups[j]), same))
        parts.append(xr.apply_ufunc(
            _blocks.tile_block, *a, *b,
            input_core_dims=[ca, ca, ca, ca if seed_a[3] else T, [f"{SEED}_a"], cb, cb, cb,
                             cb if seed_a[3] else T, [f"{SEED}_b"]],
            output_core_dims=[["seed_pair", "stage", "metric"]], dask="parallelized", output_dtypes=[np.float64],
            dask_gufunc_kwargs={"output_sizes": {"seed_pair": n_pairs, **sizes}}, kwargs={**kwargs, "same": same}))
    return xr.concat(parts, dim="seed_pair").isel(seed_pair=order)


def _own_reads(arrays: list[xr.DataArray], tag) -> list[xr.DataArray]:
    """``arrays`` computed from their own copy of the task graph (store reads included), so that no
    other task shares, and keeps alive, their chunks. ``tag`` makes the copy's keys unique."""
    if cull is None:
        return arrays
    return [x.copy(data=_own_copy(x.data, tag)) if x.chunks is not None else x for x in arrays]


def _own_copy(x: dask.array.Array, tag) -> dask.array.Array:
    """A dask array equal to ``x`` whose every task (reads included) has a key of its own.
    (``dask.graph_manipulation.clone`` does this, but fails on rechunked arrays in dask 2026.8.)"""
    graph = convert_legacy_graph(dict(x.__dask_graph__()))
    graph = cull(graph, list(flatten(x.__dask_keys__())))
    suffix = tokenize(tag, x.name)

    def renamed(key):
        return (f"{key[0]}-{suffix}", *key[1:]) if isinstance(key, tuple) else f"{key}-{suffix}"

    subs = {key: renamed(key) for key in graph}
    copy = {subs[key]: node.substitute(subs, key=subs[key]) for key, node in graph.items()}
    return dask.array.Array(copy, renamed(x.name), x.chunks, meta=x._meta)


def _group(da: xr.DataArray, seeds: range, core) -> xr.DataArray:
    """Seeds ``seeds`` of ``da``, one chunk along ``core``."""
    if SEED in da.dims:
        da = da.isel({SEED: slice(seeds.start, seeds.stop)})
    return whole(da, core)


def _lazy_random(layer: Layer, rnd: Layer, req: Request):
    """d(random pruner's original run, this pruner's reference) per cell."""
    T = list(layer.tensor_dims)
    sel = {VARIANT: REFERENCE_VARIANT}
    a = (rnd.mask.sel(sel, drop=True), rnd.start.sel(sel, drop=True), rnd.trained.sel(sel, drop=True), rnd.score,
         rnd.complete.sel(sel, drop=True))
    mask, start, trained, score, comp, ref_mode = _reference_run(layer, req)
    args = [whole(x, T) for x in (*a[:4],)] + [a[4]] + [whole(x, T) for x in (mask, start, trained, score)] + [comp]
    return xr.apply_ufunc(
        _blocks.cross_block, *args, input_core_dims=[T] * 4 + [[]] + [T] * 4 + [[]],
        output_core_dims=[["stage", "metric"]], dask="parallelized", output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"stage": 3, "metric": len(DIST_NAMES)}},
        kwargs=dict(nt=len(T), mode=req.dist_mode, ref_mode=ref_mode, bins=int(req.bins)),
    )


def _random_layer(obj_layer: Layer, random_tree, name: str, complete: xr.DataArray) -> Layer | None:
    """The random pruner's layer, aligned to the cells of ``obj_layer`` (pruner dim or ``random=``)."""
    if random_tree is None:
        pdim = pruner_dim(obj_layer.complete)
        if pdim and RANDOM in [str(p) for p in obj_layer.mask[pdim].values]:
            sel = {pdim: RANDOM}
            return Layer(**{**obj_layer.__dict__, **{f: getattr(obj_layer, f).sel(sel, drop=True)
                                                     for f in ("mask", "start", "trained", "score", "complete")}})
        return None
    if name not in random_tree.children:
        return None
    flags = complete_flags(random_tree)
    r = read_layer(name, random_tree[name].to_dataset(inherit=True), flags)
    if REFERENCE_VARIANT not in [str(v) for v in np.atleast_1d(r.mask[VARIANT].values)]:
        raise ValueError(f"the random_entry= entry has no {REFERENCE_VARIANT!r} variant")
    # the labels of the runs (a scalar selection is a scalar coord of the root's flags only)
    coords = {d: obj_layer.complete[d] for d in ("sparsity", SEED) if d in obj_layer.complete.coords and d in r.mask.dims}
    scalar = [d for d, c in coords.items() if c.ndim == 0]  # selected by a scalar: no dim to broadcast along
    coords = {d: np.atleast_1d(c.values) for d, c in coords.items()}
    fills = {"mask": False, "complete": False}
    out = {}
    for field in ("mask", "start", "trained", "score", "complete"):
        da = getattr(r, field)
        da = da.reindex({d: c for d, c in coords.items() if d in da.dims}, fill_value=fills.get(field, np.nan))
        out[field] = da.isel({d: 0 for d in scalar if d in da.dims}, drop=True)
    return Layer(**{**r.__dict__, **out})


def _runs_label(da: xr.DataArray, limit: int = 4) -> str:
    """'variant=…, sparsity=…, seed=…; …' of the True cells of a boolean DataArray."""
    first = [d for d in (pruner_dim(da), VARIANT, "sparsity", SEED) if d in da.dims]
    da = da.transpose(*first, ...)
    idx = np.argwhere(np.asarray(da.values))
    parts = []
    for row in idx[:limit]:
        parts.append(", ".join(f"{d}={da[d].values[i]}" for d, i in zip(da.dims, row)))
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return "; ".join(parts) + more


def _warn(msg: str) -> None:
    warnings.warn(msg, StatsWarning, stacklevel=4)


def _stats_dataset(raw: xr.DataArray, dense: xr.DataArray | None, layer: Layer, q) -> xr.Dataset:
    """Tidy per-layer statistics with stages :data:`STAT_STAGES`."""
    raw = raw.assign_coords(stage=list(DIST_STAGES))
    parts = [raw.sel(stage="init"), raw.sel(stage="trained")]
    if dense is not None:
        # the stored starts of shuffle_kept / permute_kept permute init: their dense tensor is init's
        is_reinit = raw[VARIANT].isin(list(REINIT_VARIANTS))
        dense_init = xr.where(is_reinit, dense.isel(dstage=1), dense.isel(dstage=0))
        dense_score = dense.isel(dstage=2)
        comp = layer.complete
        parts += [dense_init.where(comp), None, dense_score.where(comp)]
    else:
        parts += [None, None, None]
    parts[3] = raw.sel(stage="score")
    like = parts[0]
    parts = [(p if p is not None else xr.full_like(like, np.nan)).drop_vars("stage", errors="ignore") for p in parts]
    parts = [xr.broadcast(p, like)[0] for p in parts]
    arr = xr.concat(parts, dim="stage").assign_coords(stage=list(STAT_STAGES))
    out = xr.Dataset({name: arr.isel(stat=i, drop=True) for i, name in enumerate(STAT_NAMES)})
    qv = arr.isel(stat=slice(_NS, None)).rename(stat="quantile").assign_coords(quantile=np.asarray(q, dtype=float))
    out["quantile_value"] = qv
    sigma = np.sqrt(2.0 / layer.fan_in) if layer.fan_in else np.nan
    weight_stage = xr.DataArray([s in ("init", "trained", "dense_init") for s in STAT_STAGES], dims="stage",
                                coords={"stage": list(STAT_STAGES)})
    out["std_ratio_init"] = (out["std"] / sigma).where(weight_stage)
    return out


def _dist_dataset(raw: xr.DataArray, stages=DIST_STAGES) -> xr.Dataset:
    raw = raw.assign_coords(stage=list(stages))
    return xr.Dataset({name: raw.isel(metric=i, drop=True) for i, name in enumerate(DIST_NAMES)})


def _order(ds: xr.Dataset, extra=()) -> xr.Dataset:
    lead = [d for d in (PRUNER_DIM, *[d for d in ds.dims if d not in KNOWN_DIMS], VARIANT, "sparsity", SEED, "seed_pair", "layer", "stage", "quantile", *extra)
            if d in ds.dims]
    rest = [d for d in ds.dims if d not in lead]
    ds = ds.transpose(*lead, *rest)
    # rebuild so that the Dataset's own dim order (used by .to_dataframe()) is the canonical one
    out = xr.Dataset(coords={d: ds[d] for d in (*lead, *rest) if d in ds.coords})
    out = out.assign_coords({c: ds[c] for c in ds.coords if c not in out.coords})
    out = out.assign(ds.data_vars)
    out.attrs = dict(ds.attrs)
    return out


def _aggregate(per_layer: xr.Dataset, weight: xr.DataArray, size: xr.DataArray | None) -> xr.Dataset:
    """``layer="all"``: mean over layers weighted by the kept count (layers with NaN skipped);
    ``count`` summed; ``density`` = total kept / total size. (NumPy inside: xarray's per-operation
    alignment cost more than the statistics on small entries.)"""
    out = {}
    w_all = weight.fillna(0)
    for name, da in per_layer.data_vars.items():
        axis = da.dims.index("layer")
        x = da.values
        nan = np.isnan(x)
        if name == "count" or (name == "density" and size is not None):
            kept = np.where(nan, 0.0, x).sum(axis)
            kept = np.where(nan.all(axis), np.nan, kept)
            if name == "count":
                value = kept
            else:
                c = per_layer["count"].transpose(*da.dims).values
                kept_c = np.where(np.isnan(c), 0.0, c).sum(axis)
                value = np.where(np.isnan(c).all(axis), np.nan, kept_c) / float(size.sum())
        else:
            w = w_all
            extra = [d for d in w.dims if d not in da.dims]
            if extra:
                w = w.mean(extra)
            # same coords in the same order (one concat): align by dim names with numpy broadcasting
            w = w.transpose(*[d for d in da.dims if d in w.dims]).values
            w = np.broadcast_to(w.reshape([da.sizes[d] if d in weight.dims else 1 for d in da.dims]), x.shape)
            ww = np.where(nan, 0.0, w)
            total = ww.sum(axis)
            with np.errstate(invalid="ignore", divide="ignore"):
                value = np.where(total > 0, (np.where(nan, 0.0, x) * ww).sum(axis) / total, np.nan)
        out[name] = (tuple(d for d in da.dims if d != "layer"), value)
    coords = {c: v.variable for c, v in per_layer.coords.items() if "layer" not in v.dims}
    return xr.Dataset(out, coords=coords).expand_dims(layer=[POOLED_LAYER])


def compute(obj: xr.DataTree, req: Request, *, random=None) -> dict[str, xr.Dataset]:
    """Everything ``req`` asks for, in one ``dask.compute`` (with more than :data:`NOISE_TILE` seeds,
    one per part of a layer). Keys: ``layer_stats``, ``distances``, ``noise_floor`` (those requested)."""
    nodes = layer_nodes(obj)
    flags = complete_flags(obj)
    label = entry_label(obj)
    layers: list[Layer] = []
    squeeze = False
    for name, ds in nodes:
        lay = read_layer(name, ds, flags)
        lay, squeeze = _ensure_variant(lay)
        layers.append(lay)
    variants = [str(v) for v in layers[0].mask[VARIANT].values]
    if req.dist or req.noise or req.random:
        _check(req, variants)
    n_seeds = layers[0].mask.sizes.get(SEED, 1)
    do_noise = req.noise and n_seeds >= 2
    if req.noise and not do_noise:
        seeds = np.atleast_1d(layers[0].mask[SEED].values) if SEED in layers[0].mask.coords else []
        _warn(f"paistats: {label}: the seed noise floor needs at least two seeds of the reference; the selection "
              f"has {len(seeds)} (seed {', '.join(map(str, seeds))}): noise floor values are NaN")

    lazy = []
    for lay in layers:
        item = {}
        rnd = _random_layer(lay, random, lay.name, flags) if req.random and req.dist else None
        if req.stats:
            item["dense"] = _lazy_dense(lay, req)
        if _fused(lay, rnd, req, variants, do_noise):
            runs, noise, cross = _lazy_cells(lay, rnd, req, variants, do_noise)
            item.update({"runs": runs, "noise": noise} if do_noise else {"runs": runs})
            if cross is not None:
                item[RANDOM] = cross
        else:
            if req.stats or req.dist:
                item["runs"] = _lazy_runs(lay, req, variants)
            if do_noise:
                item["noise"] = _lazy_noise(lay, req)
            if rnd is not None:
                item[RANDOM] = _lazy_random(lay, rnd, req)
        lazy.append(item)
    if n_seeds > NOISE_TILE:
        # many seeds: one part of one layer at a time, so that the scheduler never holds the reads of
        # the others while tiles run (peak 390 -> 470-490 MiB from 5 to 50 seeds, against 510-540
        # MiB in one call); the parts of a layer then read the tensors they share once each
        computed = [{key: dask.compute(part)[0] for key, part in item.items()} for item in lazy]
    else:
        (computed,) = dask.compute(lazy)

    results: dict[str, xr.Dataset] = {}
    sizes = xr.DataArray([lay.size for lay in layers], dims="layer", coords={"layer": [lay.name for lay in layers]})
    if req.stats:
        per = []
        for lay, c in zip(layers, computed):
            ds = _stats_dataset(c["runs"][0], c["dense"], lay, req.quantiles)
            _report(ds, lay, label)
            per.append(ds.drop_vars("nonfinite"))
        st = xr.concat(per, dim=xr.DataArray([lay.name for lay in layers], dims="layer", name="layer"))
        st = xr.concat([st, _aggregate(st, st["count"], sizes)], dim="layer")
        results["layer_stats"] = _finish(st, squeeze)
    if req.dist:
        per = []
        for lay, c in zip(layers, computed):
            ds = _dist_dataset(c["runs"][1])
            if RANDOM in c:
                den = _dist_dataset(c[RANDOM])
                for m in RATIO_METRICS:
                    d = den[m].where(den["stage"] != "score")
                    ds[f"{m}_random"] = d
                    ds[f"{m}_random_ratio"] = (ds[m] / d).where(d > 0)
            per.append(ds)
        dist = xr.concat(per, dim=xr.DataArray([lay.name for lay in layers], dims="layer", name="layer"))
        dist = xr.concat([dist, _aggregate(dist, dist["count"], None)], dim="layer")
        results["distances"] = _finish(dist.drop_vars("count"), squeeze)
    if req.noise:
        results["noise_floor"] = _noise_dataset(layers, computed, do_noise)
    for key, ds in results.items():
        ds.attrs.update({"entry": label, "reference": req.reference, "include_pruned": req.include_pruned,
                         "bins": int(req.bins)} if key != "layer_stats" else {"entry": label})
    return results


def _noise_dataset(layers: list[Layer], computed, do_noise: bool) -> xr.Dataset:
    mask = layers[0].mask
    seeds = np.atleast_1d(mask[SEED].values) if SEED in mask.coords else np.array([-1])
    if do_noise:
        pairs = list(itertools.combinations(range(len(seeds)), 2))
        per = [_dist_dataset(c["noise"]) for c in computed]
    else:
        pairs = [(0, None)]
        keep = (pruner_dim(layers[0].complete), "sparsity")
        like = mask.isel({d: 0 for d in mask.dims if d not in keep}, drop=True)
        shape = like.shape + (1, 3, len(DIST_NAMES))
        raw = xr.DataArray(np.full(shape, np.nan), dims=(*like.dims, "seed_pair", "stage", "metric"),
                           coords={d: like[d] for d in like.dims if d in like.coords})
        per = [_dist_dataset(raw) for _ in layers]
    nf = xr.concat(per, dim=xr.DataArray([lay.name for lay in layers], dims="layer", name="layer"))
    nf = xr.concat([nf, _aggregate(nf, nf["count"], None)], dim="layer").drop_vars("count")
    nf = nf.drop_vars([c for c in (VARIANT, SEED) if c in nf.coords and c not in nf.dims])
    nf = nf.assign_coords(seed_pair=np.arange(len(pairs)),
                          seed_a=("seed_pair", np.array([seeds[a] for a, _ in pairs])),
                          seed_b=("seed_pair", np.array([seeds[b] if b is not None else -1 for _, b in pairs])))
    return _order(nf)


def _finish(ds: xr.Dataset, squeeze: bool) -> xr.Dataset:
    if squeeze:
        ds = ds.squeeze(VARIANT)
    return _order(ds)


def _report(ds: xr.Dataset, layer: Layer, label: str) -> None:
    """One warning per layer for fully pruned runs and one for non-finite stored values."""
    count = ds["count"].sel(stage="init")
    empty = (count == 0) & layer.complete
    if bool(empty.any()):
        _warn(f"paistats: {label}/{layer.name} is fully pruned in {int(empty.sum())} run(s) "
              f"({_runs_label(empty)}): its statistics there are NaN")
    bad = ds["nonfinite"].fillna(0) > 0
    for stage in bad["stage"].values:
        b = bad.sel(stage=stage)
        if bool(b.any()):
            _warn(f"paistats: {label}/{layer.name}: non-finite (NaN or inf) stored values at stage {stage} in "
                  f"{int(b.sum())} run(s) ({_runs_label(b)}): their statistics are NaN")
