"""Zoo format versions 2 and 3: where everything lives and how each array is encoded.

One module holds every layout decision (paths, dims, dtypes, chunking, codecs) so that the
writer and the reader cannot disagree. See ``docs/zoo-format.md`` for the prose version.
"""
from __future__ import annotations

import keyword
import math
from dataclasses import dataclass

import numpy as np

FORMAT_VERSION = 2
#: Format 3 = format 2 + per-run ``start`` arrays (entries holding a variant of
#: :data:`STORED_START_VARIANTS`); an entry carries 3 only then, so readers that predate ``start``
#: refuse it instead of reading those variants' starting weights from ``init``.
START_FORMAT_VERSION = 3
SUPPORTED_FORMAT_VERSIONS = (2, 3)

def check_format(attrs: dict, where) -> None:
    """Raise :class:`~paistats.errors.UnsupportedFormatError` unless ``attrs`` (an entry's root
    attributes) carry a format version this paistats reads."""
    from paistats.errors import UnsupportedFormatError

    version = attrs.get("format_version")
    if version in SUPPORTED_FORMAT_VERSIONS:
        return
    if version == 1:
        raise UnsupportedFormatError(
            f"{where} is in zoo format 1 (dims 'method', 'out', 'in'; per-sparsity scores), which this paistats no "
            f"longer reads: rebuild it with `python -m zoo_builder` (format 1 zoos were never published)")
    raise UnsupportedFormatError(
        f"{where} has zoo format_version {version!r}; this paistats reads "
        f"{', '.join(map(str, SUPPORTED_FORMAT_VERSIONS))}: upgrade paistats")


# The zoo's names live in paistats.vocabulary; re-exported here for the writer and the reader.
from paistats.vocabulary import (GRID_DIMS, REINIT_VARIANTS, RUN_DIMS, STORED_START_VARIANTS,  # noqa: E402,F401
                                 VARIANT_ORDER, start_source)
from paistats.vocabulary import PRUNER as PRUNER_DIM  # noqa: E402,F401
from paistats.vocabulary import SEED, SPARSITY  # noqa: E402


def entry_format_version(variants) -> int:
    """Format version of an entry whose grid holds ``variants``."""
    return START_FORMAT_VERSION if any(v in STORED_START_VARIANTS for v in variants) else FORMAT_VERSION

#: Names no dimension or coordinate may take: keywords of ``.sel`` / ``.isel`` (xarray would take
#: them as options, not labels) and Python keywords (``.sel(in=0)`` is a syntax error).
RESERVED_DIM_NAMES = frozenset({"method", "tolerance", "drop", "indexers", "indexers_kwargs", "missing_dims"})


