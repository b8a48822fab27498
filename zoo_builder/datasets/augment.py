"""Batch augmentations on tensors (fast on CPU and GPU, seeded by an explicit generator)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def flip_and_crop(x: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Random horizontal flip (p = 0.5) and random crop after ``pad``-pixel zero padding.

    The standard CIFAR augmentation (He et al. 2016; OpenLTH). ``x``: (N, C, H, W), already
    normalized, so the zero padding is the per-channel mean colour (torchvision pads the raw
    image with black); immaterial for training, and it keeps this one batched tensor op.
    """
    n, c, h, w = x.shape
    gen_device = generator.device
    flip = torch.rand(n, generator=generator, device=gen_device) < 0.5
    offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=generator, device=gen_device)
    flip, offsets = flip.to(x.device), offsets.to(x.device)
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    padded = F.pad(x, (pad, pad, pad, pad))
    rows = offsets[0][:, None] + torch.arange(h, device=x.device)  # (N, H)
    cols = offsets[1][:, None] + torch.arange(w, device=x.device)  # (N, W)
    batch = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()
