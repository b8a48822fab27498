"""Every code example of the documentation runs (docs/*.md and README.md).

- ``python`` blocks: each page's blocks run in order in one namespace, in a temporary working folder
  whose ``./zoo`` is a copy of the docs zoo (``tests/_docs_zoo.py``: entries named like the mini zoo's
  and the smoke zoo's), with ``HF_ENDPOINT`` on a local test Hub (``tests/hub_server.py``) that holds that
  zoo as ``org/pai-zoo``; ``<sha>`` / ``<commit sha>`` stand for the head commit of ``my-org/pai-zoo``.
- ``bash`` blocks: every ``python -m paistats|zoo_builder|analysis ...`` command runs for real when it is
  cheap (listing, verifying, statistics, dry runs, a push to the test Hub) and has its arguments parsed by
  the program's own parser otherwise (builds and reports).
- ``yaml`` / ``toml`` blocks of the builder's config-file section plan with ``--config FILE --dry-run``.

A block preceded by ``<!-- no-run: REASON -->`` is not run; each such mark must give its reason.
A failure names the page and line of every failing block.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import re
import shutil
import traceback
from pathlib import Path

import pytest

from _docs_blocks import PAGES, ROOT, Block, Command, blocks, commands

#: Hub repos the pages load without publishing them first (the test Hub gets the docs zoo under these).
PREPUBLISHED = ("org/pai-zoo",)
#: The repo whose head commit replaces ``<sha>`` / ``<commit sha>`` in a block.
SHA_REPO = "my-org/pai-zoo"
_SHA = re.compile(r"<(?:commit )?sha>")
#: Commands that run for real (the rest only parse): (program, subcommand); None = the default command.
CHEAP = {("paistats", "stats"), ("paistats", "verify"), ("paistats", "list"), ("zoo_builder", "verify"),
         ("zoo_builder", "ls"), ("zoo_builder", "presets"), ("zoo_builder", "push")}
SUBCOMMANDS = {"zoo_builder": ("build", "ls", "verify", "push", "presets")}

ALL = [b for page in PAGES for b in blocks(page)]
PY_PAGES = sorted({b.page for b in ALL if b.lang == "python"})
BASH_PAGES = sorted({b.page for b in ALL if b.lang == "bash"})


def _page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def docs_zoo(tmp_path_factory):
    """The docs zoo, built once (≈ 25 s on 2 cores)."""
    import _docs_zoo

    return _docs_zoo.build(tmp_path_factory.mktemp("docs-zoo") / "zoo")


@pytest.fixture
def docs_cwd(tmp_path, monkeypatch, docs_zoo, hub_env):
    """A fresh working folder with ``./zoo`` (a copy: pages write into it), the test Hub's environment
    and no zoo configured by the environment."""
    shutil.copytree(docs_zoo, tmp_path / "zoo")
    for var in ("PAISTATS_ZOO", "PAISTATS_HUB_REPO"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PAISTATS_CACHE", str(tmp_path / "paistats-cache"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def prepublish(page: Path, cwd: Path) -> None:
    """Publish ``./zoo`` to the test Hub as each repo of :data:`PREPUBLISHED` that ``page`` names."""
    from paistats import hub

    text = page.read_text(encoding="utf-8")
    for repo in PREPUBLISHED:
        if f'"{repo}"' in text:
            hub.publish(cwd / "zoo", repo)


# ----------------------------------------------------------------------------- running

def _head_sha(repo: str) -> str:
    from huggingface_hub import HfApi

    from paistats.hub import refs

    return HfApi(endpoint=refs.endpoint()).repo_info(repo, repo_type="dataset").sha


def _failure(block: Block, e: BaseException) -> str:
    """``page:line: Error: message`` at the line of the page where ``e`` was raised."""
    rel = str(block.page.relative_to(ROOT))
    frames = [f for f in traceback.extract_tb(e.__traceback__) if f.filename == rel]
    line = frames[-1].lineno if frames else block.line
    message = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{rel}:{line} (block at line {block.line}): {type(e).__name__}: {message}"


def run_python(page_blocks: list[Block]) -> list[str]:
    """Run the blocks in order in one namespace; return one line per failing block (page:line: error).

    A failing block does not stop the page: later blocks still run (their failures may follow from it).
    """
    namespace: dict = {"__name__": "__docs__"}
    failures = []
    for block in page_blocks:
        code = block.code
        if _SHA.search(code):
            code = _SHA.sub(_head_sha(SHA_REPO), code)
        # leading newlines: tracebacks and failures give the line numbers of the page itself
        source = "\n" * (block.line - 1) + code
        try:
            exec(compile(source, str(block.page.relative_to(ROOT)), "exec"), namespace)
        except Exception as e:  # noqa: BLE001 - every failure is reported with its page and line
            failures.append(_failure(block, e))
    return failures


class _Parsed(BaseException):
    """Raised by the patched ``parse_args`` once the arguments parsed (not an Exception: no handler
    of the programs catches it)."""


def _subcommand(command: Command) -> str | None:
    argv = command.argv
    if command.program in SUBCOMMANDS:
        return argv[0] if argv and argv[0] in SUBCOMMANDS[command.program] else None
    return next((a for a in argv if not a.startswith("-")), None)


def run_command(command: Command, monkeypatch) -> str | None:
    """Run ``command`` in-process (``<program>.cli.main(argv)``); None when it succeeded, else why not.

    Commands outside :data:`CHEAP` stop right after their program's parser accepted the arguments.
    """
    main = importlib.import_module(f"{command.program}.cli").main
    real = (command.program, _subcommand(command)) in CHEAP or "--dry-run" in command.argv
    err = io.StringIO()
    with monkeypatch.context() as m:
        if not real:
            original = argparse.ArgumentParser.parse_args

            def parse_only(self, *args, **kwargs):
                original(self, *args, **kwargs)
                raise _Parsed

            m.setattr(argparse.ArgumentParser, "parse_args", parse_only)
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                code = main(list(command.argv))
        except _Parsed:
            return None
        except SystemExit as e:
            code = e.code
        except Exception as e:  # noqa: BLE001
            return f"{command}: {type(e).__name__}: {e}"
    if code in (0, None):
        return None
    last = (err.getvalue().strip().splitlines() or [""])[-1]
    return f"{command}: exit {code}: {last}"


# ----------------------------------------------------------------------------- tests

def test_every_block_is_found_and_every_no_run_mark_gives_a_reason():
    """The extractor sees every fence of every page (a block it missed would never run)."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        opening = len(re.findall(r"^[ \t]*```[\w+-]+[ \t]*$", text, flags=re.M))
        assert len([b for b in blocks(page) if b.lang]) == opening, page
    assert all(b.no_run for b in ALL if b.no_run is not None), [b.where for b in ALL if b.no_run == ""]
    assert len(PY_PAGES) >= 5 and len(BASH_PAGES) >= 5


def test_the_runner_reports_page_and_line_of_every_failing_block_and_skips_marked_ones():
    text = ("text\n\n```python\nx = 1\n```\n\n```python\ny = x + 1\nz = undefined_name\n```\n"
            "<!-- no-run: needs a GPU -->\n```python\nraise RuntimeError\n```\n```python\n1 / 0\n```\n")
    found = blocks(ROOT / "docs" / "fake.md", text)
    assert [b.no_run for b in found] == [None, None, "needs a GPU", None]
    assert run_python([b for b in found if b.no_run is None]) == [
        "docs/fake.md:9 (block at line 8): NameError: name 'undefined_name' is not defined",
        "docs/fake.md:16 (block at line 16): ZeroDivisionError: division by zero"]


def test_commands_are_split_joined_and_found():
    block = Block(ROOT / "docs" / "x.md", 3, "bash",
                  "python3 -m venv .venv && .venv/bin/python -m analysis reproduce --preset smoke  # c\n"
                  "X=1 python -m zoo_builder --out zoo \\\n  --dry-run; pip install x\n", None)
    assert [(c.where, c.program, c.argv) for c in commands(block)] == [
        ("docs/x.md:3", "analysis", ("reproduce", "--preset", "smoke")),
        ("docs/x.md:4", "zoo_builder", ("--out", "zoo", "--dry-run"))]


def test_a_bad_option_fails_the_parse_only_check(monkeypatch):
    ok = Command("docs/x.md:1", "analysis", ("reproduce", "--preset", "tiny"))
    bad = Command("docs/x.md:1", "analysis", ("reproduce", "--presett", "tiny"))
    assert run_command(ok, monkeypatch) is None
    assert "exit 2" in run_command(bad, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("page", PY_PAGES, ids=_page_id)
def test_python_examples_run(page, docs_cwd):
    prepublish(page, docs_cwd)
    runnable = [b for b in blocks(page) if b.lang == "python" and b.no_run is None]
    failures = run_python(runnable)
    assert not failures, "failing docs examples:\n" + "\n".join(failures)


@pytest.mark.parametrize("page", BASH_PAGES, ids=_page_id)
def test_commands_run_or_parse(page, docs_cwd, monkeypatch):
    prepublish(page, docs_cwd)
    cmds = [c for b in blocks(page) if b.lang == "bash" and b.no_run is None for c in commands(b)]
    failures = [f for c in cmds if (f := run_command(c, monkeypatch))]
    assert not failures, "failing docs commands:\n" + "\n".join(failures)


def test_config_file_examples_plan(docs_cwd, monkeypatch):
    configs = [b for b in blocks(ROOT / "docs" / "cli.md") if b.lang in ("yaml", "toml") and b.no_run is None]
    assert len(configs) >= 2
    failures = []
    for b in configs:
        path = docs_cwd / f"grid-{b.line}.{'yml' if b.lang == 'yaml' else 'toml'}"
        path.write_text(b.code, encoding="utf-8")
        cmd = Command(b.where, "zoo_builder", ("--config", str(path), "--out", "planned-zoo", "--dry-run"))
        failures += [f for f in [run_command(cmd, monkeypatch)] if f]
    assert not failures, "failing config examples:\n" + "\n".join(failures)
