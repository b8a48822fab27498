"""Run one spec end to end in-process: init → score → mask → variant → masked training."""
from __future__ import annotations

import copy
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn as nn

from zoo_builder import datasets, models, pruning, seeding, training, variants
from zoo_builder.spec import RunSpec

StateDict = "OrderedDict[str, torch.Tensor]"


@dataclass
class RunResult:
    """Every tensor and metric of one run (all tensors on the CPU).

    Attributes
    ----------
    spec : RunSpec
    initial : state dict
        The original initialization (every parameter and buffer) that was scored.
    reinit : state dict
        The replicate's redrawn initialization (what the ``reinit`` variant trains from).
    scores : dict name → tensor
        The method's scores of every prunable weight (method's own convention, see
        ``zoo_builder.pruning.method(name).keep``).
    masks : dict name → bool tensor
        The mask this variant trained with (True = kept).
    trained : state dict
        Final weights (exact zeros where pruned), biases, BN parameters and buffers.
    history : dict of lists
        ``epoch``, ``train_loss``, ``test_loss``, ``test_accuracy`` (fraction), ``seconds``.
    accuracy : float
        Final test accuracy (fraction in [0, 1]).
    density : float
        Fraction of prunable weights kept.
    seconds : float
        Wall time of the whole run.
    """

    spec: RunSpec
    initial: dict
    reinit: dict
    scores: dict
    masks: dict
    trained: dict
    history: dict
    accuracy: float
    density: float
    seconds: float
    device: str = "cpu"
    extra: dict = field(default_factory=dict)


def _cpu_state(model: nn.Module) -> "OrderedDict[str, torch.Tensor]":
    return OrderedDict((k, v.detach().to("cpu", copy=True)) for k, v in model.state_dict().items())


def scoring_data(spec: RunSpec, train_split: datasets.Split):
    """The (x, y) scoring set: ``per_class`` un-augmented training examples per class (seeded)."""
    subset = datasets.per_class_subset(train_split, spec.per_class, seeding.generator(spec.seed, "score_batch"))
    return subset.x, subset.y


_PRUNING_CACHE: "OrderedDict[tuple, tuple]" = OrderedDict()


def prepare(spec: RunSpec, *, device: str | torch.device = "cpu", data_root=None):
    """Initialized model and its pruning for ``spec``; cached so the variants of one pruning
    (same arch, dataset, method, sparsity, seed) score once per process."""
    key = (*spec.pruning_key, str(device))
    if key in _PRUNING_CACHE:
        _PRUNING_CACHE.move_to_end(key)
        return _PRUNING_CACHE[key]
    model = models.build(spec.arch, spec.dataset, seed=spec.seed).to(device)
    method = pruning.method(spec.method)
    data = None
    if method.needs_data:
        x, y = scoring_data(spec, datasets.load(spec.dataset, train=True, root=data_root))
        data = (x.to(device), y.to(device))
    iterations = 1 if spec.sparsity == 0 else spec.iterations
    pruned = pruning.prune(model, spec.method, spec.sparsity, data, iterations=iterations,
                           generator=seeding.generator(spec.seed, "random_score", device=device) if str(device) != "cpu"
                           else seeding.generator(spec.seed, "random_score"),
                           chunk_size=spec.recipe.batch_size)
    _PRUNING_CACHE[key] = (model, pruned)
    while len(_PRUNING_CACHE) > 2:
        _PRUNING_CACHE.popitem(last=False)
    return model, pruned


def run(spec: RunSpec, *, device: str | torch.device = "cpu", data_root=None,
        on_epoch: Callable[[int, training.History], None] | None = None, amp: bool = False,
        channels_last: bool = False) -> RunResult:
    """Run one complete spec in-process and return every tensor and the metrics history.

    Deterministic on the CPU: the same spec gives bit-identical masks, initial and trained weights.
    ``amp`` (bf16 autocast) and ``channels_last`` are speed options for training only (scoring
    and evaluation stay float32 / contiguous); see :func:`zoo_builder.training.train`.

    Raises
    ------
    ValueError
        For an invalid spec (raised when the spec is built).
    zoo_builder.training.TrainingDiverged
        If the loss becomes NaN/inf.
    """
    start = time.perf_counter()
    device = torch.device(device)
    info = datasets.info(spec.dataset)
    train_split = datasets.load(spec.dataset, train=True, root=data_root).to(device)
    test_split = datasets.load(spec.dataset, train=False, root=data_root).to(device)
    model, pruned = prepare(spec, device=device, data_root=data_root)
    masks, start_model = variants.apply(spec.variant, pruned, model, seed=spec.seed)
    reinit_model = start_model if spec.variant == "reinit" else variants.redraw(model, spec.seed)
    initial, reinit = _cpu_state(model), _cpu_state(reinit_model)
    history = training.train(start_model, masks, spec.recipe, train_split, test_split, seed=spec.seed,
                             augment=info.augment, on_epoch=on_epoch, amp=amp, channels_last=channels_last)
    if history.test_accuracy:
        accuracy = history.test_accuracy[-1]
    else:
        accuracy = training.evaluate(start_model, test_split)[1]
    cpu_masks = {k: v.to("cpu") for k, v in masks.items()}
    kept = sum(int(m.sum()) for m in cpu_masks.values())
    return RunResult(
        spec=spec,
        initial=initial,
        reinit=reinit,
        scores={k: v.to("cpu") for k, v in pruned.scores.items()},
        masks=cpu_masks,
        trained=_cpu_state(start_model),
        history=history.to_dict(),
        accuracy=float(accuracy),
        density=kept / sum(m.numel() for m in cpu_masks.values()),
        seconds=time.perf_counter() - start,
        device=str(device),
        extra={"amp": bool(amp), "channels_last": bool(channels_last)},
    )
