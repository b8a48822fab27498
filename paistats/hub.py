"""Publish a model zoo to, and pull it from, a Hugging Face Hub dataset repository.

A repo mirrors a local zoo folder: one Zarr v3 store per entry (``<entry>/...``), plus
``runs/<entry>.parquet`` (one row per run, shown by the Hub's dataset viewer), ``index.json`` (the
zoo index, as in a local zoo) and ``README.md`` (the dataset card).

* :func:`publish` uploads only files whose git blob id differs from the remote one (and deletes
  remote files of a published entry that no longer exist locally), in as few commits as possible;
  re-publishing unchanged data creates no commit and returns ``None``.
* :func:`pull` downloads only the requested entries (plus the small index files) into the standard
  Hugging Face cache and returns the local snapshot folder. It honours ``revision``,
  ``HF_HUB_OFFLINE`` and tokens from the usual places (``HF_TOKEN``, the token file), and falls
  back to the cached copy, with a warning, when the Hub cannot be reached.
* :func:`resolve` / :func:`is_hub_ref` let ``paistats.load`` accept ``hf://datasets/org/repo``
  or ``org/repo`` as a zoo; :func:`open_store` opens an entry lazily over HTTP range requests.

The endpoint (``HF_ENDPOINT``), cache (``HF_HUB_CACHE`` / ``HF_HOME``) and offline flag are read
from the environment at call time and passed to ``huggingface_hub`` explicitly (the library reads
them once, at import).
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from paistats import hub_card
from paistats.errors import ZooError
from paistats.names import check_name

logger = logging.getLogger(__name__)

REPO_TYPE = "dataset"
DEFAULT_REVISION = "main"
META_PATTERNS = [hub_card.CARD_FILE, hub_card.INDEX_FILE, f"{hub_card.RUNS_DIR}/*.parquet"]
MAX_FILES_PER_COMMIT = 1000
_ENTRY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_REPO_PART_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_TRUE = {"1", "on", "yes", "true"}


class HubError(ZooError, RuntimeError):
    """A Hub operation failed; the message is one line and never contains a token."""


class HubUnreachableError(HubError, ConnectionError):
    """The Hub could not be reached and no usable cached copy exists."""


# -- environment (read at call time) -----------------------------------------------------------


def endpoint() -> str:
    """Hub endpoint: ``HF_ENDPOINT`` now, else what ``huggingface_hub`` read at import."""
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def cache_dir() -> Path:
    """Hub cache folder: ``HF_HUB_CACHE``, else ``HF_HOME/hub``, else the library default."""
    from huggingface_hub import constants

    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path(constants.HF_HUB_CACHE)


def offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` is set (now or when ``huggingface_hub`` was imported)."""
    from huggingface_hub import constants

    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE or constants.HF_HUB_OFFLINE


def _api(token: str | bool | None = None):
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint(), token=token, library_name="paistats")


# -- names and references ----------------------------------------------------------------------


def validate_repo_id(repo_id: str) -> str:
    """Check ``org/name`` (no path traversal, no extra segments); return it."""
    parts = repo_id.split("/") if isinstance(repo_id, str) else []
    if len(parts) != 2 or not all(_REPO_PART_RE.match(p) and ".." not in p for p in parts):
        raise ValueError(f"repo id must look like 'org/name' (letters, digits, '-', '_', '.'), got {repo_id!r}")
    return repo_id


def validate_entry(name: str) -> str:
    """Check an entry name (one folder name: no separators, no ``..``); return it.

    Raises :class:`paistats.errors.InvalidNameError` (a ``ValueError``).
    """
    return check_name(name, "entry name")


def _validate_revision(revision: str | None) -> str | None:
    if revision is not None and (not revision or ".." in revision or revision.startswith("/") or "\\" in revision):
        raise ValueError(f"invalid revision {revision!r}")
    return revision


@dataclass(frozen=True)
class HubRef:
    """A parsed zoo reference: repo, optional revision, optional entry inside the repo."""

    repo_id: str
    revision: str | None = None
    entry: str | None = None

    @property
    def url(self) -> str:
        """The ``hf://`` URL of this reference."""
        rev = f"@{self.revision}" if self.revision else ""
        return f"hf://datasets/{self.repo_id}{rev}" + (f"/{self.entry}" if self.entry else "")


