"""Hub errors: one line each, never a token, all :class:`paistats.ZooError` subclasses (defined in
:mod:`paistats.errors`, re-exported here).

:func:`hub_errors` turns ``huggingface_hub`` and transport exceptions into them.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from paistats.errors import (HubError, HubUnreachableError, InvalidRepoIdError,  # noqa: F401 (re-exported)
                             InvalidRevisionError, ZooError)
from paistats.hub.env import DEFAULT_REVISION, endpoint


def _causes(err: BaseException) -> Iterator[BaseException]:
    """``err`` and the exceptions it was raised from (the client wraps upload errors)."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        yield err
        err = err.__cause__ or err.__context__


def _status(err: BaseException) -> int | None:
    response = getattr(err, "response", None)
    return getattr(response, "status_code", None)


def _is_unreachable(err: BaseException) -> bool:
    import httpx2
    from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled

    if isinstance(err, (httpx2.TransportError, OfflineModeIsEnabled, ConnectionError, TimeoutError)):
        return True
    return isinstance(err, HfHubHTTPError) and (_status(err) or 0) >= 500


@contextlib.contextmanager
def hub_errors(action: str, repo_id: str, revision: str | None) -> Iterator[None]:
    """Turn ``huggingface_hub`` / transport errors raised in the block into one-line :class:`HubError`."""
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

    rev = revision or DEFAULT_REVISION
    where = f"{repo_id}@{rev}"
    try:
        yield
    except ZooError:
        raise
    except Exception as err:  # noqa: BLE001 - classified below; anything else is re-raised
        chain = list(_causes(err))
        if any(isinstance(e, RevisionNotFoundError) for e in chain):
            raise HubError(f"cannot {action} {where}: revision {rev!r} not found (give an existing "
                           "branch, tag or commit sha)") from None
        if any(isinstance(e, RepositoryNotFoundError) for e in chain):
            raise HubError(f"cannot {action} {where}: dataset repo not found at {endpoint()} "
                           "(or it is private and no valid token was found: set HF_TOKEN)") from None
        http = next((e for e in chain if isinstance(e, HfHubHTTPError) and _status(e)), None)
        if http is not None and _status(http) in (401, 403):
            raise HubError(f"cannot {action} {where}: not authorized (HTTP {_status(http)}); "
                           "check HF_TOKEN or `hf auth login`") from None
        if any(_is_unreachable(e) for e in chain):
            detail = f"failed (HTTP {_status(http)})" if http is not None else \
                f"is unreachable ({type(next(e for e in chain if _is_unreachable(e))).__name__})"
            raise HubUnreachableError(f"cannot {action} {where}: the Hub at {endpoint()} {detail}; "
                                      "check the network and HF_ENDPOINT") from None
        if http is not None:
            raise HubError(f"cannot {action} {where}: HTTP {_status(http)} from {endpoint()}") from None
        raise
