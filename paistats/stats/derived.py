"""Precomputed statistics stored in an entry: ``<entry>/derived/stats.zarr.zip``.

A Zarr v3 store of its own in ONE zip file (:class:`zarr.storage.ZipStore`, written with
:meth:`xarray.DataTree.to_zarr`): not part of the entry's Zarr hierarchy (a stale result of a grown
entry then never breaks the alignment of :func:`paistats.load`), one file for the manifest and the
Hub (a directory store held ≈ 200 files). It is a file of the entry like any other: listed in
``manifest.json`` when written before finalizing, published with it.

Groups: ``layer_stats``; ``distances/original`` and ``noise_floor/original`` (kept weights) and
``distances/original_pruned`` / ``noise_floor/original_pruned`` (``include_pruned=True``); all with
the default quantiles and bins. Root attributes: ``source_key`` (sha256 of the entry's format
version, tensors, planned runs, grid labels and completion flags: any run added or completed
changes it), ``random_key`` (the same of the ``random`` entry used for the ratios), the
parameters, and the paistats version.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
import uuid
import warnings
import zipfile
from pathlib import Path

import numpy as np
import xarray as xr
from zarr.storage import ZipStore

from paistats.stats._compute import Request, compute
from paistats.stats._inputs import RANDOM, complete_flags, entry_label, layer_nodes, pruner_dim
from paistats.stats._kernels import BINS, QUANTILES

DERIVED_DIR = "derived"
STORE_NAME = "stats.zarr.zip"
#: Bump when the statistics change meaning: older stores are then stale.
DERIVED_VERSION = 1
_VARIANTS = {False: "original", True: "original_pruned"}


def derived_path(entry_dir: str | os.PathLike) -> Path:
    return Path(entry_dir) / DERIVED_DIR / STORE_NAME


def source_key(entry_dir: str | os.PathLike) -> str:
    """sha256 of what the statistics of the entry at ``entry_dir`` depend on (reads two small files)."""
    from paistats.store.reader import open_group, read_root_attrs

    path = Path(entry_dir)
    attrs = read_root_attrs(path)
    group = open_group(path)
    doc = {
        "derived_version": DERIVED_VERSION,
        "format_version": attrs.get("format_version"),
        "tensors": attrs.get("tensors"),
        "runs": attrs.get("runs"),
        "grid": {d: [str(v) for v in np.asarray(group[d][...]).ravel()] for d in ("variant", "sparsity", "seed")},
        "complete": np.asarray(group["complete"][...]).astype(int).ravel().tolist(),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def _random_sibling(entry_dir: Path, attrs: dict) -> Path | None:
    sibling = entry_dir.parent / f"{attrs.get('arch')}-{attrs.get('dataset')}-{RANDOM}"
    return sibling if (sibling / "zarr.json").is_file() else None


def write_derived(entry_dir: str | os.PathLike, *, force: bool = False) -> Path:
    """Compute and store the entry's layer statistics, distances and noise floors (unless the
    stored ones are fresh: a cheap no-op then, so finalizing twice computes once).

    Reads every tensor of the entry once per setting of ``include_pruned``; the ratio to random
    pruning uses the zoo's ``{arch}-{dataset}-random`` entry when it exists. Replaces an older
    store atomically (a reader never sees half a store).

    Parameters
    ----------
    entry_dir : path-like
        The entry's directory.
    force : bool, default False
        Recompute even when the stored statistics are fresh.

    Returns
    -------
    pathlib.Path
        ``<entry_dir>/derived/stats.zarr.zip``.
    """
    from paistats.store.reader import open_entry, read_root_attrs

    entry_dir = Path(entry_dir)
    key = source_key(entry_dir)
    sibling = _random_sibling(entry_dir, read_root_attrs(entry_dir))
    if not force and _is_fresh(entry_dir, key, sibling):
        return derived_path(entry_dir)
    tree = open_entry(entry_dir)
    rnd = open_entry(sibling) if sibling is not None else None
    groups: dict[str, xr.Dataset] = {}
    for pruned in (False, True):
        req = Request(stats=not pruned, dist=True, noise=True, random=True, include_pruned=pruned)
        res = compute(tree, req, random=rnd)
        if not pruned:
            groups["layer_stats"] = res["layer_stats"]
        groups[f"distances/{_VARIANTS[pruned]}"] = res["distances"]
        groups[f"noise_floor/{_VARIANTS[pruned]}"] = res["noise_floor"]
    root = xr.Dataset(attrs={
        "source_key": key, "random_key": source_key(sibling) if sibling is not None else "",
        "derived_version": DERIVED_VERSION, "quantiles": list(QUANTILES), "bins": BINS,
        "entry": entry_dir.name,
    })
    out = derived_path(entry_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{STORE_NAME}.{uuid.uuid4().hex[:8]}.partial"
    tree_out = xr.DataTree.from_dict({"/": root, **{k: _storable(v) for k, v in groups.items()}})
    staging = Path(tempfile.mkdtemp(prefix="paistats-stats-"))
    try:
        # written as a directory store, then zipped once (zarr rewrites metadata while writing,
        # which in a ZipStore would leave duplicate members)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
            tree_out.to_zarr(staging, zarr_format=3, consolidated=True, mode="w")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as z:
            for f in sorted(staging.rglob("*")):
                if f.is_file():
                    z.write(f, f.relative_to(staging).as_posix())
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, out)  # atomic: a reader sees the old store or the new one
    finally:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
    return out


def _stored_attrs(entry_dir: Path) -> dict | None:
    try:
        with zipfile.ZipFile(derived_path(entry_dir)) as z:
            return json.loads(z.read("zarr.json")).get("attributes", {})
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None


def _is_fresh(entry_dir: Path, key: str, sibling: Path | None) -> bool:
    attrs = _stored_attrs(entry_dir)
    return bool(attrs) and attrs.get("source_key") == key and attrs.get("derived_version") == DERIVED_VERSION \
        and attrs.get("random_key", "") == (source_key(sibling) if sibling is not None else "")


def _storable(ds: xr.Dataset) -> xr.Dataset:
    ds = ds.copy()
    for name, c in ds.coords.items():
        if c.dtype.kind in "OUT":
            ds = ds.assign_coords({name: c.astype(object)})  # variable-length strings (specified in Zarr v3)
    ds.attrs = {k: (int(v) if isinstance(v, (bool, np.bool_)) else v) for k, v in ds.attrs.items()}
    return ds


def read_derived(entry_dir: str | os.PathLike, group: str | None = None, *,
                 fresh_only: bool = True, key: str | None = None) -> xr.DataTree | xr.Dataset | None:
    """The stored statistics of an entry (loaded into memory), or None when absent or stale.

    Parameters
    ----------
    entry_dir : path-like
    group : str, optional
        One result (``"layer_stats"``, ``"distances/original"``, ``"noise_floor/original_pruned"``,
        …) as a Dataset (None when absent); default: the whole tree.
    fresh_only : bool, default True
        Return None when the entry changed since they were written (its ``source_key`` differs).
    key : str, optional
        The entry's current :func:`source_key`, when the caller has it.
    """
    path = derived_path(entry_dir)
    attrs = _stored_attrs(Path(entry_dir))
    if attrs is None:
        return None
    if fresh_only and (attrs.get("source_key") != (key or source_key(entry_dir))
                       or attrs.get("derived_version") != DERIVED_VERSION):
        return None
    if group is not None:
        st = path.stat()
        cached = _read_group(str(path), st.st_size, st.st_mtime_ns, group)
        return cached.copy(deep=True) if cached is not None else None
    try:
        store = ZipStore(path, mode="r")
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
                tree = xr.open_datatree(store, engine="zarr", consolidated=True, chunks=None).load()
        finally:
            store.close()
    except Exception:  # noqa: BLE001 (an absent group or unreadable store: recomputed, never fatal)
        return None
    return tree.map_over_datasets(_plain_strings)


@functools.lru_cache(maxsize=32)
def _read_group(path: str, size: int, mtime_ns: int, group: str) -> xr.Dataset | None:
    """One group of a derived store (cached per file version: the store is replaced, never changed)."""
    try:
        store = ZipStore(path, mode="r")
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
                ds = xr.open_dataset(store, group=group, engine="zarr", consolidated=True, chunks=None).load()
        finally:
            store.close()
    except Exception:  # noqa: BLE001 (an absent group or unreadable store: recomputed, never fatal)
        return None
    return _plain_strings(ds)


def _plain_strings(ds: xr.Dataset) -> xr.Dataset:
    """Zarr v3 strings come back as numpy StringDType: give object arrays of str (as fresh results)."""
    fix = {c: np.array([str(x) for x in v.values.ravel()], dtype=object).reshape(v.shape)
           for c, v in ds.coords.items() if v.dtype.kind == "T"}
    return ds.assign_coords({c: (ds[c].dims, a) for c, a in fix.items()}) if fix else ds


# --- use by layer_stats / distances / noise_floor ----------------------------------------------

def entry_dirs(obj: xr.DataTree) -> list[Path]:
    """Directories of the entries behind ``obj`` (from the readers inside its dask graph)."""
    root = obj.root if obj.parent is not None else obj
    enc = getattr(root, "encoding", None) or {}
    if enc.get("sources"):
        return [Path(p) for p in enc["sources"]]
    if enc.get("source"):
        return [Path(enc["source"])]
    var = root.to_dataset(inherit=False).get("complete")
    if var is None or var.chunks is None:
        return []
    from paistats.store.reader import _SafeArray

    found: list[str] = []
    for task in dict(var.data.__dask_graph__()).values():
        for item in _walk(task):
            if isinstance(item, _SafeArray) and item.entry_path not in found:
                found.append(item.entry_path)
    return [Path(p) for p in found]


def _walk(task, depth: int = 0):
    if depth > 6:
        return
    yield task
    if isinstance(task, (tuple, list)):
        for t in task:
            yield from _walk(t, depth + 1)
    elif isinstance(task, dict):
        for t in task.values():
            yield from _walk(t, depth + 1)
    else:
        for attr in ("args", "kwargs", "value"):
            sub = getattr(task, attr, None)
            if sub is not None and not callable(sub):
                yield from _walk(sub, depth + 1)


def lookup(obj: xr.DataTree, kind: str, req: Request) -> xr.Dataset | None:
    """The stored result equal to ``compute(obj, req)[kind]``, or None when it cannot be used
    (absent or stale store, other parameters, a selection by scalar, one layer node, …)."""
    if (tuple(req.quantiles) != tuple(QUANTILES) or req.bins != BINS or req.reference != "original"
            or not isinstance(obj, xr.DataTree) or "mask" in obj.data_vars):
        return None
    try:
        dirs = entry_dirs(obj)
        flags = complete_flags(obj)
    except Exception:  # noqa: BLE001
        return None
    if not dirs:
        return None
    if any(d not in flags.dims for d in ("variant", "sparsity", "seed")):
        return None
    if kind != "layer_stats" and req.reference not in [str(v) for v in flags["variant"].values]:
        return None  # computing raises the error that says what to select
    pdim = pruner_dim(flags)
    if (pdim is None) != (len(dirs) == 1):
        return None
    group = "layer_stats" if kind == "layer_stats" else f"{kind}/{_VARIANTS[req.include_pruned]}"
    try:
        names = [n for n, _ in layer_nodes(obj)]
    except (TypeError, ValueError):  # no tensors (load(..., tensors=False)): the recorded layers
        names = [t["name"] for t in obj.attrs.get("tensors", []) if t.get("prunable")]
    if not names:
        return None
    keys = {d: source_key(d) for d in dirs}
    stores = {}
    for d in dirs:
        ds = read_derived(d, group, key=keys[d])
        if ds is None:
            return None
        stores[d] = (ds, _stored_attrs(d))
    coords = {d: flags[d].values for d in ("variant", "sparsity", "seed")}
    parts = []
    for d, (ds, attrs) in stores.items():
        if [str(x) for x in ds["layer"].values] != [*names, "all"]:
            return None
        sel = {k: v for k, v in coords.items() if k in ds.dims and not (kind == "noise_floor" and k == "seed")}
        ds = ds.reindex(sel)
        if kind == "noise_floor" and list(ds.coords.get("seed_a", [])) and \
                sorted({*ds["seed_a"].values, *ds["seed_b"].values}) != sorted(coords["seed"].tolist()):
            return None
        parts.append((d, attrs, ds))
    has_random = pdim is not None and RANDOM in [str(p) for p in flags[pdim].values]
    out = []
    for d, attrs, ds in parts:
        rnd = [v for v in ds.data_vars if v.endswith("_random") or v.endswith("_random_ratio")]
        if kind == "distances" and has_random:
            rdir = next((p for p in dirs if p.name.endswith(f"-{RANDOM}")), None)
            if rdir is None or not rnd or attrs.get("random_key") != keys[rdir]:
                return None
        else:
            ds = ds.drop_vars(rnd)
        out.append(ds)
    label = entry_label(obj)
    if pdim is None:
        res = out[0]
    else:
        methods = [_method_of(p) for p in dirs]
        wanted = [str(m) for m in flags[pdim].values]
        if not set(wanted) <= set(methods):
            return None
        order = [methods.index(m) for m in wanted]
        res = xr.concat([out[i] for i in order], dim=pdim, coords="minimal", compat="override", join="exact")
        res = res.assign_coords({pdim: flags[pdim].values})
    res = res.assign_coords({k: v for k, v in coords.items() if k in res.dims})
    res = res.assign_coords(layer=np.array([*names, "all"], dtype=object))
    if "stage" in res.dims:
        res = res.assign_coords(stage=np.array([str(s) for s in res["stage"].values]))
    res.attrs = {"entry": label} if kind == "layer_stats" else {
        "entry": label, "reference": req.reference, "include_pruned": req.include_pruned, "bins": int(req.bins)}
    from paistats.stats._compute import _order

    return _order(res)


def _method_of(entry_dir: Path) -> str:
    from paistats.store.reader import read_root_attrs

    return str(read_root_attrs(entry_dir).get("method"))


__all__ = ["DERIVED_DIR", "STORE_NAME", "derived_path", "entry_dirs", "lookup", "read_derived", "source_key",
           "write_derived"]
