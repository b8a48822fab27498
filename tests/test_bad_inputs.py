"""Bad input to ``python -m zoo_builder``, ``python -m paistats`` and ``python -m analysis``: one line
naming the problem and the fix, exit code 2, no traceback, no Python syntax, nothing written.

One table; each row runs a CLI in-process (``main(argv)``) in a fresh workspace and checks
stderr for a substring naming the problem and one naming the fix, and compares a snapshot
(path, size, mtime) of the workspace (zoo, output folders, config files, Hub cache) before and
after. A few rows also run as ``python -m ...`` subprocesses to show no traceback escapes.
"""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENTRY = "mnist1d_mlp-mnist1d-magnitude"  # the entry of conftest's small_results

CONFIGS = {
    "unknown_key.yaml": "grids:\n  - arch: mnist1d_mlp\n    recipe: smoke\n    sparsities: [0.5]\n    epochs: 3\n",
    "sparsity_high.yaml": "grids:\n  - arch: mnist1d_mlp\n    recipe: smoke\n    sparsities: [0.5, 1.5]\n",
    "sparsity_negative.toml": "[[grids]]\narch = 'mnist1d_mlp'\nrecipe = 'smoke'\nsparsities = [-0.1]\n",
    "sparsity_one.toml": "[[grids]]\narch = 'mnist1d_mlp'\nrecipe = 'smoke'\nsparsities = [1.0]\n",
    "density_base.yaml": ("grids:\n  - arch: mnist1d_mlp\n    recipe: smoke\n"
                          "    sparsities: {density_base: 1.5, k: [1, 3]}\n"),
    "method.yaml": "grids:\n  - arch: mnist1d_mlp\n    recipe: smoke\n    sparsities: [0.5]\n    methods: [snp]\n",
    "arch.toml": "[[grids]]\narch = 'lenet3000'\nrecipe = 'smoke'\nsparsities = [0.5]\n",
    "variant.yaml": ("grids:\n  - arch: mnist1d_mlp\n    recipe: smoke\n    sparsities: [0.5]\n"
                     "    variants: [inverted]\n"),
    "recipe.yaml": "grids:\n  - arch: mnist1d_mlp\n    recipe: fast\n    sparsities: [0.5]\n",
    "recipe_field.toml": ("[[grids]]\narch = 'mnist1d_mlp'\nrecipe = {base = 'smoke', epoch = 2}\n"
                          "sparsities = [0.5]\n"),
    "impossible.yaml": "grids:\n  - arch: mnist1d_cnn\n    dataset: digits\n    recipe: smoke\n    sparsities: [0.5]\n",
    "seeds.yaml": "grids:\n  - arch: mnist1d_mlp\n    recipe: smoke\n    sparsities: [0.5]\n    seeds: -1\n",
    "no_grids.toml": "name = 'nothing'\n",
    "broken.toml": "grids = [\n",
    "broken.yaml": "grids: [unclosed\n",
    "list.yaml": "- arch: mnist1d_mlp\n",
    "grid.ini": "[grids]\n",
    "inject.yaml": ("grids:\n  - arch: mnist1d_mlp\n    recipe: smoke\n    sparsities: [0.5]\n"
                    "inject_failure: [{method: snip}]\n"),
}

ZB, PS, AN = "zoo_builder", "paistats", "analysis"


def case(cli, argv, problem, fix, *, zoo=None, env=None, id):
    """A row: ``cli`` in {zoo_builder, paistats, analysis}; ``zoo``: None, "ok" (a finalized entry),
    "truncated" (its zarr.json cut short), "unfinalized" (no manifest), "bad-index" /
    "bad-manifest" (index.json / manifest.json cut short); ``env``: extra environment (``None``
    values unset a variable)."""
    return pytest.param(cli, argv, problem, fix, zoo, env or {}, id=id)


