"""Linking the two papers: does the accuracy change of a variant follow its distribution shift?

One row per run (:func:`paistats.regress.shift_table`): Δaccuracy = accuracy − original's at the
same method, sparsity and seed, beside the parameter-weighted W1/σ, KS and log std ratio of the
kept weights at init and trained. The default regression (:func:`paistats.regress.ols`) is
``delta_accuracy ~ wasserstein_rel_init + wasserstein_rel_trained`` plus fixed effects for pruner
and sparsity, with standard errors clustered by seed (runs of a seed share an initialization).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.common import Arch, Context
from paistats import inference, plot
from paistats.regress import ols, shift_table

SECTION = "Linking them: Δaccuracy against distribution shift"
X = "wasserstein_rel_trained"


def fit_line(table: pd.DataFrame, x: str = X, n: int = 40) -> pd.DataFrame:
    """Prediction of the one-regressor model ``delta_accuracy ~ x`` (seed-clustered) with its 95% band."""
    res = ols(table, f"delta_accuracy ~ {x}").result
    grid = pd.DataFrame({x: np.linspace(table[x].min(), table[x].max(), n)})
    pred = res.get_prediction(grid).summary_frame(alpha=0.05)
    return pd.DataFrame({"shift": grid[x], "fitted": pred["mean"], "lower": pred["mean_ci_lower"],
                         "upper": pred["mean_ci_upper"]})


def run(ctx: Context, report, arch: Arch, sl: dict) -> pd.DataFrame:
    """Add the regression section for ``arch`` (needs the Singh & Liu results ``sl``); returns the coefficients."""
    sec = report.section(f"Δaccuracy vs shift: {arch.label}", level=2)
    if not sl:
        ctx.skip(sec.title, "regression", "no distances (see the Singh & Liu section)")
        sec.note("Skipped: no distances were computed.")
        return pd.DataFrame()
    tree, dist = sl["tree"], sl["distances"]
    try:
        table = shift_table(tree, dist)
        table = table[table["sparsity"] > 0].dropna(subset=["delta_accuracy", X])
        model = ols(table, alpha=ctx.alpha)
    except inference.InferenceError as e:
        ctx.skip(sec.title, "regression of Δaccuracy on shift", str(e))
        sec.note(f"Skipped: {e}")
        return pd.DataFrame()
    sec.text(f"Model: {model.formula}; {model.model}, {model.cov_type} standard errors, "
             f"n = {model.n_obs} runs in {model.n_groups} seed clusters. Δaccuracy is a fraction (0.01 = 1 pp); "
             "W1/σ is parameter-weighted over layers.")
    pts = table.rename(columns={X: "shift"})
    line = None
    try:
        line = fit_line(table)
    except inference.InferenceError as e:
        ctx.skip(sec.title, "fitted line", str(e))
    sec.figure(f"shift-{arch.arch}", plot.shift_vs_accuracy(pts, line, shift_title="W1/σ to original after training "
                                                                                  "(parameter-weighted)"),
               f"Accuracy change of each shuffle / reinit / invert run relative to original (same method, sparsity and "
               f"seed) against its trained-weight shift, one point per run; line and band: the one-regressor fit "
               f"delta_accuracy ~ {X} with seed-clustered 95% confidence band. Runs: every complete pruned run of "
               f"{', '.join(arch.names.values())}.")
    coef = model.coefficients.copy()
    sec.table(f"regression-{arch.arch}", coef, f"Coefficients of {model.formula} ({model.cov_type}; "
              f"{int(100 * (1 - ctx.alpha))}% intervals), {arch.label}.")
    r2 = getattr(model.result, "rsquared", float("nan"))
    sec.text(f"Fit: R² = {r2:.3f} over {model.n_obs} runs.")
    for term in ("wasserstein_rel_init", "wasserstein_rel_trained"):
        row = coef[coef["term"] == term]
        if len(row):
            r = row.iloc[0]
            sign = "decreases" if r["estimate"] < 0 else "increases"
            decided = r["pvalue"] < ctx.alpha
            ctx.verdict(f"{arch.label}: does Δaccuracy change with {term} (other terms held fixed)?",
                        (f"yes: accuracy {sign} by {100 * r['estimate']:+.2f} pp per unit of W1/σ "
                         if decided else f"inconclusive: {100 * r['estimate']:+.2f} pp per unit ")
                        + f"[{100 * r['ci_low']:+.2f}, {100 * r['ci_high']:+.2f}], p = {r['pvalue']:.3g}; "
                        f"R² = {r2:.2f}, n = {model.n_obs}", f"{SECTION} ({arch.label})")
    return coef
