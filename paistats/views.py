"""Views of an entry that need no index gymnastics: :func:`layers` and :func:`unpruned`."""
from __future__ import annotations

import xarray as xr

from paistats.errors import TruncatedStoreError, UnknownLabelError
from paistats.store.layout import STATE_GROUP
from paistats.vocabulary import (INIT, REINIT_VARIANTS, RUN_DIMS, STAGES, STORED_START_VARIANTS, TRAINED, VARIANT,
                                 start_source)

__all__ = ["STAGES", "check_stage", "layers", "stage_source", "start_weights", "unpruned"]


def stage_source(stage: str, variant: str) -> str:
    """Stored array holding a run's prunable weights at ``stage``.

    Parameters
    ----------
    stage : {"init", "trained"}
        Before or after training.
    variant : str
        A variant name.

    Returns
    -------
    str
        ``trained``; at ``init`` ``reinit`` for the reinit variants, ``start`` (per run) for
        ``shuffle_kept`` / ``permute_kept``, else ``init`` (:func:`paistats.vocabulary.start_source`).

    Raises
    ------
    UnknownLabelError
        If ``stage`` is not a stage.
    """
    check_stage(stage)
    return start_source(variant, stage)


def check_stage(stage: object) -> str:
    """``stage`` if it is one of :data:`paistats.vocabulary.STAGES`.

    Parameters
    ----------
    stage : object
        The value to check.

    Returns
    -------
    str
        ``stage``.

    Raises
    ------
    UnknownLabelError
        Naming the stages.
    """
    if stage not in STAGES:
        raise UnknownLabelError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    return stage


def start_weights(ds: xr.Dataset) -> xr.DataArray:
    """The weights each run started from (before masking), lazily.

    Parameters
    ----------
    ds : xarray.Dataset
        A prunable layer's dataset with its inherited ``variant`` coordinate.

    Returns
    -------
    xarray.DataArray
        ``init``; ``reinit`` for the reinit variants, the per-run ``start`` for the stored-start
        variants. Dims ``(variant, …)`` and the tensor dims.

    Raises
    ------
    TruncatedStoreError
        If a stored-start variant is present but the entry lacks its ``start`` array.
    """
    variant = ds[VARIANT]
    out = ds[INIT]
    redrawn = variant.isin(list(REINIT_VARIANTS))
    if bool(redrawn.any()):
        out = xr.where(redrawn, ds["reinit"], out)
    stored = variant.isin(list(STORED_START_VARIANTS))
    if bool(stored.any()):
        if "start" not in ds.data_vars:
            raise TruncatedStoreError(f"variants {', '.join(STORED_START_VARIANTS)} start from a per-run `start` "
                                      "array that this entry lacks: rebuild or re-plan the entry with this zoo_builder")
        out = xr.where(stored, ds["start"], out)
    return out


def layers(tree: xr.DataTree) -> list[str]:
    """Names of the prunable tensors of an entry.

    Parameters
    ----------
    tree : xarray.DataTree
        An entry or architecture tree from :func:`paistats.load`.

    Returns
    -------
    list of str
        Its root-level nodes with a ``mask``, in model order when the entry records it.
    """
    order = [t["name"] for t in tree.attrs.get("tensors", []) if t.get("prunable")]
    found = [name for name, node in tree.children.items()
             if name != STATE_GROUP and "mask" in node.data_vars]
    ranked = [n for n in order if n in found]
    return ranked + [n for n in found if n not in ranked]


def _unpruned_node(node: xr.DataTree, stage: str) -> xr.DataArray:
    ds = node.to_dataset(inherit=True)
    missing = {"mask", TRAINED, INIT, "reinit"} - set(ds.data_vars)
    if missing:
        raise UnknownLabelError(f"node {node.path!r} is not a prunable tensor (lacks {', '.join(sorted(missing))}); "
                         f"pick one of the entry's layers (paistats.layers(tree))")
    if stage == TRAINED:
        weights = ds[TRAINED]
    else:
        weights = start_weights(ds)
    out = weights.where(ds["mask"])
    tensor_dims = [d for d in ds["mask"].dims if d not in RUN_DIMS]
    lead = [d for d in RUN_DIMS if d in out.dims]
    out = out.transpose(*lead, *tensor_dims)
    out.name = node.name
    out.attrs = {"long_name": f"unpruned {stage} weights of {node.name} (NaN where pruned)", "stage": stage}
    return out


def unpruned(obj: xr.DataTree, stage: str = TRAINED) -> xr.DataArray | dict[str, xr.DataArray]:
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

    Raises
    ------
    UnknownLabelError
        An unknown ``stage``, or a node that is not a prunable tensor.
    TypeError
        If ``obj`` is not a DataTree.

    Examples
    --------
    >>> w = paistats.unpruned(tree, stage="init")["fc.0.weight"]       # doctest: +SKIP
    >>> w.sel(variant="original").std(["out_features", "in_features"])  # doctest: +SKIP
    """
    check_stage(stage)
    if not isinstance(obj, xr.DataTree):
        raise TypeError(f"unpruned() takes an entry DataTree or one of its layer nodes, got {type(obj).__name__}")
    if "mask" in obj.data_vars:
        return _unpruned_node(obj, stage)
    names = layers(obj)
    if not names:
        raise UnknownLabelError(f"node {obj.path!r} is not a prunable tensor and holds none; pass an entry from "
                                f"paistats.load or one of its layers (paistats.layers(tree))")
    return {name: _unpruned_node(obj[name], stage) for name in names}
