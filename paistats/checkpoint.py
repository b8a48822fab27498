"""One stored run as a NumPy state dict (no torch). Runnable torch models: ``zoo_builder.checkpoint.to_model``."""
from __future__ import annotations

import numpy as np
import xarray as xr

from paistats.errors import IncompleteRunError, UnknownLabelError, shown
from paistats.store import layout
from paistats.store.grid import sparsity_position
from paistats.store.layout import PRUNER_DIM
from paistats.views import STAGES, stage_source


def cell(tree: xr.DataTree, variant, sparsity, seed, pruner=None) -> dict:
    """The ``.sel`` labels of one run (sparsity matched by its canonical label).

    Raises
    ------
    UnknownLabelError
        If a label is not in the tree, or ``pruner`` is missing for an architecture-level tree.
    """
    sel: dict = {}
    if PRUNER_DIM in tree.dims:
        if pruner is None:
            raise UnknownLabelError(f"this tree stacks pruners {shown(tree[PRUNER_DIM].values)}: pass pruner=")
        if pruner not in list(tree[PRUNER_DIM].values):
            raise UnknownLabelError(f"pruner={pruner!r} is not in this tree; available: {shown(tree[PRUNER_DIM].values)}")
        sel[PRUNER_DIM] = pruner
    for dim, value in (("variant", variant), ("sparsity", sparsity), ("seed", seed)):
        labels = tree[dim].values
        try:
            pos = sparsity_position(labels, value) if dim == "sparsity" else list(labels).index(value)
        except (KeyError, ValueError):
            raise UnknownLabelError(f"{dim}={shown(value)} is not in this entry; available: {shown(labels)}") from None
        sel[dim] = labels[pos]
    return sel


def run_arrays(tree: xr.DataTree, sel: dict, stage: str) -> tuple[dict, dict]:
    """(state dict with masks applied, masks) of the run at grid cell ``sel``; each array read once."""
    if not bool(tree["complete"].sel(sel).values):
        raise IncompleteRunError(f"run {shown(sel)} of {tree.name!r} is not complete; rebuild it or pick another")
    source = stage_source(stage, sel["variant"])
    values, masks = {}, {}
    for t in tree.attrs["tensors"]:
        node = tree[t["name"] if t["prunable"] else f"{layout.STATE_GROUP}/{t['name']}"]
        # stored-start variants keep per-run starts of prunable weights only; the rest start from init
        arr = node[source if t["prunable"] or source != "start" else "init"]
        v = np.asarray(arr.sel({d: x for d, x in sel.items() if d in arr.dims}).values)
        if t["prunable"]:
            masks[t["name"]] = np.asarray(node["mask"].sel(sel).values)
            v = np.where(masks[t["name"]], v, np.zeros((), v.dtype))
        values[t["name"]] = v
    return values, masks


def state_dict(tree: xr.DataTree, *, variant: str, sparsity: float, seed: int, stage: str = "trained",
               pruner: str | None = None) -> dict[str, np.ndarray]:
    """NumPy state dict (every parameter and buffer) of one run, mask applied to prunable weights.

    ``stage="init"`` gives the weights the run started from (reinit variants: the redrawn ones;
    ``shuffle_kept`` / ``permute_kept``: their stored per-run ``start``).
    ``pruner`` picks the method of an architecture-level tree.

    Raises
    ------
    IncompleteRunError
        If the run is not completely written.
    """
    if stage not in STAGES:
        raise UnknownLabelError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    return run_arrays(tree, cell(tree, variant, sparsity, seed, pruner), stage)[0]


def to_model(tree: xr.DataTree, **kwargs):
    """Runnable torch model of one stored run: see :func:`zoo_builder.checkpoint.to_model`.

    Needs the builder (torch and the model definitions): ``pip install 'paistats[builder]'``.
    """
    try:
        from zoo_builder.checkpoint import to_model as _to_model
    except ImportError as e:
        raise ImportError(f"to_model needs torch and zoo_builder ({e}): pip install 'paistats[builder]'") from None
    return _to_model(tree, **kwargs)
