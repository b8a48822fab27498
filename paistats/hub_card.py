"""What a published zoo shows on the Hub: the per-run table (Parquet), the zoo index and the card.

Everything here is a pure function of the local Zarr stores, so re-publishing unchanged data
produces byte-identical files (and therefore uploads nothing).
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

#: Columns of the per-run table and their Arrow types.
RUN_COLUMNS = {
    "entry": "string", "arch": "string", "dataset": "string", "method": "string",
    "variant": "string", "sparsity": "float64", "seed": "int64", "spec_hash": "string",
    "complete": "bool", "accuracy": "float64", "density": "float64",
}
_PANDAS_DTYPES = {"string": object, "float64": "float64", "int64": "int64", "bool": bool}
RUN_DIMS = ("variant", "sparsity", "seed")
RUNS_DIR = "runs"
INDEX_FILE = "index.json"  # the zoo index that paistats.load reads (docs/zoo-format.md)
INDEX_FORMAT_VERSION = 1
CARD_FILE = "README.md"
LICENSES = ("cc-by-4.0", "apache-2.0")
TAGS = ["pruning", "pruning-at-initialization", "model-zoo", "neural-network-weights", "zarr", "paistats"]


def runs_path(entry: str) -> str:
    """Path in the repo of an entry's per-run table."""
    return f"{RUNS_DIR}/{entry}.parquet"


# -- reading an entry's root ------------------------------------------------------------------


def _open_root(entry_dir: Path):
    import zarr

    return zarr.open_group(str(entry_dir), mode="r", zarr_format=3)


def _dims(array) -> tuple[str, ...]:
    names = getattr(array.metadata, "dimension_names", None) or ()
    return tuple(n or "" for n in names)


def _as_str(values: np.ndarray) -> np.ndarray:
    """Any string-like array (fixed width, StringDType, objects, bytes) as Python ``str`` objects."""
    flat = [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(values).ravel().tolist()]
    return np.array(flat, dtype=object).reshape(np.shape(values))


def _coords(root) -> dict[str, np.ndarray] | None:
    """Values of the run coordinates, ``None`` when the store does not define all of them."""
    names = set(root.array_keys())
    if not all(d in names for d in RUN_DIMS):
        return None
    return {d: np.asarray(root[d][...]) for d in RUN_DIMS}


