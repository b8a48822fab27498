"""One stored run as a NumPy state dict (no torch), or as a runnable torch model (:func:`to_model`).

Importing this module imports no torch: :func:`to_model` imports torch and the builder's model
definitions (:mod:`zoo_builder.models`) when it is called. The dependency goes one way: nothing
in ``zoo_builder`` imports this module back except ``zoo_builder.checkpoint``, which re-exports
:func:`to_model`.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from paistats.errors import IncompleteRunError, UnknownLabelError, shown
from paistats.store import layout
from paistats.store.grid import sparsity_position
from paistats.vocabulary import GRID_DIMS, INIT, PRUNER, SPARSITY, STAGES, TRAINED, VARIANT, start_source


def cell(tree: xr.DataTree, variant, sparsity, seed, pruner=None) -> dict:
    """The ``.sel`` labels of one run (sparsity matched by its canonical label).

    Raises
    ------
    UnknownLabelError
        If a label is not in the tree, or ``pruner`` is missing for an architecture-level tree.
    """
    sel: dict = {}
    if PRUNER in tree.dims:
        if pruner is None:
            raise UnknownLabelError(f"this tree stacks pruners {shown(tree[PRUNER].values)}: pass pruner=")
        if pruner not in list(tree[PRUNER].values):
            raise UnknownLabelError(f"pruner={pruner!r} is not in this tree; available: {shown(tree[PRUNER].values)}")
        sel[PRUNER] = pruner
    for dim, value in zip(GRID_DIMS, (variant, sparsity, seed)):
        labels = tree[dim].values
        try:
            pos = sparsity_position(labels, value) if dim == SPARSITY else list(labels).index(value)
        except (KeyError, ValueError):
            raise UnknownLabelError(f"{dim}={shown(value)} is not in this entry; available: {shown(labels)}") from None
        sel[dim] = labels[pos]
    return sel


def run_arrays(tree: xr.DataTree, sel: dict, stage: str) -> tuple[dict, dict]:
    """(state dict with masks applied, masks) of the run at grid cell ``sel``; each array read once."""
    if not bool(tree["complete"].sel(sel).values):
        raise IncompleteRunError(f"run {shown(sel)} of {tree.name!r} is not complete; rebuild it or pick another")
    source = start_source(sel[VARIANT], stage)
    values, masks = {}, {}
    for t in tree.attrs["tensors"]:
        node = tree[t["name"] if t["prunable"] else f"{layout.STATE_GROUP}/{t['name']}"]
        # stored-start variants keep per-run starts of prunable weights only; the rest start from init
        arr = node[source if t["prunable"] or source not in layout.STORED_START_ONLY else INIT]
        v = np.asarray(arr.sel({d: x for d, x in sel.items() if d in arr.dims}).values)
        if t["prunable"]:
            masks[t["name"]] = np.asarray(node["mask"].sel(sel).values)
            v = np.where(masks[t["name"]], v, np.zeros((), v.dtype))
        values[t["name"]] = v
    return values, masks


def state_dict(tree: xr.DataTree, *, variant: str, sparsity: float, seed: int, stage: str = TRAINED,
               pruner: str | None = None) -> dict[str, np.ndarray]:
    """NumPy state dict (every parameter and buffer) of one run, mask applied to prunable weights.

    Reads the arrays only (no torch): :func:`to_model` turns the same arrays into a model.

    Parameters
    ----------
    tree : xarray.DataTree
        An entry from :func:`paistats.load`, or an architecture-level tree (entries stacked along
        ``pruner``; then ``pruner=`` is required).
    variant : str
        The run's variant (:data:`paistats.vocabulary.VARIANT_ORDER`), e.g. ``"original"``.
    sparsity : float
        The run's sparsity (fraction of prunable weights removed, in [0, 1)), matched to the
        stored labels after rounding to 10 decimals (its canonical label).
    seed : int
        The run's seed.
    stage : {"trained", "init"}
        ``"trained"``: the final weights. ``"init"``: the weights the run started training from
        (reinit variants: the redrawn ones; ``shuffle_kept`` / ``permute_kept``: their stored
        per-run ``start`` for the prunable weights, ``init`` for the others; every other variant:
        ``init``).
    pruner : str, optional
        The pruning method, for an architecture-level tree.

    Returns
    -------
    dict of str to numpy.ndarray
        Parameter / buffer name (as in the model's ``state_dict``) → array of the tensor's shape
        and stored dtype. Prunable weights have their pruned entries set to exact zeros (mask
        False); non-prunable parameters and buffers are as stored.

    Raises
    ------
    UnknownLabelError
        If ``stage`` is not ``init`` / ``trained``, a label is not in the tree (the message lists
        the available ones), or ``pruner`` is missing for an architecture-level tree.
    IncompleteRunError
        If the run is not completely written.
    """
    if stage not in STAGES:
        raise UnknownLabelError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    return run_arrays(tree, cell(tree, variant, sparsity, seed, pruner), stage)[0]


def to_model(tree: xr.DataTree, *, variant: str, sparsity: float, seed: int, stage: str = TRAINED,
             pruner: str | None = None):
    """Rebuild a runnable ``torch.nn.Module`` of one stored run.

    Needs torch and the builder's model definitions (``pip install 'paistats[builder]'``); both
    are imported when this is called, never by ``import paistats``.

    Parameters
    ----------
    tree : xarray.DataTree
        An entry from :func:`paistats.load` (``pruner=`` needed for an architecture-level tree).
    variant, sparsity, seed :
        The run's grid cell (sparsity: fraction of prunable weights removed).
    stage : {"trained", "init"}
        Final weights, or the weights the run started training from.
    pruner : str, optional
        The pruning method, for a tree that stacks several along ``pruner``.

    Returns
    -------
    torch.nn.Module
        CPU, float32, in eval mode, pruned weights set to exact zeros; its masks (True = kept)
        are attached as ``model.masks`` (dict name → bool tensor).

    Raises
    ------
    IncompleteRunError, ValueError
    ImportError
        When torch or ``zoo_builder`` is not installed (one line: what to install).
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    try:
        import torch

        from zoo_builder import models
    except ImportError as e:
        raise ImportError(f"to_model needs torch and zoo_builder ({e}): pip install 'paistats[builder]'") from None
    states, masks = run_arrays(tree, cell(tree, variant, sparsity, seed, pruner), stage)
    model = models.build(tree.attrs.get("arch"), tree.attrs.get("dataset"), seed=0)
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in states.items()}, strict=True)
    model.masks = {name: torch.from_numpy(m) for name, m in masks.items()}
    return model.eval()
