"""Where a zoo lives on the Hub: repo ids, revisions, entry names and ``hf://`` references.

The client's environment (endpoint, cache, offline flag, :func:`api`) is defined in
:mod:`paistats.hub.env` and re-exported here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# the environment lives one layer down (paistats.hub.errors reads it too); re-exported here
from paistats.hub.env import DEFAULT_REVISION, REPO_TYPE, api, cache_dir, endpoint, offline  # noqa: F401
from paistats.hub.errors import InvalidRepoIdError, InvalidRevisionError
from paistats.names import check_name

_REPO_PART_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_COMMIT_SHA_RE = re.compile(r"^[0-9a-f]{40}$")


# -- names -------------------------------------------------------------------------------------


def validate_repo_id(repo_id: str) -> str:
    """Check ``org/name`` (no path traversal, no extra segments); return it.

    Parameters
    ----------
    repo_id : str
        A Hub dataset repo id: two parts separated by one ``/``, each starting with a letter or
        digit and made of letters, digits, ``-``, ``_`` and ``.`` (no ``..``).

    Returns
    -------
    str
        ``repo_id`` unchanged.

    Raises
    ------
    InvalidRepoIdError
        If ``repo_id`` is not a string of that form (a ``ValueError`` and a ``paistats.ZooError``).
    """
    parts = repo_id.split("/") if isinstance(repo_id, str) else []
    if len(parts) != 2 or not all(_REPO_PART_RE.match(p) and ".." not in p for p in parts):
        raise InvalidRepoIdError(f"repo id must look like 'org/name' (letters, digits, '-', '_', '.'), "
                                 f"got {repo_id!r}")
    return repo_id


def validate_entry(name: str) -> str:
    """Check an entry name (one folder name: no separators, no ``..``); return it.

    Parameters
    ----------
    name : str
        An entry name such as ``"lenet300-mnist-snip"``: letters, digits, ``_``, ``.``, ``-``,
        not starting with ``.`` or ``-``, at most 200 characters
        (:func:`paistats.names.check_name`).

    Returns
    -------
    str
        ``name`` unchanged.

    Raises
    ------
    paistats.errors.InvalidNameError
        If ``name`` is not a string or not one safe folder name (a ``ValueError``).
    """
    return check_name(name, "entry name")


def validate_revision(revision: str | None) -> str | None:
    """Check a branch, tag or commit sha (``None`` passes); return it.

    Parameters
    ----------
    revision : str or None
        A branch, tag or commit sha; ``None`` (the repo's default branch) passes unchecked.

    Returns
    -------
    str or None
        ``revision`` unchanged.

    Raises
    ------
    InvalidRevisionError
        If ``revision`` is not a string, is empty, contains ``..`` or ``\\``, starts with ``/`` or
        has leading or trailing whitespace.
    """
    if revision is not None and (not isinstance(revision, str) or not revision or ".." in revision
                                 or revision.startswith("/") or "\\" in revision or revision != revision.strip()):
        raise InvalidRevisionError(f"invalid revision {revision!r}: give a branch, tag or commit sha")
    return revision


def is_commit_sha(revision: str) -> bool:
    """True for a full 40-hex commit sha (which cannot be committed to).

    Parameters
    ----------
    revision : str
        A revision (branch, tag or commit sha).

    Returns
    -------
    bool
        True when ``revision`` is exactly 40 lowercase hexadecimal digits.
    """
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

    Parameters
    ----------
    zoo : str or path-like
        The reference (converted with ``str``). The ``hf://`` and ``datasets/`` prefixes are
        optional; ``@rev`` follows the repo name; what follows the repo is one entry name.

    Returns
    -------
    HubRef
        ``repo_id``, ``revision`` (None when not given) and ``entry`` (None when not given), each
        validated.

    Raises
    ------
    InvalidRepoIdError
        If the reference has fewer than two parts, names a model / space / bucket repo
        (``hf://models/...``), or its repo id is invalid (:func:`validate_repo_id`).
    InvalidRevisionError
        If the revision is invalid (:func:`validate_revision`).
    paistats.errors.InvalidNameError
        If the entry is not one folder name (:func:`validate_entry`).

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
    """True for ``hf://...`` and for ``org/name`` ids that are not existing local paths.

    Parameters
    ----------
    zoo : object
        What a user passed as a zoo (a path, a repo id, an ``hf://`` URL, anything else).

    Returns
    -------
    bool
        True for any string starting with ``hf://``, and for ``org/name[@rev]`` or
        ``datasets/org/name[...]`` that :func:`parse_ref` accepts and that is not an existing local
        path (nor starts with ``.``, ``/`` or ``~``, nor contains ``\\``); False otherwise
        (including every non-string).
    """
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
    """``hf://datasets/<repo>[@<rev>][/<entry>]`` for lazy access with fsspec.

    Parameters
    ----------
    repo_id : str
        The dataset repo, ``org/name`` (:func:`validate_repo_id`).
    entry : str, optional
        An entry inside the repo (:func:`validate_entry`); default: the repo's root.
    revision : str, optional
        Branch, tag or commit sha (:func:`validate_revision`); default: the default branch.

    Returns
    -------
    str
        The ``hf://`` URL (:attr:`HubRef.url`).

    Raises
    ------
    InvalidRepoIdError, InvalidRevisionError, paistats.errors.InvalidNameError
        If a part is invalid.
    """
    return HubRef(validate_repo_id(repo_id), validate_revision(revision),
                  validate_entry(entry) if entry else None).url
