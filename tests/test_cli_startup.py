"""The three command lines start light: ``--help`` and argument errors import no torch (nor the
scientific stack a command does not need). Checked in a fresh interpreter through ``sys.modules``;
never by wall time."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Modules no --help or argument error may import (torch and the heavy readers / statistics).
HEAVY = ("torch", "torchvision", "scipy", "statsmodels", "xarray", "zarr", "dask", "distributed", "pandas",
         "huggingface_hub", "altair", "pyarrow")
MARK = "@@startup@@"

_PROBE = f"""
import json, runpy, sys
sys.argv = [sys.argv[1], *sys.argv[2:]]
code = 0
try:
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
print({MARK!r} + json.dumps({{"code": code, "heavy": heavy}}), flush=True)
"""


def start(module: str, *argv: str) -> tuple[int, list[str], str]:
    """Run ``python -m module argv`` in a fresh interpreter: exit code, heavy modules imported, stderr."""
    # in an empty folder: a ./zoo left in the checkout (gitignored) must not change what is imported
    with tempfile.TemporaryDirectory() as cwd:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        proc = subprocess.run([sys.executable, "-c", _PROBE, module, *argv], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=120)
    line = next(x for x in proc.stdout.splitlines() if x.startswith(MARK))
    result = json.loads(line[len(MARK):])
    return result["code"], result["heavy"], proc.stderr


@pytest.mark.parametrize("argv", [
    ("zoo_builder", "--help"), ("zoo_builder", "push", "--help"), ("zoo_builder", "ls", "--help"),
    ("zoo_builder", "verify", "--help"),
    ("paistats", "--help"), ("paistats", "list", "--help"), ("paistats", "verify", "--help"),
    ("paistats", "stats", "--help"),
    ("analysis", "--help"), ("analysis", "reproduce", "--help"),
])
def test_help_imports_nothing_heavy(argv):
    code, heavy, _ = start(*argv)
    assert code == 0
    assert heavy == [], f"`python -m {' '.join(argv)}` imported {heavy}"


@pytest.mark.parametrize("argv, words", [
    (("zoo_builder", "--workers", "0"), "positive integer"),
    (("zoo_builder", "--no-such-flag"), "unrecognized arguments"),
    (("zoo_builder", "bulid"), "Did you mean 'build'?"),
    (("zoo_builder", "push", "not a repo"), "org/name"),
    (("zoo_builder", "--preset", "nope"), "preset"),
    (("zoo_builder", "ls", "--preset", "nope"), "preset"),
    (("zoo_builder", "--workers", "2", "--in-process", "--scheduler", "tcp://h:1"), "not allowed with"),
    (("zoo_builder", "--in-process", "--scheduler", "tcp://h:1"), "--scheduler"),
    (("zoo_builder", "--revision", "v1"), "--push-to-hub"),
    (("zoo_builder", "--dry-run", "--only", "nope=1"), "nope"),
    (("zoo_builder", "--dry-run", "--only", "arch"), "KEY=VALUE"),
    (("paistats", "list", "--zoo", "hf://models/a/b"), "dataset repo"),
    (("paistats", "nope"), "unknown subcommand 'nope'"),
    (("paistats", "lst"), "Did you mean 'list'?"),
    (("analysis", "reproduce", "--preset", "huge"), "unknown preset 'huge'"),
    (("analysis", "reproduce", "--preset", "smoke"), "use --preset tiny"),
    (("analysis", "reproduc"), "Did you mean 'reproduce'?"),
    (("paistats", "stats", "e", "--table", "distance"), "Did you mean 'distances'"),
    (("paistats", "stats", "e", "--out", "/paistats-cli-test/t.csv"), "folder '/paistats-cli-test' does not exist"),
])
def test_argument_errors_are_one_line_and_import_nothing_heavy(argv, words):
    code, heavy, err = start(*argv)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err
    assert heavy == [], f"`python -m {' '.join(argv)}` imported {heavy}"


def test_stats_subcommand_still_gets_its_own_parser(capsys):
    from paistats import cli

    with pytest.raises(SystemExit) as info:
        cli.main(["stats", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "--table" in out and "--force" in out


def test_lazy_package_names_resolve_as_before():
    import paistats
    import zoo_builder

    assert zoo_builder.RunSpec.__name__ == "RunSpec" and zoo_builder.RunResult.__name__ == "RunResult"
    for name in paistats.__all__:
        assert getattr(paistats, name) is not None, name
    assert paistats.load is paistats.zoo.load and paistats.FORMAT_VERSION >= 2
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        paistats.nope  # noqa: B018


def test_functions_named_like_their_submodules_stay_functions():
    """``zoo_builder.run``, ``paistats.hub.publish`` and ``hub.pull`` are functions, also when their
    submodules were imported first (fresh interpreter: the import system binds them then)."""
    code = (
        "import zoo_builder.store, paistats.hub.publish, paistats.hub.pull\n"
        "import zoo_builder\n"
        "from zoo_builder import run\n"
        "from paistats import hub\n"
        "print(type(run).__name__, type(zoo_builder.run).__name__, type(hub.publish).__name__, "
        "type(hub.pull).__name__)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["function"] * 4


@pytest.mark.parametrize("text, words", [
    ("nme: x\ngrids: []\n", "unknown top-level config key 'nme'"),
    ("name: x\ngrids: {arch: lenet300}\n", "grids"),
    ("name: [unclosed\n", "config"),
    (None, "does not exist"),
])
def test_bad_config_file_errors_import_no_torch(tmp_path, text, words):
    """A config file refused before its grids are validated (those build networks on the meta
    device, which needs torch) starts without torch: ``zoo_builder.training`` loads its torch part
    lazily and the recipe registry needs none."""
    path = tmp_path / "bad.yaml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    code, heavy, err = start("zoo_builder", "--config", str(path))
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err
    assert "torch" not in heavy and "torchvision" not in heavy, f"`--config {text!r}` imported {heavy}"


def test_training_package_loads_torch_only_on_first_use():
    code = ("import sys\nimport zoo_builder.training as t\nprint('torch' in sys.modules, sorted(t.RECIPES.names())[0])\n"
            "print(t.train is t.masked.train, t.TrainingDiverged.__name__, 'torch' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "digits_cpu", "True", "TrainingDiverged", "True"]
