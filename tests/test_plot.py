"""paistats.plot: charts over tidy tables, the paper theme, and PNG/SVG/PDF export."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import _plot_frames as F
from _images import check_pdf, check_png, check_svg
from paistats import plot
from paistats.plot import theme
from paistats.plot._frames import seed_interval


def _layers(spec: dict):
    """Every unit spec (with a mark) inside a Vega-Lite spec."""
    if "mark" in spec:
        yield spec
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for sub in spec.get(key, []):
            yield from _layers(sub)
    if "spec" in spec:
        yield from _layers(spec["spec"])


def _data(spec: dict) -> list:
    return spec["datasets"][spec["data"]["name"]] if "datasets" in spec else []


ALL_CHARTS = {
    "accuracy": lambda: plot.accuracy_vs_sparsity(F.runs()),
    "distance": lambda: plot.distance_by_layer(F.distances(), sparsity=0.9),
    "ecdf": lambda: plot.weight_ecdf(F.ecdf()),
    "heatmap": lambda: plot.stat_change_heatmap(F.heatmap()),
    "density": lambda: plot.layer_density(F.densities()),
    "shift": lambda: plot.shift_vs_accuracy(*F.shift()),
    "forest": lambda: plot.verdict_forest(F.verdicts(), margin=0.01),
}


@pytest.mark.parametrize("name", sorted(ALL_CHARTS))
def test_every_chart_is_valid_vega_lite_in_the_paper_theme(name):
    spec = plot.spec(ALL_CHARTS[name]())           # altair validates against the Vega-Lite schema
    assert spec["config"]["font"] == theme.FONT
    assert spec["config"]["range"]["category"] == theme.PALETTE
    assert list(_layers(spec)), "no mark"


def test_seed_interval_is_the_student_t_interval():
    from scipy import stats

    x = np.array([0.91, 0.93, 0.92, 0.95, 0.90])
    df = pd.DataFrame({"g": "a", "v": x})
    row = seed_interval(df, "v", ["g"]).iloc[0]
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert row["mean"] == pytest.approx(x.mean(), rel=1e-12)
    assert (row["lower"], row["upper"]) == pytest.approx((lo, hi), rel=1e-12)
    assert row["n"] == 5
    one = seed_interval(df.head(1), "v", ["g"]).iloc[0]
    assert np.isnan(one["lower"]) and one["n"] == 1


def test_accuracy_chart_draws_mean_over_seeds_in_percent():
    runs = F.runs()
    spec = plot.spec(plot.accuracy_vs_sparsity(runs))
    rows = pd.DataFrame(spec["datasets"][spec["data"]["name"]])
    cell = rows[(rows.pruner == "snip") & (rows.variant == "shuffle") & (rows.sparsity == 0.9)].iloc[0]
    want = runs[(runs.pruner == "snip") & (runs.variant == "shuffle") & (runs.sparsity == 0.9)].accuracy.mean()
    assert cell["mean"] == pytest.approx(100 * want)
    assert cell["n"] == 3


def test_variant_colours_are_the_same_in_every_figure():
    acc = json.dumps(plot.spec(plot.accuracy_vs_sparsity(F.runs())))
    ecdf = json.dumps(plot.spec(plot.weight_ecdf(F.ecdf())))
    shuffle = theme.VARIANT_COLORS["shuffle"]
    assert shuffle in acc and shuffle in ecdf
    scale = theme.scale_for(["shuffle", "mystery", "original"], theme.VARIANT_COLORS).to_dict()
    assert scale["domain"] == ["shuffle", "mystery", "original"]
    assert scale["range"][0] == shuffle and scale["range"][2] == theme.VARIANT_COLORS["original"]
    assert scale["range"][1] not in theme.VARIANT_COLORS.values()


def test_palette_is_okabe_ito():
    assert set(theme.PALETTE) == set(theme.OKABE_ITO.values())
    assert theme.SINGLE_COLUMN == 240 and theme.DOUBLE_COLUMN == 504     # 3.33 in and 7 in at 72 px/in


def test_layer_density_marks_collapsed_layers():
    spec = plot.spec(plot.layer_density(F.densities()))
    rows = pd.DataFrame(_data(spec))
    collapsed = rows[rows.collapsed]
    assert list(collapsed[["pruner", "sparsity", "layer"]].itertuples(index=False, name=None)) == [
        ("synflow", 0.9, F.LAYERS[1])]


def test_missing_columns_name_what_is_missing():
    with pytest.raises(ValueError, match="missing accuracy"):
        plot.accuracy_vs_sparsity(F.runs().drop(columns="accuracy"))
    with pytest.raises(TypeError, match="DataFrame"):
        plot.distance_by_layer([1, 2])


def test_index_levels_count_as_columns():
    runs = F.runs()
    indexed = runs.set_index(["pruner", "variant", "sparsity", "seed"])
    assert plot.spec(plot.accuracy_vs_sparsity(indexed)) == plot.spec(plot.accuracy_vs_sparsity(runs))


def test_exported_png_svg_pdf_are_valid_and_not_empty(tmp_path):
    out = plot.save(ALL_CHARTS["accuracy"](), tmp_path / "figs" / "accuracy", formats=("png", "svg", "pdf", "json"))
    assert set(out) == {"png", "svg", "pdf", "json"}
    check_png(out["png"])
    check_svg(out["svg"])
    check_pdf(out["pdf"])
    assert json.loads(out["json"].read_text())["config"]["font"] == theme.FONT
    with pytest.raises(ValueError, match="unknown export format"):
        plot.save(ALL_CHARTS["accuracy"](), tmp_path / "x", formats=("gif",))


# ---- Frankle-style accuracy figures, convergence, forest scales --------------------------------------------------
def _runs_with_dense() -> pd.DataFrame:
    runs = F.runs()
    dense = pd.DataFrame([dict(pruner=p, variant="original", sparsity=0.0, seed=k, accuracy=0.95 + 0.002 * k)
                          for p in F.PRUNERS for k in F.SEEDS])
    return pd.concat([runs, dense], ignore_index=True)


def _encodings(spec: dict) -> list[dict]:
    return [u.get("encoding", {}) for u in _layers(spec)]


def _x_scales(spec: dict) -> list[dict]:
    return [e["x"].get("scale", {}) for e in _encodings(spec) if e.get("x", {}).get("field") == "density"]


def test_accuracy_vs_density_has_a_log_density_axis_and_the_dense_baseline():
    runs = _runs_with_dense()
    spec = plot.spec(plot.accuracy_vs_density(runs))
    scales = _x_scales(spec)
    assert scales and all(s["type"] == "log" and s["reverse"] for s in scales)
    rows = pd.DataFrame(_data(spec))
    cell = rows[(rows.series == "variant") & (rows.pruner == "snip") & (rows.variant == "reinit")
                & (rows.sparsity == 0.9)].iloc[0]
    assert cell["density"] == pytest.approx(0.1)
    dense = rows[(rows.series == "dense") & (rows.pruner == "snip")].iloc[0]
    assert dense["mean"] == pytest.approx(100 * (0.95 + 0.002 * np.mean(F.SEEDS)))
    rule = [u for u in _layers(spec) if u["mark"]["type"] == "rule" and "dense" in json.dumps(u.get("transform", []))]
    assert rule and rule[0]["encoding"]["y"]["field"] == "mean"        # the dense baseline rule
    assert not (rows[rows.series == "variant"]["sparsity"] == 0).any()   # dense is not a point of the curves


def test_accuracy_delta_is_paired_by_seed_with_invert_in_its_own_panel():
    runs = _runs_with_dense()
    chart = plot.accuracy_delta(runs)
    spec = plot.spec(chart)
    assert spec["resolve"]["scale"]["y"] == "independent"
    assert spec["facet"]["row"]["field"] == "panel"
    rows = pd.DataFrame(_data(spec))
    var = rows[rows.series == "variant"]
    assert set(var[var.variant == "invert"]["panel"]) == {"invert − original"}
    assert set(var[var.variant != "invert"]["panel"]) == {"shuffle, reinit − original"}
    assert "original" not in set(var["variant"])
    key = (runs.pruner == "synflow") & (runs.sparsity == 0.5)
    by_seed = runs[key].pivot_table(index="seed", columns="variant", values="accuracy")
    want = 100 * (by_seed["shuffle"] - by_seed["original"]).mean()
    got = var[(var.pruner == "synflow") & (var.sparsity == 0.5) & (var.variant == "shuffle")].iloc[0]
    assert got["mean"] == pytest.approx(want, rel=1e-12)
    # the dense line: dense mean minus original's mean at each density, drawn in both panels
    dense = rows[(rows.series == "dense − original") & (rows.pruner == "synflow") & (rows.sparsity == 0.5)]
    assert len(dense) == 2
    want_dense = 100 * (runs[(runs.pruner == "synflow") & (runs.sparsity == 0)].accuracy.mean()
                        - by_seed["original"].mean())
    assert dense["mean"].to_numpy() == pytest.approx([want_dense] * 2)
    assert all(s["type"] == "log" for s in _x_scales(spec))
    with pytest.raises(ValueError, match="reference variant 'nope'"):
        plot.accuracy_delta(runs, reference="nope")


def test_accuracy_delta_without_dense_runs_has_no_dense_line():
    spec = plot.spec(plot.accuracy_delta(F.runs()))
    assert set(pd.DataFrame(_data(spec))["series"]) == {"variant"}


def _t_interval_pct(x, level: float) -> tuple[float, float]:
    """scipy's Student-t interval of the mean of ``x`` at ``level``, in % (the reference of the charts)."""
    from scipy import stats

    x = np.asarray(x, dtype=float)
    lo, hi = stats.t.interval(level, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    return 100 * lo, 100 * hi


def _seed_charts():
    """name -> (table the chart draws at a confidence level, the one cell checked, its seed values)."""
    runs = _runs_with_dense()
    cell = (runs.pruner == "snip") & (runs.variant == "shuffle") & (runs.sparsity == 0.9)
    by_seed = runs[(runs.pruner == "synflow") & (runs.sparsity == 0.5)].pivot_table(
        index="seed", columns="variant", values="accuracy")

    def drawn(chart_fn):
        return lambda **kw: pd.DataFrame(_data(plot.spec(chart_fn(runs, **kw))))

    snip_shuffle = dict(pruner="snip", variant="shuffle", sparsity=0.9)
    return {
        "accuracy_vs_sparsity": (drawn(plot.accuracy_vs_sparsity), snip_shuffle, runs[cell].accuracy),
        "accuracy_vs_density": (drawn(plot.accuracy_vs_density), dict(snip_shuffle, series="variant"),
                                runs[cell].accuracy),
        "accuracy_delta": (drawn(plot.accuracy_delta), dict(pruner="synflow", variant="shuffle", sparsity=0.5,
                                                            series="variant"),
                           by_seed["shuffle"] - by_seed["original"]),
        "interaction_frame": (lambda **kw: plot.interaction_frame(runs, **kw), snip_shuffle, runs[cell].accuracy),
    }


def _row(table: pd.DataFrame, where: dict) -> pd.Series:
    hit = table[np.logical_and.reduce([table[k] == v for k, v in where.items()])]
    assert len(hit) == 1, where
    return hit.iloc[0]


@pytest.mark.parametrize("name", ["accuracy_vs_sparsity", "accuracy_vs_density", "accuracy_delta",
                                  "interaction_frame"])
def test_confidence_level_sets_the_student_t_seed_interval(name):
    table_at, where, seeds = _seed_charts()[name]
    row = _row(table_at(confidence_level=0.8), where)
    assert (row["lower"], row["upper"]) == pytest.approx(_t_interval_pct(seeds, 0.8), rel=1e-12)
    default = _row(table_at(), where)
    assert (default["lower"], default["upper"]) == pytest.approx(_t_interval_pct(seeds, 0.95), rel=1e-12)


def test_accuracy_vs_density_draws_the_dense_band_at_the_confidence_level():
    runs = _runs_with_dense()
    rows = pd.DataFrame(_data(plot.spec(plot.accuracy_vs_density(runs, confidence_level=0.8))))
    band = _row(rows, dict(series="dense", pruner="snip"))
    dense = runs[(runs.pruner == "snip") & (runs.sparsity == 0)].accuracy
    assert (band["lower"], band["upper"]) == pytest.approx(_t_interval_pct(dense, 0.8), rel=1e-12)


@pytest.mark.parametrize("name", ["accuracy_vs_sparsity", "accuracy_vs_density", "accuracy_delta",
                                  "interaction_frame"])
def test_confidence_keyword_still_works_with_a_future_warning(name):
    table_at, _, _ = _seed_charts()[name]
    with pytest.warns(FutureWarning, match=rf"{name}\(confidence=\) is renamed {name}\(confidence_level=\)"):
        old = table_at(confidence=0.8)
    pd.testing.assert_frame_equal(old, table_at(confidence_level=0.8))
    with pytest.raises(TypeError, match="pass confidence_level= only"):
        table_at(confidence=0.8, confidence_level=0.8)


@pytest.mark.parametrize("level", [95, 0, 1.0, "high", None])
def test_confidence_level_outside_0_1_is_refused_in_one_line(level):
    with pytest.raises(ValueError, match=r"confidence_level must be a fraction strictly between 0 and 1 \(0.95") as e:
        plot.accuracy_vs_sparsity(F.runs(), confidence_level=level)
    assert "\n" not in str(e.value)


def test_verdict_forest_panels_have_their_own_x_scale_and_show_the_margin():
    spec = plot.spec(plot.verdict_forest(F.verdicts(), margin=0.01))
    assert spec["resolve"]["scale"]["x"] == "independent"
    margins = sorted(e["x"]["datum"] for e in _encodings(spec) if "datum" in e.get("x", {}))
    assert margins == pytest.approx([-1.0, 0.0, 1.0])       # ±1 pp and 0: datum values join every panel's domain


def test_convergence_chart_flags_cells_at_the_threshold():
    table = pd.DataFrame({"pruner": ["snip"] * 3, "variant": ["original", "shuffle", "reinit"],
                          "sparsity": [0.5] * 3, "gain_pp": [0.1, 0.3, 0.2]})
    spec = plot.spec(plot.convergence_gain(table, threshold=0.2))
    rows = pd.DataFrame(_data(spec))
    assert list(rows["status"]) == ["converged", "not converged", "not converged"]
    assert 0.2 in [e["y"].get("datum") for e in _encodings(spec) if "y" in e]
    assert all(s["type"] == "log" for s in _x_scales(spec))


@pytest.mark.parametrize("name", ["density", "delta", "convergence"])
def test_new_figures_export_to_png(name, tmp_path):
    chart = {"density": lambda: plot.accuracy_vs_density(_runs_with_dense()),
             "delta": lambda: plot.accuracy_delta(_runs_with_dense()),
             "convergence": lambda: plot.convergence_gain(pd.DataFrame(
                 {"pruner": "snip", "variant": ["original", "shuffle"], "sparsity": [0.5, 0.9], "gain_pp": [0.1, 0.4]}))}
    out = plot.save(chart[name](), tmp_path / name, formats=("png",))
    check_png(out["png"])


# ---- render ahead: figures rendered in a worker process while the caller computes --------------------------------
def _report(render_ahead: bool):
    from paistats.plot.report import Report

    rep = Report("t", render_ahead=render_ahead)
    sec = rep.section("A")
    for name in ("accuracy", "distance"):
        sec.figure(name, ALL_CHARTS[name](), f"{name}.")
    return rep


def test_render_ahead_writes_the_same_figures_as_rendering_at_write(tmp_path):
    ahead = _report(True)
    assert ahead.figures["accuracy"].rendered is not None   # submitted when added
    ahead.write(tmp_path / "ahead")
    _report(False).write(tmp_path / "now")
    assert ahead._worker is None                             # write stops the worker
    for name in ("accuracy", "distance"):
        for fmt in ("svg", "png"):   # vl-convert's PDF orders its resource dictionary differently per run
            assert (tmp_path / "ahead" / "figures" / f"{name}.{fmt}").read_bytes() == \
                (tmp_path / "now" / "figures" / f"{name}.{fmt}").read_bytes(), (name, fmt)
        check_pdf(tmp_path / "ahead" / "figures" / f"{name}.pdf")
    assert (tmp_path / "ahead" / "index.html").read_text() == (tmp_path / "now" / "index.html").read_text()


def test_render_ahead_survives_a_lost_worker_and_a_figure_it_cannot_render(tmp_path):
    from paistats.plot import _render

    rep = _report(True)
    rep._worker._proc.kill()              # the worker dies: every pending figure is rendered at write
    rep.write(tmp_path / "lost")
    check_svg(tmp_path / "lost" / "figures" / "accuracy.svg")
    worker = _render.Worker()
    try:
        bad = worker.submit({"mark": "no-such-mark"}, ("svg",), plot.export._vl_version())
        good = worker.submit(ALL_CHARTS["accuracy"]().to_dict(), ("svg",), plot.export._vl_version())
        with pytest.raises(_render.WorkerError, match="conversion failed"):
            bad.result(timeout=60)
        assert good.result(timeout=60)["svg"].startswith(b"<svg")   # the worker goes on after an error
    finally:
        worker.close()


def test_render_ahead_needs_no_main_guard_in_a_script(tmp_path):
    """A report written from a plain script (no ``if __name__ == "__main__"``) does not re-run the script
    in its worker (as a ``multiprocessing`` spawn pool would)."""
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "script.py"
    starts = tmp_path / "starts"
    script.write_text("import sys\nsys.path[:0] = [{!r}, {!r}]\nopen({!r}, 'a').write('started\\n')\n"
                      "import test_plot\ntest_plot._report(True).write({!r})\n".format(
                          str(Path(__file__).parent), str(Path(__file__).parents[1]), str(starts),
                          str(tmp_path / "out")))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert starts.read_text().splitlines() == ["started"], "the script ran again in a worker process"
    assert (tmp_path / "out" / "figures" / "distance.png").stat().st_size > 1000


# ---- the library's own outputs go into the charts unchanged ------------------------------------------------------
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(arch stack, its distances, its noise floor) of a real builder-written zoo (:func:`F.tiny_zoo`)."""
    import warnings

    import paistats

    zoo = F.tiny_zoo(tmp_path_factory.mktemp("plots") / "zoo")
    tree = paistats.load(F.TINY[0], zoo=zoo)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", paistats.StatsWarning)   # no stored statistics: computed here
        return tree, paistats.distances(tree), paistats.noise_floor(tree), zoo


def test_distance_by_layer_draws_distances_and_noise_floor_as_they_come(tiny):
    tree, dist, noise, _ = tiny
    spec = plot.spec(plot.distance_by_layer(dist, noise))          # one pruned sparsity: no sparsity= needed
    rows = pd.DataFrame(_data(spec)).set_index(["pruner", "layer", "stage", "comparison"])
    assert set(rows.index.get_level_values("comparison")) == {"shuffle", "random", "noise floor"}
    assert "all" not in set(rows.index.get_level_values("layer"))            # the pooled layer is left out
    assert set(rows.index.get_level_values("stage")) == {"init", "trained"}  # not the score stage
    layer = str(dist["layer"].values[0])
    cell = dict(pruner="magnitude", layer=layer, stage="init", sparsity=0.5)
    want = dist["wasserstein_rel"].sel(variant="shuffle", **cell).values
    got = rows.loc[("magnitude", layer, "init", "shuffle")]
    assert (got["mean"], got["min"], got["max"], got["count"]) == pytest.approx(
        (want.mean(), want.min(), want.max(), 3), rel=1e-12)
    floor = noise["wasserstein_rel"].sel(**cell).values
    assert rows.loc[("magnitude", layer, "init", "noise floor"), "mean"] == pytest.approx(floor.mean(), rel=1e-12)
    rnd = dist["wasserstein_rel_random"].sel(**cell).values
    assert rows.loc[("magnitude", layer, "init", "random"), "mean"] == pytest.approx(rnd.mean(), rel=1e-12)
    point = next(u for u in _layers(spec) if u["mark"]["type"] == "point")
    assert point["encoding"]["y"]["field"] == "mean" and point["encoding"]["y"]["title"] == "wasserstein_rel"
    ks = pd.DataFrame(_data(plot.spec(plot.distance_by_layer(dist, metric="ks", stage="trained")))).set_index(
        ["pruner", "layer", "stage", "comparison"])
    assert set(ks.index.get_level_values("stage")) == {"trained"}
    assert ks.loc[("magnitude", layer, "trained", "shuffle"), "mean"] == pytest.approx(
        dist["ks"].sel(variant="shuffle", **{**cell, "stage": "trained"}).values.mean(), rel=1e-12)


def test_distance_by_layer_takes_one_entry_and_names_what_to_select(tiny):
    import warnings

    import paistats

    _, _, _, zoo = tiny
    entry = paistats.load(f"{F.TINY[0]}-magnitude", zoo=zoo)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", paistats.StatsWarning)
        one = paistats.distances(entry)
    rows = pd.DataFrame(_data(plot.spec(plot.distance_by_layer(one))))
    assert set(rows["pruner"]) == {one.attrs["entry"]}                 # no pruner dim: the entry names the panel
    link = F.distances()
    with pytest.raises(ValueError, match=r"2 pruned ones \(0.5, 0.9\); pass sparsity="):
        plot.distance_by_layer(link)
    with pytest.raises(ValueError, match="no variable 'energy'.*pass metric="):
        plot.distance_by_layer(link, metric="energy", sparsity=0.5)
    drawn = pd.DataFrame(_data(plot.spec(plot.distance_by_layer(link, sparsity=0.9, variants=["invert"]))))
    assert set(drawn["comparison"]) == {"invert"}
    ks = pd.DataFrame(_data(plot.spec(plot.distance_by_layer(link["ks"], sparsity=0.9)))).set_index(
        ["pruner", "layer", "stage", "comparison"])
    want = link["ks"].sel(pruner="snip", variant="reinit", sparsity=0.9, layer="fc.1.weight", stage="trained")
    assert ks.loc[("snip", "fc.1.weight", "trained", "reinit"), "mean"] == pytest.approx(float(want.mean()), rel=1e-12)


def test_shift_vs_accuracy_draws_a_shift_table_as_it_comes():
    from _link_zoo import link_zoo

    from paistats.regress import shift_table

    root, dist = link_zoo()
    table = shift_table(root, dist)
    spec = plot.spec(plot.shift_vs_accuracy(table))
    point = next(u for u in _layers(spec) if u["mark"]["type"] == "point")
    assert point["encoding"]["x"]["field"] == "wasserstein_rel_init"          # the first shift column
    rows = pd.DataFrame(spec["datasets"][point["data"]["name"]])
    assert len(rows) == len(table)
    assert rows["delta_pp"].to_numpy() == pytest.approx(100 * table["delta_accuracy"].to_numpy(), rel=1e-12)
    spec = plot.spec(plot.shift_vs_accuracy(table, shift="ks_trained"))
    point = next(u for u in _layers(spec) if u["mark"]["type"] == "point")
    assert point["encoding"]["x"]["field"] == "ks_trained" and point["encoding"]["x"]["title"] == "ks_trained"
    with pytest.raises(ValueError, match="no shift column.*pass shift="):
        plot.shift_vs_accuracy(table[["pruner", "variant", "delta_accuracy"]])


def test_verdict_forest_draws_a_stacked_table_as_it_comes():
    from paistats import inference

    acc = F.accuracy_array()
    table = inference.adjust_family(inference.compare(acc, margin=0.01, higher_is_better=True), family=["pruner", "sparsity"])
    spec = plot.spec(plot.verdict_forest(table))
    assert spec["facet"]["row"]["field"] == "variant"                        # no comparison column: the variant
    point = next(u for u in _layers(spec) if u["mark"]["type"] == "point")
    assert point["encoding"]["x"]["field"] == "estimate"
    rows = pd.DataFrame(_data(spec)).set_index(["variant", "pruner", "sparsity"])
    want = table.set_index(["variant", "pruner", "sparsity"])
    assert rows.loc[want.index, "estimate"].to_numpy() == pytest.approx(100 * want["estimate"].to_numpy(), rel=1e-12)
    assert rows.loc[want.index, "ci_low"].to_numpy() == pytest.approx(100 * want["ci_low"].to_numpy(), rel=1e-12)
    assert list(rows.loc[want.index, "verdict"]) == list(want["verdict"])
    margins = sorted(e["x"]["datum"] for e in _encodings(spec) if "datum" in e.get("x", {}))
    assert margins == pytest.approx([-1.0, 0.0, 1.0])                      # the table's margin, in pp
    tips = {t["field"] for t in point["encoding"]["tooltip"]}
    assert {"pvalue_adjusted", "n"} <= tips
    twice = pd.concat([table.assign(stage="init"), table.assign(stage="trained")])
    with pytest.raises(ValueError, match="several \\(they differ in stage\\): select one first"):
        plot.verdict_forest(twice)


def test_accuracy_charts_take_the_accuracy_dataarray():
    """``accuracy.where(complete)`` as it comes: NaN cells (dense baselines of other variants, incomplete
    runs) are no runs, so the figure equals the one drawn from the table of complete runs."""
    runs = _runs_with_dense()
    runs = runs[~((runs.pruner == "snip") & (runs.variant == "shuffle") & (runs.sparsity == 0.9) & (runs.seed == 0))]
    acc = runs.set_index(["pruner", "variant", "sparsity", "seed"])["accuracy"].to_xarray()   # NaN where not run
    assert int(acc.isnull().sum()) > 0
    key = ["series", "pruner", "variant", "sparsity"]
    from_table = pd.DataFrame(_data(plot.spec(plot.accuracy_vs_density(runs)))).sort_values(key)
    from_array = pd.DataFrame(_data(plot.spec(plot.accuracy_vs_density(acc)))).sort_values(key)
    cols = key + ["mean", "lower", "upper", "n"]
    pd.testing.assert_frame_equal(from_table.reset_index(drop=True)[cols], from_array.reset_index(drop=True)[cols])
    assert from_array.loc[from_array.series == "dense", "n"].eq(len(F.SEEDS)).all()


def test_paistats_plot_is_an_attribute_that_imports_altair_only_when_used():
    import subprocess
    import sys

    code = ("import sys, paistats\nassert 'altair' not in sys.modules\nm = paistats.plot\n"
            "assert 'altair' not in sys.modules, 'altair at paistats.plot'\nm.verdict_forest\n"
            "assert 'altair' in sys.modules\nprint(m.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "paistats.plot"
