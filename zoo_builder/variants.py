"""The sanity-check ablations of FDRC21, applied to one pruning.

A variant composes a **mask source** with a **randomization**:

============== =============== ================ ==========================================
variant        mask source     randomization    start weights
============== =============== ================ ==========================================
original       method          –                the initial weights that were scored
shuffle        method          layer shuffle    the initial weights that were scored
reinit         method          –                every parameter redrawn (stream ``reinit``)
invert         inverted method –                the initial weights that were scored
invert_shuffle inverted method layer shuffle    the initial weights that were scored
invert_reinit  inverted method –                every parameter redrawn (stream ``reinit``)
============== =============== ================ ==========================================

- method mask: the method's pruning; inverted: keep the opposite end of the scores (score
  negated; for iterative methods in every round) at the same sparsity.
- layer shuffle: each layer's mask permuted independently (per-layer kept counts preserved)
  with a permutation drawn from stream ``(seed, "shuffle", layer name)``: the same permutation
  for every method, sparsity and mask source (a paired design, see
  :data:`zoo_builder.seeding.STREAMS_DOC`). The survivors are a uniform random subset of the
  layer's initial weights.
- reinit: *every* parameter (weights, biases, BN) redrawn from the same initializers with the
  replicate's own ``reinit`` stream (as FDRC-code, which builds a new model).

:data:`VARIANTS` holds FDRC21's four (what ``variants: all`` in a build configuration means);
:func:`names` lists every registered variant. The ``invert_*`` variants express Singh & Liu's
GraSP, which is this project's ``grasp`` with variant ``invert`` (they ran FDRC-code's GraSP
without ``--prune_highest``); their GraSP shuffle/reinit are ``invert_shuffle`` / ``invert_reinit``.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Mapping

import torch
import torch.nn as nn

from zoo_builder import seeding
from zoo_builder.models import initialize
from zoo_builder.pruning import PruneResult
from zoo_builder.registry import Registry


@dataclass(frozen=True)
class Variant:
    """A mask source × randomization.

    Attributes
    ----------
    name : str
    inverted : bool
        Mask source: the method's pruning (False) or its inversion (True).
    shuffle : bool
        Permute each layer's mask (stream ``shuffle``).
    reinit : bool
        Train from redrawn weights (stream ``reinit``).
    """

    name: str
    inverted: bool = False
    shuffle: bool = False
    reinit: bool = False


VARIANT_REGISTRY: Registry[Variant] = Registry("variant")
for _v in (Variant("original"), Variant("shuffle", shuffle=True), Variant("reinit", reinit=True),
           Variant("invert", inverted=True), Variant("invert_shuffle", inverted=True, shuffle=True),
           Variant("invert_reinit", inverted=True, reinit=True)):
    VARIANT_REGISTRY.add(_v.name, _v)

#: FDRC21's four ablations: what ``variants: all`` builds.
VARIANTS = ("original", "shuffle", "reinit", "invert")


def names() -> list[str]:
    """Every registered variant (FDRC21's four, then the composed ones)."""
    return VARIANT_REGISTRY.names()


def get(variant: str) -> Variant:
    return VARIANT_REGISTRY.get(variant)


def check_variant(variant: str) -> str:
    VARIANT_REGISTRY.get(variant)
    return variant


def shuffle_masks(masks: Mapping[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    """Permute every mask's entries independently; layer ``name`` uses stream ``(seed, "shuffle", name)``.

    The permutation is drawn on the CPU and depends only on (seed, layer name, layer size).
    """
    out = {}
    for name, m in masks.items():
        perm = torch.randperm(m.numel(), generator=seeding.generator(seed, "shuffle", name)).to(m.device)
        out[name] = m.reshape(-1)[perm].reshape(m.shape)
    return out


def redraw(model: nn.Module, seed: int) -> nn.Module:
    """A copy of ``model`` with every parameter redrawn from the same initializers (stream ``reinit``).

    Drawn on the CPU and moved to ``model``'s device.
    """
    device = next(model.parameters()).device
    # uninitialized CPU storage (every parameter is redrawn below, BN statistics reset); other
    # buffers are copied from the model
    fresh = copy.deepcopy(model).to_empty(device="cpu")
    with torch.no_grad():
        for (_, new), (_, old) in zip(fresh.named_buffers(), model.named_buffers()):
            if old.device.type != "meta":
                new.copy_(old)
    return initialize(fresh, seeding.generator(seed, "reinit")).to(device)


def apply(variant: str, pruned: PruneResult, model: nn.Module, *, seed: int
          ) -> tuple[dict[str, torch.Tensor], nn.Module]:
    """Masks and starting model of ``variant``.

    Parameters
    ----------
    variant : str
        A registered variant (:func:`names`).
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
    v = get(variant)
    masks = dict(pruned.invert().masks if v.inverted else pruned.masks)
    if v.shuffle:
        masks = shuffle_masks(masks, seed)
    return masks, (redraw(model, seed) if v.reinit else copy.deepcopy(model))
