"""Writing entries: create or grow from a plan, write one run, mark it complete.

Concurrency and crash safety
----------------------------
- ``plan_entry`` / growth rewrite metadata under the entry's *exclusive* lock, then re-consolidate.
- ``write_run`` holds the entry's lock *shared*: runs write disjoint shards, so writers never wait
  for each other; they never rewrite metadata.
- Every file is written atomically and fsync-ed (:mod:`paistats.store.durable`). A run's
  ``complete`` chunk is cleared first and written last, so a killed writer leaves that run
  incomplete and everything else intact.
- ``init``/``reinit`` (per seed) and ``score`` (per sparsity × seed) are shared by several runs whose
  bytes are identical; a run writes such a shard only if it does not exist yet (atomic, so a
  concurrent identical write is harmless).
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import warnings
from pathlib import Path

import numpy as np
import zarr

from paistats.errors import GridError, TruncatedStoreError
from paistats.names import check_name
from paistats.store import layout
from paistats.store.layout import check_format
from paistats.store.durable import DurableLocalStore
from paistats.store.grid import canonical_sparsity, sparsity_position
from paistats.store.index import add_to_index
from paistats.store.locks import locked
from paistats.store.plan import EntryPlan, RunPayload, TensorSpec
from paistats.vocabulary import SEED, SPARSITY, VARIANT, ordered

_CONFIG_KEYS = ("recipe", "per_class", "iterations")


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def entry_dir(zoo_dir, entry: str) -> Path:
    return Path(zoo_dir) / check_name(entry)


def _open(path: Path, mode: str = "r+", consolidated: bool | None = None) -> zarr.Group:
    if not (path / "zarr.json").is_file():
        raise TruncatedStoreError(f"{path} is not a zoo entry (no zarr.json); was it planned?")
    try:
        return zarr.open_group(DurableLocalStore(path, read_only=mode == "r"), mode=mode,
                               use_consolidated=consolidated)
    except (ValueError, KeyError, TypeError) as e:  # JSONDecodeError of a cut-short zarr.json, bad metadata
        raise TruncatedStoreError(f"{path}/zarr.json is unreadable ({type(e).__name__}): the entry's metadata is "
                                  "truncated or corrupt; delete the entry folder and rebuild it") from None


def consolidate(path: Path) -> None:
    """Write consolidated metadata into the root ``zarr.json`` (deliberate; see docs/zoo-format.md)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Cc]onsolidated metadata.*")
        warnings.filterwarnings("ignore", message=".*not recognized as a component of a Zarr hierarchy.*")
        zarr.consolidate_metadata(DurableLocalStore(path))


def _coords(root: zarr.Group) -> dict[str, list]:
    return {
        VARIANT: [str(v) for v in root[VARIANT][...]],
        SPARSITY: [float(v) for v in root[SPARSITY][...]],
        SEED: [int(v) for v in root[SEED][...]],
        "epoch": [int(v) for v in root["epoch"][...]],
    }


def _index_of(labels: list, value, dim: str, entry: str) -> int:
    try:
        if dim == SPARSITY:
            return sparsity_position(labels, value)
        return labels.index(value)
    except (KeyError, ValueError):
        raise GridError(f"{dim}={value!r} is not in the grid of entry {entry!r} ({labels}); "
                        "run plan_entries first") from None


def _layouts(tensors: list[TensorSpec], sizes: dict[str, int], score_dtype: str, iterative: bool,
             start: bool = False):
    """Array layouts of an entry; ``start``: the entry holds a stored-start variant (format 3)."""
    for t in tensors:
        if t.prunable:
            arrays, group = layout.PRUNABLE_ARRAYS, t.name
        else:
            arrays, group = layout.STATE_ARRAYS, f"{layout.STATE_GROUP}/{t.name}"
        for name, (lead, long_name) in arrays.items():
            if name in layout.ITERATIVE_ONLY and not iterative:
                continue
            if name in layout.STORED_START_ONLY and not start:
                continue
            dtype = score_dtype if name.startswith("score") else ("bool" if name == "mask" else t.dtype)
            yield layout.tensor_array(group, name, lead, sizes, t.shape, dtype, t.prunable, long_name, t.dims)
    for name in layout.ROOT_VARS:
        yield layout.root_var(name, sizes)


