"""RunSpec: everything that determines one run, and its content hash."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from paistats.store.grid import canonical_sparsity
from zoo_builder.registry import unknown_choice_message
from zoo_builder.training.recipes import Recipe, get as get_recipe

DENSE = "dense"


@dataclass(frozen=True)
class RunSpec:
    """One trained network of the zoo.

    Attributes
    ----------
    arch, dataset, method : str
        Registered names. ``method`` is ignored when ``sparsity == 0`` (dense baseline).
    variant : {"original", "shuffle", "reinit", "invert"}
    sparsity : float in [0, 1)
        Fraction of prunable weights removed.
    seed : int
        Replicate seed (init, data order, scoring batch, shuffle/reinit draws: separate streams).
    recipe : Recipe
        Training hyper-parameters (a registered name is accepted and resolved).
    per_class : int
        Scoring examples per class for data-dependent methods.
    iterations : int or None
        Pruning rounds; None = the method's default (SynFlow 100, others 1).
    amp : bool
        Train under bf16 autocast. Part of the identity (and hash): a zoo never mixes bf16 and
        float32 runs under one spec.
    """

    arch: str
    dataset: str
    method: str
    variant: str = "original"
    sparsity: float = 0.0
    seed: int = 0
    recipe: Recipe = field(default="smoke")  # type: ignore[assignment]
    per_class: int = 10
    iterations: int | None = None
    amp: bool = False

    def __post_init__(self):
        from zoo_builder.datasets import DATASETS
        from zoo_builder.models import ARCHITECTURES
        from zoo_builder.pruning import METHODS, masks
        from zoo_builder.variants import check_variant

        ARCHITECTURES.get(self.arch)
        DATASETS.get(self.dataset)
        METHODS.get(self.method)
        check_variant(self.variant)
        object.__setattr__(self, "sparsity", canonical_sparsity(masks.check_sparsity(self.sparsity)))
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        object.__setattr__(self, "recipe", get_recipe(self.recipe))
        if self.per_class < 1:
            raise ValueError(f"per_class must be ≥ 1, got {self.per_class!r}")
        if self.iterations is not None:
            from zoo_builder.pruning import check_iterations

            check_iterations(self.method, self.iterations)  # one line: ≥ 1, and one-shot methods take 1
        if not isinstance(self.amp, bool):
            raise ValueError(f"amp must be True or False, got {self.amp!r}")

    @property
    def entry(self) -> str:
        """Zoo entry name ``{arch}-{dataset}-{method}``."""
        return f"{self.arch}-{self.dataset}-{self.method}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["recipe"] = self.recipe.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RunSpec":
        d = dict(d)
        allowed = set(cls.__dataclass_fields__)
        unknown = set(d) - allowed
        if unknown:
            raise ValueError(unknown_choice_message("run-spec field", sorted(unknown)[0], sorted(allowed)))
        if isinstance(d.get("recipe"), dict):
            r = dict(d["recipe"])
            r["milestones"] = tuple(r.get("milestones", ()))
            d["recipe"] = Recipe(**r)
        return cls(**d)

    @property
    def hash(self) -> str:
        """16-hex-digit SHA-256 of the canonical JSON of every field (stable across processes)."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":")).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    @property
    def pruning_key(self) -> tuple:
        """What the scoring depends on (shared by the variants of one pruning)."""
        return (self.arch, self.dataset, self.method, self.sparsity, self.seed, self.per_class,
                self.iterations, self.recipe.batch_size)
