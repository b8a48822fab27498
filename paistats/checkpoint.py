"""Turn a stored run back into a runnable torch model (imports torch and zoo_builder when called)."""
from __future__ import annotations

import numpy as np
import xarray as xr

from paistats.errors import IncompleteRunError
from paistats.store import layout

STAGES = ("init", "trained")


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
    sel = _cell(tree, variant, sparsity, seed, method)
    if not bool(tree["complete"].sel(sel).values):
        raise IncompleteRunError(f"run {sel} of {tree.name!r} is not complete; rebuild it or pick another")
    source = "trained" if stage == "trained" else ("reinit" if sel["variant"] == "reinit" else "init")
    out = {}
    for t in tree.attrs["tensors"]:
        node = tree[t["name"] if t["prunable"] else f"{layout.STATE_GROUP}/{t['name']}"]
        arr = node[source]
        values = np.asarray(arr.sel({d: v for d, v in sel.items() if d in arr.dims}).values)
        if t["prunable"]:
            mask = np.asarray(node["mask"].sel(sel).values)
            values = np.where(mask, values, np.zeros((), values.dtype))
        out[t["name"]] = values
    return out


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

    states = state_dict(tree, variant=variant, sparsity=sparsity, seed=seed, stage=stage, method=method)
    arch = tree.attrs.get("arch")
    dataset = tree.attrs.get("dataset")
    model = models.build(arch, dataset, seed=0)
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in states.items()}, strict=True)
    sel = _cell(tree, variant, sparsity, seed, method)
    model.masks = {name: torch.from_numpy(np.asarray(tree[name]["mask"].sel(sel).values))
                   for name in (t["name"] for t in tree.attrs["tensors"] if t["prunable"])}
    return model.eval()