# ----------------------------------------------------------------------------------------------
# planning
# ----------------------------------------------------------------------------------------------

def plan_entry(zoo_dir, plan: EntryPlan) -> str:
    """Create the entry of ``plan`` or grow it so that its grid covers every planned run.

    Idempotent, and safe when several processes plan at once (exclusive entry lock). Existing
    labels keep their positions; new variants, sparsities and seeds are appended (sorted among
    themselves), which rewrites metadata only, never data.

    Raises
    ------
    GridError
        When a run's grid cell is already planned with another spec hash, or when the runs'
        shared configuration (recipe, per_class, iterations) or tensors differ from the entry's.
    """
    path = entry_dir(zoo_dir, plan.entry)
    with locked(zoo_dir, plan.entry):
        if (path / "zarr.json").is_file():
            _grow(path, plan)
        else:
            _create(path, plan)
        (path / layout.MANIFEST_FILE).unlink(missing_ok=True)  # metadata may change: manifest is stale
        consolidate(path)
    with locked(zoo_dir, "index"):
        add_to_index(zoo_dir, plan.entry, {"arch": plan.arch, "dataset": plan.dataset,
                                           "method": plan.method, "default_dataset": plan.default_dataset})
    return plan.entry


def _create(path: Path, plan: EntryPlan) -> None:
    grid = plan.grid()
    sizes = {k: len(v) for k, v in grid.items()} | {"epoch": plan.epochs}
    path.mkdir(parents=True, exist_ok=True)
    now = _now()
    attrs = {
        "format_version": layout.entry_format_version(grid[VARIANT]),
        "entry": plan.entry, "arch": plan.arch, "dataset": plan.dataset, "method": plan.method,
        "default_dataset": plan.default_dataset,
        **{k: plan.config.get(k) for k in _CONFIG_KEYS},
        "score_dtype": plan.score_dtype, "iterative": bool(plan.iterative),
        "random_streams": plan.random_streams,
        "tensors": [t.to_dict() for t in plan.tensors],
        "runs": {h: {VARIANT: v, SPARSITY: canonical_sparsity(s), SEED: int(k)}
                 for h, (v, s, k) in sorted(plan.runs.items())},
        "versions": plan.provenance.get("versions", {}),
        "git_revision": plan.provenance.get("git_revision"),
        "created": now, "updated": now, "plan_history": [],
    }
    root = zarr.open_group(DurableLocalStore(path), mode="w", zarr_format=3, attributes=attrs)
    # fill values no label takes, so that coordinate chunks are always stored
    for dim, dtype, fill in ((VARIANT, "str", ""), (SPARSITY, "float64", np.nan), (SEED, "int64", -1),
                             ("epoch", "int64", -1)):
        values = grid[dim] if dim in grid else list(range(1, plan.epochs + 1))
        arr = root.create_array(dim, shape=(len(values),), dtype=dtype, chunks=(max(1, len(values)),),
                                dimension_names=(dim,), compressors=None, fill_value=fill,
                                attributes={"units": "fraction"} if dim == SPARSITY else {})
        if values:
            arr[:] = np.asarray(values, dtype=object if dtype == "str" else dtype)
    for lay in _layouts(list(plan.tensors), sizes, plan.score_dtype, plan.iterative,
                        start=layout.entry_format_version(grid[VARIANT]) == layout.START_FORMAT_VERSION):
        _create_array(root, lay)


def _create_array(root: zarr.Group, lay: layout.ArrayLayout) -> None:
    group = lay.path.rsplit("/", 1)[0] if "/" in lay.path else ""
    if group:
        _ensure_groups(root, group)
    lay.create(root)


def _ensure_groups(root: zarr.Group, group: str) -> None:
    """Create ``group`` (``name`` for a prunable tensor, ``state/name`` otherwise) and its parent."""
    if group.startswith(layout.STATE_GROUP + "/"):
        if layout.STATE_GROUP not in root:
            root.create_group(layout.STATE_GROUP, attributes={
                "role": "state", "long_name": "non-prunable parameters and buffers"})
        name, role = group.split("/", 1)[1], "state"
    else:
        name, role = group, "prunable"
    if group not in root:
        root.create_group(group, attributes={"role": role, "tensor": name})


