"""PaI scoring methods and global masking: definitions and the properties they must satisfy."""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy import optimize, stats

from zoo_builder import models, pruning
from zoo_builder.pruning.masks import global_mask, n_removed

METHODS = ["random", "magnitude", "snip", "grasp", "grasp_abs", "synflow"]


def tiny_mlp(bias=True, act=nn.ReLU, dtype=torch.float64, seed=0):
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(4, 6, bias=bias), act(), nn.Linear(6, 5, bias=bias), act(),
                        nn.Linear(5, 3, bias=bias)).to(dtype)
    net.input_shape = (4,)
    return net


def tiny_data(n=12, dtype=torch.float64, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 4, generator=g, dtype=dtype), torch.randint(0, 3, (n,), generator=g)


def data_for(model_input_shape, n_classes=10, per_class=3):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n_classes).repeat_interleave(per_class)
    return torch.randn(len(y), *model_input_shape, generator=g), y


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.9, 0.987])
def test_global_sparsity_is_exact(method, sparsity):
    model = models.build("digits_cnn", seed=1)
    data = data_for((1, 8, 8)) if pruning.method(method).needs_data else None
    result = pruning.prune(model, method, sparsity, data, iterations=5 if method == "synflow" else None)
    total = sum(m.numel() for m in result.masks.values())
    removed = sum(int((~m).sum()) for m in result.masks.values())
    assert removed == n_removed(sparsity, total) == round(sparsity * total)


def test_ties_keep_the_earlier_weight():
    scores = {"a": torch.ones(2, 3), "b": torch.ones(4)}
    masks = global_mask(scores, 0.5)  # 10 weights, keep 5: the first five in prunable order
    assert masks["a"].flatten().tolist() == [True] * 5 + [False] and not masks["b"].any()


def test_global_mask_keeps_the_top_scores():
    g = torch.Generator().manual_seed(0)
    scores = {"a": torch.rand(50, generator=g), "b": torch.rand(30, 2, generator=g)}
    masks = global_mask(scores, 0.7)
    flat = torch.cat([scores["a"], scores["b"].flatten()])
    kept = torch.cat([masks["a"], masks["b"].flatten()])
    assert flat[kept].min() > flat[~kept].max()
    lowest = global_mask(scores, 0.7, keep="lowest")
    kept = torch.cat([lowest["a"], lowest["b"].flatten()])
    assert flat[kept].max() < flat[~kept].min()


def loss_at(model, params, values, data, temperature=1.0):
    with torch.no_grad():
        saved = [p.clone() for p in params]
        for p, v in zip(params, values):
            p.copy_(v)
        out = F.cross_entropy(model(data[0]) / temperature, data[1]).item()
        for p, v in zip(params, saved):
            p.copy_(v)
    return out


def test_snip_equals_abs_weight_times_gradient_by_finite_differences():
    model, data = tiny_mlp(), tiny_data()
    scores = pruning.score(model, "snip", data)
    params = list(models.prunable(model).values())
    h = 1e-6
    for name, p in models.prunable(model).items():
        fd = torch.zeros_like(p)
        for idx in np.ndindex(*p.shape):
            values = [q.detach().clone() for q in params]
            k = [i for i, q in enumerate(params) if q is p][0]
            values[k][idx] += h
            up = loss_at(model, params, values, data)
            values[k][idx] -= 2 * h
            down = loss_at(model, params, values, data)
            fd[idx] = (up - down) / (2 * h)
        torch.testing.assert_close(scores[name], (p.detach() * fd).abs(), rtol=1e-5, atol=1e-9)


def test_grasp_equals_minus_weight_times_hessian_gradient_by_finite_differences():
    model, data = tiny_mlp(act=nn.Tanh), tiny_data()
    T = pruning.grasp.TEMPERATURE
    scores = pruning.score(model, "grasp", data)
    params = list(models.prunable(model).values())

    def grad_at(values):
        saved = [p.detach().clone() for p in params]
        with torch.no_grad():
            for p, v in zip(params, values):
                p.copy_(v)
        loss = F.cross_entropy(model(data[0]) / T, data[1])
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, v in zip(params, saved):
                p.copy_(v)
        return grads

    theta = [p.detach().clone() for p in params]
    g = grad_at(theta)
    eps = 1e-4
    plus = grad_at([t + eps * gi for t, gi in zip(theta, g)])
    minus = grad_at([t - eps * gi for t, gi in zip(theta, g)])
    for (name, p), gp, gm in zip(models.prunable(model).items(), plus, minus):
        hg = (gp - gm) / (2 * eps)
        torch.testing.assert_close(scores[name], -(p.detach() * hg), rtol=1e-4, atol=1e-14)
    assert pruning.method("grasp").keep == "lowest"
    abs_scores = pruning.score(model, "grasp_abs", data)
    for name in scores:
        torch.testing.assert_close(abs_scores[name], scores[name].abs())


