"""Where a zoo lives on the Hub: repo ids, ``hf://`` references, the endpoint, cache and offline flag.

The endpoint (``HF_ENDPOINT``), cache (``HF_HUB_CACHE`` / ``HF_HOME``) and offline flag
(``HF_HUB_OFFLINE``) are read from the environment at call time and passed to ``huggingface_hub``
explicitly (the library reads them once, at import).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from paistats.hub.errors import InvalidRepoIdError, InvalidRevisionError
from paistats.names import check_name

REPO_TYPE = "dataset"
DEFAULT_REVISION = "main"
_REPO_PART_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_COMMIT_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_TRUE = {"1", "on", "yes", "true"}


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


def api(token: str | bool | None = None):
    """An ``HfApi`` on :func:`endpoint` (``token=None``: whatever ``huggingface_hub`` finds)."""
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint(), token=token, library_name="paistats")


# -- names -------------------------------------------------------------------------------------


def validate_repo_id(repo_id: str) -> str:
    """Check ``org/name`` (no path traversal, no extra segments); return it.

    Raises :class:`InvalidRepoIdError` (a ``ValueError`` and a ``paistats.ZooError``).
    """
    parts = repo_id.split("/") if isinstance(repo_id, str) else []
    if len(parts) != 2 or not all(_REPO_PART_RE.match(p) and ".." not in p for p in parts):
        raise InvalidRepoIdError(f"repo id must look like 'org/name' (letters, digits, '-', '_', '.'), "
                                 f"got {repo_id!r}")
    return repo_id


def validate_entry(name: str) -> str:
    """Check an entry name (one folder name: no separators, no ``..``); return it.

    Raises :class:`paistats.errors.InvalidNameError` (a ``ValueError``).
    """
    return check_name(name, "entry name")


def validate_revision(revision: str | None) -> str | None:
    """Check a branch, tag or commit sha (``None`` passes); return it."""
    if revision is not None and (not isinstance(revision, str) or not revision or ".." in revision
                                 or revision.startswith("/") or "\\" in revision or revision != revision.strip()):
        raise InvalidRevisionError(f"invalid revision {revision!r}: give a branch, tag or commit sha")
    return revision


def is_commit_sha(revision: str) -> bool:
    """True for a full 40-hex commit sha (which cannot be committed to)."""
    return bool(_COMMIT_SHA_RE.fullmatch(revision))


# -- references --------------------------------------------------------------------------------


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
        raise InvalidRepoIdError(f"a zoo lives in a dataset repo: expected hf://datasets/org/name, got {text!r}")
    parts = rest.strip("/").split("/")
    if len(parts) < 2:
        raise InvalidRepoIdError(f"expected 'org/name' or 'hf://datasets/org/name[@revision][/entry]', got {text!r}")
    name, _, revision = parts[1].partition("@")
    entry = "/".join(parts[2:]) or None
    return HubRef(validate_repo_id(f"{parts[0]}/{name}"), validate_revision(revision or None),
                  validate_entry(entry) if entry else None)


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


def hf_url(repo_id: str, entry: str | None = None, revision: str | None = None) -> str:
    """``hf://datasets/<repo>[@<rev>][/<entry>]`` for lazy access with fsspec."""
    return HubRef(validate_repo_id(repo_id), validate_revision(revision),
                  validate_entry(entry) if entry else None).url
