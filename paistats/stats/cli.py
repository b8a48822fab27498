"""``python -m paistats stats PATH [--out FILE] [--table NAME]``: precompute an entry's statistics.

Writes ``<entry>/derived/stats.zarr.zip`` when it is absent or stale (then re-finalizes the entry so
its manifest lists the new files), and optionally one result as a table: ``.parquet``, ``.csv``
(``Dataset.to_dataframe()``, one row per run × layer × stage [× quantile / seed pair]) or ``.nc``
(NetCDF 3 via scipy, the Dataset itself).
"""
from __future__ import annotations

import argparse
from pathlib import Path

TABLES = ("layer_stats", "distances", "distances_pruned", "noise_floor", "noise_floor_pruned")
FORMATS = (".parquet", ".csv", ".nc")


def add_parser(sub) -> argparse.ArgumentParser:
    """Register the ``stats`` sub-command on ``sub`` (an argparse sub-parsers object)."""
    p = sub.add_parser("stats", help="precompute an entry's layer statistics, distances and noise floors "
                                     "(stored in the entry) and optionally write one as a table")
    p.add_argument("entry", help="entry directory, or entry name with --zoo")
    p.add_argument("--zoo", default=None, help="zoo directory (when ENTRY is a name)")
    p.add_argument("--out", default=None, help="write a table: FILE.parquet, FILE.csv or FILE.nc")
    p.add_argument("--table", default="layer_stats", choices=TABLES, help="which result --out writes "
                   "(default: layer_stats; *_pruned: include_pruned=True)")
    p.add_argument("--force", action="store_true", help="recompute even when the stored statistics are fresh")
    return p


def _entry_dir(entry: str, zoo: str | None) -> Path:
    from paistats.errors import ZooNotFoundError

    path = Path(entry).expanduser()
    if path.is_dir():
        if not (path / "zarr.json").is_file():
            raise ZooNotFoundError(f"{path} is not a zoo entry (no zarr.json); pass an entry directory")
        return path
    if zoo is None:
        raise ZooNotFoundError(f"entry directory {path} does not exist; pass an entry directory or a name with --zoo")
    from paistats import names
    from paistats.store.index import read_index
    from paistats.zoo import resolve_zoo

    zoo_dir = resolve_zoo(zoo)
    entries, _ = names.resolve(entry, read_index(zoo_dir))
    if len(entries) != 1:
        raise ZooNotFoundError(f"{entry!r} names {len(entries)} entries; pass one entry")
    return zoo_dir / entries[0]


def run(args: argparse.Namespace) -> int:
    """Run the ``stats`` sub-command; errors are :class:`paistats.ZooError` (exit code 2)."""
    from paistats.errors import ZooError
    from paistats.stats import derived

    out = Path(args.out) if args.out else None
    if out is not None and out.suffix not in FORMATS:
        raise ZooError(f"--out {out}: unknown format {out.suffix or '(none)'}; use one of {', '.join(FORMATS)}")
    path = _entry_dir(args.entry, args.zoo)
    wrote = False
    if args.force or derived.read_derived(path, "layer_stats") is None:
        derived.write_derived(path, force=True)
        wrote = True
    _refinalize(path)
    print(f"{path.name}: statistics {'written to' if wrote else 'up to date in'} {derived.derived_path(path)}")
    if out is not None:
        group = "layer_stats" if args.table == "layer_stats" else \
            f"{args.table.removesuffix('_pruned')}/{'original_pruned' if args.table.endswith('_pruned') else 'original'}"
        write_table(derived.read_derived(path, group), out)
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
    """Write a result Dataset as Parquet / CSV (tidy rows) or NetCDF 3."""
    out.parent.mkdir(parents=True, exist_ok=True)
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
