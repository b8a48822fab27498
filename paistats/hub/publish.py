"""Publishing a local zoo to a Hub dataset repo with ``huggingface_hub``'s own commit operations.

Every file of every published entry is offered as a ``CommitOperationAdd``; the client asks the
Hub's preupload endpoint how to send each one (``regular`` or ``lfs``) and what the repo already
holds at that path (its ``oid``), uploads through LFS / Xet only contents the Hub does not have,
and drops from the commit the files whose content is unchanged. paistats does no diff of its own:
it only lists remote paths, to delete files (and, with ``prune``, entries) gone locally.
"""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from paistats.errors import UnknownEntryError, ZooNotFoundError
from paistats.hub import card
from paistats.hub.errors import HubError, hub_errors
from paistats.hub.refs import (
    DEFAULT_REVISION, REPO_TYPE, api, is_commit_sha, validate_entry, validate_repo_id, validate_revision,
)
from paistats.names import check_name
from paistats.store.compact import snapshot
from paistats.store.layout import INDEX_FILE, MANIFEST_FILE
from paistats.store.manifest import read_manifest
from paistats.store.reader import read_root_attrs

logger = logging.getLogger(__name__)

#: Files per commit: the Hub recommends commits of fewer than 100 files
#: (https://huggingface.co/docs/hub/repositories-recommendations).
FILES_PER_COMMIT = 100
#: Files that make an entry readable: committed after its data files, so that a reader of an
#: intermediate commit of a multi-commit publish never sees metadata pointing at missing data.
_METADATA_FILES = ("zarr.json", MANIFEST_FILE)


# -- local side --------------------------------------------------------------------------------


def local_entries(zoo_dir) -> dict[str, Path]:
    """Entries of a local zoo.

    Parameters
    ----------
    zoo_dir : path-like
        A zoo folder, or a single entry's folder. Hidden folders (``.builder``) are skipped.

    Returns
    -------
    dict of str to pathlib.Path
        Entry name → folder holding its Zarr store (``zarr.json``).

    Raises
    ------
    ZooNotFoundError
        When ``zoo_dir`` is not a folder.
    """
    zoo_dir = Path(zoo_dir)
    if not zoo_dir.is_dir():
        raise ZooNotFoundError(f"zoo folder {zoo_dir} does not exist (give the folder the builder wrote)")
    if (zoo_dir / "zarr.json").is_file():
        return {validate_entry(zoo_dir.name): zoo_dir}
    from paistats.store.index import entry_dirs

    return entry_dirs(zoo_dir)


def _select(found: dict[str, Path], entries: list[str] | None, zoo_dir: Path) -> dict[str, Path]:
    if entries is None:
        if not found:
            raise ZooNotFoundError(f"no entries (folders with zarr.json) in {zoo_dir}: build the zoo first")
        return found
    missing = [e for e in entries if check_name(e) not in found]
    if missing:
        raise UnknownEntryError(f"entries not found in {zoo_dir}: {', '.join(missing)}; "
                                f"available: {', '.join(found) or 'none'}")
    return {e: found[e] for e in entries}


def _snapshot_dir(zoo_dir: Path, entry: str) -> Path:
    """The folder whose files are published as ``<entry>/``: the compacted snapshot of the
    finalized entry (:func:`paistats.store.compact.snapshot`, staged under
    ``<zoo>/.builder/publish/<entry>`` and remade only when the entry's manifest changed).

    Raises
    ------
    ManifestError
        When the entry is not finalized (no ``manifest.json``).
    """
    return snapshot(zoo_dir, entry)


