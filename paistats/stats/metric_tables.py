"""``python -m paistats.stats.metric_tables [PAGE] [--check]``: the metric tables of ``docs/api.md``,
generated from :mod:`paistats.stats.registry` (between ``<!-- generated: … -->`` markers)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import paistats.stats  # noqa: F401 (imports the kernels, which register the metrics)
from paistats.stats.registry import KINDS, markdown_table

#: The docs page holding the generated tables, relative to the repository root.
DOCS_PAGE = Path("docs") / "api.md"


def _markers(kind: str) -> tuple[str, str]:
    return (f"<!-- generated: {kind} table (python -m paistats.stats.metric_tables); do not edit -->",
            f"<!-- end generated: {kind} table -->")


def render_page(text: str) -> str:
    """A docs page with each generated table replaced by the current one.

    Parameters
    ----------
    text : str
        The page (markdown) holding, for each kind, the markers of its table.

    Returns
    -------
    str
        ``text`` with the lines between each pair of markers replaced by :func:`markdown_table`.

    Raises
    ------
    ValueError
        The page lacks a pair of markers (one line naming them).
    """
    for kind in KINDS:
        begin, end = _markers(kind)
        i, j = text.find(begin), text.find(end)
        if i < 0 or j < i:
            raise ValueError(f"the page has no '{begin}' … '{end}' markers: add them where the {kind} table goes")
        text = text[: i + len(begin)] + "\n" + markdown_table(kind) + text[j:]
    return text


def main(argv: list[str] | None = None) -> int:
    """``python -m paistats.stats.metric_tables [PAGE] [--check]``: regenerate the metric tables of
    ``docs/api.md`` from the registries (``--check``: exit 1 if the page is out of date)."""
    p = argparse.ArgumentParser(prog="python -m paistats.stats.metric_tables", description=main.__doc__)
    p.add_argument("page", nargs="?", default=str(DOCS_PAGE), help="the docs page (default docs/api.md)")
    p.add_argument("--check", action="store_true", help="only check that the page is up to date")
    args = p.parse_args(argv)
    path = Path(args.page)
    old = path.read_text()
    new = render_page(old)
    if args.check:
        if new != old:
            print(f"{path}: the metric tables are out of date: run python -m paistats.stats.metric_tables", file=sys.stderr)
            return 1
        return 0
    if new != old:
        path.write_text(new)
        print(f"{path}: metric tables regenerated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
