"""CIFAR ResNets as in OpenLTH ``models/cifar_resnet.py`` (He et al. 2016, depth 6n+2) with 1×1
conv + BN projection shortcuts where shape changes. ResNet-20 on 32×32×3, 10 classes: 272,474
parameters, 270,896 prunable.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .registry import register


class Block(nn.Module):
    def __init__(self, f_in: int, f_out: int, downsample: bool) -> None:
        super().__init__()
        stride = 2 if downsample else 1
        self.conv1 = nn.Conv2d(f_in, f_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(f_out)
        self.conv2 = nn.Conv2d(f_out, f_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(f_out)
        if downsample or f_in != f_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(f_in, f_out, 1, stride=stride, bias=False), nn.BatchNorm2d(f_out)
            )
        else:
            self.shortcut = nn.Sequential()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, depth: int, input_shape: tuple[int, ...], num_classes: int, width: int = 16):
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n+2, got {depth}")
        n = (depth - 2) // 6
        self.conv = nn.Conv2d(input_shape[0], width, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(width)
        blocks = []
        f_in = width
        for stage, f_out in enumerate((width, 2 * width, 4 * width)):
            for i in range(n):
                blocks.append(Block(f_in, f_out, downsample=stage > 0 and i == 0))
                f_in = f_out
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(f_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(F.relu(self.bn(self.conv(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def _make(depth):
    @register(f"resnet{depth}", default_dataset="cifar10")
    def factory(input_shape, num_classes):
        return ResNet(depth, input_shape, num_classes)

    return factory


for _depth in (20, 32, 56):
    _make(_depth)
