"""Random pruning: iid U(0, 1) scores, so a global threshold gives every layer ≈ the same density.

Scores are drawn on the CPU (stream ``random_score``) in float64 and moved to the model's device,
so a spec gives the same mask on any device.
"""
from __future__ import annotations

import torch

from zoo_builder import seeding

from .registry import prunable_params, register


@register("random")
def random_scores(model, *, data=None, generator: torch.Generator):
    seeding.require_cpu(generator, "random pruning")
    return {name: torch.rand(w.shape, generator=generator, dtype=torch.float64).to(device=w.device, dtype=w.dtype)
            for name, w in prunable_params(model).items()}
