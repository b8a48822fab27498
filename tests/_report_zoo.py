"""A small real zoo for report tests: mnist1d_mlp, methods magnitude and random, every variant,
sparsities 0.5 and 0.9, three seeds, one training epoch (48 runs; ≈ 30 s on 2 idle cores)."""
from __future__ import annotations

from pathlib import Path

ARCH, DATA = "mnist1d_mlp", "mnist1d"
METHODS = ("magnitude", "random")
VARIANTS = ("original", "shuffle", "reinit", "invert")
SPARSITIES = (0.5, 0.9)


def build(zoo: Path, *, methods=METHODS, seeds=(0, 1, 2), variants=VARIANTS, epochs: int = 1) -> Path:
    from zoo_builder import RunSpec, run, store
    from zoo_builder.training.recipes import RECIPES

    recipe = RECIPES.get("smoke").with_(epochs=epochs)
    specs = [RunSpec(ARCH, DATA, m, v, s, k, recipe) for m in methods for v in variants for s in SPARSITIES
             for k in seeds]
    entries = store.plan_entries(zoo, specs)
    for spec in specs:
        store.write_run(zoo, run(spec))
    for entry in entries:
        store.finalize(zoo, entry)
    return zoo
