"""Getting a published zoo: a snapshot of the index files and selected entries in the Hugging Face
cache (with the cached copy as fallback when the Hub cannot be reached), or lazy ``hf://`` access."""
from __future__ import annotations

import logging
from pathlib import Path

from paistats.hub import card
from paistats.hub.errors import HubError, HubUnreachableError, hub_errors
from paistats.hub.refs import (
    DEFAULT_REVISION, REPO_TYPE, api, cache_dir, endpoint, hf_url, offline, parse_ref, validate_entry,
    validate_repo_id, validate_revision,
)
from paistats.store.layout import INDEX_FILE, STATE_GROUP
from paistats.store.reader import read_root_attrs

logger = logging.getLogger(__name__)

#: Small files every pull fetches: the card, the zoo index and the per-run tables.
META_PATTERNS = [card.CARD_FILE, INDEX_FILE, f"{card.RUNS_DIR}/*.parquet"]


def _tensor_groups(entry_dir: Path) -> list[str]:
    """Top-level groups of an entry that hold tensors (one per prunable tensor, and ``state``)."""
    attrs = read_root_attrs(entry_dir)
    return sorted({t["name"] if t["prunable"] else STATE_GROUP for t in attrs["tensors"]})


def _snapshot(repo_id: str, revision: str, allow, ignore, token, local_only: bool) -> Path:
    from huggingface_hub import snapshot_download

    path = snapshot_download(repo_id, repo_type=REPO_TYPE, revision=revision, allow_patterns=allow,
                             ignore_patterns=ignore, cache_dir=cache_dir(), endpoint=endpoint(), token=token,
                             local_files_only=local_only, library_name="paistats")
    return Path(path)


def _cached(repo_id: str, revision: str, allow, ignore, reason: str) -> Path:
    """The cached snapshot, or :class:`HubUnreachableError` naming ``reason``."""
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return _snapshot(repo_id, revision, allow, ignore, None, local_only=True)
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError) as err:
        fix = "unset HF_HUB_OFFLINE to download it" if offline() else "check the network and HF_ENDPOINT"
        raise HubUnreachableError(f"{reason}, and no complete cached copy of {repo_id}@{revision} exists "
                                  f"({type(err).__name__}); {fix}") from None


def _fetch(repo_id: str, revision: str, allow, ignore, token) -> Path:
    """Snapshot of the files matching ``allow`` but not ``ignore``: from the Hub, or from the cache
    when offline (``HF_HUB_OFFLINE``) or when the Hub cannot be reached (with a warning)."""
    if offline():
        return _cached(repo_id, revision, allow, ignore, "HF_HUB_OFFLINE is set")
    try:
        with hub_errors("pull", repo_id, revision):
            api(token).repo_info(repo_id, repo_type=REPO_TYPE, revision=revision)
    except HubUnreachableError as err:
        path = _cached(repo_id, revision, allow, ignore, str(err))
        logger.warning("%s; using the cached copy at %s", err, path)
        return path
    with hub_errors("pull", repo_id, revision):
        return _snapshot(repo_id, revision, allow, ignore, token, local_only=False)


def _check_entries(path: Path, entries: list[str] | None, repo_id: str, revision: str) -> Path:
    missing = [e for e in entries or [] if not (path / e / "zarr.json").is_file()]
    if missing:
        available = sorted(p.name for p in path.iterdir() if (p / "zarr.json").is_file())
        index_file = path / INDEX_FILE
        known = card.read_index(index_file.read_bytes()) if index_file.is_file() else {}
        raise HubError(f"entries not in {repo_id}@{revision}: {', '.join(missing)}; "
                       f"available: {', '.join(sorted(set(available) | set(known))) or 'none'}")
    return path


