"""The command line: help, dry-run counts, presets (bad input: tests/test_bad_inputs.py)."""
from __future__ import annotations

import argparse
import re
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
        if action.help == argparse.SUPPRESS:  # the deprecated --out
            continue
        for opt in action.option_strings:
            assert opt in text
        if action.option_strings:
            assert action.help
    for word in ("--preset", "--config", "--gpus", "--workers", "--scheduler", "--zoo", "--push-to-hub",
                 "--dry-run", "--quiet", "--amp", "--channels-last", "ls", "verify", "push", "presets"):
        assert word in text


@pytest.mark.parametrize("sub", ["ls", "verify", "push", "presets"])
def test_subcommand_help(capsys, sub):
    with pytest.raises(SystemExit) as info:
        cli.main([sub, "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: zoo_builder {sub}")


@pytest.mark.parametrize("preset, runs", [("smoke", 54), ("tiny", 162), ("mini", 510), ("frankle-cifar10", 4860)])
def test_dry_run_prints_plan_and_writes_nothing(capsys, tmp_path, preset, runs):
    out_dir = tmp_path / "zoo"
    rc, out, err = run_cli(capsys, "--preset", preset, "--zoo", str(out_dir), "--dry-run")
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
    rc, out, err = run_cli(capsys, "--config", str(cfg), "--dry-run", "--zoo", str(tmp_path / "zoo"))
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


def test_out_still_names_the_zoo_with_one_warning(capsys, tmp_path):
    """``--out DIR`` is the deprecated spelling of ``--zoo DIR`` (one release): same plan, one stderr line."""
    zoo = str(tmp_path / "zoo")
    rc_new, out_new, err_new = run_cli(capsys, "--preset", "smoke", "--zoo", zoo, "--dry-run")
    rc_old, out_old, err_old = run_cli(capsys, "--preset", "smoke", "--out", zoo, "--dry-run")
    assert rc_new == rc_old == 0 and out_new == out_old and err_new == ""
    assert err_old.count("\n") == 1 and err_old.startswith("zoo_builder: warning: --out is deprecated; use --zoo")
    assert not (tmp_path / "zoo").exists()


def test_a_preset_name_means_one_grid_everywhere():
    """The report builds zoo_builder's presets unchanged (none retyped); ``tiny`` is ``smoke`` with the
    seeds the report's seed-level inference needs, and every preset the report builds has them."""
    from analysis import presets as report, reproduce

    assert set(reproduce.PRESETS) <= set(presets.names())
    for name in reproduce.PRESETS:
        assert reproduce.build_config(name) == presets.get(name)
        assert report.grid_seeds(presets.get(name)) >= report.REPORT_SEEDS
    tiny, smoke = presets.get("tiny"), presets.get("smoke")
    assert [{**g, "seeds": 1} for g in tiny["grids"]] == smoke["grids"]
    assert report.grid_seeds(tiny) == report.REPORT_SEEDS
    with pytest.raises(reproduce.ReproduceError, match="use --preset tiny"):
        reproduce.build_config("smoke")


def test_paistats_help_is_plain_text_and_lists_every_command(capsys):
    from paistats import cli as ps

    with pytest.raises(SystemExit) as info:
        ps.main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    assert "``" not in text and ":func:" not in text
    for command in ps.COMMANDS:
        assert re.search(rf"^\s+{command}\s", text, re.M), command
    assert "--zoo" in text and "./zoo" in text


def test_unknown_choice_names_close_matches():
    from paistats.cli import unknown_choice

    assert unknown_choice("preset", "smok", ["smoke", "mini"]) == \
        "unknown preset 'smok'. Did you mean 'smoke'? Valid choices: smoke, mini."
    assert unknown_choice("table", "zzz", ["a", "b"]) == "unknown table 'zzz'. Valid choices: a, b."


# Bad input (exit 2, one line, nothing written) is tested row by row in test_bad_inputs.py.
