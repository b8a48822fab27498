"""Inference benchmark: every seed-level test of a zoo with Holm and BH over its full family, plus
the default regression, timed against the distance computation they start from.

Per architecture (all pruners stacked, ``paistats.load(arch)``):
1. distances + noise floor, fresh (``precomputed=False``)  → the baseline time;
2. accuracy: paired t / Wilcoxon / sign-flip, TOST (margin 1 point) and non-inferiority (margin 1 point)
   for every (pruner, variant ≠ original, sparsity); family = pruner × sparsity (per variant);
3. shift vs seed noise for wasserstein_rel, ks and log_std_ratio in every (pruner, variant, sparsity,
   layer, stage); family = pruner × sparsity × layer (per variant, stage, metric);
4. "changed minimally": TOST of log_std_ratio against 0 at ±log(1.05) per cell, same family;
5. hierarchical bootstrap of Δaccuracy (seeds resampled) per (pruner, variant, sparsity);
6. shift_table + default OLS (cluster by seed) + MixedLM (random intercept by seed).
Holm and BH are each applied over every family. Untestable cells (e.g. dense sparsity 0, where a
variant equals the original) are skipped and counted.

Usage: ``python benchmarks/bench_inference.py ZOO [--arch mnist1d_mlp ...] [--resamples 999]``
"""
from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np


def _timed(label, fn, times):
    t0 = time.perf_counter()
    out = fn()
    times[label] = time.perf_counter() - t0
    return out


