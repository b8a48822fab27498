"""analysis/: the Frankle et al. tests equal scipy/statsmodels on the same seeds, the CLI's bad input
gives one line and exit 2, the report writer numbers and refuses what it should, the results page."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import scipy.stats as ss
import xarray as xr
from statsmodels.stats.multitest import multipletests

from analysis import frankle, reproduce
from analysis.cli import main
from analysis.common import Context

PRUNERS = ["random", "snip", "synflow"]
VARIANTS = ["original", "shuffle", "reinit", "invert"]
SPARSITIES = [0.0, 0.5, 0.9]
SEEDS = [0, 1, 2, 3, 4]


def root(seed: int = 0) -> xr.Dataset:
    """A zoo-shaped root: accuracy (pruner, variant, sparsity, seed) with a seed effect shared by variants."""
    rng = np.random.default_rng(seed)
    shape = (len(PRUNERS), len(VARIANTS), len(SPARSITIES), len(SEEDS))
    seed_effect = rng.normal(0, 0.01, size=(1, 1, 1, len(SEEDS)))
    acc = 0.95 - 0.05 * np.array(SPARSITIES)[None, None, :, None] + seed_effect + rng.normal(0, 0.002, shape)
    acc[:, VARIANTS.index("invert")] -= 0.03
    complete = np.ones(shape, bool)
    complete[:, 1:, 0, :] = False                     # dense baselines: original only
    coords = {"pruner": PRUNERS, "variant": VARIANTS, "sparsity": SPARSITIES, "seed": SEEDS}
    dims = tuple(coords)
    disc = np.zeros(shape, bool)
    disc[PRUNERS.index("synflow"), VARIANTS.index("invert"), 2, :3] = True
    return xr.Dataset({"accuracy": (dims, acc), "complete": (dims, complete), "disconnected": (dims, disc)},
                      coords=coords)


def ctx() -> Context:
    return Context(zoo=None, listing=pd.DataFrame(), margin=0.01, alpha=0.05)


def test_paired_t_and_bonferroni_intervals_equal_scipy():
    ds = root()
    c = ctx()
    table = frankle.tests(c, frankle.accuracy(ds), "s")
    part = table[(table["comparison"] == "reinit − original") & (table["pruner"] != "random")]
    part = part.set_index(["pruner", "sparsity"])
    assert len(part) == (len(PRUNERS) - 1) * 2   # sparsity 0 (dense) is not tested; random is a no-op
    m = len(part)
    for (p, s), row in part.iterrows():
        d = (ds["accuracy"].sel(pruner=p, sparsity=s, variant="reinit")
             - ds["accuracy"].sel(pruner=p, sparsity=s, variant="original")).values
        ref = ss.ttest_1samp(d, 0.0)
        assert row["pvalue"] == pytest.approx(ref.pvalue, rel=1e-10)
        assert row["pvalue_adjusted"] == pytest.approx(min(1, m * ref.pvalue), rel=1e-10)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(ref.confidence_interval(1 - 0.05 / m)),
                                                                rel=1e-10)
        assert row["estimate"] == pytest.approx(d.mean(), rel=1e-10)
        assert row["n"] == len(SEEDS) and row["confidence_level"] == pytest.approx(1 - 0.05 / m)
    assert part["family"].str.startswith(f"bonferroni over pruner × sparsity (m={m}; intervals at").all()


def test_every_verdict_agrees_with_the_interval_and_adjusted_pvalue_printed_beside_it():
    from paistats.inference import interval_verdict

    table = frankle.tests(ctx(), frankle.accuracy(root()), "s")
    tested = table[table["verdict"] != frankle.NO_OP]
    for row in tested.itertuples():
        margin = None if np.isnan(row.margin) else row.margin
        assert row.verdict == interval_verdict(row.ci_low, row.ci_high, margin=margin, higher_is_better=True)
        assert (row.pvalue_adjusted < 0.05) == (row.ci_low > 0 or row.ci_high < 0)
        assert (row.verdict in ("better", "worse")) == (row.pvalue_adjusted < 0.05)


def test_invert_is_worse_and_methods_are_paired_with_random_at_the_same_seed():
    ds = root()
    table = frankle.tests(ctx(), frankle.accuracy(ds), "s")
    inv = table[table["comparison"] == "invert − original"]
    assert set(inv["verdict"]) == {"worse"}                          # 3 pp lower with 0.2 pp noise
    vs = table[table["comparison"] == "original − random pruning"].set_index(["pruner", "sparsity"])
    assert set(vs.index.get_level_values("pruner")) == {"snip", "synflow"}
    d = (ds["accuracy"].sel(pruner="snip", sparsity=0.9, variant="original")
         - ds["accuracy"].sel(pruner="random", sparsity=0.9, variant="original")).values
    ref = ss.ttest_rel(ds["accuracy"].sel(pruner="snip", sparsity=0.9, variant="original").values,
                       ds["accuracy"].sel(pruner="random", sparsity=0.9, variant="original").values)
    assert vs.loc[("snip", 0.9), "pvalue"] == pytest.approx(ref.pvalue, rel=1e-10)  # two-sided
    assert vs.loc[("snip", 0.9), "estimate"] == pytest.approx(d.mean(), rel=1e-10)


def _one_cell(pruners, diff_pp, variant):
    """A root with one pruned sparsity (0.5) where ``variant`` − original (or grasp − random when
    variant is None) equals ``diff_pp`` (pp) seed by seed."""
    shape = (len(pruners), len(VARIANTS), 2, len(SEEDS))
    acc = np.full(shape, 0.9) + np.random.default_rng(0).normal(0, 0.01, (1, 1, 1, len(SEEDS)))
    if variant is None:
        acc[pruners.index("grasp")] += np.asarray(diff_pp) / 100
    else:
        acc[:, VARIANTS.index(variant)] += np.asarray(diff_pp) / 100
    coords = {"pruner": pruners, "variant": VARIANTS, "sparsity": [0.0, 0.5], "seed": SEEDS}
    return xr.Dataset({"accuracy": (tuple(coords), acc), "complete": (tuple(coords), np.ones(shape, bool))},
                      coords=coords)


def _with_ci(mean, low, high, level=0.95):
    """5 paired differences whose mean and Student-t interval at ``level`` are (mean, [low, high])."""
    z = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    half = (high - low) / 2
    sd = half * np.sqrt(5) / ss.t.ppf(0.5 + level / 2, 4)
    return mean + sd * z / z.std(ddof=1)


def test_mini_grasp_50_is_worse_than_random_pruning():
    # the issue: GraSP at 50 % is 2.25 pp below random pruning, 95 % CI [−3.36, −1.14]; the one-sided
    # "better?" test called it inconclusive. Two-sided, read off the same interval, it is "worse".
    ds = _one_cell(["random", "grasp"], _with_ci(-2.25, -3.36, -1.14), None)
    row = frankle.tests(ctx(), frankle.accuracy(ds), "s").set_index("comparison").loc["original − random pruning"]
    assert 100 * row["ci_low"] == pytest.approx(-3.36, abs=1e-9) and 100 * row["ci_high"] == pytest.approx(-1.14)
    assert row["verdict"] == "worse" and row["confidence_level"] == pytest.approx(0.95)


def test_mini_grasp_abs_98_shuffle_is_worse_by_more_than_the_margin():
    # the issue: shuffle − original CI [−2.74, −1.72] pp, wholly beyond the −1 pp margin, was "inconclusive"
    ds = _one_cell(["grasp_abs"], _with_ci(-2.23, -2.74, -1.72), "shuffle")
    table = frankle.tests(ctx(), frankle.accuracy(ds), "s").set_index("comparison")
    row = table.loc["shuffle − original"]
    assert (100 * row["ci_low"], 100 * row["ci_high"]) == pytest.approx((-2.74, -1.72))
    assert row["verdict"] == "worse" and row["verdict_text"] == "worse (by more than the margin)"
    assert row["pvalue_adjusted"] < 0.05 and row["pvalue_lower_adjusted"] < 0.05  # both 0 and −margin are excluded


@pytest.mark.parametrize("variant", ["shuffle", "reinit"])
def test_random_pruner_under_shuffle_and_reinit_is_a_no_op_and_not_counted(variant):
    c = ctx()
    table = frankle.tests(c, frankle.accuracy(root()), "s")
    part = table[table["comparison"] == f"{variant} − original"]
    noop = part[part["pruner"] == "random"]
    assert set(noop["verdict"]) == {frankle.NO_OP} and noop["ci_low"].isna().all()
    tested = part[part["pruner"] != "random"]
    assert tested["family"].str.contains("m=4").all()               # random is not in the family either
    frankle._summarise(c, type("A", (), {"label": "x"})(), table, pd.DataFrame())
    line = next(v for v in c.summary if f"{variant} − original" in v["question"])
    assert "(of 4)" in line["answer"] and "no-op by construction (not counted): random" in line["answer"]


def test_no_random_pruner_and_one_seed_are_skipped_with_reasons():
    c = ctx()
    ds = root().sel(pruner=["snip"])
    frankle.tests(c, frankle.accuracy(ds), "s")
    assert any("no `random` pruner" in s["reason"] for s in c.skipped)
    c = ctx()
    out = frankle.tests(c, frankle.accuracy(root().isel(seed=[0])), "s")
    assert out.empty
    assert any("at least 2" in s["reason"] for s in c.skipped)


def test_disconnected_table_counts_flagged_runs():
    from analysis.common import runs_frame

    runs = runs_frame(root())
    t = frankle.disconnected_table(runs)
    assert t[["pruner", "variant", "sparsity", "seeds disconnected", "of seeds"]].values.tolist() == [
        ["synflow", "invert", 0.9, 3, 5]]


def test_tiny_config_has_three_seeds_and_a_cost_estimate():
    cfg = reproduce.build_config("tiny")
    assert all(g["seeds"] == reproduce.REPORT_SEEDS == 3 for g in cfg["grids"])
    runs, minutes = reproduce.estimate_minutes(cfg, 2)
    assert runs == 162 and 0 < minutes < 30
    runs, _ = reproduce.estimate_minutes(reproduce.build_config("mini"), 2)
    assert runs == 510


@pytest.mark.slow
def test_missing_runs_of_a_preset_are_counted(tmp_path):
    import _report_zoo

    assert reproduce.missing_runs(tmp_path / "none", "tiny") == (162, 162)
    from zoo_builder import RunSpec, run, store

    zoo = tmp_path / "zoo"
    spec = RunSpec(_report_zoo.ARCH, _report_zoo.DATA, "magnitude", "original", 0.5, 0, "smoke")  # a preset run
    store.plan_entries(zoo, [spec])
    store.write_run(zoo, run(spec))
    assert reproduce.missing_runs(zoo, "tiny") == (161, 162)


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_text("")
    assert main(["reproduce", "--zoo", str(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "exists" in err and "--overwrite" in err and err.count("\n") == 1
    assert main(["reproduce", "--margin", "2"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["frobnicate"]) == 2
    assert "unknown subcommand 'frobnicate'" in capsys.readouterr().err
    assert main(["results-page", str(tmp_path / "nothing")]) == 2
    assert "manifest" in capsys.readouterr().err


def test_unreachable_hub_zoo_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert main(["reproduce", "--zoo", "some-org/some-zoo", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "unreachable" in err and err.count("\n") == 1 and "Traceback" not in err


def test_report_numbers_in_page_order_and_refuses_to_overwrite(tmp_path):
    import _plot_frames as F
    from paistats import plot
    from paistats.plot.report import Report

    rep = Report("t")
    top = rep.section("Summary")
    later = rep.section("Body")
    later.figure("a", plot.accuracy_vs_sparsity(F.runs()), "first made")
    top.table("v", pd.DataFrame({"x": [1]}), "made last, shown first")
    later.table("w", pd.DataFrame({"y": [2]}), "second table")
    html = rep.html()
    assert html.index("Table 1.</b> made last") < html.index("Table 2.</b> second table")
    m = rep.manifest()
    assert [t["name"] for t in m["tables"]] == ["v", "w"] and m["figures"][0]["number"] == 1
    out = tmp_path / "r"
    rep.write(out, formats=("svg",))
    assert json.loads((out / "manifest.json").read_text())["title"] == "t"
    with pytest.raises(FileExistsError, match="overwrite"):
        rep.write(out)


def test_results_page_is_generated_from_a_report(tmp_path):
    import _plot_frames as F
    from analysis import results_page
    from paistats import plot
    from paistats.plot.report import Report

    rep = Report("t")
    sec = rep.section("Verdict summary")
    sec.table("verdicts", pd.DataFrame({"question": ["q?"], "answer": ["7 equivalent (of 8)"]}), "Verdicts.")
    rep.section("Frankle").figure("acc", plot.accuracy_vs_sparsity(F.runs()), "Accuracy caption.")
    rep.write(tmp_path / "rep")
    page = results_page.write(tmp_path / "rep", tmp_path / "docs")
    text = page.read_text()
    assert "7 equivalent (of 8)" in text and "Accuracy caption." in text
    assert (tmp_path / "docs" / "results" / "acc.svg").is_file()
    # a second zoo's page sits beside it under its own name, figures included
    other = results_page.write(tmp_path / "rep", tmp_path / "docs", name="results-factorial")
    assert other.name == "results-factorial.md" and "(results-factorial/acc.svg)" in other.read_text()
    assert (tmp_path / "docs" / "results-factorial" / "acc.svg").is_file()
    assert (tmp_path / "docs" / "results" / "acc.svg").is_file()
    with pytest.raises(ValueError, match="page name"):
        results_page.write(tmp_path / "rep", tmp_path / "docs", name="../x")
