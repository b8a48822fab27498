"""``python -m paistats stats ENTRY [--zoo ZOO] [--out FILE] [--table NAME]``: precompute an entry's statistics.

Writes ``<entry>/derived/stats.zarr.zip`` when it is absent or stale (then re-finalizes the entry so
its manifest lists the new files), and optionally one result as a table: ``.parquet``, ``.csv``
(``Dataset.to_dataframe()``, one row per run × layer × stage [× quantile / seed pair]) or ``.nc``
(NetCDF 3 via scipy, the Dataset itself). ``--out`` writes only the file it names: its folder must
exist (nothing else is created).
"""
from __future__ import annotations

import argparse
from pathlib import Path

TABLES = ("layer_stats", "distances", "distances_pruned", "noise_floor", "noise_floor_pruned")
FORMATS = (".parquet", ".csv", ".nc")


def add_parser(sub) -> argparse.ArgumentParser:
    """Register the ``stats`` sub-command on ``sub`` (an argparse sub-parsers object)."""
    from paistats.cli import DEFAULT_ZOO, STATS_HELP, zoo_arg

    p = sub.add_parser("stats", help=STATS_HELP,
                       description="Precompute an entry's layer statistics, distances and noise floors (stored in "
                                   "the entry's derived/ folder) and optionally write one of them as a table.")
    p.add_argument("entry", metavar="ENTRY", help="an entry folder, or an entry name or alias of --zoo")
    p.add_argument("--zoo", default=DEFAULT_ZOO, type=zoo_arg, metavar="ZOO",
                   help="zoo folder or Hub dataset repo (org/name) where ENTRY is a name (default: ./zoo)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="write a table: FILE.parquet, FILE.csv or FILE.nc (its folder must exist)")
    p.add_argument("--table", default="layer_stats", choices=TABLES, metavar="NAME",
                   help=f"which result --out writes: {', '.join(TABLES)} (default: layer_stats; "
                        "*_pruned: include_pruned=True)")
    p.add_argument("--force", action="store_true", help="recompute even when the stored statistics are fresh")
    return p


def _entry_dir(entry: str, zoo: str) -> Path:
    """The entry folder ``entry`` names: a folder, or an entry name or alias of ``zoo``."""
    from paistats.cli import UsageError, is_entry, looks_like_path, verify_targets

    path = Path(entry).expanduser()
    if path.is_dir():
        if not is_entry(path):
            raise UsageError(f"{str(path)!r} is not a zoo entry (no zarr.json); give an entry folder, or an entry "
                             "name with --zoo")
        return path
    if path.exists() or looks_like_path(entry):
        raise UsageError(f"entry folder {entry!r} does not exist; give an entry folder, or an entry name with --zoo")
    ((_, found),) = verify_targets([entry], zoo)
    return found


def derived_group(table: str) -> str:
    """The derived store's group holding ``--table`` ``table``.

    Parameters
    ----------
    table : str
        One of :data:`TABLES`.

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


def _check_out(out: Path) -> None:
    """``--out FILE``: a known format, in a folder that exists (paistats creates no folder)."""
    from paistats.cli import UsageError

    if out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a folder; give a file name, e.g. {out / 'layer_stats.parquet'}")
    if out.suffix not in FORMATS:
        raise UsageError(f"--out {str(out)!r}: unknown format {out.suffix or '(none)'!r}; use one of "
                         f"{', '.join(FORMATS)}")
    parent = out.absolute().parent
    if not parent.is_dir():
        raise UsageError(f"--out {str(out)!r}: folder {str(parent)!r} does not exist; create it first or write "
                         "into an existing folder")


def run(args: argparse.Namespace) -> int:
    """Run the ``stats`` sub-command; errors are :class:`paistats.ZooError` (exit code 2)."""
    from paistats.stats import derived

    out = Path(args.out).expanduser() if args.out else None
    if out is not None:
        _check_out(out)
    path = _entry_dir(args.entry, args.zoo)
    wrote = False
    if args.force or derived.read_derived(path, "layer_stats") is None:
        derived.write_derived(path, force=True)
        wrote = True
    _refinalize(path)
    print(f"{path.name}: statistics {'written to' if wrote else 'up to date in'} {derived.derived_path(path)}")
    if out is not None:
        write_table(derived.read_derived(path, derived_group(args.table)), out)
        print(f"{args.table} → {out}")
    return 0


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
