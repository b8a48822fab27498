"""Command line of paistats: ``python -m paistats list | verify | stats``, and the grammar the three
command lines share (``paistats``, ``zoo_builder``, ``analysis``).

The shared grammar (docs/cli.md):

- ``--zoo DIR`` is the zoo, default ``./zoo`` (paistats also takes a Hub dataset repo ``org/name``);
  ``--out`` names only what a command writes (a report folder, a table file);
- a misspelled enumerated value (subcommand, preset, table, ``--only`` value, ...) is answered with
  the close matches (:func:`unknown_choice`);
- every error is one line ``<prog>: error: <problem>; <fix>`` on stderr, exit code 2, no traceback,
  no Python syntax, and nothing written;
- ``verify`` is one function, :func:`run_verify`, behind ``paistats verify`` and ``zoo_builder verify``.

Exit codes: 0 success; 1 a verification found changed, missing or unlisted files (or an entry it
could not verify); 2 bad input (a bad argument or any :class:`paistats.ZooError`: a path that is not
a zoo, an unknown or invalid name, an unreachable Hub, ...); 130 interrupted.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from pathlib import Path

from paistats.errors import unknown_choice  # noqa: F401 (re-exported: the one "did you mean" message)

PROG = "paistats"
#: The zoo every command line reads or writes when ``--zoo`` is not given.
DEFAULT_ZOO = "zoo"


class UsageError(Exception):
    """A bad command-line argument: exit code 2, one line on stderr."""


# ----------------------------------------------------------------------------- the shared grammar


class CliParser(argparse.ArgumentParser):
    """argparse with the shared error style: a bad argument raises :class:`UsageError` (one line,
    no usage dump), and a value outside ``choices`` (a subcommand too) names its close matches."""

    def error(self, message):
        raise UsageError(message if "Valid choices" in message else f"{message} (see: {self.prog} --help)")

    def _check_value(self, action, value):  # argparse's hook for `choices` (also sub-commands)
        if action.choices is not None and value not in action.choices:
            if isinstance(action, argparse._SubParsersAction):
                kind = "subcommand"
            else:
                kind = "value" if action.option_strings else action.dest
            raise argparse.ArgumentError(action, unknown_choice(kind, value, list(action.choices)))


def shell_path(path) -> str:
    """``path`` as one would type it in a shell (quoted only when needed)."""
    return shlex.quote(str(path))


def is_zoo(path: str | os.PathLike) -> bool:
    """True when the folder ``path`` holds a zoo: an ``index.json`` or at least one entry folder."""
    from paistats.store.index import entry_dirs
    from paistats.store.layout import INDEX_FILE

    path = Path(path)
    return path.is_dir() and ((path / INDEX_FILE).is_file() or bool(entry_dirs(path)))


def is_entry(path: str | os.PathLike) -> bool:
    """True when ``path`` is one entry folder (a Zarr store: ``zarr.json``)."""
    return (Path(path) / "zarr.json").is_file()


def check_zoo_dir(path: str | os.PathLike, flag: str = "--zoo", *, hub: bool = False) -> Path:
    """The local zoo folder ``path``, or :class:`UsageError` saying why it is not one.

    Parameters
    ----------
    path : str or path-like
        What the user gave (or the default ``./zoo``).
    flag : str
        The option the fix names.
    hub : bool
        Whether the command also takes a Hub dataset repo (named in the fix).

    Returns
    -------
    pathlib.Path
        ``path``, checked: a folder holding ``index.json`` or an entry folder.

    Raises
    ------
    UsageError
        ``path`` does not exist, is a file, is one entry folder, or holds no zoo. The message
        never advises deleting anything.
    """
    p = Path(path).expanduser()
    fix = f"give the zoo folder with {flag} DIR" + (" or a Hub dataset repo with --zoo org/name" if hub else "")
    if not p.exists():
        raise UsageError(f"zoo folder {str(p)!r} does not exist; {fix}")
    if not p.is_dir():
        raise UsageError(f"{str(p)!r} is a file, not a zoo folder; {fix}")
    if is_entry(p):
        raise UsageError(f"{str(p)!r} is one entry folder, not a zoo; give the zoo folder that holds it: "
                         f"{flag} {shell_path(p.absolute().parent)}")
    if not is_zoo(p):
        raise UsageError(f"{str(p)!r} is not a zoo (no index.json and no entry folder in it); {fix}")
    return p


def zoo_arg(text: str) -> str:
    """``--zoo`` of paistats: a local folder, or a Hub reference that must parse
    (``org/name``, ``hf://datasets/org/name[@rev]``)."""
    if text.startswith("hf://"):
        from paistats import hub

        try:
            hub.parse_ref(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _is_hub_zoo(zoo: str) -> bool:
    if Path(zoo).expanduser().exists():
        return False
    from paistats import hub

    return hub.is_hub_ref(zoo)


def local_or_hub_zoo(zoo: str) -> str:
    """``zoo`` checked: a Hub reference as given, or a local zoo folder (:func:`check_zoo_dir`)."""
    if _is_hub_zoo(zoo):
        return zoo
    return str(check_zoo_dir(zoo, hub=True))


# ----------------------------------------------------------------------------- errors

def _hints() -> list[tuple[type, str]]:
    """How to fix each kind of error whose message only names the problem (most specific first)."""
    from paistats import errors

    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "on", "yes", "true")
    hints: list[tuple[type, str]] = [
        (errors.HubUnreachableError, "unset HF_HUB_OFFLINE and download it once while online" if offline
         else "check the network and HF_ENDPOINT (unset it for huggingface.co)"),
        (errors.TruncatedStoreError, "check it with: python -m paistats verify ENTRY, then download or rebuild "
                                     "the entry (python -m zoo_builder resumes a build)"),
        (errors.CorruptChunkError, "check it with: python -m paistats verify ENTRY, then download or rebuild "
                                   "the entry"),
        (errors.MissingChunkError, "check it with: python -m paistats verify ENTRY, then download or rebuild "
                                   "the entry"),
        (errors.ManifestError, "finalize the entry by rerunning the build that wrote it (python -m zoo_builder)"),
        (errors.UnsupportedFormatError, "upgrade paistats, or rebuild the zoo with this version"),
        (errors.UnknownEntryError, "python -m paistats list --zoo ZOO lists the entries"),
        (errors.IncompleteRunError, "pick a complete run (python -m paistats list) or finish the build"),
    ]
    return hints


def _os_message(e: OSError) -> str:
    what = e.strerror or str(e)
    where = f": {e.filename}" if e.filename else ""
    if e.strerror is None:  # raised with a message of its own
        return f"{e}; check the path"
    return f"{what}{where}; check the path and its permissions"


# A message that already says what to do (paistats' own messages mostly do) gets no second hint.
# An imperative after ';', ':', '(' or 'or' ("...: re-download the entry"), or a list of choices.
_FIX_WORDS = re.compile(r"(?:^|[;:(]\s*|\bor\s+)(?:re-?download|rebuild|rerun|delete|remove|run|set|unset|pass|use|"
                        r"give|check|choose|install|upgrade|finalize|pick)\b|did you mean|valid choices|"
                        r"close matches", re.I)


def error_message(e: BaseException, hints: list[tuple[type, str]] | None = None) -> str:
    """One line naming the problem and, where its message does not, the fix.

    Parameters
    ----------
    e : BaseException
        The error (a :class:`UsageError`, a :class:`paistats.ZooError`, an ``OSError``, ...).
    hints : list of (type, str), optional
        A caller's own advice per error class (most specific first), tried before the built-in
        ones, e.g. the builder's for :class:`~paistats.errors.GridError`.

    Returns
    -------
    str
        The message on one line.
    """
    if isinstance(e, OSError) and not _is_zoo_error(e):
        text = _os_message(e)
    else:
        text = str(e) or type(e).__name__
        if not _FIX_WORDS.search(text):
            for cls, hint in [*(hints or []), *_hints()]:
                if isinstance(e, cls):
                    text = f"{text}; {hint}"
                    break
    return " ".join(text.split())


def _is_zoo_error(e: BaseException) -> bool:
    from paistats.errors import ZooError

    return isinstance(e, ZooError)


def fail(prog: str, e: BaseException, hints: list[tuple[type, str]] | None = None) -> int:
    """Print ``<prog>: error: <one line>`` to stderr; return exit code 2.

    Parameters
    ----------
    prog : str
        The command line's name (``paistats``, ``zoo_builder``, ``analysis``).
    e : BaseException
        The error; see :func:`error_message`.
    hints : list of (type, str), optional
        See :func:`error_message`.

    Returns
    -------
    int
        2.
    """
    print(f"{prog}: error: {error_message(e, hints)}", file=sys.stderr)
    return 2


def warn_deprecated(prog: str, old: str, new: str) -> None:
    """One line on stderr: ``<prog>: warning: <old> is deprecated; use <new> ...``."""
    print(f"{prog}: warning: {old} is deprecated; use {new} ({old} will be removed in the next release)",
          file=sys.stderr)


# ----------------------------------------------------------------------------- verify (both CLIs)

VERIFY_HELP = "check entries' files against their manifests (size and sha256)"
VERIFY_DESCRIPTION = ("Check every file of one or more entries against the entry's manifest (size and sha256). "
                      "Without ENTRY: every entry of --zoo. Exit 0 when all match, 1 when a file changed, is "
                      "missing or unlisted, or an entry cannot be verified (each printed as FAILED), 2 for bad "
                      "input.")


def add_verify_arguments(p: argparse.ArgumentParser, *, hub: bool = True) -> argparse.ArgumentParser:
    """The arguments of ``verify`` (the same in ``paistats`` and ``zoo_builder``).

    Parameters
    ----------
    p : argparse.ArgumentParser
        The ``verify`` (sub-)parser.
    hub : bool
        Whether ``--zoo`` takes a Hub dataset repo too.

    Returns
    -------
    argparse.ArgumentParser
        ``p``.
    """
    p.add_argument("targets", nargs="*", metavar="ENTRY",
                   help="an entry folder, a zoo folder (all its entries) or an entry name or alias of --zoo "
                        "(default: every entry of --zoo)")
    p.add_argument("--zoo", default=DEFAULT_ZOO, type=zoo_arg, metavar="ZOO",
                   help="zoo folder" + (" or Hub dataset repo (org/name)" if hub else "") + " (default: ./zoo)")
    return p


def looks_like_path(text: str) -> bool:
    """True when ``text`` reads as a path (a separator, or a leading ``.`` / ``~``), not an entry name."""
    return os.sep in text or text.startswith((".", "~")) or (os.altsep is not None and os.altsep in text)


def verify_targets(targets: list[str], zoo: str) -> list[tuple[str, Path]]:
    """What ``verify`` checks: (label, entry folder) pairs, resolved before anything is checked.

    Raises
    ------
    UsageError
        A target that is neither an entry folder, a zoo folder nor an entry name of ``zoo``; a
        ``zoo`` that is not a zoo.
    paistats.ZooError
        An unknown or invalid entry name, an unreachable Hub.
    """
    from paistats.store.index import entry_dirs

    def zoo_entries(path: Path) -> list[tuple[str, Path]]:
        found = list(entry_dirs(path).values())
        if not found:
            raise UsageError(f"zoo {str(path)!r} holds no entry folder; build it first (python -m zoo_builder "
                             f"--zoo {shell_path(path)}) or give another zoo")
        return [(str(d), d) for d in found]

    if not targets:
        if _is_hub_zoo(zoo):
            from paistats.zoo import resolve_zoo

            return zoo_entries(resolve_zoo(zoo))
        return zoo_entries(check_zoo_dir(zoo, hub=True))
    out: list[tuple[str, Path]] = []
    zoo_dir = None
    for t in targets:
        p = Path(t).expanduser()
        if p.is_dir():
            if is_entry(p):
                out.append((str(p), p))
            elif is_zoo(p):
                out += zoo_entries(p)
            else:
                raise UsageError(f"{t!r} is neither a zoo nor an entry folder (no index.json, no zarr.json); "
                                 "give a zoo folder, an entry folder, or an entry name of --zoo")
        elif p.exists() or looks_like_path(t):
            raise UsageError(f"{t!r} is not a folder; give a zoo folder, an entry folder, or an entry name of --zoo")
        else:
            from paistats import names
            from paistats.errors import UnknownEntryError
            from paistats.store.index import read_index

            if zoo_dir is None:
                if _is_hub_zoo(zoo):
                    from paistats.zoo import resolve_zoo

                    zoo_dir = resolve_zoo(zoo)
                else:
                    zoo_dir = check_zoo_dir(zoo, hub=True)
            entries, _ = names.resolve(t, read_index(zoo_dir))
            if len(entries) != 1:
                raise UnknownEntryError(f"{t!r} names {len(entries)} entries ({', '.join(entries)}); give one entry "
                                        "or the zoo folder")
            out.append((entries[0], zoo_dir / entries[0]))
    return out


def run_verify(targets: list[str], zoo: str = DEFAULT_ZOO) -> int:
    """``verify``: check each target entry against its manifest; print one line per entry.

    The one implementation behind ``python -m paistats verify`` and ``python -m zoo_builder verify``.

    Parameters
    ----------
    targets : list of str
        Entry folders, zoo folders (every entry) or entry names / aliases of ``zoo``; empty: every
        entry of ``zoo``.
    zoo : str
        Zoo folder or Hub dataset repo (names are resolved there).

    Returns
    -------
    int
        0 every entry matches its manifest; 1 some file changed, is missing or unlisted, or an entry
        has no readable manifest (the line says ``FAILED``).

    Raises
    ------
    UsageError, paistats.ZooError
        Bad input (see :func:`verify_targets`): nothing is checked.
    """
    from paistats.errors import ZooError
    from paistats.store.manifest import verify_path

    jobs = verify_targets(targets, zoo)
    failed = 0
    for label, path in jobs:
        try:
            report = verify_path(path)
            line, good = str(report), report.ok
        except ZooError as e:
            line, good = f"{path}: FAILED ({error_message(e)})", False
        print(line, flush=True)
        failed += not good
    if len(jobs) > 1:
        print(f"{len(jobs) - failed} of {len(jobs)} entries OK" + (f", {failed} FAILED" if failed else ""))
    return 1 if failed else 0


# ----------------------------------------------------------------------------- paistats' own commands

STATS_HELP = ("precompute an entry's layer statistics, distances and noise floors (stored in the entry) "
              "and optionally write one as a table")
#: The results ``stats --table`` writes (``*_pruned``: computed with ``include_pruned=True``).
STATS_TABLES = ("layer_stats", "distances", "distances_pruned", "noise_floor", "noise_floor_pruned")
#: The table formats of ``stats --out``, by file suffix.
STATS_FORMATS = (".parquet", ".csv", ".nc")
COMMANDS = ("list", "verify", "stats")
DESCRIPTION = "Read a zoo of pruned networks: list its entries, verify them, precompute their statistics."
EPILOG = """\
python -m paistats COMMAND --help documents each command.
--zoo is the zoo (a folder, default ./zoo, or a Hub dataset repo org/name); --out is only an output.
Exit codes: 0 ok, 1 verify found a changed, missing or unlisted file, 2 bad input (one line on
stderr), 130 interrupted.
"""


def _add_stats_parser(sub) -> argparse.ArgumentParser:
    """Register ``stats`` on ``sub`` (light: the work is imported from :mod:`paistats.stats.cli` to run)."""
    p = sub.add_parser("stats", help=STATS_HELP,
                       description="Precompute an entry's layer statistics, distances and noise floors (stored in "
                                   "the entry's derived/ folder) and optionally write one of them as a table.")
    p.add_argument("entry", metavar="ENTRY", help="an entry folder, or an entry name or alias of --zoo")
    p.add_argument("--zoo", default=DEFAULT_ZOO, type=zoo_arg, metavar="ZOO",
                   help="zoo folder or Hub dataset repo (org/name) where ENTRY is a name (default: ./zoo)")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="write a table: FILE.parquet, FILE.csv or FILE.nc (its folder must exist)")
    p.add_argument("--table", default="layer_stats", choices=STATS_TABLES, metavar="NAME",
                   help=f"which result --out writes: {', '.join(STATS_TABLES)} (default: layer_stats; "
                        "*_pruned: include_pruned=True)")
    p.add_argument("--force", action="store_true", help="recompute even when the stored statistics are fresh")
    return p


