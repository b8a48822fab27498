"""Model registry: ``build(arch, dataset=..., seed=...)`` and ``prunable(model)``.

Architectures: ``lenet300``; ``vgg11/13/16/19`` (OpenLTH CIFAR VGG); ``resnet20/32/56`` (OpenLTH
CIFAR ResNet); ``digits_cnn``, ``mnist1d_mlp``, ``mnist1d_cnn`` (small CPU nets).
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn

from zoo_builder import seeding
from zoo_builder.models import mlp, resnet, small, vgg  # noqa: F401  (register the families)
from zoo_builder.models.init import PRUNABLE_TYPES, initialize
from zoo_builder.models.registry import ARCHITECTURES, Architecture

__all__ = ["ARCHITECTURES", "Architecture", "build", "initialize", "names", "prunable", "prunable_names"]


def names() -> list[str]:
    """Registered architecture names."""
    return ARCHITECTURES.names()


def build(
    arch: str,
    dataset: str | None = None,
    *,
    seed: int = 0,
    stream: str = "init",
    input_shape: tuple[int, ...] | None = None,
    num_classes: int | None = None,
) -> nn.Module:
    """Build ``arch`` shaped for ``dataset`` and draw its parameters from replicate ``seed``.

    Parameters
    ----------
    arch : str
        Registered architecture (see :func:`names`).
    dataset : str, optional
        Registered dataset whose input shape and class count the model takes; defaults to the
        architecture's own default dataset. ``input_shape`` / ``num_classes`` override it.
    seed : int
        Replicate seed. The same (arch, dataset, seed, stream) gives bit-identical parameters.
    stream : str
        Random stream: ``"init"`` for the original draw, ``"reinit"`` for the reinit variant's
        fresh draw from the same initializers.

    Returns
    -------
    torch.nn.Module
        On the CPU, in train mode, float32.
    """
    from zoo_builder.datasets import DATASETS

    spec = ARCHITECTURES.get(arch)
    info = DATASETS.get(dataset if dataset is not None else spec.default_dataset)
    shape = tuple(input_shape or info.input_shape)
    model = spec.factory(shape, int(num_classes or info.num_classes))
    model.input_shape = shape  # read by data-free scorers (SynFlow's all-ones input)
    return initialize(model, seeding.generator(seed, stream))


def prunable(model: nn.Module) -> "OrderedDict[str, torch.nn.Parameter]":
    """Ordered mapping ``parameter name → weight`` of every Conv and Linear layer.

    Biases and BatchNorm parameters are never prunable. The order (module registration order)
    is the order used for global ranking and tie-breaking.

    Raises
    ------
    ValueError
        If the model has no Conv/Linear weight.
    """
    out: OrderedDict[str, nn.Parameter] = OrderedDict()
    for module_name, module in model.named_modules():
        if isinstance(module, PRUNABLE_TYPES):
            out[f"{module_name}.weight" if module_name else "weight"] = module.weight
    if not out:
        raise ValueError(
            f"model {type(model).__name__} has nothing prunable: pruning needs at least one "
            "Conv1d/Conv2d/Conv3d/Linear weight."
        )
    return out


def prunable_names(model: nn.Module) -> list[str]:
    return list(prunable(model))
