"""The compacted (published) layout of an entry: the same Zarr v3 arrays, fewer and larger files.

While a zoo is built, every run writes shard files of its own (one per run per array): that is
what makes concurrent writers and kills safe, but a VGG-16 entry of the Frankle et al. grid then
holds ~50,000 files, far beyond what the Hugging Face Hub accepts (< 100,000 files per repository,
< 10,000 entries per folder). :func:`compact_entry` writes a copy of a finalized entry in which

- per-tensor arrays keep their inner chunks (one run's tensor, split into >= 1 MiB pieces for
  large tensors), so reading one run with Range requests still fetches only that run's bytes;
- shards grow along the grid dims (``seed``, then ``sparsity``, then ``variant``) up to
  :data:`COMPACT_SHARD_BYTES` of uncompressed data, so one file holds many runs;
- arrays without grid dims, and the small root variables, are one chunk each.

Nothing else changes (names, dims, dtypes, codecs, attributes, fill values), so
``paistats.load`` and ``xr.open_datatree(..., engine="zarr")`` read both layouts alike, and a
compacted entry loads to values identical to its build store.
"""
from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import uuid
import warnings
from pathlib import Path

import numpy as np
import zarr
from zarr.storage import LocalStore

from paistats.errors import ManifestError, StoreError
from paistats.store import layout
from paistats.store.manifest import entry_files, read_manifest, sha256_file, write_manifest

#: Uncompressed bytes a compacted shard holds at most (one file; the Hub stores it with Xet/LFS).
COMPACT_SHARD_BYTES = 128 << 20
#: Root attribute naming the layout of a compacted copy.
LAYOUT_ATTR = "layout"


def lead_count(dims) -> int:
    """Number of leading grid dims (``variant``, ``sparsity``, ``seed``) of an array."""
    n = 0
    for d in dims:
        if d not in layout.GRID_DIMS:
            break
        n += 1
    return n


