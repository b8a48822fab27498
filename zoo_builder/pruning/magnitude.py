"""Magnitude at initialization: score |θ| (keeps the large-|θ| tail; densities follow fan-in)."""
from __future__ import annotations

import torch

from .registry import prunable_params, register


@register("magnitude")
def magnitude_scores(model, *, data=None, generator=None):
    with torch.no_grad():
        return {name: w.detach().abs().clone() for name, w in prunable_params(model).items()}
