"""Turn a stored run back into a runnable torch model (imports torch and zoo_builder when called)."""
from __future__ import annotations

import numpy as np
import xarray as xr

from paistats.errors import IncompleteRunError
from paistats.store import layout
from paistats.views import STAGES, stage_source


def _cell(tree: xr.DataTree, variant, sparsity, seed, method) -> dict:
    sel: dict = {}
    if "method" in tree.dims:
        if method is None:
            raise ValueError(f"this tree stacks methods {list(tree['method'].values)}: pass method=")
        sel["method"] = method
    for dim, value in (("variant", variant), ("sparsity", sparsity), ("seed", seed)):
        labels = tree[dim].values
        hit = (np.isclose(labels.astype(float), float(value), rtol=0, atol=1e-9) if dim == "sparsity"
               else labels == value)
        if not hit.any():
            raise ValueError(f"{dim}={value!r} is not in this entry; available: {list(labels)}")
        sel[dim] = labels[np.argmax(hit)]
    return sel


def _run_arrays(tree: xr.DataTree, sel: dict, stage: str) -> tuple[dict, dict]:
    """(state dict with masks applied, masks) of the run at grid cell ``sel``; each array read once."""
    if not bool(tree["complete"].sel(sel).values):
        raise IncompleteRunError(f"run {sel} of {tree.name!r} is not complete; rebuild it or pick another")
    source = stage_source(stage, sel["variant"])
    values, masks = {}, {}
    for t in tree.attrs["tensors"]:
        node = tree[t["name"] if t["prunable"] else f"{layout.STATE_GROUP}/{t['name']}"]
        arr = node[source]
        v = np.asarray(arr.sel({d: x for d, x in sel.items() if d in arr.dims}).values)
        if t["prunable"]:
            masks[t["name"]] = np.asarray(node["mask"].sel(sel).values)
            v = np.where(masks[t["name"]], v, np.zeros((), v.dtype))
        values[t["name"]] = v
    return values, masks


def state_dict(tree: xr.DataTree, *, variant: str, sparsity: float, seed: int, stage: str = "trained",
               method: str | None = None) -> dict[str, np.ndarray]:
    """NumPy state dict (every parameter and buffer) of one run, mask applied to prunable weights.

    ``stage="init"`` gives the weights the run started from (``reinit`` variant: the redrawn ones).

    Raises
    ------
    IncompleteRunError
        If the run is not completely written.
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    return _run_arrays(tree, _cell(tree, variant, sparsity, seed, method), stage)[0]


def to_model(tree: xr.DataTree, *, variant: str, sparsity: float, seed: int, stage: str = "trained",
             method: str | None = None):
    """Rebuild a runnable ``torch.nn.Module`` of one stored run.

    Parameters
    ----------
    tree : xarray.DataTree
        An entry from :func:`paistats.load` (``method=`` needed for an architecture-level tree).
    variant, sparsity, seed :
        The run's grid cell.
    stage : {"trained", "init"}
        Final weights, or the weights the run started training from.

    Returns
    -------
    torch.nn.Module
        CPU, float32, in eval mode, pruned weights set to exact zeros; its masks (True = kept)
        are attached as ``model.masks`` (dict name → bool tensor).

    Raises
    ------
    IncompleteRunError, ValueError
    """
    import torch

    from zoo_builder import models

    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}, got {stage!r}")
    states, masks = _run_arrays(tree, _cell(tree, variant, sparsity, seed, method), stage)
    model = models.build(tree.attrs.get("arch"), tree.attrs.get("dataset"), seed=0)
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in states.items()}, strict=True)
    model.masks = {name: torch.from_numpy(m) for name, m in masks.items()}
    return model.eval()
