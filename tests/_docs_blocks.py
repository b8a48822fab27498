"""Code blocks of the documentation pages (docs/*.md, README.md) and the commands in them.

Used by ``tests/test_docs_examples.py``. A fenced block whose nearest preceding non-blank line is
``<!-- no-run: REASON -->`` is not run (invisible in the rendered page; keep these rare: Hub pushes to
the real Hub, GPUs, cluster scripts, long builds).
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Every page whose code blocks are examples.
PAGES = tuple(sorted((ROOT / "docs").glob("*.md"))) + (ROOT / "README.md",)

_OPEN = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[ \t]*$")
_NO_RUN = re.compile(r"^\s*<!--\s*no-run:\s*(?P<reason>.*?)\s*-->\s*$")
#: The project's command-line programs a bash block may run.
PROGRAMS = ("paistats", "zoo_builder", "analysis")
_PYTHON = re.compile(r"^(?:.*/)?python(?:3(?:\.\d+)?)?$")


@dataclass(frozen=True)
class Block:
    """One fenced code block: ``line`` is the 1-based line of its first line of code in ``page``."""

    page: Path
    line: int
    lang: str
    code: str
    no_run: str | None  # the reason given in a preceding ``<!-- no-run: reason -->``, else None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path, text: str | None = None) -> list[Block]:
    """Every fenced code block of ``page`` (any language, indented fences included), in order.

    Parameters
    ----------
    page : Path
        A Markdown file of the repository.
    text : str, optional
        The page's text (default: read from ``page``).

    Returns
    -------
    list of Block
        Code dedented by the fence's indentation.
    """
    lines = (page.read_text(encoding="utf-8") if text is None else text).splitlines()
    out, i = [], 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang, start = m["indent"], m["lang"], i + 1
        end = start
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end == len(lines):
            raise ValueError(f"{page.relative_to(ROOT)}:{i + 1}: code block never closed; add a closing ```")
        code = "\n".join(ln[len(indent):] if ln.startswith(indent) else ln.lstrip() for ln in lines[start:end])
        prev = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        no_run = _NO_RUN.match(prev)
        out.append(Block(page, start + 1, lang, code + "\n", no_run["reason"] if no_run else None))
        i = end + 1
    return out


@dataclass(frozen=True)
class Command:
    """One ``python -m PROGRAM ARGS`` command of a bash block (``where``: page and line)."""

    where: str
    program: str
    argv: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.where}: python -m {self.program} {shlex.join(self.argv)}"


def commands(block: Block) -> list[Command]:
    """The ``python -m paistats|zoo_builder|analysis ...`` commands of a bash block.

    Lines continued with a backslash are joined; comments are dropped; ``&&``, ``||``, ``;``, ``|``
    and ``&`` separate commands; leading ``VAR=value`` assignments are skipped. Other commands
    (pip, bash, dask, …) are not returned.

    Parameters
    ----------
    block : Block
        A ``bash`` block.

    Returns
    -------
    list of Command
        ``where`` is the line the command starts on.
    """
    out = []
    lines = block.code.splitlines()
    i = 0
    while i < len(lines):
        first, text = i, lines[i]
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text = text[:-1] + " " + lines[i]
        i += 1
        lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        segment: list[str] = []
        for token in [*lexer, ";"]:
            if token and set(token) <= set(";&|"):
                out += _command(segment, f"{block.page.relative_to(ROOT)}:{block.line + first}")
                segment = []
            else:
                segment.append(token)
    return out


def _command(tokens: list[str], where: str) -> list[Command]:
    while tokens and re.match(r"^[A-Za-z_]\w*=", tokens[0]):
        tokens = tokens[1:]
    if len(tokens) >= 3 and _PYTHON.match(tokens[0]) and tokens[1] == "-m" and tokens[2] in PROGRAMS:
        return [Command(where, tokens[2], tuple(tokens[3:]))]
    return []
