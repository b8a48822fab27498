"""Fully connected ReLU networks: LeNet-300-100 and the mnist1d MLP."""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from .registry import register


class MLP(nn.Module):
    """``flatten → hidden[0] → … → hidden[-1] → classes``, ReLU between layers.

    LeNet-300-100 (``hidden=(300, 100)``) at 28×28 input: 266,610 parameters, 266,200 of them
    prunable (the three weight matrices).
    """

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        sizes = [math.prod(input_shape), *hidden]
        self.fc = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        for layer in self.fc:
            x = torch.relu(layer(x))
        return self.out(x)


@register("lenet300", default_dataset="mnist")
def lenet300(input_shape, num_classes):
    """LeNet-300-100 (LeCun et al. 1998; the lottery-ticket and Singh & Liu MNIST network)."""
    return MLP(input_shape, num_classes, hidden=(300, 100))


@register("mnist1d_mlp", default_dataset="mnist1d")
def mnist1d_mlp(input_shape, num_classes):
    return MLP(input_shape, num_classes, hidden=(100, 100))
