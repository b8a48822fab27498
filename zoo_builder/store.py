"""The builder's side of the zoo store: turn ``RunSpec`` / ``RunResult`` objects into entry plans and
run payloads, and hand them to the NumPy-only writer in :mod:`paistats.store`.

Functions (all take the zoo directory first; safe to call from several processes at once):

- :func:`plan_entries` – create or grow the entries so that their grids cover the specs.
- :func:`write_run` – durably write one finished run; its completion is marked last.
- :func:`completed`, :func:`record_failure`, :func:`failures` – bookkeeping for idempotent reruns.
- :func:`write_statistics` – the builder's derived step: an entry's precomputed statistics.
- :func:`finalize` / :func:`finalize_entries` – statistics (optional) then the manifest of content
  hashes (after the last run of an entry).

See ``docs/zoo-format.md`` for the on-disk format.
"""
from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import platform
import subprocess
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

from paistats.names import check_name
from paistats.store import layout
from paistats.store import locks as _locks
from paistats.store import manifest as _manifest
from paistats.store import writer as _writer
from paistats.store.durable import durable_write
from paistats.store.plan import EntryPlan, RunPayload, TensorSpec
from paistats.vocabulary import RANDOM_PRUNER
from zoo_builder.run import RunResult
from zoo_builder.spec import RunSpec

#: dtype of stored scores by method (default float32). SynFlow is scored in float64 (products of
#: |θ| over the whole depth); its scores are stored as computed.
SCORE_DTYPES = {"synflow": "float64"}

_PACKAGES = ("numpy", "zarr", "xarray", "torch", "torchvision", "paistats", "numcodecs")


