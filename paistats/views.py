"""Views of an entry that need no index gymnastics: :func:`layers` and :func:`unpruned`."""
from __future__ import annotations

import xarray as xr

from paistats.store import layout

STAGES = ("init", "trained")


def stage_source(stage: str, variant: str) -> str:
    """Stored array holding a run's weights at ``stage``: the reinit variants start from ``reinit``,
    ``shuffle_kept`` / ``permute_kept`` from their per-run ``start`` (see
    :func:`paistats.store.layout.start_source`)."""
    if stage == "trained":
        return "trained"
    return layout.start_source(variant)


def start_weights(ds: xr.Dataset) -> xr.DataArray:
    """The weights each run started from (before masking), lazily: ``init``, ``reinit`` for the
    reinit variants, the per-run ``start`` for the stored-start variants.

    ``ds`` is a prunable layer's dataset with its inherited ``variant`` coordinate.
    """
    variant = ds["variant"]
    out = ds["init"]
    redrawn = variant.isin(list(layout.REINIT_VARIANTS))
    if bool(redrawn.any()):
        out = xr.where(redrawn, ds["reinit"], out)
    stored = variant.isin(list(layout.STORED_START_VARIANTS))
    if bool(stored.any()):
        if "start" not in ds.data_vars:
            raise ValueError(f"variants {', '.join(layout.STORED_START_VARIANTS)} start from a per-run `start` "
                             "array that this entry lacks: rebuild or re-plan the entry with this zoo_builder")
        out = xr.where(stored, ds["start"], out)
    return out


def layers(tree: xr.DataTree) -> list[str]:
    """Names of the prunable tensors of an entry (its root-level nodes with a ``mask``), in
    model order when the entry records it."""
    order = [t["name"] for t in tree.attrs.get("tensors", []) if t.get("prunable")]
    found = [name for name, node in tree.children.items()
             if name != layout.STATE_GROUP and "mask" in node.data_vars]
    ranked = [n for n in order if n in found]
    return ranked + [n for n in found if n not in ranked]


def _unpruned_node(node: xr.DataTree, stage: str) -> xr.DataArray:
    ds = node.to_dataset(inherit=True)
    missing = {"mask", "trained", "init", "reinit"} - set(ds.data_vars)
    if missing:
        raise ValueError(f"node {node.path!r} is not a prunable tensor (lacks {', '.join(sorted(missing))}); "
                         f"pick one of the entry's layers (paistats.layers(tree))")
    if stage == "trained":
        weights = ds["trained"]
    else:
        weights = start_weights(ds)
    out = weights.where(ds["mask"])
    tensor_dims = [d for d in ds["mask"].dims if d not in layout.RUN_DIMS]
    lead = [d for d in layout.RUN_DIMS if d in out.dims]
    out = out.transpose(*lead, *tensor_dims)
    out.name = node.name
    out.attrs = {"long_name": f"unpruned {stage} weights of {node.name} (NaN where pruned)", "stage": stage}
    return out


def unpruned(obj: xr.DataTree, stage: str = "trained") -> xr.DataArray | dict[str, xr.DataArray]:
    """Weights that survived pruning, NaN where pruned, for every variant.

    Parameters
    ----------
    obj : xarray.DataTree
        An entry (as returned by :func:`paistats.load`) or one of its layer nodes.
    stage : {"init", "trained"}
        ``"init"``: the weights each variant started from (the reinit variants' are the
        redrawn ones, ``shuffle_kept``'s and ``permute_kept``'s their stored per-run ``start``);
        ``"trained"``: the final weights.

    Returns
    -------
    xarray.DataArray or dict of str → DataArray
        For a layer node, a lazy DataArray with dims ``(variant, sparsity, seed, <tensor dims>)``
        (``pruner`` first for an architecture-level tree); for an entry, one per layer in model
        order.

    Examples
    --------
    >>> w = paistats.unpruned(tree, stage="init")["fc.0.weight"]       # doctest: +SKIP
    >>> w.sel(variant="original").std(["out_features", "in_features"])  # doctest: +SKIP
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    if not isinstance(obj, xr.DataTree):
        raise TypeError(f"unpruned() takes an entry DataTree or one of its layer nodes, got {type(obj).__name__}")
    if "mask" in obj.data_vars:
        return _unpruned_node(obj, stage)
    return {name: _unpruned_node(obj[name], stage) for name in layers(obj)}
