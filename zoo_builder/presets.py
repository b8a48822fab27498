"""Named build configurations. Each preset is a plain mapping in the config-file schema
(:mod:`zoo_builder.config`), so a TOML/YAML file can describe any grid a preset does
(``python -m zoo_builder presets --show NAME`` prints one as YAML).

=================  ==========================================================================
``smoke``          mnist1d_mlp on mnist1d, recipe ``smoke`` (2 epochs), sparsities 0.5 / 0.9,
                   1 seed, all 6 methods × 4 variants + dense: 54 runs, seconds on a laptop.
                   The CI and test preset. SynFlow keeps its default 100 rounds (cheap here).
``tiny``           the ``smoke`` grid with 3 seeds: 162 runs, ≈ 2 min on 2 cores. The smallest zoo
                   the report's seed-level inference can use
                   (``python -m analysis reproduce --preset tiny``).
``mini``           (default) LeNet-300-100 on real MNIST, recipe ``lenet_mnist_cpu`` (3 epochs),
                   6 methods × 4 variants × sparsities 0.5 / 0.75 / 0.9 / 0.98 × 5 seeds + dense
                   baselines: 510 runs (480 pruned); the CPU zoo of the README.
``cpu-extra``      digits_cnn on digits (``digits_cpu``); mnist1d_mlp and mnist1d_cnn on mnist1d
                   (``mnist1d_cpu``) over the mini grid.
``singh-liu``      Singh & Liu's grid: LeNet-300-100 on MNIST (``lenet_mnist``, 16 epochs) and
                   ResNet-20 on CIFAR-10 (``openlth_cifar``) at 75 % sparsity; magnitude, random,
                   snip, grasp, grasp_abs, synflow × original / shuffle / reinit, plus grasp ×
                   invert / invert_shuffle / invert_reinit (their "GraSP" is this project's
                   inverted grasp); 3 seeds (they ran one) + dense: 162 runs. The LeNet half runs
                   on a CPU (``--only arch=lenet300``); ResNet needs CIFAR-10 and a GPU.
``factorial``      Issue 15's 2 × 2 design, mask {method's, shuffled} × values {method's kept values,
                   fresh}: LeNet-300-100 on real MNIST (``lenet_mnist_cpu``), magnitude, snip, grasp,
                   synflow and random (control) × original / shuffle / reinit / shuffle_kept /
                   permute_kept × sparsities 0.9 / 0.98 × 5 seeds, no dense baseline: 250 runs
                   (CPU; ``python -m analysis reproduce --preset factorial``).
``frankle-cifar10`` VGG-16 and ResNet-20 on CIFAR-10 (``openlth_cifar``), densities 0.8^k for
                   k = 1..20 (k = 0 is the dense baseline), 5 seeds, as Frankle et al. (2021).
=================  ==========================================================================
"""
from __future__ import annotations

import copy

from paistats.vocabulary import RANDOM_PRUNER, REFERENCE_VARIANT, STORED_START_VARIANTS
from zoo_builder.registry import unknown_choice_message

#: The config schema's "every registered name" (methods, variants); not a layer name.
ALL = "all"
SINGH_LIU_METHODS = ["magnitude", RANDOM_PRUNER, "snip", "grasp", "grasp_abs", "synflow"]
#: Singh & Liu's randomizations: the original mask, shuffled within layers, re-initialized.
SINGH_LIU_VARIANTS = [REFERENCE_VARIANT, "shuffle", "reinit"]
MINI_SPARSITIES = [0.5, 0.75, 0.9, 0.98]
FACTORIAL_METHODS = ["magnitude", "snip", "grasp", "synflow", RANDOM_PRUNER]
FACTORIAL_VARIANTS = SINGH_LIU_VARIANTS + list(STORED_START_VARIANTS)


def _smoke_grid(seeds: int) -> dict:
    """Every method and variant on mnist1d_mlp / mnist1d, recipe ``smoke``, sparsities 0.5 and 0.9."""
    return {"arch": "mnist1d_mlp", "dataset": "mnist1d", "recipe": "smoke",
            "methods": ALL, "variants": ALL, "sparsities": [0.5, 0.9], "seeds": seeds, "dense": True}


