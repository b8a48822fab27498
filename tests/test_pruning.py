"""PaI scoring methods and global masking: definitions and the properties they must satisfy."""
import copy
import math
import types

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from scipy import optimize, stats

from zoo_builder import models, pruning, seeding
from zoo_builder.pruning.masks import global_mask, keep_top, kth_smallest, n_removed, tie_priority

from _draws import DrawRecorder

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


def test_ties_are_broken_by_a_seeded_random_priority_not_by_position():
    scores = {"a": torch.zeros(2000), "b": torch.zeros(2000)}  # every weight tied
    masks = global_mask(scores, 0.5, seed=3)
    assert sum(int(m.sum()) for m in masks.values()) == 2000
    # hypergeometric: the kept fraction of "a" has sd √(0.25·2000/3999)/√2000 ≈ 0.008 around 0.5
    assert abs(masks["a"].float().mean().item() - 0.5) < 0.05
    assert abs(masks["b"].float().mean().item() - 0.5) < 0.05
    again = global_mask(scores, 0.5, seed=3)
    other = global_mask(scores, 0.5, seed=4)
    assert all(torch.equal(masks[k], again[k]) for k in masks)
    assert not torch.equal(masks["a"], other["a"])


def _keep_top_by_sorting(key, n_keep, priority=None):
    """The rule written out: the first n_keep of the order (key desc, priority desc, index asc)."""
    n = key.numel()
    pr = np.zeros(n, dtype=np.int64) if priority is None else priority.numpy()
    order = np.lexsort((np.arange(n), -pr, -key.numpy()))  # last key is the primary one
    keep = np.zeros(n, dtype=bool)
    keep[order[:max(0, min(n_keep, n))]] = True
    return torch.from_numpy(keep)


