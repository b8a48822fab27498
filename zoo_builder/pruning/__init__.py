"""Pruning at initialization: ``score(model, method, data)``, ``global_mask(scores, sparsity)``,
and ``prune(model, method, sparsity, data)`` which also runs iterative methods (SynFlow).

Methods: ``random``, ``magnitude``, ``snip``, ``grasp``, ``grasp_abs``, ``synflow``. Scores are
computed on a private copy of the model (the caller's model is never modified), with the
method's BatchNorm mode. Every method's scores are in its own published convention; the
method's ``keep`` attribute says which end is kept (GraSP: lowest). Equal scores are ordered by
a seeded random priority (:func:`zoo_builder.pruning.masks.tie_priority`), never by position.
"""
from __future__ import annotations

import copy
import numbers
from dataclasses import dataclass, field
from typing import Mapping

import torch
import torch.nn as nn

from zoo_builder import seeding
from zoo_builder.pruning import grasp, grasp_abs, magnitude, random, snip, synflow  # noqa: F401
from zoo_builder.pruning.connectivity import Connectivity, connectivity
from zoo_builder.pruning.masks import check_sparsity, global_mask, n_removed, tie_priority
from zoo_builder.pruning.registry import METHODS, Method

__all__ = ["METHODS", "Connectivity", "Method", "PruneResult", "check_iterations", "connectivity",
           "global_mask", "method", "names", "prune", "score"]


def names() -> list[str]:
    return METHODS.names()


def method(name: str) -> Method:
    return METHODS.get(name)


def _scoring_copy(model: nn.Module, masks: Mapping[str, torch.Tensor] | None, bn_mode: str) -> nn.Module:
    from zoo_builder.models import prunable

    scorer = copy.deepcopy(model)
    scorer.train(bn_mode == "train")
    for p in scorer.parameters():
        p.requires_grad_(True)
    if masks is not None:
        with torch.no_grad():
            for name, w in prunable(scorer).items():
                w.mul_(masks[name].to(w.dtype))
    return scorer


def score(model: nn.Module, method: str, data=None, *, masks: Mapping[str, torch.Tensor] | None = None,
          generator: torch.Generator | None = None, chunk_size: int = 128) -> dict[str, torch.Tensor]:
    """Scores of every prunable weight of ``model`` under ``method`` (one round).

    Parameters
    ----------
    model : nn.Module
        Not modified; scoring runs on a copy.
    method : str
        Registered method name.
    data : (x, y) tensors, optional
        Scoring examples (needed by ``snip``, ``grasp``, ``grasp_abs``), e.g. N per class.
    masks : mapping name → bool tensor, optional
        Weights already pruned (zeroed in the scoring copy).
    generator : torch.Generator, optional
        CPU generator for ``random`` (draws are made on the CPU and moved to the model's
        device); stream ``random_score`` of seed 0 if omitted.

    Returns
    -------
    dict name → tensor shaped like the weight, in the method's convention (see ``Method.keep``).
    """
    m = METHODS.get(method)
    if generator is None:
        generator = seeding.generator(0, "random_score")
    scorer = _scoring_copy(model, masks, m.bn_mode)
    kwargs = {"data": data, "generator": generator}
    if m.needs_data:
        kwargs["chunk_size"] = chunk_size
    if m.name == "synflow":
        kwargs["input_shape"] = getattr(model, "input_shape", None) or (
            tuple(data[0].shape[1:]) if data is not None else None)
    out = m.fn(scorer, **kwargs)
    return {name: s.detach() for name, s in out.items()}


