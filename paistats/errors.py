"""Exception classes of paistats: one clear line each, subclassing ``ValueError`` (bad input)
or ``OSError`` (bad or missing bytes on disk).

Every class derives from :class:`ZooError`, so ``except paistats.ZooError`` catches them all. This
module is the one public home of the errors a user catches (``paistats.errors.InferenceError``);
the packages that raise them re-export them (``paistats.InferenceError``,
``paistats.inference.InferenceError``, ``paistats.hub.HubError``, ``paistats.stats.StatsWarning``).

Messages show values as Python prints plain numbers (:func:`shown`): ``0.9``, never
``np.float64(0.9)``.
"""
from __future__ import annotations

import difflib
import numbers


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


class UnknownLabelError(ZooError, ValueError):
    """A selection the entry cannot serve: a variant, sparsity, seed, pruner or stage it does not
    have, or a node that is not a prunable tensor (the message lists what it has)."""


class InferenceError(ZooError, ValueError):
    """Input a test or regression cannot answer (too few seeds, missing reference, constant data,
    a formula that does not fit the table). One line, with the fix."""


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


class NotPrecomputedError(ZooError, LookupError):
    """``precomputed="require"`` and the stored statistics cannot serve the request (one line: why)."""


class UnknownMetricError(ZooError, ValueError):
    """A metric name that no registry holds (the message lists close matches and every name)."""


class HubError(ZooError, RuntimeError):
    """A Hub operation failed; the message is one line and never contains a token."""


class HubUnreachableError(HubError, ConnectionError):
    """The Hub could not be reached (and no usable cached copy exists)."""


class InvalidRepoIdError(HubError, ValueError):
    """A repo id that is not ``org/name`` (or a reference to a model / space repo)."""


class InvalidRevisionError(HubError, ValueError):
    """A revision that cannot name a branch, tag or commit (empty, ``..``, leading ``/``)."""


class StatsWarning(UserWarning):
    """A layer fully pruned, non-finite stored values, or too few seeds for a noise floor."""


def shown(value) -> str:
    """``value`` as a message shows it: NumPy scalars and arrays as plain Python numbers.

    Parameters
    ----------
    value : object
        A number, string, NumPy scalar or array, or a list / tuple / dict of them.

    Returns
    -------
    str
        Floats with ``:g`` (``0.9``, ``1e-05``), strings quoted (``'snip'``), sequences in
        brackets; ``np.float64(0.9)`` never appears.

    Examples
    --------
    >>> import numpy as np
    >>> shown([np.float64(0.5), np.str_("snip"), np.int64(3)])
    "[0.5, 'snip', 3]"
    """
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # NumPy scalar -> Python scalar, array -> nested list
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return f"{float(value):g}"
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{shown(k)}: {shown(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        inner = ", ".join(shown(v) for v in items)
        if isinstance(value, tuple):
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        return f"[{inner}]"
    return repr(value)


def unknown_choice(kind: str, value: object, choices) -> str:
    """One line naming an unknown value, its close matches (difflib) and every valid choice.

    The one "did you mean" message of the project: the command lines, the builder's registries and
    config, and the statistics registry all use it.

    Parameters
    ----------
    kind : str
        What the value is, in words ("preset", "--only method value", "distance").
    value : object
        The value given.
    choices : iterable
        The valid values (shown in the order given).

    Returns
    -------
    str
        ``unknown <kind> '<value>'. Did you mean '<close>'? Valid choices: a, b, c.`` (the
        "Did you mean" part only when a choice is close; the value as :func:`shown` prints it).
    """
    choices = [str(c) for c in choices]
    close = difflib.get_close_matches(str(value), choices, n=3)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"unknown {kind} {shown(value)}.{hint} Valid choices: {', '.join(choices)}."


__all__ = [
    "CorruptChunkError", "GridError", "HubError", "HubUnreachableError", "IncompleteRunError", "InferenceError",
    "InvalidNameError", "InvalidRepoIdError", "InvalidRevisionError", "ManifestError", "MissingChunkError",
    "NotPrecomputedError", "StatsWarning", "StoreError", "TruncatedStoreError", "UnknownEntryError",
    "UnknownLabelError", "UnknownMetricError", "UnsupportedFormatError", "ZooError", "ZooNotFoundError", "shown",
    "unknown_choice",
]
