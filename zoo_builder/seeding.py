"""Independent, reproducible random streams derived from one replicate seed.

Every random decision of a run (initial weights, re-drawn weights, data order, scoring batch,
random scores, mask shuffles) draws from its own ``torch.Generator`` seeded by hashing the
replicate seed with the stream's name, so changing one stream never shifts another.
"""
from __future__ import annotations

import hashlib

import torch

STREAMS = ("init", "reinit", "data_order", "augment", "score_batch", "random_score", "shuffle")


def derive_seed(seed: int, *names: object) -> int:
    """Return a 63-bit seed for the stream ``names`` of replicate ``seed`` (stable across versions)."""
    key = "/".join([str(int(seed)), *map(str, names)]).encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "little") & ((1 << 63) - 1)


def generator(seed: int, *names: object, device: str | torch.device = "cpu") -> torch.Generator:
    """A ``torch.Generator`` for stream ``names`` of replicate ``seed``."""
    g = torch.Generator(device=device)
    g.manual_seed(derive_seed(seed, *names))
    return g
