"""paistats.regress.immunity / invert_cost / shift_verdict and analysis.link: one model per question, its
population in words, verdicts in the data's range that agree with the printed interval, and a report whose
link verdict follows the shuffle + reinit model even where pooling invert flips the slope's sign."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.stats as ss
import statsmodels.formula.api as smf

import paistats
from paistats import regress
from paistats.inference import InferenceError
from _link_zoo import SLOPE, link_zoo


@pytest.fixture(scope="module")
def table():
    root, dist = link_zoo()
    t = paistats.shift_table(root, dist)
    return t[t["sparsity"] > 0].reset_index(drop=True)


def test_shift_table_carries_disconnected_of_run_and_reference(table):
    disc = table[table["disconnected"]]
    assert sorted(map(tuple, disc[["pruner", "variant", "sparsity"]].drop_duplicates().values)) == [
        ("snip", "reinit", 0.9), ("synflow", "invert", 0.9)]
    assert len(disc) == 4 and not table["disconnected_ref"].any()


def test_immunity_population_and_counts(table):
    imm = regress.immunity(table)
    rows = imm.rows
    assert set(rows["variant"]) == {"shuffle", "reinit"} and "random" not in set(rows["pruner"])
    assert not rows["disconnected"].any() and len(rows) == 2 * 2 * 2 * 5 - 1
    assert imm.excluded == {"disconnected (the run or its original)": 1,
                            "no-op by construction (random under shuffle/reinit)": 20}
    assert imm.n_cells == 4 and imm.n_seeds == 5
    for words in ("shuffle and reinit runs", "within 4 pruner × sparsity cells", "connected runs only", "39 runs",
                  "from 5 seeds", "1 disconnected", "20 no-op by construction"):
        assert words in imm.population
    assert imm.init.fit.formula == "delta_accuracy ~ wasserstein_rel_init + C(variant) + C(cell)"
    assert imm.init.role == "explanatory" and imm.trained.role == "association"
    assert "association, not explanation" in imm.trained.sentence


def test_immunity_slope_is_the_within_cell_slope_of_statsmodels(table):
    imm = regress.immunity(table)
    ref = smf.ols("delta_accuracy ~ wasserstein_rel_init + C(variant) + C(pruner):C(sparsity)", imm.rows).fit()
    assert imm.init.slope == pytest.approx(ref.params["wasserstein_rel_init"], rel=1e-9)
    assert imm.init.slope_low < SLOPE < imm.init.slope_high
    med = imm.rows.loc[imm.rows["variant"] == "shuffle", "wasserstein_rel_init"].median()
    assert imm.init.at == "shuffle" and imm.init.at_shift == pytest.approx(med)
    assert (imm.init.effect, imm.init.ci_low, imm.init.ci_high) == pytest.approx(
        (imm.init.slope * med, imm.init.slope_low * med, imm.init.slope_high * med))


def test_pooling_invert_flips_the_sign_but_the_verdict_follows_shuffle_and_reinit(table):
    pooled = regress.ols(table, "delta_accuracy ~ wasserstein_rel_init + C(pruner) + C(sparsity)")
    p = pooled.coefficients.set_index("term").loc["wasserstein_rel_init"]
    assert p["ci_high"] < 0                                       # pooled: "more shift, lower accuracy"
    imm = regress.immunity(table)
    assert imm.init.verdict == "detected" and imm.init.ci_low > 0  # within cells: the opposite, detectably
    assert "moves accuracy by +" in imm.init.sentence


@pytest.mark.parametrize("slope, low, high, verdict", [
    (0.05, 0.03, 0.07, "detected"),                # at shift 0.4: +2.0 pp [+1.2, +2.8]
    (0.01, 0.004, 0.02, "negligible"),             # [+0.16, +0.8] pp: excludes 0, inside ±1 pp
    (0.0, -0.02, 0.02, "no detectable relation"),  # [−0.8, +0.8] pp
    (0.0, -0.05, 0.02, "inconclusive"),            # [−2.0, +0.8] pp
    (-0.01, -0.03, -0.026, "detected"),            # [−1.2, −1.04] pp: beyond the margin
])
def test_shift_verdict_reads_the_interval_at_the_median_shift(slope, low, high, verdict):
    got, effect, lo, hi = regress.shift_verdict(slope, low, high, 0.4, 0.01)
    assert got == verdict and (effect, lo, hi) == pytest.approx((0.4 * slope, 0.4 * low, 0.4 * high))


def test_shift_verdict_never_contradicts_its_interval():
    rng = np.random.default_rng(0)
    for _ in range(500):
        lo, hi = np.sort(rng.normal(0, 0.03, 2))
        v, _, a, b = regress.shift_verdict((lo + hi) / 2, lo, hi, rng.uniform(0.1, 2), 0.01)
        assert (v in ("detected", "negligible")) == (a > 0 or b < 0)
        assert (v in ("negligible", "no detectable relation")) == (-0.01 < a and b < 0.01)


def test_no_detectable_relation_when_there_is_none():
    root, dist = link_zoo(seed=1, slope=0.0)
    t = paistats.shift_table(root, dist)
    imm = regress.immunity(t)
    assert imm.init.verdict == "no detectable relation", imm.init.sentence
    bound = 100 * max(abs(imm.init.ci_low), abs(imm.init.ci_high))
    assert imm.init.sentence.startswith(f"no detectable relation; |effect| < {bound:.2f} pp") and bound < 1


def test_invert_cost_equals_scipy_per_cell_and_counts_disconnected(table):
    cost = regress.invert_cost(table, alpha=0.1)
    t = cost.table.set_index(["pruner", "sparsity"])
    assert len(t) == 6 and cost.n_runs == 30 and cost.n_disconnected == 3
    for (pruner, sparsity), row in t.iterrows():
        d = table[(table["pruner"] == pruner) & (table["sparsity"] == sparsity) & (table["variant"] == "invert")]
        ci = ss.ttest_1samp(d["delta_accuracy"], 0).confidence_interval(0.9)
        assert (row["mean_delta"], row["ci_low"], row["ci_high"]) == pytest.approx(
            (d["delta_accuracy"].mean(), ci.low, ci.high), rel=1e-10)
    assert t.loc[("synflow", 0.9), "n_disconnected"] == 3 and t.loc[("synflow", 0.9), "n_connected"] == 2
    assert "3 disconnected and kept" in cost.population


@pytest.mark.parametrize("call, match", [
    (lambda t: regress.immunity(t, init="energy_init"), "shift column 'energy_init' is not in the table"),
    (lambda t: regress.immunity(t[t["variant"] == "invert"]), "no pruned run of shuffle, reinit"),
    (lambda t: regress.immunity(t, margin=0), "margin must be a positive"),
    (lambda t: regress.immunity(t.drop(columns="seed")), "the table lacks \\['seed'\\]"),
    (lambda t: regress.invert_cost(t[t["variant"] != "invert"]), "no pruned 'invert' run"),
    (lambda t: regress.immunity(t[t["seed"] == 0]), "from ≥ 2 seeds remain"),
])
def test_questions_bad_input_is_one_line(table, call, match):
    with pytest.raises(InferenceError, match=match) as info:
        call(table)
    assert "\n" not in str(info.value) and "np." not in str(info.value)


def test_link_section_follows_the_restricted_model():
    from analysis import link
    from analysis.common import Arch, Context
    from paistats.plot.report import Report

    root, dist = link_zoo()
    ctx = Context(zoo=None, listing=pd.DataFrame(), margin=0.01, alpha=0.05)
    report = Report("t")
    arch = Arch("toy", "toy", {p: f"toy-{p}" for p in ("random", "snip", "synflow")})
    coef = link.run(ctx, report, arch, {"tree": root, "distances": dist})
    answers = {row["question"]: row["answer"] for row in ctx.summary}
    init = next(a for q, a in answers.items() if "shift at init explain" in q)
    assert init.startswith("detected: a shift at init as large as the median shuffle's")
    assert "moves accuracy by +" in init and "1 disconnected" in init and "20 no-op by construction" in init
    trained = next(a for q, a in answers.items() if "association, not explanation" in q)
    assert "association, not explanation" in trained
    cost = next(a for q, a in answers.items() if "inverted mask cost" in q)
    assert "3 disconnected" in cost and "30 runs" in cost
    shift_rows = coef[coef["term"].str.startswith("wasserstein_rel_init")]
    assert len(shift_rows) == 1 and shift_rows["estimate"].iloc[0] > 0
    text = " ".join(str(b) for s in report.sections for b in s.blocks)
    assert "Invert runs are in no shift regression" in text and "39 runs" in text
    assert not ctx.skipped


def test_link_verdict_of_a_null_zoo_says_no_detectable_relation_once():
    from analysis import link
    from analysis.common import Arch, Context
    from paistats.plot.report import Report

    root, dist = link_zoo(seed=1, slope=0.0)
    ctx = Context(zoo=None, listing=pd.DataFrame(), margin=0.01, alpha=0.05)
    link.run(ctx, Report("t"), Arch("toy", "toy", {"snip": "toy-snip"}), {"tree": root, "distances": dist})
    init = next(r["answer"] for r in ctx.summary if "shift at init explain" in r["question"])
    assert init.startswith("no detectable relation; |effect| < ") and init.count("no detectable relation") == 1
    trained = next(r["answer"] for r in ctx.summary if "association, not explanation" in r["question"])
    assert trained.startswith("association, not explanation (trained shift is an outcome of training): ")
