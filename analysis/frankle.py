"""Frankle et al. (ICLR 2021): is pruning at initialization immune to shuffling and reinitializing?

Questions answered from the zoo's data, per pruning method and sparsity, at the level of seeds
(one final test accuracy per run; seeds are the replicates, paired within a seed). One row per
pruner × sparsity × comparison, each with its estimate (variant − reference, accuracy) and the
interval its verdict is read from:

1. ``shuffle − original`` and ``reinit − original`` with the margin: better / worse (a significant
   difference, qualified "by less than the margin" when it is negligible) / equivalent /
   non-inferior / inconclusive.
2. ``invert − original``: better / worse / inconclusive (two-sided).
3. ``original − random pruning`` (each method against random pruning at the same sparsity and
   seed): better / worse / inconclusive (two-sided: a method can be worse than random).
4. Where is a run disconnected (root variable ``disconnected``: some layer at density 0 or SynFlow's
   R = 0), e.g. inverted SynFlow?

The family of each comparison is pruner × sparsity: every interval is a paired Student-t interval
at 1 − α/m (Bonferroni, m = the family's size), so the verdicts of a family are simultaneously
right with probability ≥ 1 − α; the adjusted p-values printed beside them agree with the intervals.
The ``random`` pruner under ``shuffle`` and ``reinit`` is null by construction (its mask is drawn
independently of the weights): reported as "no-op by construction", not tested, not counted.
Adapt it: change ``margin`` or the family in :func:`tests`.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

from analysis.common import PRUNER, Arch, Context, count_phrase, root_runs, runs_frame
from paistats import inference, plot
from paistats.vocabulary import RANDOM_PRUNER, REFERENCE_VARIANT, SPARSITY, VARIANT
from paistats.vocabulary import Columns as C

REF = REFERENCE_VARIANT

SECTION = "Frankle et al. 2021: accuracy under shuffle, reinit and invert"


def accuracy(ds: xr.Dataset) -> xr.DataArray:
    """Final accuracy of complete pruned runs (sparsity > 0), dims (pruner, variant, sparsity, seed)."""
    acc = ds["accuracy"].where(ds["complete"])
    acc = acc.sel(sparsity=acc["sparsity"] > 0)
    acc.name = "accuracy"
    return acc


def _versus_random(acc: xr.DataArray) -> xr.DataArray:
    """Each method's original next to random pruning's original at the same sparsity and seed,
    as a ``variant`` dim (``method``, ``random``) so that the paired tests apply unchanged."""
    orig = acc.sel({VARIANT: REF}, drop=True)
    rand = orig.sel({PRUNER: RANDOM_PRUNER}, drop=True)
    others = orig.sel({PRUNER: [p for p in orig[PRUNER].values if p != RANDOM_PRUNER]})
    out = xr.concat([others, rand.broadcast_like(others)], dim=pd.Index(["method", RANDOM_PRUNER], name=VARIANT))
    out.name = "accuracy"
    return out


NO_OP = "no-op by construction"
VS_RANDOM = f"{REF} − {RANDOM_PRUNER} pruning"
COMPARISONS = {
    # label: (variant against the reference, use the margin)
    f"shuffle − {REF}": ("shuffle", True),
    f"reinit − {REF}": ("reinit", True),
    f"invert − {REF}": ("invert", False),
}
NULL_BY_CONSTRUCTION = {
    (RANDOM_PRUNER, "shuffle"): "shuffling a random mask is a no-op in distribution",
    # the random mask is drawn independently of the weights, so fresh weights under it have original's law
    (RANDOM_PRUNER, "reinit"): "re-initializing under a random mask is a no-op in distribution",
}
FAMILY = [PRUNER, SPARSITY]


def _no_op_rows(acc: xr.DataArray, variant: str, label: str) -> pd.DataFrame:
    """Rows for the (pruner, variant) pairs that are null by construction: estimate shown, no test."""
    rows = []
    for (pruner, v), why in NULL_BY_CONSTRUCTION.items():
        if v != variant or pruner not in acc[PRUNER].values:
            continue
        for s in acc["sparsity"].values:
            d = (acc.sel({PRUNER: pruner, VARIANT: v, SPARSITY: s})
                 - acc.sel({PRUNER: pruner, VARIANT: REF, SPARSITY: s})).values
            d = d[np.isfinite(d)]
            if d.size:
                rows.append({PRUNER: pruner, SPARSITY: float(s), C.COMPARISON: label, "test": "none", C.N: d.size,
                             C.ESTIMATE: float(d.mean()), C.CI_LOW: np.nan, C.CI_HIGH: np.nan,
                             C.CONFIDENCE_LEVEL: np.nan, C.VERDICT: NO_OP, "verdict_text": f"{NO_OP} ({why})",
                             C.FAMILY: f"not tested: {why}"})
    return pd.DataFrame(rows)


def _run_family(ctx: Context, section: str, label: str, data: xr.DataArray, ref: str, variant: str,
                margin: float | None) -> pd.DataFrame | None:
    """Paired t of ``variant`` − ``ref`` in every pruner × sparsity cell, stacked with Bonferroni."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results = inference.compare(data, test="t", reference=ref, variants=[variant], margin=margin,
                                        alternative="two-sided", higher_is_better=True, alpha=ctx.alpha,
                                        errors="skip")
        for w in caught:
            ctx.skip(section, label, str(w.message))
    except inference.InferenceError as e:
        ctx.skip(section, label, str(e))
        return None
    if not results:
        return None
    table = inference.adjust_family(results, family=FAMILY, method="bonferroni")
    table[C.COMPARISON] = label
    return table


