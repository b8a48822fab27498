"""The command line: help, dry-run counts, presets (bad input: tests/test_bad_inputs.py)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from zoo_builder import cli, presets

ROOT = Path(__file__).resolve().parents[1]


def run_cli(capsys, *argv):
    rc = cli.main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    parser = cli.build_parser()
    for action in parser._actions:
        for opt in action.option_strings:
            assert opt in text
        if action.option_strings and action.help != "==SUPPRESS==":
            assert action.help
    for word in ("--preset", "--config", "--gpus", "--workers", "--scheduler", "--out", "--push-to-hub",
                 "--dry-run", "--quiet", "--amp", "--channels-last", "ls", "verify", "push", "presets"):
        assert word in text


@pytest.mark.parametrize("sub", ["ls", "verify", "push", "presets"])
def test_subcommand_help(capsys, sub):
    with pytest.raises(SystemExit) as info:
        cli.main([sub, "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: zoo_builder {sub}")


@pytest.mark.parametrize("preset, runs", [("smoke", 54), ("mini", 510), ("frankle-cifar10", 4860)])
def test_dry_run_prints_plan_and_writes_nothing(capsys, tmp_path, preset, runs):
    out_dir = tmp_path / "zoo"
    rc, out, err = run_cli(capsys, "--preset", preset, "--out", str(out_dir), "--dry-run")
    assert rc == 0, err
    assert f"total: {runs} runs" in out
    assert "estimated cost" in out
    assert not out_dir.exists()
    assert list(tmp_path.iterdir()) == []


def test_dry_run_of_a_config_file_counts_its_grid(capsys, tmp_path):
    cfg = tmp_path / "grid.toml"
    cfg.write_text('name = "two"\n[[grids]]\narch = "mnist1d_mlp"\nrecipe = "smoke"\n'
                   'methods = ["snip", "random", "synflow"]\nvariants = ["original", "invert"]\n'
                   'sparsities = [0.5, 0.8, 0.9]\nseeds = 2\n')
    rc, out, err = run_cli(capsys, "--config", str(cfg), "--dry-run", "--out", str(tmp_path / "zoo"))
    assert rc == 0, err
    n = 3 * 2 * 3 * 2 + 3 * 2
    assert f"total: {n} runs ({n - 6} pruned + 6 dense) in 3 entries" in out
    rc, out, _ = run_cli(capsys, "--config", str(cfg), "--dry-run", "--only", "seed=1", "--only", "method=snip")
    assert "total: 7 runs" in out


def test_presets_show_is_a_loadable_config(capsys, tmp_path):
    rc, out, _ = run_cli(capsys, "presets", "--show", "mini")
    assert rc == 0
    path = tmp_path / "mini.yaml"
    path.write_text(out)
    assert yaml.safe_load(out) == presets.get("mini")
    rc, out, _ = run_cli(capsys, "--config", str(path), "--dry-run")
    assert "total: 510 runs" in out
    rc, out, _ = run_cli(capsys, "presets")
    assert all(name in out for name in presets.names())


# Bad input (exit 2, one line, nothing written) is tested row by row in test_bad_inputs.py.