def test_keep_top_selects_by_key_then_priority_then_index_under_heavy_ties():
    # scores with 1-5 distinct values (most weights tied at the threshold, as inverted SynFlow's
    # zeros) and priorities with few distinct values (ties among the tied), every keep count
    g = torch.Generator().manual_seed(0)
    for trial in range(200):
        n = int(torch.randint(1, 400, (1,), generator=g))
        key = torch.randint(0, int(torch.randint(1, 6, (1,), generator=g)), (n,), generator=g).double()
        key[torch.rand(n, generator=g) < 0.2] = -math.inf  # ineligible weights
        priority = torch.randint(-3, int(torch.randint(-2, 40, (1,), generator=g)), (n,), generator=g)
        for n_keep in {0, 1, n // 3, n // 2, n - 1, n, n + 1}:
            for p in (None, priority):
                assert torch.equal(keep_top(key, n_keep, p), _keep_top_by_sorting(key, n_keep, p)), (trial, n_keep)


def test_kth_smallest_is_the_order_statistic_with_inf_and_ties():
    g = torch.Generator().manual_seed(1)
    for trial in range(100):
        n = int(torch.randint(1, 300, (1,), generator=g))
        values = torch.randint(-2, int(torch.randint(-1, 50, (1,), generator=g)), (n,), generator=g).double()
        values[torch.rand(n, generator=g) < float(torch.rand(1, generator=g))] = -math.inf
        values[values == 0] = -0.0 if trial % 2 else 0.0
        ints = torch.randint(-(2 ** 62), 2 ** 62, (n,), generator=g)
        for k in {1, n // 3 + 1, n // 2 + 1, n}:
            assert kth_smallest(values, k) == sorted(values.tolist())[k - 1], (trial, k)
            assert kth_smallest(ints, k) == sorted(ints.tolist())[k - 1]


def test_layer_order_does_not_decide_which_tied_weights_survive():
    g = torch.Generator().manual_seed(0)
    scores = {name: torch.randint(0, 3, shape, generator=g).double()
              for name, shape in [("a", (30, 4)), ("b", (50,)), ("c", (7, 3, 3))]}
    reordered = {name: scores[name] for name in ("c", "a", "b")}
    for keep in ("highest", "lowest"):
        for sparsity in (0.3, 0.5, 0.9):
            x = global_mask(scores, sparsity, keep=keep, seed=1)
            y = global_mask(reordered, sparsity, keep=keep, seed=1)
            assert all(torch.equal(x[k], y[k]) for k in scores), (keep, sparsity)


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


def test_synflow_iterative_avoids_collapse_better_than_one_shot():
    model = models.build("mnist1d_mlp", seed=0)
    few = pruning.prune(model, "synflow", 0.99, iterations=1)
    many = pruning.prune(model, "synflow", 0.99, iterations=20)
    assert many.iterations == 20 and pruning.method("synflow").iterations == 100
    assert abs(many.density - 0.01) < 1e-3 and abs(few.density - 0.01) < 1e-3
    # iterative pruning avoids layer collapse better: the smallest layer density is larger
    min_few = min(m.float().mean().item() for m in few.masks.values())
    min_many = min(m.float().mean().item() for m in many.masks.values())
    assert min_many >= min_few


def record_rounds(model, method, sparsity, **kw):
    rounds = []
    result = pruning.prune(model, method, sparsity, on_round=lambda k, sc, m: rounds.append((k, sc, m)), **kw)
    return result, rounds


@pytest.mark.parametrize("invert", [False, True])
def test_synflow_rounds_are_nested_follow_d_k_over_n_and_never_revive(invert):
    # inverted, the rounds after the output layer empties score every eligible weight exactly 0,
    # the kept end: an implementation that let pruned weights (score 0 too) compete again would
    # revive some of them through these zero-score ties (the non-inverted case checks the schedule)
    model = models.build("mnist1d_mlp", seed=0)
    n, sparsity = 20, 0.99
    result, rounds = record_rounds(model, "synflow", sparsity, iterations=n, invert=invert)
    total = sum(w.numel() for w in models.prunable(model).values())
    assert [k for k, _, _ in rounds] == list(range(1, n + 1))
    previous = None
    zero_ties = 0
    for k, scores, masks in rounds:
        expected = n_removed(1 - (1 - sparsity) ** (k / n) if k < n else sparsity, total)
        assert sum(int((~m).sum()) for m in masks.values()) == expected, k
        if previous is not None:
            assert all(torch.equal(masks[name] & previous[name], masks[name]) for name in masks), f"revived at {k}"
            zero_ties += sum(int(((scores[name] == 0) & previous[name]).sum()) for name in masks)
        previous = masks
    assert zero_ties > 0 or not invert  # the revival trap was really there
    assert all(torch.equal(result.masks[name], previous[name]) for name in previous)
    torch.testing.assert_close(result.scores, rounds[0][1], rtol=0, atol=0)  # dense round-1 scores
    torch.testing.assert_close(result.final_scores, rounds[-1][1], rtol=0, atol=0)


def test_one_shot_results_have_no_final_scores_and_reject_rounds():
    model = models.build("mnist1d_mlp", seed=0)
    assert pruning.prune(model, "magnitude", 0.5).final_scores is None
    assert pruning.prune(model, "synflow", 0.5, iterations=1).final_scores is None
    assert pruning.prune(model, "magnitude", 0.5, iterations=1).iterations == 1
    with pytest.raises(ValueError, match=r"'snip' is one-shot: iterations applies to iterative methods only "
                                         r"\(synflow\), got iterations=5"):
        pruning.prune(model, "snip", 0.5, data_for((1, 40)), iterations=5)
    with pytest.raises(ValueError, match="iterations must be an integer ≥ 1, got 0"):
        pruning.prune(model, "synflow", 0.5, iterations=0)


def bn_mlp(seed=0, dtype=torch.float64):
    """Linear → BatchNorm1d → ReLU → Linear with signed γ/β/biases and non-trivial running stats."""
    g = torch.Generator().manual_seed(seed)
    net = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3)).to(dtype)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=dtype))
        net[1].running_mean.copy_(torch.randn(6, generator=g, dtype=dtype) * 3)
        net[1].running_var.copy_(torch.rand(6, generator=g, dtype=dtype) + 0.5)
    net.input_shape = (4,)
    return net