CASES = [
    # ---- zoo_builder build: presets, config files, values
    case(ZB, ["--preset", "smok"], "unknown preset 'smok'", "Did you mean 'smoke'", id="preset-typo"),
    case(ZB, ["--preset", "smoke", "--config", "{ws}/method.yaml"], "not allowed with argument", "--help",
         id="preset-and-config"),
    case(ZB, ["--config", "{ws}/missing.yaml"], "does not exist", "check the path", id="config-missing"),
    case(ZB, ["--config", "{ws}/grid.ini"], "must end in .toml, .yaml", "rename it", id="config-extension"),
    case(ZB, ["--config", "{ws}/broken.toml"], "does not parse", "fix the TOML syntax", id="config-toml-syntax"),
    case(ZB, ["--config", "{ws}/broken.yaml"], "does not parse", "fix the YAML syntax", id="config-yaml-syntax"),
    case(ZB, ["--config", "{ws}/list.yaml"], "must hold a mapping", "docs/cli.md", id="config-not-mapping"),
    case(ZB, ["--config", "{ws}/no_grids.toml"], "'grids' is required", "non-empty list of grids",
         id="config-no-grids"),
    case(ZB, ["--config", "{ws}/unknown_key.yaml"], "unknown grid key 'epochs'", "Valid choices:",
         id="config-unknown-key"),
    case(ZB, ["--config", "{ws}/inject.yaml"], "unknown top-level config key 'inject_failure'", "Valid choices:",
         id="config-test-hook-is-not-a-key"),
    case(ZB, ["--config", "{ws}/sparsity_high.yaml"], "got 1.5", "a number in [0, 1)", id="sparsity-above-1"),
    case(ZB, ["--config", "{ws}/sparsity_one.toml"], "got 1.0", "a number in [0, 1)", id="sparsity-1"),
    case(ZB, ["--config", "{ws}/sparsity_negative.toml"], "got -0.1", "a number in [0, 1)",
         id="sparsity-negative"),
    case(ZB, ["--config", "{ws}/density_base.yaml"], "density_base", "a number in (0, 1)", id="density-base"),
    case(ZB, ["--config", "{ws}/method.yaml"], "unknown pruning method 'snp'", "Did you mean 'snip'",
         id="unknown-method"),
    case(ZB, ["--config", "{ws}/arch.toml"], "unknown architecture 'lenet3000'", "Did you mean 'lenet300'",
         id="unknown-arch"),
    case(ZB, ["--config", "{ws}/variant.yaml"], "unknown variant 'inverted'", "Did you mean 'invert'",
         id="unknown-variant"),
    case(ZB, ["--config", "{ws}/recipe.yaml"], "unknown recipe 'fast'", "Valid choices:", id="unknown-recipe"),
    case(ZB, ["--config", "{ws}/recipe_field.toml"], "unknown recipe field 'epoch'", "Did you mean 'epochs'",
         id="unknown-recipe-field"),
    case(ZB, ["--config", "{ws}/impossible.yaml"], "cannot take dataset 'digits'", "input shape",
         id="arch-cannot-take-dataset"),
    case(ZB, ["--config", "{ws}/seeds.yaml"], "grids[0].seeds", "expected an integer ≥ 1, got -1", id="negative-seeds"),
    # ---- zoo_builder build: --only
    case(ZB, ["--preset", "smoke", "--only", "seed=7"], "--only seed=7: no run of plan 'smoke' has it",
         "Valid choices: 0.", id="only-seed-not-in-plan"),
    case(ZB, ["--preset", "smoke", "--only", "method=snipp"], "unknown method 'snipp'", "Did you mean 'snip'?",
         id="only-method-typo"),
    case(ZB, ["--preset", "smoke", "--only", "variant=shufle"], "unknown variant 'shufle'", "Did you mean 'shuffle'?",
         id="only-variant-typo"),
    case(ZB, ["--preset", "smoke", "--only", "sparsity=1.5"], "unknown sparsity '1.5'", "Valid choices: 0, 0.5, 0.9.",
         id="only-sparsity-out-of-range"),
    case(ZB, ["--preset", "smoke", "--only", "method=snip", "--only", "entry=mnist1d_mlp-mnist1d-random"],
         "selects none of the 54 runs", "--only method=snip entry=", id="only-selects-nothing"),
    case(ZB, ["--preset", "smoke", "--only", "colour=red"], "unknown filter key 'colour'", "Valid choices:",
         id="only-unknown-key"),
    case(ZB, ["--preset", "smoke", "--only", "sparsity"], "expects KEY=VALUE", "keys: arch", id="only-no-value"),
    # ---- zoo_builder build: workers and devices
    case(ZB, ["--gpus", "0"], "expected a positive integer, got '0'", "--help", id="gpus-zero"),
    case(ZB, ["--gpus", "many"], "expected a positive integer, got 'many'", "--help", id="gpus-word"),
    case(ZB, ["--workers", "-3"], "expected a positive integer, got '-3'", "--help", id="workers-negative"),
    case(ZB, ["--workers", "two"], "expected a positive integer", "--help", id="workers-word"),
    case(ZB, ["--gpus", "1", "--workers", "2"], "not allowed with argument", "--help", id="gpus-and-workers"),
    case(ZB, ["--preset", "smoke", "--gpus", "64"], "has", "use --workers N", id="gpus-more-than-present"),
    case(ZB, ["--torch-threads", "0"], "expected a positive integer", "--help", id="torch-threads-zero"),
    case(ZB, ["--device", "tpu"], "unknown value 'tpu'", "Did you mean 'cpu'?", id="unknown-device"),
    case(ZB, ["--preset", "smoke", "--device", "cuda", "--workers", "2"], "contradicts --workers",
         "use --gpus N", id="cuda-with-cpu-workers"),
    case(ZB, ["--preset", "smoke", "--in-process", "--scheduler", "tcp://127.0.0.1:1"], "cannot be combined",
         "--scheduler", id="in-process-and-scheduler"),
    case(ZB, ["--preset", "smoke", "--in-process", "--gpus", "1"], "--in-process works with --workers only",
         "one CUDA device per worker", id="in-process-gpus"),
    case(ZB, ["--preset", "smoke", "--scheduler", "tcp://127.0.0.1:{port}"], "cannot connect",
         "start the Dask scheduler first", id="scheduler-unreachable"),
    case(ZB, ["--preset", "smoke", "--scheduler", "tcp://node01"], "--scheduler 'tcp://node01'",
         "expected tcp://HOST:PORT", id="scheduler-no-port"),
    case(ZB, ["--no-such-option"], "unrecognized arguments: --no-such-option", "--help", id="unknown-option"),
    case(ZB, ["bulid"], "unknown subcommand 'bulid'", "Did you mean 'build'?", id="misspelt-subcommand"),
    case(ZB, ["presets", "--show", "tiyn"], "unknown preset 'tiyn'", "Did you mean 'tiny'?", id="preset-show-typo"),
    # ---- zoo_builder build: paths, Hub arguments, environment
    case(ZB, ["--preset", "smoke", "--data-root", "{ws}/no-data"], "is not a folder", "give an existing folder",
         id="data-root-missing"),
    case(ZB, ["--preset", "smoke", "--zoo", "{ws}/afile"], "exists and is not a folder", "give a folder path",
         id="zoo-is-a-file"),
    case(ZB, ["--preset", "smoke", "--zoo", "{ws}/afile/zoo"], "is a file, not a folder", "give a folder path",
         id="zoo-under-a-file"),
    case(ZB, ["--preset", "smoke", "--zoo", "/sys/zoo-builder-test"], "--zoo '/sys/zoo-builder-test'",
         "choose a folder you can write to", id="zoo-unwritable"),
    case(ZB, ["--preset", "smoke", "--zoo", "{ws}"], "holds other files and no zoo", "give a new or empty folder",
         id="zoo-is-another-folder"),
    case(ZB, ["--preset", "smoke", "--dry-run", "--zoo", "/etc"], "'/etc' holds other files and no zoo",
         "give a new or empty folder", id="dry-run-zoo-is-another-folder"),
    case(ZB, ["--preset", "smoke", "--zoo", "{zoo}/" + ENTRY], "is one entry folder, not a zoo",
         "give the zoo folder that holds it: --zoo ", zoo="ok", id="zoo-is-an-entry"),
    case(ZB, ["--preset", "smoke", "--out", "{ws}/a", "--zoo", "{ws}/b"], "name two zoos", "give --zoo only",
         id="out-and-zoo-disagree"),
    case(ZB, ["--preset", "smoke", "--push-to-hub", "not a repo"], "repo id must look like 'org/name'",
         "letters, digits", id="push-to-hub-bad-repo"),
    case(ZB, ["--preset", "smoke", "--push-to-hub", "../lab/zoo"], "repo id must look like 'org/name'",
         "letters, digits", id="push-to-hub-traversal"),
    case(ZB, ["--preset", "smoke", "--revision", "v1"], "--revision is the Hub branch of --push-to-hub",
         "give --push-to-hub REPO", id="revision-without-push"),
    case(ZB, ["--preset", "smoke", "--push-to-hub", "lab/zoo", "--revision", "a..b"],
         "'a..b' is not a valid branch name", "use letters", id="bad-revision"),
    case(ZB, ["--preset", "smoke", "--only", "method=snip"], "unknown run-spec field 'methd'",
         "unset ZOO_BUILDER_FAIL_SPEC", env={"ZOO_BUILDER_FAIL_SPEC": "methd=snip"}, id="bad-test-hook-env"),
    # ---- zoo_builder build / ls / verify / push on existing zoos
    case(ZB, ["--preset", "smoke", "--only", "method=magnitude", "--zoo", "{zoo}"],
         "was planned with recipe=", "another zoo folder (--zoo DIR)", zoo="ok", id="resume-with-other-recipe"),
    case(ZB, ["--preset", "smoke", "--only", "method=magnitude", "--zoo", "{zoo}"], ENTRY,
         "delete the entry folder", zoo="truncated", id="resume-truncated-entry"),
    case(ZB, ["ls", "--zoo", "{ws}/nothing"], "does not exist", "give the zoo folder with --zoo DIR",
         id="ls-missing-zoo"),
    case(ZB, ["ls"], "zoo folder 'zoo' does not exist", "give the zoo folder with --zoo DIR", id="ls-no-default-zoo"),
    case(ZB, ["ls", "--zoo", "/etc"], "'/etc' is not a zoo", "give the zoo folder with --zoo DIR",
         id="ls-zoo-is-another-folder"),
    case(ZB, ["ls", "--zoo", "{zoo}/" + ENTRY], "is one entry folder, not a zoo", "give the zoo folder that holds it",
         zoo="ok", id="ls-zoo-is-an-entry"),
    case(ZB, ["ls", "--zoo", "{zoo}"], ENTRY, "delete the entry folder", zoo="truncated", id="ls-truncated-entry"),
    case(ZB, ["ls", "--preset", "nope"], "unknown preset 'nope'", "Valid choices:", id="ls-unknown-preset"),
    case(ZB, ["verify", "{ws}/nothing"], "is not a folder", "give a zoo folder, an entry folder",
         id="verify-missing"),
    case(ZB, ["verify", "{ws}/empty"], "is neither a zoo nor an entry folder", "give a zoo folder, an entry folder",
         id="verify-empty"),
    case(ZB, ["verify", "--zoo", "/etc"], "'/etc' is not a zoo", "give the zoo folder with --zoo DIR",
         id="verify-zoo-is-another-folder"),
    case(ZB, ["presets", "--show", "minni"], "unknown preset 'minni'", "Did you mean 'mini'",
         id="presets-show-unknown"),
    case(ZB, ["push", "not/a/repo", "--zoo", "{zoo}"], "repo id must look like 'org/name'", "letters, digits",
         zoo="ok", id="push-bad-repo"),
    case(ZB, ["push", "lab/zoo", "--zoo", "{ws}/nothing"], "does not exist", "give the zoo folder with --zoo DIR",
         id="push-missing-zoo"),
    case(ZB, ["push", "lab/zoo", "--zoo", "{zoo}", "--entries", "../etc"], "invalid entry name (--entries)",
         "use letters, digits", zoo="ok", id="push-entry-traversal"),
    case(ZB, ["push", "lab/zoo", "--zoo", "{zoo}", "--entries", "lenet300-mnist-snip"],
         "entries not found", "available: " + ENTRY, zoo="ok", id="push-unknown-entry"),
    case(ZB, ["push", "lab/zoo", "--zoo", "{zoo}", "--revision", "/main"], "not a valid branch name",
         "use letters", zoo="ok", id="push-bad-revision"),
    case(ZB, ["push", "lab/zoo", "--zoo", "{zoo}"], "unreachable", "check the network and HF_ENDPOINT",
         zoo="ok", id="push-hub-unreachable"),
    # ---- paistats
    case(PS, [], "the following arguments are required: COMMAND", "--help", id="ps-no-command"),
    case(PS, ["bogus"], "unknown subcommand 'bogus'", "Valid choices: list, verify, stats", id="ps-unknown-command"),
    case(PS, ["lst"], "unknown subcommand 'lst'", "Did you mean 'list'?", id="ps-subcommand-typo"),
    case(PS, ["list"], "zoo folder 'zoo' does not exist", "give the zoo folder with --zoo DIR", id="ps-list-no-zoo"),
    case(PS, ["list", "--zoo", "/etc"], "'/etc' is not a zoo", "give the zoo folder with --zoo DIR",
         id="ps-list-zoo-is-another-folder"),
    case(PS, ["list", "--zoo", "{ws}/empty"], "is not a zoo", "give the zoo folder with --zoo DIR",
         id="ps-list-empty-folder"),
    case(PS, ["list", "--zoo", "{zoo}/" + ENTRY], "is one entry folder, not a zoo",
         "give the zoo folder that holds it: --zoo ", zoo="ok", id="ps-list-zoo-is-an-entry"),
    case(PS, ["list", "--zoo", "{zoo}"], f"entry {ENTRY} is unreadable", "re-download", zoo="truncated",
         id="ps-list-truncated-entry"),
    case(PS, ["verify", ENTRY], "zoo folder 'zoo' does not exist", "give the zoo folder with --zoo DIR",
         id="ps-no-zoo"),
    case(PS, ["verify", "{ws}/empty"], "is neither a zoo nor an entry folder", "give a zoo folder, an entry folder",
         id="ps-verify-empty-folder"),
    case(PS, ["verify", ENTRY, "--zoo", "{ws}/nothing"], "does not exist", "or a Hub dataset repo with --zoo org/name",
         id="ps-zoo-missing"),
    case(PS, ["verify", "../etc", "--zoo", "{zoo}"], "'../etc' is not a folder", "an entry name of --zoo",
         zoo="ok", id="ps-entry-traversal"),
    case(PS, ["verify", "bad*name", "--zoo", "{zoo}"], "invalid entry name 'bad*name'", "use letters, digits",
         zoo="ok", id="ps-invalid-entry-name"),
    case(PS, ["verify", "mnist1d_mlp-magnitud", "--zoo", "{zoo}"], "mnist1d_mlp-magnitud",
         "Close matches: mnist1d_mlp-magnitude", zoo="ok", id="ps-unknown-entry"),
    case(PS, ["list", "--zoo", "{zoo}"], "index.json is unreadable", "re-download the zoo", zoo="bad-index",
         id="ps-list-corrupt-index"),
    case(PS, ["stats", "{zoo}/" + ENTRY, "--out", "{ws}/table.txt"], "unknown format '.txt'", "use one of",
         zoo="ok", id="ps-stats-bad-format"),
    case(PS, ["stats", "{zoo}/" + ENTRY, "--out", "{ws}/no-such-folder/deeper/table.csv"],
         "folder '{ws}/no-such-folder/deeper' does not exist", "create it first", zoo="ok",
         id="ps-stats-out-folder-missing"),
    case(PS, ["stats", "{zoo}/" + ENTRY, "--out", "/paistats-cli-test/table.csv"],
         "folder '/paistats-cli-test' does not exist", "create it first", zoo="ok", id="ps-stats-out-at-root"),
    case(PS, ["stats", "{zoo}/" + ENTRY, "--out", "{ws}/empty"], "is a folder", "give a file name", zoo="ok",
         id="ps-stats-out-is-a-folder"),
    case(PS, ["stats", "{ws}/nothing"], "does not exist", "give an entry folder", id="ps-stats-missing-entry"),
    case(PS, ["stats", "{ws}/empty"], "is not a zoo entry", "give an entry folder", id="ps-stats-not-an-entry"),
    case(PS, ["stats", "{zoo}/" + ENTRY, "--table", "distance"], "unknown value 'distance'",
         "Did you mean 'distances'", zoo="ok", id="ps-stats-unknown-table"),
    case(PS, ["list", "--zoo", "hf://models/lab/zoo"], "a zoo lives in a dataset repo", "hf://datasets/org/name",
         id="ps-model-repo"),
    case(PS, ["list", "--zoo", "hf://datasets/lab/zoo@a..b"], "invalid revision 'a..b'", "--help",
         id="ps-bad-revision"),
    case(PS, ["list", "--zoo", "lab/zoo"], "unreachable", "check the network and HF_ENDPOINT",
         id="ps-hub-unreachable"),
    case(PS, ["list", "--zoo", "lab/zoo"], "no complete cached copy", "unset HF_HUB_OFFLINE",
         env={"HF_HUB_OFFLINE": "1"}, id="ps-hub-offline-no-cache"),
    # ---- analysis
    case(AN, ["reproduc"], "unknown subcommand 'reproduc'", "Did you mean 'reproduce'?", id="an-subcommand-typo"),
    case(AN, ["reproduce", "--preset", "tiyn"], "unknown preset 'tiyn'", "Did you mean 'tiny'?",
         id="an-preset-typo"),
    case(AN, ["reproduce", "--preset", "smoke"], "preset 'smoke' has 1 seed(s)", "use --preset tiny",
         id="an-preset-too-few-seeds"),
    case(AN, ["reproduce", "--zoo", "/etc"], "'/etc' holds other files and no zoo", "give a zoo folder",
         id="an-zoo-is-another-folder"),
    case(AN, ["reproduce", "--zoo", "{zoo}/" + ENTRY], "is one entry folder, not a zoo",
         "give the zoo folder that holds it", zoo="ok", id="an-zoo-is-an-entry"),
]