def parse_ref(zoo: str) -> HubRef:
    """Parse ``hf://datasets/org/repo[@rev][/entry]``, ``datasets/org/repo`` or ``org/repo[@rev]``.

    Examples
    --------
    >>> parse_ref("hf://datasets/org/zoo@v1/lenet300-mnist-snip")
    HubRef(repo_id='org/zoo', revision='v1', entry='lenet300-mnist-snip')
    """
    text = str(zoo)
    rest = text[len("hf://"):] if text.startswith("hf://") else text
    if rest.startswith("datasets/"):
        rest = rest[len("datasets/"):]
    elif text.startswith("hf://") and rest.split("/", 1)[0] in ("models", "spaces", "buckets"):
        raise ValueError(f"a zoo lives in a dataset repo: expected hf://datasets/org/name, got {text!r}")
    parts = rest.strip("/").split("/")
    if len(parts) < 2:
        raise ValueError(f"expected 'org/name' or 'hf://datasets/org/name[@revision][/entry]', got {text!r}")
    name, _, revision = parts[1].partition("@")
    entry = "/".join(parts[2:]) or None
    ref = HubRef(validate_repo_id(f"{parts[0]}/{name}"), _validate_revision(revision or None),
                 validate_entry(entry) if entry else None)
    return ref


def is_hub_ref(zoo) -> bool:
    """True for ``hf://...`` and for ``org/name`` ids that are not existing local paths."""
    if not isinstance(zoo, str):
        return False
    if zoo.startswith("hf://"):
        return True
    if zoo.startswith((".", "/", "~")) or "\\" in zoo or Path(zoo).exists():
        return False
    try:
        parse_ref(zoo)
    except ValueError:
        return False
    return zoo.count("/") == 1 or zoo.startswith("datasets/")


# -- errors ------------------------------------------------------------------------------------


def _is_unreachable(err: BaseException) -> bool:
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(err, (httpx2.TransportError, OfflineModeIsEnabled, ConnectionError, TimeoutError)):
        return True
    response = getattr(err, "response", None) if isinstance(err, HfHubHTTPError) else None
    return response is not None and response.status_code >= 500


@contextlib.contextmanager
def _hub_errors(action: str, repo_id: str, revision: str | None) -> Iterator[None]:
    """Turn ``huggingface_hub`` / transport errors into one-line :class:`HubError` messages."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

    where = f"{repo_id}@{revision or DEFAULT_REVISION}"
    try:
        yield
    except HubError:
        raise
    except RevisionNotFoundError:
        raise HubError(f"cannot {action} {where}: revision {revision or DEFAULT_REVISION!r} not found") from None
    except RepositoryNotFoundError:
        raise HubError(f"cannot {action} {where}: dataset repo not found at {endpoint()} "
                       "(or it is private and no valid token was found)") from None
    except HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else "?"
        if status in (401, 403):
            raise HubError(f"cannot {action} {where}: not authorized (HTTP {status}); "
                           "check HF_TOKEN or `hf auth login`") from None
        if _is_unreachable(err):
            raise HubUnreachableError(f"cannot {action} {where}: the Hub at {endpoint()} failed "
                                      f"(HTTP {status})") from None
        raise HubError(f"cannot {action} {where}: HTTP {status} from {endpoint()}") from None
    except Exception as err:
        if _is_unreachable(err):
            raise HubUnreachableError(f"cannot {action} {where}: the Hub at {endpoint()} is unreachable "
                                      f"({type(err).__name__})") from None
        raise


# -- publish -----------------------------------------------------------------------------------


def git_blob_sha1(path: Path) -> str:
    """Git blob id of a file, as the Hub reports it (``oid``) for regular files."""
    digest = hashlib.sha1(b"blob %d\0" % path.stat().st_size)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _blob_sha1(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def local_entries(zoo_dir: Path) -> dict[str, Path]:
    """Entries of a local zoo: sub-folders holding a Zarr store (``zarr.json``).

    ``zoo_dir`` may also be a single entry's folder.
    """
    zoo_dir = Path(zoo_dir)
    if not zoo_dir.is_dir():
        raise FileNotFoundError(f"zoo folder not found: {zoo_dir}")
    if (zoo_dir / "zarr.json").is_file():
        return {validate_entry(zoo_dir.name): zoo_dir}
    return {p.name: p for p in sorted(zoo_dir.iterdir())
            if p.is_dir() and (p / "zarr.json").is_file() and _ENTRY_RE.match(p.name)}


def _select(found: dict[str, Path], entries: list[str] | None, zoo_dir: Path) -> dict[str, Path]:
    if entries is None:
        if not found:
            raise FileNotFoundError(f"no Zarr entries (folders with zarr.json) in {zoo_dir}")
        return found
    missing = [validate_entry(e) for e in entries if e not in found]
    if missing:
        raise FileNotFoundError(f"entries not found in {zoo_dir}: {', '.join(missing)}; "
                                f"available: {', '.join(found) or 'none'}")
    return {e: found[e] for e in entries}


def _entry_files(entry: str, entry_dir: Path) -> dict[str, Path]:
    """Repo path → local file for every file of an entry's store (hidden files skipped)."""
    out = {}
    for path in sorted(entry_dir.rglob("*")):
        rel = path.relative_to(entry_dir)
        if path.is_file() and not any(part.startswith(".") for part in rel.parts):
            out[f"{entry}/{rel.as_posix()}"] = path
    return out


