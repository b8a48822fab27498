"""CIFAR VGGs as in OpenLTH ``models/cifar_vgg.py``: 3×3 conv (with bias) + BN + ReLU, 2×2 max
pools, a global average pool and one linear classifier. VGG-16 on 32×32×3, 10 classes:
14,728,266 parameters, 14,715,584 prunable.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .registry import register

PLANS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
              512, 512, 512, 512, "M", 512, 512, 512, 512],
}


class VGG(nn.Module):
    def __init__(self, plan: list, input_shape: tuple[int, ...], num_classes: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = input_shape[0]
        for item in plan:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(channels, item, 3, padding=1), nn.BatchNorm2d(item), nn.ReLU()]
                channels = item
        self.features = nn.Sequential(*layers)
        # OpenLTH uses AvgPool2d(2) on the final 2×2 map at 32×32; adaptive pooling is identical
        # there and lets the input size follow the dataset.
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.features(x)).flatten(1))


def _make(name):
    @register(name, default_dataset="cifar10")
    def factory(input_shape, num_classes):
        return VGG(PLANS[name], input_shape, num_classes)

    return factory


for _name in PLANS:
    _make(_name)