def pull(repo_id: str, *, entries: list[str] | None = None, revision: str | None = None,
         token: str | None = None, tensors: bool = True) -> Path:
    """Download a zoo (or some entries) into the Hugging Face cache; return the snapshot folder.

    Only ``<entry>/**`` of the requested entries and the small index files (card, ``index.json``,
    ``runs/*.parquet``) are fetched; files already cached are not downloaded again.

    Parameters
    ----------
    repo_id : str
        ``org/name`` of the dataset repo.
    entries : list of str, optional
        Entries to fetch; default: every entry; ``[]``: the index files only.
    revision : str, optional
        Branch, tag or commit sha; default ``main``. Pin a commit sha for reproducible analyses.
    token : str, optional
        Read token for private repos; default: ``HF_TOKEN`` or the saved token.
    tensors : bool
        False: skip the tensor groups (one per prunable tensor, and ``state/``) of each entry;
        the root variables (accuracy, density, histories, flags) are still fetched. The entry's
        root ``zarr.json`` is fetched first to learn those group names.

    Returns
    -------
    pathlib.Path
        Snapshot folder: ``<path>/<entry>`` is a Zarr v3 store.

    Raises
    ------
    HubUnreachableError
        When the Hub cannot be reached (or ``HF_HUB_OFFLINE`` is set) and nothing usable is cached.
        When a cached copy exists it is returned with a warning instead.
    HubError
        Unknown repo, revision or entry; missing authorization.
    """
    validate_repo_id(repo_id)
    revision = validate_revision(revision) or DEFAULT_REVISION
    wanted = None if entries is None else [validate_entry(e) for e in entries]
    if tensors:
        allow = None if wanted is None else META_PATTERNS + [f"{e}/**" for e in wanted]
        return _check_entries(_fetch(repo_id, revision, allow, None, token), wanted, repo_id, revision)
    if wanted is None:  # every entry the index lists
        path = _fetch(repo_id, revision, META_PATTERNS, None, token)
        wanted = sorted(card.read_index((path / INDEX_FILE).read_bytes())) if (path / INDEX_FILE).is_file() else []
    path = _fetch(repo_id, revision, META_PATTERNS + [f"{e}/zarr.json" for e in wanted], None, token)
    _check_entries(path, wanted, repo_id, revision)
    ignore = [f"{e}/{group}/**" for e in wanted for group in _tensor_groups(path / e)]
    path = _fetch(repo_id, revision, META_PATTERNS + [f"{e}/**" for e in wanted], ignore, token)
    return _check_entries(path, wanted, repo_id, revision)


def resolve(zoo: str, *, entries: list[str] | None = None, revision: str | None = None,
            tensors: bool = True) -> Path:
    """Local snapshot folder for a Hub zoo reference (for ``paistats.load``).

    Parameters
    ----------
    zoo : str
        ``hf://datasets/org/repo[@rev][/entry]``, ``datasets/org/repo`` or ``org/repo[@rev]``.
    entries : list of str, optional
        Entries the caller will read (only those are downloaded); default all.
    revision : str, optional
        Revision, when ``zoo`` does not name one.
    tensors : bool
        False: skip the entries' tensor groups (see :func:`pull`).

    Returns
    -------
    pathlib.Path
        The zoo root: ``<path>/<entry>`` is a Zarr v3 store.
    """
    ref = _parse(zoo, revision)
    wanted = list(entries) if entries is not None else None
    if ref.entry:
        wanted = sorted(set(wanted or []) | {ref.entry})
    return pull(ref.repo_id, entries=wanted, revision=ref.revision, tensors=tensors)


def _parse(zoo: str, revision: str | None):
    """The :class:`HubRef` of ``zoo`` with ``revision`` filled in (refusing two different ones)."""
    ref = parse_ref(zoo)
    if ref.revision and revision and ref.revision != revision:
        raise HubError(f"two revisions given: {ref.revision!r} in {zoo!r} and revision={revision!r}; give one")
    return type(ref)(ref.repo_id, ref.revision or revision, ref.entry)