def tests(ctx: Context, acc: xr.DataArray, section: str = SECTION) -> pd.DataFrame:
    """Seed-level tests of every comparison; one row per pruner × sparsity × comparison.

    Returns a tidy table (:class:`paistats.vocabulary.Columns`) with the ``estimate`` (variant −
    reference), the interval the verdict is read from (``ci_low``, ``ci_high`` at
    ``confidence_level`` = 1 − α/m), n, the adjusted p-values (``pvalue_adjusted`` of H0 δ = 0,
    ``pvalue_lower_adjusted`` / ``pvalue_upper_adjusted`` of H0 δ = ∓margin), ``family`` (Bonferroni over pruner × sparsity, m, level), ``verdict`` (one
    word) and ``verdict_text`` (with its qualifier). Comparisons that cannot be tested are recorded
    in ``ctx.skipped``; null-by-construction cells carry the verdict "no-op by construction".
    """
    variants = [str(v) for v in acc[VARIANT].values]
    tables = []
    if REF not in variants:
        ctx.skip(section, "every comparison", f"the zoo has no `{REF}` variant (the reference)")
        return pd.DataFrame()
    for label, (variant, use_margin) in COMPARISONS.items():
        if variant not in variants:
            ctx.skip(section, label, f"variant {variant} not in the zoo")
            continue
        null = [p for (p, v) in NULL_BY_CONSTRUCTION if v == variant]
        keep = [p for p in acc[PRUNER].values if p not in null]
        if not keep:
            tables.append(_no_op_rows(acc, variant, label))
            continue
        table = _run_family(ctx, section, label, acc.sel({PRUNER: keep}), REF, variant,
                            ctx.margin if use_margin else None)
        tables += [t for t in (table, _no_op_rows(acc, variant, label)) if t is not None and len(t)]
    if RANDOM_PRUNER in acc[PRUNER].values and acc.sizes[PRUNER] > 1:
        table = _run_family(ctx, section, VS_RANDOM, _versus_random(acc), RANDOM_PRUNER, "method", None)
        if table is not None:
            tables.append(table)
    else:
        ctx.skip(section, "comparison with random pruning",
                 f"the zoo has no `{RANDOM_PRUNER}` pruner (or no other method)")
    if not tables:
        return pd.DataFrame()
    out = pd.concat(tables, ignore_index=True)
    if (out["verdict"] == NO_OP).all():  # nothing testable (e.g. one seed): no table of no-ops alone
        return pd.DataFrame()
    if VARIANT in out:
        out = out.drop(columns=[VARIANT])
    out["verdict_text"] = [_word(v, t) for v, t in zip(out["verdict"], out["verdict_text"])]
    return out


