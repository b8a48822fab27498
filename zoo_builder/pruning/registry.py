"""Registry of pruning-at-initialization scoring methods (one small file per method)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, Mapping

import torch
import torch.nn as nn

from zoo_builder.registry import Registry

ScoreFn = Callable[..., "Mapping[str, torch.Tensor]"]


@dataclass(frozen=True)
class Method:
    """A scoring method.

    Attributes
    ----------
    name : str
    fn : callable
        ``fn(model, *, data, generator) -> {name: scores}`` over ``prunable(model)``. ``model`` is
        a private copy whose pruned weights are already zero; ``data`` is ``(x, y)`` or None.
    keep : {"highest", "lowest"}
        Which end of the score the method keeps (GraSP keeps the lowest −θ⊙Hg).
    needs_data : bool
        Whether the method needs labelled examples.
    iterations : int
        Default number of prune–rescore rounds (1 = one-shot; SynFlow 100).
    bn_mode : {"train", "eval"}
        BatchNorm mode while scoring (FDRC-code: SNIP/GraSP train, SynFlow eval).
    """

    name: str
    fn: ScoreFn
    keep: Literal["highest", "lowest"] = "highest"
    needs_data: bool = False
    iterations: int = 1
    bn_mode: Literal["train", "eval"] = "train"


METHODS: Registry[Method] = Registry("pruning method")


def register(name: str, **kwargs):
    def decorator(fn: ScoreFn) -> ScoreFn:
        METHODS.add(name, Method(name, fn, **kwargs))
        return fn

    return decorator


def prunable_params(model: nn.Module):
    from zoo_builder.models import prunable

    return prunable(model)