def _download_index(repo_id: str, revision: str, token, local_only: bool) -> Path | None:
    """``index.json`` of the repo, alone (one HEAD and at most one GET); None when the repo has none."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import RemoteEntryNotFoundError

    try:
        return Path(hf_hub_download(repo_id, INDEX_FILE, repo_type=REPO_TYPE, revision=revision,
                                    cache_dir=cache_dir(), endpoint=endpoint(), token=token,
                                    local_files_only=local_only, library_name="paistats"))
    except RemoteEntryNotFoundError:  # the repo exists but has no index
        return None


def _index_file(repo_id: str, revision: str, token) -> Path | None:
    """:func:`_download_index` from the Hub, or from the cache when offline or when the Hub cannot
    be reached (with a warning). A ``repo_info`` call comes first, as in :func:`_fetch`: it fails
    at once where the download would retry, and names an unknown repo or revision."""
    from huggingface_hub.errors import LocalEntryNotFoundError

    def cached(reason: str) -> Path:
        try:
            path = _download_index(repo_id, revision, None, local_only=True)
        except (LocalEntryNotFoundError, OSError, ValueError):
            path = None
        if path is None:
            fix = "unset HF_HUB_OFFLINE to download it" if offline() else "check the network and HF_ENDPOINT"
            raise HubUnreachableError(f"{reason}, and no complete cached copy of {repo_id}@{revision} exists "
                                      f"(no {INDEX_FILE}); {fix}") from None
        return path

    if offline():
        return cached("HF_HUB_OFFLINE is set")
    try:
        with hub_errors("list", repo_id, revision):
            api(token).repo_info(repo_id, repo_type=REPO_TYPE, revision=revision)
    except HubUnreachableError as err:
        path = cached(str(err))
        logger.warning("%s; using the cached %s at %s", err, INDEX_FILE, path)
        return path
    with hub_errors("list", repo_id, revision):
        return _download_index(repo_id, revision, token, local_only=False)


def read_listing(zoo: str, *, revision: str | None = None, token: str | None = None) -> dict[str, dict] | None:
    """The per-entry records of a Hub zoo's ``index.json``, downloading that one file only.

    Parameters
    ----------
    zoo : str
        Hub reference (see :func:`paistats.hub.parse_ref`).
    revision : str, optional
        Revision, when ``zoo`` does not name one.
    token : str, optional
        Read token for private repos.

    Returns
    -------
    dict or None
        Entry name → record with every field of :data:`paistats.hub.card.LISTING_FIELDS`; None
        when the repo has no ``index.json`` or one written before those fields existed (the caller
        then reads the entries themselves).

    Raises
    ------
    HubError, HubUnreachableError
        Unknown repo or revision; the Hub unreachable with no cached index.
    """
    ref = _parse(zoo, revision)
    rev = validate_revision(ref.revision) or DEFAULT_REVISION
    path = _index_file(ref.repo_id, rev, token)
    if path is None:
        return None
    return card.read_listing(path.read_bytes())


def local_zoo(zoo: str, *, revision: str | None = None, entries: list[str] | None = None) -> Path:
    """Same as :func:`resolve` (the name ``paistats.zoo.resolve_zoo`` calls).

    Parameters
    ----------
    zoo : str
        Hub reference (``org/name``, ``hf://datasets/org/name[@rev]``).
    revision : str, optional
        Branch, tag or commit (default: the reference's, else ``main``).
    entries : list of str, optional
        The only entries to download (``[]``: index files only; None: all).

    Returns
    -------
    pathlib.Path
        The local snapshot folder (a zoo directory).
    """
    return resolve(zoo, entries=entries, revision=revision)


def open_store(zoo: str, entry: str | None = None, *, revision: str | None = None, token: str | None = None):
    """A read-only Zarr store over ``hf://`` (HTTP range reads; nothing downloaded up front).

    Parameters
    ----------
    zoo : str
        Hub reference (see :func:`paistats.hub.parse_ref`); may already name the entry.
    entry : str, optional
        Entry to open when ``zoo`` does not name one.
    revision : str, optional
        Branch, tag or commit when ``zoo`` names none.
    token : str, optional
        Hub token (default: the client's configured one).

    Returns
    -------
    zarr.storage.FsspecStore
        Open with ``zarr.open_group(store, mode="r")`` or ``xarray.open_datatree(store, engine="zarr")``.
    """
    import zarr

    ref = parse_ref(zoo)
    name = entry or ref.entry
    if name is None:
        raise HubError(f"no entry given: pass entry= or use hf://datasets/{ref.repo_id}/<entry>")
    url = hf_url(ref.repo_id, name, ref.revision or revision)
    options = {"endpoint": endpoint(), "token": token}
    return zarr.storage.FsspecStore.from_url(url, storage_options=options, read_only=True)
