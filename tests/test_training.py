"""Masked training: exact zeros, determinism, real learning."""
import dataclasses

import pytest
import torch
import torch.nn as nn

from zoo_builder import RunSpec, datasets, models, pruning, run, training
from zoo_builder.training.recipes import RECIPES

from _data import mnist_root  # noqa: F401  (fixture)
from _draws import DrawRecorder


def small_split(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 40, generator=g)
    y = (x[:, 0, :5].sum(1) > 0).long() + 2 * (x[:, 0, 5:10].sum(1) > 0).long()
    return datasets.Split(x, y)


def test_pruned_weights_stay_exactly_zero_with_momentum_and_weight_decay():
    model = models.build("mnist1d_cnn", seed=0)
    masks = pruning.prune(model, "random", 0.9).masks
    recipe = RECIPES.get("smoke").with_(epochs=3, momentum=0.9, weight_decay=5e-4, lr=0.1, batch_size=32)
    zero_at_epoch_end = []

    def check(epoch, history):
        zero_at_epoch_end.append(all(torch.all(w[~masks[n]] == 0) for n, w in models.prunable(model).items()))

    training.train(model, masks, recipe, small_split(), small_split(64, 1), seed=0, on_epoch=check)
    assert zero_at_epoch_end == [True, True, True]
    for name, w in models.prunable(model).items():
        assert torch.all(w[~masks[name]] == 0), name
        assert (w[masks[name]] != 0).float().mean() > 0.99, name


def test_kept_weights_move_and_loss_falls():
    model = models.build("mnist1d_mlp", seed=0)
    masks = pruning.prune(model, "magnitude", 0.5).masks
    before = {k: v.clone() for k, v in models.prunable(model).items()}
    recipe = RECIPES.get("smoke").with_(epochs=5, batch_size=32)
    h = training.train(model, masks, recipe, small_split(), small_split(64, 1), seed=0)
    assert h.train_loss[-1] < h.train_loss[0]
    assert h.epoch == [1, 2, 3, 4, 5] and len(h.test_accuracy) == 5
    w = models.prunable(model)["fc.0.weight"]
    assert not torch.equal(w, before["fc.0.weight"])


def test_diverging_loss_raises():
    model = models.build("mnist1d_mlp", seed=0)
    recipe = RECIPES.get("smoke").with_(epochs=2, lr=1e12, batch_size=32)
    with pytest.raises(training.TrainingDiverged, match="training loss became"):
        training.train(model, None, recipe, small_split(), small_split(64, 1), seed=0)


def test_bad_recipe_field_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown recipe field\(s\) \['lr_max'\]"):
        RECIPES.get("smoke").with_(lr_max=1)
    with pytest.raises(ValueError, match="unknown recipe 'fast'"):
        RunSpec("lenet300", "mnist", "snip", recipe="fast")


def test_same_spec_gives_bit_identical_masks_init_and_trained_weights():
    spec = RunSpec("digits_cnn", "digits", "snip", "shuffle", 0.8, 3, RECIPES.get("digits_cpu").with_(epochs=2))
    from zoo_builder.run import _PRUNING_CACHE
    a = run(spec)
    _PRUNING_CACHE.clear()  # recompute the scoring from scratch
    b = run(spec)
    for field in ("initial", "reinit", "scores", "masks", "trained"):
        x, y = getattr(a, field), getattr(b, field)
        assert x.keys() == y.keys()
        assert all(torch.equal(x[k], y[k]) for k in x), field
    assert a.history["test_accuracy"] == b.history["test_accuracy"]


def test_dense_digits_cnn_and_lenet_learn_real_digits():
    r = run(RunSpec("lenet300", "digits", "random", "original", 0.0, 0, "digits_cpu"))
    assert r.accuracy >= 0.95
    r = run(RunSpec("digits_cnn", "digits", "random", "original", 0.0, 0, "digits_cpu"))
    assert r.accuracy >= 0.95


def test_mnist1d_nets_learn():
    r = run(RunSpec("mnist1d_cnn", "mnist1d", "random", "original", 0.0, 0, "mnist1d_cpu"))
    assert r.accuracy >= 0.80


@pytest.mark.slow
def test_dense_lenet300_reaches_97_5_percent_on_real_mnist(mnist_root):
    r = run(RunSpec("lenet300", "mnist", "magnitude", "original", 0.0, 0, "lenet_mnist_cpu"), data_root=mnist_root)
    assert r.accuracy >= 0.975, r.history


