"""run(spec): one complete spec in-process, every tensor returned; specs validated at the boundary."""
import pytest
import torch

from zoo_builder import RunSpec, models, pruning, run
from zoo_builder.training.recipes import RECIPES

from _draws import DrawRecorder

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


def test_run_scores_are_the_dense_round_1_scores_and_final_scores_the_last_round(result):
    model = models.build("mnist1d_cnn", "mnist1d", seed=1)
    dense = pruning.score(model, "synflow")
    assert all(torch.equal(result.scores[k], v) for k, v in dense.items())
    pruned = pruning.prune(model, "synflow", 0.9, iterations=10, seed=1)
    assert all(torch.equal(result.final_scores[k], v) for k, v in pruned.final_scores.items())
    assert not any(torch.equal(result.final_scores[k], dense[k]) for k in dense)
    assert result.disconnected is False
    assert result.extra == {"amp": False, "channels_last": False, "device": "cpu", "disconnected_reason": ""}


@pytest.fixture(scope="module")
def inverted_and_dense():
    spec = RunSpec("mnist1d_mlp", "mnist1d", "synflow", "invert", 0.9, 0, ONE_EPOCH, iterations=10)
    return run(spec), run(RunSpec("mnist1d_mlp", "mnist1d", "synflow", "original", 0.0, 0, ONE_EPOCH))


def test_inverted_synflow_run_is_flagged_disconnected_and_shares_the_dense_scores(inverted_and_dense):
    inverted, dense = inverted_and_dense
    assert inverted.disconnected and "out.weight" in inverted.extra["disconnected_reason"]
    assert all(torch.equal(inverted.scores[k], v) for k, v in dense.scores.items())  # independent of sparsity
    assert dense.final_scores is None and inverted.final_scores is not None
    assert not dense.disconnected and dense.extra["disconnected_reason"] == ""
    original = pruning.prune(models.build("mnist1d_mlp", "mnist1d", seed=0), "synflow", 0.9, iterations=10)
    assert all(torch.equal(inverted.final_scores[k], v) for k, v in original.final_scores.items())


def test_reuse_dense_shares_the_training_and_scores_its_own_method(inverted_and_dense):
    from zoo_builder.run import reuse_dense

    _, base = inverted_and_dense
    spec = RunSpec("mnist1d_mlp", "mnist1d", "magnitude", "original", 0.0, 0, ONE_EPOCH)
    shared = reuse_dense(base, spec)
    assert shared.extra["dense_training_shared_with"] == base.spec.hash and shared.trained is base.trained
    model = models.build("mnist1d_mlp", "mnist1d", seed=0)
    assert all(torch.equal(shared.scores[k], w.detach().abs()) for k, w in models.prunable(model).items())
    assert not shared.disconnected and shared.final_scores is None


def test_every_seeded_draw_of_a_run_is_made_on_the_cpu():
    spec = RunSpec("mnist1d_cnn", "mnist1d", "random", "shuffle", 0.5, 2, ONE_EPOCH)
    from zoo_builder.run import _PRUNING_CACHE

    _PRUNING_CACHE.clear()
    with DrawRecorder() as rec:
        run(spec)
    names = {name for name, _, _ in rec.draws}
    # init/reinit (normal_, uniform_), random scores (rand), tie breaks (randint), shuffle and data order (randperm)
    assert {"normal_", "uniform_", "rand", "randint", "randperm"} <= names, names
    assert rec.devices == {"cpu"}


def test_one_shot_method_with_several_rounds_is_rejected_in_one_line():
    with pytest.raises(ValueError, match="'snip' is one-shot: iterations applies to iterative methods only"):
        run(RunSpec("mnist1d_mlp", "mnist1d", "snip", "original", 0.5, 0, ONE_EPOCH, iterations=3))


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
