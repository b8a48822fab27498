"""The FDRC21 ablations: shuffle, reinit, invert."""
import pytest
import torch
import torch.nn as nn
from scipy import stats

from zoo_builder import models, pruning, variants


@pytest.fixture(scope="module")
def pruned():
    model = models.build("resnet20", seed=4)
    return model, pruning.prune(model, "magnitude", 0.8)


def test_shuffle_keeps_layer_counts_and_init_tensor(pruned):
    model, result = pruned
    masks, start = variants.apply("shuffle", result, model, seed=4)
    for name, m in result.masks.items():
        assert masks[name].shape == m.shape
        assert int(masks[name].sum()) == int(m.sum()), name
    changed = sum(int((masks[n] != m).sum()) for n, m in result.masks.items())
    assert changed > 0.2 * sum(m.numel() for m in result.masks.values())  # expected 2q(1-q) ≈ 0.29
    ref = model.state_dict()
    assert all(torch.equal(v, ref[k]) for k, v in start.state_dict().items())


def test_shuffle_is_a_uniform_permutation_within_each_layer(pruned):
    # magnitude keeps the large-|θ| tail; after a shuffle the kept values are a uniform random
    # subset of the layer: their |θ| distribution matches the whole layer's (KS test)
    model, result = pruned
    masks, start = variants.apply("shuffle", result, model, seed=4)
    w = models.prunable(start)["blocks.8.conv2.weight"].detach()
    kept = w[masks["blocks.8.conv2.weight"]].abs().numpy()
    assert stats.ks_2samp(kept, w.abs().flatten().numpy()).pvalue > 1e-3
    orig_kept = w[result.masks["blocks.8.conv2.weight"]].abs().numpy()
    assert stats.ks_2samp(orig_kept, w.abs().flatten().numpy()).pvalue < 1e-10


def test_reinit_keeps_masks_and_redraws_every_parameter_from_the_same_distribution(pruned):
    model, result = pruned
    masks, start = variants.apply("reinit", result, model, seed=4)
    assert all(torch.equal(masks[n], m) for n, m in result.masks.items())
    old, new = model.state_dict(), start.state_dict()
    for name, value in old.items():
        if value.dtype.is_floating_point and value.std() > 0:
            assert not torch.equal(value, new[name]), f"{name} was not redrawn"
            pvalue = stats.ks_2samp(value.flatten().numpy(), new[name].flatten().numpy()).pvalue
            assert pvalue > 1e-4, f"{name}: redraw differs in distribution (KS p={pvalue:.2g})"
    # the same per-layer (fan-in dependent) scale, not one global N(0, σ²)
    for name, w in models.prunable(start).items():
        assert w.std().item() == pytest.approx(models.prunable(model)[name].std().item(), rel=0.15)


def test_reinit_is_the_same_as_building_with_the_reinit_stream(pruned):
    model, result = pruned
    _, start = variants.apply("reinit", result, model, seed=4)
    ref = models.build("resnet20", seed=4, stream="reinit").state_dict()
    assert all(torch.equal(v, ref[k]) for k, v in start.state_dict().items())


def test_invert_keeps_the_lowest_scores(pruned):
    model, result = pruned
    masks, start = variants.apply("invert", result, model, seed=4)
    flat_scores = torch.cat([s.flatten() for s in result.scores.values()])
    kept = torch.cat([m.flatten() for m in masks.values()])
    assert flat_scores[kept].max() <= flat_scores[~kept].min()
    assert int(kept.sum()) == sum(int(m.sum()) for m in result.masks.values())


def test_original_returns_a_copy_not_the_scored_model(pruned):
    model, result = pruned
    masks, start = variants.apply("original", result, model, seed=4)
    assert start is not model
    assert all(torch.equal(masks[n], m) for n, m in result.masks.items())


def test_unknown_variant_names_the_choices(pruned):
    model, result = pruned
    with pytest.raises(ValueError, match=r"unknown variant 'shufle'.*Did you mean 'shuffle'.*original, shuffle, reinit, invert"):
        variants.apply("shufle", result, model, seed=0)
