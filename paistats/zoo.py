"""Finding a zoo and its entries: :func:`resolve_zoo`, :func:`load`, :func:`list_zoo`.

A zoo is a directory holding ``index.json`` and one Zarr v3 store per entry (see
``docs/zoo-format.md``). Hub repositories are resolved to a local directory by
:mod:`paistats.hub` (imported only when needed).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from paistats import names
from paistats.errors import TruncatedStoreError, ZooError, ZooNotFoundError
from paistats.store import layout
from paistats.vocabulary import GRID_DIMS, PRUNER
from paistats.store.index import entry_alias, entry_listing, read_index  # noqa: F401 (re-exported)
from paistats.store.reader import open_entry


def cache_dir() -> Path:
    """Local zoo cache directory.

    Returns
    -------
    pathlib.Path
        ``$PAISTATS_CACHE``, else ``~/.cache/paistats/zoo`` (it need not exist).
    """
    env = os.environ.get("PAISTATS_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "paistats" / "zoo"


def _has_zoo(path: Path) -> bool:
    return (path / layout.INDEX_FILE).is_file()


def default_zoo(zoo: str | os.PathLike | None = None) -> str | os.PathLike:
    """The zoo to use when none is given.

    Parameters
    ----------
    zoo : str or path-like, optional
        Returned unchanged when given.

    Returns
    -------
    str or path-like
        ``zoo``, else ``$PAISTATS_ZOO``, else the local cache if it holds a zoo, else
        ``$PAISTATS_HUB_REPO``.

    Raises
    ------
    ZooNotFoundError
        When none of these is set.
    """
    if zoo is not None:
        return zoo
    zoo = os.environ.get("PAISTATS_ZOO") or None
    if zoo is None and _has_zoo(cache_dir()):
        return cache_dir()
    zoo = zoo or os.environ.get("PAISTATS_HUB_REPO") or None
    if zoo is None:
        raise ZooNotFoundError("no zoo given: pass zoo=<directory or Hub repo id>, or set PAISTATS_ZOO "
                               "(a local zoo directory) or PAISTATS_HUB_REPO (a Hub dataset repo id)")
    return zoo


def _is_hub(zoo) -> bool:
    if not isinstance(zoo, str) or Path(zoo).expanduser().is_dir():
        return False
    from paistats import hub  # only here: Hub support is optional at run time

    return hub.is_hub_ref(zoo)


def resolve_zoo(zoo: str | os.PathLike | None = None, *, revision: str | None = None,
                entries: list[str] | None = None, tensors: bool = True) -> Path:
    """Local directory of a zoo.

    Parameters
    ----------
    zoo : str or path-like, optional
        A local zoo directory, or a Hugging Face Hub dataset repo id (``org/name``,
        ``hf://datasets/org/name[@rev]``), downloaded by :func:`paistats.hub.resolve` into the
        standard HF cache. Default: see :func:`default_zoo`.
    revision : str, optional
        Hub revision (branch, tag, commit); ignored for local directories.
    entries : list of str, optional
        For a Hub zoo, the only entries to download (``[]``: the index files only; None: all).
    tensors : bool
        For a Hub zoo, False downloads no tensor arrays (root variables and statistics only).

    Returns
    -------
    pathlib.Path
        A directory holding ``index.json`` and the entries.

    Raises
    ------
    ZooNotFoundError
        When nothing is configured or the directory does not exist.
    """
    zoo = default_zoo(zoo)
    if _is_hub(zoo):
        from paistats import hub

        return Path(hub.resolve(zoo, entries=entries, revision=revision, tensors=tensors))
    path = Path(zoo).expanduser()
    if not path.is_dir():
        raise ZooNotFoundError(f"zoo directory {path} does not exist (a Hub zoo is 'org/name' or "
                               "'hf://datasets/org/name')")
    return path


def _entry_path(zoo_dir: Path, entry: str) -> Path:
    path = zoo_dir / names.check_name(entry)
    if not path.is_dir():
        raise TruncatedStoreError(f"entry {entry!r} is in the index of {zoo_dir} but its folder is missing: "
                                  "re-download it")
    return path


def load(name: str, *, zoo: str | os.PathLike | None = None, revision: str | None = None,
         tensors: bool = True) -> xr.DataTree:
    """Lazily load an entry (or every pruner of an architecture) as an :class:`xarray.DataTree`.

    Reads metadata only (no tensor data, no torch import); data are dask arrays.

    Parameters
    ----------
    name : str
        An entry ``{arch}-{dataset}-{pruner}`` (``"vgg16-cifar10-snip"``), its alias
        ``{arch}-{pruner}`` for the arch's default dataset (``"vgg16-snip"``), or an arch
        (``"vgg16"``): every pruner on the default dataset, stacked along a new ``pruner`` dim
        (outer join of the grids: NaN / False / -1 where a pruner lacks a cell). Select one with
        ``.sel(pruner="snip")``. Nothing in the tree is called ``method``: that is a keyword of
        xarray's ``.sel``, so ``.sel(method="snip")`` would silently select everything.
    zoo : str or path-like, optional
        See :func:`resolve_zoo`.
    revision : str, optional
        Hub revision.
    tensors : bool
        False: open only the root variables (accuracy, density, histories, flags) and the derived
        statistics group; a Hub zoo then downloads neither tensor arrays nor their chunks.

    Returns
    -------
    xarray.DataTree
        Root coords ``variant``, ``sparsity`` (fraction removed), ``seed``, ``epoch`` and run
        variables ``complete``, ``accuracy`` (fraction), ``density`` (fraction kept), ``seconds``,
        ``test_accuracy`` / ``test_loss`` / ``train_loss`` (per epoch). One child node per prunable
        tensor with ``init`` (seed, out, in, …), ``reinit`` (seed, …), ``score`` (sparsity, seed, …),
        ``mask`` (variant, sparsity, seed, …) and ``trained`` (variant, sparsity, seed, …);
        ``state/<name>`` nodes for biases, BatchNorm parameters and buffers. Root attrs name
        the ``arch``, ``dataset`` and ``pruner`` (an entry) or ``pruners`` and ``entries`` (an
        architecture); the store's ``method`` attribute is shown as ``pruner``.

    Raises
    ------
    InvalidNameError, UnknownEntryError, UnsupportedFormatError, TruncatedStoreError, ZooNotFoundError

    Examples
    --------
    >>> tree = paistats.load("lenet300-snip")                       # doctest: +SKIP
    >>> tree["fc1.weight"].trained.sel(variant="original", sparsity=0.9)  # doctest: +SKIP
    """
    names.check_name(name)
    zoo = default_zoo(zoo)
    # a Hub zoo: fetch the index first, then only the entries the name resolves to
    zoo_dir = resolve_zoo(zoo, revision=revision, entries=[] if _is_hub(zoo) else None)
    entries, is_arch = names.resolve(name, read_index(zoo_dir))
    if _is_hub(zoo):
        zoo_dir = resolve_zoo(zoo, revision=revision, entries=entries, tensors=tensors)
    trees = [_pruner_attrs(open_entry(_entry_path(zoo_dir, e), tensors=tensors)) for e in entries]
    if not is_arch:
        return trees[0]
    return _stack_pruners(trees, name)


def _pruner_attrs(tree: xr.DataTree) -> xr.DataTree:
    """The entry with its store attribute ``method`` (zoo format) shown as ``pruner``, in place."""
    attrs = tree.attrs
    if "method" in attrs:
        attrs = {PRUNER if k == "method" else k: v for k, v in attrs.items()}
        tree.attrs = attrs
    return tree


def _fill_values(ds: xr.Dataset) -> dict:
    out = {}
    for v, x in ds.data_vars.items():
        if x.dtype.kind == "b":
            out[v] = False
        elif x.dtype.kind in "iu":
            out[v] = -1
        elif x.dtype.kind in "OUT":
            out[v] = ""
    return out


def _stack_pruners(trees: list[xr.DataTree], arch: str) -> xr.DataTree:
    pruners = [t.attrs[PRUNER] for t in trees]
    index = pd.Index(np.array(pruners, dtype=object), name=PRUNER)
    paths = []
    for t in trees:
        for node in t.subtree:
            if node.path not in paths:
                paths.append(node.path)
    root_coords = (PRUNER, *GRID_DIMS, "epoch")
    out = {}
    for p in paths:
        dsets = [t[p].to_dataset(inherit=True) for t in trees if p in {n.path for n in t.subtree}]
        combined = xr.concat(dsets, dim=index, join="outer", combine_attrs="drop_conflicts",
                             fill_value=_fill_values(dsets[0]) or xr.core.dtypes.NA, data_vars="all",
                             coords="different", compat="equals")
        if p != "/":
            combined = combined.drop_vars([c for c in root_coords if c in combined.coords])
        out[p] = combined
    out["/"].attrs.update({"entries": [t.attrs["entry"] for t in trees], "pruners": pruners})
    out["/"].attrs.pop("entry", None)
    out["/"].attrs.pop(PRUNER, None)  # differs per entry: the list is ``pruners``
    stacked = xr.DataTree.from_dict(out, name=arch)
    stacked.encoding = {"sources": [t.encoding.get("source") for t in trees]}
    return stacked


#: Columns of :func:`list_zoo` (index ``entry``); a Hub zoo's ``index.json`` records hold them all
#: (its records, like the stores, call the pruner ``method``: the zoo format's name).
LIST_COLUMNS = ["entry", "arch", "dataset", PRUNER, "alias", "variants", "sparsities", "seeds", "epochs",
                "planned", "complete", "finalized", "format_version", "error"]


def list_zoo(zoo: str | os.PathLike | None = None, *, revision: str | None = None) -> pd.DataFrame:
    """Every entry of a zoo with its grid and completion.

    A Hub zoo is listed from its ``index.json`` alone (one small download, no entry data); a repo
    whose index predates the listing fields (published by an older paistats) is listed from its
    entries, which are then downloaded, with a one-line warning.

    Parameters
    ----------
    zoo : str or path-like, optional
        See :func:`resolve_zoo`.
    revision : str, optional
        Hub revision.

    Returns
    -------
    pandas.DataFrame
        One row per entry (index ``entry``): ``arch``, ``dataset``, ``pruner``, ``alias`` (or None),
        ``variants``, ``sparsities``, ``seeds`` (lists), ``epochs``, ``planned`` (runs), ``complete``
        (runs), ``finalized`` (has a manifest), ``format_version``; ``error`` names a problem
        (unreadable entry) instead of raising.
    """
    zoo = default_zoo(zoo)
    if _is_hub(zoo):
        rows = _hub_rows(zoo, revision)
        if rows is not None:
            return pd.DataFrame(rows, columns=LIST_COLUMNS).set_index("entry")
    zoo_dir = resolve_zoo(zoo, revision=revision)
    rows = []
    for entry, info in sorted(read_index(zoo_dir).items()):
        row = {"entry": entry, "arch": info.get("arch"), "dataset": info.get("dataset"), PRUNER: info.get("method"),
               "alias": entry_alias(info)}
        try:
            row.update(entry_listing(_entry_path(zoo_dir, entry)), error=None)
        except ZooError as e:
            row["error"] = str(e)
        rows.append(row)
    return pd.DataFrame(rows, columns=LIST_COLUMNS).set_index("entry")


def _hub_rows(zoo: str, revision: str | None) -> list[dict] | None:
    """Rows of :func:`list_zoo` from a Hub zoo's ``index.json`` only; None (with a warning) when
    the repo's index lacks the listing fields."""
    import logging

    from paistats import hub

    records = hub.read_listing(zoo, revision=revision)
    if records is None:
        logging.getLogger(__name__).warning(
            "%s has no %s with the listing fields (published by an older paistats): listing from the "
            "entries, which downloads them; republish with `python -m zoo_builder push` to add it",
            zoo, layout.INDEX_FILE)
        return None
    return [{"entry": name, **{c: rec["method" if c == PRUNER else c] for c in LIST_COLUMNS[1:-1]}, "error": None}
            for name, rec in sorted(records.items())]
