"""analysis.factorial: contrasts equal scipy's paired t, verdicts read from the printed interval, the
Bonferroni intervals' calibration by simulation, and the report section on a tiny zoo."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import factorial
from paistats.inference.verdicts import interval_claims, interval_verdict

VARIANTS = ("original", "shuffle", "reinit", "shuffle_kept", "permute_kept")


def synthetic_runs(effects: dict, *, seeds=5, pruners=("magnitude", "snip", "random"), sparsities=(0.9, 0.98),
                   seed_sd=0.01, noise_sd=0.003, rng=None):
    """Accuracy = 0.9 + variant effect + shared seed effect + run noise (fractions)."""
    rng = rng or np.random.default_rng(0)
    rows = []
    for p in pruners:
        for s in sparsities:
            seed_effect = rng.normal(0, seed_sd, seeds)
            for v in VARIANTS:
                eff = 0.0 if p == "random" else effects.get(v, 0.0)
                for k in range(seeds):
                    rows.append({"pruner": p, "sparsity": s, "seed": k, "variant": v,
                                 "accuracy": 0.9 + eff + seed_effect[k] + rng.normal(0, noise_sd)})
    return pd.DataFrame(rows)


def test_contrasts_equal_scipys_one_sample_t_on_the_per_seed_contrast():
    runs = synthetic_runs({"shuffle": -0.02, "shuffle_kept": -0.01})
    t = factorial.contrast_table(runs, alpha=0.05, margin=0.01)
    m = int(t["m"].iloc[0])
    assert m == 2 * 2 * 4  # magnitude, snip × 2 sparsities × 4 contrasts; random is the control
    wide = runs.pivot_table(index=["pruner", "sparsity", "seed"], columns="variant", values="accuracy")
    per_seed = {"layout": (wide.shuffle_kept + wide.shuffle - wide.permute_kept - wide.reinit) / 2,
                "value": (wide.permute_kept + wide.shuffle_kept - wide.reinit - wide.shuffle) / 2,
                "interaction": wide.shuffle_kept - wide.permute_kept - wide.shuffle + wide.reinit,
                "order": wide.original - wide.permute_kept}
    for _, row in t.iterrows():
        c = per_seed[row["contrast"]].loc[(row["pruner"], row["sparsity"])].to_numpy()
        ref = stats.ttest_1samp(c, 0.0)
        low, high = ref.confidence_interval(1 - 0.05 / m)
        assert row["estimate"] == pytest.approx(c.mean(), abs=1e-15)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-9)
        assert row["pvalue"] == pytest.approx(ref.pvalue, rel=1e-9)
        assert row["confidence_level"] == pytest.approx(1 - 0.05 / m)
        if row["pruner"] == "random":
            assert row["verdict"] == "control" and "null by construction" in row["family"]
        else:
            assert row["verdict"] == interval_verdict(low, high, margin=0.01)


@pytest.mark.parametrize("low, high, verdict", [
    (0.001, 0.02, "better"), (-0.02, -0.001, "worse"), (-0.005, 0.009, "equivalent"),
    (-0.009, 0.03, "non-inferior"), (-0.02, 0.005, "inconclusive"), (-0.01, 0.005, "inconclusive"),
    (math.nan, 0.0, "inconclusive")])
def test_interval_verdicts_are_read_from_the_interval(low, high, verdict):
    assert factorial._verdict(low, high, 0.01) == verdict


@pytest.mark.parametrize("vs_original, vs_shuffle, follows", [
    ((-0.004, 0.006), (0.02, 0.04), "distribution"),
    ((-0.04, -0.02), (-0.006, 0.004), "layout"),
    ((-0.008, -0.002), (0.02, 0.04), "distribution"),  # significant but inside the margin: still ≈ original
    ((-0.004, 0.006), (-0.006, 0.004), "both (original ≈ shuffle)"),
    ((-0.03, 0.01), (0.02, 0.04), "not the layout alone"),
    ((-0.03, -0.015), (-0.005, 0.013), "not the distribution alone"),  # Singh & Liu's prediction fails
    ((-0.03, -0.015), (0.012, 0.03), "in between"),
    ((-0.03, 0.01), (-0.005, 0.013), "undecided"),
    ((-0.004, 0.006), (-0.009, -0.002), "both (original ≈ shuffle)")])  # apart from shuffle only inside the margin
def test_follow_verdict(vs_original, vs_shuffle, follows):
    claims = [interval_claims(lo, hi, margin=0.01) for lo, hi in (vs_original, vs_shuffle)]
    assert factorial.follow_verdict(*claims) == follows


def test_follow_table_answers_singh_and_liu_on_clear_data():
    # shuffle costs 3 pp; shuffle_kept costs nothing: accuracy follows the distribution
    runs = synthetic_runs({"shuffle": -0.03}, seed_sd=0.01, noise_sd=0.0005)
    f = factorial.follow_table(runs, alpha=0.05, margin=0.01)
    assert set(f.loc[f.pruner != "random", "follows"]) == {"distribution"}
    assert set(f.loc[f.pruner == "random", "follows"]) == {"control"}
    runs = synthetic_runs({"shuffle": -0.03, "shuffle_kept": -0.03}, seed_sd=0.01, noise_sd=0.0005)
    f = factorial.follow_table(runs, alpha=0.05, margin=0.01)
    assert set(f.loc[f.pruner != "random", "follows"]) == {"layout"}
    assert "distribution" not in factorial.summary_line(f) and "layout in 4 of 4" in factorial.summary_line(f)


def _bonferroni_t(c: np.ndarray, level: float):
    """Vectorised paired t interval (rows = replications) — the closed form of scipy's."""
    n = c.shape[-1]
    half = stats.t.ppf(0.5 + level / 2, n - 1) * c.std(axis=-1, ddof=1) / math.sqrt(n)
    return c.mean(-1) - half, c.mean(-1) + half


