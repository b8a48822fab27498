"""Singh & Liu (2021): do shuffle and reinit change the distribution of the unpruned weights only minimally?

Per pruning method, layer and stage — ``init`` (the kept weights each variant starts from) and
``trained`` (the kept weights after training), always separately — this script measures how far
the kept-weight distribution of ``shuffle`` and ``reinit`` moves from ``original`` (same method,
sparsity and seed), and judges it against

* the **seed noise floor**: the same distance between two seeds of ``original``
  (:func:`paistats.stats.noise_floor`), tested per cell with :func:`paistats.inference.noise_test`;
* **random pruning**: Singh & Liu's ratio of the distance to the distance between random pruning's
  ``original`` and this method's (``<metric>_random_ratio`` of :func:`paistats.stats.distances`);
* **"changed minimally"** as an equivalence claim on a layer statistic: the kept weights' std of
  the variant within ± ``shift_margin`` (relative) of the original's (TOST on log std over seeds).

Distances are computed on kept entries only (the default) and, as Singh & Liu's notebooks did,
with the pruned zeros put back (``include_pruned=True``), where density differences dominate.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import xarray as xr

import paistats
from analysis.common import PRUNER, Arch, Context, count_phrase
from paistats import inference, plot
from paistats.stats import distances, layer_stats, noise_floor
from paistats.vocabulary import INIT, POOLED_LAYER, RANDOM_PRUNER, REFERENCE_VARIANT, STAGES, VARIANT, drop_pooled
from paistats.vocabulary import Columns as C

REF = REFERENCE_VARIANT
SECTION = "Singh & Liu 2021: distribution of the unpruned weights"
METRIC = "wasserstein_rel"
SL_SPARSITY = 0.75     # the only sparsity of Singh & Liu's scripts
HEATMAP_STATS = {      # statistic → how its change is shown (variant vs original, mean over seeds)
    "std": "log ratio", "mean_abs": "log ratio", "kurtosis": "difference", "skewness": "difference",
    "frac_positive": "difference",
}
SL_PROTOCOL = {
    "lenet300": "LeNet-300-100 on MNIST: SGD, lr 0.1, no momentum, batch 128, 16 epochs, one run per setting",
    "resnet20": "ResNet-20 on CIFAR-10: OpenLTH defaults (SGD momentum 0.9, lr 0.1 ×0.1 at 80/120, 160 epochs, "
                "batch 128, weight decay 1e-4), one run per setting",
}


def focus_sparsity(sparsities) -> float:
    """Singh & Liu's 75 % when the zoo has it, else the pruned sparsity closest to it."""
    s = np.array([x for x in sparsities if x > 0], dtype=float)
    return float(s[np.argmin(np.abs(s - SL_SPARSITY))])


def protocol_text(tree: xr.DataTree, arch: Arch) -> str:
    """What the zoo did versus what Singh & Liu's scripts did, from the entry's attributes."""
    r = tree.attrs.get("recipe", {}) or {}
    keys = ("name", "optimizer", "lr", "momentum", "batch_size", "epochs", "weight_decay")
    ours = ", ".join(f"{k} {r[k]}" for k in keys if k in r)
    theirs = SL_PROTOCOL.get(arch.arch, "no Singh & Liu setting for this architecture (they used LeNet-300-100 "
                                        "on MNIST and ResNet-20 on CIFAR-10 at 75 % sparsity)")
    return (f"This zoo trained {arch.label} with recipe {ours or 'unknown'}; Singh & Liu's scripts: {theirs}. "
            "Distances after training therefore describe this zoo's recipe, not theirs. GraSP convention: their "
            "`grasp10` runs were launched without `--prune_highest`, which under the companion code's convention is "
            "inverted GraSP; in this zoo that run is pruner `grasp`, variant `invert`, and their GraSP shuffle / "
            "reinit are variants `invert_shuffle` / `invert_reinit` where built (pruner `grasp` keeps the lowest "
            "−θ⊙Hg as GraSP's authors intended, `grasp_abs` the largest |θ⊙Hg|).")


SL_GRASP = ("invert", "invert_shuffle", "invert_reinit")