def check_dim_name(name: str) -> str:
    """Return ``name`` if it can be used as a dimension/coordinate name with ``.sel``, else raise
    ``ValueError``."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) or name in RESERVED_DIM_NAMES:
        raise ValueError(f"{name!r} cannot be a dimension name: it must be a Python identifier that is neither a "
                         f"Python keyword nor a keyword of xarray's .sel ({', '.join(sorted(RESERVED_DIM_NAMES))})")
    return name

# --- paths -------------------------------------------------------------------------------
INDEX_FILE = "index.json"          # zoo level: entries, their arch/dataset/method/default dataset
MANIFEST_FILE = "manifest.json"    # entry level: sha256 + size of every file of the entry
BUILDER_DIR = ".builder"           # zoo level bookkeeping (locks, failure notes); never published
STATE_GROUP = "state"              # non-prunable parameters and buffers live under this group

#: Root variables: name -> (dims, dtype, fill value, long name, units).
ROOT_VARS = {
    "complete": (GRID_DIMS, "bool", False, "run completely and durably written", ""),
    "accuracy": (GRID_DIMS, "float64", np.nan, "final test accuracy", "fraction"),
    "density": (GRID_DIMS, "float64", np.nan, "fraction of prunable weights kept", "fraction"),
    "seconds": (GRID_DIMS, "float64", np.nan, "wall time of the whole run", "s"),
    "disconnected": (GRID_DIMS, "bool", False,
                     "the pruned network carries no signal (a prunable layer at density 0, or SynFlow's R = 0)", ""),
    "amp": (GRID_DIMS, "bool", False, "trained with bf16 autocast", ""),
    "channels_last": (GRID_DIMS, "bool", False, "trained in channels_last memory format", ""),
    "device": (GRID_DIMS, "str", "", "device the run was trained on", ""),
    "extra": (GRID_DIMS, "str", "", "run provenance as JSON (e.g. the dense run it shared, build options)", ""),
    "test_accuracy": (GRID_DIMS + ("epoch",), "float64", np.nan, "test accuracy after each epoch", "fraction"),
    "test_loss": (GRID_DIMS + ("epoch",), "float64", np.nan, "mean test cross-entropy after each epoch", "nat"),
    "train_loss": (GRID_DIMS + ("epoch",), "float64", np.nan, "mean training cross-entropy of each epoch", "nat"),
}
HISTORY_VARS = ("test_accuracy", "test_loss", "train_loss")

#: Arrays of a prunable tensor's group: name -> (leading dims, long name).
PRUNABLE_ARRAYS = {
    "init": ((SEED,), "original initial weights (the ones that were scored)"),
    "reinit": ((SEED,), "redrawn initial weights (the reinit variant's starting point)"),
    "score": ((SEED,), "the method's scores of the dense initial network (round 1; method's convention)"),
    "score_final": ((SPARSITY, SEED), "scores of the last pruning round (iterative methods only)"),
    "mask": (GRID_DIMS, "mask trained with (True = kept)"),
    "start": (GRID_DIMS, "starting weights before masking, for variants whose start is neither init nor reinit "
                         "(shuffle_kept, permute_kept); NaN for the other variants"),
    "trained": (GRID_DIMS, "final weights (exact zeros where pruned)"),
}
#: Arrays only iterative methods have.
ITERATIVE_ONLY = ("score_final",)
#: Arrays only entries holding a variant of :data:`STORED_START_VARIANTS` have (format 3).
STORED_START_ONLY = ("start",)
#: Arrays of a non-prunable tensor's group (under ``state/``).
STATE_ARRAYS = {
    "init": ((SEED,), "original initial value"),
    "reinit": ((SEED,), "redrawn initial value"),
    "trained": (GRID_DIMS, "final value"),
}

#: Inner (read) chunks hold at least this many bytes where the tensor is that large.
INNER_CHUNK_BYTES = 1 << 20


#: torch's names for the dims of a weight, by module kind.
TORCH_DIMS = {
    "linear": ("out_features", "in_features"),
    "conv1d": ("out_channels", "in_channels", "kw"),
    "conv2d": ("out_channels", "in_channels", "kh", "kw"),
    "conv3d": ("out_channels", "in_channels", "kd", "kh", "kw"),
}
_BY_RANK = {2: TORCH_DIMS["linear"], 3: TORCH_DIMS["conv1d"], 4: TORCH_DIMS["conv2d"], 5: TORCH_DIMS["conv3d"]}


def tensor_dims(shape: tuple[int, ...], prunable: bool, dims: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Dimension names of a tensor.

    ``dims`` (recorded by the builder from the module that owns the tensor, e.g. ``num_features``
    for BatchNorm) wins when given. Otherwise by rank, with torch's names: Linear
    ``(out_features, in_features)``; Conv1d ``(out_channels, in_channels, kw)``; Conv2d
    ``(out_channels, in_channels, kh, kw)``; Conv3d ``(out_channels, in_channels, kd, kh, kw)``;
    vectors ``(size,)``; scalars ``()``; anything else ``dim_0, dim_1, ...``.
    """
    n = len(shape)
    if dims is not None:
        if len(dims) != n:
            raise ValueError(f"dims {dims} do not match a tensor of shape {tuple(shape)}")
        return tuple(check_dim_name(d) for d in dims)
    if n == 0:
        return ()
    if n == 1:
        return ("size",)
    if prunable and n in _BY_RANK:
        return _BY_RANK[n]
    return tuple(f"dim_{i}" for i in range(n))


