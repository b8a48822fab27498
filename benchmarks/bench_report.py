"""Report benchmark (plain script): the full reproduction report of a zoo, against the time merely to
read the zoo.

Target (issue 11): the whole report of the `mini` zoo in under 2 minutes on the 2-core machine once
the zoo exists, and far less when the entries carry precomputed statistics.

Prints: the time to read every tensor the report needs once (init, reinit, mask, trained of every
prunable layer, decoded), the report's time (statistics, tests, figures, exports, HTML), their
ratio, whether the statistics came precomputed, and the size of index.html.
Usage: ``python benchmarks/bench_report.py [--zoo zoo] [--fresh]`` (``--fresh`` ignores precomputed
statistics).

``--cli N`` (issue 16) instead times what a user waits for, each in a fresh interpreter, best of N:
``python -m analysis reproduce`` from the stored statistics, against the floor, a fresh interpreter
that only imports the statistics stack, opens the zoo and serves every stored statistic the report
reads (layer_stats, distances with and without pruned weights, noise_floor, the root variables).
Target: the report in ≤ 10 s here.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # `analysis` from a source checkout


def read_everything(zoo: str) -> tuple[float, int]:
    """Seconds to read and decode every prunable tensor of every entry once (dask, chunk by chunk)."""
    import dask

    import paistats

    t0 = time.perf_counter()
    nbytes = 0
    for arch in sorted(set(paistats.list_zoo(zoo)["arch"])):
        tree = paistats.load(arch, zoo=zoo)
        for layer in paistats.layers(tree):
            node = tree[layer]
            arrays = [node[v].data for v in ("init", "reinit", "mask", "trained") if v in node]
            sums = dask.compute(*[a.sum() for a in arrays])
            nbytes += sum(a.nbytes for a in arrays)
            del sums
    return time.perf_counter() - t0, nbytes


#: The floor of ``--cli``: a fresh interpreter that loads every stored statistic the report reads.
FLOOR = """
import sys, warnings
import paistats
from paistats.stats import distances, layer_stats, noise_floor
zoo = sys.argv[1]
warnings.simplefilter("ignore")
for arch in sorted(set(paistats.list_zoo(zoo)["arch"])):
    tree = paistats.load(arch, zoo=zoo)
    for ds in (layer_stats(tree), distances(tree), noise_floor(tree), distances(tree, include_pruned=True)):
        ds.load()
    for entry in paistats.list_zoo(zoo).query("arch == @arch").index:
        paistats.load(entry, zoo=zoo, tensors=False).to_dataset(inherit=True).load()
"""


def best_of(n: int, argv: list[str]) -> float:
    """Best wall seconds of ``n`` runs of ``argv`` (a fresh interpreter each; output discarded)."""
    import subprocess

    best = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       cwd=Path(__file__).resolve().parents[1])
        best = min(best, time.perf_counter() - t0)
    return best


def cli(zoo: str, n: int) -> None:
    """Print the report command's and the floor's best-of-``n`` wall time and their ratio."""
    with tempfile.TemporaryDirectory() as tmp:
        report_s = best_of(n, [sys.executable, "-m", "analysis", "reproduce", "--zoo", zoo, "--out",
                               str(Path(tmp) / "report"), "--overwrite"])
    floor_s = best_of(n, [sys.executable, "-c", FLOOR, zoo])
    print(f"report from stored statistics (python -m analysis reproduce): best of {n} {report_s:.1f} s")
    print(f"floor (fresh interpreter: imports + every stored statistic the report reads): best of {n} "
          f"{floor_s:.1f} s")
    print(f"ratio report / floor: {report_s / floor_s:.2f}×   target: report ≤ 10 s "
          f"({'met' if report_s <= 10 else 'NOT met'})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--zoo", default="zoo")
    p.add_argument("--fresh", action="store_true", help="compute every statistic (ignore precomputed ones)")
    p.add_argument("--cli", type=int, metavar="N", default=0,
                   help="time the command line from stored statistics against the floor, best of N")
    args = p.parse_args()
    if args.cli:
        return cli(args.zoo, args.cli)
    if args.fresh:
        import functools

        import paistats.stats as stats
        from analysis import singh_liu

        for name in ("layer_stats", "distances", "noise_floor"):
            setattr(singh_liu, name, functools.partial(getattr(stats, name), precomputed=False))
    from analysis import reproduce

    read_s, nbytes = read_everything(args.zoo)
    print(f"read every tensor once: {read_s:.1f} s ({nbytes / 1e9:.2f} GB decoded)")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        index, ctx = reproduce.build_report(args.zoo, Path(tmp) / "report")
        report_s = time.perf_counter() - t0
        size = index.stat().st_size
        figures = len(list((Path(tmp) / "report" / "figures").glob("*.svg")))
    print(f"full report: {report_s:.1f} s ({figures} figures; index.html {size / 1e6:.2f} MB; "
          f"statistics {'computed fresh' if args.fresh else 'precomputed where fresh'})")
    print(f"ratio report / read: {report_s / read_s:.2f}×   target: report < 120 s on 2 cores "
          f"({'met' if report_s < 120 else 'NOT met'})")


if __name__ == "__main__":
    main()
