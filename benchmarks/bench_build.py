"""Build throughput: Dask workers vs a plain sequential loop over the same specs.

    python benchmarks/bench_build.py                     # representative subset of `mini` (24 runs)
    python benchmarks/bench_build.py --only seed=0       # a bigger subset
    python benchmarks/bench_build.py --full              # also time the whole `mini` build (≈ 10-25 min)

Both sides train the same pruned specs and write them through the same store. The sequential side
is one process with torch using every core (what a simple ``for spec in specs: write_run(run(spec))``
gets); the Dask side is ``--workers N`` worker processes with cores/N torch threads each, timed
end to end (cluster start-up included). Dense baselines are left out of the default subset so that
the ratio measures parallel execution only (the builder also trains each dense network once for
all methods, which a plain loop does not). Prints runs per hour and the ratio.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_ONLY = ["seed=0", "sparsity=0.9"]  # 6 methods × 4 variants = 24 runs, 6 tasks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="mini")
    ap.add_argument("--only", action="append", help=f"grid filter (default: {' '.join(DEFAULT_ONLY)})")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--full", action="store_true", help="also time the complete preset with --workers")
    ap.add_argument("--keep", action="store_true", help="keep the zoo folders")
    ap.add_argument("--single-thread-baseline", action="store_true",
                    help="also time the loop with 1 torch thread (parallel efficiency of the workers)")
    args = ap.parse_args()

    import torch

    from zoo_builder import executor, plan, presets
    from zoo_builder.executor import ClusterOptions
    from zoo_builder.progress import Progress

    full = plan.from_config(presets.load(args.preset))
    sub = full.select(plan.parse_filters(args.only or DEFAULT_ONLY))
    cores = executor.available_cores()
    tmp = Path(tempfile.mkdtemp(prefix="bench_build_"))
    print(f"preset {args.preset!r} subset: {len(sub)} runs in {len(sub.tasks)} tasks; {cores} cores; "
          f"torch {torch.__version__}")

    torch.set_num_threads(cores)
    from zoo_builder import datasets

    for name in {s.dataset for s in sub.specs}:  # both sides start with data on disk, not in memory
        datasets.load(name, train=True, root=args.data_root)
    seq = executor.run_sequential(sub.specs, tmp / "sequential", data_root=args.data_root, torch_threads=cores)
    seq_rate = len(sub) / seq * 3600
    print(f"sequential loop ({cores} torch threads, torch's default): {seq:7.1f} s  {seq_rate:7.0f} runs/h")
    seq1_rate = None
    if args.single_thread_baseline:
        seq1 = executor.run_sequential(sub.specs, tmp / "sequential1", data_root=args.data_root, torch_threads=1)
        seq1_rate = len(sub) / seq1 * 3600
        print(f"sequential loop (1 torch thread):    {seq1:7.1f} s  {seq1_rate:7.0f} runs/h")

    summary = executor.build(sub, tmp / "dask", ClusterOptions(workers=args.workers), data_root=args.data_root,
                             progress=Progress(quiet=True))
    assert summary.ok and summary.done == len(sub), summary.text()
    par_rate = len(sub) / summary.seconds * 3600
    print(f"dask --workers {args.workers} ({max(1, cores // args.workers)} thread(s) each): "
          f"{summary.seconds:7.1f} s  {par_rate:7.0f} runs/h")
    print(f"ratio (dask / sequential runs per hour): {par_rate / seq_rate:.2f}x")
    if seq1_rate:
        print(f"ratio (dask / 1-thread sequential):      {par_rate / seq1_rate:.2f}x  (parallel efficiency "
              f"{par_rate / seq1_rate / args.workers:.0%})")

    if args.full:
        t0 = time.perf_counter()
        s = executor.build(full, tmp / "full", ClusterOptions(workers=args.workers), data_root=args.data_root,
                           progress=Progress(quiet=True))
        wall = time.perf_counter() - t0
        print(f"full {args.preset!r} build, --workers {args.workers}: {len(full)} runs in {wall / 60:.1f} min "
              f"({len(full) / wall * 3600:.0f} runs/h), {len(s.failed)} failed")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"zoos kept in {tmp}")


if __name__ == "__main__":
    main()
