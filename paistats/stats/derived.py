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
changes it — and of the registered metrics, :func:`paistats.stats.registry.fingerprint`: a store
written before a statistic or distance was added or re-versioned is stale), ``random_key`` (the same
of the ``random`` entry used for the ratios), the parameters, the metrics, and the paistats version.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import shutil
import tempfile
import uuid
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from zarr.storage import ZipStore

from paistats.errors import NotPrecomputedError, ZooError  # noqa: F401 (NotPrecomputedError re-exported)
from paistats.stats._compute import Request, compute
from paistats.stats._inputs import (
    PRUNER_DIM, RANDOM, SEED, VARIANT, _layer_names, complete_flags, entry_label,
)
from paistats.stats._kernels import BINS, QUANTILES
from paistats.stats.registry import fingerprint
from paistats.vocabulary import LAYER, POOLED_LAYER, REFERENCE_VARIANT

DERIVED_DIR = "derived"
STORE_NAME = "stats.zarr.zip"
#: Bump when the store's layout changes: older stores are then stale. (A metric added, removed or
#: re-versioned in :mod:`paistats.stats.registry` makes them stale by itself: :func:`source_key`.)
DERIVED_VERSION = 1
_VARIANTS = {False: "original", True: "original_pruned"}
GRID = (VARIANT, "sparsity", SEED)


def derived_path(entry_dir: str | os.PathLike) -> Path:
    return Path(entry_dir) / DERIVED_DIR / STORE_NAME


#: What :func:`source_key` reads, relative to the entry: the root metadata and four small arrays.
_KEY_SOURCES = ("zarr.json", "variant", "sparsity", "seed", "complete")