@dataclass
class PruneResult:
    """Scores and masks of one pruning.

    Attributes
    ----------
    method, sparsity, inverted, seed : the request (``seed`` drives the tie-break priorities).
    scores : dict name → tensor
        The method's scores of the **dense** initial network (round 1), in the method's own
        convention; the same for every sparsity.
    final_scores : dict name → tensor or None
        Iterative pruning (``iterations > 1``): the last round's scores, computed on the network
        pruned by the earlier rounds (weights pruned before score 0 under SynFlow). None for
        one-shot pruning.
    masks : dict name → bool tensor (True = kept); exactly ``round(sparsity · N)`` False.
    iterations : int
        Rounds used.
    """

    method: str
    sparsity: float
    scores: dict[str, torch.Tensor]
    masks: dict[str, torch.Tensor]
    iterations: int
    inverted: bool = False
    final_scores: dict[str, torch.Tensor] | None = None
    seed: int = 0
    _args: dict = field(default_factory=dict, repr=False)
    _inverse: "PruneResult | None" = field(default=None, repr=False, compare=False)

    @property
    def density(self) -> float:
        kept = sum(int(m.sum()) for m in self.masks.values())
        return kept / sum(m.numel() for m in self.masks.values())

    def invert(self) -> "PruneResult":
        """The same pruning keeping the opposite end of the scores (FDRC21's inversion).

        One-shot methods re-threshold the dense scores (same tie priorities, reversed);
        iterative methods rerun every round keeping the opposite end. Computed once and cached.
        """
        if self._inverse is None:
            if self.iterations == 1:
                keep = METHODS.get(self.method).keep
                flipped = "lowest" if keep == "highest" else "highest"
                masks = global_mask(self.scores, self.sparsity, keep=keep if self.inverted else flipped,
                                    seed=self.seed)
                inverse = PruneResult(self.method, self.sparsity, self.scores, masks, 1, not self.inverted,
                                      None, self.seed, self._args)
            else:
                inverse = prune(**{**self._args, "invert": not self.inverted,
                                   "generator": _replay(self._args["generator"])})
            inverse._inverse = self
            self._inverse = inverse
        return self._inverse


def check_iterations(method: str, iterations: int | None) -> int:
    """Rounds of pruning for ``method``: its default when ``iterations`` is None.

    Raises a one-line ``ValueError`` for rounds < 1, or for more than one round of a one-shot
    method (SNIP, GraSP, magnitude, random are defined one-shot; only SynFlow iterates).
    """
    m = METHODS.get(method)
    if iterations is None:
        return m.iterations
    if isinstance(iterations, bool) or not isinstance(iterations, numbers.Integral) or iterations < 1:
        raise ValueError(f"iterations must be an integer ≥ 1, got {iterations!r}")
    if m.iterations == 1 and iterations != 1:
        iterative = [name for name in METHODS if METHODS.get(name).iterations > 1]
        raise ValueError(f"pruning method {method!r} is one-shot: iterations applies to iterative methods "
                         f"only ({', '.join(iterative)}), got iterations={iterations!r}")
    return int(iterations)


def prune(model: nn.Module, method: str, sparsity: float, data=None, *, invert: bool = False,
          iterations: int | None = None, seed: int = 0, generator: torch.Generator | None = None,
          chunk_size: int = 128, on_round=None) -> PruneResult:
    """Score ``model`` and mask the lowest-ranked ``sparsity`` fraction of all prunable weights.

    Iterative methods (``iterations > 1``) prune in rounds k = 1..n to density d^(k/n), rescoring
    the pruned network each round; already-pruned weights are never revived.
    ``invert=True`` keeps the opposite end of the scores in every round.

    Parameters
    ----------
    seed : int
        Replicate seed: tie-break priorities (stream ``tie_break``) and, unless ``generator`` is
        given, the random method's scores (stream ``random_score``).
    generator : torch.Generator, optional
        CPU generator for the random method's scores.
    on_round : callable, optional
        ``on_round(k, scores, masks)`` after round k (tests record the rounds with it).

    Raises
    ------
    ValueError
        Bad method, sparsity or iterations (see :func:`check_iterations`).
    """
    m = METHODS.get(method)
    s = check_sparsity(sparsity)
    n = check_iterations(method, iterations)
    if generator is None:
        generator = seeding.generator(seed, "random_score")
    seeding.require_cpu(generator, "pruning")
    args = dict(model=model, method=method, sparsity=s, data=data, iterations=n, chunk_size=chunk_size,
                seed=seed, generator=_replay(generator))
    keep = m.keep
    if invert:
        keep = "lowest" if keep == "highest" else "highest"
    masks = None
    first = scores = {}
    priority = None
    density = 1.0 - s
    for k in range(1, n + 1):
        scores = score(model, method, data, masks=masks, generator=generator, chunk_size=chunk_size)
        if k == 1:
            first = scores
            priority = tie_priority(scores, seed)
        round_sparsity = 1.0 - density ** (k / n) if k < n else s
        masks = global_mask(scores, round_sparsity, eligible=masks, keep=keep, priority=priority)
        if on_round is not None:
            on_round(k, scores, masks)
    return PruneResult(method, s, first, masks, n, invert, scores if n > 1 else None, seed, args)


def _replay(generator: torch.Generator) -> torch.Generator:
    """A fresh generator in ``generator``'s current state (the pruning can be rerun exactly)."""
    g = torch.Generator(device=generator.device)
    g.set_state(generator.get_state())
    return g
