"""Masked SGD training: pruned weights stay exactly zero.

Weights are multiplied by their masks before training; after every backward pass the
gradients of pruned weights are zeroed. SGD's update of a pruned weight is then
lr·(0 + wd·0) plus a momentum buffer that only ever accumulated zeros, i.e. exactly 0, so the
weights stay exactly zero without a second multiply per step (tests check it every epoch).
"""
from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from zoo_builder import seeding
from zoo_builder.datasets import Split
from zoo_builder.training.recipes import Recipe


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite."""


@dataclass
class History:
    """Per-epoch metrics; index i is epoch i + 1. Losses in nats, accuracy a fraction in [0, 1]."""

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, list]:
        return {k: list(v) for k, v in self.__dict__.items()}


class Masker:
    """Holds (parameter, mask) pairs and applies them to gradients and weights in one fused op.

    Raises ``ValueError`` for a mask naming no prunable weight of ``model``.
    """

    def __init__(self, model: nn.Module, masks: Mapping[str, torch.Tensor] | None) -> None:
        from zoo_builder.models import prunable

        self.names, self.params, self.masks = [], [], []
        if masks:
            weights = prunable(model)
            unknown = sorted(set(masks) - set(weights))
            if unknown:
                raise ValueError(f"mask {unknown[0]!r} names no prunable weight of the model "
                                 f"(prunable: {', '.join(weights)})")
            for name, p in weights.items():
                if name in masks:
                    self.names.append(name)
                    self.params.append(p)
                    self.masks.append(masks[name].to(device=p.device, dtype=p.dtype))
        self._got_grad = [False] * len(self.params)

    @torch.no_grad()
    def apply_to_weights(self) -> None:
        if self.params:
            torch._foreach_mul_(self.params, self.masks)

    @torch.no_grad()
    def apply_to_grads(self) -> None:
        """Zero the gradients of pruned weights (every masked weight that has a gradient)."""
        grads, masks = [], []
        for i, (p, m) in enumerate(zip(self.params, self.masks)):
            if p.grad is not None:
                grads.append(p.grad)
                masks.append(m)
                self._got_grad[i] = True
        if grads:
            torch._foreach_mul_(grads, masks)

    def check_gradients(self) -> None:
        """Raise ``RuntimeError`` naming the masked weights that never received a gradient."""
        missing = [name for name, got in zip(self.names, self._got_grad) if not got]
        if missing:
            raise RuntimeError(f"prunable weight(s) {', '.join(missing)} never received a gradient: they "
                               "are not used in the forward pass or were frozen; masked training needs "
                               "every prunable weight to take part")


def make_optimizer(model: nn.Module, recipe: Recipe, steps_per_epoch: int = 1):
    """SGD and its learning-rate scheduler; step ``"step"`` schedulers once per epoch, ``"cosine"``
    ones once per batch (see :func:`steps_scheduler_per_batch`)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                                nesterov=recipe.nesterov, weight_decay=recipe.weight_decay)
    if recipe.schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=max(recipe.epochs * steps_per_epoch, 1), eta_min=0.0)
    else:
        scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(recipe.milestones),
                                                         gamma=recipe.gamma)
    return optimizer, scheduler


_COSINE_LRS: dict = {}


def cosine_lrs(recipe: Recipe, steps_per_epoch: int) -> tuple[float, ...]:
    """The learning rate after each optimizer step of a cosine recipe, as its scheduler sets it.

    :func:`make_optimizer`'s ``CosineAnnealingLR`` is stepped once per batch; its values depend
    on the recipe and the number of steps only, so they are computed once per process (on a
    one-weight stand-in model) and :func:`train` sets them instead of stepping a scheduler per
    batch: the same floats, without the scheduler's per-step Python.

    Parameters
    ----------
    recipe : Recipe
        A recipe with ``schedule == "cosine"``.
    steps_per_epoch : int
        Optimizer steps (batches) per epoch.

    Returns
    -------
    tuple of float
        ``epochs × steps_per_epoch`` learning rates: entry k is the rate after step k + 1.
    """
    key = (recipe, steps_per_epoch)
    if key not in _COSINE_LRS:
        stand_in = nn.Linear(1, 1, bias=False)
        optimizer, scheduler = make_optimizer(stand_in, recipe, steps_per_epoch=steps_per_epoch)
        lrs = []
        for _ in range(recipe.epochs * steps_per_epoch):
            optimizer.step()  # no gradient: changes nothing, keeps the scheduler's step order
            scheduler.step()
            lrs.append(optimizer.param_groups[0]["lr"])
        _COSINE_LRS[key] = tuple(lrs)
    return _COSINE_LRS[key]


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, batch_size: int = 1000) -> tuple[float, float]:
    """Mean cross-entropy (nats) and accuracy (fraction) of ``model`` on ``split`` (eval mode)."""
    was_training = model.training
    model.eval()
    loss, correct = 0.0, 0
    for start in range(0, len(split), batch_size):
        x, y = split.x[start:start + batch_size], split.y[start:start + batch_size]
        logits = model(x).float()
        loss += F.cross_entropy(logits, y, reduction="sum").item()
        correct += int((logits.argmax(1) == y).sum())
    model.train(was_training)
    return loss / len(split), correct / len(split)