def test_synflow_conserves_score_across_layers():
    # Tanaka et al.'s conservation law: on a bias-free, BN-free net every layer's score sum is R.
    model = tiny_mlp(bias=False)
    scores = pruning.score(model, "synflow")
    sums = torch.stack([s.sum() for s in scores.values()])
    torch.testing.assert_close(sums, sums[0].expand_as(sums), rtol=1e-10, atol=0)
    net = nn.Sequential(*[m for m in model]).double()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
        r = net(torch.ones(1, 4, dtype=torch.float64)).sum()
    assert sums[0].item() == pytest.approx(r.item(), rel=1e-10)


def test_synflow_scores_in_float64_with_bn_in_eval_mode_and_leave_model_untouched():
    model = models.build("resnet20", seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    scores = pruning.score(model, "synflow")
    assert all(s.dtype == torch.float64 and (s >= 0).all() for s in scores.values())
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # running stats untouched: eval mode


def test_synflow_iterative_never_revives_and_follows_schedule():
    model = models.build("mnist1d_mlp", seed=0)
    few = pruning.prune(model, "synflow", 0.99, iterations=1)
    many = pruning.prune(model, "synflow", 0.99, iterations=20)
    assert many.iterations == 20 and pruning.method("synflow").iterations == 100
    assert abs(many.density - 0.01) < 1e-3 and abs(few.density - 0.01) < 1e-3
    # iterative pruning avoids layer collapse better: the smallest layer density is larger
    min_few = min(m.float().mean().item() for m in few.masks.values())
    min_many = min(m.float().mean().item() for m in many.masks.values())
    assert min_many >= min_few
    # weights pruned before the last round have score exactly 0 in the last round
    for name, m in many.masks.items():
        assert torch.all(many.scores[name][~m] >= 0)


def magnitude_expected_densities(fan_ins, sizes, density):
    fan_ins, sizes = np.asarray(fan_ins, float), np.asarray(sizes, float)

    def kept(t):
        return (sizes * 2 * stats.norm.sf(t * np.sqrt(fan_ins / 2))).sum() - density * sizes.sum()

    t = optimize.brentq(kept, 1e-9, 10.0, xtol=1e-14)
    return 2 * stats.norm.sf(t * np.sqrt(fan_ins / 2))


@pytest.mark.parametrize("arch, sparsity", [("resnet20", 0.75), ("vgg16", 0.90)])
def test_magnitude_layer_densities_follow_fan_in(arch, sparsity):
    model = models.build(arch, seed=0)
    weights = models.prunable(model)
    result = pruning.prune(model, "magnitude", sparsity)
    fan_ins = [w[0].numel() for w in weights.values()]
    sizes = [w.numel() for w in weights.values()]
    expected = magnitude_expected_densities(fan_ins, sizes, 1 - sparsity)
    observed = np.array([m.double().mean().item() for m in result.masks.values()])
    se = np.sqrt(expected * (1 - expected) / np.asarray(sizes))
    assert np.all(np.abs(observed - expected) <= 3 * se), (observed, expected, se)


def test_magnitude_resnet20_matches_reference_table():
    # reference d3 (analytic): first conv 0.772, fan-in 144: 0.504, 288: 0.345, 576: 0.182,
    # shortcut 16→32: 0.824, fc 0.656; each within 3 binomial standard errors
    model = models.build("resnet20", seed=0)
    masks = pruning.prune(model, "magnitude", 0.75).masks
    table = {"conv.weight": 0.772, "blocks.0.conv1.weight": 0.504, "blocks.3.conv2.weight": 0.345,
             "blocks.8.conv2.weight": 0.182, "blocks.3.shortcut.0.weight": 0.824, "fc.weight": 0.656}
    for name, q in table.items():
        n = masks[name].numel()
        assert masks[name].float().mean().item() == pytest.approx(q, abs=3 * math.sqrt(q * (1 - q) / n) + 1e-3), name


def test_random_pruning_gives_every_layer_the_same_density():
    masks = pruning.prune(models.build("resnet20"), "random", 0.75).masks
    for name, m in masks.items():
        q, n = 0.25, m.numel()
        assert abs(m.float().mean().item() - q) <= 4 * math.sqrt(q * (1 - q) / n), name


@pytest.mark.parametrize("method", ["magnitude", "snip", "grasp"])
def test_invert_keeps_the_complement_ranking(method):
    model = models.build("mnist1d_mlp", seed=2)
    data = data_for((1, 40)) if pruning.method(method).needs_data else None
    original = pruning.prune(model, method, 0.3, data)
    inverted = original.invert()
    complement = pruning.prune(model, method, 0.7, data)
    assert inverted.inverted and abs(inverted.density - 0.7) < 1e-4
    for name in original.masks:
        assert torch.equal(inverted.masks[name], ~complement.masks[name])
    assert all(torch.equal(a, b) for a, b in zip(inverted.invert().masks.values(), original.masks.values()))


def test_inverted_synflow_reruns_every_round_with_negated_scores():
    model = models.build("mnist1d_mlp", seed=0)
    original = pruning.prune(model, "synflow", 0.9, iterations=10)
    inverted = original.invert()
    assert inverted.inverted and inverted.iterations == 10
    assert abs(inverted.density - 0.1) < 1e-3
    overlap = sum(int((a & b).sum()) for a, b in zip(original.masks.values(), inverted.masks.values()))
    assert overlap < 0.05 * sum(int(m.sum()) for m in original.masks.values())


def test_scoring_does_not_modify_the_model():
    model = models.build("digits_cnn", seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    for method in METHODS:
        pruning.prune(model, method, 0.5, data_for((1, 8, 8)), iterations=2)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_same_inputs_give_identical_scores():
    model = models.build("digits_cnn", seed=0)
    data = data_for((1, 8, 8))
    for method in METHODS:
        a = pruning.prune(model, method, 0.5, data, iterations=2)
        b = pruning.prune(model, method, 0.5, data, iterations=2)
        assert all(torch.equal(a.scores[k], b.scores[k]) for k in a.scores), method


@pytest.mark.parametrize("bad, message", [
    (dict(method="snipp"), r"unknown pruning method 'snipp'.*Did you mean 'snip'.*Valid choices"),
    (dict(sparsity=1.0), r"sparsity must be in \[0, 1\).*got 1.0"),
    (dict(sparsity=-0.1), r"sparsity must be in \[0, 1\)"),
    (dict(sparsity="lots"), r"sparsity must be a number"),
])
def test_bad_pruning_input_names_the_problem(bad, message):
    args = dict(method="magnitude", sparsity=0.5) | bad
    with pytest.raises(ValueError, match=message):
        pruning.prune(models.build("mnist1d_mlp"), args["method"], args["sparsity"])


def test_data_dependent_method_without_data_says_so():
    with pytest.raises(ValueError, match="'snip' needs labelled examples"):
        pruning.prune(models.build("mnist1d_mlp"), "snip", 0.5)


def test_nan_scores_are_rejected():
    with pytest.raises(ValueError, match="'w' contain NaN"):
        global_mask({"w": torch.tensor([1.0, float("nan")])}, 0.5)


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 40), min_size=1, max_size=5),
       sparsity=st.floats(0, 0.999), levels=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_global_mask_removes_exactly_round_sN_with_ties_to_the_earlier_weight(sizes, sparsity, levels, seed):
    g = torch.Generator().manual_seed(seed)
    scores = {f"t{i}": torch.randint(0, levels, (n,), generator=g).double() for i, n in enumerate(sizes)}
    masks = global_mask(scores, sparsity)
    flat = torch.cat(list(scores.values()))
    kept = torch.cat(list(masks.values()))
    assert int((~kept).sum()) == math.floor(sparsity * len(flat) + 0.5)
    if kept.any() and (~kept).any():
        assert flat[kept].min() >= flat[~kept].max()
        threshold = flat[kept].min()
        tied = torch.nonzero(flat == threshold).flatten()
        tied_kept = kept[tied]
        # among tied weights, the kept ones precede the removed ones
        assert torch.equal(tied_kept, tied_kept.sort(descending=True, stable=True).values)