def _remote_tree(api, repo_id: str, revision: str) -> dict[str, str]:
    from huggingface_hub.hf_api import RepoFile

    files = api.list_repo_tree(repo_id, repo_type=REPO_TYPE, revision=revision, recursive=True)
    return {f.path: f.blob_id for f in files if isinstance(f, RepoFile)}


def _remote_index(api, repo_id: str, revision: str, remote: dict[str, str]) -> dict[str, dict]:
    if hub_card.INDEX_FILE not in remote:
        return {}
    from huggingface_hub import hf_hub_download

    path = hf_hub_download(repo_id, hub_card.INDEX_FILE, repo_type=REPO_TYPE, revision=revision,
                           endpoint=api.endpoint, token=api.token, cache_dir=cache_dir())
    return hub_card.read_index(Path(path).read_bytes())


def _entry_operations(entry: str, entry_dir: Path, remote: dict[str, str]) -> list:
    """Additions of changed files and deletions of remote files gone locally."""
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    files = _entry_files(entry, entry_dir)
    ops = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=str(f))
           for p, f in files.items() if remote.get(p) != git_blob_sha1(f)]
    gone = [p for p in remote if p.startswith(f"{entry}/") and p not in files]
    return ops + [CommitOperationDelete(path_in_repo=p) for p in gone]


def _meta_operations(repo_id: str, selected: dict[str, Path], index: dict[str, dict],
                     remote: dict[str, str], license: str) -> list:
    """Per-run tables, index and card, for those whose bytes differ from the remote ones."""
    from huggingface_hub import CommitOperationAdd

    contents: dict[str, bytes] = {}
    for entry, entry_dir in selected.items():
        frame = hub_card.runs_frame(entry_dir, entry)
        contents[hub_card.runs_path(entry)] = hub_card.parquet_bytes(frame)
        index[entry] = hub_card.entry_summary(frame, entry_dir)
    contents[hub_card.INDEX_FILE] = hub_card.index_bytes(index)
    contents[hub_card.CARD_FILE] = hub_card.card_text(repo_id, index, license).encode()
    return [CommitOperationAdd(path_in_repo=p, path_or_fileobj=c)
            for p, c in contents.items() if remote.get(p) != _blob_sha1(c)]


def _ensure_repo(api, repo_id: str, revision: str, private: bool) -> None:
    api.create_repo(repo_id, repo_type=REPO_TYPE, private=private, exist_ok=True)
    if revision != DEFAULT_REVISION and not re.fullmatch(r"[0-9a-f]{40}", revision):
        api.create_branch(repo_id, branch=revision, repo_type=REPO_TYPE, exist_ok=True)


