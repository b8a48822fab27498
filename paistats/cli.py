"""Command line: ``python -m paistats verify PATH`` and ``python -m paistats list [--zoo ZOO]``.

Errors print one line to stderr (exit status 2); a failed verification exits with status 1.
"""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="paistats", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("verify", help="check an entry's files against its manifest (sha256)")
    p.add_argument("entry", help="entry directory, or entry name with --zoo")
    p.add_argument("--zoo", default=None, help="zoo directory or Hub repo (default: $PAISTATS_ZOO ...)")
    p = sub.add_parser("list", help="list the entries of a zoo with their completion")
    p.add_argument("--zoo", default=None)
    args = parser.parse_args(argv)

    import paistats

    try:
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
                print(table[["method", "planned", "complete", "finalized", "sparsities", "seeds"]].to_string())
        return 0
    except paistats.ZooError as e:
        print(f"paistats: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
