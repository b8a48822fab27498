"""What the statistics read from an entry: per layer, lazily, the arrays of every run.

Dimension-agnostic: a layer's run dims are the dims of the root ``complete`` flag (``pruner`` of an
architecture stack, then the grid dims); its tensor dims are the remaining dims of its ``mask``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import xarray as xr

from paistats.store import layout

from paistats.vocabulary import PRUNER as PRUNER_DIM
from paistats.vocabulary import RANDOM_PRUNER as RANDOM  # noqa: F401 (for _compute)
from paistats.vocabulary import SEED, VARIANT  # noqa: F401 (for _compute)


@dataclass
class Layer:
    """The lazy arrays of one prunable layer (``start``: the weights each variant started from)."""

    name: str
    mask: xr.DataArray
    start: xr.DataArray
    trained: xr.DataArray
    score: xr.DataArray
    init: xr.DataArray
    reinit: xr.DataArray
    complete: xr.DataArray
    tensor_dims: tuple[str, ...]
    fan_in: int
    size: int


def _layer_names(tree: xr.DataTree) -> list[str]:
    from paistats.views import layers

    return layers(tree)


def _root(obj: xr.DataTree) -> xr.DataTree:
    return obj.root if obj.parent is not None else obj


def complete_flags(obj: xr.DataTree) -> xr.DataArray:
    """The run-completion flags (numpy) of ``obj``; all True when the object carries none."""
    root = _root(obj)
    if "complete" in root.data_vars:
        flags = root["complete"]
        if obj is not root:  # a layer node of a (possibly selected) tree: align to its coords
            coords = {d: obj[d] for d in flags.dims if d in obj.coords}
            flags = flags.sel(coords) if coords else flags
        return flags.compute().astype(bool)  # compute, not load: the tree keeps its lazy arrays
    raise ValueError("the object has no root `complete` flags: pass an entry from paistats.load "
                     "(or one of its layer nodes)")


def layer_nodes(obj: xr.DataTree) -> list[tuple[str, xr.Dataset]]:
    """(name, dataset with inherited coords) of every prunable layer of ``obj``."""
    if not isinstance(obj, xr.DataTree):
        raise TypeError(f"expected what paistats.load returns (an xarray.DataTree, an arch stack or a .sel "
                        f"of them), got {type(obj).__name__}")
    if "mask" in obj.data_vars:
        return [(obj.name, obj.to_dataset(inherit=True))]
    names = _layer_names(obj)
    if not names:
        if any(t.get("prunable") for t in obj.attrs.get("tensors", [])):
            raise ValueError("the entry was loaded without tensors and has no fresh precomputed statistics for "
                             "this request: load it with tensors=True, or run `python -m paistats stats ENTRY`")
        raise ValueError("the object holds no prunable layer (no node with a `mask`): pass an entry from "
                         "paistats.load")
    return [(n, obj[n].to_dataset(inherit=True)) for n in names]


def read_layer(name: str, ds: xr.Dataset, complete: xr.DataArray) -> Layer:
    missing = {"mask", "trained", "init", "reinit", "score"} - set(ds.data_vars)
    if missing:
        raise ValueError(f"layer {name!r} lacks {', '.join(sorted(missing))}: not a prunable layer of a zoo entry")
    run_dims = set(complete.dims)
    tensor_dims = tuple(d for d in ds["mask"].dims if d not in run_dims)
    shape = [ds.sizes[d] for d in tensor_dims]
    init, reinit = ds["init"], ds["reinit"]
    variants = [str(v) for v in np.atleast_1d(ds[VARIANT].values)] if VARIANT in ds.coords else []
    if set(variants) & {*layout.REINIT_VARIANTS, *layout.STORED_START_VARIANTS}:
        from paistats.views import start_weights

        start = start_weights(ds)
    elif VARIANT in ds["mask"].dims:
        start = init.expand_dims({VARIANT: ds[VARIANT].values}).transpose(*ds["mask"].dims, missing_dims="ignore")
    else:
        start = init
    return Layer(name=name, mask=ds["mask"], start=start, trained=ds["trained"], score=ds["score"],
                 init=init, reinit=reinit, complete=complete, tensor_dims=tensor_dims,
                 fan_in=math.prod(shape[1:]), size=math.prod(shape))


def pruner_dim(complete: xr.DataArray) -> str | None:
    """The dim stacking pruning methods (``pruner``; any run dim outside the grid), or None."""
    if PRUNER_DIM in complete.dims:
        return PRUNER_DIM
    extra = [d for d in complete.dims if d not in layout.GRID_DIMS]
    return extra[0] if extra else None


def whole(da: xr.DataArray, dims) -> xr.DataArray:
    """``da`` with one dask chunk along each of ``dims`` (the core dims of a block function)."""
    if da.chunks is None:
        return da
    want = {d: -1 for d in dims if d in da.dims}
    return da.chunk(want) if want else da


def entry_label(obj: xr.DataTree) -> str:
    root = _root(obj)
    return str(root.attrs.get("entry") or root.name or "entry")
