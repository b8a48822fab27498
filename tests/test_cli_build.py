"""The CLI end to end on a tiny grid: build, ls, verify, push (local test Hub)."""
from __future__ import annotations

import pytest

from zoo_builder import cli, testing


TINY = ["--preset", "smoke", "--only", "method=magnitude,snip", "--only", "sparsity=0,0.5",
        "--workers", "2", "--in-process"]  # 2 dense + 2 × 4 = 10 runs




def test_build_ls_verify_push(tmp_path, capsys, hub_env):
    zoo = tmp_path / "zoo"
    assert cli.main([*TINY, "--zoo", str(zoo), "--push-to-hub", "lab/zoo"]) == 0
    out, err = capsys.readouterr()
    assert "10 runs (10 run now, 0 already complete, 0 failed)" in out
    assert "test accuracy % (mean ± std over seeds)" in out and "mnist1d_mlp-mnist1d" in out
    assert "published" in out and "lab/zoo" in out
    assert "[10/10]" in err  # per-run log lines (stderr is not a terminal: no bar)

    assert cli.main(["ls", "--zoo", str(zoo)]) == 0
    out = capsys.readouterr().out
    assert "mnist1d_mlp-mnist1d-magnitude" in out and "mnist1d_mlp-mnist1d-snip" in out
    assert cli.main(["ls", "--zoo", str(zoo), "--preset", "smoke"]) == 0
    assert "total: 54 runs (48 pruned + 6 dense) in 6 entries, 13 tasks; 10 done, 0 failed, 44 to run" \
        in capsys.readouterr().out
    assert cli.main([*TINY, "--zoo", str(zoo), "--dry-run"]) == 0
    assert "10 done, 0 failed, 0 to run" in capsys.readouterr().out

    assert cli.main(["verify", str(zoo)]) == 0
    out = capsys.readouterr().out
    assert out.count(": OK (") == 2 and "2 of 2 entries OK" in out
    (zoo / "mnist1d_mlp-mnist1d-snip" / "zarr.json").write_text("{}")
    assert cli.main(["verify", str(zoo / "mnist1d_mlp-mnist1d-snip")]) == 1
    assert "FAILED" in capsys.readouterr().out

    assert cli.main(["push", "lab/zoo2", "--zoo", str(zoo), "--entries", "mnist1d_mlp-mnist1d-magnitude"]) == 0
    assert "published" in capsys.readouterr().out


def test_quiet_build_prints_nothing_and_failures_block_the_push(tmp_path, capsys, monkeypatch):
    zoo = tmp_path / "zoo"
    assert cli.main([*TINY, "--zoo", str(zoo), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and err == ""
    monkeypatch.setenv(testing.FAIL_ENV, "method=snip,variant=invert")
    zoo2 = tmp_path / "zoo2"
    assert cli.main([*TINY, "--zoo", str(zoo2), "--quiet", "--push-to-hub", "lab/never"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "failed runs (1):" in err and "not pushing to lab/never" in err