def test_synflow_on_a_bn_network_matches_the_closed_form_in_eval_mode():
    # independent reference: R = 1ᵀ(|W2| relu(|γ|(|W1|1 + |b1| - μ)/√(v+ε) + |β|) + |b2|), running stats μ, v
    net = bn_mlp()
    w1, b1, bn, w2 = net[0].weight.abs(), net[0].bias.abs(), net[1], net[3].weight.abs()
    gamma, beta = bn.weight.abs(), bn.bias.abs()
    scale = gamma / torch.sqrt(bn.running_var + bn.eps)
    with torch.no_grad():  # units 1, 3, 5: running mean above the all-ones pre-activation → ReLU off
        z = w1.sum(1) + b1
        bn.running_mean.copy_(torch.where(torch.arange(6) % 2 == 1, z + beta / scale + 1.0, z / 2))
    u = scale * (w1.sum(1) + b1 - bn.running_mean) + beta
    assert (u < 0).any() and (u > 0).any()  # the ReLU and the running mean both matter here
    h = u.clamp(min=0)
    dz = w2.sum(0) * (u > 0).double() * scale  # ∂R/∂z for z = |W1| 1 + |b1|
    expected = {"0.weight": w1 * dz[:, None], "3.weight": w2 * h[None, :]}
    scores = pruning.score(net, "synflow")
    assert set(scores) == set(expected)
    for name in expected:
        torch.testing.assert_close(scores[name], expected[name].detach(), rtol=1e-12, atol=0)
    assert net.training  # the caller's model keeps its mode


def chunked_bn_loss(params, net, x, y, chunk, temperature):
    """Mean CE over chunks, BatchNorm with each chunk's batch statistics (train mode), written out."""
    w1, b1, gamma, beta, w2, b2 = params
    total = 0.0
    for start in range(0, len(y), chunk):
        xc, yc = x[start:start + chunk], y[start:start + chunk]
        z = xc @ w1.T + b1
        mean, var = z.mean(0), z.var(0, unbiased=False)
        h = torch.relu((z - mean) / torch.sqrt(var + net[1].eps) * gamma + beta)
        total = total + F.cross_entropy((h @ w2.T + b2) / temperature, yc) * len(yc) / len(y)
    return total


@pytest.mark.parametrize("method", ["snip", "grasp", "grasp_abs"])
def test_snip_and_grasp_score_a_bn_network_in_train_mode_chunk_by_chunk(method):
    net = bn_mlp(seed=1)
    g = torch.Generator().manual_seed(2)
    x, y = torch.randn(12, 4, generator=g, dtype=torch.float64), torch.arange(12) % 3
    chunk = 5  # chunks of 5, 5, 2: each with its own batch statistics
    params = [t.detach().clone().requires_grad_(True) for t in
              (net[0].weight, net[0].bias, net[1].weight, net[1].bias, net[3].weight, net[3].bias)]
    before = {k: v.clone() for k, v in net.state_dict().items()}
    scores = pruning.score(net, method, (x, y), chunk_size=chunk)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # running stats untouched
    if method == "snip":
        grads = torch.autograd.grad(chunked_bn_loss(params, net, x, y, chunk, 1.0), params)
        expected = {"0.weight": (params[0] * grads[0]).abs(), "3.weight": (params[4] * grads[4]).abs()}
        rtol = 1e-10
    else:
        T = pruning.grasp.TEMPERATURE

        def grad_w(p):
            out = torch.autograd.grad(chunked_bn_loss(p, net, x, y, chunk, T), p)
            return out[0], out[4]

        g1, g2 = grad_w(params)
        eps = 1e-3 / max(g1.abs().max().item(), g2.abs().max().item())

        def shifted(sign):
            p = [t.detach().clone() for t in params]
            p[0] += sign * eps * g1
            p[4] += sign * eps * g2
            return grad_w([t.requires_grad_(True) for t in p])

        (p1, p2), (m1, m2) = shifted(1), shifted(-1)
        hg1, hg2 = (p1 - m1) / (2 * eps), (p2 - m2) / (2 * eps)
        expected = {"0.weight": -(params[0] * hg1), "3.weight": -(params[4] * hg2)}
        if method == "grasp_abs":
            expected = {k: v.abs() for k, v in expected.items()}
        rtol = 1e-4
    for name, e in expected.items():
        torch.testing.assert_close(scores[name], e.detach(), rtol=rtol, atol=1e-3 * e.abs().max().item() * rtol)


class Reordered(nn.Module):
    """A 3-layer MLP whose layers are registered in ``order`` but always applied first → last."""

    def __init__(self, source, order):
        super().__init__()
        for name in order:
            self.add_module(name, copy.deepcopy(getattr(source, name)))
        self.input_shape = source.input_shape

    def forward(self, x):
        return self.last(torch.relu(self.middle(torch.relu(self.first(x)))))


