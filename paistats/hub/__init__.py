"""Publish a model zoo to, and pull it from, a Hugging Face Hub dataset repository.

A repo mirrors a local zoo: one Zarr v3 store per entry (``<entry>/...``, the entry's published
snapshot), ``runs/<entry>.parquet`` (one row per run, shown by the Hub's dataset viewer),
``index.json`` (the zoo index, as in a local zoo) and ``README.md`` (the dataset card).
See ``docs/hub.md``.

Modules
-------
refs
    Repo ids, ``hf://`` references, endpoint, cache and offline flag (read at call time).
pull
    :func:`pull` / :func:`resolve`: a snapshot of the index files and selected entries in the
    Hugging Face cache, with the cached copy as fallback; :func:`open_store` for lazy ``hf://`` reads.
publish
    :func:`publish`: ``create_commit`` batches of ``CommitOperationAdd`` / ``CommitOperationDelete``;
    the Hub's preupload answer decides what is uploaded (regular or LFS) and what is unchanged.
card
    The per-run table, the index and the dataset card, read through the store's reader.
errors
    :class:`HubError` and subclasses (all ``paistats.ZooError``), one line each.
"""
from paistats._lazy import lazy_attributes
from paistats.hub.errors import HubError, HubUnreachableError, InvalidRepoIdError, InvalidRevisionError
from paistats.hub.refs import (
    DEFAULT_REVISION, REPO_TYPE, HubRef, cache_dir, endpoint, hf_url, is_hub_ref, offline, parse_ref,
    validate_entry, validate_repo_id, validate_revision,
)

#: Names whose modules import pandas, zarr and the store: loaded on first access (PEP 562), so that
#: parsing a Hub reference (a command line's ``--zoo``) stays light.
_WHERE = {"FILES_PER_COMMIT": "publish", "local_entries": "publish", "publish": "publish",
          "local_zoo": "pull", "open_store": "pull", "pull": "pull", "resolve": "pull",
          "read_listing": "pull"}


# ``hub.publish`` and ``hub.pull`` stay the functions even once their submodules are imported
__getattr__, __dir__ = lazy_attributes(__name__, _WHERE, functions=("publish", "pull"))


__all__ = [
    "DEFAULT_REVISION", "FILES_PER_COMMIT", "REPO_TYPE", "HubError", "HubRef", "HubUnreachableError",
    "InvalidRepoIdError", "InvalidRevisionError", "cache_dir", "endpoint", "hf_url", "is_hub_ref",
    "local_entries", "local_zoo", "offline", "open_store", "parse_ref", "publish", "pull", "read_listing",
    "resolve", "validate_entry", "validate_repo_id", "validate_revision",
]