def closed_port() -> int:
    """A localhost port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def built_zoo(tmp_path_factory, small_results):
    """A finalized one-entry zoo written by the real writer (copied, then damaged, per case)."""
    from zoo_builder import store

    zoo = tmp_path_factory.mktemp("bad-inputs") / "zoo"
    runs = small_results[:2]
    (entry,) = store.plan_entries(zoo, [r.spec for r in runs])
    assert entry == ENTRY
    for r in runs:
        store.write_run(zoo, r)
    store.finalize(zoo, entry)
    return zoo


def workspace(tmp: Path, monkeypatch, zoo_kind, built_zoo_factory, env) -> dict:
    ws = tmp / "ws"
    ws.mkdir()
    for name, text in CONFIGS.items():
        (ws / name).write_text(text)
    (ws / "afile").write_text("not a folder\n")
    (ws / "empty").mkdir()
    (ws / "hf-home").mkdir()
    zoo = ws / "zoo"
    if zoo_kind is not None:
        shutil.copytree(built_zoo_factory(), zoo)
        if zoo_kind == "truncated":  # an interrupted copy: metadata cut short
            meta = zoo / ENTRY / "zarr.json"
            meta.write_bytes(meta.read_bytes()[:40])
        elif zoo_kind == "unfinalized":
            (zoo / ENTRY / "manifest.json").unlink()
        elif zoo_kind in ("bad-index", "bad-manifest"):
            path = zoo / "index.json" if zoo_kind == "bad-index" else zoo / ENTRY / "manifest.json"
            path.write_bytes(path.read_bytes()[:40])
    base = {"HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}", "HF_HOME": str(ws / "hf-home"),
            "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": None, "HF_HUB_CACHE": None, "HF_TOKEN": None,
            "PAISTATS_ZOO": None, "PAISTATS_HUB_REPO": None, "ZOO_BUILDER_FAIL_SPEC": None}
    for k, v in {**base, **env}.items():
        if v is None:
            monkeypatch.delenv(k, raising=False)
        else:
            monkeypatch.setenv(k, v)
    monkeypatch.chdir(ws)  # the default --out ./zoo lands inside the snapshot
    return {"ws": str(ws), "zoo": str(zoo), "port": str(closed_port())}


def snapshot(root: Path) -> dict:
    """Every path under ``root`` with its kind, size and modification time (ns)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (p.is_dir(), st.st_size, st.st_mtime_ns)
    st = root.lstat()
    out["."] = (True, st.st_size, st.st_mtime_ns)
    return out


