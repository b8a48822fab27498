"""Direct reads of local chunk and shard files (paistats.store.chunk_files) give what zarr gives."""
from __future__ import annotations

import itertools
import shutil

import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec, BytesCodec, ShardingCodec, ZstdCodec
from zarr.storage import LocalStore, MemoryStore

from paistats.store import chunk_files, reader

CODECS = {"zstd": ZstdCodec(level=3, checksum=True), "blosc": BloscCodec(cname="zstd", clevel=5, shuffle="bitshuffle")}


def _array(tmp_path, dtype, codec="zstd", shape=(3, 5, 7), chunks=(1, 2, 7), **kw):
    store = LocalStore(tmp_path / "a")
    rng = np.random.default_rng(0)
    values = (rng.random(shape) > 0.5) if dtype == "bool" else (rng.standard_normal(shape) * 100).astype(dtype)
    fill = kw.pop("fill_value", None)
    if "index_location" in kw:  # a sharding codec of our own: create_array puts the index at the end
        inner = ShardingCodec(chunk_shape=chunks, codecs=[BytesCodec(), CODECS[codec]],
                              index_location=kw.pop("index_location"))
        kw = {"serializer": inner, "compressors": None, "chunks": kw.pop("shards"), **kw}
    else:
        kw = {"chunks": chunks, "compressors": [CODECS[codec]], **kw}
    arr = zarr.create_array(store, name="x", shape=shape, dtype=dtype, fill_value=fill, **kw)
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


@pytest.mark.parametrize("where", ["end", "start"])
@pytest.mark.parametrize("dtype,codec", [("float32", "zstd"), ("bool", "blosc")])
def test_shards_every_slice_equals_zarr_with_empty_chunks(tmp_path, dtype, codec, where):
    """Compacted entries: several chunks per shard file (index at either end); chunks that equal the
    fill value are not stored (the index marks them empty) and read as it."""
    store, arr, values = _array(tmp_path, dtype, codec, shape=(5, 5, 7), chunks=(1, 2, 7), shards=(2, 4, 7),
                                fill_value=False if dtype == "bool" else 0.0, index_location=where)
    writable = zarr.open_array(store, path="x", mode="r+")
    writable[1, 0:2] = writable.fill_value  # an empty chunk inside a stored shard
    shutil.rmtree(tmp_path / "a" / "x" / "c" / "2")  # the last row of shards: no file at all
    arr = zarr.open_array(store, path="x", mode="r")
    files = chunk_files.plan(arr, store, frozenset())
    assert files is not None and files.shards == (2, 4, 7) and files.index_at_end == (where == "end")
    for key in _slices(arr.shape):
        got = files.read(key)
        want = arr[key]
        assert got.dtype == want.dtype and got.shape == want.shape, key
        np.testing.assert_array_equal(got, want)


def test_a_shard_whose_index_fails_its_checksum_is_left_to_zarr(tmp_path):
    store, arr, _ = _array(tmp_path, "float32", shape=(4, 4, 7), chunks=(1, 2, 7), shards=(2, 4, 7))
    path = tmp_path / "a" / "x" / "c" / "1" / "0" / "0"
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0xFF  # a byte of the index (at the end)
    path.write_bytes(bytes(raw))
    files = chunk_files.plan(arr, store, frozenset())
    assert files.read((slice(2, 4), slice(0, 4), slice(0, 7))) is None
    assert files.read((slice(0, 2), slice(0, 4), slice(0, 7))) is not None


def test_what_zarr_must_read_gets_no_plan(tmp_path):
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
