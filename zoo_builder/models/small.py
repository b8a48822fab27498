"""Small networks that train in seconds on a laptop CPU, for the offline data sets
(scikit-learn's 8×8 digits and mnist1d's 40-sample signals)."""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from .registry import register


class DigitsCNN(nn.Module):
    """conv3×3(16)+BN+ReLU → conv3×3(32)+BN+ReLU → 2×2 max pool → linear(64) → linear(classes)."""

    def __init__(self, input_shape: tuple[int, ...], num_classes: int) -> None:
        super().__init__()
        c, h, w = input_shape
        self.features = nn.Sequential(
            nn.Conv2d(c, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.fc1 = nn.Linear(32 * (h // 2) * (w // 2), 64)
        self.fc2 = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(self.features(x).flatten(1))))


class MLP(nn.Module):
    """Fully connected ``in → 100 → 100 → classes`` with ReLU."""

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, hidden=(100, 100)) -> None:
        super().__init__()
        sizes = [math.prod(input_shape), *hidden]
        self.fc = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.out = nn.Linear(sizes[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        for layer in self.fc:
            x = torch.relu(layer(x))
        return self.out(x)


class CNN1d(nn.Module):
    """Three 1-D convs (32 channels, kernel 5, stride 2 after the first) + BN + ReLU → linear."""

    def __init__(self, input_shape: tuple[int, ...], num_classes: int, channels: int = 32) -> None:
        super().__init__()
        c, length = input_shape
        self.features = nn.Sequential(
            nn.Conv1d(c, channels, 5, padding=2), nn.BatchNorm1d(channels), nn.ReLU(),
            nn.Conv1d(channels, channels, 5, stride=2, padding=2), nn.BatchNorm1d(channels), nn.ReLU(),
            nn.Conv1d(channels, channels, 5, stride=2, padding=2), nn.BatchNorm1d(channels), nn.ReLU(),
        )
        out_len = length
        for _ in range(2):
            out_len = (out_len + 2 * 2 - 5) // 2 + 1
        self.fc = nn.Linear(channels * out_len, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).flatten(1))


@register("digits_cnn", default_dataset="digits")
def digits_cnn(input_shape, num_classes):
    return DigitsCNN(input_shape, num_classes)


@register("mnist1d_mlp", default_dataset="mnist1d")
def mnist1d_mlp(input_shape, num_classes):
    return MLP(input_shape, num_classes)


@register("mnist1d_cnn", default_dataset="mnist1d")
def mnist1d_cnn(input_shape, num_classes):
    return CNN1d(input_shape, num_classes)
