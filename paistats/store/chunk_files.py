"""Reading unsharded local chunks straight from their files.

zarr 3's synchronous ``Array.__getitem__`` costs about 1 ms a call however little it reads (its
event loop, a thread hop and a codec pipeline per call; a 940 KB chunk's decoding is 0.3 ms of 1.2).
The entries a build writes locally are one chunk file per run and tensor, ``bytes`` + ``zstd`` or
``blosc``: for those, a slice is read by opening each chunk file and decoding it with numcodecs
(the codecs zarr itself uses), which brings the I/O floor of the mini zoo from 1.6 s to 0.7 s and its
statistics from 3.8 s to 2.6 s. Anything else (shards, other codecs or key encodings, big-endian
bytes, a store that is not a :class:`zarr.storage.LocalStore`, a key that is not a tuple of unit-step
slices) is left to zarr: :func:`plan` returns None, or :meth:`ChunkFiles.read` returns None.

A chunk file that is absent reads as the array's fill value, as zarr reads it, unless the entry's
manifest lists it (then the caller's zarr path raises :class:`~paistats.errors.MissingChunkError`);
a file that fails to decode is likewise handed back to zarr, whose error the caller reports.
"""
from __future__ import annotations

import itertools
import os
from dataclasses import dataclass

import numcodecs
import numpy as np
import zarr
from zarr.storage import LocalStore

_CODECS = {"zstd": numcodecs.Zstd, "blosc": numcodecs.Blosc}  # both decode any level and shuffle


@dataclass(frozen=True)
class ChunkFiles:
    """Where an unsharded array's chunk files are and how to decode them."""

    folder: str  #: the array's folder (its chunk files are under ``folder/c/``)
    key_prefix: str  #: the array's path in the store (``listed`` holds ``key_prefix/c/i/j/...``)
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype  #: the array's (native byte order)
    stored: np.dtype  #: the bytes' (little-endian)
    fill_value: object
    codec: object
    listed: frozenset  #: store keys of the files the entry's manifest lists

    def read(self, key: tuple) -> np.ndarray | None:
        """``array[key]`` for a tuple of unit-step slices, one per dimension; None when zarr must
        read it (a listed file is missing, a file does not decode)."""
        spans = [k.indices(n)[:2] for k, n in zip(key, self.shape)]
        out = np.empty(tuple(max(0, b - a) for a, b in spans), dtype=self.dtype)
        grid = [range(a // c, (b - 1) // c + 1) if b > a else range(0) for (a, b), c in zip(spans, self.chunks)]
        for index in itertools.product(*grid):
            origin = [i * c for i, c in zip(index, self.chunks)]
            src = tuple(slice(max(a, o) - o, min(b, o + c) - o) for (a, b), o, c in zip(spans, origin, self.chunks))
            dst = tuple(slice(max(a, o) - a, min(b, o + c) - a) for (a, b), o, c in zip(spans, origin, self.chunks))
            names = [str(i) for i in index]
            try:
                with open(os.path.join(self.folder, "c", *names), "rb") as f:
                    raw = f.read()
            except FileNotFoundError:
                if "/".join([self.key_prefix, "c", *names]) in self.listed:
                    return None
                out[dst] = self.fill_value
                continue
            try:
                chunk = np.frombuffer(self.codec.decode(raw), dtype=self.stored).reshape(self.chunks)
            except Exception:  # noqa: BLE001 - numcodecs raises several types; zarr's read names the error
                return None
            out[dst] = chunk[src]
        return out


def plan(array: zarr.Array, store, listed: frozenset) -> ChunkFiles | None:
    """How to read ``array`` from its files, or None when zarr must (see the module's docstring).

    Parameters
    ----------
    array : zarr.Array
        Opened from ``store``.
    store : zarr.abc.store.Store
        The store under any wrapper: only a :class:`zarr.storage.LocalStore` is read directly.
    listed : frozenset of str
        Store keys of the chunk files the entry's manifest lists.
    """
    try:
        meta = array.metadata
        if not isinstance(store, LocalStore) or array.shards is not None or not array.ndim:
            return None
        codecs = [c.to_dict() for c in meta.codecs]
        names = [c["name"] for c in codecs]
        if len(names) != 2 or names[0] != "bytes" or names[1] not in _CODECS:
            return None
        endian = codecs[0].get("configuration", {}).get("endian", "little")
        dtype = np.dtype(array.dtype)
        if dtype.kind not in "biuf" or (endian != "little" and dtype.itemsize > 1):
            return None
        if meta.chunk_key_encoding.to_dict() != {"name": "default", "configuration": {"separator": "/"}}:
            return None
        return ChunkFiles(folder=os.path.join(str(store.root), *array.path.split("/")), key_prefix=array.path,
                          shape=tuple(array.shape), chunks=tuple(array.chunks), dtype=dtype,
                          stored=dtype.newbyteorder("<"), fill_value=np.asarray(meta.fill_value, dtype=dtype),
                          codec=_CODECS[names[1]](), listed=listed)
    except Exception:  # noqa: BLE001 - metadata zarr does not describe as above: zarr reads it
        return None