def grasp_convention(ctx: Context, report, tree: xr.DataTree, arch: Arch, layers: list[str], section: str) -> None:
    """Singh & Liu's GraSP (this zoo's ``grasp`` ``invert``): distances of ``invert_shuffle`` /
    ``invert_reinit`` to ``invert``, against the seed noise floor of ``invert``."""
    if "grasp" not in arch.names or PRUNER not in tree.dims:
        return
    variants = [str(v) for v in tree["variant"].values]
    if not set(SL_GRASP) <= set(variants):
        ctx.skip(section, "Singh & Liu's GraSP convention (grasp invert / invert_shuffle / invert_reinit)",
                 "the zoo lacks variants " + ", ".join(v for v in SL_GRASP if v not in variants)
                 + " (the singh-liu preset builds them)")
        return
    g = tree.sel({PRUNER: ["grasp"], "variant": list(SL_GRASP)})
    dist, m1 = _quiet(distances, g, reference="invert")
    noise, m2 = _quiet(noise_floor, g, reference="invert")
    for m in dict.fromkeys(m1 + m2):
        ctx.skip(section, "GraSP convention statistics", m)
    sparsities = [float(x) for x in dist["sparsity"].values if x > 0]
    if not sparsities:
        return
    s0 = focus_sparsity(sparsities)
    sub = report.section(f"Singh & Liu's GraSP convention: {arch.label}", level=3)
    chart = plot.distance_by_layer(dist, noise, metric=METRIC, sparsity=s0,
                                   variants=["invert_shuffle", "invert_reinit"], title="W1 / σ(invert)",
                                   layer_order=layers)
    sub.figure(f"distance-grasp-convention-{arch.arch}", chart,
               f"As the distance figure above for Singh & Liu's GraSP (this zoo's grasp, variant invert): W1/σ of the "
               f"kept weights of invert_shuffle and invert_reinit to invert (same seed), against the seed noise floor "
               f"of invert. Runs: entry {arch.names['grasp']}, sparsity {s0:g}.")
    try:
        res, msgs = _quiet(inference.noise_test,
                           drop_pooled(dist[METRIC].sel(stage=list(STAGES), sparsity=sparsities)),
                           drop_pooled(noise[METRIC].sel(stage=list(STAGES), sparsity=sparsities)), reference="invert",
                           variants=["invert_shuffle", "invert_reinit"], alpha=ctx.alpha, errors="skip")
    except inference.InferenceError as e:
        ctx.skip(section, "GraSP convention: shift vs noise", str(e))
        return
    for m in msgs:
        ctx.skip(section, "GraSP convention: shift vs noise", m)
    if res:
        t = inference.adjust_family(res, family=[PRUNER, "sparsity", "layer"], method="bonferroni")
        sub.table(f"noise-grasp-convention-{arch.arch}", t[[PRUNER, "sparsity", "variant", "layer", "stage", "n",
                                                             C.ESTIMATE, C.CI_LOW, C.CI_HIGH, C.CONFIDENCE_LEVEL,
                                                             C.PVALUE_ADJUSTED, C.VERDICT, C.FAMILY]],
                  "Singh & Liu's GraSP: is W1/σ of invert_shuffle / invert_reinit to invert above the seed noise floor? "
                  "One-sided, Bonferroni over sparsity × layer within each variant and stage (interval at the "
                  "family's level in each row).")
        for (v, st), part in t.groupby(["variant", "stage"]):
            ctx.verdict(f"{arch.label}: Singh & Liu's GraSP — {v} vs invert above the seed noise floor at {st}?",
                        count_phrase(part["verdict"].value_counts(), len(part))
                        + f" cells; Bonferroni, α = {ctx.alpha}", f"{SECTION} ({arch.label})")


def _quiet(fn, *a, **kw):
    """Run a statistic, collecting its warnings (fully pruned layers, too few seeds) as messages."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*a, **kw)
    return out, [str(w.message) for w in caught]


def _present(ds, variants) -> list[str]:
    """The ``variants`` that ``ds`` has, in the given order."""
    have = {str(v) for v in ds[VARIANT].values}
    return [v for v in variants if v in have]


def heatmap_frame(stats: xr.Dataset, sparsity: float, variants=("shuffle", "reinit")) -> pd.DataFrame:
    """Mean over seeds of each statistic's change vs original (log ratio for scales, difference for shapes)."""
    s = drop_pooled(stats.sel(sparsity=sparsity, stage=list(STAGES)))
    rows = []
    for stat, how in HEATMAP_STATS.items():
        if stat not in s:
            continue
        x = s[stat].sel(variant=[v for v in (REF, *variants) if v in s[VARIANT].values])
        change = np.log(x / x.sel(variant=REF)) if how == "log ratio" else x - x.sel(variant=REF)
        change = change.mean("seed")
        for v in variants:
            if v not in change["variant"].values:
                continue
            f = change.sel(variant=v, drop=True).to_dataframe(name="change").reset_index()
            f["statistic"] = f"{stat} ({how})"
            f["panel"] = v + " · " + f["stage"].astype(str)
            rows.append(f)
    return pd.concat(rows, ignore_index=True)[[PRUNER, "layer", "statistic", "panel", "change"]]


