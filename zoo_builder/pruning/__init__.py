"""Pruning at initialization: ``score(model, method, data)``, ``global_mask(scores, sparsity)``,
and ``prune(model, method, sparsity, data)`` which also runs iterative methods (SynFlow).

Methods: ``random``, ``magnitude``, ``snip``, ``grasp``, ``grasp_abs``, ``synflow``. Scores are
computed on a private copy of the model (the caller's model is never modified), with the
method's BatchNorm mode. Every method's scores are in its own published convention; the
method's ``keep`` attribute says which end is kept (GraSP: lowest).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Mapping

import torch
import torch.nn as nn

from zoo_builder import seeding
from zoo_builder.pruning import grasp, grasp_abs, magnitude, random, snip, synflow  # noqa: F401
from zoo_builder.pruning.masks import check_sparsity, global_mask, n_removed
from zoo_builder.pruning.registry import METHODS, Method

__all__ = ["METHODS", "Method", "PruneResult", "global_mask", "method", "names", "prune", "score"]


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
        For ``random``; a fixed default stream if omitted.

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
    method, sparsity, inverted : the request.
    scores : dict name → tensor
        Last round's scores (for SynFlow, scored on the network pruned by the earlier rounds:
        weights pruned before have score 0). Method's own convention.
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
    _args: dict = field(default_factory=dict, repr=False)

    @property
    def density(self) -> float:
        kept = sum(int(m.sum()) for m in self.masks.values())
        return kept / sum(m.numel() for m in self.masks.values())

    def invert(self) -> "PruneResult":
        """The same pruning keeping the opposite end of the scores (FDRC21's inversion).

        One-shot methods re-threshold the negated scores; iterative methods rerun every round
        with the negated scores.
        """
        if self.iterations == 1:
            keep = METHODS.get(self.method).keep
            flipped = "lowest" if keep == "highest" else "highest"
            if self.inverted:
                flipped = keep
            masks = global_mask(self.scores, self.sparsity, keep=flipped)
            return PruneResult(self.method, self.sparsity, self.scores, masks, 1, not self.inverted, self._args)
        return prune(**{**self._args, "invert": not self.inverted})


def prune(model: nn.Module, method: str, sparsity: float, data=None, *, invert: bool = False,
          iterations: int | None = None, generator: torch.Generator | None = None,
          chunk_size: int = 128) -> PruneResult:
    """Score ``model`` and mask the lowest-ranked ``sparsity`` fraction of all prunable weights.

    Iterative methods (``iterations > 1``) prune in rounds k = 1..n to density d^(k/n), rescoring
    the pruned network each round; already-pruned weights are never revived.
    ``invert=True`` keeps the opposite end of the scores in every round.
    """
    m = METHODS.get(method)
    s = check_sparsity(sparsity)
    n = m.iterations if iterations is None else int(iterations)
    if n < 1:
        raise ValueError(f"iterations must be ≥ 1, got {iterations!r}")
    if generator is None:
        generator = seeding.generator(0, "random_score")
    gen_state = generator.get_state()
    args = dict(model=model, method=method, sparsity=s, data=data, iterations=n, chunk_size=chunk_size,
                generator=_replay(generator, gen_state))
    keep = m.keep
    if invert:
        keep = "lowest" if keep == "highest" else "highest"
    masks = None
    scores = {}
    density = 1.0 - s
    for k in range(1, n + 1):
        scores = score(model, method, data, masks=masks, generator=generator, chunk_size=chunk_size)
        round_sparsity = 1.0 - density ** (k / n) if k < n else s
        masks = global_mask(scores, round_sparsity, eligible=masks, keep=keep)
    return PruneResult(method, s, scores, masks, n, invert, args)


def _replay(generator: torch.Generator, state: torch.Tensor) -> torch.Generator:
    g = torch.Generator(device=generator.device)
    g.set_state(state)
    return g
