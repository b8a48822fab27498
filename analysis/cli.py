"""Command line: ``python -m analysis reproduce | check-report | results-page``.

The grammar of every command line of the project (:mod:`paistats.cli`): ``--zoo`` is the zoo,
``--out`` the report folder (an output only), ``--preset`` one of zoo_builder's presets (the same
grid as ``python -m zoo_builder --preset NAME``), misspelled values get close matches.

Exit codes: 0 success; 1 the report was written but a check failed (``check-report``); 2 bad input
(one line ``analysis: error: <problem>; <fix>`` on stderr); 130 interrupted.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from paistats.cli import CliParser as _Parser, UsageError, fail

PROG = "analysis"


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m analysis`` parser (imports nothing heavy).

    Returns
    -------
    argparse.ArgumentParser
    """
    from analysis.presets import DEFAULT_PRESET, REPORT_PRESETS, REPORT_SEEDS

    p = _Parser(prog=PROG, description="Reproduce Frankle et al. (2021) and Singh & Liu (2021) on a zoo and write "
                                       "an HTML report.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser, metavar="COMMAND")
    r = sub.add_parser("reproduce", help="build the zoo when missing, run every analysis, write the report",
                       description="Build the zoo when missing (zoo_builder), run the reproductions, write the report "
                                   "folder (index.html, figures/, tables/) and print the verdict summary.")
    r.add_argument("--zoo", metavar="ZOO",
                   help="a zoo folder or a Hub dataset repo (org/name); a missing or empty folder is built with "
                        "--preset (default: ./zoo, or ./zoo-PRESET for another --preset)")
    r.add_argument("--preset", default=DEFAULT_PRESET, metavar="NAME",
                   help=f"the zoo_builder preset built when the zoo is missing: {', '.join(REPORT_PRESETS)} "
                        f"(default: {DEFAULT_PRESET}; python -m zoo_builder presets describes them). mini: "
                        "LeNet-300-100/MNIST, 510 runs, ~25 min on 2 cores; tiny: the smoke grid with "
                        f"{REPORT_SEEDS} seeds, 162 runs, ~3 min; factorial: issue 15's mask-layout x kept-values "
                        "design, 250 runs, ~12 min")
    r.add_argument("--entries", nargs="+", metavar="ENTRY", help="only these entries (names, aliases or archs)")
    r.add_argument("--out", metavar="DIR", help="report folder, written (default: ./report, or ./report-PRESET for "
                                                 "another --preset)")
    r.add_argument("--overwrite", action="store_true", help="replace an existing report folder")
    r.add_argument("--margin", type=float, default=0.01, metavar="FRACTION",
                   help="accuracy margin for equivalence / non-inferiority (default 0.01 = 1 percentage point)")
    r.add_argument("--std-margin", type=float, default=0.1, metavar="FRACTION",
                   help="relative margin on the kept weights' std for 'changed minimally' (default 0.1 = 10%%)")
    r.add_argument("--alpha", type=float, default=0.05, help="level of every test (default 0.05)")
    r.add_argument("--workers", type=int, metavar="N", help="builder workers when the zoo is built")
    r.add_argument("--check", action="store_true", help="also open the report in headless Chromium and check it")
    c = sub.add_parser("check-report", help="open a report in headless Chromium and check every figure rendered",
                       description="Load DIR/index.html in headless Chromium (Debian package `chromium`); exit 1 "
                                   "unless every figure drew marks, the console stayed clean and nothing was "
                                   "requested from the network.")
    c.add_argument("dir", metavar="DIR")
    c.add_argument("--screenshot", metavar="PNG", help="save a full-page screenshot")
    g = sub.add_parser("results-page", help="write the docs results page (docs/results.md) from a report folder",
                       description="Regenerate the docs results page from a report folder written by `reproduce` "
                                   "(tables, verdicts and figure images are copied from it).")
    g.add_argument("dir", metavar="DIR", help="report folder")
    g.add_argument("--docs", metavar="DIR", default="docs", help="docs folder (default: docs)")
    g.add_argument("--name", metavar="NAME", default="results",
                   help="page name: writes DOCS/NAME.md and DOCS/NAME/ (default: results; the factorial zoo's page "
                        "is results-factorial)")
    return p


def _fail(message: str) -> int:
    return fail(PROG, UsageError(message))


def _check_zoo_to_build(local: Path) -> None:
    """A local ``--zoo`` the report may read or build into: a zoo, or a missing or empty folder."""
    from paistats.cli import is_entry, is_zoo, shell_path

    if local.exists() and not local.is_dir():
        raise UsageError(f"--zoo {str(local)!r} is a file, not a zoo folder; give a zoo folder or a Hub dataset "
                         "repo (org/name)")
    if local.is_dir() and is_entry(local):
        raise UsageError(f"--zoo {str(local)!r} is one entry folder, not a zoo; give the zoo folder that holds "
                         f"it: --zoo {shell_path(local.absolute().parent)} (--entries NAME selects entries)")
    if local.is_dir() and not is_zoo(local) and any(not c.name.startswith(".") for c in local.iterdir()):
        raise UsageError(f"--zoo {str(local)!r} holds other files and no zoo (no index.json, no entry folder); "
                         "give a zoo folder, a Hub dataset repo, or a new folder to build into")


def _reproduce(args) -> int:
    from analysis.presets import PresetError, check_preset, default_paths

    if not 0 < args.margin < 1 or not 0 < args.std_margin < 10 or not 0 < args.alpha < 1:
        return _fail("--margin, --std-margin and --alpha must be positive fractions (e.g. --margin 0.01)")
    try:
        check_preset(args.preset)
    except PresetError as e:
        return _fail(f"--preset: {e}")
    default_zoo, default_out = default_paths(args.preset)
    zoo = args.zoo or default_zoo
    out = Path(args.out or default_out)
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        return _fail(f"output folder {out} exists: give --overwrite to replace it, or choose another --out")
    if out.exists() and not out.is_dir():
        return _fail(f"--out {str(out)!r} is a file; give a folder for the report")
    import paistats
    from analysis import reproduce
    from paistats import hub
    from paistats.cli import is_zoo

    local = Path(zoo).expanduser()
    is_hub = not local.exists() and hub.is_hub_ref(zoo)
    if not is_hub:
        _check_zoo_to_build(local)
        # a zoo the command manages (no --zoo) is completed to the preset's grid; a given one is never rebuilt
        managed = args.zoo is None
        if not is_zoo(local) or (managed and reproduce.missing_runs(local, args.preset)[0]):
            reproduce.build_zoo(local, args.preset, workers=args.workers)
        zoo = str(local)
    t0 = time.perf_counter()
    try:
        index, ctx = reproduce.build_report(zoo, out, entries=args.entries, overwrite=args.overwrite,
                                            margin=args.margin, shift_margin=args.std_margin, alpha=args.alpha)
    except reproduce.ReproduceError as e:
        return _fail(str(e))
    except paistats.ZooError as e:
        return fail(PROG, e)
    seconds = time.perf_counter() - t0
    print(reproduce.format_summary(ctx))
    size = index.stat().st_size
    print(f"report: {index.resolve()} ({size / 1e6:.2f} MB, {len(list((out / 'figures').glob('*.svg')))} figures; "
          f"written in {seconds:.0f} s)")
    if args.check:
        return _check(out, out / "screenshot.png")
    return 0


def _check(folder: Path, screenshot) -> int:
    from analysis import browser

    try:
        result = browser.check(Path(folder) / "index.html", screenshot=screenshot)
    except FileNotFoundError as e:
        return _fail(str(e))
    print(f"browser check: {result}")
    return 0 if result.ok else 1


def main(argv: list[str] | None = None) -> int:
    """Entry point (``python -m analysis``); returns the exit code.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0, 1 (``check-report`` found a problem), 2 (bad input, one line on stderr) or 130.
    """
    try:
        args = build_parser().parse_args(argv)
        if args.command == "reproduce":
            return _reproduce(args)
        if args.command == "check-report":
            return _check(Path(args.dir), args.screenshot)
        if args.command == "results-page":
            from analysis import results_page

            try:
                path = results_page.write(Path(args.dir), Path(args.docs), args.name)
            except (FileNotFoundError, ValueError) as e:
                return _fail(str(e))
            print(f"wrote {path}")
            return 0
    except UsageError as e:
        return fail(PROG, e)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    return 2
