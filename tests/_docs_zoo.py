"""The zoo the documentation's examples run against (``tests/test_docs_examples.py``).

The docs speak of the mini zoo's names (``lenet300-snip``, ``lenet300-random``, ``zoo/lenet300-mnist-snip``)
and, for the inference example, of the smoke zoo's ``mnist1d_mlp``. This zoo holds entries of both names,
cut to what runs in well under a minute on 2 cores:

- ``lenet300-mnist-{snip,random}``: real MNIST, variants original / shuffle / reinit, sparsity 0.9, seeds
  0-2, recipe ``smoke`` with **0 epochs** (no training: the trained weights are the initial ones and the
  accuracy is the untrained network's, ≈ chance; every statistic and test still has its full shape);
- ``mnist1d_mlp-mnist1d-{magnitude,random}``: variants original / shuffle / reinit / invert, sparsities 0.5
  and 0.9, seeds 0-2, recipe ``smoke`` with 1 epoch.

Every entry is finalized with its stored statistics (``derived=True``; the random entries first, so the
others' stored ratios to random pruning exist), as the mini zoo is.
"""
from __future__ import annotations

from pathlib import Path

from paistats.vocabulary import FRANKLE_VARIANTS, RANDOM_PRUNER

SEEDS = (0, 1, 2)
#: (arch, dataset, methods, variants, sparsities, epochs) of each group of entries
GRIDS = (("lenet300", "mnist", ("snip", RANDOM_PRUNER), FRANKLE_VARIANTS[:3], (0.9,), 0),
         ("mnist1d_mlp", "mnist1d", ("magnitude", RANDOM_PRUNER), FRANKLE_VARIANTS, (0.5, 0.9), 1))


def specs():
    """Every run of the docs zoo, as a list of ``zoo_builder.RunSpec``."""
    from zoo_builder import RunSpec
    from zoo_builder.training.recipes import RECIPES

    out = []
    for arch, dataset, methods, variants, sparsities, epochs in GRIDS:
        recipe = RECIPES.get("smoke").with_(epochs=epochs)
        out += [RunSpec(arch, dataset, m, v, s, k, recipe)
                for m in methods for v in variants for s in sparsities for k in SEEDS]
    return out


def build(zoo: Path) -> Path:
    """Build and finalize the docs zoo in ``zoo`` (a new folder); returns ``zoo``."""
    from zoo_builder import run, store

    runs = specs()
    entries = store.plan_entries(zoo, runs)
    for spec in runs:
        store.write_run(zoo, run(spec))
    # random entries first: the other entries' stored distances take their ratios from them
    for entry in sorted(entries, key=lambda e: not e.endswith(f"-{RANDOM_PRUNER}")):
        store.finalize(zoo, entry, derived=True)
    return zoo
