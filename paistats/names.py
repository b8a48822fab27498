"""Entry names: validation and resolution of aliases and architecture names.

An entry is ``{arch}-{dataset}-{pruner}``; ``{arch}-{pruner}`` is an alias for the arch's default
dataset; a bare ``{arch}`` means every pruner of that arch on its default dataset. (The zoo index
records the pruner under the key ``method``, the zoo format's name for it.)
"""
from __future__ import annotations

import difflib
import re
from typing import Mapping

from paistats.errors import InvalidNameError, UnknownEntryError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def check_name(name: object, what: str = "entry name") -> str:
    """Check that ``name`` is a safe single path component.

    Accepted: letters, digits, ``_``, ``.``, ``-``, not starting with ``.`` or ``-``, no ``..``,
    at most 200 characters.

    Parameters
    ----------
    name : object
        The name to check.
    what : str
        What the name is, for the message (``"entry name"``).

    Returns
    -------
    str
        ``name`` unchanged.

    Raises
    ------
    InvalidNameError
        If ``name`` is not a string or not a safe path component.
    """
    if not isinstance(name, str) or not name:
        raise InvalidNameError(f"{what} must be a non-empty string, got {name!r}")
    if "/" in name or "\\" in name or ".." in name or not _NAME.match(name) or len(name) > 200:
        raise InvalidNameError(
            f"invalid {what} {name!r}: use letters, digits, '_', '.', '-' only "
            "(no path separators, no '..', not starting with '.')"
        )
    return name


def resolve(name: str, index: Mapping[str, Mapping]) -> tuple[list[str], bool]:
    """Entries that ``name`` designates.

    Parameters
    ----------
    name : str
        An entry, an alias ``{arch}-{pruner}`` or an architecture.
    index : mapping
        The zoo index: entry → its ``arch``, ``dataset``, ``method`` (the pruner) and
        ``default_dataset``.

    Returns
    -------
    entries : list of str
        One entry for an entry name or alias; every pruner's entry (sorted by pruner) for an arch.
    is_arch : bool
        True when ``name`` is an architecture (the entries are to be stacked along ``pruner``).

    Raises
    ------
    InvalidNameError, UnknownEntryError
    """
    check_name(name)
    if name in index:
        return [name], False
    aliases: dict[str, str] = {}
    by_arch: dict[str, list[str]] = {}
    for entry, info in index.items():
        if info.get("dataset") == info.get("default_dataset"):
            aliases[f"{info['arch']}-{info['method']}"] = entry
            by_arch.setdefault(info["arch"], []).append(entry)
    if name in aliases:
        return [aliases[name]], False
    if name in by_arch:
        return sorted(by_arch[name], key=lambda e: index[e]["method"]), True
    known = sorted(set(index) | set(aliases) | set(by_arch))
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.5)
    hint = f" Close matches: {', '.join(close)}." if close else ""
    listing = ", ".join(sorted(index)) if len(index) <= 20 else f"{len(index)} entries (see paistats.list_zoo())"
    raise UnknownEntryError(f"no zoo entry, alias or architecture named {name!r}.{hint} Available: {listing or 'none'}.")
