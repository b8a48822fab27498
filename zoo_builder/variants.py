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
shuffle_kept   method          layer shuffle    the scored weights, each moved with its mask entry
permute_kept   method          –                the scored weights, kept values permuted among
                                                the kept positions (stream ``permute_kept``)
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
- shuffle_kept: the mask of ``shuffle`` (the same permutation, so ``shuffle`` and ``shuffle_kept``
  of one seed share their masks exactly), and each layer's whole initial weight tensor permuted by
  that same permutation: every kept value moves with its mask entry. The kept values are the
  method's kept values (the same multiset per layer as ``original``); their order over the new kept
  positions is the shuffle permutation's (uniformly random, no stream of its own).
- permute_kept: the method's mask; in each layer the kept initial values permuted among the kept
  positions (ascending flat order) by a uniform permutation of the layer's kept count drawn from
  stream ``(seed, "permute_kept", layer name)``; pruned positions keep their initial values.
  Same layout and multiset as ``original``; only which kept weight sits where changes.

With ``original``, ``reinit`` and ``shuffle`` these make a 2 × 2 design per layer: mask
{method's, shuffled} × values {method's kept values (original, permute_kept / shuffle_kept),
fresh (reinit / shuffle)}. The starting weights of ``shuffle_kept`` and ``permute_kept`` depend
on the (sparsity, seed) of the run, not on the seed only, so the store keeps them per run in the
prunable tensor's ``start`` array (:attr:`Variant.stored_start`; see ``docs/zoo-format.md``).
Biases and other non-prunable parameters start from the scored initialization in both.

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

from paistats.vocabulary import FRANKLE_VARIANTS, REFERENCE_VARIANT
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
    move_values : bool
        Permute each layer's initial weights by the same permutation as its mask (needs
        ``shuffle``): the kept values follow their mask entries.
    permute_kept : bool
        Permute each layer's kept initial values among the kept positions (stream
        ``permute_kept``).
    """

    name: str
    inverted: bool = False
    shuffle: bool = False
    reinit: bool = False
    move_values: bool = False
    permute_kept: bool = False

    def __post_init__(self):
        if self.move_values and not self.shuffle:
            raise ValueError(f"variant {self.name!r}: move_values needs shuffle (values move with a shuffled mask)")
        if self.reinit and (self.move_values or self.permute_kept):
            raise ValueError(f"variant {self.name!r}: reinit draws fresh values; it cannot also move or permute "
                             "the scored ones")

    @property
    def stored_start(self) -> bool:
        """The starting prunable weights depend on the run's (sparsity, seed), not on the seed
        only: the store keeps them per run (array ``start``)."""
        return self.move_values or self.permute_kept


VARIANT_REGISTRY: Registry[Variant] = Registry("variant")
for _v in (Variant("original"), Variant("shuffle", shuffle=True), Variant("reinit", reinit=True),
           Variant("invert", inverted=True), Variant("invert_shuffle", inverted=True, shuffle=True),
           Variant("invert_reinit", inverted=True, reinit=True),
           Variant("shuffle_kept", shuffle=True, move_values=True), Variant("permute_kept", permute_kept=True)):
    VARIANT_REGISTRY.add(_v.name, _v)

#: FDRC21's four ablations: what ``variants: all`` builds.
VARIANTS = FRANKLE_VARIANTS
#: The 2 × 2 design separating the mask's layout from the kept values (with ``original``).
FACTORIAL = (REFERENCE_VARIANT, "shuffle", "reinit", "shuffle_kept", "permute_kept")


def names() -> list[str]:
    """Every registered variant (FDRC21's four, then the composed ones)."""
    return VARIANT_REGISTRY.names()


def get(variant: str) -> Variant:
    return VARIANT_REGISTRY.get(variant)


def check_variant(variant: str) -> str:
    VARIANT_REGISTRY.get(variant)
    return variant


def shuffle_permutation(name: str, numel: int, seed: int) -> torch.Tensor:
    """The layer shuffle's permutation of layer ``name`` (flat indices, CPU): stream
    ``(seed, "shuffle", name)``; depends only on (seed, layer name, layer size)."""
    return torch.randperm(numel, generator=seeding.generator(seed, "shuffle", name))


def permute(tensor: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """``tensor`` with its flat entries reordered: ``out.flat[i] = tensor.flat[perm[i]]``."""
    return tensor.reshape(-1)[perm.to(tensor.device)].reshape(tensor.shape)


def shuffle_masks(masks: Mapping[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    """Permute every mask's entries independently; layer ``name`` uses stream ``(seed, "shuffle", name)``.

    The permutation is drawn on the CPU and depends only on (seed, layer name, layer size).
    """
    return {name: permute(m, shuffle_permutation(name, m.numel(), seed)) for name, m in masks.items()}


def kept_permutation(name: str, kept: int, seed: int) -> torch.Tensor:
    """``permute_kept``'s order of the ``kept`` values of layer ``name`` (CPU): stream
    ``(seed, "permute_kept", name)``."""
    return torch.randperm(kept, generator=seeding.generator(seed, "permute_kept", name))


def move_with_mask(weights: Mapping[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    """``shuffle_kept``'s starting weights: each layer's whole tensor permuted by its shuffle
    permutation, so that every kept value moves with its mask entry (see :func:`shuffle_masks`).

    Parameters
    ----------
    weights : mapping name → tensor
        The scored initial weights of the prunable layers (any shape; never modified).
    seed : int
        Replicate seed.

    Returns
    -------
    dict name → tensor, same shapes, devices and dtypes.
    """
    return {name: permute(w, shuffle_permutation(name, w.numel(), seed)) for name, w in weights.items()}


def permute_kept_values(weights: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor], seed: int
                        ) -> dict[str, torch.Tensor]:
    """``permute_kept``'s starting weights: in each layer the values at the kept positions
    (ascending flat order) reordered by :func:`kept_permutation`; pruned positions unchanged.

    Parameters
    ----------
    weights : mapping name → tensor
        The scored initial weights of the prunable layers (never modified).
    masks : mapping name → bool tensor
        The method's masks (True = kept), same shapes as ``weights``.
    seed : int
        Replicate seed.

    Returns
    -------
    dict name → tensor, same shapes, devices and dtypes.
    """
    out = {}
    for name, w in weights.items():
        flat = w.detach().reshape(-1).clone()
        kept = torch.nonzero(masks[name].reshape(-1).to(flat.device)).squeeze(1)
        flat[kept] = flat[kept][kept_permutation(name, kept.numel(), seed).to(flat.device)]
        out[name] = flat.reshape(w.shape)
    return out


def start_weights(variant: str, weights: Mapping[str, torch.Tensor], masks: Mapping[str, torch.Tensor], seed: int
                  ) -> dict[str, torch.Tensor] | None:
    """The starting prunable weights of a :attr:`Variant.stored_start` variant (None for the others).

    ``masks`` are the method's own (unshuffled) masks; ``weights`` the scored initial weights.
    """
    v = get(variant)
    if v.move_values:
        return move_with_mask(weights, seed)
    if v.permute_kept:
        return permute_kept_values(weights, masks, seed)
    return None


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
    method_masks = dict(pruned.invert().masks if v.inverted else pruned.masks)
    masks = shuffle_masks(method_masks, seed) if v.shuffle else method_masks
    start = redraw(model, seed) if v.reinit else copy.deepcopy(model)
    if v.stored_start:
        from zoo_builder.models import prunable

        params = prunable(start)
        new = start_weights(variant, {n: p.detach() for n, p in params.items()}, method_masks, seed)
        with torch.no_grad():
            for name, value in new.items():
                params[name].copy_(value)
    return masks, start
