"""Integrity: ``manifest.json`` (sha256 and size of every file of an entry) and :func:`verify`."""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from paistats.errors import ManifestError
from paistats.store import layout
from paistats.store.durable import PARTIAL_SUFFIX, durable_write
from paistats.store.locks import locked


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes (streamed by :func:`hashlib.file_digest`)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def entry_files(path: Path) -> list[str]:
    """Relative paths (``/``-separated, sorted) of the files of an entry, without the manifest
    and interrupted-write leftovers."""
    out = []
    for dirpath, _, files in os.walk(path):
        for f in files:
            rel = Path(dirpath, f).relative_to(path).as_posix()
            if rel == layout.MANIFEST_FILE or f.endswith(PARTIAL_SUFFIX):
                continue
            out.append(rel)
    return sorted(out)


def _hash_files(zoo_dir, entry: str, path: Path) -> dict[str, dict]:
    """Size and sha256 of every file of the entry, reusing the hashes of files whose size and
    mtime are unchanged since the last finalize (files are only ever replaced by rename, which
    changes the mtime), so finalizing a resumed build of a large zoo hashes only the new files.
    The cache lives in ``<zoo>/.builder/hashes/`` (never published); ``verify`` always rehashes."""
    cache_path = Path(zoo_dir) / layout.BUILDER_DIR / "hashes" / f"{entry}.json"
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    files, fresh = {}, {}
    for rel in entry_files(path):
        st = (path / rel).stat()
        hit = cache.get(rel)
        digest = hit[2] if hit and hit[0] == st.st_size and hit[1] == st.st_mtime_ns else sha256_file(path / rel)
        files[rel] = {"size": st.st_size, "sha256": digest}
        fresh[rel] = [st.st_size, st.st_mtime_ns, digest]
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    durable_write(cache_path, json.dumps(fresh).encode())
    return files


def finalize(zoo_dir: str | os.PathLike, entry: str) -> Path:
    """Remove ``*.partial`` leftovers, re-consolidate metadata and write ``manifest.json``.

    The store only stores: this hashes the files that are there (derived statistics included, when
    the builder wrote them first: ``zoo_builder.store.finalize(..., derived=True)``) and computes
    nothing. Holds the entry's exclusive lock, so it waits for writers in progress. Idempotent;
    rerun it after adding a file to the entry so that the manifest lists it.

    Parameters
    ----------
    zoo_dir : path-like
        The zoo folder.
    entry : str
        The entry's name (its folder in ``zoo_dir``).

    Returns
    -------
    pathlib.Path
        ``<zoo_dir>/<entry>/manifest.json``.

    Raises
    ------
    ManifestError
        When ``<zoo_dir>/<entry>`` is not a zoo entry (no ``zarr.json``).
    """
    from paistats.store.writer import completed, consolidate, entry_dir  # zarr: imported when finalizing only

    path = entry_dir(zoo_dir, entry)
    with locked(zoo_dir, entry):
        if not (path / "zarr.json").is_file():
            raise ManifestError(f"cannot finalize {path}: not a zoo entry (no zarr.json); plan it first "
                                "(python -m zoo_builder)")
        for dirpath, _, files in os.walk(path):
            for f in files:
                if f.endswith(PARTIAL_SUFFIX):
                    Path(dirpath, f).unlink(missing_ok=True)
        consolidate(path)
        files = _hash_files(zoo_dir, entry, path)
        out = write_manifest(path, entry, files, complete_runs=len(completed(zoo_dir, entry)))
    return out


def write_manifest(path: Path, entry: str, files: dict[str, dict], *, complete_runs: int,
                   created: str | None = None, layout_name: str = "build") -> Path:
    """Write ``manifest.json`` of the entry at ``path`` listing ``files`` (rel path → size, sha256)."""
    meta = json.loads((path / "zarr.json").read_text())["attributes"]
    doc = {
        "format_version": layout.FORMAT_VERSION, "entry": entry, "algorithm": "sha256", "layout": layout_name,
        "created": created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "planned_runs": len(meta["runs"]), "complete_runs": int(complete_runs),
        "files": files,
    }
    out = path / layout.MANIFEST_FILE
    durable_write(out, json.dumps(doc, indent=0).encode())
    return out


def read_manifest(path: Path) -> dict:
    """The parsed ``manifest.json`` of the entry at ``path``.

    Raises :class:`ManifestError` if it is missing or unreadable."""
    f = Path(path) / layout.MANIFEST_FILE
    if not f.is_file():
        raise ManifestError(f"{path} has no {layout.MANIFEST_FILE}: the entry was not finalized "
                            "(zoo_builder.store.finalize) or is still being written")
    try:
        doc = json.loads(f.read_text())
        files = doc["files"]
        if not isinstance(files, dict):
            raise TypeError
        return doc
    except (ValueError, KeyError, TypeError):
        raise ManifestError(f"{f} is unreadable: re-download the entry") from None


@dataclass
class VerifyReport:
    """Result of :func:`verify`.

    Attributes
    ----------
    path : str
        The entry checked.
    checked : int
        Files listed in the manifest.
    changed : list of str
        Files whose bytes (size or sha256) differ from the manifest.
    missing : list of str
        Files listed in the manifest but absent.
    extra : list of str
        Files present but not listed (written after ``finalize``).
    """

    path: str
    checked: int
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no file changed, went missing or appeared."""
        return not (self.changed or self.missing or self.extra)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.ok:
            return f"{self.path}: OK ({self.checked} files match the manifest)"
        parts = [f"{label} {len(xs)}: {', '.join(xs[:5])}{' …' if len(xs) > 5 else ''}"
                 for label, xs in (("changed", self.changed), ("missing", self.missing), ("unlisted", self.extra)) if xs]
        return f"{self.path}: FAILED ({'; '.join(parts)}); re-download the entry or rebuild those runs"


def verify_path(path: str | os.PathLike) -> VerifyReport:
    """Compare every file of the entry at ``path`` with its manifest (size, then sha256)."""
    path = Path(path)
    doc = read_manifest(path)
    listed = doc["files"]
    report = VerifyReport(str(path), len(listed))
    present = set(entry_files(path))
    for rel, info in sorted(listed.items()):
        f = path / rel
        if rel not in present:
            report.missing.append(rel)
        elif f.stat().st_size != info.get("size") or sha256_file(f) != info.get("sha256"):
            report.changed.append(rel)
    report.extra = sorted(present - set(listed))
    return report
