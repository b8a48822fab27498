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
from paistats.hub.errors import HubError, HubUnreachableError, InvalidRepoIdError, InvalidRevisionError
from paistats.hub.publish import FILES_PER_COMMIT, local_entries, publish
from paistats.hub.pull import local_zoo, open_store, pull, resolve
from paistats.hub.refs import (
    DEFAULT_REVISION, REPO_TYPE, HubRef, cache_dir, endpoint, hf_url, is_hub_ref, offline, parse_ref,
    validate_entry, validate_repo_id, validate_revision,
)

__all__ = [
    "DEFAULT_REVISION", "FILES_PER_COMMIT", "REPO_TYPE", "HubError", "HubRef", "HubUnreachableError",
    "InvalidRepoIdError", "InvalidRevisionError", "cache_dir", "endpoint", "hf_url", "is_hub_ref",
    "local_entries", "local_zoo", "offline", "open_store", "parse_ref", "publish", "pull", "resolve",
    "validate_entry", "validate_repo_id", "validate_revision",
]