PRESETS: dict[str, dict] = {
    "smoke": {
        "name": "smoke",
        "description": "every method and variant on a tiny MLP and mnist1d, 1 seed: CI and tests",
        "grids": [_smoke_grid(1)],
    },
    "tiny": {
        "name": "tiny",
        "description": "the smoke grid with 3 seeds: the smallest zoo the report's seed-level inference can use",
        "grids": [_smoke_grid(3)],
    },
    "mini": {
        "name": "mini",
        "description": "LeNet-300-100 on MNIST, every method and variant, 4 sparsities, 5 seeds (CPU)",
        "grids": [{
            "arch": "lenet300", "dataset": "mnist", "recipe": "lenet_mnist_cpu",
            "methods": ALL, "variants": ALL, "sparsities": MINI_SPARSITIES, "seeds": 5, "dense": True,
        }],
    },
    "cpu-extra": {
        "name": "cpu-extra",
        "description": "small CNN/MLP zoos on digits and mnist1d over the mini grid (CPU)",
        "grids": [
            {"arch": "digits_cnn", "dataset": "digits", "recipe": "digits_cpu",
             "methods": ALL, "variants": ALL, "sparsities": MINI_SPARSITIES, "seeds": 3, "dense": True},
            {"arch": ["mnist1d_mlp", "mnist1d_cnn"], "dataset": "mnist1d", "recipe": "mnist1d_cpu",
             "methods": ALL, "variants": ALL, "sparsities": MINI_SPARSITIES, "seeds": 3, "dense": True},
        ],
    },
    "singh-liu": {
        "name": "singh-liu",
        "description": "Singh & Liu's grid: LeNet-300-100/MNIST and ResNet-20/CIFAR-10 at 75% sparsity, "
                       "original/shuffle/reinit, plus their GraSP convention (grasp invert/invert_shuffle/"
                       "invert_reinit)",
        "grids": [grid for arch, dataset, recipe in (("lenet300", "mnist", "lenet_mnist"),
                                                     ("resnet20", "cifar10", "openlth_cifar"))
                  for grid in (
                      # SL-code: methods magnitude, random, snip10, grasp10, graspabs10, synflow (100
                      # rounds), each as original, --randomize_layerwise, --reinitialize
                      {"arch": arch, "dataset": dataset, "recipe": recipe, "methods": SINGH_LIU_METHODS,
                       "variants": SINGH_LIU_VARIANTS, "sparsities": [0.75], "seeds": 3,
                       "dense": True},
                      # their grasp10 ran without --prune_highest: FDRC-code's inverted GraSP
                      {"arch": arch, "dataset": dataset, "recipe": recipe, "methods": ["grasp"],
                       "variants": ["invert", "invert_shuffle", "invert_reinit"], "sparsities": [0.75],
                       "seeds": 3, "dense": False},
                  )],
    },
    "factorial": {
        "name": "factorial",
        "description": "mask layout x kept values (issue 15): LeNet-300-100 on MNIST, 5 methods x original/shuffle/"
                       "reinit/shuffle_kept/permute_kept x sparsities 0.9, 0.98 x 5 seeds (CPU)",
        "grids": [{
            "arch": "lenet300", "dataset": "mnist", "recipe": "lenet_mnist_cpu",
            "methods": FACTORIAL_METHODS, "variants": FACTORIAL_VARIANTS, "sparsities": [0.9, 0.98],
            "seeds": 5, "dense": False,
        }],
    },
    "frankle-cifar10": {
        "name": "frankle-cifar10",
        "description": "Frankle et al. (2021): VGG-16 and ResNet-20 on CIFAR-10, densities 0.8^k, 5 seeds",
        "grids": [{
            "arch": ["vgg16", "resnet20"], "dataset": "cifar10", "recipe": "openlth_cifar",
            "methods": ALL, "variants": ALL, "sparsities": {"density_base": 0.8, "k": [1, 20]},
            "seeds": 5, "dense": True,
        }],
    },
}

DEFAULT = "mini"


def names() -> list[str]:
    """Every preset name, in the order of :data:`PRESETS`.

    Returns
    -------
    list of str
    """
    return list(PRESETS)


def get(name: str) -> dict:
    """A copy of preset ``name``'s configuration mapping.

    Parameters
    ----------
    name : str
        A preset name (:func:`names`).

    Returns
    -------
    dict
        The mapping in the config-file schema (:mod:`zoo_builder.config`).

    Raises
    ------
    ConfigError
        An unknown name (the message names the close matches).
    """
    if name not in PRESETS:
        from zoo_builder.config import ConfigError

        raise ConfigError(unknown_choice_message("preset", name, names()))
    return copy.deepcopy(PRESETS[name])


def load(name: str):
    """Preset ``name`` validated into a :class:`zoo_builder.config.BuildConfig`.

    Parameters
    ----------
    name : str
        A preset name (:func:`names`).

    Returns
    -------
    zoo_builder.config.BuildConfig
    """
    from zoo_builder.config import parse

    return parse(get(name), source=f"preset:{name}")