def _run_variable(root, name: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """A root variable over (variant, sparsity, seed), transposed to that order; ``None`` if absent."""
    if name not in set(root.array_keys()):
        return None
    array = root[name]
    dims = _dims(array)
    if sorted(dims) != sorted(RUN_DIMS):
        return None
    values = np.asarray(array[...]).transpose([dims.index(d) for d in RUN_DIMS])
    return values if values.shape == shape else None


def _spec_hashes(root, coords: dict[str, np.ndarray], shape) -> np.ndarray:
    """Per-run spec hashes from the root ``runs`` attribute (hash → variant, sparsity, seed)."""
    values = _run_variable(root, "spec_hash", shape)
    if values is not None:
        return values
    out = np.full(shape, "", dtype=object)
    runs = root.attrs.get("runs")
    if not isinstance(runs, dict):
        return out
    position = [{_key(v): i for i, v in enumerate(coords[d].tolist())} for d in RUN_DIMS]
    for spec_hash, cell in runs.items():
        try:
            index = tuple(position[n][_key(cell[d])] for n, d in enumerate(RUN_DIMS))
        except (KeyError, TypeError):
            continue
        out[index] = str(spec_hash)
    return out


def _key(value):
    """Comparable form of a coordinate value (floats rounded, bytes decoded)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, float):
        return round(value, 9)
    return value


def _attr(root, name: str, entry: str) -> str:
    value = root.attrs.get(name)
    if value is None and name in ("arch", "dataset", "method"):
        parts = entry.split("-")
        guess = {"arch": parts[0], "dataset": "-".join(parts[1:-1]), "method": parts[-1]} if len(parts) >= 3 else {}
        value = guess.get(name, "")
    return "" if value is None else str(value)


def runs_frame(entry_dir: Path, entry: str | None = None) -> pd.DataFrame:
    """One row per run of an entry's Zarr store (empty, with the columns, when nothing is known).

    Parameters
    ----------
    entry_dir : Path
        The entry's Zarr v3 store (``<zoo>/<entry>``).
    entry : str, optional
        Entry name; defaults to the folder name.

    Returns
    -------
    pandas.DataFrame
        Columns ``entry, arch, dataset, method, variant, sparsity, seed, spec_hash, complete,
        accuracy, density``; missing variables give NaN / False / ``""``.
    """
    entry = entry or Path(entry_dir).name
    root = _open_root(Path(entry_dir))
    coords = _coords(root)
    if coords is None:
        return _empty_frame()
    shape = tuple(len(coords[d]) for d in RUN_DIMS)
    grid = np.meshgrid(*(np.arange(n) for n in shape), indexing="ij")
    idx = tuple(g.ravel() for g in grid)
    frame = {
        "entry": entry, "arch": _attr(root, "arch", entry), "dataset": _attr(root, "dataset", entry),
        "method": _attr(root, "method", entry),
        "variant": _as_str(coords["variant"])[idx[0]],
        "sparsity": coords["sparsity"].astype(float)[idx[1]],
        "seed": coords["seed"].astype(np.int64)[idx[2]],
        "spec_hash": _as_str(_spec_hashes(root, coords, shape))[idx],
    }
    for name, fill, dtype in (("complete", False, bool), ("accuracy", np.nan, float), ("density", np.nan, float)):
        values = _run_variable(root, name, shape)
        frame[name] = np.full(idx[0].shape, fill, dtype=dtype) if values is None else values[idx].astype(dtype)
    return pd.DataFrame(frame, columns=list(RUN_COLUMNS))


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=_PANDAS_DTYPES[t]) for c, t in RUN_COLUMNS.items()})


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The runs table as deterministic Parquet bytes (fixed schema, no index, zstd)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, pa.type_for_alias(t)) for c, t in RUN_COLUMNS.items()])
    table = pa.Table.from_pandas(frame[list(RUN_COLUMNS)], schema=schema, preserve_index=False)
    table = table.replace_schema_metadata(None)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


# -- zoo index ---------------------------------------------------------------------------------


def entry_summary(frame: pd.DataFrame, entry_dir: Path) -> dict:
    """Index record of one entry: the loader's fields (arch, dataset, method, default_dataset)
    plus the grid and completion shown in the card."""
    root = _open_root(Path(entry_dir))
    name = Path(entry_dir).name
    dataset = _attr(root, "dataset", name)
    return {
        "arch": _attr(root, "arch", name), "dataset": dataset, "method": _attr(root, "method", name),
        "default_dataset": str(root.attrs.get("default_dataset") or dataset),
        "variant": [str(v) for v in dict.fromkeys(frame["variant"])],
        "sparsity": sorted(float(s) for s in frame["sparsity"].unique()),
        "seed": sorted(int(s) for s in frame["seed"].unique()),
        "runs": int(len(frame)), "complete": int(frame["complete"].sum()),
    }


def index_bytes(entries: dict[str, dict]) -> bytes:
    """The zoo index (``index.json``, as in a local zoo): entry → record, deterministic bytes."""
    doc = {"format_version": INDEX_FORMAT_VERSION, "entries": {k: entries[k] for k in sorted(entries)}}
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()


def read_index(content: bytes | None) -> dict[str, dict]:
    """Entries of a zoo index (``{}`` for none or an unreadable one)."""
    if not content:
        return {}
    try:
        doc = json.loads(content)
    except ValueError:
        return {}
    entries = doc.get("entries") if isinstance(doc, dict) else None
    return {str(k): dict(v) for k, v in entries.items() if isinstance(v, dict)} if isinstance(entries, dict) else {}


# -- dataset card ------------------------------------------------------------------------------


def _size_category(n: int) -> str:
    for limit, label in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < limit:
            return label
    return "100K<n<1M"


def _fmt(values: list) -> str:
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)


def card_text(repo_id: str, entries: dict[str, dict], license: str = "cc-by-4.0") -> str:
    """README.md of the dataset repo: YAML metadata (license, tags, viewer config) and usage.

    The ``configs`` block points the Hub's viewer at the per-run Parquet tables only, so the
    Zarr chunk files are never mistaken for data files.
    """
    from huggingface_hub import DatasetCard, DatasetCardData

    if license not in LICENSES:
        raise ValueError(f"license must be one of {', '.join(LICENSES)}, got {license!r}")
    total = sum(int(e.get("runs", 0)) for e in entries.values())
    data = DatasetCardData(
        license=license, pretty_name=f"paistats model zoo ({repo_id})", tags=TAGS,
        size_categories=_size_category(total),
        configs=[{"config_name": "runs", "default": True,
                  "data_files": [{"split": "train", "path": f"{RUNS_DIR}/*.parquet"}]}],
    )
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n{_card_body(repo_id, entries, license)}"))


def _card_body(repo_id: str, entries: dict[str, dict], license: str) -> str:
    first = sorted(entries)[0] if entries else "lenet300-mnist-snip"
    rows = "\n".join(
        f"| `{name}` | {e.get('arch', '')} | {e.get('dataset', '')} | {e.get('method', '')} | "
        f"{_fmt(e.get('variant', []))} | {_fmt(e.get('sparsity', []))} | {_fmt(e.get('seed', []))} | "
        f"{e.get('complete', 0)}/{e.get('runs', 0)} |"
        for name, e in sorted(entries.items())
    )
    return f"""
# paistats model zoo

Networks pruned at initialization (and their shuffle / reinit / invert controls), stored as
[Zarr v3](https://zarr.dev) stores: initial weights, scores, masks and trained weights for every
(variant, sparsity, seed), with training histories and final accuracies.
Built with `zoo_builder`; read with [`paistats`](https://github.com/) (no GPU or torch needed).

## Entries

| entry | arch | dataset | method | variants | sparsities | seeds | complete runs |
|---|---|---|---|---|---|---|---|
{rows}

## Files

- `<entry>/`: one Zarr v3 store per entry (sharded arrays; one group per prunable tensor).
- `{RUNS_DIR}/<entry>.parquet`: one row per run (entry, arch, dataset, method, variant, sparsity,
  seed, spec_hash, complete, accuracy, density): the table shown by the dataset viewer.
- `{INDEX_FILE}`: the zoo index (arch, dataset, method, grid and completion of every entry).
- `<entry>/manifest.json`: sha256 and size of every file of the entry (`paistats` can verify a download).

## How to load

```python
import paistats
tree = paistats.load("{first}", zoo="hf://datasets/{repo_id}")   # xarray.DataTree, lazy

from paistats import hub
local = hub.pull("{repo_id}", entries=["{first}"])  # only that entry, into the HF cache
```

Lazy, without downloading whole files (HTTP range reads of the shards):

```python
import xarray as xr, zarr
store = zarr.storage.FsspecStore.from_url("hf://datasets/{repo_id}/{first}", read_only=True)
tree = xr.open_datatree(store, engine="zarr", zarr_format=3)  # consolidated metadata: one request
```

Pin a revision (`revision="<commit sha>"` or `hf://datasets/{repo_id}@<sha>/...`) to make analyses
reproducible. `HF_HUB_OFFLINE=1` reads the cached copy without network access.

## License

{license}
"""