def _key_signature(path: Path) -> tuple:
    """(file, mtime_ns, size, inode) of every file :func:`source_key` reads (≈ one per run: the
    ``complete`` chunks): it changes whenever a writer (which replaces files) could change the key."""
    out = []
    for part in _KEY_SOURCES:
        top = path / part
        if top.is_file():
            files = [top]
        else:
            files = sorted(Path(d) / f for d, _, fs in os.walk(top) for f in fs)
        for f in files:
            st = f.stat()
            out.append((str(f.relative_to(path)), st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(out)


def source_key(entry_dir: str | os.PathLike) -> str:
    """sha256 of what the statistics of the entry at ``entry_dir`` depend on: its format version,
    tensors, planned runs, grid labels and completion flags, and the registered metrics (names,
    versions, ratios: :func:`paistats.stats.registry.fingerprint`). Cached per version of the files
    it reads (one ``stat`` each) and of the registries, so that serving stored statistics does not
    read a chunk per run.

    Parameters
    ----------
    entry_dir : path-like
        The entry's directory.

    Returns
    -------
    str
        64 hex digits.
    """
    path = Path(entry_dir)
    metrics = fingerprint()
    try:
        signature = _key_signature(path)
    except OSError:
        return _source_key(path, metrics)  # the reader raises the error that says what is wrong
    return _cached_source_key(str(path), signature, metrics)


@functools.lru_cache(maxsize=256)
def _cached_source_key(path: str, signature: tuple, metrics: str) -> str:
    return _source_key(Path(path), metrics)


def _source_key(path: Path, metrics: str) -> str:
    from paistats.store.reader import open_group, read_root_attrs

    attrs = read_root_attrs(path)
    group = open_group(path)
    doc = {
        "derived_version": DERIVED_VERSION,
        "metrics": metrics,
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
        "metrics": fingerprint(), "entry": entry_dir.name,
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
        The entry's folder in a local zoo (its stored statistics are in :func:`derived_path`).
    group : str, optional
        One result (``"layer_stats"``, ``"distances/original"``, ``"noise_floor/original_pruned"``,
        …) as a Dataset (None when absent); default: the whole tree.
    fresh_only : bool, default True
        Return None when the entry changed since they were written (its ``source_key`` differs)
        or they were written by another version of the derived format.
    key : str, optional
        The entry's current :func:`source_key`, when the caller has it.

    Returns
    -------
    xarray.DataTree, xarray.Dataset or None
        The whole stored tree (``group=None``), or the one group as a Dataset, read into memory
        (string coordinates as plain ``str``; a group comes from a per-process cache, copied so
        the caller may modify it). None when nothing is stored, the group is absent, the stored
        statistics are stale (with ``fresh_only``) or the store cannot be read.
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
    """Directories of the entries behind ``obj``, from the encoding the reader records.

    :func:`paistats.store.reader.open_entry` sets ``encoding["source"]`` (the entry's folder) on the
    tree and on its ``complete`` variable; an arch stack of :func:`paistats.load` sets
    ``encoding["sources"]`` (one folder per pruner). Both survive ``.sel`` / ``.isel``; the variable's
    also a tree rebuilt from the root dataset.

    Parameters
    ----------
    obj : xarray.DataTree
        What :func:`paistats.load` returns, any node or selection of it.

    Returns
    -------
    list of pathlib.Path
        One folder per entry, in the order recorded; empty when nothing is recorded (a tree not
        read from a zoo: its statistics are then computed, never looked up).
    """
    root = obj.root if obj.parent is not None else obj
    enc = getattr(root, "encoding", None) or {}
    if enc.get("sources"):
        return [Path(p) for p in enc["sources"]]
    if enc.get("source"):
        return [Path(enc["source"])]
    flags = root.to_dataset(inherit=False).get("complete")
    source = flags.encoding.get("source") if flags is not None else None
    return [Path(source)] if source else []


class _Miss(Exception):
    """Why the store cannot serve a request (one line, shown by ``precomputed="require"``)."""


@dataclass(frozen=True)
class Selection:
    """The runs a tree holds, however the selection was spelled (scalar or list ``.sel``, ``.isel``,
    an entry or an arch stack).

    Attributes
    ----------
    coords : dict of str to numpy.ndarray
        The 1-d labels of ``variant``, ``sparsity`` and ``seed`` (a scalar selection: one label).
    scalars : tuple of str
        Dims selected by a scalar (absent from results, kept as scalar coordinates).
    pruners : tuple of str or None
        The pruning methods (``pruner`` coordinate, in order); None: one entry without one.
    dirs : tuple of pathlib.Path
        The entry directory of each pruner (one when ``pruners`` is None).
    """

    coords: dict
    scalars: tuple
    pruners: tuple | None
    dirs: tuple


def selection(obj: xr.DataTree) -> Selection:
    """The :class:`Selection` of ``obj``; raises ``_Miss`` (why) when it is not a selection of entries."""
    if not isinstance(obj, xr.DataTree):
        raise TypeError(f"expected what paistats.load returns (an xarray.DataTree, an arch stack or a .sel "
                        f"of them), got {type(obj).__name__}")
    if "mask" in obj.data_vars:
        raise _Miss("one layer node is always computed: pass the entry and select the layer of the result")
    if obj.parent is not None or "complete" not in obj.data_vars:
        raise _Miss("not the root of an entry or arch stack from paistats.load (no `complete` flags)")
    flags = obj["complete"]  # its labels only: the flags are not read
    extra = [d for d in flags.dims if d not in (PRUNER_DIM, *GRID)]
    if extra:
        raise _Miss(f"the runs have dims {extra} besides {PRUNER_DIM}, {', '.join(GRID)}")
    coords, scalars = {}, []
    for d in GRID:
        if d not in flags.coords:
            raise _Miss(f"the selection has no {d!r} coordinate")
        coords[d] = np.atleast_1d(flags[d].values)
        if d not in flags.dims:
            scalars.append(d)
    try:
        dirs = entry_dirs(obj)
    except (TypeError, ValueError):
        dirs = []
    if not dirs:
        raise _Miss("the tree records no entry directory (not from paistats.load)")
    if PRUNER_DIM not in flags.coords:
        if len(dirs) != 1:
            raise _Miss(f"the tree reads {len(dirs)} entries but has no {PRUNER_DIM!r} coordinate")
        return Selection(coords, tuple(scalars), None, (dirs[0],))
    pruners = tuple(str(p) for p in np.atleast_1d(flags[PRUNER_DIM].values))
    if PRUNER_DIM not in flags.dims:
        scalars.append(PRUNER_DIM)
    by_method = {_method_of(d): d for d in dirs}
    missing = [p for p in pruners if p not in by_method]
    if missing:
        raise _Miss(f"no entry of pruner {', '.join(missing)} among the tree's sources")
    return Selection(coords, tuple(scalars), pruners, tuple(by_method[p] for p in pruners))


def random_entry_dir(entry_dir: Path) -> Path | None:
    """The zoo's ``{arch}-{dataset}-random`` entry beside ``entry_dir`` (the one :func:`write_derived`
    takes the ratios to random pruning from), or None."""
    return _random_sibling(Path(entry_dir), _entry_attrs(Path(entry_dir)))


def random_entry(obj: xr.DataTree) -> xr.DataTree | None:
    """The ``random=`` that computing the distances of ``obj`` afresh uses when none is passed: the
    zoo's random entry, unless ``obj`` stacks the random pruner along ``pruner`` (then it is used)."""
    from paistats.store.reader import open_entry

    try:
        flags = complete_flags(obj)
        dirs = entry_dirs(obj)
    except (TypeError, ValueError):
        return None
    if PRUNER_DIM in flags.dims and RANDOM in [str(p) for p in flags[PRUNER_DIM].values]:
        return None
    try:
        rdir = random_entry_dir(dirs[0]) if dirs else None
        return open_entry(rdir) if rdir is not None else None
    except (OSError, ZooError):  # a broken random entry: computed without ratios (the store cannot serve)
        return None


def lookup(obj: xr.DataTree, kind: str, req: Request, *, random: xr.DataTree | None = None
           ) -> tuple[xr.Dataset | None, str]:
    """``(result, "")``: the stored result equal to computing ``kind`` of ``obj`` afresh (with
    ``random=`` or else :func:`random_entry`), for any spelling of the selection; ``(None, why)``
    when the store cannot serve it (``why``: one line)."""
    try:
        return _served(obj, kind, req, random), ""
    except _Miss as e:
        return None, str(e)
    except (OSError, ZooError) as e:  # an unreadable store or entry: computed (which reports a broken entry)
        return None, f"the stored statistics could not be read ({type(e).__name__}: {str(e)[:160]})"


def _check_request(req: Request) -> None:
    try:
        same = tuple(float(q) for q in req.quantiles) == tuple(QUANTILES)
    except (TypeError, ValueError):
        same = False
    if not same:
        raise _Miss(f"the store holds the quantiles {list(QUANTILES)}, not {list(req.quantiles)}")
    if req.bins != BINS:
        raise _Miss(f"the store holds bins={BINS}, not {req.bins}")
    if req.reference != REFERENCE_VARIANT:
        raise _Miss(f"the store holds distances to reference {REFERENCE_VARIANT!r}, not {req.reference!r}")


def _layer_list(obj: xr.DataTree) -> list[str]:
    names = _layer_names(obj)  # loaded with tensors=False: the recorded layers
    return names or [t["name"] for t in obj.attrs.get("tensors", []) if t.get("prunable")]


def _random_dir(sel: Selection, random: xr.DataTree | None) -> Path | None:
    """The random entry whose ratios a fresh computation would give (None: no ratios)."""
    sibling = random_entry_dir(sel.dirs[0])
    if random is None:
        return sibling
    given = entry_dirs(random)
    if len(given) != 1 or sibling is None or given[0].resolve() != sibling.resolve():
        raise _Miss("random_entry= is not the zoo's random entry that the stored ratios were computed with")
    return sibling


def _stored_part(entry_dir: Path, group: str, key: str, names: list[str], kind: str,
                 rdir: Path | None, rkey: str) -> xr.Dataset:
    """One entry's stored ``group``, checked fresh (and its ratios to random pruning)."""
    ds = read_derived(entry_dir, group, key=key)
    if ds is None:
        raise _Miss(f"{entry_dir.name} has no fresh stored statistics (absent, or the entry changed since): "
                    f"run `python -m paistats stats {entry_dir}`")
    if [str(x) for x in ds[LAYER].values] != [*names, POOLED_LAYER]:
        raise _Miss(f"the stored layers of {entry_dir.name} differ from the tree's")
    rnd = [v for v in ds.data_vars if v.endswith("_random") or v.endswith("_random_ratio")]
    if kind != "distances" or rdir is None:
        return ds.drop_vars(rnd)
    if not rnd or (_stored_attrs(entry_dir) or {}).get("random_key") != rkey:
        raise _Miss(f"the ratios to random pruning stored in {entry_dir.name} are absent or older than "
                    f"{rdir.name}: run `python -m paistats stats {entry_dir}`")
    return ds


def _seed_pairs(ds: xr.Dataset, seeds) -> xr.Dataset:
    """The stored noise floor's pairs of the selected ``seeds``, in the order computing gives them."""
    seeds = [s.item() if hasattr(s, "item") else s for s in seeds]
    if len(seeds) < 2:
        raise _Miss("the noise floor of fewer than two seeds is NaN by definition (computed, with a warning)")
    index = {(a, b): i for i, (a, b) in enumerate(zip(ds["seed_a"].values.tolist(), ds["seed_b"].values.tolist()))}
    want = list(itertools.combinations(seeds, 2))
    if any(p not in index for p in want):
        raise _Miss("the stored noise floor lacks seed pairs of the selection (select seeds in increasing order)")
    return ds.isel(seed_pair=[index[p] for p in want]).assign_coords(seed_pair=np.arange(len(want)))


def _select(ds: xr.Dataset, sel: Selection, kind: str) -> xr.Dataset:
    if kind == "noise_floor":
        ds = _seed_pairs(ds, sel.coords[SEED])
    want = {d: sel.coords[d] for d in GRID if d in ds.dims and not (kind == "noise_floor" and d == SEED)
            and not np.array_equal(ds[d].values, sel.coords[d])}
    return ds.reindex(want) if want else ds  # a label the entry lacks (a stack's outer join): NaN, as computing gives


def _stack(parts: list[xr.Dataset], pruners: tuple) -> xr.Dataset:
    """``parts`` (one per pruner, equal dims and coords) stacked along ``pruner`` (numpy: an
    ``xarray.concat`` of a few dozen variables cost more than the rest of serving them)."""
    first = parts[0]
    for p in parts[1:]:
        if set(p.data_vars) != set(first.data_vars) or any(
                not np.array_equal(p[c].values, first[c].values) for c in first.coords):
            raise _Miss("the stored results of the stacked entries differ in variables or labels")
    data = {v: ((PRUNER_DIM, *first[v].dims), np.stack([p[v].variable.transpose(*first[v].dims).values for p in parts]))
            for v in first.data_vars}
    coords = {c: first[c].variable for c in first.coords}
    coords[PRUNER_DIM] = (PRUNER_DIM, np.array(pruners, dtype=object))
    return xr.Dataset(data, coords=coords, attrs=first.attrs)


def _served(obj: xr.DataTree, kind: str, req: Request, random: xr.DataTree | None) -> xr.Dataset:
    _check_request(req)
    sel = selection(obj)
    if kind != "layer_stats" and req.reference not in [str(v) for v in sel.coords[VARIANT]]:
        raise _Miss(f"the reference variant {req.reference!r} is not selected")
    names = _layer_list(obj)
    if not names:
        raise _Miss("the tree records no prunable layer")
    group = "layer_stats" if kind == "layer_stats" else f"{kind}/{_VARIANTS[req.include_pruned]}"
    rdir = _random_dir(sel, random) if kind == "distances" else None
    keys = {d: source_key(d) for d in dict.fromkeys(sel.dirs)}
    rkey = source_key(rdir) if rdir is not None else ""
    parts = [_select(_stored_part(d, group, keys[d], names, kind, rdir, rkey), sel, kind) for d in sel.dirs]
    res = parts[0] if sel.pruners is None else _stack(parts, sel.pruners)
    res = res.assign_coords({d: v for d, v in sel.coords.items() if d in res.dims})
    res = res.assign_coords({LAYER: np.array([*names, POOLED_LAYER], dtype=object)})
    if "stage" in res.dims:
        res = res.assign_coords(stage=np.array([str(s) for s in res["stage"].values]))
    from paistats.stats._compute import _order

    res = _order(res).isel({d: 0 for d in sel.scalars if d in res.dims})
    if kind == "noise_floor":
        res = res.drop_vars([c for c in (VARIANT, SEED) if c in res.coords and c not in res.dims])
    label = entry_label(obj)
    res.attrs = {"entry": label} if kind == "layer_stats" else {
        "entry": label, "reference": req.reference, "include_pruned": req.include_pruned, "bins": int(req.bins)}
    res.attrs.update(source="stored", source_key="; ".join(f"{d.name}:{k}" for d, k in keys.items()),
                     source_reason="")
    return res


@functools.lru_cache(maxsize=256)
def _entry_attrs_at(path: str, mtime_ns: int) -> dict:
    from paistats.store.reader import read_root_attrs

    return read_root_attrs(Path(path))


def _entry_attrs(entry_dir: Path) -> dict:
    """The entry's root attributes (cached per version of its ``zarr.json``)."""
    return _entry_attrs_at(str(entry_dir), (Path(entry_dir) / "zarr.json").stat().st_mtime_ns)


def _method_of(entry_dir: Path) -> str:
    return str(_entry_attrs(entry_dir).get("method"))



__all__ = ["DERIVED_DIR", "STORE_NAME", "NotPrecomputedError", "Selection", "derived_path", "entry_dirs", "lookup",
           "random_entry", "random_entry_dir", "read_derived", "selection", "source_key", "write_derived"]