def publish(zoo_dir, repo_id: str, *, entries: list[str] | None = None, revision: str | None = None,
            token: str | None = None, private: bool = False, commit_message: str | None = None,
            license: str = "cc-by-4.0"):
    """Publish zoo entries (Zarr stores, per-run tables, index, card) to a Hub dataset repo.

    Parameters
    ----------
    zoo_dir : path
        Local zoo folder (``<zoo>/<entry>/zarr.json``) or one entry's folder.
    repo_id : str
        ``org/name`` of the dataset repo (created if missing).
    entries : list of str, optional
        Entries to publish; default all entries of ``zoo_dir``. Entries already in the repo and
        not listed stay as they are (and stay in the index and card).
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

    Returns
    -------
    huggingface_hub.CommitInfo or None
        The last commit created, or ``None`` when the remote already held identical files.
    """
    validate_repo_id(repo_id)
    revision = _validate_revision(revision) or DEFAULT_REVISION
    zoo_dir = Path(zoo_dir)
    selected = _select(local_entries(zoo_dir), entries, zoo_dir)
    api = _api(token)
    with _hub_errors("publish to", repo_id, revision):
        _ensure_repo(api, repo_id, revision, private)
        remote = _remote_tree(api, repo_id, revision)
        index = _remote_index(api, repo_id, revision, remote)
        data_ops = [op for e, d in selected.items() for op in _entry_operations(e, d, remote)]
        meta_ops = _meta_operations(repo_id, selected, index, remote, license)
        if not data_ops and not meta_ops:
            logger.info("%s@%s already holds these files: nothing to publish", repo_id, revision)
            return None
        message = commit_message or f"Publish {', '.join(selected)} with paistats"
        return _commit_in_batches(api, repo_id, revision, data_ops, meta_ops, message)


def _commit_in_batches(api, repo_id: str, revision: str, data_ops: list, meta_ops: list, message: str):
    """Commit data in batches of :data:`MAX_FILES_PER_COMMIT`; metadata goes with the last batch."""
    batches = [data_ops[i:i + MAX_FILES_PER_COMMIT] for i in range(0, len(data_ops), MAX_FILES_PER_COMMIT)] or [[]]
    batches[-1] = batches[-1] + meta_ops
    info = None
    for n, ops in enumerate(batches, start=1):
        suffix = f" (part {n}/{len(batches)})" if len(batches) > 1 else ""
        info = api.create_commit(repo_id, ops, commit_message=message + suffix, repo_type=REPO_TYPE,
                                 revision=revision)
        logger.info("committed %d file operation(s) to %s@%s: %s", len(ops), repo_id, revision, info.oid)
    return info


# -- pull --------------------------------------------------------------------------------------


def _patterns(entries: list[str] | None) -> list[str] | None:
    if entries is None:
        return None
    return META_PATTERNS + [f"{validate_entry(e)}/**" for e in entries]


def _snapshot(repo_id: str, revision: str, patterns, token, local_only: bool) -> Path:
    from huggingface_hub import snapshot_download

    path = snapshot_download(repo_id, repo_type=REPO_TYPE, revision=revision, allow_patterns=patterns,
                             cache_dir=cache_dir(), endpoint=endpoint(), token=token,
                             local_files_only=local_only, library_name="paistats")
    return Path(path)


def _cached(repo_id: str, revision: str, patterns, reason: str) -> Path:
    """The cached snapshot, or :class:`HubUnreachableError` naming ``reason``."""
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return _snapshot(repo_id, revision, patterns, None, local_only=True)
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError) as err:
        raise HubUnreachableError(f"{reason}, and no complete cached copy of {repo_id}@{revision} exists "
                                  f"({type(err).__name__})") from None


def _check_entries(path: Path, entries: list[str] | None, repo_id: str, revision: str) -> Path:
    missing = [e for e in entries or [] if not (path / e / "zarr.json").is_file()]
    if missing:
        available = sorted(p.name for p in path.iterdir() if (p / "zarr.json").is_file())
        index_file = path / hub_card.INDEX_FILE
        known = hub_card.read_index(index_file.read_bytes()) if index_file.is_file() else {}
        raise HubError(f"entries not in {repo_id}@{revision}: {', '.join(missing)}; "
                       f"available: {', '.join(sorted(set(available) | set(known))) or 'none'}")
    return path


