"""SNIP (Lee et al. 2019): |θ ⊙ ∂L/∂θ| on N examples per class, BatchNorm in train mode.

The paper's normalisation by the sum over all weights is monotone and is left out.
"""
from __future__ import annotations

import torch

from .gradients import mean_loss_grad, require_data
from .registry import prunable_params, register


@register("snip", needs_data=True, bn_mode="train")
def snip_scores(model, *, data, generator=None, chunk_size: int = 128):
    data = require_data(data, "snip")
    named = prunable_params(model)
    grads = mean_loss_grad(model, list(named.values()), data, chunk_size=chunk_size)
    with torch.no_grad():
        return {name: (w * g).abs() for (name, w), g in zip(named.items(), grads)}
