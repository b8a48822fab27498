"""The ``stats`` command's work: precompute an entry's statistics and write one result as a table.

``python -m paistats stats ENTRY [--zoo ZOO] [--out FILE] [--table NAME]`` (parsed and checked in
:mod:`paistats.cli`, which imports this module only to run it) writes
``<entry>/derived/stats.zarr.zip`` when it is absent or stale (then re-finalizes the entry so its
manifest lists the new files), and optionally one result as a table: ``.parquet``, ``.csv``
(``Dataset.to_dataframe()``, one row per run × layer × stage [× quantile / seed pair]) or ``.nc``
(NetCDF 3 via scipy, the Dataset itself), written only to the file named (its folder must exist).
"""
from __future__ import annotations

from pathlib import Path


def precompute(path: Path, *, force: bool = False) -> bool:
    """Write the entry's derived statistics when absent, stale or ``force``; keep its manifest current.

    Parameters
    ----------
    path : pathlib.Path
        An entry folder.
    force : bool
        Recompute even when the stored statistics are fresh.

    Returns
    -------
    bool
        True when the statistics were (re)written.
    """
    from paistats.stats import derived

    wrote = False
    if force or derived.read_derived(path, "layer_stats") is None:
        derived.write_derived(path, force=True)
        wrote = True
    _refinalize(path)
    return wrote


def write_result(path: Path, table: str, out: Path) -> None:
    """Write the stored result ``table`` of the entry at ``path`` to the file ``out`` (see :func:`write_table`).

    Parameters
    ----------
    path : pathlib.Path
        An entry folder with derived statistics (:func:`precompute`).
    table : str
        ``layer_stats``, ``distances``, ``distances_pruned``, ``noise_floor`` or ``noise_floor_pruned``.
    out : pathlib.Path
        ``.parquet``, ``.csv`` or ``.nc``, in an existing folder.
    """
    from paistats.stats import derived

    write_table(derived.read_derived(path, derived_group(table)), out)


def derived_group(table: str) -> str:
    """The derived store's group holding ``--table`` ``table``.

    Parameters
    ----------
    table : str
        One of :data:`paistats.cli.STATS_TABLES`.

    Returns
    -------
    str
        ``layer_stats``, or ``<result>/<reference variant>[_pruned]`` (e.g. ``distances/original_pruned``).
    """
    from paistats.vocabulary import REFERENCE_VARIANT

    if table == "layer_stats":
        return table
    pruned = table.endswith("_pruned")
    return f"{table.removesuffix('_pruned')}/{REFERENCE_VARIANT}{'_pruned' if pruned else ''}"


def _refinalize(path: Path) -> None:
    """Rewrite the manifest of a finalized entry when it does not list the current derived store."""
    import json

    from paistats.stats.derived import derived_path
    from paistats.store import layout
    from paistats.store.manifest import sha256_file

    manifest = path / layout.MANIFEST_FILE
    if not manifest.is_file():
        return
    rel = derived_path(path).relative_to(path).as_posix()
    listed = json.loads(manifest.read_text()).get("files", {}).get(rel, {})
    if listed.get("sha256") != sha256_file(derived_path(path)):
        from paistats.store.manifest import finalize

        finalize(path.parent, path.name)


def write_table(ds, out: Path) -> None:
    """Write a result Dataset as Parquet / CSV (tidy rows) or NetCDF 3 to ``out`` (its folder must exist).

    Parameters
    ----------
    ds : xarray.Dataset
        A result of :mod:`paistats.stats` (dims such as pruner, variant, sparsity, seed, layer, stage).
    out : pathlib.Path
        ``.parquet`` / ``.csv``: one row per coordinate combination (quantiles as columns);
        ``.nc``: the Dataset itself.
    """
    if out.suffix == ".nc":
        ds = ds.copy()
        ds.attrs = {k: (int(v) if isinstance(v, bool) else v) for k, v in ds.attrs.items()}
        for name, c in ds.coords.items():
            if c.dtype.kind in "OT":
                ds = ds.assign_coords({name: c.astype(str)})
        ds.to_netcdf(out, engine="scipy")
        return
    if "quantile" in ds.dims:  # one row per run × layer × stage: the quantiles as columns
        for q in ds["quantile"].values:
            ds[f"quantile_value_{q:g}"] = ds["quantile_value"].sel(quantile=q, drop=True)
        ds = ds.drop_vars(["quantile_value", "quantile"])
    df = ds.to_dataframe().reset_index()
    if out.suffix == ".parquet":
        df.to_parquet(out, index=False)
    else:
        df.to_csv(out, index=False)
