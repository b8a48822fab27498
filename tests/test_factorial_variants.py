"""shuffle_kept and permute_kept: the 2 × 2 design separating the mask's layout from the kept values."""
import pytest
import torch

from paistats.store import layout
from zoo_builder import models, pruning, seeding, variants

LAYERS_SEED = 4


@pytest.fixture(scope="module")
def pruned():
    model = models.build("mnist1d_mlp", seed=LAYERS_SEED)
    return model, pruning.prune(model, "magnitude", 0.8)


def kept_values(model, masks):
    w = models.prunable(model)
    return {n: torch.sort(w[n].detach()[masks[n]]).values for n in masks}


@pytest.mark.parametrize("variant", ["shuffle_kept", "permute_kept"])
def test_kept_counts_and_kept_multiset_equal_the_originals(pruned, variant):
    model, result = pruned
    ref_masks, ref_start = variants.apply("original", result, model, seed=LAYERS_SEED)
    masks, start = variants.apply(variant, result, model, seed=LAYERS_SEED)
    ref, got = kept_values(ref_start, ref_masks), kept_values(start, masks)
    for n in ref_masks:
        assert int(masks[n].sum()) == int(ref_masks[n].sum()), n
        assert torch.equal(got[n], ref[n]), f"{variant}: kept values of {n} are not original's multiset"
    # non-prunable parameters (biases) start from the scored initialization
    prunable = set(models.prunable_names(model))
    state = start.state_dict()
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items() if k not in prunable)


def test_permute_kept_keeps_the_mask_and_moves_values_only_among_kept_positions(pruned):
    model, result = pruned
    masks, start = variants.apply("permute_kept", result, model, seed=LAYERS_SEED)
    w0, w1 = models.prunable(model), models.prunable(start)
    for n, m in result.masks.items():
        assert torch.equal(masks[n], m)
        assert torch.equal(w1[n][~m], w0[n][~m])  # pruned positions untouched
        moved = (w1[n][m] != w0[n][m]).float().mean().item()
        assert moved > 0.9, f"{n}: only {moved:.0%} of the kept values moved"


def test_shuffle_kept_has_shuffles_mask_and_each_value_moves_with_its_mask_entry(pruned):
    model, result = pruned
    masks, start = variants.apply("shuffle_kept", result, model, seed=LAYERS_SEED)
    shuffled, _ = variants.apply("shuffle", result, model, seed=LAYERS_SEED)
    w0, w1 = models.prunable(model), models.prunable(start)
    for n, m in result.masks.items():
        assert torch.equal(masks[n], shuffled[n]), f"{n}: shuffle_kept's mask is not shuffle's (unpaired)"
        perm = variants.shuffle_permutation(n, m.numel(), LAYERS_SEED)
        # new position i holds the value of old position perm[i], and i is kept iff perm[i] was kept
        assert torch.equal(w1[n].flatten(), w0[n].flatten()[perm])
        assert torch.equal(masks[n].flatten(), m.flatten()[perm])


@pytest.mark.parametrize("variant", ["shuffle_kept", "permute_kept"])
def test_stored_start_variants_are_deterministic(pruned, variant):
    model, result = pruned
    (m1, s1), (m2, s2) = (variants.apply(variant, result, model, seed=7) for _ in range(2))
    assert all(torch.equal(m1[n], m2[n]) for n in m1)
    assert all(torch.equal(v, s2.state_dict()[k]) for k, v in s1.state_dict().items())
    _, s3 = variants.apply(variant, result, model, seed=8)
    assert not all(torch.equal(v, s3.state_dict()[k]) for k, v in s1.state_dict().items())


def test_permute_kept_stream_is_its_own_and_documented():
    assert "permute_kept" in seeding.STREAMS and "permute_kept" in seeding.STREAMS_DOC
    assert "shuffle_kept" in seeding.STREAMS_DOC
    a = variants.kept_permutation("fc.weight", 50, 3)
    assert torch.equal(a, torch.randperm(50, generator=seeding.generator(3, "permute_kept", "fc.weight")))


def test_store_layout_agrees_with_the_registry():
    stored = tuple(v for v in variants.names() if variants.get(v).stored_start)
    assert stored == layout.STORED_START_VARIANTS
    assert tuple(v for v in variants.names() if variants.get(v).reinit) == layout.REINIT_VARIANTS
    assert set(variants.names()) <= set(layout.VARIANT_ORDER)
    assert {v: layout.start_source(v) for v in variants.FACTORIAL} == {
        "original": "init", "shuffle": "init", "reinit": "reinit", "shuffle_kept": "start", "permute_kept": "start"}


def test_a_variant_cannot_move_values_without_a_shuffle_or_redraw_and_move():
    with pytest.raises(ValueError, match="move_values needs shuffle"):
        variants.Variant("x", move_values=True)
    with pytest.raises(ValueError, match="reinit draws fresh values"):
        variants.Variant("x", reinit=True, permute_kept=True)


def test_factorial_preset_is_the_issue_grid_and_fits_the_time_budget():
    from analysis.reproduce import estimate_minutes
    from zoo_builder import plan, presets

    p = plan.from_config(presets.load("factorial"))
    cells = {(s.arch, s.dataset, s.recipe.name, s.method, s.variant, s.sparsity) for s in p.specs}
    assert cells == {("lenet300", "mnist", "lenet_mnist_cpu", m, v, s)
                     for m in ("magnitude", "snip", "grasp", "synflow", "random")
                     for v in variants.FACTORIAL for s in (0.9, 0.98)}
    assert {s.seed for s in p.specs} == set(range(5)) and len(p) == 250
    # every pruning task holds the five variants (scored once), shuffle and shuffle_kept together
    assert all([s.variant for s in t.specs] == list(variants.FACTORIAL) for t in p.tasks)
    runs, minutes = estimate_minutes(presets.get("factorial"), 2)
    assert runs == 250 and minutes <= 15  # plan.py calibrated on mini (see CPU_IMAGES_PER_CORE_S)
