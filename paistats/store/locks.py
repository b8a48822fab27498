"""Inter-process locks (``fcntl.flock``) on files under ``{zoo}/.builder/locks/``.

Writers of runs hold an entry's lock *shared* (they touch disjoint shards); planning, growing and
finalizing hold it *exclusive* (they rewrite metadata)."""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from paistats.store.layout import BUILDER_DIR


@contextlib.contextmanager
def locked(zoo_dir: str | os.PathLike, name: str, *, shared: bool = False):
    """Hold the lock ``name`` of the zoo for the duration of the ``with`` block."""
    folder = Path(zoo_dir) / BUILDER_DIR / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
