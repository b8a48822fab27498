"""run(spec): one complete spec in-process, every tensor returned; specs validated at the boundary."""
import pytest
import torch

from zoo_builder import RunSpec, models, pruning, run
from zoo_builder.training.recipes import RECIPES

ONE_EPOCH = RECIPES.get("smoke").with_(epochs=1)


@pytest.fixture(scope="module")
def result():
    return run(RunSpec("mnist1d_cnn", "mnist1d", "synflow", "reinit", 0.9, 1, ONE_EPOCH, iterations=10))


def test_run_returns_every_tensor(result):
    model = models.build("mnist1d_cnn", "mnist1d", seed=1)
    state_keys = set(model.state_dict())
    prunable_keys = set(models.prunable(model))
    assert set(result.initial) == set(result.reinit) == set(result.trained) == state_keys
    assert set(result.scores) == set(result.masks) == prunable_keys
    assert all(torch.equal(result.initial[k], v) for k, v in model.state_dict().items())
    assert all(v.device.type == "cpu" for v in result.trained.values())
    assert any("running_mean" in k for k in result.trained)  # buffers included
    assert result.masks["fc.weight"].dtype == torch.bool


def test_reinit_run_trains_from_the_redrawn_weights_with_the_original_mask(result):
    ref = models.build("mnist1d_cnn", "mnist1d", seed=1, stream="reinit").state_dict()
    assert all(torch.equal(result.reinit[k], v) for k, v in ref.items())
    model = models.build("mnist1d_cnn", "mnist1d", seed=1)
    original = pruning.prune(model, "synflow", 0.9, iterations=10)
    assert all(torch.equal(result.masks[k], m) for k, m in original.masks.items())
    assert result.density == pytest.approx(0.1, abs=1e-4)
    for name, m in result.masks.items():
        assert torch.all(result.trained[name][~m] == 0)


def test_run_history_and_metrics(result):
    h = result.history
    assert h["epoch"] == [1] and len(h["train_loss"]) == len(h["test_loss"]) == len(h["test_accuracy"]) == 1
    assert result.accuracy == h["test_accuracy"][-1] and 0 <= result.accuracy <= 1
    assert result.seconds > 0 and result.spec.variant == "reinit"


def test_spec_hash_is_stable_and_field_sensitive():
    a = RunSpec("lenet300", "mnist", "snip", "original", 0.5, 0, "lenet_mnist_cpu")
    b = RunSpec("lenet300", "mnist", "snip", "original", 0.5, 0, RECIPES.get("lenet_mnist_cpu"))
    c = RunSpec("lenet300", "mnist", "snip", "original", 0.5, 1, "lenet_mnist_cpu")
    assert a.hash == b.hash != c.hash and len(a.hash) == 16
    assert RunSpec.from_dict(a.to_dict()) == a
    assert a.entry == "lenet300-mnist-snip"


@pytest.mark.parametrize("kwargs, message", [
    (dict(arch="lenet"), r"unknown architecture 'lenet'.*Valid choices: .*lenet300"),
    (dict(dataset="mnistt"), r"unknown dataset 'mnistt'.*Did you mean 'mnist'"),
    (dict(method="synflw"), r"unknown pruning method 'synflw'.*Did you mean 'synflow'.*Valid choices"),
    (dict(variant="inverted"), r"unknown variant 'inverted'.*Did you mean 'invert'.*original, shuffle, reinit, invert"),
    (dict(sparsity=1.0), r"sparsity must be in \[0, 1\).*got 1.0"),
    (dict(sparsity=1.5), r"sparsity must be in \[0, 1\).*got 1.5"),
    (dict(seed=-1), r"seed must be a non-negative integer, got -1"),
    (dict(per_class=0), r"per_class must be ≥ 1, got 0"),
])
def test_bad_spec_names_the_bad_value_and_the_choices(kwargs, message):
    args = dict(arch="lenet300", dataset="mnist", method="snip", variant="original", sparsity=0.5, seed=0)
    with pytest.raises(ValueError, match=message):
        RunSpec(**(args | kwargs))


def test_unknown_spec_field_is_rejected():
    with pytest.raises(ValueError, match="unknown run-spec field 'lr'"):
        RunSpec.from_dict({"arch": "lenet300", "dataset": "mnist", "method": "snip", "lr": 0.1})