def compact_shards(shape: tuple[int, ...], chunks: tuple[int, ...], n_lead: int, itemsize: int,
                   cap: int = COMPACT_SHARD_BYTES) -> tuple[int, ...]:
    """Shard shape of an array in the compacted layout.

    Whole extent along the trailing (tensor) dims; along the leading grid dims the inner chunk
    grown, last grid dim first, while the shard holds at most ``cap`` uncompressed bytes
    (at least one inner chunk along each dim).
    """
    shard = [max(1, c) for c in chunks]
    for d in range(n_lead, len(shape)):
        shard[d] = max(shard[d], math.ceil(shape[d] / shard[d]) * shard[d])
    for axis in reversed(range(n_lead)):
        cell = itemsize * math.prod(shard)
        fit = max(1, cap // max(cell, 1))
        full = math.ceil(shape[axis] / shard[axis]) * shard[axis]
        shard[axis] = min(full, shard[axis] * fit)
        if shard[axis] < full:
            break
    return tuple(shard)


def _target(array: zarr.Array, cap: int) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """(inner chunks, shards or None) of ``array`` in the compacted layout."""
    shape = tuple(array.shape)
    dims = tuple(array.metadata.dimension_names or ())
    itemsize = max(1, np.dtype(array.dtype).itemsize) if np.dtype(array.dtype).kind not in "OUT" else 64
    nbytes = itemsize * math.prod(shape)
    n_lead = lead_count(dims)
    whole = tuple(max(1, n) for n in shape)
    root_like = all(d in layout.GRID_DIMS or d == "epoch" for d in dims)  # run variables, histories
    if not shape or (nbytes <= (1 << 20) and (n_lead == 0 or root_like)):
        return whole, None
    if n_lead == 0:
        return (whole, None) if nbytes <= cap else (tuple(array.chunks), None)
    inner = tuple(array.chunks)
    shard = compact_shards(shape, inner, n_lead, itemsize, cap)
    return inner, (shard if shard != inner else None)


def _copy_array(src: zarr.Array, dst_group: zarr.Group, rel: str, cap: int) -> None:
    chunks, shards = _target(src, cap)
    meta = src.metadata
    dst = dst_group.create_array(
        rel, shape=src.shape, dtype=src.dtype, chunks=chunks, shards=shards,
        compressors=src.compressors or None, fill_value=meta.fill_value,
        dimension_names=meta.dimension_names, attributes=dict(src.attrs),
        config={"write_empty_chunks": False},
    )
    if not src.shape:
        dst[...] = src[...]
        return
    step = shards or chunks
    n_lead = lead_count(meta.dimension_names or ())
    # one shard (or chunk) at a time along the grid dims, whole along the others: memory stays
    # within one shard; arrays without grid dims go chunk by chunk
    n_iter = n_lead or len(src.shape)
    for start in itertools.product(*(range(0, n, s) for n, s in zip(src.shape[:n_iter], step))):
        region = tuple(slice(a, min(a + s, n)) for a, s, n in zip(start, step, src.shape)) + (slice(None),) * (
            len(src.shape) - n_iter)
        dst[region] = src[region]


def _members(group: zarr.Group):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*not recognized as a component.*")
        return sorted(group.members(max_depth=None), key=lambda kv: kv[0])


def compact_entry(src: str | os.PathLike, dst: str | os.PathLike, *, cap: int = COMPACT_SHARD_BYTES) -> Path:
    """Write the compacted copy of the finalized entry ``src`` to ``dst`` (replaced if present).

    Parameters
    ----------
    src : path-like
        A finalized entry (build layout; it has a ``manifest.json``).
    dst : path-like
        Folder of the copy; written beside it under a temporary name, then renamed into place.
    cap : int
        Uncompressed bytes per shard file (:data:`COMPACT_SHARD_BYTES`).

    Returns
    -------
    pathlib.Path
        ``dst``, holding a finalized entry (its own ``manifest.json``, ``layout: "compact"``).

    Raises
    ------
    ManifestError
        ``src`` is not finalized.
    StoreError
        ``src`` changed while it was copied (a run was written): finalize it and retry.
    """
    from paistats.store.writer import consolidate

    src, dst = Path(src), Path(dst)
    source_manifest = read_manifest(src)
    manifest_bytes = (src / layout.MANIFEST_FILE).read_bytes()
    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex[:8]}.partial")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
            warnings.filterwarnings("ignore", message=".*not recognized as a component.*")
            warnings.filterwarnings("ignore", message=".*does not have a Zarr V3 specification.*")
            source = zarr.open_group(LocalStore(src, read_only=True), mode="r", use_consolidated=False)
            attrs = dict(source.attrs) | {LAYOUT_ATTR: "compact"}
            out = zarr.open_group(LocalStore(tmp), mode="w", zarr_format=3, attributes=attrs)
            for rel, node in _members(source):
                if isinstance(node, zarr.Group):
                    out.create_group(rel, attributes=dict(node.attrs))
                else:
                    _copy_array(node, out, rel, cap)
        consolidate(tmp)
        # stores nested outside the entry's Zarr hierarchy (derived statistics) travel as they are
        for extra in sorted(p for p in src.iterdir() if p.is_dir() and not (p / "zarr.json").is_file()):
            shutil.copytree(extra, tmp / extra.name, ignore=shutil.ignore_patterns("*.partial"))
        manifest_now = src / layout.MANIFEST_FILE
        if not manifest_now.is_file() or manifest_now.read_bytes() != manifest_bytes:
            raise StoreError(f"{src} changed while it was compacted (a run was written): finalize it and retry")
        files = {rel: {"size": (tmp / rel).stat().st_size, "sha256": sha256_file(tmp / rel)} for rel in entry_files(tmp)}
        write_manifest(tmp, attrs.get("entry", src.name), files, complete_runs=source_manifest.get("complete_runs", 0),
                       created=source_manifest.get("created"), layout_name="compact")
        if dst.exists():
            shutil.rmtree(dst)
        os.replace(tmp, dst)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return dst


