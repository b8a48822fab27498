"""Dataset registry: name → :class:`DatasetInfo` (shape, classes, loader, augmentation)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from zoo_builder.registry import Registry


@dataclass(frozen=True)
class Split:
    """One split held in memory: ``x`` float32 (N, *input_shape), normalized; ``y`` int64 (N,)."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return len(self.y)

    def to(self, device) -> "Split":
        return Split(self.x.to(device), self.y.to(device))


@dataclass(frozen=True)
class DatasetInfo:
    """A registered dataset.

    Attributes
    ----------
    name : str
    input_shape : tuple of int
        ``(C, H, W)`` for images, ``(C, L)`` for 1-D signals.
    num_classes : int
    loader : callable
        ``loader(root, train: bool, download: bool) -> Split``.
    augment : callable or None
        ``augment(x, generator) -> x`` applied per training batch (on the batch's device).
    source : str
        Where the data comes from, for provenance.
    """

    name: str
    input_shape: tuple[int, ...]
    num_classes: int
    loader: Callable[..., Split] = field(repr=False)
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = field(default=None, repr=False)
    source: str = ""


DATASETS: Registry[DatasetInfo] = Registry("dataset")
