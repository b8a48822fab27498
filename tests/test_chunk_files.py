"""Direct reads of unsharded local chunk files (paistats.store.chunk_files) give what zarr gives."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec, BytesCodec, ZstdCodec
from zarr.storage import LocalStore, MemoryStore

from paistats.store import chunk_files, reader

CODECS = {"zstd": ZstdCodec(level=3, checksum=True), "blosc": BloscCodec(cname="zstd", clevel=5, shuffle="bitshuffle")}


def _array(tmp_path, dtype, codec="zstd", shape=(3, 5, 7), chunks=(1, 2, 7), **kw):
    store = LocalStore(tmp_path / "a")
    rng = np.random.default_rng(0)
    values = (rng.random(shape) > 0.5) if dtype == "bool" else (rng.standard_normal(shape) * 100).astype(dtype)
    arr = zarr.create_array(store, name="x", shape=shape, chunks=chunks, dtype=dtype,
                            compressors=[CODECS[codec]], fill_value=kw.pop("fill_value", None), **kw)
    arr[...] = values
    return store, zarr.open_array(store, path="x", mode="r"), values


def _slices(shape, n=120):
    """``n`` of the slices whose bounds are 0, 1, the middle, n - 1 or n on each axis (chunk edges
    inside, across and at the array's end); the first is the whole array."""
    cuts = [sorted({0, n, n // 2, max(0, n - 1), 1}) for n in shape]
    every = list(itertools.product(*[list(itertools.combinations(c, 2)) for c in cuts]))
    pick = np.random.default_rng(1).choice(len(every), size=min(n, len(every)), replace=False)
    yield tuple(slice(0, n) for n in shape)
    for i in pick:
        yield tuple(slice(a, b) for a, b in every[i])


@pytest.mark.parametrize("dtype,codec", [("float32", "zstd"), ("float64", "zstd"), ("int16", "zstd"),
                                         ("bool", "blosc"), ("float32", "blosc")])
def test_every_slice_equals_zarr_including_edge_chunks(tmp_path, dtype, codec):
    store, arr, values = _array(tmp_path, dtype, codec)
    files = chunk_files.plan(arr, store, frozenset())
    assert files is not None
    n = 0
    for key in _slices(arr.shape):
        got = files.read(key)
        want = arr[key]
        assert got.dtype == want.dtype and got.shape == want.shape, key
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(got, values[key])
        n += 1
    assert n > 100


def test_absent_file_reads_as_the_fill_value_unless_the_manifest_lists_it(tmp_path):
    store, arr, values = _array(tmp_path, "float32", fill_value=np.nan)
    (tmp_path / "a" / "x" / "c" / "1" / "0" / "0").unlink()
    key = (slice(0, 3), slice(0, 5), slice(0, 7))
    got = chunk_files.plan(arr, store, frozenset()).read(key)
    np.testing.assert_array_equal(got, arr[key])  # NaN where zarr reads the fill value
    assert np.isnan(got[1, 0:2]).all() and not np.isnan(got[0]).any()
    assert chunk_files.plan(arr, store, frozenset({"x/c/1/0/0"})).read(key) is None


def test_a_file_that_does_not_decode_is_left_to_zarr(tmp_path):
    store, arr, _ = _array(tmp_path, "float32")
    path = tmp_path / "a" / "x" / "c" / "0" / "1" / "0"
    path.write_bytes(path.read_bytes()[:-9])
    files = chunk_files.plan(arr, store, frozenset())
    assert files.read((slice(0, 1), slice(2, 4), slice(0, 7))) is None
    assert files.read((slice(1, 2), slice(2, 4), slice(0, 7))) is not None  # other chunks still read directly


def test_what_zarr_must_read_gets_no_plan(tmp_path):
    store, arr, _ = _array(tmp_path / "s", "float32", shards=(1, 4, 7))
    assert chunk_files.plan(arr, store, frozenset()) is None
    store, arr, _ = _array(tmp_path / "b", "float32", serializer=BytesCodec(endian="big"))
    assert chunk_files.plan(arr, store, frozenset()) is None
    mem = MemoryStore()
    arr = zarr.create_array(mem, name="x", shape=(2, 3), chunks=(1, 3), dtype="float32")
    assert chunk_files.plan(arr, mem, frozenset()) is None


def test_the_loader_reads_directly_and_gives_the_same_values(tmp_path, monkeypatch):
    """paistats' lazy arrays take the direct path (zarr is not called) and agree with zarr's."""
    store, arr, values = _array(tmp_path, "float32")
    safe = reader._SafeArray(arr, str(tmp_path / "a"), "x")
    calls = []
    monkeypatch.setattr(type(arr), "__getitem__", lambda self, key: calls.append(key) or values[key])
    key = (slice(0, 2), slice(1, 5), slice(0, 7))
    np.testing.assert_array_equal(safe[key], values[key])
    assert calls == []
    monkeypatch.setattr(reader, "DIRECT_READS", False)
    np.testing.assert_array_equal(safe[key], values[key])
    assert calls == [key]
