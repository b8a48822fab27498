"""The sanity-check ablations of FDRC21, applied to one pruning.

- ``original``: the method's mask, the initial weights that were scored.
- ``shuffle``: each layer's mask independently permuted (per-layer kept counts preserved);
  the original initial weights are kept, so the survivors are a uniform random subset of them.
- ``reinit``: the method's mask; *every* parameter (weights, biases, BN) redrawn from the same
  initializers with the replicate's own ``reinit`` stream (as FDRC-code, which builds a new model).
- ``invert``: keep the opposite end of the scores (score negated; for iterative methods in every
  round) at the same sparsity.
"""
from __future__ import annotations

import copy
from typing import Mapping

import torch
import torch.nn as nn

from zoo_builder import seeding
from zoo_builder.models import initialize
from zoo_builder.pruning import PruneResult
from zoo_builder.registry import unknown_choice_message

VARIANTS = ("original", "shuffle", "reinit", "invert")


def check_variant(variant: str) -> str:
    if variant not in VARIANTS:
        raise ValueError(unknown_choice_message("variant", variant, list(VARIANTS)))
    return variant


def shuffle_masks(masks: Mapping[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    """Permute every mask's entries independently (stream ``shuffle`` of ``seed``, layer order)."""
    g = seeding.generator(seed, "shuffle")
    out = {}
    for name, m in masks.items():
        perm = torch.randperm(m.numel(), generator=g).to(m.device)
        out[name] = m.reshape(-1)[perm].reshape(m.shape)
    return out


def redraw(model: nn.Module, seed: int) -> nn.Module:
    """A copy of ``model`` with every parameter redrawn from the same initializers (stream ``reinit``)."""
    return initialize(copy.deepcopy(model), seeding.generator(seed, "reinit"))


def apply(variant: str, pruned: PruneResult, model: nn.Module, *, seed: int
          ) -> tuple[dict[str, torch.Tensor], nn.Module]:
    """Masks and starting model of ``variant``.

    Parameters
    ----------
    variant : {"original", "shuffle", "reinit", "invert"}
    pruned : PruneResult
        The method's pruning of ``model`` (from :func:`zoo_builder.pruning.prune`).
    model : nn.Module
        The initialized network that was scored. Never modified.
    seed : int
        Replicate seed (drives the shuffle and reinit streams).

    Returns
    -------
    (masks, start_model) : the variant's masks (name → bool) and a fresh model to train.
    """
    check_variant(variant)
    if variant == "original":
        return dict(pruned.masks), copy.deepcopy(model)
    if variant == "shuffle":
        return shuffle_masks(pruned.masks, seed), copy.deepcopy(model)
    if variant == "reinit":
        return dict(pruned.masks), redraw(model, seed)
    return pruned.invert().masks, copy.deepcopy(model)