def test_closed_form_interval_is_scipys():
    c = np.random.default_rng(3).normal(size=(4, 5))
    for row, lo, hi in zip(c, *_bonferroni_t(c, 0.99)):
        assert (lo, hi) == pytest.approx(tuple(stats.ttest_1samp(row, 0).confidence_interval(0.99)))


def test_family_wise_error_and_equivalence_power_by_simulation():
    # 5 seeds, family of 16 contrasts (2 pruners × 2 sparsities × 4), all true effects 0, seed effects
    # shared across variants (sd 1 pp), run noise sd 0.3 pp: the family-wise rate of a false
    # better/worse must stay ≤ α; equivalence (±1 pp) should be found often; a true 2 pp layout effect
    # should be called "worse"/"better" in the right direction and never in the wrong one.
    rng = np.random.default_rng(20240615)
    reps, seeds, m, alpha = 4000, 5, 16, 0.05
    level = 1 - alpha / m
    noise = rng.normal(0, 0.003, (reps, m, seeds, 5))  # variants: orig, shuffle, reinit, sk, pk
    weights = np.array([[0, .5, -.5, .5, -.5], [0, -.5, -.5, .5, .5], [0, -1, 1, 1, -1], [1, 0, 0, 0, -1]])
    c = np.einsum("rmsv,mv->rms", noise, np.tile(weights, (m // 4, 1)))  # seed effects cancel in contrasts
    lo, hi = _bonferroni_t(c, level)
    false_call = ((lo > 0) | (hi < 0)).any(axis=1).mean()
    assert false_call <= alpha + 3 * math.sqrt(alpha * (1 - alpha) / reps)
    coverage = ((lo <= 0) & (hi >= 0)).mean()
    assert coverage >= level - 3 * math.sqrt(level * (1 - level) / (reps * m))
    verdicts = np.vectorize(lambda a, b: factorial._verdict(a, b, 0.01))(lo[:500], hi[:500])
    assert (verdicts == "equivalent").mean() > 0.3  # measured 0.40 (interaction: 4 runs per seed, widest)
    shifted = c[..., :] - 0.02  # a true effect of −2 pp on every contrast
    lo2, hi2 = _bonferroni_t(shifted, level)
    assert ((lo2 > 0).mean(), (hi2 < 0).mean() > 0.5) == (0.0, True)


def test_interaction_plot_shows_each_cell_mean_and_its_seed_interval_on_its_own_scale():
    from paistats import plot

    runs = synthetic_runs({"shuffle": -0.02})
    cells = plot.interaction_frame(runs)
    one = runs[(runs.pruner == "snip") & (runs.sparsity == 0.98) & (runs.variant == "shuffle")]["accuracy"]
    row = cells[(cells.pruner == "snip") & (cells.sparsity == 0.98) & (cells.variant == "shuffle")].iloc[0]
    ci = stats.t.interval(0.95, len(one) - 1, loc=one.mean(), scale=stats.sem(one))
    assert (row["mean"], row["lower"], row["upper"]) == pytest.approx((100 * one.mean(), 100 * ci[0], 100 * ci[1]))
    assert (row["mask"], row["values"], row["n"]) == ("shuffled", "fresh values", 5)
    spec = plot.interaction_plot(cells).to_dict()
    assert spec["resolve"]["scale"]["y"] == "independent"   # a 1 pp effect stays visible beside a 20 pp one
    assert spec["facet"]["column"]["field"] == "pruner" and spec["facet"]["row"]["field"] == "sparsity"