def snapshot(zoo_dir: str | os.PathLike, entry: str, out_root: str | os.PathLike | None = None) -> Path:
    """The compacted snapshot of ``entry`` of ``zoo_dir``, made only when the entry changed.

    Snapshots live in ``<zoo>/.builder/publish/<entry>/`` (never published themselves: ``push``
    uploads their content); ``<entry>.source.json`` beside each records the sha256 of the build
    store's manifest it was made from.

    Raises
    ------
    ManifestError
        The entry is not finalized.
    """
    from paistats.names import check_name

    src = Path(zoo_dir) / check_name(entry)
    root = Path(out_root) if out_root is not None else Path(zoo_dir) / layout.BUILDER_DIR / "publish"
    dst = root / entry
    marker = root / f"{entry}.source.json"
    if not (src / layout.MANIFEST_FILE).is_file():
        raise ManifestError(f"{src} is not finalized (no {layout.MANIFEST_FILE}): run `python -m zoo_builder` to "
                            "finish it, or zoo_builder.store.finalize")
    source_sha = sha256_file(src / layout.MANIFEST_FILE)
    try:
        if json.loads(marker.read_text())["manifest_sha256"] == source_sha and (dst / layout.MANIFEST_FILE).is_file():
            return dst
    except (OSError, ValueError, KeyError):
        pass
    root.mkdir(parents=True, exist_ok=True)
    compact_entry(src, dst)
    marker.write_text(json.dumps({"manifest_sha256": source_sha}))
    return dst


# ---------------------------------------------------------------------------------------------
# file counts (computed from a plan, without writing anything)
# ---------------------------------------------------------------------------------------------

def file_counts(tensors, sizes: dict[str, int], *, runs: int | None = None, iterative: bool = False,
                score_dtype: str = "float32", cap: int = COMPACT_SHARD_BYTES) -> dict[str, int]:
    """Files an entry holds when every planned run is complete, in both layouts.

    Parameters
    ----------
    tensors : sequence of :class:`~paistats.store.plan.TensorSpec`
    sizes : dict
        Length of ``variant``, ``sparsity``, ``seed`` and ``epoch``.
    runs : int, optional
        Planned runs (default: every cell of the grid); per-run arrays of the build layout hold
        one file per run.

    Returns
    -------
    dict
        ``build`` and ``compact`` (files, metadata and manifest included; counts the data files
        of every grid cell, an upper bound where runs store fill values only), and
        ``compact_max_folder`` (most entries in one folder of the compacted layout).
    """
    from paistats.store.writer import _layouts

    lays = list(_layouts(list(tensors), sizes, score_dtype, iterative))
    groups = {t.name if t.prunable else f"{layout.STATE_GROUP}/{t.name}" for t in tensors}
    if any(not t.prunable for t in tensors):
        groups.add(layout.STATE_GROUP)
    meta = 1 + len(groups) + len(lays) + 4 + 1  # root, groups, arrays, coords, manifest
    build = compact = meta + 4  # one chunk per coordinate array
    n_state = sum(not t.prunable for t in tensors)
    n_root = len(layout.ROOT_VARS) + 4 + sum(t.prunable for t in tensors) + (n_state > 0) + 2
    max_folder = max(n_root, n_state + 1, len(layout.PRUNABLE_ARRAYS) + 1)
    for lay in lays:
        n_lead = lead_count(lay.dims)
        cells = math.prod(lay.shape[:n_lead]) if n_lead else 1
        if runs is not None and n_lead == len(layout.GRID_DIMS):
            cells = min(cells, runs)
        if lay.tensor:
            build += cells
            itemsize = np.dtype(lay.dtype).itemsize
            shard = compact_shards(lay.shape, lay.chunks, n_lead, itemsize, cap)
            per_dim = [math.ceil(n / s) for n, s in zip(lay.shape[:n_lead], shard[:n_lead])]
            compact += math.prod(per_dim)
            max_folder = max(max_folder, *per_dim) if per_dim else max_folder
        else:  # root variable: one chunk per run in the build layout, one chunk when compacted
            build += cells
            compact += 1
    return {"build": build, "compact": compact, "compact_max_folder": max_folder}