def three_layer_mlp():
    net = nn.Module()
    net.first, net.middle, net.last = nn.Linear(20, 30), nn.Linear(30, 30), nn.Linear(30, 4)
    net.input_shape = (20,)
    models.initialize(net, torch.Generator().manual_seed(0))
    return net


def test_inverted_synflow_is_not_decided_by_parameter_order_and_is_flagged_disconnected():
    # inverted SynFlow empties the small, high-flow output layer within a few rounds; from then on
    # every eligible weight scores 0 and the tie rule decides. It must not depend on layer order.
    source = three_layer_mlp()
    a = Reordered(source, ["first", "middle", "last"])
    b = Reordered(source, ["last", "middle", "first"])
    assert list(models.prunable(a)) != list(models.prunable(b))
    ra = pruning.prune(a, "synflow", 0.6, iterations=10, invert=True, seed=7)
    rb = pruning.prune(b, "synflow", 0.6, iterations=10, invert=True, seed=7)
    for name in ra.masks:
        assert torch.equal(ra.masks[name], rb.masks[name]), name
    densities = {n: m.float().mean().item() for n, m in ra.masks.items()}
    assert densities["last.weight"] == 0 and densities["first.weight"] > 0.2 and densities["middle.weight"] > 0.2
    conn = pruning.connectivity(a, ra.masks)
    assert conn.disconnected and conn.empty_layers == ("last.weight",) and not conn.connected
    assert "last.weight" in conn.reason and "SynFlow R = 0" in conn.reason
    assert not pruning.connectivity(a, pruning.prune(a, "synflow", 0.6, iterations=10).masks).disconnected


def test_connectivity_finds_a_cut_without_an_empty_layer_and_passes_a_residual_bypass():
    net = Reordered(three_layer_mlp(), ["first", "middle", "last"])
    masks = {n: torch.ones_like(w, dtype=torch.bool) for n, w in models.prunable(net).items()}
    masks["middle.weight"][:, :] = False
    masks["middle.weight"][0, 1] = True  # a single kept weight ...
    masks["first.weight"][1, :] = False  # ... whose input unit receives nothing
    conn = pruning.connectivity(net, masks)
    assert conn.empty_layers == () and not conn.connected and conn.disconnected
    masks["first.weight"][1, 0] = True
    assert not pruning.connectivity(net, masks).disconnected
    # ResNet: an empty conv in a residual branch leaves the shortcut: connected, but flagged
    resnet = models.build("resnet20", seed=0)
    masks = {n: torch.ones_like(w, dtype=torch.bool) for n, w in models.prunable(resnet).items()}
    masks["blocks.1.conv2.weight"][:] = False
    conn = pruning.connectivity(resnet, masks)
    assert conn.connected and conn.disconnected and conn.reason == "layers at density 0: blocks.1.conv2.weight"


def test_random_scores_are_drawn_on_the_cpu_and_moved_to_the_device():
    # the meta device stands in for a GPU: a draw made with a CPU generator and moved works,
    # a draw on the device itself (what a CUDA generator would need) never happens
    meta = models.build("mnist1d_mlp", seed=0).to("meta")
    with DrawRecorder() as rec:
        scores = pruning.score(meta, "random", generator=seeding.generator(3, "random_score"))
    assert all(s.device.type == "meta" for s in scores.values())
    assert rec.draws and rec.devices == {"cpu"}
    cpu = pruning.score(models.build("mnist1d_mlp", seed=0), "random", generator=seeding.generator(3, "random_score"))
    assert all(s.device.type == "cpu" for s in cpu.values())
    fake_cuda = types.SimpleNamespace(device=torch.device("cuda"))
    with pytest.raises(ValueError, match="must draw from a CPU generator"):
        pruning.score(meta, "random", generator=fake_cuda)
    with pytest.raises(ValueError, match="must draw from a CPU generator"):
        pruning.prune(meta, "random", 0.5, generator=fake_cuda)


def test_tie_priorities_are_drawn_on_the_cpu_per_layer_name():
    scores = {"a": torch.zeros(40), "b": torch.zeros(5, 6)}
    with DrawRecorder() as rec:
        p = tie_priority(scores, 2)
    assert len(rec.draws) == 2 and rec.devices == {"cpu"} and p.device.type == "cpu"
    alone = tie_priority({"b": scores["b"]}, 2)
    assert torch.equal(p[40:], alone)  # layer b's priorities do not depend on the layers before it