def bench_arch(zoo: str, arch: str, resamples: int) -> dict:
    import paistats
    from paistats import inference as inf
    from paistats import regress
    from paistats.stats import distances, noise_floor

    times: dict[str, float] = {}
    tree = paistats.load(arch, zoo=zoo)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dist = _timed("distances", lambda: distances(tree, precomputed=False).load(), times)
        noise = _timed("noise_floor", lambda: noise_floor(tree, precomputed=False).load(), times)
    root = tree.to_dataset(inherit=True)
    acc = root["accuracy"].where(root["complete"].astype(bool)).load()
    if "pruner" not in acc.dims:
        acc = acc.expand_dims(pruner=[tree.attrs.get("method", "?")])
    counts = {"tests": 0, "families": 0, "skipped": 0}
    reasons: list[str] = []

    def run_family(results, family):
        for method in ("holm", "bh"):
            table = inf.adjust_family(results, family=family, method=method)
            counts["families"] += table["family"].nunique()
        counts["tests"] += len(results)
        return table

    def quiet(fn):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = fn()
        for w in caught:
            if str(w.message).startswith("skipped"):
                counts["skipped"] += int(str(w.message).split()[1])
                reasons.append(str(w.message))
        return out

    fam_acc = [d for d in ("pruner", "sparsity") if d in acc.dims]

    def accuracy_tests():
        for test, kw in (("t", {}), ("wilcoxon", {}), ("signflip", {}), ("tost", {"margin": 0.01}),
                         ("noninferiority", {"margin": 0.01})):
            run_family(quiet(lambda: inf.compare(acc, test=test, errors="skip", **kw)), fam_acc)

    _timed("accuracy tests", accuracy_tests, times)
    layers = [v for v in dist["layer"].values if str(v) != "all"]
    stages = [s for s in ("init", "trained") if s in dist["stage"].values]
    fam = [d for d in ("pruner", "sparsity", "layer") if d in dist.dims]

    def shift_tests():
        for metric in ("wasserstein_rel", "ks", "log_std_ratio"):
            d = dist[metric].sel(layer=layers, stage=stages)
            n = noise[metric].sel(layer=layers, stage=stages)
            run_family(quiet(lambda: inf.noise_test(d, n, errors="skip")), fam)

    _timed("shift vs noise", shift_tests, times)

    def minimal_change():
        lsr = dist["log_std_ratio"].sel(layer=layers, stage=stages)
        results = []
        other = [x for x in lsr.dims if x not in ("seed",)]
        stacked = lsr.stack(cell=other)
        for i in range(stacked.sizes["cell"]):
            col = stacked.isel(cell=i)
            coords = {k: (v.item() if hasattr(v, "item") else v) for k, v in zip(other, col["cell"].item())}
            if coords.get("variant") == "original":
                continue
            try:
                results.append(inf.equivalence_test(col.values, np.zeros(col.sizes["seed"]), margin=math.log(1.05),
                                                    coords=coords))
            except inf.InferenceError:
                counts["skipped"] += 1
        if results:
            run_family(results, fam)

    _timed("TOST changed-minimally", minimal_change, times)

    def bootstraps():
        for p in acc["pruner"].values:
            for v in [x for x in acc["variant"].values if x != "original"]:
                for s in acc["sparsity"].values:
                    cell = acc.sel(pruner=p, sparsity=s)
                    diff = cell.sel(variant=v) - cell.sel(variant="original")
                    if diff.notnull().sum() < 3 or float(diff.std()) == 0:
                        counts["skipped"] += 1
                        continue
                    inf.hierarchical_bootstrap(cell.dropna("seed"), lambda a, v=v: (
                        a.sel(variant=v) - a.sel(variant="original")).mean("seed"), n_resamples=resamples,
                        method="percentile")

    _timed("hierarchical bootstrap", bootstraps, times)

    def regression():
        table = paistats.shift_table(tree, dist)
        ols = regress.ols(table)
        try:
            mixed = regress.mixedlm(table)
        except inf.InferenceError as e:
            mixed = e
        return table, ols, mixed

    table, ols, mixed = _timed("shift_table + OLS + MixedLM", regression, times)
    base = times["distances"] + times["noise_floor"]
    inference = sum(v for k, v in times.items() if k not in ("distances", "noise_floor"))
    return {"arch": arch, "times": times, "base": base, "inference": inference, "counts": counts, "reasons": reasons,
            "rows": len(table), "ols": ols, "mixed": mixed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("zoo", help="zoo directory (or Hub repo) to benchmark")
    ap.add_argument("--arch", nargs="*", help="architectures (default: all in the zoo)")
    ap.add_argument("--resamples", type=int, default=999, help="bootstrap resamples per cell")
    args = ap.parse_args()
    import paistats

    listing = paistats.list_zoo(args.zoo)
    archs = args.arch or sorted(set(listing["arch"]))
    for arch in archs:
        r = bench_arch(args.zoo, arch, args.resamples)
        c = r["counts"]
        print(f"== {arch}: {c['tests']} seed-level tests in {c['families']} families (Holm and BH each), "
              f"{c['skipped']} untestable cells skipped; shift table {r['rows']} rows")
        for reason in dict.fromkeys(m.split(", e.g.")[1][:160] for m in r["reasons"] if ", e.g." in m):
            print(f"  skipped e.g.{reason}")
        for k, v in r["times"].items():
            print(f"  {k:32s} {v:8.2f} s")
        print(f"  distances + noise floor (base)   {r['base']:8.2f} s")
        print(f"  all inference + regression       {r['inference']:8.2f} s   ratio to base {r['inference'] / r['base']:.2f}")
        coef = r["ols"].coefficients.set_index("term")
        print(f"  default OLS: {r['ols'].formula}  (cluster by seed, G={r['ols'].n_groups})")
        print(coef[["estimate", "std_error", "pvalue", "ci_low", "ci_high"]].to_string(float_format=lambda x: f"{x:.4g}"))
        mixed = r["mixed"]
        if isinstance(mixed, Exception):
            print(f"  MixedLM: {mixed}")
        else:
            row = mixed.coefficients.set_index("term").loc["wasserstein_rel_trained"]
            print(f"  MixedLM (random intercept by seed): wasserstein_rel_trained {row['estimate']:.4g} "
                  f"± {row['std_error']:.3g} (p = {row['pvalue']:.3g})" + (f"; notes: {mixed.notes}" if mixed.notes else ""))


if __name__ == "__main__":
    main()