def density_frame(stats: xr.Dataset) -> pd.DataFrame:
    """Layer density of each method's original masks per sparsity and seed (stage init)."""
    d = drop_pooled(stats["density"].sel(variant=REF, stage=INIT))
    d = d.sel(sparsity=d["sparsity"] > 0)
    return d.to_dataframe().reset_index()[[PRUNER, "layer", "sparsity", "seed", "density"]].dropna()


def ecdf_frames(tree: xr.DataTree, pruners: list[str], sparsity: float, layers: list[str], n: int = 41,
                variants=(REF, "shuffle", "reinit")) -> dict[str, pd.DataFrame]:
    """Per pruner: quantiles (``n`` levels) of the kept weights per layer, stage and variant, seeds
    pooled, plus random pruning's original when the zoo has it (a descriptive figure).

    Each layer is read once for every pruner and both stages (one dask computation: the mask is
    read once for both)."""
    import dask

    probs = np.linspace(0.0, 1.0, n)
    rows = {p: [] for p in pruners}
    stacked = PRUNER in tree.dims
    views = {stage: paistats.unpruned(tree, stage=stage) for stage in STAGES}
    parts = {}   # (stage, layer) → pruner → rows; assembled stage by stage below (the figures' row order)
    for layer in layers:
        lazy = []
        for stage in STAGES:
            w = views[stage][layer].sel(sparsity=sparsity)
            w = w.sel(variant=[v for v in variants if v in w["variant"].values])
            if not stacked:
                w = w.expand_dims({PRUNER: pruners[:1]})
            lazy.append(w)
        for stage, w in zip(STAGES, dask.compute(*lazy)):
            parts[stage, layer] = _quantile_rows(w, pruners, layer, stage, probs)
    for stage in STAGES:
        for layer in layers:
            for p in pruners:
                rows[p] += parts[stage, layer][p]
    return {p: pd.DataFrame(r) for p, r in rows.items()}


def _quantile_rows(w: xr.DataArray, pruners: list[str], layer: str, stage: str, probs: np.ndarray) -> dict:
    """Per pruner: rows (layer, stage, variant, probability, value) of the quantiles of ``w``'s finite
    values (seeds pooled) per variant, plus random pruning's original where ``w`` has it."""
    rows = {p: [] for p in pruners}
    have = [str(p) for p in w[PRUNER].values]
    for p in pruners:
        lines = [(v, w.sel({PRUNER: p, "variant": v})) for v in map(str, w["variant"].values)]
        if RANDOM_PRUNER in have and p != RANDOM_PRUNER and REF in w[VARIANT].values:
            lines.append((RANDOM_PRUNER, w.sel({PRUNER: RANDOM_PRUNER, VARIANT: REF})))
        for name, arr in lines:
            x = np.asarray(arr.values, dtype=float).ravel()
            x = x[np.isfinite(x)]
            if x.size:
                rows[p] += [{"layer": layer, "stage": stage, "variant": name, "probability": pr, "value": q}
                            for pr, q in zip(probs, np.quantile(x, probs))]
    return rows


def minimal_change_tests(ctx: Context, stats: xr.Dataset, section: str) -> pd.DataFrame:
    """TOST per (pruner, sparsity, layer, stage): is the kept weights' std of shuffle / reinit within
    ± ``ctx.shift_margin`` (relative) of the original's? On log std over seeds; Bonferroni over
    pruner × sparsity × layer within each (variant, stage), the verdict read from the printed interval."""
    std = drop_pooled(drop_null_pruner(stats["std"]).sel(stage=list(STAGES)))
    variants = [v for v in ("shuffle", "reinit") if v in std["variant"].values]
    # only the variants tested and their reference: an emptied layer elsewhere (inverted SynFlow) has std 0
    std = std.sel(variant=[REF, *variants]) if REF in std[VARIANT].values else std
    x = np.log(std.sel(sparsity=std["sparsity"] > 0))
    x.name = "log std"
    return _stack_over_cells(ctx, section, "equivalence of the kept weights' std (changed minimally?)",
                            inference.compare, x, test="tost", margin=float(np.log1p(ctx.shift_margin)),
                            variants=variants, alpha=ctx.alpha, errors="skip")


