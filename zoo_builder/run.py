"""Run one spec end to end in-process: init → score → mask → variant → masked training."""
from __future__ import annotations

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
        The replicate's redrawn initialization (what the ``reinit`` variants train from).
    scores : dict name → tensor
        The method's scores of every prunable weight on the **dense** initial network (round 1),
        in the method's own convention (see ``zoo_builder.pruning.method(name).keep``). The same
        for every sparsity and variant of one (method, seed).
    final_scores : dict name → tensor or None
        Iterative methods at sparsity > 0 (SynFlow): the last pruning round's scores of the
        method's own (not inverted) pruning at this sparsity, shared by every variant; None
        otherwise.
    masks : dict name → bool tensor
        The mask this variant trained with (True = kept).
    start : dict name → tensor or None
        Variants whose starting prunable weights depend on the run (``shuffle_kept``,
        ``permute_kept``: :attr:`zoo_builder.variants.Variant.stored_start`): those weights, before
        masking; None for the others (they start from ``initial`` or ``reinit``).
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
    device : str
        Device the run trained on.
    disconnected : bool
        The variant's mask leaves some prunable layer at density 0 or no input → output path
        (see :func:`zoo_builder.pruning.connectivity`); the reason is ``extra["disconnected_reason"]``.
    extra : dict
        ``amp``, ``channels_last`` (bool), ``device`` (str), ``disconnected_reason`` (str, "" when
        connected) and, for a dense baseline whose training was shared,
        ``dense_training_shared_with`` (the spec hash of the run that trained it).
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
    final_scores: dict | None = None
    disconnected: bool = False
    start: dict | None = None
    #: Wall seconds of the run's parts (``prepare``: init and scoring, or the cached pruning;
    #: ``setup``: variant, state copies, connectivity; ``train``: masked training with its
    #: per-epoch evaluation; ``eval``: the evaluations alone; ``copy``: the trained state). Timings
    #: only: never stored in the zoo.
    timings: dict = field(default_factory=dict)


def _cpu_state(model: nn.Module) -> "OrderedDict[str, torch.Tensor]":
    return OrderedDict((k, v.detach().to("cpu", copy=True)) for k, v in model.state_dict().items())


def _cpu(tensors: dict | None) -> dict | None:
    return None if tensors is None else {k: v.detach().to("cpu") for k, v in tensors.items()}


def scoring_data(spec: RunSpec, train_split: datasets.Split):
    """The (x, y) scoring set: ``per_class`` un-augmented training examples per class (seeded)."""
    subset = datasets.per_class_subset(train_split, spec.per_class, seeding.generator(spec.seed, "score_batch"))
    return subset.x, subset.y


_PRUNING_CACHE: "OrderedDict[tuple, tuple]" = OrderedDict()


def prepare(spec: RunSpec, *, device: str | torch.device = "cpu", data_root=None):
    """Initialized model and its pruning for ``spec``; cached so the variants of one pruning
    (same arch, dataset, method, sparsity, seed) score once per process.

    Every seeded draw (init, scoring examples, random scores, tie breaks) is made on the CPU and
    moved to ``device``, so the masks do not depend on the device beyond the floating-point
    rounding of the scores themselves.
    """
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
    pruned = pruning.prune(model, spec.method, spec.sparsity, data, iterations=iterations, seed=spec.seed,
                           chunk_size=spec.recipe.batch_size)
    _PRUNING_CACHE[key] = (model, pruned)
    while len(_PRUNING_CACHE) > 2:
        _PRUNING_CACHE.popitem(last=False)
    return model, pruned


def _pruning_fields(spec: RunSpec, model: nn.Module, pruned, masks) -> dict:
    """The RunResult fields that come from the pruning: scores, final scores, disconnection."""
    conn = pruning.connectivity(model, masks)
    return dict(scores=_cpu(pruned.scores), final_scores=_cpu(pruned.final_scores) if spec.sparsity > 0 else None,
                masks=_cpu(masks), disconnected=conn.disconnected, reason=conn.reason)


