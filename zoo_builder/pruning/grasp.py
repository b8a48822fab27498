"""GraSP (Wang et al. 2020): score −θ ⊙ (H g), keep the **lowest** (remove the largest).

L is the mean cross-entropy of logits / T with T = 200; H g by double backprop: with
g_stop = ∇L detached, ∇θ(g_stopᵀ ∇L) = H g_stop. BatchNorm in train mode.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .gradients import chunks, mean_loss_grad, require_data
from .registry import prunable_params, register

TEMPERATURE = 200.0


def hessian_gradient_product(model, params, data, *, temperature=TEMPERATURE, chunk_size=128):
    """H g for the mean tempered loss, as a list aligned with ``params`` (detached)."""
    g_stop = mean_loss_grad(model, params, data, temperature=temperature, chunk_size=chunk_size)
    hg = [torch.zeros_like(p) for p in params]
    for x, y, weight in chunks(data, chunk_size):
        loss = F.cross_entropy(model(x) / temperature, y) * weight
        grads = torch.autograd.grad(loss, params, create_graph=True)
        z = sum((g * s).sum() for g, s in zip(grads, g_stop))
        for acc, h in zip(hg, torch.autograd.grad(z, params)):
            acc.add_(h)
    return hg


def grasp_raw(model, data, chunk_size=128):
    named = prunable_params(model)
    hg = hessian_gradient_product(model, list(named.values()), data, chunk_size=chunk_size)
    with torch.no_grad():
        return {name: -(w * h) for (name, w), h in zip(named.items(), hg)}


@register("grasp", keep="lowest", needs_data=True, bn_mode="train")
def grasp_scores(model, *, data, generator=None, chunk_size: int = 128):
    return grasp_raw(model, require_data(data, "grasp"), chunk_size)
