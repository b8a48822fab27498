"""Linking the two papers: does the accuracy change of a variant follow its distribution shift?

One row per run (:func:`paistats.regress.shift_table`): Δaccuracy = accuracy − original's at the
same method, sparsity and seed, beside the parameter-weighted W1/σ of the kept weights at init
and trained. Two questions, each with its own model and population:

1. Immunity (:func:`paistats.regress.immunity`): among shuffle and reinit runs, connected ones only,
   compared within pruner × sparsity cells (cell fixed effects, variant as a factor), does the
   shift at initialization explain Δaccuracy? Trained shift, an outcome of training, is reported
   in a separate model as association. Seeds are clusters (leave-one-seed-out jackknife, CR3,
   t on G − 1 df). The verdict is quoted at the median shuffle's shift against the accuracy margin.
2. What a wrong mask costs (:func:`paistats.regress.invert_cost`): Δaccuracy of invert against
   original per pruner × sparsity, disconnected runs counted. Invert runs are never in a shift
   regression (they would dominate its slope).

Adapt it: change the variants, the margin or the shift column in the call to ``immunity``.
"""
from __future__ import annotations

import pandas as pd

from analysis.common import Arch, Context
from paistats import inference, plot
from paistats.regress import immunity, invert_cost, shift_table
from paistats.vocabulary import INIT, REFERENCE_VARIANT, shift_column

SECTION = "Linking them: Δaccuracy against distribution shift"
X = shift_column("wasserstein_rel", INIT)


def _excluded_text(excluded: dict) -> str:
    return ", ".join(f"{n} {why}" for why, n in excluded.items()) or "none"


def _lead(effect) -> str:
    """The verdict word before its sentence, unless the sentence already starts with it."""
    said = f"{effect.verdict}:" in effect.sentence or f"{effect.verdict};" in effect.sentence
    return "" if said else f"{effect.verdict}: "


def _immunity(ctx: Context, sec, arch: Arch, table: pd.DataFrame) -> pd.DataFrame:
    imm = immunity(table, margin=ctx.margin, alpha=ctx.alpha)
    lvl = f"{100 * (1 - ctx.alpha):g}%"
    init, trained = imm.init, imm.trained
    sec.text(f"Question: does the kept weights' shift at initialization explain the accuracy change under shuffle "
             f"and reinit? Population: {imm.population}.",
             f"Model: {init.fit.formula}; OLS, {init.fit.cov_type} standard errors, t tests on "
             f"{init.fit.n_groups - 1} df ({init.fit.n_groups} seed clusters). cell = pruner × sparsity; the slope "
             "compares runs of the same cell and variant. Δaccuracy is a fraction (0.01 = 1 pp); W1/σ is "
             f"parameter-weighted over layers. Verdicts are read at the median shuffle's shift against the "
             f"±{100 * ctx.margin:g} pp margin, from the {lvl} interval printed beside them.",
             f"Init shift (explanatory): {init.sentence}.")
    if trained is not None:
        sec.text(f"Trained shift (separate model {trained.fit.formula}): {trained.sentence}.")
    title = f"W1/σ to {REFERENCE_VARIANT} at init (parameter-weighted)"
    sec.figure(f"shift-{arch.arch}", plot.shift_vs_accuracy(imm.rows, shift=X, shift_title=title),
               f"Accuracy change of each shuffle / reinit run relative to {REFERENCE_VARIANT} (same method, sparsity "
               "and seed) "
               f"against its shift at initialization, one point per run. Runs: {imm.population}. The slope within "
               f"cells is in the table below (no pooled line is drawn: cells differ in level).")
    coef = []
    for eff in (init, trained):
        if eff is None:
            continue
        c = eff.fit.coefficients.copy()
        c.insert(0, "model", f"{eff.role}: {eff.term}")
        coef.append(c[~c["term"].str.startswith("C(cell)")])
    coef = pd.concat(coef, ignore_index=True)
    sec.table(f"regression-{arch.arch}", coef, f"Shift and variant coefficients of the immunity models "
              f"({init.fit.cov_type}; {lvl} intervals; cell fixed effects not shown), {arch.label}.")
    ctx.verdict(f"{arch.label}: does shift at init explain Δaccuracy under shuffle / reinit (within pruner × "
                "sparsity, connected runs)?",
                f"{_lead(init)}{init.sentence}; n = {len(imm.rows)} runs, {imm.n_seeds} seeds, "
                f"excluded: {_excluded_text(imm.excluded)}", f"{SECTION} ({arch.label})")
    if trained is not None:
        ctx.verdict(f"{arch.label}: is trained shift associated with Δaccuracy under shuffle / reinit "
                    "(association, not explanation)?", f"{_lead(trained)}{trained.sentence}",
                    f"{SECTION} ({arch.label})")
    return coef


def _invert(ctx: Context, sec, arch: Arch, table: pd.DataFrame) -> None:
    cost = invert_cost(table, alpha=ctx.alpha)
    t = cost.table
    sec.text(f"What a wrong mask costs: {cost.population}. Invert runs are in no shift regression.")
    sec.table(f"invert-cost-{arch.arch}", t, f"Δaccuracy of invert − original per pruner × sparsity (fractions; "
              f"t interval over seeds at {100 * (1 - ctx.alpha):g}%, per cell, not adjusted; mean over every run and "
              f"over connected runs), {arch.label}.")
    lo, hi = t["mean_delta"].min(), t["mean_delta"].max()
    ctx.verdict(f"{arch.label}: what does an inverted mask cost?",
                f"mean Δaccuracy from {100 * lo:+.1f} to {100 * hi:+.1f} pp across {len(t)} pruner × sparsity cells "
                f"({cost.n_runs} runs, {cost.n_disconnected} disconnected, counted in the mean)",
                f"{SECTION} ({arch.label})")


def run(ctx: Context, report, arch: Arch, sl: dict) -> pd.DataFrame:
    """Add the link section for ``arch`` (needs the Singh & Liu results ``sl``); returns the immunity coefficients."""
    sec = report.section(f"Δaccuracy vs shift: {arch.label}", level=2)
    if not sl:
        ctx.skip(sec.title, "regression", "no distances (see the Singh & Liu section)")
        sec.note("Skipped: no distances were computed.")
        return pd.DataFrame()
    tree, dist = sl["tree"], sl["distances"]
    try:
        table = shift_table(tree, dist)
        table = table[table["sparsity"] > 0]
    except inference.InferenceError as e:
        ctx.skip(sec.title, "shift table", str(e))
        sec.note(f"Skipped: {e}")
        return pd.DataFrame()
    coef = pd.DataFrame()
    try:
        coef = _immunity(ctx, sec, arch, table)
    except inference.InferenceError as e:
        ctx.skip(sec.title, "immunity model (shuffle / reinit vs shift)", str(e))
        sec.note(f"Immunity model skipped: {e}")
    if "invert" in set(table["variant"]):
        try:
            _invert(ctx, sec, arch, table)
        except inference.InferenceError as e:
            ctx.skip(sec.title, "invert cost", str(e))
    return coef
