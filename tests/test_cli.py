"""The command line: help, dry-run counts, presets, and bad input → exit 2, one line, nothing written."""
from __future__ import annotations

import os
import subprocess
import sys
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


@pytest.mark.parametrize("preset, runs", [("smoke", 54), ("mini", 306), ("frankle-cifar10", 4860)])
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
    assert "total: 306 runs" in out
    rc, out, _ = run_cli(capsys, "presets")
    assert all(name in out for name in presets.names())


BAD_CONFIGS = {
    "unknown_key.yaml": "grids:\n  - arch: lenet300\n    recipe: smoke\n    sparsities: [0.5]\n    epochs: 3\n",
    "bad_value.yaml": "grids:\n  - arch: lenet300\n    recipe: smoke\n    sparsities: [0.5, 1.5]\n",
    "impossible.yaml": "grids:\n  - arch: mnist1d_cnn\n    dataset: mnist\n    recipe: smoke\n    sparsities: [0.5]\n",
    "empty.toml": "name = 'nothing'\n",
    "broken.toml": "grids = [\n",
}


@pytest.mark.parametrize("argv", [
    ["--preset", "smok"],
    ["--config", "{tmp}/unknown_key.yaml"],
    ["--config", "{tmp}/bad_value.yaml"],
    ["--config", "{tmp}/impossible.yaml"],
    ["--config", "{tmp}/empty.toml"],
    ["--config", "{tmp}/broken.toml"],
    ["--config", "{tmp}/missing.yaml"],
    ["--preset", "smoke", "--config", "{tmp}/bad_value.yaml"],
    ["--gpus", "0"],
    ["--gpus", "1", "--workers", "2"],
    ["--workers", "two"],
    ["--preset", "smoke", "--only", "seed=7"],
    ["--preset", "smoke", "--only", "colour=red"],
    ["--no-such-option"],
    ["--preset", "smoke", "--in-process", "--scheduler", "tcp://127.0.0.1:1"],
    ["--preset", "smoke", "--data-root", "{tmp}/no-data"],
    ["--preset", "smoke", "--push-to-hub", "not a repo"],
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(capsys, tmp_path, argv):
    for name, text in BAD_CONFIGS.items():
        (tmp_path / name).write_text(text)
    before = sorted(p.name for p in tmp_path.iterdir())
    out_dir = tmp_path / "zoo"
    argv = [a.format(tmp=tmp_path) for a in argv] + ["--out", str(out_dir)]
    rc, out, err = run_cli(capsys, *argv)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("zoo_builder: error: "), err
    assert "Traceback" not in err
    assert not out_dir.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_more_gpus_than_present_is_a_usage_error(capsys, tmp_path):
    import torch

    n = (torch.cuda.device_count() if torch.cuda.is_available() else 0) + 1
    rc, _, err = run_cli(capsys, "--preset", "smoke", "--gpus", str(n), "--out", str(tmp_path / "z"))
    assert rc == 2 and "CUDA device" in err
    assert not (tmp_path / "z").exists()


def test_python_dash_m_reports_errors_on_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "zoo_builder", "--preset", "mini", "--only", "method=snp",
                           "--out", str(tmp_path / "z")], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert proc.stderr.startswith("zoo_builder: error: --only selects none") or "snp" in proc.stderr
    assert not (tmp_path / "z").exists()


def test_ls_of_missing_zoo_is_a_usage_error(capsys, tmp_path):
    rc, _, err = run_cli(capsys, "ls", "--out", str(tmp_path / "nothing"))
    assert rc == 2 and err.startswith("zoo_builder: error:")
