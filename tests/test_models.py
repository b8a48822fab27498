"""Architectures: parameter counts, initializers, seeding, errors."""
import math

import pytest
import torch
import torch.nn as nn

from zoo_builder import models


def counts(model):
    total = sum(p.numel() for p in model.parameters())
    prunable = sum(w.numel() for w in models.prunable(model).values())
    return total, prunable


@pytest.mark.parametrize("arch, total, prunable", [
    ("lenet300", 266_610, 266_200),
    ("resnet20", 272_474, 270_896),
    ("vgg16", 14_728_266, 14_715_584),
])
def test_parameter_counts_match_openlth(arch, total, prunable):
    assert counts(models.build(arch)) == (total, prunable)


def test_vgg16_layer_sizes_match_reference():
    sizes = [w.numel() for w in models.prunable(models.build("vgg16")).values()]
    assert sizes == [1728, 36864, 73728, 147456, 294912, 589824, 589824, 1179648] + [2359296] * 5 + [5120]


def test_resnet20_has_projection_shortcuts_and_prunes_them():
    names = list(models.prunable(models.build("resnet20")))
    shortcuts = [n for n in names if "shortcut" in n]
    assert len(names) == 22 and len(shortcuts) == 2


def test_input_size_follows_dataset():
    lenet = models.build("lenet300", "digits")
    assert lenet.fc[0].in_features == 64
    assert models.build("vgg11", "mnist")(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert models.build("resnet20", "cifar100")(torch.zeros(2, 3, 32, 32)).shape == (2, 100)
    assert models.build("mnist1d_cnn")(torch.zeros(2, 1, 40)).shape == (2, 10)
    assert models.build("digits_cnn")(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_prunable_is_every_conv_and_linear_weight_never_bias_or_bn():
    model = models.build("vgg11")
    names = list(models.prunable(model))
    assert names[0] == "features.0.weight" and names[-1] == "fc.weight"
    assert not any("bias" in n for n in names)
    bn_params = {id(p) for m in model.modules() if isinstance(m, nn.BatchNorm2d) for p in m.parameters()}
    assert not bn_params & {id(w) for w in models.prunable(model).values()}


def test_kaiming_normal_weights_and_uniform_bn_gamma():
    model = models.build("vgg16", seed=3)
    for name, w in models.prunable(model).items():
        fan_in = w[0].numel()
        if w.numel() > 100_000:  # std estimate within 1 % for large layers
            assert w.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.01), name
    gammas = torch.cat([m.weight.detach() for m in model.modules() if isinstance(m, nn.BatchNorm2d)])
    betas = torch.cat([m.bias.detach() for m in model.modules() if isinstance(m, nn.BatchNorm2d)])
    assert gammas.min() >= 0 and gammas.max() < 1 and abs(gammas.mean().item() - 0.5) < 0.02
    assert torch.all(betas == 0)


def test_same_seed_gives_identical_init_and_streams_differ():
    a = models.build("resnet20", seed=7).state_dict()
    b = models.build("resnet20", seed=7).state_dict()
    c = models.build("resnet20", seed=7, stream="reinit").state_dict()
    d = models.build("resnet20", seed=8).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["conv.weight"], c["conv.weight"])
    assert not torch.equal(a["conv.weight"], d["conv.weight"])


def test_unknown_arch_names_value_and_choices():
    with pytest.raises(ValueError, match=r"unknown architecture 'vgg17'.*Did you mean.*Valid choices: .*lenet300"):
        models.build("vgg17")


def test_model_with_nothing_prunable_is_rejected():
    with pytest.raises(ValueError, match="nothing prunable"):
        models.prunable(nn.Sequential(nn.ReLU(), nn.BatchNorm1d(3)))
