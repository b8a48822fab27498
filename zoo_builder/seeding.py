"""Independent, reproducible random streams derived from one replicate seed.

Every random decision of a run draws from its own CPU ``torch.Generator`` seeded by hashing the
replicate seed with the stream's name (and, for per-layer streams, the layer's name), so changing
one stream never shifts another and a spec draws the same numbers on any device: draws are made
on the CPU and the results moved to the run's device.

The streams depend on the replicate seed only, never on the method, sparsity or variant: a
paired design (see :data:`STREAMS_DOC`, also stored in every zoo entry's attributes).
"""
from __future__ import annotations

import hashlib

import torch

#: Stream names. ``shuffle``, ``tie_break`` and ``permute_kept`` are per layer:
#: ``generator(seed, stream, layer_name)``.
STREAMS = ("init", "reinit", "data_order", "augment", "score_batch", "random_score", "shuffle", "tie_break",
           "permute_kept")

#: What the shared streams mean for an analysis (the zoo stores this text as ``random_streams``).
STREAMS_DOC = (
    "Paired design. Every seeded draw of a run comes from a CPU torch.Generator seeded by "
    "sha256(seed/stream[/layer]) and is moved to the device, so a spec gives the same draws on any "
    "device. Streams depend on the replicate seed (and layer) only, never on method, sparsity or "
    "variant: at one seed, every method and sparsity shares the initial weights (init), the redrawn "
    "weights of the reinit variants (reinit), the data order and augmentation (data_order, augment), "
    "the scoring examples (score_batch), the random method's scores (random_score), the tie-break "
    "order among equal scores (tie_break, per layer) and each layer's shuffle permutation (shuffle, "
    "per layer; shuffle and shuffle_kept use the same permutation, shuffle_kept moving each initial weight with "
    "its mask entry) and permute_kept's order of a layer's kept values (permute_kept, per layer: a uniform "
    "permutation of the layer's kept count, so it differs between sparsities). Hence random-method masks and shuffled masks are nested across sparsities, and "
    "shuffled masks of different methods share positions at one seed. Comparisons between methods "
    "or sparsities at one seed are paired; the seed is the unit of replication."
)


def derive_seed(seed: int, *names: object) -> int:
    """Return a 63-bit seed for the stream ``names`` of replicate ``seed`` (stable across versions)."""
    key = "/".join([str(int(seed)), *map(str, names)]).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "little") & ((1 << 63) - 1)


def generator(seed: int, *names: object) -> torch.Generator:
    """A CPU ``torch.Generator`` for stream ``names`` of replicate ``seed``.

    Always on the CPU: draw there and move the result (``.to(device)``), so the numbers do not
    depend on the device the run uses.
    """
    g = torch.Generator(device="cpu")
    g.manual_seed(derive_seed(seed, *names))
    return g


def require_cpu(generator: torch.Generator, what: str) -> torch.Generator:
    """``generator`` if it is a CPU generator; a one-line ``ValueError`` otherwise."""
    if generator.device.type != "cpu":
        raise ValueError(f"{what} must draw from a CPU generator (got one on {generator.device}) so a spec "
                         "gives the same numbers on any device; use zoo_builder.seeding.generator(...)")
    return generator
