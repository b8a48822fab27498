"""Lazy reading of an entry into an :class:`xarray.DataTree` backed by dask.

Opening reads metadata only: the root ``zarr.json`` (which carries consolidated metadata of every
array) and the four small coordinate arrays. Each tensor array becomes a dask array with one dask
chunk per Zarr shard (one run), so selecting a run reads one file. Reads go through
:class:`_SafeArray`: local chunks and shards straight from their files (:mod:`paistats.store.chunk_files`),
everything else, and anything those cannot read, through zarr and :class:`CheckedStore`, which turn
decoding failures and missing files into one-line :class:`~paistats.errors.CorruptChunkError` /
:class:`~paistats.errors.MissingChunkError`.
"""
from __future__ import annotations

import itertools
import json
import math
import os
import warnings
from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr
import zarr
from dask.base import tokenize
from zarr.storage import LocalStore, WrapperStore

from paistats.errors import CorruptChunkError, MissingChunkError, TruncatedStoreError, ZooError
from paistats.store import chunk_files, layout
from paistats.store.layout import check_format
from paistats.vocabulary import SEED, SPARSITY, VARIANT

#: Dtype kinds an entry may hold (numbers, bools, strings); anything else is refused.
_ALLOWED_KINDS = "biufcOUT"


class CheckedStore(WrapperStore):
    """Read-only store that raises :class:`MissingChunkError` when a file listed in the entry's
    manifest is absent (instead of silently returning the fill value)."""

    def __init__(self, store, entry_path: str | os.PathLike | None = None) -> None:
        super().__init__(store)
        self._entry_path = str(entry_path if entry_path is not None else store.root)
        self._listed: set[str] | None = None

    def _with_store(self, store):
        return type(self)(store, self._entry_path)

    def _manifest_files(self) -> set[str]:
        if self._listed is None:
            try:
                doc = json.loads((Path(self._entry_path) / layout.MANIFEST_FILE).read_text())
                self._listed = set(doc.get("files", {}))
            except (OSError, ValueError, AttributeError):
                self._listed = set()
        return self._listed

    async def get(self, key, prototype=None, byte_range=None):
        buf = await self._store.get(key, prototype, byte_range)
        if buf is None and not key.endswith("zarr.json") and key in self._manifest_files():
            raise MissingChunkError(
                f"{Path(self._entry_path).name}/{key} is missing although the entry's manifest lists it: "
                f"run `python -m paistats verify {self._entry_path}` or re-download the entry")
        return buf

    def __getstate__(self):
        return {"store": self._store, "entry_path": self._entry_path}

    def __setstate__(self, state):
        self.__init__(state["store"], state["entry_path"])


class _SafeArray:
    """Array-like over a Zarr array whose reads fail with one-line zoo errors."""

    def __init__(self, array: zarr.Array, entry_path: str, rel: str) -> None:
        self.array = array
        self.entry_path = entry_path
        self.rel = rel
        self.shape = tuple(array.shape)
        self.dtype = np.dtype(array.dtype)
        self.ndim = len(self.shape)
        self.shard = tuple(array.shards or array.chunks)
        self._files: chunk_files.ChunkFiles | None | bool = False  # False: not planned yet

    def __getitem__(self, key):
        if DIRECT_READS and isinstance(key, tuple) and len(key) == self.ndim and all(
                isinstance(k, slice) and k.step in (None, 1) for k in key):
            if self._files is False:
                self._files = self._plan()
            out = self._files.read(key) if self._files is not None else None
            if out is not None:
                return out
        try:
            return np.asarray(self.array[key])
        except ZooError:
            raise
        except Exception as e:  # zarr/numcodecs decode errors have many types
            raise self._locate(key, e) from None

    def _plan(self) -> chunk_files.ChunkFiles | None:
        store = self.array.store
        listed = store._manifest_files() if isinstance(store, CheckedStore) else set()
        inner = store._store if isinstance(store, WrapperStore) else store
        return chunk_files.plan(self.array, inner, frozenset(listed))

    def _locate(self, key, error: Exception) -> CorruptChunkError:
        """Name the shard that fails: a dask chunk can span several shards, so retry shard by shard."""
        key = key if isinstance(key, tuple) else (key,)
        ranges = [range(*k.indices(n)) if isinstance(k, slice) else range(int(k), int(k) + 1)
                  for k, n in zip(key, self.shape)]
        ranges += [range(n) for n in self.shape[len(ranges):]]
        starts = tuple(r.start if len(r) else 0 for r in ranges)
        lead = [range(r.start, r.stop, s) if s == 1 else range(r.start, r.stop, s)
                for r, s in zip(ranges, self.shard)]
        for start in itertools.product(*lead):
            try:
                self.array[tuple(slice(a, min(a + s, n)) for a, s, n in zip(start, self.shard, self.shape))]
            except Exception as e:  # noqa: BLE001
                starts, error = start, e
                break
        where = layout.shard_key(self.rel, starts, self.shard)
        first = (str(error).splitlines() or [""])[0][:160]
        return CorruptChunkError(
            f"cannot read {Path(self.entry_path).name}/{where} ({type(error).__name__}: {first}): the file is "
            f"corrupt or truncated; run `python -m paistats verify {self.entry_path}` or re-download the entry"
        )


