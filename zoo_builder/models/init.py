"""Seeded initializers (OpenLTH defaults), shared by the original draw and the reinit variant.

- Conv/Linear weights: Kaiming normal, fan-in, ReLU gain: N(0, 2 / fan_in).
- Biases: PyTorch's default U(-1/√fan_in, 1/√fan_in).
- BatchNorm: γ ~ U[0, 1), β = 0, running statistics reset.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

PRUNABLE_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
BN_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


@torch.no_grad()
def initialize(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Draw every parameter of ``model`` in place from ``generator`` (module order); return it."""
    for module in model.modules():
        if isinstance(module, PRUNABLE_TYPES):
            nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu", generator=generator)
            if module.bias is not None:
                fan_in = module.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in)
                nn.init.uniform_(module.bias, -bound, bound, generator=generator)
        elif isinstance(module, BN_TYPES):
            nn.init.uniform_(module.weight, 0.0, 1.0, generator=generator)
            nn.init.zeros_(module.bias)
            module.reset_running_stats()
    return model
