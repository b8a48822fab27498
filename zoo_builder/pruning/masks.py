"""Turning scores into masks: one global threshold with an exact count.

Rule: with N prunable weights and sparsity s, exactly ``round(s · N)`` (half up) weights are
removed. Weights are ranked by score over the concatenation of all prunable tensors (in
``prunable(model)`` order, each flattened row-major); ties at the threshold are broken in favour
of the earlier position, i.e. the earlier weight is kept. Weights outside ``eligible`` are never
kept (used by iterative pruning).
"""
from __future__ import annotations

import math
from typing import Mapping

import torch


def check_sparsity(sparsity: float) -> float:
    try:
        s = float(sparsity)
    except (TypeError, ValueError):
        raise ValueError(f"sparsity must be a number in [0, 1), got {sparsity!r}") from None
    if not (0.0 <= s < 1.0) or math.isnan(s):
        raise ValueError(f"sparsity must be in [0, 1) (fraction of weights removed), got {sparsity!r}")
    return s


def n_removed(sparsity: float, total: int) -> int:
    """Number of weights removed at ``sparsity`` out of ``total``: round half up of s·N."""
    return int(math.floor(sparsity * total + 0.5))


def keep_top(key: torch.Tensor, n_keep: int) -> torch.Tensor:
    """Bool vector keeping the ``n_keep`` largest entries of 1-D ``key``; ties → lower index kept.

    O(N) via ``kthvalue`` instead of a full sort; exact and deterministic.
    """
    n = key.numel()
    if n_keep >= n:
        return torch.ones(n, dtype=torch.bool, device=key.device)
    if n_keep <= 0:
        return torch.zeros(n, dtype=torch.bool, device=key.device)
    # the n_keep-th largest = the (n - n_keep + 1)-th smallest
    threshold = torch.kthvalue(key.cpu(), n - n_keep + 1).values.to(key.device)
    keep = key > threshold
    missing = n_keep - int(keep.sum())
    if missing > 0:
        tied = torch.nonzero(key == threshold).flatten()[:missing]
        keep[tied] = True
    return keep


def flatten(tensors: Mapping[str, torch.Tensor], dtype=torch.float64) -> torch.Tensor:
    return torch.cat([t.detach().reshape(-1).to(dtype) for t in tensors.values()])


def unflatten(flat: torch.Tensor, like: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out, start = {}, 0
    for name, t in like.items():
        out[name] = flat[start:start + t.numel()].reshape(t.shape)
        start += t.numel()
    return out


def global_mask(scores: Mapping[str, torch.Tensor], sparsity: float, *,
                eligible: Mapping[str, torch.Tensor] | None = None,
                keep: str = "highest") -> dict[str, torch.Tensor]:
    """Masks keeping the top ``1 − sparsity`` of all scores under one global threshold.

    Parameters
    ----------
    scores : mapping name → tensor
        Per-weight scores, any shapes.
    sparsity : float in [0, 1)
        Fraction of all weights (over every tensor) removed; exactly ``round(s·N)`` are.
    eligible : mapping name → bool tensor, optional
        Only these may be kept (iterative pruning passes the current mask).
    keep : {"highest", "lowest"}
        Which end of the scores to keep.

    Returns
    -------
    dict name → bool tensor of the score's shape (True = kept).
    """
    s = check_sparsity(sparsity)
    if keep not in ("highest", "lowest"):
        raise ValueError(f"keep must be 'highest' or 'lowest', got {keep!r}")
    for name, t in scores.items():
        if torch.isnan(t).any():
            raise ValueError(f"scores of {name!r} contain NaN: cannot rank them")
    key = flatten(scores)
    if keep == "lowest":
        key = -key
    total = key.numel()
    if eligible is not None:
        key = torch.where(flatten(eligible, torch.bool), key, torch.full_like(key, -math.inf))
    n_keep = total - n_removed(s, total)
    if eligible is not None:
        n_keep = min(n_keep, int(flatten(eligible, torch.bool).sum()))
    return unflatten(keep_top(key, n_keep), scores)
