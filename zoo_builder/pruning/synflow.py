"""SynFlow (Tanaka et al. 2020): |θ ⊙ ∂R/∂θ| with R = sum of the logits of the network whose
parameters are all replaced by their absolute values (weights, biases, BN γ/β), on one all-ones
input, BatchNorm in eval mode, in float64. Iterated (100 rounds by default, exponential schedule).

float64 (as FDRC-code): R is a sum of products over depth and grows about exponentially with
it (at init R ≈ 2.6e19 for ResNet-20, 7.2e30 for ResNet-32, 5.4e54 for ResNet-56): ResNet-56
overflows float32 (R = inf, NaN scores), while ResNet-20/32 and VGG-16/19 give the same masks
in float32 and float64.
"""
from __future__ import annotations

import torch

from .registry import prunable_params, register


@register("synflow", iterations=100, bn_mode="eval")
def synflow_scores(model, *, data=None, generator=None, input_shape=None):
    model = model.double()
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    if input_shape is None:
        input_shape = _infer_input_shape(model, data)
    named = prunable_params(model)
    params = list(named.values())
    x = torch.ones((1, *input_shape), dtype=torch.float64, device=params[0].device)
    r = model(x).sum()
    grads = torch.autograd.grad(r, params)
    with torch.no_grad():
        return {name: (w * g).abs() for (name, w), g in zip(named.items(), grads)}


def _infer_input_shape(model, data):
    if data is not None:
        return tuple(data[0].shape[1:])
    shape = getattr(model, "input_shape", None)
    if shape is None:
        raise ValueError("synflow needs the input shape: pass input_shape=(C, H, W) or example data.")
    return tuple(shape)
