"""Command line: ``python -m paistats verify PATH`` and ``python -m paistats list [--zoo ZOO]``.

Exit codes: 0 success; 1 a verification found changed, missing or unlisted files; 2 bad input
(a bad argument or any :class:`paistats.ZooError`: unknown or invalid names, missing zoo,
truncated or corrupt entry, unreachable Hub, ...), reported as ONE line
``paistats: error: <problem>; <fix>`` on stderr, never a traceback.
"""
from __future__ import annotations

import argparse
import os
import re
import sys

PROG = "paistats"


class UsageError(Exception):
    """A bad command-line argument: exit code 2, one line on stderr."""


class _Parser(argparse.ArgumentParser):
    """argparse without the usage dump: a bad argument raises :class:`UsageError` (sub-parsers inherit it)."""

    def error(self, message):
        raise UsageError(f"{message} (see: {self.prog} --help)")


def _hints() -> list[tuple[type, str]]:
    """How to fix each kind of error whose message only names the problem (most specific first)."""
    from paistats import errors

    hints: list[tuple[type, str]] = []
    try:
        from paistats.hub import HubUnreachableError
    except ImportError:  # pragma: no cover - the Hub module is optional for reading local zoos
        pass
    else:
        offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "on", "yes", "true")
        hints.append((HubUnreachableError, "unset HF_HUB_OFFLINE and download it once while online" if offline
                      else "check the network and HF_ENDPOINT (unset it for huggingface.co)"))
    hints += [
        (errors.TruncatedStoreError, "delete the entry folder and download or rebuild it "
                                     "(python -m zoo_builder resumes a build)"),
        (errors.CorruptChunkError, "run `python -m paistats verify ENTRY`, then download or rebuild the entry"),
        (errors.MissingChunkError, "run `python -m paistats verify ENTRY`, then download or rebuild the entry"),
        (errors.ManifestError, "finalize the entry by rerunning the build that wrote it (python -m zoo_builder)"),
        (errors.UnsupportedFormatError, "upgrade paistats, or rebuild the zoo with this version"),
        (errors.UnknownEntryError, "`python -m paistats list --zoo ZOO` lists the entries"),
        (errors.IncompleteRunError, "pick a complete run (`python -m paistats list`) or finish the build"),
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
                        r"give|check|choose|install|upgrade|finalize|pick)\b|did you mean|valid choices", re.I)


def error_message(e: BaseException, hints: list[tuple[type, str]] | None = None) -> str:
    """One line naming the problem and, where its message does not, the fix.

    ``hints`` (most specific first) come before the built-in ones: a caller's own advice for
    an error class, e.g. the builder's for :class:`~paistats.errors.GridError`.
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
    """Print ``<prog>: error: <one line>`` to stderr; return exit code 2."""
    print(f"{prog}: error: {error_message(e, hints)}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Entry point (``paistats`` console script / ``python -m paistats``); returns the exit code."""
    from paistats.errors import ZooError

    try:
        return _main(argv)
    except (UsageError, ZooError, OSError) as e:
        return fail(PROG, e)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


def _zoo_arg(text: str) -> str:
    """``--zoo``: a Hub reference must parse (org/name, hf://datasets/org/name[@rev])."""
    from paistats import hub

    if text.startswith("hf://"):
        try:
            hub.parse_ref(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    return text


#: The ``stats`` line of ``python -m paistats --help``. Its parser lives in
#: :mod:`paistats.stats.cli`, whose package imports scipy: it is imported only when ``stats`` is
#: the command (a test checks this text against that parser's).
STATS_HELP = ("precompute an entry's layer statistics, distances and noise floors (stored in the entry) "
              "and optionally write one as a table")


def _add_stats_parser(sub, *, real: bool):
    """Register ``stats`` on ``sub``: the real sub-parser (returns :mod:`paistats.stats.cli`) when
    ``real``, else a name-and-help placeholder for the command list (returns None)."""
    if not real:
        sub.add_parser("stats", help=STATS_HELP)
        return None
    from paistats.stats import cli as stats_cli

    stats_cli.add_parser(sub)
    return stats_cli


def build_parser(*, stats: bool = False):
    """The ``paistats`` parser and :mod:`paistats.stats.cli` (None unless ``stats``).

    ``stats=False`` registers ``stats`` by name and help only (the parser's module imports scipy),
    which is all ``--help`` and the other commands need.
    """
    parser = _Parser(prog=PROG, description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("verify", help="check an entry's files against its manifest (sha256)")
    p.add_argument("entry", help="entry directory, or entry name with --zoo")
    p.add_argument("--zoo", default=None, type=_zoo_arg,
                   help="zoo directory or Hub repo (default: $PAISTATS_ZOO ...)")
    p = sub.add_parser("list", help="list the entries of a zoo with their completion")
    p.add_argument("--zoo", default=None, type=_zoo_arg,
                   help="zoo directory or Hub repo (default: $PAISTATS_ZOO ...)")
    return parser, _add_stats_parser(sub, real=stats)


def _main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, stats_cli = build_parser(stats=bool(argv) and argv[0] == "stats")
    args = parser.parse_args(argv)

    import paistats

    if args.command == "stats":
        return stats_cli.run(args)

    if args.command == "verify":
        report = paistats.verify(args.entry, zoo=args.zoo)
        print(report)
        return 0 if report.ok else 1
    table = paistats.list_zoo(args.zoo)
    if table.empty:
        print("(no entries)")
    else:
        import pandas as pd

        with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 40):
            print(table[["pruner", "planned", "complete", "finalized", "sparsities", "seeds"]].to_string())
        bad = table["error"].dropna()
        if len(bad):
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            print(f"{PROG}: error: entry {bad.index[0]} is unreadable{more}: {bad.iloc[0]}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