def _stack_over_cells(ctx: Context, section: str, what: str, grid_test, /, *args, **kwargs) -> pd.DataFrame:
    """Run a grid test, note its skipped cells (and a test that cannot run at all) in the report's
    skipped table, and stack the results with Bonferroni over pruner × sparsity × layer (intervals at the
    family's level, so that each verdict can be read off the interval printed beside it)."""
    try:
        res, msgs = _quiet(grid_test, *args, **kwargs)
    except inference.InferenceError as e:
        ctx.skip(section, what, str(e))
        return pd.DataFrame()
    for m in msgs:
        ctx.skip(section, what, m)
    return inference.adjust_family(res, family=[PRUNER, "sparsity", "layer"], method="bonferroni") if res else pd.DataFrame()


def noise_tests(ctx: Context, dist: xr.Dataset, noise: xr.Dataset, section: str) -> pd.DataFrame:
    """Is the distance of shuffle / reinit to original above the seed noise floor? Per (pruner,
    sparsity, layer, stage); Bonferroni over pruner × sparsity × layer within each (variant, stage)."""
    d = drop_pooled(drop_null_pruner(dist[METRIC]).sel(stage=list(STAGES)))
    d = d.sel(sparsity=d["sparsity"] > 0)
    n = drop_pooled(drop_null_pruner(noise[METRIC]).sel(stage=list(STAGES), sparsity=d["sparsity"]))
    variants = [v for v in ("shuffle", "reinit") if v in d["variant"].values]
    return _stack_over_cells(ctx, section, "shift vs seed noise floor", inference.noise_test, d, n,
                            variants=variants, alpha=ctx.alpha, errors="skip")


def ratio_table(dist: xr.Dataset, dist_zeros: xr.Dataset | None, metric: str = "wasserstein") -> pd.DataFrame:
    """Singh & Liu's ratio (distance to original ÷ random pruning's distance), median over seeds,
    per pruner, sparsity, variant, layer and stage, without and with the pruned zeros."""
    key = f"{metric}_random_ratio"
    parts = []
    for label, ds in (("kept only", dist), ("with pruned zeros", dist_zeros)):
        if ds is None or key not in ds:
            continue
        r = ds[key].sel(stage=list(STAGES), variant=[v for v in ("shuffle", "reinit") if v in ds["variant"].values])
        r = drop_pooled(r)
        r = r.sel(sparsity=r["sparsity"] > 0).drop_sel({PRUNER: RANDOM_PRUNER}, errors="ignore")
        f = r.median("seed").to_dataframe(name="ratio").reset_index()
        f["weights"] = label
        parts.append(f)
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True).dropna(subset=["ratio"])
    wide = out.pivot_table(index=[PRUNER, "sparsity", "variant", "stage", "layer"], columns="weights",
                           values="ratio").reset_index()
    wide.columns.name = None
    return wide


NULL_PRUNER = RANDOM_PRUNER
NULL_REASON = ("null by construction: the random pruner's mask is drawn independently of the weights, so shuffle (another "
               "random mask with the same layer counts) and reinit (other weights from the same initializer) give runs "
               "with the same law as original; left out of tests and counts")
INIT_RATIO = "≈ 1 by construction"
RATIO_VERDICTS = ("below", "above", "within noise band", "inconclusive", "untestable")


def drop_null_pruner(x: xr.DataArray | xr.Dataset):
    """``x`` without the random pruner, whose shuffle and reinit are null by construction (:data:`NULL_REASON`)."""
    if PRUNER in x.dims and NULL_PRUNER in [str(p) for p in x[PRUNER].values]:
        return x.drop_sel({PRUNER: NULL_PRUNER})
    return x


def noise_band(reference: np.ndarray) -> float:
    """Half-width of the ratio's noise band on the log scale, from one cell's reference distances over seeds.

    Under the null (the variant's distance and random pruning's are exchangeable), a seed's log
    ratio is distributed as the log ratio of two seeds' reference distances,
    ``z_ab = log(r_a / r_b)`` (a < b). The band is their root mean square,
    ``sqrt(mean(z_ab**2))``: one null standard deviation of a single seed's log ratio.

    Parameters
    ----------
    reference : array, dims (seed,)
        Random pruning's distance to the method's original, per seed (finite, > 0 entries used).

    Returns
    -------
    float
        The band half-width (log ratio; NaN with fewer than two usable seeds).
    """
    r = np.asarray(reference, dtype=float)
    r = np.log(r[np.isfinite(r) & (r > 0)])
    if r.size < 2:
        return float("nan")
    a, b = np.triu_indices(r.size, k=1)
    return float(np.sqrt(np.mean((r[a] - r[b]) ** 2)))