def _grow(path: Path, plan: EntryPlan) -> None:
    root = _open(path, consolidated=False)
    attrs = root.attrs.asdict()
    check_format(attrs, path)
    for k in _CONFIG_KEYS:
        if attrs.get(k) != json.loads(json.dumps(plan.config.get(k))):
            raise GridError(f"entry {plan.entry!r} was planned with {k}={attrs.get(k)!r}; these runs use "
                            f"{plan.config.get(k)!r} (one entry holds one training configuration)")
    if [TensorSpec.from_dict(t) for t in attrs["tensors"]] != list(plan.tensors):
        raise GridError(f"entry {plan.entry!r} stores other tensors than this architecture has")
    runs = dict(attrs["runs"])
    new_runs = {}
    for h, (v, s, k) in plan.runs.items():
        cell = {VARIANT: v, SPARSITY: canonical_sparsity(s), SEED: int(k)}
        if h in runs:
            continue
        clash = [oh for oh, oc in runs.items() if oc == cell]
        if clash:
            raise GridError(f"cell variant={v}, sparsity={s}, seed={k} of {plan.entry!r} is planned with "
                            f"spec {clash[0]}, not {h} (different recipe or options?)")
        new_runs[h] = cell
    if not new_runs:
        return
    coords = _coords(root)
    added = {}
    for dim in layout.GRID_DIMS:
        have = coords[dim]
        new = {c[dim] for c in new_runs.values()} - set(have)
        extra = ordered(new) if dim == VARIANT else sorted(new)  # new variants in the canonical order
        if extra:
            added[dim] = extra
            coords[dim] = have + extra
    sizes = {d: len(coords[d]) for d in coords}
    version = max(int(attrs["format_version"]), layout.entry_format_version(coords[VARIANT]))
    for lay in _layouts([TensorSpec.from_dict(t) for t in attrs["tensors"]], sizes, attrs["score_dtype"],
                        bool(attrs.get("iterative")), start=version == layout.START_FORMAT_VERSION):
        if lay.path not in root:  # an array the grown grid needs first (``start`` of a stored-start variant)
            _create_array(root, lay)
            continue
        arr = root[lay.path]
        if arr.shape != lay.shape:
            arr.resize(lay.shape)
    for dim, extra in added.items():
        arr = root[dim]
        arr.resize((len(coords[dim]),))
        arr[:] = np.asarray(coords[dim], dtype=object if dim == VARIANT else arr.dtype)
    runs.update(new_runs)
    history = list(attrs.get("plan_history", []))
    history.append({"time": _now(), "runs_added": len(new_runs), "labels_added": added,
                    "versions": plan.provenance.get("versions", {}),
                    "git_revision": plan.provenance.get("git_revision")})
    root.attrs.update({"runs": dict(sorted(runs.items())), "updated": _now(), "plan_history": history,
                       "format_version": version})


# ----------------------------------------------------------------------------------------------
# runs
# ----------------------------------------------------------------------------------------------

