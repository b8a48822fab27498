"""Random pruning: iid U(0, 1) scores, so a global threshold gives every layer ≈ the same density."""
from __future__ import annotations

import torch

from .registry import prunable_params, register


@register("random")
def random_scores(model, *, data=None, generator: torch.Generator):
    return {name: torch.rand(w.shape, generator=generator, dtype=torch.float64).to(w.dtype)
            for name, w in prunable_params(model).items()}