def run_main(cli: str, argv: list[str]) -> int:
    if cli == ZB:
        from zoo_builder.cli import main
    elif cli == AN:
        from analysis.cli import main
    else:
        from paistats.cli import main
    try:
        return main(argv)
    except SystemExit as e:  # argparse's --help / exit paths (not expected for bad input)
        return e.code


#: Python call syntax a command line must not print (``pass zoo=<...>``, ``f(x=...)``, reprs of numpy scalars).
PYTHON_SYNTAX = re.compile(r"\w=<|\w\(\w+=|np\.\w+\(")
#: Advice to delete something ("delete the entry folder ...").
DESTRUCTIVE = re.compile(r"\b(delete|remove|rm)\b\s+(the|it|them|-)", re.I)


def check(err: str, rc: int, cli: str, problem: str, fix: str) -> None:
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{cli}: error: "), err
    assert problem in lines[0], lines[0]
    assert fix in lines[0], lines[0]
    assert not PYTHON_SYNTAX.search(lines[0]), lines[0]


@pytest.mark.parametrize("cli, argv, problem, fix, zoo_kind, env", CASES)
def test_bad_input_is_one_line_exit_2_nothing_written(cli, argv, problem, fix, zoo_kind, env, tmp_path,
                                                      monkeypatch, capsys, request):
    paths = workspace(tmp_path, monkeypatch, zoo_kind, lambda: request.getfixturevalue("built_zoo"), env)
    argv = [a.format(**paths) for a in argv]
    problem, fix = problem.format(**paths), fix.format(**paths)
    extra = [Path("/sys/zoo-builder-test"), Path("/paistats-cli-test")]
    before = snapshot(tmp_path)
    rc = run_main(cli, argv)
    out, err = capsys.readouterr()
    check(err, rc, cli, problem, fix)
    if zoo_kind in (None, "ok"):  # a wrong path or value is never answered with destructive advice
        assert not DESTRUCTIVE.search(err), err
    assert snapshot(tmp_path) == before
    assert not any(p.exists() for p in extra)


