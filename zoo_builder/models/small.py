"""Small networks that train in seconds on a laptop CPU, for the offline data sets
(scikit-learn's 8×8 digits and mnist1d's 40-sample signals)."""
from __future__ import annotations

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


@register("mnist1d_cnn", default_dataset="mnist1d")
def mnist1d_cnn(input_shape, num_classes):
    return CNN1d(input_shape, num_classes)