def test_amp_and_channels_last_train_masked_and_return_a_contiguous_model():
    spec = RunSpec("digits_cnn", "digits", "magnitude", "original", 0.8, 0, RECIPES.get("digits_cpu").with_(epochs=2))
    plain = run(spec)
    fast = run(dataclasses.replace(spec, amp=True), channels_last=True)
    assert fast.extra == {"amp": True, "channels_last": True, "device": "cpu", "disconnected_reason": ""}
    assert fast.accuracy > 0.8
    assert not torch.equal(fast.trained["fc1.weight"], plain.trained["fc1.weight"])  # bf16 forward really ran
    for name, m in fast.masks.items():
        assert torch.all(fast.trained[name][~m] == 0)
    assert all(v.is_contiguous() for v in fast.trained.values())
    with pytest.raises(ValueError, match="amp=True but the spec says amp=False"):
        run(spec, amp=True)


def test_masker_masks_every_gradient_present_even_when_one_is_missing():
    model = models.build("mnist1d_mlp", seed=0)
    masks = pruning.prune(model, "random", 0.5).masks
    masker = training.Masker(model, masks)
    weights = models.prunable(model)
    names = list(weights)
    for name in names[1:]:
        weights[name].grad = torch.ones_like(weights[name])
    masker.apply_to_grads()  # the first weight has no gradient: the others are still masked
    for name in names[1:]:
        assert torch.equal(weights[name].grad, masks[name].float()), name
    with pytest.raises(RuntimeError, match=f"prunable weight\\(s\\) {names[0]} never received a gradient"):
        masker.check_gradients()


class WithUnusedLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.used = nn.Linear(40, 4)
        self.unused = nn.Linear(4, 4)

    def forward(self, x):
        return self.used(x.flatten(1))


def test_training_fails_loudly_when_a_prunable_weight_never_gets_a_gradient():
    model = WithUnusedLayer()
    masks = {n: torch.ones_like(w, dtype=torch.bool) for n, w in models.prunable(model).items()}
    with pytest.raises(RuntimeError, match="unused.weight never received a gradient"):
        training.train(model, masks, RECIPES.get("smoke").with_(epochs=1, batch_size=64), small_split(),
                       small_split(64, 1), seed=0)
    with pytest.raises(ValueError, match="mask 'nope' names no prunable weight"):
        training.Masker(model, {"nope": torch.ones(3, dtype=torch.bool)})


def test_training_draws_data_order_and_augmentation_on_the_cpu():
    from zoo_builder.datasets.augment import flip_and_crop

    seen = []

    def augment(x, generator):
        seen.append(generator.device.type)
        return flip_and_crop(x, generator, pad=1)

    g = torch.Generator().manual_seed(0)
    split = datasets.Split(torch.randn(96, 1, 8, 8, generator=g), torch.arange(96) % 10)
    model = models.build("digits_cnn", seed=0)
    recipe = RECIPES.get("smoke").with_(epochs=1, batch_size=32, augment=True)
    with DrawRecorder() as rec:
        training.train(model, None, recipe, split, split, seed=0, augment=augment)
    assert seen == ["cpu"] * 3
    assert {name for name, _, _ in rec.draws} >= {"randperm", "rand", "randint"}
    assert rec.devices == {"cpu"}


def test_cosine_schedule_anneals_to_zero_over_every_step():
    recipe = RECIPES.get("smoke").with_(epochs=3, lr=0.2, schedule="cosine")
    model = models.build("mnist1d_mlp", seed=0)
    optimizer, scheduler = training.masked.make_optimizer(model, recipe, steps_per_epoch=10)
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(30):
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs[0] == pytest.approx(0.2)
    assert lrs[15] == pytest.approx(0.1)          # half way: half the learning rate
    assert lrs[-1] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in zip(lrs, lrs[1:]))


def test_cosine_recipe_trains_ends_at_zero_learning_rate_and_round_trips_its_spec():
    recipe = RECIPES.get("smoke").with_(epochs=2, lr=0.1, batch_size=64, schedule="cosine")
    spec = RunSpec("mnist1d_mlp", "mnist1d", "random", "original", 0.5, 0, recipe)
    assert RunSpec.from_dict(spec.to_dict()) == spec
    # a step recipe leaves the field out of its dict, so hashes written before it existed stay valid
    assert "schedule" not in RECIPES.get("smoke").to_dict()
    assert spec.recipe.to_dict()["schedule"] == "cosine"
    with pytest.raises(ValueError, match="cosine schedule takes no milestones"):
        recipe.with_(milestones=(1,))
    with pytest.raises(ValueError, match="schedule 'linear' is not one of"):
        recipe.with_(schedule="linear")


def test_mini_recipe_anneals():
    assert RECIPES.get("lenet_mnist_cpu").schedule == "cosine"
