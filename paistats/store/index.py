"""The zoo-level ``index.json`` (entry → arch, dataset, method, default dataset) and the listing of
one entry folder (:func:`entry_listing`, what :func:`paistats.list_zoo` and the Hub index show).

It lets names and aliases resolve by reading one small JSON file (no torch, no entry metadata).
When it is missing (a zoo assembled by hand), it is rebuilt in memory from the entries' attrs.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from paistats.errors import TruncatedStoreError
from paistats.store.durable import durable_write
from paistats.store.layout import FORMAT_VERSION, INDEX_FILE, MANIFEST_FILE
from paistats.vocabulary import SEED, SPARSITY, VARIANT

INDEX_FIELDS = ("arch", "dataset", "method", "default_dataset")


def read_index(zoo_dir: str | os.PathLike) -> dict[str, dict]:
    """Entry → ``{arch, dataset, method, default_dataset}`` of every entry of a local zoo."""
    zoo_dir = Path(zoo_dir)
    path = zoo_dir / INDEX_FILE
    if path.is_file():
        try:
            data = json.loads(path.read_text())
            return {str(k): dict(v) for k, v in data["entries"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise TruncatedStoreError(f"zoo index {path} is unreadable ({type(e).__name__}); "
                                      "re-download the zoo or delete the file to rebuild it") from None
    return scan_entries(zoo_dir)


def entry_dirs(zoo_dir: str | os.PathLike) -> dict[str, Path]:
    """The one entry lister: entry name → folder, for every non-hidden folder of ``zoo_dir`` that
    holds a Zarr store (``zarr.json``), sorted by name."""
    zoo_dir = Path(zoo_dir)
    return {child.name: child for child in (sorted(zoo_dir.iterdir()) if zoo_dir.is_dir() else [])
            if not child.name.startswith(".") and (child / "zarr.json").is_file()}


def scan_entries(zoo_dir: Path) -> dict[str, dict]:
    """Index rebuilt from the root ``zarr.json`` of every entry folder."""
    out = {}
    for child in entry_dirs(zoo_dir).values():
        meta = child / "zarr.json"
        try:
            attrs = json.loads(meta.read_text()).get("attributes", {})
            out[child.name] = {k: attrs[k] for k in INDEX_FIELDS}
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return out


def add_to_index(zoo_dir: str | os.PathLike, entry: str, info: dict) -> None:
    """Add or update ``entry`` in ``index.json`` (caller holds the zoo's ``index`` lock)."""
    zoo_dir = Path(zoo_dir)
    path = zoo_dir / INDEX_FILE
    entries = read_index(zoo_dir) if path.is_file() else scan_entries(zoo_dir)
    new = {k: info[k] for k in INDEX_FIELDS}
    if entries.get(entry) == new and path.is_file():
        return
    entries[entry] = new
    blob = json.dumps({"format_version": FORMAT_VERSION, "entries": dict(sorted(entries.items()))}, indent=1)
    durable_write(path, blob.encode())


def entry_alias(info: dict) -> str | None:
    """``{arch}-{method}`` when the entry is on its arch's default dataset, else None."""
    return f"{info['arch']}-{info['method']}" if info.get("dataset") == info.get("default_dataset") else None


def entry_listing(path: Path) -> dict:
    """Grid and completion of one entry folder, as :func:`paistats.list_zoo` shows them.

    Parameters
    ----------
    path : Path
        The entry's Zarr v3 store.

    Returns
    -------
    dict
        ``variants`` (names), ``sparsities`` (fractions removed, sorted), ``seeds`` (sorted),
        ``epochs`` (count), ``planned`` and ``complete`` (runs), ``finalized`` (has a manifest),
        ``format_version`` (of the store).

    Raises
    ------
    ZooError
        When the store is unreadable (truncated, unsupported format).
    """
    import numpy as np

    from paistats.store.reader import open_group, read_root_attrs  # zarr: imported when listing only

    attrs = read_root_attrs(path)
    group = open_group(path)
    flags = np.asarray(group["complete"][...])
    return {
        "variants": [str(v) for v in group[VARIANT][...]],
        "sparsities": sorted(float(v) for v in group[SPARSITY][...]),
        "seeds": sorted(int(v) for v in group[SEED][...]),
        "epochs": int(group["epoch"].shape[0]), "planned": len(attrs["runs"]),
        "complete": int(flags.sum()), "finalized": (path / MANIFEST_FILE).is_file(),
        "format_version": attrs["format_version"],
    }