def ratio_verdict(ci_low: float, ci_high: float, band: float) -> str:
    """Read a verdict from the interval of the mean log ratio and the noise band ± ``band``.

    ``below`` (upper bound < −band: closer to original than random pruning beyond the noise),
    ``above`` (lower bound > band), ``within noise band`` (the whole interval inside ± band),
    ``inconclusive`` (otherwise), ``untestable`` (no interval or no band).
    """
    if not (np.isfinite(ci_low) and np.isfinite(ci_high) and np.isfinite(band)):
        return "untestable"
    if ci_high < -band:
        return "below"
    if ci_low > band:
        return "above"
    if -band < ci_low and ci_high < band:
        return "within noise band"
    return "inconclusive"


def ratio_tests(dist: xr.Dataset, *, metric: str = "wasserstein", alpha: float = 0.05,
                adjust: str = "bonferroni") -> pd.DataFrame:
    """Singh & Liu's ratio tested at the level of seeds: is the variant's distance to original below
    random pruning's, beyond the seed noise?

    Per cell (pruner, sparsity, variant ∈ shuffle / reinit, layer, stage), with seeds as replicates:
    the per-seed log ratio ``log(d / r)`` (``d`` = ``<metric>`` of the variant to original, ``r`` =
    ``<metric>_random``, random pruning's original to the method's original, same seed), its mean and
    Student-t interval over seeds, and the noise band ± :func:`noise_band`; the verdict is read from
    the interval by :func:`ratio_verdict`. The interval is two-sided at level 1 − 2α/m, so each reading
    (below, above: one-sided; within: TOST) is a test at α/m, where m is the size of the family:
    every tested pruner × sparsity × layer cell of one (variant, stage) (``adjust="bonferroni"``;
    ``"none"``: m = 1). Left out of the family: stage ``init`` (verdict ``"≈ 1 by construction"``: at
    init both runs keep random-looking subsets of the same initial weights) and the random pruner
    (:data:`NULL_REASON`; its ratio is 0 / 0).

    Parameters
    ----------
    dist : xarray.Dataset
        :func:`paistats.stats.distances` of an arch stack with the random pruner (dims pruner,
        variant, sparsity, seed, layer, stage).
    metric : str
        Distance whose ratio is tested (kept weights); ``wasserstein`` as Singh & Liu.
    alpha : float
        Level of each reading before the family adjustment.
    adjust : {"bonferroni", "none"}

    Returns
    -------
    pandas.DataFrame
        One row per cell: ``pruner``, ``sparsity``, ``variant``, ``layer``, ``stage``, ``n`` (seeds),
        ``ratio`` (exp of the mean log ratio, the geometric mean over seeds), ``log_ratio`` (mean),
        ``ci_low``, ``ci_high`` (log ratio), ``band`` (log ratio half-width), ``level`` (of the
        interval), ``family`` and ``verdict`` (one of :data:`RATIO_VERDICTS` or ``"≈ 1 by construction"``).
    """
    from scipy import stats as sps

    if adjust not in ("bonferroni", "none"):
        raise inference.InferenceError(f"ratio_tests: adjust={adjust!r} is not known; use 'bonferroni' or 'none'")
    key, rkey = metric, f"{metric}_random"
    if rkey not in dist:
        raise inference.InferenceError(f"ratio_tests: the distances have no {rkey} (no random pruner in the stack); "
                                       "load the architecture with its random entry")
    d = drop_pooled(drop_null_pruner(dist[[key, rkey]]))
    d = d.sel(stage=[st for st in STAGES if st in d["stage"].values])
    d = d.sel(sparsity=d["sparsity"] > 0, variant=[v for v in ("shuffle", "reinit") if v in d["variant"].values])
    rows = []
    for idx in np.ndindex(*(d.sizes[k] for k in (PRUNER, "sparsity", "variant", "layer", "stage"))):
        sel = dict(zip((PRUNER, "sparsity", "variant", "layer", "stage"), idx))
        cell = d.isel(sel)
        num, den = np.asarray(cell[key].values, float), np.asarray(cell[rkey].values, float)
        ok = np.isfinite(num) & np.isfinite(den) & (num > 0) & (den > 0)
        x = np.log(num[ok] / den[ok])
        rows.append({PRUNER: str(cell[PRUNER].values), "sparsity": float(cell["sparsity"].values),
                     "variant": str(cell["variant"].values), "layer": str(cell["layer"].values),
                     "stage": str(cell["stage"].values), "n": int(x.size),
                     "log_ratio": float(x.mean()) if x.size else np.nan,
                     "sd": float(x.std(ddof=1)) if x.size > 1 else np.nan, "band": noise_band(den)})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["ratio"] = np.exp(out["log_ratio"])
    tested = (out["stage"] != INIT) & (out["n"] > 0)
    out["m"] = 1
    if adjust == "bonferroni":
        out.loc[tested, "m"] = out[tested].groupby(["variant", "stage"])["n"].transform("size")
    out["level"] = 1 - 2 * alpha / out["m"]
    half = sps.t.ppf(1 - alpha / out["m"], (out["n"] - 1).clip(lower=1)) * out["sd"] / np.sqrt(out["n"])
    out["ci_low"], out["ci_high"] = out["log_ratio"] - half, out["log_ratio"] + half
    out["verdict"] = [ratio_verdict(lo, hi, b) for lo, hi, b in zip(out["ci_low"], out["ci_high"], out["band"])]
    out.loc[out["stage"] == INIT, "verdict"] = INIT_RATIO
    fam = (f"{adjust} over pruner × sparsity × layer (m=" + out["m"].astype(str) + ") within "
           + out["variant"] + ", " + out["stage"]) if adjust == "bonferroni" else "none (per cell)"
    out["family"] = np.where(out["stage"] == INIT, "not tested", fam)
    return out[[PRUNER, "sparsity", "variant", "layer", "stage", "n", "ratio", "log_ratio", "ci_low", "ci_high",
                "band", "level", "family", "verdict"]]


