"""Registry of architectures: name → factory(input_shape, num_classes) → ``nn.Module``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch.nn as nn

from zoo_builder.registry import Registry


@dataclass(frozen=True)
class Architecture:
    """An architecture family member.

    Attributes
    ----------
    name : str
        Registry name, e.g. ``"vgg16"``.
    factory : callable
        ``factory(input_shape, num_classes) -> nn.Module``; ``input_shape`` is ``(C, H, W)`` for
        images or ``(C, L)`` for 1-D signals.
    default_dataset : str
        Dataset used by the short entry alias ``{arch}-{method}``.
    """

    name: str
    factory: Callable[[tuple[int, ...], int], nn.Module]
    default_dataset: str


ARCHITECTURES: Registry[Architecture] = Registry("architecture")


def register(name: str, default_dataset: str):
    def decorator(factory):
        ARCHITECTURES.add(name, Architecture(name, factory, default_dataset))
        return factory

    return decorator
