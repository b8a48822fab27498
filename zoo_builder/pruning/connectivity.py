"""Does a pruned network still carry a signal from its input to its output?

A run is *disconnected* when some prunable layer keeps no weight, or when no input → output path
runs through kept weights only (SynFlow's R of the bias-free network is 0: the output does not
depend on the input). The path test pushes an all-ones input through the network with every
prunable weight replaced by its mask (1 kept, 0 pruned), biases 0 and BatchNorm the identity, in
float64 and clamped to ≤ 1 after each prunable layer (so the count of paths cannot overflow):
the output is positive exactly when a path exists. A residual network can lose a layer of a
residual branch and stay connected through its shortcut; it is still flagged, with the reason.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Mapping

import torch
import torch.nn as nn


@dataclass(frozen=True)
class Connectivity:
    """Result of :func:`connectivity`.

    Attributes
    ----------
    empty_layers : tuple of str
        Prunable layers at density 0.
    connected : bool
        Whether an input → output path runs through kept weights only.
    """

    empty_layers: tuple[str, ...]
    connected: bool

    @property
    def disconnected(self) -> bool:
        return bool(self.empty_layers) or not self.connected

    @property
    def reason(self) -> str:
        """One line saying why the network is disconnected ('' when it is not)."""
        parts = []
        if self.empty_layers:
            parts.append("layers at density 0: " + ", ".join(self.empty_layers))
        if not self.connected:
            parts.append("no input→output path through kept weights (SynFlow R = 0)")
        return "; ".join(parts)


@torch.no_grad()
def connectivity(model: nn.Module, masks: Mapping[str, torch.Tensor],
                 input_shape: tuple[int, ...] | None = None) -> Connectivity:
    """Empty layers and input → output connectivity of ``model`` pruned by ``masks``.

    Parameters
    ----------
    model : nn.Module
        The architecture (weights are ignored; the model is not modified).
    masks : mapping name → bool tensor
        True = kept, over ``prunable(model)``.
    input_shape : tuple, optional
        One example's shape; default ``model.input_shape``.
    """
    from zoo_builder.models import prunable

    empty = tuple(name for name, m in masks.items() if not bool(m.any()))
    shape = input_shape or getattr(model, "input_shape", None)
    if shape is None:
        raise ValueError("connectivity needs the input shape: pass input_shape=(C, H, W)")
    net = copy.deepcopy(model).to(device="cpu", dtype=torch.float64).eval()
    weights = prunable(net)
    hooks = []
    for module in net.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            if module.affine:
                module.weight.fill_(1.0)
                module.bias.zero_()
            if module.track_running_stats:
                module.running_mean.zero_()
                module.running_var.fill_(1.0 - module.eps)
        elif getattr(module, "weight", None) is not None and any(module.weight is w for w in weights.values()):
            hooks.append(module.register_forward_hook(lambda m, i, out: out.clamp(max=1.0)))
        if isinstance(getattr(module, "bias", None), torch.Tensor) and not isinstance(
                module, nn.modules.batchnorm._BatchNorm):
            module.bias.zero_()
    for name, w in weights.items():
        w.copy_(masks[name].to(device="cpu", dtype=torch.float64) if name in masks else torch.ones_like(w))
    for p in net.parameters():
        p.abs_()
    out = net(torch.ones((1, *shape), dtype=torch.float64))
    for h in hooks:
        h.remove()
    return Connectivity(empty_layers=empty, connected=bool(out.sum() > 0))