def _ratio_summary(part: pd.DataFrame, alpha: float) -> str:
    """One verdict line for the ratio tests of one (variant, stage)."""
    if (part["verdict"] == INIT_RATIO).all():
        return (f"{INIT_RATIO} at init (not tested, not counted): {len(part)} cells, geometric-mean ratio median "
                f"{part['ratio'].median():.2f}; random pruner left out (null by construction)")
    level = part["level"].iloc[0]
    return (count_phrase(part["verdict"].value_counts(), len(part)) + " pruner × sparsity × layer cells; seed-level "
            f"{100 * level:.3g}% interval of the mean log ratio vs the noise band (±RMS of log ratios of two seeds' "
            f"random-pruning distances); {part['family'].iloc[0].split(' (')[0]}, α = {alpha}; random pruner left "
            "out (null by construction)")


def _summarise(ctx: Context, arch: Arch, eq: pd.DataFrame, nt: pd.DataFrame, ratios: pd.DataFrame) -> None:
    where = f"{SECTION} ({arch.label})"
    for v in ("shuffle", "reinit"):
        for stage in STAGES:
            if len(eq):
                part = eq[(eq["variant"] == v) & (eq["stage"] == stage)]
                if len(part):
                    fails = part[part["verdict_text"].str.contains("by more than the margin", regex=False)]
                    by = fails.groupby(PRUNER).size()
                    where_fail = "; fails (std changed by more than the margin) for " + ", ".join(
                        f"{p} ({k} of {int((part[PRUNER] == p).sum())} cells)" for p, k in by.items()) if len(by) else ""
                    ctx.verdict(f"{arch.label}: {v} changes the kept weights' std minimally at {stage} "
                                f"(TOST within ±{100 * ctx.shift_margin:g} %)?",
                                count_phrase(part["verdict_text"].value_counts(), len(part))
                                + f" pruner × sparsity × layer cells; Bonferroni, α = {ctx.alpha}{where_fail}", where)
            if len(nt):
                part = nt[(nt["variant"] == v) & (nt["stage"] == stage)]
                if len(part):
                    ctx.verdict(f"{arch.label}: {v}'s W1/σ to original above the seed noise floor at {stage}?",
                                count_phrase(part["verdict"].value_counts(), len(part))
                                + f" cells; Bonferroni, α = {ctx.alpha}", where)
            if len(ratios):
                part = ratios[(ratios["variant"] == v) & (ratios["stage"] == stage)]
                if len(part):
                    ctx.verdict(f"{arch.label}: {v}'s Wasserstein distance to original below random pruning's at "
                                f"{stage} (Singh & Liu's ratio, kept weights)?", _ratio_summary(part, ctx.alpha), where)


