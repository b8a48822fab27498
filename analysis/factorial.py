"""Issue 15: does accuracy follow the mask's layout or the kept weights' distribution?

The 2 × 2 design per pruner × sparsity (variants of :data:`zoo_builder.variants.FACTORIAL`):

==================  ===========================  ==========================
                    values: method's kept values values: fresh
==================  ===========================  ==========================
mask: method's      ``permute_kept``             ``reinit``
mask: shuffled      ``shuffle_kept``             ``shuffle``
==================  ===========================  ==========================

In all four cells the pairing of values with positions is random (``permute_kept`` /
``shuffle_kept`` permute the kept values; ``reinit`` draws new ones; ``shuffle``'s kept values are
a uniform random subset of the layer), so the cells differ only in the layout (which positions are
kept) and in the multiset of kept values at init. ``original`` adds a fifth cell: the method's mask
with its kept values at their scored positions; ``original − permute_kept`` is the order effect.

Contrasts (accuracy, per seed, then a paired t over seeds; :data:`CONTRASTS`):

- ``layout`` = ½(shuffle_kept + shuffle) − ½(permute_kept + reinit): shuffled − method's mask;
- ``value`` = ½(permute_kept + shuffle_kept) − ½(reinit + shuffle): method's kept − fresh values;
- ``interaction`` = (shuffle_kept − permute_kept) − (shuffle − reinit): the layout effect with
  kept values minus the layout effect with fresh values;
- ``order`` = original − permute_kept: scored positions − permuted among the kept positions.

Singh & Liu's question (:data:`FOLLOW`): with the layout randomized and the distribution held
(``shuffle_kept``), is accuracy ≈ ``original`` (it follows the distribution) or ≈ ``shuffle`` (it
follows the layout)?

Verdicts are read from the printed interval: the paired t interval of the contrast at confidence
1 − α/m, m = the size of the stated family (Bonferroni); margin ±``margin`` (1 pp by default):
``better`` (interval above 0), ``worse`` (below 0), ``equivalent`` (inside ±margin), ``non-inferior``
(above −margin), else ``inconclusive``. The random pruner is the control: every contrast is null by
construction there (its mask and kept values are independent of the weights), so its rows are
labelled ``control`` and not counted in a family.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from paistats.vocabulary import RANDOM_PRUNER, REFERENCE_VARIANT, STAGES
from paistats.vocabulary import Columns as C

SECTION = "Mask layout × kept values (issue 15)"
FACTORIAL = (REFERENCE_VARIANT, "shuffle", "reinit", "shuffle_kept", "permute_kept")
CONTROL = RANDOM_PRUNER
#: contrast → (variant weights of the side named first, of the other side, definition in words)
CONTRASTS = {
    "layout": ({"shuffle_kept": .5, "shuffle": .5}, {"permute_kept": .5, "reinit": .5},
               "shuffled − method's mask, averaged over values: ½(shuffle_kept + shuffle) − ½(permute_kept + reinit)"),
    "value": ({"permute_kept": .5, "shuffle_kept": .5}, {"reinit": .5, "shuffle": .5},
              "method's kept − fresh values, averaged over masks: ½(permute_kept + shuffle_kept) − ½(reinit + shuffle)"),
    "interaction": ({"shuffle_kept": 1, "reinit": 1}, {"permute_kept": 1, "shuffle": 1},
                    "layout effect with kept values − with fresh values: (shuffle_kept − permute_kept) − "
                    "(shuffle − reinit)"),
    "order": ({REFERENCE_VARIANT: 1}, {"permute_kept": 1},
              "kept values at their scored positions − permuted among them: original − permute_kept"),
}
FOLLOW = {
    f"vs {REFERENCE_VARIANT}": ({"shuffle_kept": 1}, {REFERENCE_VARIANT: 1}, f"shuffle_kept − {REFERENCE_VARIANT}"),
    "vs shuffle": ({"shuffle_kept": 1}, {"shuffle": 1}, "shuffle_kept − shuffle"),
}
VERDICTS = ("better", "worse", "equivalent", "non-inferior", "inconclusive")


def _verdict(low: float, high: float, margin: float) -> str:
    from paistats.inference.verdicts import interval_verdict

    return interval_verdict(low, high, margin=margin, higher_is_better=True)


def accuracy_wide(runs: pd.DataFrame, value: str = "accuracy") -> pd.DataFrame:
    """One row per (pruner, sparsity, seed), one column per variant (NaN where a run is missing)."""
    missing = {"pruner", "variant", "sparsity", "seed", value} - set(runs.columns)
    if missing:
        raise ValueError(f"runs lack column(s) {', '.join(sorted(missing))}: pass analysis.common.runs_frame(...)")
    return runs.pivot_table(index=["pruner", "sparsity", "seed"], columns="variant", values=value,
                            aggfunc="first")


def _side(wide: pd.DataFrame, weights: dict) -> np.ndarray:
    out = np.zeros(len(wide))
    for v, w in weights.items():
        out = out + w * (wide[v].to_numpy(float) if v in wide.columns else np.full(len(wide), np.nan))
    return out


def contrast_table(runs: pd.DataFrame, contrasts: dict = CONTRASTS, *, alpha: float = 0.05, margin: float = 0.01,
                   family: str = "factorial contrasts", value: str = "accuracy") -> pd.DataFrame:
    """Seed-level paired t of each contrast per pruner × sparsity, Bonferroni over the family.

    Parameters
    ----------
    runs : pandas.DataFrame
        One row per complete run: ``pruner``, ``variant``, ``sparsity``, ``seed``, ``value``
        (a fraction).
    contrasts : dict
        name → (weights of side A, weights of side B, definition); the contrast is A − B per seed.
    alpha : float
        Family-wise level; each interval has confidence 1 − alpha / m.
    margin : float
        Equivalence / non-inferiority margin (fraction; 0.01 = 1 pp).
    family : str
        Name of the family (every non-control pruner × sparsity × contrast testable here).

    Returns
    -------
    pandas.DataFrame
        ``pruner``, ``sparsity``, ``contrast``, ``definition``, ``n`` (seeds), ``estimate`` (mean
        A − B, fraction), ``ci_low``, ``ci_high`` (the paired t interval at ``confidence_level``),
        ``confidence_level``, ``pvalue`` (paired t, unadjusted), ``family``, ``m`` (family size),
        ``verdict`` (:data:`VERDICTS`, or ``control`` for the random pruner, ``not testable`` with the
        reason in ``note``).
    """
    from paistats.inference import InferenceError, paired_test

    wide = accuracy_wide(runs, value)
    rows = []
    for (pruner, sparsity), block in wide.groupby(level=["pruner", "sparsity"], sort=False):
        for name, (a, b, words) in contrasts.items():
            x, y = _side(block, a), _side(block, b)
            row = {"pruner": pruner, "sparsity": sparsity, "contrast": name, "definition": words,
                   "n": int(np.isfinite(x - y).sum()), "control": pruner == CONTROL, "note": ""}
            try:
                row["result"] = paired_test(x, y, test="t", alpha=alpha)
            except InferenceError as e:
                row["result"], row["note"] = None, str(e)
            rows.append(row)
    m = sum(1 for r in rows if not r["control"] and r["result"] is not None)
    level = 1 - alpha / max(m, 1)
    out = []
    for r in rows:
        res = r.pop("result")
        if res is None:
            r.update({C.ESTIMATE: np.nan, C.CI_LOW: np.nan, C.CI_HIGH: np.nan, C.PVALUE: np.nan,
                      C.VERDICT: "not testable"})
        else:
            ci = res.confidence_interval(level)
            r.update({C.ESTIMATE: res.effect, C.CI_LOW: ci.low, C.CI_HIGH: ci.high, C.PVALUE: res.pvalue,
                      C.VERDICT: "control" if r["control"] else _verdict(ci.low, ci.high, margin)})
        r.update({C.CONFIDENCE_LEVEL: level, C.FAMILY: f"{family} (Bonferroni, m = {m})" if not r["control"] else
                  "control: null by construction, not counted", "m": m})
        out.append(r)
    cols = ["pruner", "sparsity", "contrast", "definition", C.N, C.ESTIMATE, C.CI_LOW, C.CI_HIGH, C.CONFIDENCE_LEVEL,
            C.PVALUE, C.FAMILY, "m", C.VERDICT, "note"]
    return pd.DataFrame(out, columns=cols)


def follow_verdict(vs_original: frozenset, vs_shuffle: frozenset) -> str:
    """What ``shuffle_kept``'s accuracy follows, from the claims its intervals against original and
    against shuffle support (:func:`paistats.inference.interval_claims`).

    "≈" is the equivalence claim (the interval lies inside ± margin, even where a smaller difference is
    significant); "apart" is a significant difference without it. Singh & Liu's account predicts
    ``shuffle_kept`` ≈ original (the distribution is held).

    ========================================  ===========================================
    ``distribution``                          ≈ original, apart from shuffle
    ``layout``                                ≈ shuffle, apart from original
    ``in between``                            apart from both
    ``not the distribution alone``            apart from original, ≈ shuffle not shown
    ``not the layout alone``                  apart from shuffle, ≈ original not shown
    ``both (original ≈ shuffle)``             ≈ both: nothing to tell apart
    ``undecided``                             anything else
    ========================================  ===========================================
    """
    def near(claims):
        return "equivalent" in claims

    def apart(claims):
        return bool({"better", "worse"} & claims) and not near(claims)

    o_near, o_apart, s_near, s_apart = near(vs_original), apart(vs_original), near(vs_shuffle), apart(vs_shuffle)
    if o_near and s_apart:
        return "distribution"
    if s_near and o_apart:
        return "layout"
    if o_apart and s_apart:
        return "in between"
    if o_apart:
        return "not the distribution alone"
    if s_apart:
        return "not the layout alone"
    if o_near and s_near:
        return "both (original ≈ shuffle)"
    return "undecided"


def follow_table(runs: pd.DataFrame, *, alpha: float = 0.05, margin: float = 0.01) -> pd.DataFrame:
    """Singh & Liu's question per pruner × sparsity: :func:`contrast_table` of :data:`FOLLOW`
    (its own Bonferroni family) and the :func:`follow_verdict` of each cell (column ``follows``)."""
    t = contrast_table(runs, FOLLOW, alpha=alpha, margin=margin, family=f"shuffle_kept vs {REFERENCE_VARIANT} / shuffle")
    from paistats.inference.verdicts import interval_claims

    claims = {(r.pruner, r.sparsity, r.contrast): interval_claims(r.ci_low, r.ci_high, margin=margin)
              for r in t.itertuples()}
    none = frozenset()
    follows = {(p, sp): ("control" if p == CONTROL else
                         follow_verdict(claims.get((p, sp, f"vs {REFERENCE_VARIANT}"), none),
                                        claims.get((p, sp, "vs shuffle"), none)))
               for p, sp in zip(t["pruner"], t["sparsity"])}
    t["follows"] = [follows[(p, s)] for p, s in zip(t["pruner"], t["sparsity"])]
    return t


def shift_frame(dist, metrics=("ks", "wasserstein_rel", "log_std_ratio"), stages=STAGES) -> pd.DataFrame:
    """Layer-wise distribution shift of each variant against ``original`` (mean over seeds).

    Parameters
    ----------
    dist : xarray.Dataset
        :func:`paistats.distances` (reference ``original``) of an architecture stack.

    Returns
    -------
    pandas.DataFrame
        ``pruner``, ``sparsity``, ``variant``, ``layer``, ``stage`` and one column per metric (the
        mean over seeds; kept weights only, as stored). ``shuffle_kept`` and ``permute_kept`` are 0
        at init by construction.
    """
    variants = [v for v in FACTORIAL if v != REFERENCE_VARIANT and v in set(map(str, dist["variant"].values))]
    ds = dist[list(metrics)].sel(variant=variants, stage=list(stages)).mean("seed")
    return ds.to_dataframe().reset_index()


def run(ctx, report, arch) -> dict | None:
    """The report section for ``arch`` (None, and nothing written, when its zoo lacks the design)."""
    import paistats
    from analysis.common import root_runs, runs_frame
    from paistats import plot

    runs = runs_frame(root_runs(ctx, arch))
    have = set(runs["variant"])
    if not set(FACTORIAL) <= have:
        return None
    runs = runs[runs["variant"].isin(FACTORIAL) & (runs["sparsity"] > 0)]
    sec = report.section(f"{SECTION}: {arch.label}", level=2)
    sec.text(__doc__.split("\n\n", 1)[1].split("Verdicts are read")[0].strip().replace("``", ""))
    contrasts = contrast_table(runs, alpha=ctx.alpha, margin=ctx.margin)
    follow = follow_table(runs, alpha=ctx.alpha, margin=ctx.margin)
    m1, m2 = int(contrasts["m"].iloc[0]), int(follow["m"].iloc[0])
    sec.text(f"Each row is a paired t over seeds of the contrast's per-seed value (paistats.inference.paired_test); "
             f"the interval printed is at confidence 1 − {ctx.alpha}/m (Bonferroni) and the verdict is read from it "
             f"with margin ±{100 * ctx.margin:g} pp: better (interval above 0), worse (below 0), equivalent (inside "
             f"±margin), non-inferior (above −margin), else inconclusive. Family 1: every non-control pruner × sparsity "
             f"× contrast (m = {m1}); family 2 (Singh & Liu's question): shuffle_kept vs original and vs shuffle for "
             f"every non-control pruner × sparsity (m = {m2}). Random pruning is the control (null by construction), "
             "shown and not counted.")
    cells = plot.interaction_frame(runs)
    sec.figure(f"interaction-{arch.arch}", plot.interaction_plot(cells),
               "Accuracy of the four cells (mean over seeds, 95% Student-t seed interval); grey: original.")
    shown = contrasts.assign(effect_pp=100 * contrasts[C.ESTIMATE], low_pp=100 * contrasts[C.CI_LOW],
                             high_pp=100 * contrasts[C.CI_HIGH])
    sec.table(f"factorial-contrasts-{arch.arch}",
              shown[["pruner", "sparsity", "contrast", C.N, "effect_pp", "low_pp", "high_pp", C.CONFIDENCE_LEVEL,
                     C.VERDICT, C.FAMILY]], "Layout, value, interaction and order effects on test accuracy (pp).")
    fshown = follow.assign(effect_pp=100 * follow[C.ESTIMATE], low_pp=100 * follow[C.CI_LOW],
                           high_pp=100 * follow[C.CI_HIGH])
    sec.table(f"factorial-follow-{arch.arch}",
              fshown[["pruner", "sparsity", "contrast", C.N, "effect_pp", "low_pp", "high_pp", C.CONFIDENCE_LEVEL,
                      C.VERDICT, "follows"]], "Singh & Liu's question: shuffle_kept against original and shuffle (pp).")
    tree = paistats.load(arch.load_name or next(iter(arch.names.values())), zoo=ctx.zoo)
    shift = shift_frame(paistats.distances(tree.sel(variant=[v for v in FACTORIAL if v in tree["variant"].values])))
    sec.table(f"factorial-shift-{arch.arch}", shift,
              "Layer-wise shift of each variant's kept weights against original's (mean over seeds; KS, W1 ÷ σ of "
              "original, log std ratio). shuffle_kept and permute_kept are 0 at init by construction.")
    answer = summary_line(follow)
    ctx.verdict(f"{arch.label}: where the layout is randomized but the distribution held (shuffle_kept), does "
                "accuracy follow the distribution (≈ original) or the layout (≈ shuffle)?", answer, SECTION)
    sec.text("Answer: " + answer)
    return {"contrasts": contrasts, "follow": follow, "shift": shift, "cells": cells}


def summary_line(follow: pd.DataFrame) -> str:
    """'distribution in 3, layout in 1, undecided in 4 of 8 pruner × sparsity cells (…)', each cell with
    shuffle_kept's estimates and intervals against original and against shuffle."""
    cells = follow[follow["follows"] != "control"].drop_duplicates(["pruner", "sparsity"])
    counts = cells["follows"].value_counts()
    parts = [f"{k} in {int(n)}" for k, n in counts.items()]
    est = {(r.pruner, r.sparsity, r.contrast):
           f"{100 * r.estimate:+.2f} pp [{100 * r.ci_low:+.2f}, {100 * r.ci_high:+.2f}]" for r in follow.itertuples()}

    def cell(p, s, f):
        vs = ", ".join(f"{c} {est[(p, s, c)]}" for c in FOLLOW if (p, s, c) in est)
        return f"{p} {s:g}: {f} ({vs})" if vs else f"{p} {s:g}: {f}"

    detail = "; ".join(cell(p, s, f) for p, s, f in zip(cells["pruner"], cells["sparsity"], cells["follows"]))
    conf = follow[C.CONFIDENCE_LEVEL].iloc[0] if len(follow) else float("nan")
    return (", ".join(parts) or "no cell") + f" of {len(cells)} pruner × sparsity cells ({detail}; intervals at " \
        f"{100 * conf:.2f}% confidence, Bonferroni over {int(follow['m'].iloc[0]) if len(follow) else 0})"


__all__ = ["CONTRASTS", "FOLLOW", "SECTION", "contrast_table", "follow_table", "follow_verdict",
           "shift_frame", "summary_line", "accuracy_wide", "run"]