#: Read local chunks and shards from their files (:mod:`paistats.store.chunk_files`) rather than
#: through zarr's per-call machinery: the same values, about 2× faster reads. Set False to read
#: every chunk through zarr (e.g. to compare).
DIRECT_READS = True

#: Dask chunks of per-run arrays group several runs up to about this many bytes: one task then
#: reads several shards through one Zarr call, which fetches and decodes them concurrently (per-run
#: tasks spent most of their time in per-call overhead: 0.41 of raw-file speed from disk; 4 MiB
#: groups 0.63, no better at 64 MiB). Kept small because dask reads a whole chunk even when one
#: run is selected.
DASK_CHUNK_BYTES = 4 << 20


def dask_chunks(shape: tuple[int, ...], shard: tuple[int, ...], itemsize: int, n_lead: int) -> tuple[int, ...]:
    """Dask chunks: the shard, grown along the leading (grid) dims, last first, while the chunk
    stays within :data:`DASK_CHUNK_BYTES` (always at least one shard)."""
    chunks = list(max(1, c) for c in shard)
    for axis in reversed(range(n_lead)):
        cell = itemsize * int(np.prod(chunks))
        grow = max(1, DASK_CHUNK_BYTES // max(cell, 1))
        chunks[axis] = int(min(shape[axis], chunks[axis] * grow)) or 1
        if grow == 1 or chunks[axis] < shape[axis]:
            break
    return tuple(chunks)


def _lazy(array: zarr.Array, entry_path: str, rel: str, whole: bool) -> da.Array:
    safe = _SafeArray(array, entry_path, rel)
    if not safe.ndim:
        chunks = ()
    elif whole:
        chunks = tuple(max(1, c) for c in safe.shape)
    else:
        n_lead = sum(1 for d in (array.metadata.dimension_names or ()) if d in layout.GRID_DIMS)
        # one run's whole tensor, grown over runs: the same dask chunks for the per-run build
        # layout and the compacted (many runs per shard) published one
        run_cell = (1,) * n_lead + safe.shape[n_lead:]
        chunks = dask_chunks(safe.shape, run_cell, safe.dtype.itemsize, n_lead)
    name = "paistats-" + tokenize(entry_path, rel, safe.shape, str(safe.dtype))
    return da.from_array(safe, chunks=chunks, name=name, lock=False, asarray=False, fancy=False,
                         meta=np.empty((0,) * safe.ndim, dtype=safe.dtype if safe.dtype.kind != "T" else object))


def read_root_attrs(path: Path) -> dict:
    """Root attributes of the entry at ``path`` (one small JSON read; format checked)."""
    meta = path / "zarr.json"
    if not meta.is_file():
        raise TruncatedStoreError(f"{path} is not a complete zoo entry (no zarr.json): re-download it")
    try:
        attrs = json.loads(meta.read_text())["attributes"]
    except (OSError, ValueError, KeyError, TypeError):
        raise TruncatedStoreError(f"{meta} is unreadable (truncated download?): re-download the entry") from None
    check_format(attrs, path.name)
    return attrs


def open_group(path: Path) -> zarr.Group:
    """The entry's root group, read-only, through :class:`CheckedStore`."""
    store = CheckedStore(LocalStore(path, read_only=True), path)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*not recognized as a component.*")
            return zarr.open_group(store, mode="r", use_consolidated=None)
    except ZooError:
        raise
    except Exception as e:
        raise TruncatedStoreError(f"cannot open {path} as a zoo entry ({type(e).__name__}): re-download it") from None


def open_entry(path: str | os.PathLike, *, tensors: bool = True) -> xr.DataTree:
    """Lazily open the entry at ``path``.

    Parameters
    ----------
    path : path-like
        The entry's folder (build or compacted layout).
    tensors : bool
        False: only the root variables and the derived statistics (no per-tensor nodes), e.g. for
        a Hub entry whose tensors were not downloaded.

    Returns
    -------
    xarray.DataTree
        Root: coords ``variant``, ``sparsity``, ``seed``, ``epoch`` and the run variables
        (``complete``, ``accuracy``, ``density``, ``seconds``, ``test_accuracy``, ``test_loss``,
        ``train_loss``); one child per prunable tensor (``init``, ``reinit``, ``score``, ``mask``,
        ``trained``); ``state/<name>`` for every other parameter and buffer. Attributes: the
        entry's provenance. Everything but the coordinates is a dask array.

    Raises
    ------
    TruncatedStoreError, UnsupportedFormatError
    """
    path = Path(path)
    attrs = read_root_attrs(path)
    group = open_group(path)
    entry_path = str(path)
    try:
        members = dict(group.members(max_depth=None))
        coords = {d: np.asarray(members[d][...]) for d in (*layout.GRID_DIMS, "epoch")}
    except ZooError:
        raise
    except Exception as e:
        raise TruncatedStoreError(f"{path} lacks coordinates or metadata ({type(e).__name__}: "
                                  f"{str(e)[:120]}): re-download the entry") from None
    coords[VARIANT] = np.array([str(v) for v in coords[VARIANT]], dtype=object)
    datasets: dict[str, dict] = {"/": {}}
    group_attrs: dict[str, dict] = {"/": attrs}
    tensor_groups = {t["name"] if t["prunable"] else layout.STATE_GROUP for t in attrs["tensors"]}
    for rel, node in members.items():
        if not tensors and rel.split("/", 1)[0] in tensor_groups:
            continue
        if isinstance(node, zarr.Group):
            datasets.setdefault("/" + rel, {})
            group_attrs["/" + rel] = dict(node.attrs)
            continue
        if rel in coords:
            continue
        if node.dtype.kind not in _ALLOWED_KINDS:
            raise TruncatedStoreError(f"{path.name}/{rel} has unsupported dtype {node.dtype}: not a paistats entry")
        parent, _, var = rel.rpartition("/")
        dims = tuple(node.metadata.dimension_names or ())
        if len(dims) != node.ndim:
            raise TruncatedStoreError(f"{path.name}/{rel} lacks dimension names: not a paistats entry")
        data = _lazy(node, entry_path, rel, whole=not parent)
        datasets.setdefault("/" + parent if parent else "/", {})[var] = xr.Variable(dims, data, dict(node.attrs))
    expected = {t["name"] if t["prunable"] else f"{layout.STATE_GROUP}/{t['name']}" for t in attrs["tensors"]}
    missing = sorted(g for g in expected if "/" + g not in datasets) if tensors else []
    if missing or set(layout.ROOT_VARS) - set(datasets["/"]):
        raise TruncatedStoreError(f"{path} is incomplete (missing {', '.join(missing[:3]) or 'root variables'}): "
                                  "re-download the entry")
    order = {name: i for i, name in enumerate([*layout.ROOT_VARS, *layout.PRUNABLE_ARRAYS])}
    datasets = {p: dict(sorted(v.items(), key=lambda kv: order.get(kv[0], 99))) for p, v in datasets.items()}
    root_coords = {d: xr.Variable((d,), v, {"units": "fraction"} if d == SPARSITY else {}) for d, v in coords.items()}
    tree = xr.DataTree.from_dict({
        p: xr.Dataset(vars_, coords=root_coords if p == "/" else None, attrs=group_attrs.get(p, {}))
        for p, vars_ in sorted(datasets.items(), key=lambda kv: kv[0].count("/") + (kv[0] != "/"))
    }, name=attrs.get("entry"))
    tree = _sorted(tree)
    # where the data came from (the precomputed statistics live there): on the tree, and on the run
    # flags, which keep it through operations that rebuild the tree from its root dataset
    tree.encoding = {"source": entry_path}
    tree["complete"].encoding["source"] = entry_path
    return tree


def _sorted(tree: xr.DataTree) -> xr.DataTree:
    """Sort ``sparsity`` and ``seed`` (labels appended by growth may be out of order)."""
    order = {}
    for dim in (SPARSITY, SEED):
        values = tree[dim].values
        if values.size > 1 and np.any(np.diff(values) < 0):
            order[dim] = np.argsort(values, kind="stable")
    if not order:
        return tree
    return tree.map_over_datasets(lambda ds: ds.isel({d: o for d, o in order.items() if d in ds.dims}))