def _entry_files(folder: Path) -> dict[str, Path]:
    """Path inside the entry → local file, for every file of a snapshot (hidden files skipped)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            out[rel.as_posix()] = path
    return out


# -- remote side -------------------------------------------------------------------------------


def _ensure_branch(hf, repo_id: str, revision: str, private: bool) -> None:
    hf.create_repo(repo_id, repo_type=REPO_TYPE, private=private, exist_ok=True)
    if revision != DEFAULT_REVISION:
        hf.create_branch(repo_id, branch=revision, repo_type=REPO_TYPE, exist_ok=True)


def _remote_index(hf, repo_id: str, revision: str, remote: set[str]) -> dict[str, dict]:
    if INDEX_FILE not in remote:
        return {}
    from huggingface_hub import hf_hub_download

    from paistats.hub.refs import cache_dir

    path = hf_hub_download(repo_id, INDEX_FILE, repo_type=REPO_TYPE, revision=revision,
                           endpoint=hf.endpoint, token=hf.token, cache_dir=cache_dir())
    return card.read_index(Path(path).read_bytes())


@contextlib.contextmanager
def _no_empty_commit_warning() -> Iterator[None]:
    """Silence the client's warning for a batch whose files are all unchanged (expected here)."""
    hf_logger = logging.getLogger("huggingface_hub.hf_api")

    def keep(record: logging.LogRecord) -> bool:
        return "No files have been modified" not in record.getMessage()

    hf_logger.addFilter(keep)
    try:
        yield
    finally:
        hf_logger.removeFilter(keep)


def _batches(ops: list, size: int) -> list[list]:
    return [ops[i:i + size] for i in range(0, len(ops), size)]


# -- publish -----------------------------------------------------------------------------------


def publish(zoo_dir, repo_id: str, *, entries: list[str] | None = None, revision: str | None = None,
            token: str | None = None, private: bool = False, commit_message: str | None = None,
            license: str = "cc-by-4.0", prune: bool = False):
    """Publish finalized zoo entries (Zarr stores, per-run tables, index, card) to a Hub dataset repo.

    Each entry is published as its snapshot (see ``docs/hub.md``): files the repo already holds
    with the same content are neither uploaded nor committed, remote files of a published entry
    that the snapshot no longer has are deleted. Commits hold at most :data:`FILES_PER_COMMIT`
    files; an entry's data files go before its metadata, the index and card last.

    Parameters
    ----------
    zoo_dir : path
        Local zoo folder (``<zoo>/<entry>/zarr.json``) or one entry's folder.
    repo_id : str
        ``org/name`` of the dataset repo (created if missing).
    entries : list of str, optional
        Entries to publish; default every entry of ``zoo_dir``. Entries already in the repo and
        not published now stay as they are (and stay in the index and card) unless ``prune``.
    revision : str, optional
        Branch to commit to (created from ``main`` if missing); default ``main``.
    token : str, optional
        Write token; default: whatever ``huggingface_hub`` finds (``HF_TOKEN``, token file).
    private : bool
        Create the repo private (only when it does not exist yet).
    commit_message : str, optional
        Summary of the commit(s).
    license : {"cc-by-4.0", "apache-2.0"}
        License written in the dataset card.
    prune : bool
        Also delete from the repo (data, table, index and card rows) the entries that are not in
        ``zoo_dir`` any more.

    Returns
    -------
    huggingface_hub.CommitInfo or None
        The last commit created, or ``None`` when the repo already held exactly these files.

    Raises
    ------
    ZooNotFoundError, UnknownEntryError, ManifestError, InvalidNameError
        Local problems (no zoo, unknown entry, entry not finalized), before any request.
    HubError, HubUnreachableError, InvalidRepoIdError, InvalidRevisionError
        Hub problems, one line each.
    """
    validate_repo_id(repo_id)
    revision = validate_revision(revision) or DEFAULT_REVISION
    if is_commit_sha(revision):
        raise HubError(f"cannot publish to commit {revision}: give a branch name (created if missing)")
    if license not in card.LICENSES:
        raise ValueError(f"license must be one of {', '.join(card.LICENSES)}, got {license!r}")
    zoo_dir = Path(zoo_dir)
    found = local_entries(zoo_dir)
    selected = _select(found, entries, zoo_dir)
    root = zoo_dir.parent if (zoo_dir / "zarr.json").is_file() else zoo_dir
    for folder in selected.values():
        read_manifest(folder)  # only finalized entries are published
    # local problems first (the tables read each entry through the store's reader), then the Hub,
    # then the snapshots (written to the zoo's staging folder only once the Hub has answered)
    tables = {e: card.runs_frame(d, e) for e, d in selected.items()}
    summaries = {e: card.entry_summary(tables[e], read_root_attrs(d)) for e, d in selected.items()}
    hf = api(token)
    with hub_errors("publish to", repo_id, revision):
        _ensure_branch(hf, repo_id, revision, private)
        head = hf.repo_info(repo_id, repo_type=REPO_TYPE, revision=revision).sha
        remote = set(hf.list_repo_files(repo_id, repo_type=REPO_TYPE, revision=revision))
        index = _remote_index(hf, repo_id, revision, remote)
    snapshots = {e: _snapshot_dir(root, e) for e in selected}
    for e, folder in snapshots.items():  # what list_zoo shows, read from the files published
        summaries[e].update(card.listing_record(folder, summaries[e]))
    with hub_errors("publish to", repo_id, revision):
        gone = _gone_entries(remote, index, found) if prune else []
        ops = _operations(repo_id, snapshots, tables, summaries, index, remote, gone, license)
        message = commit_message or f"Publish {', '.join(selected)} with paistats"
        info = _commit(hf, repo_id, revision, ops, message)
    if info is None or info.oid == head:
        logger.info("%s@%s already holds these files: nothing published", repo_id, revision)
        return None
    return info


