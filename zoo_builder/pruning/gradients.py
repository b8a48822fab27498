"""Shared gradient helpers for data-dependent scores: loss over the scoring examples, chunked.

The scoring set (N examples per class) is processed in chunks of ``chunk_size`` (the training
batch size, as FDRC-code does); losses are weighted so the result is the gradient of the mean
cross-entropy over all examples.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def chunks(data, chunk_size: int):
    x, y = data
    n = len(y)
    for start in range(0, n, chunk_size):
        yield x[start:start + chunk_size], y[start:start + chunk_size], min(chunk_size, n - start) / n


def mean_loss_grad(model, params, data, *, temperature: float = 1.0, chunk_size: int = 128):
    """∇θ of mean CE(model(x) / temperature, y), summed over chunks; returns detached tensors."""
    total = [torch.zeros_like(p) for p in params]
    for x, y, weight in chunks(data, chunk_size):
        loss = F.cross_entropy(model(x) / temperature, y) * weight
        for acc, g in zip(total, torch.autograd.grad(loss, params)):
            acc.add_(g)
    return total


def require_data(data, method: str):
    if data is None:
        raise ValueError(f"pruning method {method!r} needs labelled examples: pass data=(x, y).")
    x, y = data
    if len(x) != len(y) or len(y) == 0:
        raise ValueError(f"{method!r} needs a non-empty (x, y) with matching lengths, got {len(x)} and {len(y)}")
    return x, y
