"""The FDRC21 ablations: shuffle, reinit, invert."""
import pytest
import torch
import torch.nn as nn
from scipy import stats

from zoo_builder import models, presets, pruning, variants

from _draws import DrawRecorder


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
    with pytest.raises(ValueError, match=r"unknown variant 'shufle'.*Did you mean 'shuffle'.*original, shuffle, "
                                         r"reinit, invert, invert_shuffle, invert_reinit, shuffle_kept, "
                                         r"permute_kept"):
        variants.apply("shufle", result, model, seed=0)


def test_registry_composes_mask_source_and_randomization():
    assert variants.VARIANTS == ("original", "shuffle", "reinit", "invert")  # what "variants: all" builds
    assert variants.names() == list(variants.VARIANTS) + ["invert_shuffle", "invert_reinit", "shuffle_kept",
                                                          "permute_kept"]
    table = {name: (v.inverted, v.shuffle, v.reinit, v.move_values, v.permute_kept)
             for name in variants.names() for v in [variants.get(name)]}
    assert table == {"original": (False, False, False, False, False), "shuffle": (False, True, False, False, False),
                     "reinit": (False, False, True, False, False), "invert": (True, False, False, False, False),
                     "invert_shuffle": (True, True, False, False, False),
                     "invert_reinit": (True, False, True, False, False),
                     "shuffle_kept": (False, True, False, True, False),
                     "permute_kept": (False, False, False, False, True)}


def test_invert_shuffle_and_invert_reinit_randomize_the_inverted_mask(pruned):
    model, result = pruned
    inverted = result.invert().masks
    masks, start = variants.apply("invert_shuffle", result, model, seed=4)
    expected = variants.shuffle_masks(inverted, 4)
    assert all(torch.equal(masks[n], expected[n]) for n in masks)
    assert all(int(masks[n].sum()) == int(inverted[n].sum()) for n in masks)  # the inverted layer counts
    assert any(int(masks[n].sum()) != int(result.masks[n].sum()) for n in masks)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in start.state_dict().items())
    masks, start = variants.apply("invert_reinit", result, model, seed=4)
    assert all(torch.equal(masks[n], inverted[n]) for n in masks)
    ref = models.build("resnet20", seed=4, stream="reinit").state_dict()
    assert all(torch.equal(v, ref[k]) for k, v in start.state_dict().items())


def test_inversion_is_computed_once_per_pruning():
    model = models.build("mnist1d_mlp", seed=0)
    result = pruning.prune(model, "synflow", 0.9, iterations=5)
    assert result.invert() is result.invert() and result.invert().invert() is result


def permutation(masks, seed):
    """The shuffle's permutation of every layer, read off by shuffling position indices."""
    return variants.shuffle_masks({n: torch.arange(m.numel()).reshape(m.shape) for n, m in masks.items()}, seed)


def test_shuffle_permutation_depends_only_on_seed_and_layer():
    # the documented paired design: one permutation per (seed, layer), shared by every method,
    # sparsity and mask source, so shuffled masks are nested across sparsities
    model = models.build("mnist1d_mlp", seed=2)
    data = (torch.randn(30, 1, 40, generator=torch.Generator().manual_seed(0)), torch.arange(30) % 10)
    perm = permutation(models.prunable(model), 2)
    for method in ("magnitude", "snip"):
        for sparsity in (0.5, 0.9):
            result = pruning.prune(model, method, sparsity, data if method == "snip" else None)
            shuffled = variants.shuffle_masks(result.masks, 2)
            for n, m in result.masks.items():
                assert torch.equal(shuffled[n].flatten(), m.flatten()[perm[n].flatten()]), (method, sparsity, n)
    last = "out.weight" if "out.weight" in perm else list(perm)[-1]
    alone = permutation({last: models.prunable(model)[last]}, 2)
    assert torch.equal(alone[last], perm[last])  # independent of the other layers
    dense = variants.shuffle_masks(pruning.prune(model, "magnitude", 0.5).masks, 2)
    sparse = variants.shuffle_masks(pruning.prune(model, "magnitude", 0.9).masks, 2)
    assert all(torch.equal(sparse[n] & dense[n], sparse[n]) for n in dense)
    assert not torch.equal(permutation(models.prunable(model), 3)[last], perm[last])


def test_shuffle_and_redraw_draw_on_the_cpu_and_move_to_the_device():
    # the meta device stands in for a GPU: a draw made on the device would land on meta
    model = models.build("digits_cnn", seed=1)
    masks = pruning.prune(model, "magnitude", 0.7).masks
    meta_model = models.build("digits_cnn", seed=1).to("meta")
    with DrawRecorder() as rec:
        shuffled = variants.shuffle_masks({n: m.to("meta") for n, m in masks.items()}, 1)
        redrawn = variants.redraw(meta_model, 1)
    assert rec.draws and rec.devices == {"cpu"}
    assert all(m.device.type == "meta" for m in shuffled.values())
    assert all(p.device.type == "meta" for p in redrawn.parameters())
    # and the same draws as on the CPU
    cpu = variants.redraw(model, 1).state_dict()
    ref = models.build("digits_cnn", seed=1, stream="reinit").state_dict()
    assert all(torch.equal(v, ref[k]) for k, v in cpu.items())


def test_singh_liu_preset_is_their_grid_with_their_grasp_convention():
    cells = set()
    for g in presets.get("singh-liu")["grids"]:
        assert g["sparsities"] == [0.75] and g["seeds"] == 3
        for m in g["methods"]:
            for v in g["variants"]:
                cells.add((g["arch"], g["dataset"], g["recipe"], m, v))
    methods = ["magnitude", "random", "snip", "grasp", "grasp_abs", "synflow"]
    expected = {(a, d, r, m, v) for a, d, r in [("lenet300", "mnist", "lenet_mnist"),
                                                 ("resnet20", "cifar10", "openlth_cifar")]
                for m, v in [(m, v) for m in methods for v in ("original", "shuffle", "reinit")]
                + [("grasp", v) for v in ("invert", "invert_shuffle", "invert_reinit")]}
    assert cells == expected
    assert all(v in variants.names() for *_, v in cells)
    assert sum(g["dense"] for g in presets.get("singh-liu")["grids"]) == 2  # one dense baseline set per arch
