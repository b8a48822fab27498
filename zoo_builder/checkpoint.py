"""Turn a stored run of a zoo entry back into a runnable torch model."""
from __future__ import annotations

import numpy as np
import xarray as xr

from paistats.checkpoint import cell, run_arrays
from paistats.views import STAGES


def to_model(tree: xr.DataTree, *, variant: str, sparsity: float, seed: int, stage: str = "trained",
             pruner: str | None = None):
    """Rebuild a runnable ``torch.nn.Module`` of one stored run.

    Parameters
    ----------
    tree : xarray.DataTree
        An entry from :func:`paistats.load` (``pruner=`` needed for an architecture-level tree).
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
    states, masks = run_arrays(tree, cell(tree, variant, sparsity, seed, pruner), stage)
    model = models.build(tree.attrs.get("arch"), tree.attrs.get("dataset"), seed=0)
    model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in states.items()}, strict=True)
    model.masks = {name: torch.from_numpy(m) for name, m in masks.items()}
    return model.eval()