def train(model: nn.Module, masks: Mapping[str, torch.Tensor] | None, recipe: Recipe, train_split: Split,
          test_split: Split, *, seed: int, augment: Callable | None = None,
          on_epoch: Callable[[int, History], None] | None = None, amp: bool = False,
          channels_last: bool = False, timings: dict | None = None) -> History:
    """Train ``model`` in place with ``masks`` applied; evaluate on ``test_split`` after each epoch.

    Data order and augmentation draw from their own CPU streams of replicate ``seed`` (moved to
    the device), so the same inputs give bit-identical weights on the CPU and the same batches on
    any device. Both splits must already be on the model's device.

    ``amp`` runs forward and loss under ``torch.autocast`` in bfloat16 (weights, optimizer state
    and evaluation stay float32; no loss scaling is needed for bf16). ``channels_last`` stores 4-D
    activations and conv weights NHWC (faster convolutions on GPUs and recent CPUs); the model is
    returned in the default memory format.

    ``timings``, if given, receives ``"eval"``: the wall seconds of the per-epoch evaluations
    (added to any value already there).

    Raises
    ------
    TrainingDiverged
        If a training loss is NaN/inf (the run should be recorded as failed).
    RuntimeError
        If a masked prunable weight received no gradient during the first epoch.
    """
    device = next(model.parameters()).device
    if channels_last and train_split.x.dim() == 4:
        model.to(memory_format=torch.channels_last)
        train_split = Split(train_split.x.contiguous(memory_format=torch.channels_last), train_split.y)
        test_split = Split(test_split.x.contiguous(memory_format=torch.channels_last), test_split.y)
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if amp else contextlib.nullcontext
    masker = Masker(model, masks)
    masker.apply_to_weights()
    n = len(train_split)
    optimizer, scheduler = make_optimizer(model, recipe, steps_per_epoch=math.ceil(n / recipe.batch_size))
    per_batch = recipe.schedule == "cosine"
    # the per-batch schedule's rates, as its scheduler would set them (see cosine_lrs)
    lrs = iter(cosine_lrs(recipe, math.ceil(n / recipe.batch_size))) if per_batch else None
    # both streams draw on the CPU (results moved to the device): the same draws on any device
    order_gen = seeding.generator(seed, "data_order")
    aug_gen = seeding.generator(seed, "augment")
    use_augment = recipe.augment and augment is not None
    history = History()
    model.train()
    for epoch in range(1, recipe.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(n, generator=order_gen).to(device)
        total, batches = torch.zeros((), device=device), 0
        for i in range(0, n, recipe.batch_size):
            idx = order[i:i + recipe.batch_size]
            x, y = train_split.x[idx], train_split.y[idx]
            if use_augment:
                x = augment(x, aug_gen)
            with autocast():
                loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=False)
            loss.backward()
            masker.apply_to_grads()
            optimizer.step()
            if per_batch:
                lr = next(lrs)
                for group in optimizer.param_groups:
                    group["lr"] = lr
            total += loss.detach()
            batches += 1
        if not per_batch:
            scheduler.step()
        if epoch == 1:
            masker.check_gradients()
        train_loss = float(total) / max(batches, 1)
        if not math.isfinite(train_loss):
            raise TrainingDiverged(f"training loss became {train_loss} in epoch {epoch}")
        mark = time.perf_counter()
        test_loss, test_acc = evaluate(model, test_split)
        if timings is not None:
            timings["eval"] = timings.get("eval", 0.0) + time.perf_counter() - mark
        history.epoch.append(epoch)
        history.train_loss.append(train_loss)
        history.test_loss.append(test_loss)
        history.test_accuracy.append(test_acc)
        history.seconds.append(time.perf_counter() - start)
        if on_epoch is not None:
            on_epoch(epoch, history)
    if channels_last:
        model.to(memory_format=torch.contiguous_format)
    return history
