"""CIFAR-10/100 through torchvision's dataset classes (real download path; no offline source).

Normalized with ImageNet mean/std as OpenLTH does; training batches get random flip and
4-pixel pad-and-crop.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .augment import flip_and_crop
from .registry import DATASETS, DatasetInfo, Split

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def _loader(dataset_class_name: str):
    def load(root: Path, train: bool, download: bool = True) -> Split:
        import torchvision.datasets as tvd

        cls = getattr(tvd, dataset_class_name)
        try:
            ds = cls(str(root), train=train, download=download)
        except Exception as err:
            raise RuntimeError(
                f"{dataset_class_name} is not in {root} and could not be downloaded "
                f"({type(err).__name__}: {err}). Download it on a machine with internet into that "
                "folder (torchvision layout), or set ZOO_DATA to where it is."
            ) from None
        x = torch.from_numpy(ds.data).permute(0, 3, 1, 2).to(torch.float32).div_(255.0)
        mean = torch.tensor(MEAN).view(1, 3, 1, 1)
        std = torch.tensor(STD).view(1, 3, 1, 1)
        return Split(((x - mean) / std).contiguous(), torch.as_tensor(ds.targets, dtype=torch.int64))

    return load


DATASETS.add("cifar10", DatasetInfo(
    "cifar10", (3, 32, 32), 10, _loader("CIFAR10"), augment=flip_and_crop,
    source="torchvision.datasets.CIFAR10",
))
DATASETS.add("cifar100", DatasetInfo(
    "cifar100", (3, 32, 32), 100, _loader("CIFAR100"), augment=flip_and_crop,
    source="torchvision.datasets.CIFAR100",
))
