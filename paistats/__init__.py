"""paistats: statistics over a precomputed zoo of networks pruned at initialization.

``import paistats`` imports nothing heavy: each public name loads its module on first use (loading
a zoo then imports numpy, pandas, xarray, zarr and dask, never torch).

Public API
----------
load(name, *, zoo=None, revision=None) -> xarray.DataTree
    Lazy entry (or every pruner of an arch, stacked along the ``pruner`` dim: select one with
    ``.sel(pruner="snip")``).
list_zoo(zoo=None) -> pandas.DataFrame
    Entries with their ``pruner``, grid and completion.
unpruned(tree_or_node, stage="trained"|"init")
    Surviving weights per variant, NaN where pruned.
layers(tree) -> list of prunable tensor names.
state_dict(tree, *, variant, sparsity, seed, stage="trained", pruner=None) -> dict of ndarray
    One run's parameters and buffers as NumPy arrays (mask applied).
to_model(tree, *, variant, sparsity, seed, stage="trained")
    Runnable torch model of one run (imports torch when called).
verify(entry, *, zoo=None) -> VerifyReport
    Files whose bytes changed since the entry was finalized.
resolve_zoo(zoo=None, *, revision=None) -> pathlib.Path
accuracy_summary(tree) -> pandas.DataFrame
    Mean / std over seeds of the final accuracy per (pruner, sparsity, variant).
inference, regress, shift_table(entries, distances)
    Seed-level tests, multiplicity, bootstrap; one row per run of Δaccuracy vs shift, and its regressions.
errors
    Every exception class a user catches (all subclasses of ``ZooError``), also importable from here.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from paistats._lazy import lazy_attributes

# errors are plain classes (stdlib only): imported now, so that `except paistats.ZooError` costs nothing
from paistats.errors import (
    CorruptChunkError, GridError, HubError, HubUnreachableError, IncompleteRunError, InferenceError, InvalidNameError,
    InvalidRepoIdError, InvalidRevisionError, ManifestError, MissingChunkError, NotPrecomputedError, StatsWarning,
    StoreError, TruncatedStoreError, UnknownEntryError, UnknownLabelError, UnknownMetricError, UnsupportedFormatError,
    ZooError, ZooNotFoundError,
)

__version__ = "0.1.0"


def verify(entry: str | os.PathLike, *, zoo: str | os.PathLike | None = None) -> VerifyReport:
    """Check every file of an entry against its ``manifest.json`` (size and sha256).

    Parameters
    ----------
    entry : str or path-like
        An entry directory, or an entry name / alias of ``zoo``.
    zoo : optional
        See :func:`resolve_zoo` (used when ``entry`` is not a directory).

    Returns
    -------
    VerifyReport
        ``ok``, and the ``changed``, ``missing`` and ``extra`` (unlisted) files; ``str(report)``
        is a one-line summary.

    Raises
    ------
    ManifestError
        If the entry has no manifest (not finalized).
    """
    from paistats.store.manifest import verify_path

    path = Path(entry).expanduser()
    if not (isinstance(entry, str) and not path.is_dir()):
        if not path.is_dir():
            raise ZooNotFoundError(f"entry directory {path} does not exist")
        return verify_path(path)
    from paistats import names
    from paistats.store.index import read_index
    from paistats.zoo import resolve_zoo

    zoo_dir = resolve_zoo(zoo)
    entries, _ = names.resolve(entry, read_index(zoo_dir))
    if len(entries) != 1:
        raise UnknownEntryError(f"{entry!r} names {len(entries)} entries ({', '.join(entries)}): verify one at a time")
    return verify_path(zoo_dir / entries[0])


__all__ = [
    "FORMAT_VERSION", "VerifyReport", "accuracy_summary", "format_accuracy_summary", "layers", "list_zoo", "load",
    "resolve_zoo", "state_dict", "to_model", "unpruned", "verify",
    "CorruptChunkError", "GridError", "IncompleteRunError", "InvalidNameError", "ManifestError",
    "MissingChunkError", "StoreError", "TruncatedStoreError", "UnknownEntryError", "UnknownLabelError",
    "UnsupportedFormatError", "ZooError", "ZooNotFoundError", "HubError", "HubUnreachableError",
    "InvalidRepoIdError", "InvalidRevisionError", "NotPrecomputedError", "UnknownMetricError",
    "InferenceError", "inference", "regress", "shift_table",
    "StatsWarning", "distances", "layer_stats", "noise_floor", "stats",
]

#: Public name -> submodule that defines it. Nothing heavy (numpy, pandas, xarray, zarr, scipy,
#: torch) is imported by `import paistats`: each name loads its module on first access, so that a
#: command line's --help starts in a fraction of a second.
_WHERE = {
    "FORMAT_VERSION": "store.layout", "VerifyReport": "store.manifest",
    "state_dict": "checkpoint", "to_model": "checkpoint",
    "accuracy_summary": "summary", "format_accuracy_summary": "summary",
    "layers": "views", "unpruned": "views",
    "list_zoo": "zoo", "load": "zoo", "resolve_zoo": "zoo",
    "shift_table": "regress.table",
    "distances": "stats", "layer_stats": "stats", "noise_floor": "stats",
}
if TYPE_CHECKING:  # for type checkers and the docs' static analysis (mkdocstrings); never run
    from paistats.checkpoint import state_dict, to_model
    from paistats.regress.table import shift_table
    from paistats.stats import distances, layer_stats, noise_floor
    from paistats.store.layout import FORMAT_VERSION
    from paistats.store.manifest import VerifyReport
    from paistats.summary import accuracy_summary, format_accuracy_summary
    from paistats.views import layers, unpruned
    from paistats.zoo import list_zoo, load, resolve_zoo

#: Subpackages reachable as attributes (``paistats.inference.ttest``) without an import statement.
_SUBMODULES = ("inference", "regress", "stats", "zoo", "store", "hub", "names", "views", "summary",
               "checkpoint", "plot", "vocabulary")

__getattr__, __dir__ = lazy_attributes(__name__, _WHERE, modules=_SUBMODULES)
