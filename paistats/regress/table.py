"""The shift table: one row per run, accuracy change beside distribution shift."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr

from paistats.inference._result import InferenceError
from paistats.vocabulary import (
    LAYER, POOLED_LAYER, PRUNER, REFERENCE_VARIANT, RUN_DIMS, SEED, SPARSITY, STAGE, STAGES, VARIANT, shift_column,
)
from paistats.vocabulary import Columns as C

DEFAULT_METRICS = ("wasserstein_rel", "ks", "log_std_ratio")
DEFAULT_STAGES = STAGES


def _root_accuracy(entry) -> tuple[xr.DataArray, dict]:
    if isinstance(entry, xr.DataTree):
        root = entry.to_dataset(inherit=True)
        acc = root["accuracy"]
        if "complete" in root:
            acc = acc.where(root["complete"].astype(bool))
        return acc, dict(entry.attrs)
    if isinstance(entry, xr.Dataset):
        acc = entry["accuracy"]
        if "complete" in entry:
            acc = acc.where(entry["complete"].astype(bool))
        return acc, dict(entry.attrs)
    if isinstance(entry, xr.DataArray):
        return entry, dict(entry.attrs)
    raise InferenceError(f"shift_table takes a zoo entry (DataTree from paistats.load) or an accuracy DataArray, got "
                         f"{type(entry).__name__}")


def _layer_sizes(attrs: dict) -> dict[str, int]:
    sizes = {}
    for t in attrs.get("tensors", []) or []:
        if isinstance(t, dict) and t.get("prunable", True) and "shape" in t:
            sizes[t["name"]] = int(math.prod(t["shape"]))
    return sizes


def _aggregate(da: xr.DataArray, layer_weights: xr.DataArray | None, sizes: dict) -> xr.DataArray:
    """Parameter-weighted mean over ``layer`` (the pooled layer :data:`POOLED_LAYER` is left out)."""
    if LAYER not in da.dims:
        return da
    layers = [str(v) for v in da[LAYER].values if str(v) != POOLED_LAYER]
    if layer_weights is None:
        missing = [name for name in layers if name not in sizes]
        if missing:
            if POOLED_LAYER in [str(v) for v in da[LAYER].values]:
                return da.sel({LAYER: POOLED_LAYER})
            raise InferenceError(f"no parameter count for layers {missing[:3]}: pass layer_weights=DataArray(layer) or "
                                 "the zoo entry (its 'tensors' attribute lists the shapes)")
        layer_weights = xr.DataArray([sizes[name] for name in layers], dims=LAYER, coords={LAYER: layers})
    da = da.sel({LAYER: layers})
    w = layer_weights.sel({LAYER: layers}).astype(float)
    return (da * w).sum(LAYER, min_count=1) / w.where(da.notnull()).sum(LAYER)


def _one(entry, distances, *, metrics, stages, reference, layer_weights, include_reference) -> pd.DataFrame:
    acc, attrs = _root_accuracy(entry)
    if distances is None:
        from paistats.stats import distances as entry_distances  # the stats layer, not the paistats facade

        distances = entry_distances(entry)
    for need in (VARIANT, SPARSITY, SEED):
        if need not in acc.dims:
            raise InferenceError(f"accuracy has no {need!r} dim (dims: {acc.dims}); pass a zoo entry's root accuracy")
    variants = [str(v) for v in acc[VARIANT].values]
    if reference not in variants:
        raise InferenceError(f"reference variant {reference!r} is not in the entry (variants: {', '.join(variants)}); "
                             "Δaccuracy needs it: build it or pass reference=...")
    if acc.sizes[SEED] < 2:
        raise InferenceError(f"the entry has {acc.sizes[SEED]} seed; a shift table for inference needs at least 2")
    pruner = attrs.get("method") or attrs.get(PRUNER)
    if PRUNER not in acc.dims:
        acc = acc.expand_dims({PRUNER: [pruner or "?"]})
    ref = acc.sel({VARIANT: reference})
    cols = {"accuracy": acc, "accuracy_ref": ref.broadcast_like(acc), C.DELTA_ACCURACY: acc - ref}
    sizes = _layer_sizes(attrs)
    missing = [m for m in metrics if m not in distances]
    if missing:
        raise InferenceError(f"distances lack {missing} (have: {', '.join(distances.data_vars)}); pass metrics=...")
    for metric in metrics:
        da = distances[metric]
        if PRUNER not in da.dims:
            da = da.expand_dims({PRUNER: acc[PRUNER].values})
        agg = _aggregate(da, layer_weights, sizes)
        for stage in stages:
            if STAGE in agg.dims:
                if stage not in [str(s) for s in agg[STAGE].values]:
                    raise InferenceError(f"distances have no stage {stage!r} (stages: {list(agg[STAGE].values)})")
                cols[shift_column(metric, stage)] = agg.sel({STAGE: stage}, drop=True)
            else:
                cols[metric] = agg
    if isinstance(entry, (xr.DataTree, xr.Dataset)):
        root = entry.to_dataset(inherit=True) if isinstance(entry, xr.DataTree) else entry
        if "density" in root:
            dens = root["density"]
            cols["density"] = dens if PRUNER in dens.dims else dens.expand_dims({PRUNER: acc[PRUNER].values})
        if "disconnected" in root:
            disc = root["disconnected"].astype(bool)
            disc = disc if PRUNER in disc.dims else disc.expand_dims({PRUNER: acc[PRUNER].values})
            cols["disconnected"] = disc
            cols["disconnected_ref"] = disc.sel({VARIANT: reference}).broadcast_like(disc)
    ds = xr.Dataset({k: v.drop_vars([c for c in v.coords if c not in v.dims], errors="ignore")
                     for k, v in cols.items()}, )
    dims = [d for d in RUN_DIMS if d in ds.dims]
    extra = [d for d in ds.dims if d not in RUN_DIMS]
    if extra:
        raise InferenceError(f"inputs have dims {extra} beyond (pruner, variant, sparsity, seed, layer, stage); "
                             "select them first")
    df = ds.to_dataframe(dim_order=dims).reset_index()
    df = df[df["accuracy"].notna()]
    for c in ("disconnected", "disconnected_ref"):
        if c in df:
            df[c] = df[c].astype(bool)
    if not include_reference:
        df = df[df[VARIANT] != reference]
    for key in ("arch", "dataset"):
        if attrs.get(key):
            df.insert(0, key, attrs[key])
    return df


def shift_table(entries, distances=None, *, metrics=DEFAULT_METRICS, stages=DEFAULT_STAGES,
                reference: str = REFERENCE_VARIANT, layer_weights: xr.DataArray | None = None,
                include_reference: bool = False) -> pd.DataFrame:
    """One row per (pruner, variant, sparsity, seed): Δaccuracy beside layer-aggregated distribution shift.

    Parameters
    ----------
    entries : DataTree, Dataset or DataArray, or a list of them
        Zoo entries from :func:`paistats.load` (one method or an arch's stack of pruners), or root
        ``accuracy`` DataArrays (variant, sparsity, seed[, pruner]). Incomplete runs are dropped.
    distances : Dataset or list of Datasets, optional
        ``paistats.distances(entry)`` for each entry (dims pruner?, variant, sparsity, seed, layer,
        stage); computed when omitted.
    metrics : sequence of str
        Distance variables to aggregate (default ``wasserstein_rel``, ``ks``, ``log_std_ratio``).
    stages : sequence of str
        Stages kept, each giving a column ``{metric}_{stage}``
        (:func:`paistats.vocabulary.shift_column`; default init and trained).
    reference : str
        The variant subtracted: ``delta_accuracy`` = a run's accuracy − this variant's at the same
        pruner, sparsity and seed (default :data:`paistats.vocabulary.REFERENCE_VARIANT`,
        ``original``). It must be in every entry. It does not re-reference ``distances``: the
        shift columns are what ``distances`` holds (computed, when omitted, against the default
        reference); pass ``paistats.distances(entry, reference=...)`` with the same variant.
    layer_weights : DataArray (layer,), optional
        Weights of the layer aggregate; default each layer's parameter count from the entry's
        ``tensors`` attribute (a parameter-weighted mean over layers).
    include_reference : bool
        Keep the reference's own rows (Δaccuracy = 0 by construction); default False.

    Returns
    -------
    pandas.DataFrame
        Columns ``arch``, ``dataset`` (when the entry says), ``pruner``, ``variant``, ``sparsity``,
        ``seed``, ``accuracy``, ``accuracy_ref`` (the reference's at the same pruner, sparsity, seed),
        ``delta_accuracy`` = accuracy − accuracy_ref (fractions), the shift columns
        ``{metric}_{stage}`` in the order of ``metrics`` × ``stages`` (the first,
        ``wasserstein_rel_init`` by default, is what :func:`paistats.plot.shift_vs_accuracy` draws
        unless told ``shift=``),
        ``density`` when the entry has it, and ``disconnected`` / ``disconnected_ref`` (bool: the
        run / the reference run of its pruner, sparsity and seed carries no signal from input to
        output, root variable ``disconnected``) when the entry has it.
    """
    if isinstance(entries, (list, tuple)):
        dists = distances if isinstance(distances, (list, tuple)) else [distances] * len(entries)
        if len(dists) != len(entries):
            raise InferenceError(f"{len(entries)} entries but {len(dists)} distance datasets; pass one per entry")
        frames = [_one(e, d, metrics=metrics, stages=stages, reference=reference, layer_weights=layer_weights,
                       include_reference=include_reference) for e, d in zip(entries, dists)]
        df = pd.concat(frames, ignore_index=True)
    else:
        df = _one(entries, distances, metrics=metrics, stages=stages, reference=reference, layer_weights=layer_weights,
                  include_reference=include_reference)
    if df.empty:
        raise InferenceError("the shift table is empty: no complete runs of a non-reference variant")
    return df.reset_index(drop=True)