def run(ctx: Context, report, arch: Arch) -> dict:
    """Add the Singh & Liu section for ``arch`` to ``report``; returns the computed tables."""
    sec = report.section(f"Singh & Liu: {arch.label}", level=2)
    name = arch.load_name or next(iter(arch.names.values()))
    tree = paistats.load(name, zoo=ctx.zoo)
    methods = list(arch.names)
    if PRUNER not in tree.dims:   # an entry on a non-default dataset: one method at a time
        methods = [tree.attrs.get("pruner", methods[0])]
        for other in arch.names:
            if other not in methods:
                ctx.skip(SECTION, f"{arch.label} {other}", "only the first entry of a non-default dataset is analysed")
    elif set(map(str, tree[PRUNER].values)) != set(methods):
        tree = tree.sel({PRUNER: methods})
    sec.text(protocol_text(tree, arch))
    if REFERENCE_VARIANT not in set(map(str, tree[VARIANT].values)):  # every distance is to the reference variant
        ctx.skip(sec.title, "every statistic and figure", f"the zoo has no `{REFERENCE_VARIANT}` variant (the reference)")
        return {}
    stats, m1 = _quiet(layer_stats, tree)
    dist, m2 = _quiet(distances, tree)
    noise, m3 = _quiet(noise_floor, tree)
    dist0, m4 = _quiet(distances, tree, include_pruned=True)
    if PRUNER not in tree.dims:
        stats, dist, noise, dist0 = (x.expand_dims({PRUNER: methods}) for x in (stats, dist, noise, dist0))
    for m in dict.fromkeys(m1 + m2 + m3 + m4):
        ctx.skip(sec.title, "statistics", m)
    if RANDOM_PRUNER not in methods:
        ctx.skip(sec.title, "ratio to random pruning",
                 f"the zoo has no `{RANDOM_PRUNER}` pruner: no random baseline or ratio")
    layers = [str(x) for x in stats["layer"].values if str(x) != POOLED_LAYER]
    sparsities = [float(s) for s in stats["sparsity"].values]
    if not any(s > 0 for s in sparsities):
        ctx.skip(sec.title, "every figure", "no pruned sparsity")
        return {}
    s0 = focus_sparsity(sparsities)
    n_seeds = int(tree.sizes["seed"])
    runs_txt = f"entries {', '.join(arch.names.values())}, sparsity {s0:g}, {n_seeds} seed(s)"

    sec.figure(f"distance-{arch.arch}", plot.distance_by_layer(dist, noise, metric=METRIC, sparsity=s0,
                                                              variants=_present(dist, ("shuffle", "reinit")),
                                                              title=f"W1 / σ({REF})", layer_order=layers),
               f"Per-layer Wasserstein-1 distance (divided by the original's std) of the kept weights of shuffle and "
               f"reinit to original (same method, sparsity and seed), against random pruning's original ('random') "
               f"and the seed noise floor (original vs original of two seeds); rows: init and trained. Points: mean "
               f"over seeds (or seed pairs), rules: min to max. Kept weights only. Runs: {runs_txt}.")
    sec.figure(f"distance-zeros-{arch.arch}",
               plot.distance_by_layer(dist0, metric="wasserstein", sparsity=s0,
                                      variants=_present(dist0, ("shuffle", "reinit")),
                                      title="W1 with pruned zeros", layer_order=layers),
               "As the previous figure but computed as Singh & Liu's notebooks did: absolute Wasserstein-1 on whole "
               "tensors with the pruned entries as zeros (no noise floor); comparisons with random pruning are then "
               f"dominated by density differences. Runs: {runs_txt}.")
    sec.figure(f"heatmap-{arch.arch}", plot.stat_change_heatmap(heatmap_frame(stats, s0), layer_order=layers),
               "Change of layer statistics of the kept weights of shuffle and reinit relative to original (log ratio "
               "for std and mean |w|, difference for kurtosis, skewness and the fraction of positive weights), mean "
               f"over seeds, per method (row) and stage. Runs: {runs_txt}.")
    sec.figure(f"density-{arch.arch}", plot.layer_density(density_frame(stats), layer_order=layers),
               "Fraction of weights kept per layer by each method's mask (original variant; shuffle and reinit keep the "
               "same per-layer counts), mean over seeds; a cross marks a layer at density 0 in some seed (layer "
               f"collapse). Runs: every complete pruned original run of {', '.join(arch.names.values())}.")
    ecdfs = ecdf_frames(tree, methods, s0, layers)
    for p in methods:
        q = ecdfs[p]
        if q.empty:
            ctx.skip(sec.title, f"ECDF of {p}", "no kept weights at this sparsity")
            continue
        sec.figure(f"ecdf-{arch.arch}-{p}", plot.weight_ecdf(q, layer_order=layers),
                   f"Empirical CDF of the kept weights of {p} per layer (column) and stage (row): original, shuffle, "
                   f"reinit{' and random pruning' if RANDOM_PRUNER in methods and p != RANDOM_PRUNER else ''}, "
                   "seeds pooled "
                   f"(41 quantiles; descriptive). Runs: {p} at sparsity {s0:g}, {n_seeds} seed(s).")
    eq = minimal_change_tests(ctx, stats, sec.title)
    nt = noise_tests(ctx, dist, noise, sec.title)
    ratios = ratio_table(dist, dist0)
    rtests = pd.DataFrame()
    if RANDOM_PRUNER in methods:
        try:
            rtests = ratio_tests(dist, alpha=ctx.alpha)
        except inference.InferenceError as e:
            ctx.skip(sec.title, "ratio to random pruning (tests)", str(e))
        if len(methods) > 1:
            ctx.skip(sec.title, "random pruner's shuffle and reinit", NULL_REASON)
    if len(eq):
        sub = report.section(f"Changed minimally? {arch.label}", level=3)
        sub.text(f"TOST on the log of the kept weights' std over seeds (paired by seed): 'equivalent' means the "
                 f"variant's std is within ±{100 * ctx.shift_margin:g} % of original's (margin log(1 + "
                 f"{ctx.shift_margin:g})); Bonferroni over pruner × sparsity × layer within each variant and stage "
                 "(the interval in each row is at the family's level and the verdict is read from it); "
                 f"α = {ctx.alpha}. A truncated distribution (e.g. magnitude pruning at init keeps the large-|w| tail) "
                 "fails this by construction at init.")
        t = eq[[PRUNER, "sparsity", "variant", "layer", "stage", C.N, C.ESTIMATE, C.CI_LOW, C.CI_HIGH,
                C.CONFIDENCE_LEVEL, C.PVALUE_ADJUSTED, C.VERDICT, C.FAMILY]].rename(
            columns={C.ESTIMATE: "Δ log std", C.PVALUE_ADJUSTED: "p (Bonferroni)"})
        sub.table(f"minimal-{arch.arch}", t, f"Equivalence of the kept weights' std, {arch.label}: estimate (mean "
                  "difference of log std, variant − original), its interval at the family's level, "
                  "Bonferroni-adjusted p and verdict.")
    if len(nt):
        sub = report.section(f"Shift vs seed noise: {arch.label}", level=3)
        t = nt[[PRUNER, "sparsity", "variant", "layer", "stage", C.N, C.ESTIMATE, C.CI_LOW, C.CI_HIGH,
                C.CONFIDENCE_LEVEL, C.PVALUE, C.PVALUE_ADJUSTED, C.VERDICT, "test", C.FAMILY]].rename(
            columns={C.PVALUE_ADJUSTED: "p (Bonferroni)"})
        sub.table(f"noise-{arch.arch}", t, f"Is W1/σ of shuffle / reinit to original larger than the seed noise floor "
                  f"(same metric between seeds of original)? One-sided, Bonferroni over pruner × sparsity × layer within "
                  f"each variant and stage; α = {ctx.alpha}; {arch.label}.")
    if len(ratios):
        sub = report.section(f"Ratio to random pruning: {arch.label}", level=3)
        sub.table(f"ratio-{arch.arch}", ratios, "Singh & Liu's ratio: Wasserstein-1 distance of shuffle / reinit to "
                  "original divided by that of random pruning's original to this method's original (same sparsity "
                  "and seed), median over seeds; on kept weights and with the pruned zeros (their computation). "
                  "Below 1: closer to original than random pruning is.")
    if len(rtests):
        sub = report.section(f"Ratio to random pruning, tested: {arch.label}", level=3)
        sub.text("Per seed, the log of Singh & Liu's ratio (W1 of the variant's kept weights to original's ÷ W1 of "
                 "random pruning's original to this method's original, same sparsity and seed); its mean over seeds "
                 "with a Student-t interval at the level in each row (two-sided 1 − 2α/m, Bonferroni over pruner × "
                 "sparsity × layer within each variant and stage); the noise band ± b, b = root mean square of "
                 "log(r_a / r_b) over seed pairs of random pruning's distance r (how far a seed's log ratio strays "
                 "from 0 when numerator and denominator are exchangeable). Verdict from the interval: below (upper "
                 "bound < −b: closer to original than random pruning is), above (lower bound > b), within noise "
                 "band (interval inside ±b), inconclusive otherwise. At init the ratio is ≈ 1 by construction (both "
                 "runs keep random-looking subsets of the same initial weights): shown, not tested or counted. "
                 "The random pruner is left out: " + NULL_REASON + ".")
        sub.table(f"ratio-tests-{arch.arch}", rtests, f"Singh & Liu's ratio tested over seeds, {arch.label}: "
                  "geometric-mean ratio, mean log ratio with its interval (log scale), noise band b (log scale), "
                  "interval level, family and verdict.")
    _summarise(ctx, arch, eq, nt, rtests)
    grasp_convention(ctx, report, tree, arch, layers, sec.title)
    return {"tree": tree, "stats": stats, "distances": dist, "noise": noise, "distances_zeros": dist0}