def _word(verdict: str, text: str) -> str:
    """The verdict in the reader's words: accuracy differences are better / worse; the qualifier stays."""
    return text if verdict in ("better", "worse", "equivalent", "non-inferior", "inconclusive", NO_OP) else verdict


def disconnected_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs flagged ``disconnected`` per (pruner, variant, sparsity): how many seeds, and their accuracy."""
    if "disconnected" not in runs:
        return pd.DataFrame()
    d = runs[runs["disconnected"]]
    if d.empty:
        return pd.DataFrame(columns=["pruner", "variant", "sparsity", "seeds disconnected", "of seeds",
                                     "mean accuracy %"])
    total = runs.groupby([PRUNER, VARIANT, SPARSITY]).size()
    g = d.groupby([PRUNER, VARIANT, SPARSITY])
    out = pd.DataFrame({"seeds disconnected": g.size(), "mean accuracy %": 100 * g["accuracy"].mean()})
    out["of seeds"] = total.reindex(out.index).values
    return out.reset_index()[["pruner", "variant", "sparsity", "seeds disconnected", "of seeds", "mean accuracy %"]]


def _summarise(ctx: Context, arch: Arch, table: pd.DataFrame, disc: pd.DataFrame) -> None:
    """One verdict line per comparison: counts of verdict words over the tested cells (no-op cells
    named apart, not counted), the qualifiers that matter, the family and where it went wrong."""
    where = f"{SECTION} ({arch.label})"
    for label in list(COMPARISONS) + [VS_RANDOM]:
        part = table[table["comparison"] == label] if len(table) else table
        if part.empty:
            continue
        tested = part[part["verdict"] != NO_OP]
        counts = tested["verdict"].value_counts()
        question = (f"equivalence / non-inferiority at ±{100 * ctx.margin:g} pp, or better / worse?"
                    if tested["margin"].notna().any() else "better or worse (two-sided)?")
        notes = tested.loc[tested["verdict_text"] != tested["verdict"], "verdict_text"].value_counts()
        extra = "".join(f"; {n} of them {t}" for t, n in notes.items())
        worse = tested[tested["verdict"] == "worse"]
        if len(worse):
            extra += "; worse at " + ", ".join(f"{p} s={s:g}" for p, s in zip(worse[PRUNER], worse["sparsity"]))
        noop = part[part["verdict"] == NO_OP]
        if len(noop):
            extra += f"; {NO_OP} (not counted): " + ", ".join(sorted(set(noop[PRUNER])))
        fam = tested["family"].iloc[0].split(" | ")[0] if len(tested) else "nothing tested"
        answer = count_phrase(counts, len(tested)) + f" pruner × sparsity cells; {fam}, α = {ctx.alpha}{extra}"
        ctx.verdict(f"{arch.label}: {label}: {question}", answer, where)
    if len(disc):
        cells = ", ".join(f"{r.pruner}/{r.variant} s={r.sparsity:g} ({r._4}/{r._5} seeds)" for r in disc.itertuples())
        ctx.verdict(f"{arch.label}: where are runs disconnected?", cells, where)
    elif disc is not None:
        ctx.verdict(f"{arch.label}: where are runs disconnected?", "no run is flagged disconnected", where)


def run(ctx: Context, report, arch: Arch) -> pd.DataFrame:
    """Add the Frankle et al. section for ``arch`` to ``report``; returns the tests table."""
    sec = report.section(f"Frankle et al.: {arch.label}", level=2)
    ds = root_runs(ctx, arch)
    runs = runs_frame(ds)
    pruned = runs[runs["sparsity"] > 0]
    n_seeds = int(ds.sizes["seed"])
    sec.text(f"Final test accuracy of {len(pruned)} complete pruned runs of {arch.label} "
             f"({', '.join(arch.names)}; variants {', '.join(map(str, ds['variant'].values))}; "
             f"sparsities {', '.join(f'{s:g}' for s in sorted(pruned['sparsity'].unique()))}; {n_seeds} seed(s)). "
             "Claims are made at the level of seeds: each test pairs a variant's run with the original's of "
             "the same seed.")
    if pruned.empty:
        ctx.skip(sec.title, "every figure and test", "no complete pruned run")
        sec.note("No complete pruned run: nothing to show.")
        return pd.DataFrame()
    dense_txt = ("dashed rule and grey band: the dense network (sparsity 0) with its 95% seed interval"
                 if (runs["sparsity"] == 0).any() else "no dense baseline in this zoo")
    sec.figure(f"accuracy-{arch.arch}", plot.accuracy_vs_density(runs),
               f"Test accuracy of {arch.label} after training against density (fraction of weights kept, log scale, "
               f"as in Frankle et al. 2021, Fig. 1), mean over seeds with its 95% Student-t interval (n = {n_seeds} "
               f"seeds per point), per pruning method (panel) and variant (colour); {dense_txt}. "
               f"Runs: every complete run of the entries {', '.join(arch.names.values())}.")
    if REF in set(pruned[VARIANT]) and len(set(pruned[VARIANT])) > 1:
        sec.figure(f"accuracy-delta-{arch.arch}", plot.accuracy_delta(runs),
                   f"Accuracy of each variant minus original's of the same method, sparsity and seed (percentage "
                   f"points), mean over seeds with its 95% paired Student-t interval, against density (log scale); "
                   f"invert in its own row, every panel with its own y scale; solid rule: original (0); dashed grey "
                   f"line: the dense network minus original ({'shown' if dense_txt[0] == 'd' else 'absent: no dense run'})."
                   " Runs: as in the previous figure.")
    table = tests(ctx, accuracy(ds), sec.title)
    disc = disconnected_table(runs)
    if table.empty:
        sec.note(f"No seed-level test could be run (see the skipped table): {n_seeds} seed(s) in this zoo; "
                 "the tests need at least 2 (the mini zoo has 5).")
    else:
        sub = report.section(f"Tests: {arch.label}", level=3)
        sub.text(f"One row per pruning method × sparsity × comparison: estimate (variant − reference, percentage "
                 f"points of accuracy) and the paired Student-t interval its verdict is read from, at 1 − α/m "
                 f"(Bonferroni over pruner × sparsity within each comparison, α = {ctx.alpha}; the level and m are "
                 "named in each row). Verdicts: better (interval above 0), worse (below 0), equivalent (inside "
                 f"± {100 * ctx.margin:g} pp), non-inferior (lower end above −{100 * ctx.margin:g} pp), else "
                 "inconclusive; a significant difference inside the margin is marked 'by less than the margin'. "
                 "shuffle / reinit use the margin; invert and the comparison with random pruning are two-sided "
                 f"better / worse. Random pruning under shuffle and reinit is '{NO_OP}' and is not tested.")
        sub.figure(f"tests-{arch.arch}", plot.verdict_forest(table[table[C.VERDICT] != NO_OP], margin=ctx.margin),
                   f"Seed-level accuracy differences of {arch.label} (percentage points) with the intervals their "
                   f"verdicts are read from (paired t at 1 − α/m, Bonferroni over pruner × sparsity, α = {ctx.alpha}), "
                   f"coloured by verdict; dashed lines: ± the {100 * ctx.margin:g} pp margin. One row per "
                   "comparison, one panel per sparsity, each panel with its own x scale (compare positions against "
                   "the panel's 0 and margin rules, not across panels); runs as in the accuracy figure.")
        shown = table[[PRUNER, SPARSITY, C.COMPARISON, C.N, C.ESTIMATE, C.CI_LOW, C.CI_HIGH, C.CONFIDENCE_LEVEL,
                       C.PVALUE_ADJUSTED, C.VERDICT, "verdict_text", C.FAMILY]].copy()
        for c in (C.ESTIMATE, C.CI_LOW, C.CI_HIGH):
            shown[c] = 100 * shown[c]
        shown = shown.rename(columns={C.ESTIMATE: "Δ acc (pp)", C.CI_LOW: "CI low (pp)", C.CI_HIGH: "CI high (pp)",
                                      C.CONFIDENCE_LEVEL: "CI level", C.PVALUE_ADJUSTED: "p (Bonferroni, δ = 0)"})
        sub.table(f"tests-{arch.arch}", shown, f"Every accuracy comparison of {arch.label}: estimate (variant − "
                  "reference, pp), the interval at the verdict's level, the Bonferroni-adjusted p-value of no "
                  "difference, the verdict and the family it was adjusted over.")
    dsub = report.section(f"Disconnected runs: {arch.label}", level=3)
    if len(disc):
        dsub.table(f"disconnected-{arch.arch}", disc,
                   "Runs whose network is disconnected after pruning (root variable `disconnected`: a layer at "
                   "density 0, or SynFlow's R = 0), per method, variant and sparsity, with their mean accuracy.")
    else:
        dsub.text("No complete run is flagged disconnected.")
    _summarise(ctx, arch, table, disc)
    _convergence_section(ctx, report, arch)
    return table


# ---- training convergence: the last epoch's gain of test accuracy -------------------------------------------------
NOT_CONVERGED_PP = 0.2
"""Last-epoch gain of test accuracy (percentage points) at and above which a cell counts as not converged."""


def training_curves(ctx: Context, arch: Arch) -> xr.Dataset:
    """``test_accuracy`` (pruner, variant, sparsity, seed, epoch) and ``complete`` of every method of
    ``arch``, loaded as a user would (``paistats.load("<arch>-<method>", tensors=False)``)."""
    import paistats

    parts = []
    for method, name in arch.names.items():
        tree = paistats.load(name, zoo=ctx.zoo, tensors=False)
        have = [v for v in ("complete", "test_accuracy") if v in tree.data_vars]
        parts.append(tree.to_dataset(inherit=True)[have].load().expand_dims({PRUNER: [method]}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return xr.concat(parts, dim=PRUNER, join="outer", fill_value={"complete": False})


def convergence_table(ds: xr.Dataset, *, threshold: float = NOT_CONVERGED_PP) -> pd.DataFrame:
    """Last-epoch gain of test accuracy per pruner × variant × sparsity, seed mean, in percentage points.

    Parameters
    ----------
    ds : xarray.Dataset
        Root variables of a zoo entry or an arch stack: ``test_accuracy`` (fraction) with dims
        ``(pruner?, variant, sparsity, seed, epoch)``; ``complete`` (bool, same dims without
        ``epoch``) if present restricts to complete runs.
    threshold : float
        Gain (pp) at and above which the cell is flagged ``not converged``.

    Returns
    -------
    pandas.DataFrame
        One row per (pruner, variant, sparsity) with a complete run: ``pruner``, ``variant``,
        ``sparsity``, ``n`` (seeds), ``last_epoch``, ``last_pp`` (seed-mean test accuracy at the last
        epoch, %), ``gain_pp`` (seed mean of test accuracy at the last epoch minus the epoch before,
        pp), ``converged`` (gain < ``threshold``) and ``status`` (``"converged"`` / ``"not converged"``).
        Empty (same columns) when the zoo has fewer than two epochs.
    """
    cols = [PRUNER, "variant", "sparsity", "n", "last_epoch", "last_pp", "gain_pp", "converged", "status"]
    if "test_accuracy" not in ds or "epoch" not in ds["test_accuracy"].dims:
        raise ValueError("convergence_table needs the root variable test_accuracy with an epoch dim "
                         "(load the entry with paistats.load(name, tensors=False))")
    acc = ds["test_accuracy"].sortby("epoch")
    if "complete" in ds:
        acc = acc.where(ds["complete"].astype(bool))
    if PRUNER not in acc.dims:
        acc = acc.expand_dims({PRUNER: [ds.attrs.get("pruner", ds.attrs.get("method", "?"))]})
    if acc.sizes["epoch"] < 2:
        return pd.DataFrame(columns=cols)
    last, prev = acc.isel(epoch=-1), acc.isel(epoch=-2)
    gain = (last - prev).where(np.isfinite(last) & np.isfinite(prev))
    out = xr.Dataset({"n": np.isfinite(gain).sum("seed"), "last_pp": 100 * last.mean("seed"),
                      "gain_pp": 100 * gain.mean("seed")})
    t = out.to_dataframe().reset_index()
    t = t[t["n"] > 0].copy()
    t["n"] = t["n"].astype(int)
    t["last_epoch"] = int(acc["epoch"].values[-1])
    t["converged"] = t["gain_pp"] < threshold
    t["status"] = np.where(t["converged"], "converged", "not converged")
    return t[cols].reset_index(drop=True)


def _convergence_section(ctx: Context, report, arch: Arch) -> None:
    """Table, chart and one sentence on the last epoch's gain (the Frankle section's training check)."""
    where = f"Frankle et al.: {arch.label}"
    table = convergence_table(training_curves(ctx, arch))
    if table.empty:
        ctx.skip(where, "training convergence (last-epoch gain)", "the zoo stores fewer than two epochs of "
                 "test_accuracy: no gain can be computed")
        return
    sub = report.section(f"Training convergence: {arch.label}", level=3)
    bad = table[~table["converged"]]
    epoch = int(table["last_epoch"].iloc[0])
    sub.text(f"Test accuracy at the last epoch ({epoch}) minus the epoch before, mean over seeds: "
             f"{len(bad)} of {len(table)} pruner × variant × sparsity cells gained ≥ {NOT_CONVERGED_PP:g} pp in the "
             f"last epoch and are flagged 'not converged'"
             + (" (" + ", ".join(f"{r.pruner}/{r.variant} s={r.sparsity:g}: {r.gain_pp:+.2f} pp"
                                 for r in bad.head(12).itertuples()) + (", …" if len(bad) > 12 else "") + ")"
                if len(bad) else "")
             + "; accuracy differences there may reflect training speed, not the final accuracy.")
    sub.figure(f"convergence-{arch.arch}", plot.convergence_gain(table, threshold=NOT_CONVERGED_PP),
               f"Last-epoch gain of test accuracy (pp, epoch {epoch} minus {epoch - 1}, mean over seeds) against "
               f"density (log scale) per method and variant; dashed rule: the {NOT_CONVERGED_PP:g} pp flag; circled: "
               f"not converged. Runs: every complete run of {', '.join(arch.names.values())}.")
    sub.table(f"convergence-{arch.arch}", table, f"Last-epoch gain of test accuracy per pruner × variant × sparsity "
              f"(seed mean, pp) and the flag (gain ≥ {NOT_CONVERGED_PP:g} pp: not converged).")
    ctx.verdict(f"{arch.label}: training converged (last-epoch gain of test accuracy < {NOT_CONVERGED_PP:g} pp)?",
                f"{len(table) - len(bad)} converged, {len(bad)} not converged (of {len(table)} pruner × variant × "
                "sparsity cells; seed means; descriptive)", f"{SECTION} ({arch.label})")
