"""Exception classes of paistats: one clear line each, subclassing ``ValueError`` (bad input)
or ``OSError`` (bad or missing bytes on disk).

Every class derives from :class:`ZooError`, so ``except paistats.ZooError`` catches them all.
"""
from __future__ import annotations


class ZooError(Exception):
    """Base class of every paistats zoo error. Messages are a single line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split("\n")))

    def __str__(self) -> str:  # OSError formats args its own way; keep the one line
        return self.args[0] if self.args else ""


class InvalidNameError(ZooError, ValueError):
    """An entry name that is empty, has a path separator, ``..`` or characters outside ``[A-Za-z0-9_.-]``."""


class UnknownEntryError(ZooError, ValueError):
    """No entry, alias or architecture of that name in the zoo (the message lists close matches)."""


class UnsupportedFormatError(ZooError, ValueError):
    """The entry was written in a zoo format version this paistats cannot read."""


class GridError(ZooError, ValueError):
    """A run does not fit the entry's planned grid, or conflicts with what is already planned."""


class IncompleteRunError(ZooError, ValueError):
    """The requested (variant, sparsity, seed) has not been completely written."""


class StoreError(ZooError, OSError):
    """Bad or missing bytes on disk."""


class ZooNotFoundError(StoreError):
    """No zoo configured or the zoo directory does not exist."""


class TruncatedStoreError(StoreError):
    """An entry whose metadata is missing or unreadable (interrupted copy or download)."""


class CorruptChunkError(StoreError):
    """A data file that cannot be decoded (bytes changed or truncated)."""


class MissingChunkError(StoreError):
    """A data file listed in the entry's manifest is missing."""


class ManifestError(StoreError):
    """The entry has no usable ``manifest.json`` (not finalized)."""


__all__ = [
    "CorruptChunkError", "GridError", "IncompleteRunError", "InvalidNameError", "ManifestError",
    "MissingChunkError", "StoreError", "TruncatedStoreError", "UnknownEntryError",
    "UnsupportedFormatError", "ZooError", "ZooNotFoundError",
]