def run(spec: RunSpec, *, device: str | torch.device = "cpu", data_root=None,
        on_epoch: Callable[[int, training.History], None] | None = None, amp: bool | None = None,
        channels_last: bool = False) -> RunResult:
    """Run one complete spec in-process and return every tensor and the metrics history.

    Deterministic on the CPU: the same spec gives bit-identical masks, initial and trained weights.
    ``spec.amp`` (bf16 autocast) and ``channels_last`` are speed options for training only
    (scoring and evaluation stay float32 / contiguous); see :func:`zoo_builder.training.train`.
    ``amp``, if given, must equal ``spec.amp`` (bf16 runs are other specs).

    Raises
    ------
    ValueError
        For an invalid spec (raised when the spec is built), or more than one pruning round for a
        one-shot method.
    zoo_builder.training.TrainingDiverged
        If the loss becomes NaN/inf.
    """
    start = time.perf_counter()
    if amp is not None and bool(amp) != spec.amp:
        raise ValueError(f"amp={amp!r} but the spec says amp={spec.amp}: bf16 training is part of the spec; "
                         "build the RunSpec with amp=True instead")
    amp = spec.amp
    device = torch.device(device)
    info = datasets.info(spec.dataset)
    train_split = datasets.load(spec.dataset, train=True, root=data_root).to(device)
    test_split = datasets.load(spec.dataset, train=False, root=data_root).to(device)
    timings: dict[str, float] = {}
    mark = time.perf_counter()
    model, pruned = prepare(spec, device=device, data_root=data_root)
    timings["prepare"], mark = time.perf_counter() - mark, time.perf_counter()
    masks, start_model = variants.apply(spec.variant, pruned, model, seed=spec.seed)
    reinit_model = start_model if variants.get(spec.variant).reinit else variants.redraw(model, spec.seed)
    initial, reinit = _cpu_state(model), _cpu_state(reinit_model)
    start_weights = ({name: w.detach().to("cpu", copy=True) for name, w in models.prunable(start_model).items()}
                     if variants.get(spec.variant).stored_start else None)
    fields = _pruning_fields(spec, model, pruned, masks)
    timings["setup"], mark = time.perf_counter() - mark, time.perf_counter()
    history = training.train(start_model, masks, spec.recipe, train_split, test_split, seed=spec.seed,
                             augment=info.augment, on_epoch=on_epoch, amp=amp, channels_last=channels_last,
                             timings=timings)
    timings["train"], mark = time.perf_counter() - mark, time.perf_counter()
    if history.test_accuracy:
        accuracy = history.test_accuracy[-1]
    else:
        accuracy = training.evaluate(start_model, test_split)[1]
    cpu_masks = fields["masks"]
    kept = sum(int(m.sum()) for m in cpu_masks.values())
    trained = _cpu_state(start_model)
    timings["copy"] = time.perf_counter() - mark
    return RunResult(
        spec=spec,
        initial=initial,
        reinit=reinit,
        scores=fields["scores"],
        final_scores=fields["final_scores"],
        masks=cpu_masks,
        start=start_weights,
        trained=trained,
        history=history.to_dict(),
        accuracy=float(accuracy),
        density=kept / sum(m.numel() for m in cpu_masks.values()),
        seconds=time.perf_counter() - start,
        device=str(device),
        disconnected=fields["disconnected"],
        extra={"amp": bool(amp), "channels_last": bool(channels_last), "device": str(device),
               "disconnected_reason": fields["reason"]},
        timings=timings,
    )


def reuse_dense(base: RunResult, spec: RunSpec, *, device: str | torch.device = "cpu",
                data_root=None) -> RunResult | None:
    """The dense baseline ``spec`` (sparsity 0) of one method from another method's dense run ``base``.

    At sparsity 0 every mask is all-True, so the trained network depends on (arch, dataset, seed,
    recipe) only. This scores ``spec``'s own method on the dense network and checks that its
    mask is full and its initialization equals ``base``'s; if not, it returns None and the caller
    trains normally. ``extra["dense_training_shared_with"]`` names ``base``'s spec hash.
    """
    start = time.perf_counter()
    model, pruned = prepare(spec, device=device, data_root=data_root)
    masks, _ = variants.apply(spec.variant, pruned, model, seed=spec.seed)
    if not all(bool(m.all()) for m in masks.values()):
        return None
    initial = _cpu_state(model)
    if initial.keys() != base.initial.keys() or not all(torch.equal(initial[k], base.initial[k]) for k in initial):
        return None
    fields = _pruning_fields(spec, model, pruned, masks)
    return RunResult(
        spec=spec, initial=initial, reinit=base.reinit, scores=fields["scores"], final_scores=None,
        masks=fields["masks"], trained=base.trained, history=base.history, accuracy=base.accuracy,
        density=base.density, seconds=time.perf_counter() - start, device=base.device,
        disconnected=fields["disconnected"],
        extra={**base.extra, "disconnected_reason": fields["reason"],
               "dense_training_shared_with": base.spec.hash},
    )
