"""Turn a stored run of a zoo entry back into a runnable torch model: :func:`to_model`.

Defined in :mod:`paistats.checkpoint` (re-exported here, its older home): it reads the run with
paistats and imports torch and :mod:`zoo_builder.models` when called, so the two modules do not
import each other.
"""
from __future__ import annotations

from paistats.checkpoint import to_model

__all__ = ["to_model"]