def inner_chunks(shape: tuple[int, ...], itemsize: int) -> tuple[int, ...]:
    """Inner chunk of one tensor: whole tensor, split along its first dim into equal pieces of at
    least :data:`INNER_CHUNK_BYTES` when it is larger than that."""
    if not shape:
        return ()
    nbytes = math.prod(shape) * itemsize
    if nbytes <= INNER_CHUNK_BYTES or shape[0] <= 1:
        return tuple(shape)
    row = max(1, nbytes // shape[0])
    target = min(shape[0], math.ceil(INNER_CHUNK_BYTES / row))
    # Zarr needs inner chunks that divide the shard (the whole tensor): the smallest divisor of
    # the first dim at or above the target (the whole tensor when that dim is prime)
    rows = next(d for d in range(target, shape[0] + 1) if shape[0] % d == 0)
    return (rows, *shape[1:])


def fill_value(dtype: str):
    """Fill value of never-written chunks: NaN for floats, False for bool, -1 for ints."""
    kind = np.dtype(dtype).kind
    if kind == "f":
        return np.nan
    if kind == "b":
        return False
    if kind in "OUT" or dtype == "str":
        return ""
    return -1


def compressors(dtype: str, *, tiny: bool = False, tensor: bool = False):
    """zstd-3 with its frame checksum for numbers; blosc(zstd, bitshuffle) for booleans (masks);
    none for one-element chunks. (Measured on trained weights at half density: zstd-3 0.56 of raw,
    ≈ 1 GB/s decode; blosc(lz4hc, shuffle) 0.60 and ≈ 4.4 GB/s, but streaming reads are bound by
    per-chunk Zarr/dask overhead, so the faster codec gained only ≈ 15 %: zstd kept.)"""
    from zarr.codecs import BloscCodec, BloscShuffle, ZstdCodec

    if tiny:
        return None
    if np.dtype(dtype).kind == "b":
        return BloscCodec(cname="zstd", clevel=5, shuffle=BloscShuffle.bitshuffle)
    return ZstdCodec(level=3, checksum=True)


@dataclass(frozen=True)
class ArrayLayout:
    """Everything needed to create one Zarr array."""

    path: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: str
    chunks: tuple[int, ...]
    shards: tuple[int, ...] | None
    attrs: dict
    tensor: bool = False

    def create(self, group):
        """Create the array in ``group`` (overwriting nothing that exists)."""
        return group.create_array(
            self.path, shape=self.shape, dtype=self.dtype, chunks=self.chunks, shards=self.shards,
            compressors=compressors(self.dtype, tiny=math.prod(self.chunks) == 1, tensor=self.tensor),
            fill_value=fill_value(self.dtype), dimension_names=self.dims, attributes=self.attrs,
            config={"write_empty_chunks": False},
        )


def tensor_array(group: str, name: str, lead_dims: tuple[str, ...], sizes: dict[str, int],
                 shape: tuple[int, ...], dtype: str, prunable: bool, long_name: str,
                 dims: tuple[str, ...] | None = None) -> ArrayLayout:
    """Layout of one per-tensor array: one shard per grid cell (1 along every leading dim, the
    whole tensor along the tensor dims), inner chunks of ≥ 1 MiB where the tensor allows."""
    tdims = tensor_dims(tuple(shape), prunable, dims)
    lead_shape = tuple(sizes[d] for d in lead_dims)
    inner = inner_chunks(tuple(shape), np.dtype(dtype).itemsize)
    shard = (1,) * len(lead_dims) + tuple(shape)
    chunks = (1,) * len(lead_dims) + inner
    return ArrayLayout(
        path=f"{group}/{name}", dims=lead_dims + tdims, shape=lead_shape + tuple(shape), dtype=dtype,
        chunks=chunks, shards=shard if chunks != shard else None, attrs={"long_name": long_name}, tensor=True,
    )


def root_var(name: str, sizes: dict[str, int]) -> ArrayLayout:
    """Layout of a root variable: one chunk per run (and the whole history along ``epoch``)."""
    dims, dtype, _, long_name, units = ROOT_VARS[name]
    shape = tuple(sizes[d] for d in dims)
    chunks = tuple(max(1, sizes["epoch"]) if d == "epoch" else 1 for d in dims)
    attrs = {"long_name": long_name}
    if units:
        attrs["units"] = units
    return ArrayLayout(name, dims, shape, dtype, chunks, None, attrs)


def shard_key(path: str, start: tuple[int, ...], shard: tuple[int, ...]) -> str:
    """Store key of the shard (or chunk) holding element ``start`` (default ``/`` key encoding)."""
    if not shard:
        return f"{path}/c"
    return f"{path}/c/" + "/".join(str(s // n) for s, n in zip(start, shard))
