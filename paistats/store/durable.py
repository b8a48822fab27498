"""A Zarr ``LocalStore`` whose every write is atomic *and* durable.

Each value goes to a temporary ``<name>.<random>.partial`` file in the same folder, is flushed
and ``fsync``-ed, then renamed over the target with ``os.replace`` and the folder is ``fsync``-ed.
A process killed at any instant therefore leaves either the old file, or the new one, never a
torn one (at worst a stray ``*.partial`` file, which readers ignore and ``finalize`` removes).
"""
from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

from zarr.storage import LocalStore

PARTIAL_SUFFIX = ".partial"


def fsync_dir(path: Path) -> None:
    """``fsync`` a directory so that a rename or creation inside it survives a power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _makedirs(path: Path) -> None:
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            pass
        fsync_dir(d.parent)


def durable_write(path: Path, data, *, exclusive: bool = False) -> int:
    """Write ``data`` (bytes-like) to ``path`` atomically and durably.

    With ``exclusive`` the target is not replaced if it exists (``FileExistsError``).
    """
    path = Path(path)
    _makedirs(path.parent)
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:12]}{PARTIAL_SUFFIX}")
    try:
        with open(tmp, "wb") as f:
            n = f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if exclusive:
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return n


class DurableLocalStore(LocalStore):
    """``zarr.storage.LocalStore`` with fsync-ed atomic writes (see module docstring)."""

    def set_sync(self, key, value) -> None:
        self._ensure_open_sync()
        self._check_writable()
        durable_write(self.root / key, value.as_buffer_like())

    async def _set(self, key, value, exclusive: bool = False) -> None:
        if not self._is_open:
            await self._open()
        self._check_writable()
        await asyncio.to_thread(durable_write, self.root / key, value.as_buffer_like(), exclusive=exclusive)