def build_parser() -> argparse.ArgumentParser:
    """The ``paistats`` parser, every command included (imports nothing heavy).

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = CliParser(prog=PROG, description=DESCRIPTION, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("list", help="list the entries of a zoo with their completion",
                       description="List the entries of a zoo with their grid and completion.")
    p.add_argument("--zoo", default=DEFAULT_ZOO, type=zoo_arg, metavar="ZOO",
                   help="zoo folder or Hub dataset repo (org/name) (default: ./zoo)")
    add_verify_arguments(sub.add_parser("verify", help=VERIFY_HELP, description=VERIFY_DESCRIPTION))
    _add_stats_parser(sub)
    return parser


def check_table_out(out: Path) -> None:
    """``stats --out FILE``: a file name with a known format, in a folder that exists.

    paistats creates no folder: a missing one is bad input, named with the fix.

    Parameters
    ----------
    out : pathlib.Path
        The file to write.

    Raises
    ------
    UsageError
        ``out`` is a folder, has an unknown suffix, or its folder does not exist.
    """
    if out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a folder; give a file name, e.g. {out / 'layer_stats.parquet'}")
    if out.suffix not in STATS_FORMATS:
        raise UsageError(f"--out {str(out)!r}: unknown format {out.suffix or '(none)'!r}; use one of "
                         f"{', '.join(STATS_FORMATS)}")
    parent = out.absolute().parent
    if not parent.is_dir():
        raise UsageError(f"--out {str(out)!r}: folder {str(parent)!r} does not exist; create it first or write "
                         "into an existing folder")


def entry_folder(entry: str, zoo: str) -> Path:
    """The one entry folder ``entry`` names: a folder, or an entry name or alias of ``zoo``.

    Parameters
    ----------
    entry : str
        An entry folder, or a name of ``zoo``.
    zoo : str
        Zoo folder or Hub dataset repo.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    UsageError, paistats.ZooError
        Not an entry folder, a missing folder, an unknown name.
    """
    path = Path(entry).expanduser()
    if path.is_dir():
        if not is_entry(path):
            raise UsageError(f"{str(path)!r} is not a zoo entry (no zarr.json); give an entry folder, or an entry "
                             "name with --zoo")
        return path
    if path.exists() or looks_like_path(entry):
        raise UsageError(f"entry folder {entry!r} does not exist; give an entry folder, or an entry name with --zoo")
    ((_, found),) = verify_targets([entry], zoo)
    return found


def run_stats(args: argparse.Namespace) -> int:
    """``stats``: check the arguments, precompute the entry's statistics, write the table asked for.

    Parameters
    ----------
    args : argparse.Namespace
        ``entry``, ``zoo``, ``out``, ``table``, ``force`` (see ``python -m paistats stats --help``).

    Returns
    -------
    int
        0.
    """
    out = Path(args.out).expanduser() if args.out else None
    if out is not None:
        check_table_out(out)
    path = entry_folder(args.entry, args.zoo)
    from paistats.stats import cli as tables
    from paistats.stats.derived import derived_path

    wrote = tables.precompute(path, force=args.force)
    print(f"{path.name}: statistics {'written to' if wrote else 'up to date in'} {derived_path(path)}")
    if out is not None:
        tables.write_result(path, args.table, out)
        print(f"{args.table} → {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point (``paistats`` console script / ``python -m paistats``).

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code (0, 1, 2 or 130; see the module docstring).
    """
    from paistats.errors import ZooError

    try:
        return _main(argv)
    except (UsageError, ZooError, OSError) as e:
        return fail(PROG, e)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _list(zoo: str) -> int:
    import paistats

    zoo = local_or_hub_zoo(zoo)
    table = paistats.list_zoo(zoo)
    if table.empty:
        print(f"{zoo}: no entries")
        return 0
    import pandas as pd

    from paistats.vocabulary import PRUNER

    pruner = PRUNER if PRUNER in table.columns else "method"  # older listings call the pruner `method`
    cols = [pruner, "planned", "complete", "finalized", "sparsities", "seeds"]
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 40):
        print(table[cols].to_string())
    bad = table["error"].dropna()
    if len(bad):
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        print(f"{PROG}: error: entry {bad.index[0]} is unreadable{more}: {bad.iloc[0]}", file=sys.stderr)
        return 2
    return 0


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.command == "stats":
        return run_stats(args)
    if args.command == "verify":
        return run_verify(args.targets, args.zoo)
    return _list(args.zoo)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