def write_run(zoo_dir, entry: str, run: RunPayload) -> None:
    """Durably write every array of one run into its own shards, then mark it complete.

    Raises
    ------
    GridError
        If the run's spec hash is not planned in the entry, or arrays are missing / misshaped.
    """
    path = entry_dir(zoo_dir, entry)
    with locked(zoo_dir, entry, shared=True):
        root = _open(path)
        attrs = root.attrs.asdict()
        check_format(attrs, path)
        cell = attrs["runs"].get(run.hash)
        if cell is None:
            raise GridError(f"run {run.hash} is not planned in entry {entry!r}; call plan_entries first")
        if (cell[VARIANT], cell[SPARSITY], cell[SEED]) != (run.variant, canonical_sparsity(run.sparsity),
                                                                 int(run.seed)):
            raise GridError(f"run {run.hash} is planned at {cell}, not at variant={run.variant}, "
                            f"sparsity={run.sparsity}, seed={run.seed}")
        coords = _coords(root)
        i = _index_of(coords[VARIANT], run.variant, VARIANT, entry)
        j = _index_of(coords[SPARSITY], run.sparsity, SPARSITY, entry)
        k = _index_of(coords[SEED], run.seed, SEED, entry)
        store = root.store
        complete_key = layout.shard_key("complete", (i, j, k), (1, 1, 1))
        store.delete_sync(complete_key)  # incomplete while its data is being (re)written
        tensors = [TensorSpec.from_dict(t) for t in attrs["tensors"]]
        iterative = bool(attrs.get("iterative"))
        _check_payload(run, tensors, entry)

        def put(array_path, index, value, *, shared=False):
            arr = root[array_path]
            shard = arr.shards or arr.chunks
            key = layout.shard_key(array_path, index + (0,) * (arr.ndim - len(index)), shard)
            if shared and (path / key).exists():
                return
            arr[index] = np.asarray(value, dtype=arr.dtype)

        for t in tensors:
            group = t.name if t.prunable else f"{layout.STATE_GROUP}/{t.name}"
            put(f"{group}/init", (k,), run.initial[t.name], shared=True)
            put(f"{group}/reinit", (k,), run.reinit[t.name], shared=True)
            if t.prunable:
                put(f"{group}/score", (k,), run.scores[t.name], shared=True)
                if iterative and run.final_scores is not None:
                    put(f"{group}/score_final", (j, k), run.final_scores[t.name], shared=True)
                put(f"{group}/mask", (i, j, k), run.masks[t.name])
                if run.start is not None:
                    put(f"{group}/start", (i, j, k), run.start[t.name])
            put(f"{group}/trained", (i, j, k), run.trained[t.name])
        epochs = len(coords["epoch"])
        for name in layout.HISTORY_VARS:
            values = np.full(epochs, np.nan)
            got = np.asarray(run.history.get(name, []), dtype="float64")
            if got.size > epochs:
                raise GridError(f"run {run.hash} has {got.size} epochs of {name}; entry {entry!r} has {epochs}")
            values[: got.size] = got
            if epochs:
                put(name, (i, j, k), values)
        put("accuracy", (i, j, k), run.accuracy)
        put("density", (i, j, k), run.density)
        put("seconds", (i, j, k), run.seconds)
        put("disconnected", (i, j, k), bool(run.disconnected))
        put("amp", (i, j, k), bool(run.amp))
        put("channels_last", (i, j, k), bool(run.channels_last))
        root["device"][i, j, k] = str(run.device)
        root["extra"][i, j, k] = json.dumps(run.extra, sort_keys=True, default=str)
        # every file above is fsync-ed and renamed into place: the data is durable; now mark it
        root["complete"][i, j, k] = True
        (path / layout.MANIFEST_FILE).unlink(missing_ok=True)


def _check_payload(run: RunPayload, tensors: list[TensorSpec], entry: str) -> None:
    stored = run.variant in layout.STORED_START_VARIANTS
    if stored != (run.start is not None):
        raise GridError(f"run {run.hash} ({run.variant}) of {entry!r} " + (
            "lacks its per-run start weights (RunPayload.start); the builder must pass them" if stored else
            "carries start weights, which only variants " + ", ".join(layout.STORED_START_VARIANTS) + " store"))
    for t in tensors:
        starts = ("start",) if stored and t.prunable else ()
        for what in ("initial", "reinit", "trained") + (("scores", "masks") if t.prunable else ()) + starts:
            d = getattr(run, what)
            if t.name not in d:
                raise GridError(f"run {run.hash} of {entry!r} lacks {what}[{t.name!r}]")
            if tuple(d[t.name].shape) != t.shape:
                raise GridError(f"run {run.hash}: {what}[{t.name!r}] has shape {tuple(d[t.name].shape)}, "
                                f"entry {entry!r} expects {t.shape}")
        if t.prunable and run.masks[t.name].dtype != np.bool_:
            raise GridError(f"run {run.hash}: masks[{t.name!r}] must be bool, got {run.masks[t.name].dtype}")


def completed(zoo_dir, entry: str) -> set[str]:
    """Spec hashes of the runs of ``entry`` that are completely written (empty if not planned)."""
    path = entry_dir(zoo_dir, entry)
    if not (path / "zarr.json").is_file():
        return set()
    root = _open(path, mode="r")
    flags = root["complete"][...]
    coords = _coords(root)
    out = set()
    for h, cell in root.attrs["runs"].items():
        i = _index_of(coords[VARIANT], cell[VARIANT], VARIANT, entry)
        j = _index_of(coords[SPARSITY], cell[SPARSITY], SPARSITY, entry)
        k = _index_of(coords[SEED], cell[SEED], SEED, entry)
        if flags[i, j, k]:
            out.add(h)
    return out
