"""The Hub client's environment: endpoint, cache folder, offline flag, repo type, default revision.

The endpoint (``HF_ENDPOINT``), cache (``HF_HUB_CACHE`` / ``HF_HOME``) and offline flag
(``HF_HUB_OFFLINE``) are read from the environment at call time and passed to ``huggingface_hub``
explicitly (the library reads them once, at import). The bottom of :mod:`paistats.hub`: it imports
nothing from the project, so :mod:`paistats.hub.errors` (messages name the endpoint) and
:mod:`paistats.hub.refs` (which re-exports these names) both build on it.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_TYPE = "dataset"
DEFAULT_REVISION = "main"
_TRUE = {"1", "on", "yes", "true"}


def endpoint() -> str:
    """Hub endpoint: ``HF_ENDPOINT`` now, else what ``huggingface_hub`` read at import.

    Returns
    -------
    str
        Base URL of the Hub (e.g. ``"https://huggingface.co"``), without a trailing ``/``.
    """
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def cache_dir() -> Path:
    """Hub cache folder: ``HF_HUB_CACHE``, else ``HF_HOME/hub``, else the library default.

    Returns
    -------
    pathlib.Path
        The folder (``~`` expanded); it may not exist yet.
    """
    from huggingface_hub import constants

    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path(constants.HF_HUB_CACHE)


def offline() -> bool:
    """True when ``HF_HUB_OFFLINE`` is set (now or when ``huggingface_hub`` was imported).

    Returns
    -------
    bool
        True when ``HF_HUB_OFFLINE`` is ``1``, ``on``, ``yes`` or ``true`` (any case) in the
        environment now, or when ``huggingface_hub`` found it set at import.
    """
    from huggingface_hub import constants

    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE or constants.HF_HUB_OFFLINE


def api(token: str | bool | None = None):
    """An ``HfApi`` on :func:`endpoint` (``token=None``: whatever ``huggingface_hub`` finds).

    Parameters
    ----------
    token : str, bool or None
        Passed to :class:`huggingface_hub.HfApi`: a token, ``False`` for anonymous access, or
        ``None`` for the token ``huggingface_hub`` finds (``HF_TOKEN``, the stored login).

    Returns
    -------
    huggingface_hub.HfApi
        A client on :func:`endpoint`, with ``library_name="paistats"``.
    """
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint(), token=token, library_name="paistats")