@functools.lru_cache(maxsize=1)
def provenance() -> dict:
    """Package versions and the builder's git revision (``None`` outside a git checkout)."""
    versions = {"python": platform.python_version()}
    for p in _PACKAGES:
        try:
            versions[p] = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:
            pass
    import zoo_builder

    versions["zoo_builder"] = zoo_builder.__version__
    rev = None
    try:
        src = Path(zoo_builder.__file__).resolve().parent
        out = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        if out.returncode == 0:
            rev = out.stdout.strip()
            dirty = subprocess.run(["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=10)
            if dirty.returncode == 0 and dirty.stdout.strip():
                rev += "-dirty"
    except (OSError, subprocess.SubprocessError):
        pass
    return {"versions": versions, "git_revision": rev}


def torch_dims(module, attr: str, ndim: int) -> tuple[str, ...] | None:
    """Dimension names of ``module.<attr>`` with torch's own names (None: use the rank rule)."""
    import torch.nn as nn

    if ndim == 0:
        return ()
    if isinstance(module, nn.Linear):
        return layout.TORCH_DIMS["linear"] if ndim == 2 else ("out_features",)
    for kind, cls in (("conv1d", nn.Conv1d), ("conv2d", nn.Conv2d), ("conv3d", nn.Conv3d)):
        if isinstance(module, cls):
            return layout.TORCH_DIMS[kind] if ndim > 1 else ("out_channels",)
    if isinstance(module, nn.modules.batchnorm._NormBase) and ndim == 1:
        return ("num_features",)
    return None


@functools.lru_cache(maxsize=32)
def _tensors(arch: str, dataset: str) -> tuple[TensorSpec, ...]:
    from zoo_builder import models

    model = models.build(arch, dataset, seed=0)
    prunable = set(models.prunable_names(model))
    out = []
    for k, v in model.state_dict().items():
        owner, _, attr = k.rpartition(".")
        dims = torch_dims(model.get_submodule(owner) if owner else model, attr, v.ndim)
        out.append(TensorSpec(k, tuple(v.shape), str(v.dtype).removeprefix("torch."), k in prunable, dims))
    return tuple(out)


def _config(spec: RunSpec) -> dict:
    return {"recipe": spec.recipe.to_dict(), "per_class": spec.per_class, "iterations": spec.iterations}


def entry_plan(specs: list[RunSpec]) -> EntryPlan:
    """The :class:`~paistats.store.plan.EntryPlan` of specs that all belong to one entry."""
    from zoo_builder.models import ARCHITECTURES

    first = specs[0]
    if any(s.entry != first.entry for s in specs):
        raise ValueError("entry_plan needs specs of a single entry")
    config = _config(first)
    for s in specs:
        if _config(s) != config:
            raise ValueError(f"specs of entry {first.entry!r} differ in recipe/per_class/iterations "
                             f"({s.hash} vs {first.hash}): one entry holds one training configuration")
    return EntryPlan(
        entry=first.entry, arch=first.arch, dataset=first.dataset, method=first.method,
        default_dataset=ARCHITECTURES.get(first.arch).default_dataset,
        epochs=first.recipe.epochs, tensors=_tensors(first.arch, first.dataset),
        score_dtype=SCORE_DTYPES.get(first.method, "float32"),
        runs={s.hash: (s.variant, float(s.sparsity), int(s.seed)) for s in specs},
        config=config, provenance=provenance(), iterative=_iterative(first),
        random_streams=_streams_doc(),
    )


def _iterative(spec: RunSpec) -> bool:
    from zoo_builder import pruning

    rounds = spec.iterations if spec.iterations is not None else pruning.method(spec.method).iterations
    return rounds > 1


def _streams_doc() -> str:
    from zoo_builder import seeding

    return getattr(seeding, "STREAMS_DOC", "")


def plan_entries(zoo_dir: str | os.PathLike, specs: list[RunSpec]) -> list[str]:
    """Create or grow the entries (grouped by ``spec.entry``) so that their grids cover ``specs``.

    Idempotent; safe when several processes plan at once (one lock file per entry). Growing
    (more seeds, sparsities or variants) appends labels and never rewrites stored data.

    Returns
    -------
    list of str
        The entry names, in order of first appearance.

    Raises
    ------
    ValueError
        (``paistats.GridError``) when specs of one entry differ in recipe / per_class / iterations
        from each other or from what the entry already holds.
    """
    groups: dict[str, list[RunSpec]] = defaultdict(list)
    for s in specs:
        groups[s.entry].append(s)
    Path(zoo_dir).mkdir(parents=True, exist_ok=True)
    return [_writer.plan_entry(zoo_dir, entry_plan(group)) for group in groups.values()]


def _numpy(d) -> dict:
    return {k: v.detach().cpu().numpy() for k, v in d.items()}


def payload(result: RunResult) -> RunPayload:
    """The NumPy :class:`~paistats.store.plan.RunPayload` of a run result."""
    s = result.spec
    final = getattr(result, "final_scores", None)
    extra = dict(getattr(result, "extra", {}) or {})
    return RunPayload(
        hash=s.hash, variant=s.variant, sparsity=float(s.sparsity), seed=int(s.seed),
        initial=_numpy(result.initial), reinit=_numpy(result.reinit), trained=_numpy(result.trained),
        scores=_numpy(result.scores), masks={k: v.detach().cpu().numpy().astype(bool) for k, v in result.masks.items()},
        history={k: list(map(float, v)) for k, v in result.history.items()},
        accuracy=float(result.accuracy), density=float(result.density), seconds=float(result.seconds),
        final_scores=_numpy(final) if final is not None else None,
        start=_numpy(result.start) if getattr(result, "start", None) is not None else None,
        disconnected=bool(getattr(result, "disconnected", False)),
        device=str(extra.get("device", getattr(result, "device", "cpu"))),
        amp=bool(extra.get("amp", s.amp)), channels_last=bool(extra.get("channels_last", False)),
        extra=extra,
    )


def write_run(zoo_dir: str | os.PathLike, result: RunResult) -> None:
    """Durably write one finished run into its entry (planned before); completion is marked last.

    A process killed at any point leaves the entry loadable with this run incomplete.
    """
    _writer.write_run(zoo_dir, result.spec.entry, payload(result))
    clear_failure(zoo_dir, result.spec.entry, result.spec.hash)


def completed(zoo_dir: str | os.PathLike, entry: str) -> set[str]:
    """Spec hashes of the completely written runs of ``entry``."""
    return _writer.completed(zoo_dir, entry)


# --- failures: builder bookkeeping under <zoo>/.builder/failures/<entry>/<hash>.json (never published)

def _failure_dir(zoo_dir, entry: str) -> Path:
    return Path(zoo_dir) / layout.BUILDER_DIR / "failures" / check_name(entry)


def record_failure(zoo_dir: str | os.PathLike, spec: RunSpec, error: str) -> None:
    """Note that ``spec`` failed with ``error`` (kept outside the entry; cleared when it succeeds)."""
    import datetime as dt

    blob = json.dumps({"hash": spec.hash, "error": str(error), "spec": spec.to_dict(),
                       "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}, indent=1)
    durable_write(_failure_dir(zoo_dir, spec.entry) / f"{check_name(spec.hash, 'spec hash')}.json", blob.encode())


def clear_failure(zoo_dir: str | os.PathLike, entry: str, spec_hash: str) -> None:
    """Forget the failure note of run ``spec_hash`` (it has now succeeded)."""
    (_failure_dir(zoo_dir, entry) / f"{spec_hash}.json").unlink(missing_ok=True)


def failures(zoo_dir: str | os.PathLike, entry: str) -> dict[str, str]:
    """Spec hash → error message of the failed runs of ``entry``."""
    folder = _failure_dir(zoo_dir, entry)
    out = {}
    for f in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            out[f.stem] = json.loads(f.read_text())["error"]
        except (ValueError, KeyError):
            out[f.stem] = "unreadable failure note"
    return out


def write_statistics(zoo_dir: str | os.PathLike, entry: str) -> Path:
    """The builder's derived step for one entry: compute and store its layer statistics, distances
    and noise floors (:func:`paistats.stats.write_derived`; a cheap no-op when the stored ones are
    fresh). Holds the entry's exclusive lock, so the runs do not change while they are read.

    Run it before :func:`finalize` writes the manifest, so that the manifest lists the statistics.

    Parameters
    ----------
    zoo_dir : path-like
        The zoo folder.
    entry : str
        The entry's name.

    Returns
    -------
    pathlib.Path
        ``<zoo_dir>/<entry>/derived/stats.zarr.zip``.
    """
    from paistats.stats import StatsWarning, write_derived

    with _locks.locked(zoo_dir, entry), warnings.catch_warnings():
        warnings.simplefilter("ignore", StatsWarning)  # NaN cells (one seed, empty layers) are reported when read
        return write_derived(_writer.entry_dir(zoo_dir, entry))


def finalize(zoo_dir: str | os.PathLike, entry: str, *, derived: bool = False) -> Path:
    """Finish an entry: its statistics first (``derived=True``: :func:`write_statistics`), then the
    store's :func:`paistats.store.manifest.finalize` (leftovers removed, manifest of content hashes
    written, listing the statistics). Idempotent.

    Parameters
    ----------
    zoo_dir : path-like
        The zoo folder.
    entry : str
        The entry's name.
    derived : bool, default False
        Also store the entry's layer statistics and distances (recomputed only when the entry changed).

    Returns
    -------
    pathlib.Path
        The entry's ``manifest.json``.
    """
    if derived:
        write_statistics(zoo_dir, entry)
    return _manifest.finalize(zoo_dir, entry)


def statistics_order(entries) -> list[str]:
    """``entries`` in the order their statistics are computed: the random pruner's entries first.

    Every other entry's distances take their ratio to random pruning from the tensors of the zoo's
    ``{arch}-{dataset}-random`` entry (not from its stored statistics, so the order changes no
    number): computing the random entry first makes a broken one fail the step before the others'
    statistics, which all read it, are computed.

    Parameters
    ----------
    entries : iterable of str
        Entry names (``{arch}-{dataset}-{method}``).

    Returns
    -------
    list of str
        The ``-random`` entries, then the others, each group in the given order.
    """
    return sorted(entries, key=lambda e: not e.endswith(f"-{RANDOM_PRUNER}"))


def finalize_entries(zoo_dir: str | os.PathLike, entries, *, derived: bool = True) -> list[Path]:
    """:func:`finalize` each of ``entries`` (in :func:`statistics_order`); the manifests' paths.

    Each entry is finished before the next starts, so a failure leaves the ones before it finalized.

    Parameters
    ----------
    zoo_dir : path-like
        The zoo folder.
    entries : iterable of str
        The entries of the build.
    derived : bool, default True
        Write each entry's statistics (:func:`write_statistics`) before its manifest.

    Returns
    -------
    list of pathlib.Path
        The ``manifest.json`` of each entry, in the order they were written.
    """
    return [finalize(zoo_dir, e, derived=derived) for e in statistics_order(entries)]


__all__ = ["completed", "entry_plan", "failures", "finalize", "finalize_entries", "payload", "plan_entries",
           "provenance", "record_failure", "statistics_order", "write_run", "write_statistics", "SCORE_DTYPES"]
