"""What a published zoo shows on the Hub: the per-run table (Parquet), the zoo index and the card.

Entries are read through the store's own reader (:func:`paistats.store.reader.open_entry`), so a
store the reader refuses is refused here too. Everything is a pure function of the entry, so
re-publishing unchanged data produces byte-identical files (which the Hub then skips).
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from paistats.store.grid import canonical_sparsity
from paistats.store.layout import GRID_DIMS, INDEX_FILE
from paistats.store.reader import open_entry

#: Columns of the per-run table and their Arrow types (one schema for every entry, so that the
#: Hub's viewer can read ``runs/*.parquet`` as one table; a variable an entry lacks is null).
RUN_COLUMNS = {
    "entry": "string", "arch": "string", "dataset": "string", "method": "string",
    "variant": "string", "sparsity": "float64", "seed": "int64", "spec_hash": "string",
    "complete": "bool", "accuracy": "float64", "density": "float64", "seconds": "float64",
    "disconnected": "bool", "amp": "bool", "channels_last": "bool", "device": "string",
}
#: Root variables over (variant, sparsity, seed) copied into the table.
RUN_VARIABLES = ("complete", "accuracy", "density", "seconds", "disconnected", "amp", "channels_last", "device")
RUNS_DIR = "runs"
#: 2: records carry :data:`LISTING_FIELDS` (``list_zoo`` reads the index alone); 1: card fields only.
INDEX_FORMAT_VERSION = 2
#: Fields of an index record that ``paistats.list_zoo`` shows (its columns, without ``error``), and
#: the sha256 of the published entry's ``manifest.json``.
LISTING_FIELDS = ("arch", "dataset", "method", "alias", "variants", "sparsities", "seeds", "epochs", "planned",
                  "complete", "finalized", "format_version", "manifest_sha256")
CARD_FILE = "README.md"
LICENSES = ("cc-by-4.0", "apache-2.0")
TAGS = ["pruning", "pruning-at-initialization", "model-zoo", "neural-network-weights", "zarr", "paistats"]


def runs_path(entry: str) -> str:
    """Path in the repo of an entry's per-run table."""
    return f"{RUNS_DIR}/{entry}.parquet"


def runs_frame(entry_dir: Path, entry: str | None = None) -> pd.DataFrame:
    """One row per planned run of an entry, in grid order.

    Parameters
    ----------
    entry_dir : Path
        The entry's Zarr v3 store, read with :func:`paistats.store.reader.open_entry`.
    entry : str, optional
        Entry name written in the ``entry`` column; default the entry's own name.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RUN_COLUMNS`: the entry's arch, dataset and method, the run's
        ``variant``, ``sparsity`` (fraction removed), ``seed``, ``spec_hash`` and the root
        variables of :data:`RUN_VARIABLES` (``accuracy``, ``density`` are fractions, ``seconds``
        wall time); a variable the entry does not store is null.

    Raises
    ------
    TruncatedStoreError, UnsupportedFormatError
        From the reader.
    """
    tree = open_entry(entry_dir, tensors=False)
    attrs = tree.attrs
    root = tree.to_dataset()
    grid = pd.MultiIndex.from_product([root[d].values for d in GRID_DIMS], names=list(GRID_DIMS))
    frame = grid.to_frame(index=False)
    frame["variant"] = frame["variant"].astype(str)
    for name in RUN_VARIABLES:
        present = name in root.data_vars and set(root[name].dims) == set(GRID_DIMS)
        frame[name] = root[name].transpose(*GRID_DIMS).values.ravel() if present else None
    hashes = {(c["variant"], canonical_sparsity(c["sparsity"]), int(c["seed"])): h
              for h, c in attrs.get("runs", {}).items()}
    keys = zip(frame["variant"], frame["sparsity"].map(canonical_sparsity), frame["seed"].astype(int))
    frame["spec_hash"] = [hashes.get(k) for k in keys]
    frame = frame[frame["spec_hash"].notna()].reset_index(drop=True)  # grid cells nobody planned are not runs
    frame["entry"] = entry or attrs.get("entry") or Path(entry_dir).name
    for key in ("arch", "dataset", "method"):
        frame[key] = str(attrs[key])
    return frame[list(RUN_COLUMNS)]


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The runs table as deterministic Parquet bytes (fixed schema, no pandas metadata, zstd)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, pa.type_for_alias(t)) for c, t in RUN_COLUMNS.items()])
    columns = {c: frame[c].astype(object).where(frame[c].notna(), None).tolist() for c in RUN_COLUMNS}
    table = pa.Table.from_pydict(columns, schema=schema)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