def _gone_entries(remote: set[str], index: dict[str, dict], found: dict[str, Path]) -> list[str]:
    """Entries the repo has (data or index row) that the local zoo does not."""
    in_repo = {p.split("/", 1)[0] for p in remote if p.count("/") == 1 and p.endswith("/zarr.json")}
    return sorted((in_repo | set(index)) - set(found))


def _operations(repo_id, snapshots, tables, summaries, index, remote, gone, license) -> list:
    """Commit operations in commit order: data files, entry metadata, deletions, tables, index, card."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    data, metadata, deletions = [], [], []
    for entry, folder in snapshots.items():
        files = _entry_files(folder)
        for rel, path in files.items():
            op = CommitOperationAdd(path_in_repo=f"{entry}/{rel}", path_or_fileobj=path)
            (metadata if rel.rsplit("/", 1)[-1] in _METADATA_FILES else data).append(op)
        local = {f"{entry}/{rel}" for rel in files}
        deletions += [CommitOperationDelete(path_in_repo=p) for p in sorted(remote)
                      if p.startswith(f"{entry}/") and p not in local]
    for entry in gone:
        if any(p.startswith(f"{entry}/") for p in remote):
            deletions.append(CommitOperationDelete(path_in_repo=f"{entry}/", is_folder=True))
        if card.runs_path(entry) in remote:
            deletions.append(CommitOperationDelete(path_in_repo=card.runs_path(entry)))
        index.pop(entry, None)
    index.update(summaries)
    meta = {card.runs_path(e): card.parquet_bytes(t) for e, t in tables.items()}
    meta[INDEX_FILE] = card.index_bytes(index)
    meta[card.CARD_FILE] = card.card_text(repo_id, index, license).encode()
    return data + metadata + deletions + [CommitOperationAdd(path_in_repo=p, path_or_fileobj=c)
                                          for p, c in meta.items()]


def _commit(hf, repo_id: str, revision: str, ops: list, message: str):
    """``create_commit`` per batch of at most :data:`FILES_PER_COMMIT` operations, the index and
    card in the last one; the last ``CommitInfo``."""
    body, tail = ops[:-2], ops[-2:]  # tail: index.json and README.md
    batches = _batches(body, FILES_PER_COMMIT)
    if batches and len(batches[-1]) + len(tail) <= FILES_PER_COMMIT:
        batches[-1] = batches[-1] + tail
    else:
        batches.append(tail)
    info = None
    with _no_empty_commit_warning():
        for n, batch in enumerate(batches, start=1):
            suffix = f" (part {n}/{len(batches)})" if len(batches) > 1 else ""
            info = hf.create_commit(repo_id, batch, commit_message=message + suffix, repo_type=REPO_TYPE,
                                    revision=revision)
            logger.info("%s@%s: part %d/%d (%d operations) -> %s", repo_id, revision, n, len(batches),
                        len(batch), info.oid)
    return info