def test_the_table_is_large_enough():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)


# A few rows again as real processes: nothing escapes as a traceback, the exit status is 2.
SUBPROCESS = ["config-unknown-key", "resume-with-other-recipe", "ps-hub-unreachable"]


@pytest.mark.parametrize("row", SUBPROCESS)
def test_python_dash_m_prints_one_line_and_no_traceback(row, tmp_path, monkeypatch, request):
    (cli, argv, problem, fix, zoo_kind, env), = [c.values for c in CASES if c.id == row]
    paths = workspace(tmp_path, monkeypatch, zoo_kind, lambda: request.getfixturevalue("built_zoo"), env)
    argv = [a.format(**paths) for a in argv]
    before = snapshot(tmp_path)
    proc = subprocess.run([sys.executable, "-m", cli, *argv], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=paths["ws"])
    check(proc.stderr, proc.returncode, cli, problem, fix)
    assert snapshot(tmp_path) == before


def test_unwritable_out_folder_without_root(tmp_path, monkeypatch, capsys):
    """A folder without write permission (skipped as root, who may write anyway; see out-unwritable)."""
    if os.geteuid() == 0:
        pytest.skip("root ignores permission bits")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        before = snapshot(tmp_path)
        rc = run_main(ZB, ["--preset", "smoke", "--zoo", str(ro / "zoo")])
        err = capsys.readouterr().err
        check(err, rc, ZB, "is not writable", "choose a folder you can write to")
        assert snapshot(tmp_path) == before
    finally:
        ro.chmod(0o755)