def pull(repo_id: str, *, entries: list[str] | None = None, revision: str | None = None,
         token: str | None = None) -> Path:
    """Download a zoo (or some entries) into the Hugging Face cache; return the snapshot folder.

    Only ``<entry>/**`` of the requested entries and the small index files (card, ``index.json``,
    ``runs/*.parquet``) are fetched; files already cached are not downloaded again.

    Parameters
    ----------
    repo_id : str
        ``org/name`` of the dataset repo.
    entries : list of str, optional
        Entries to fetch; default: the whole repo.
    revision : str, optional
        Branch, tag or commit sha; default ``main``. Pin a commit sha for reproducible analyses.
    token : str, optional
        Read token for private repos; default: ``HF_TOKEN`` or the saved token.

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
    revision = _validate_revision(revision) or DEFAULT_REVISION
    patterns = _patterns(entries)
    if offline():
        path = _cached(repo_id, revision, patterns, "HF_HUB_OFFLINE is set")
        return _check_entries(path, entries, repo_id, revision)
    try:
        with _hub_errors("pull", repo_id, revision):
            _api(token).repo_info(repo_id, repo_type=REPO_TYPE, revision=revision)
    except HubUnreachableError as err:
        path = _cached(repo_id, revision, patterns, str(err))
        logger.warning("%s; using the cached copy at %s", err, path)
        return _check_entries(path, entries, repo_id, revision)
    with _hub_errors("pull", repo_id, revision):
        path = _snapshot(repo_id, revision, patterns, token, local_only=False)
    return _check_entries(path, entries, repo_id, revision)


def resolve(zoo: str, *, entries: list[str] | None = None, revision: str | None = None) -> Path:
    """Local snapshot folder for a Hub zoo reference (for ``paistats.load``).

    Parameters
    ----------
    zoo : str
        ``hf://datasets/org/repo[@rev][/entry]``, ``datasets/org/repo`` or ``org/repo[@rev]``.
    entries : list of str, optional
        Entries the caller will read (only those are downloaded); default all.
    revision : str, optional
        Revision, when ``zoo`` does not name one.

    Returns
    -------
    pathlib.Path
        The zoo root: ``<path>/<entry>`` is a Zarr v3 store.
    """
    ref = parse_ref(zoo)
    if ref.revision and revision and ref.revision != revision:
        raise ValueError(f"two revisions given: {ref.revision!r} in {zoo!r} and revision={revision!r}")
    wanted = list(entries) if entries is not None else None
    if ref.entry:
        wanted = sorted(set(wanted or []) | {ref.entry})
    return pull(ref.repo_id, entries=wanted, revision=ref.revision or revision)


def local_zoo(zoo: str, *, revision: str | None = None, entries: list[str] | None = None) -> Path:
    """Same as :func:`resolve` (the name ``paistats.zoo.resolve_zoo`` calls)."""
    return resolve(zoo, entries=entries, revision=revision)


def hf_url(repo_id: str, entry: str | None = None, revision: str | None = None) -> str:
    """``hf://datasets/<repo>[@<rev>][/<entry>]`` for lazy access with fsspec."""
    return HubRef(validate_repo_id(repo_id), _validate_revision(revision),
                  validate_entry(entry) if entry else None).url


def open_store(zoo: str, entry: str | None = None, *, revision: str | None = None, token: str | None = None):
    """A read-only Zarr store over ``hf://`` (HTTP range reads; nothing downloaded up front).

    Parameters
    ----------
    zoo : str
        Hub reference (see :func:`parse_ref`); may already name the entry.
    entry : str, optional
        Entry to open when ``zoo`` does not name one.

    Returns
    -------
    zarr.storage.FsspecStore
        Open with ``zarr.open_group(store, mode="r")`` or ``xarray.open_datatree(store, engine="zarr")``.
    """
    import zarr

    ref = parse_ref(zoo)
    name = entry or ref.entry
    if name is None:
        raise ValueError(f"no entry given: pass entry= or use hf://datasets/{ref.repo_id}/<entry>")
    url = hf_url(ref.repo_id, name, ref.revision or revision)
    options = {"endpoint": endpoint(), "token": token}
    return zarr.storage.FsspecStore.from_url(url, storage_options=options, read_only=True)