# -- zoo index ---------------------------------------------------------------------------------


def entry_summary(frame: pd.DataFrame, attrs: dict) -> dict:
    """Index record of one entry: the loader's fields (arch, dataset, method, default_dataset)
    plus the grid and completion shown in the card."""
    return {
        "arch": str(attrs["arch"]), "dataset": str(attrs["dataset"]), "method": str(attrs["method"]),
        "default_dataset": str(attrs.get("default_dataset") or attrs["dataset"]),
        "variant": [str(v) for v in dict.fromkeys(frame["variant"])],
        "sparsity": sorted(float(s) for s in frame["sparsity"].unique()),
        "seed": sorted(int(s) for s in frame["seed"].unique()),
        "runs": int(len(frame)), "complete": int(np.asarray(frame["complete"], dtype=bool).sum()),
    }


def listing_record(entry_dir: Path, info: dict) -> dict:
    """The :data:`LISTING_FIELDS` of a published entry (its snapshot folder), read as
    ``paistats.list_zoo`` reads a local entry.

    Parameters
    ----------
    entry_dir : Path
        The entry's finalized Zarr v3 store (the snapshot that is published).
    info : dict
        Its ``arch``, ``dataset``, ``method`` and ``default_dataset`` (from :func:`entry_summary`).

    Returns
    -------
    dict
        ``alias`` (or None), ``variants``, ``sparsities``, ``seeds`` (lists), ``epochs``, ``planned``
        and ``complete`` (runs), ``finalized``, ``format_version`` and ``manifest_sha256`` (hex).
    """
    from paistats.store.layout import MANIFEST_FILE
    from paistats.store.manifest import sha256_file
    from paistats.store.index import entry_alias, entry_listing

    return {**{k: info[k] for k in ("arch", "dataset", "method")}, "alias": entry_alias(info),
            **entry_listing(Path(entry_dir)), "manifest_sha256": sha256_file(Path(entry_dir) / MANIFEST_FILE)}


def read_listing(content: bytes | None) -> dict[str, dict] | None:
    """Entry → record of an index whose every record has :data:`LISTING_FIELDS`; None for an
    absent or unreadable index, or one written before those fields (format version 1)."""
    if not content:
        return None
    try:
        doc = json.loads(content)
    except ValueError:
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("format_version"), int) or doc["format_version"] < 2:
        return None
    entries = read_index(content)
    if not all(set(LISTING_FIELDS) <= set(rec) for rec in entries.values()):
        return None
    return entries


def index_bytes(entries: dict[str, dict]) -> bytes:
    """The zoo index (``index.json``, as in a local zoo): entry → record, deterministic bytes."""
    doc = {"format_version": INDEX_FORMAT_VERSION, "entries": {k: entries[k] for k in sorted(entries)}}
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()


def read_index(content: bytes | None) -> dict[str, dict]:
    """Entries of a published zoo index (``{}`` for none or an unreadable one)."""
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
    columns = ", ".join(RUN_COLUMNS)
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

- `<entry>/`: one Zarr v3 store per entry (the published, compacted snapshot of the build store).
- `<entry>/manifest.json`: size and sha256 of every file of the entry (`paistats.verify` checks a download).
- `{RUNS_DIR}/<entry>.parquet`: one row per planned run ({columns}): the table shown by the
  dataset viewer.
- `{INDEX_FILE}`: the zoo index (arch, dataset, method, grid and completion of every entry).

## How to load

```python
import paistats
tree = paistats.load("{first}", zoo="hf://datasets/{repo_id}")   # xarray.DataTree, lazy

from paistats import hub
local = hub.pull("{repo_id}", entries=["{first}"])  # only that entry, into the HF cache
```

Lazy, without downloading whole files (HTTP range reads of the shards):

```python
import xarray as xr
from paistats import hub
tree = xr.open_datatree(hub.open_store("hf://datasets/{repo_id}/{first}"), engine="zarr", zarr_format=3)
```

Pin a revision (`revision="<commit sha>"` or `hf://datasets/{repo_id}@<sha>/...`) to make analyses
reproducible. `HF_HUB_OFFLINE=1` reads the cached copy without network access.

## License

{license}
"""