# ---- verify: one function behind both command lines, the same output and exit codes

def verify_both(argv: list[str], capsys) -> tuple[int, str, str]:
    """``zoo_builder verify ARGV`` and ``paistats verify ARGV``: asserted equal (stderr without the
    program name); returns (exit code, stdout, stderr)."""
    results = []
    for cli in (ZB, PS):
        rc = run_main(cli, ["verify", *argv])
        out, err = capsys.readouterr()
        results.append((rc, out, err.replace(f"{cli}: ", "<prog>: ")))
    assert results[0] == results[1]
    return results[0]


@pytest.mark.parametrize("kind, code, word", [("ok", 0, "OK"), ("changed", 1, "FAILED"),
                                              ("unfinalized", 1, "FAILED"), ("bad-manifest", 1, "FAILED")])
def test_verify_is_one_command_in_both_clis(kind, code, word, tmp_path, monkeypatch, capsys, request):
    paths = workspace(tmp_path, monkeypatch, "ok" if kind == "changed" else kind,
                      lambda: request.getfixturevalue("built_zoo"), {})
    zoo = Path(paths["zoo"])
    if kind == "changed":
        (zoo / ENTRY / "zarr.json").write_text("{}")
    # the default ./zoo, a zoo folder, an entry folder, an entry name of --zoo, --zoo alone
    for argv in ([], [str(zoo)], [str(zoo / ENTRY)], [ENTRY, "--zoo", str(zoo)], ["--zoo", str(zoo)]):
        rc, out, err = verify_both(argv, capsys)
        assert (rc, err) == (code, ""), (argv, out, err)
        assert out.startswith(f"{zoo / ENTRY if argv else Path('zoo') / ENTRY}: {word}"), (argv, out)


@pytest.mark.parametrize("argv, words", [(["--zoo", "/etc"], "'/etc' is not a zoo"),
                                         (["{ws}/empty"], "is neither a zoo nor an entry folder"),
                                         (["nope-entry", "--zoo", "{zoo}"], "nope-entry")])
def test_verify_refuses_the_same_bad_input_in_both_clis(argv, words, tmp_path, monkeypatch, capsys, request):
    paths = workspace(tmp_path, monkeypatch, "ok", lambda: request.getfixturevalue("built_zoo"), {})
    rc, out, err = verify_both([a.format(**paths) for a in argv], capsys)
    assert rc == 2 and out == "" and err.startswith("<prog>: error: ") and words in err and err.count("\n") == 1


def test_list_and_ls_read_the_zoo_in_the_working_folder(tmp_path, monkeypatch, capsys, request):
    """``--zoo`` defaults to ./zoo in paistats as in zoo_builder."""
    workspace(tmp_path, monkeypatch, "ok", lambda: request.getfixturevalue("built_zoo"), {})
    for cli, argv in ((PS, ["list"]), (ZB, ["ls"])):
        rc = run_main(cli, argv)
        out, err = capsys.readouterr()
        assert rc == 0 and err == "" and ENTRY in out, (cli, out, err)
