"""The builder against its compute floor, and its calibrated estimate against the measured time.

    python benchmarks/bench_build.py                       # one cell group of `mini`: 8 runs, best of 2
    python benchmarks/bench_build.py --only method=snip --only sparsity=0.98 --repeats 3
    python benchmarks/bench_build.py --phases              # also time the parts of one run in-process
    python benchmarks/bench_build.py --timeline --only seed=0 --only sparsity=0.9   # one build's timeline only
    python benchmarks/bench_build.py --timeline --only seed=0 --only sparsity=0,0.98 --keep /tmp/zoo_a  # keep the zoo

What it measures, in one process tree under whatever load the machine has (best of ``--repeats``,
the floor and the build alternating so that both see the same load):

compute floor
    ``--workers`` processes with ``cores // workers`` torch threads each (as the builder's
    workers), each training its share of the subset's trainings with nothing but the recipe's
    model forward, cross-entropy, backward and ``torch.optim.SGD`` step (the recipe's lr,
    momentum, weight decay) on preloaded tensors, batch size and epochs of the recipe: as many
    images as the builder trains (``trainings × epochs × training-set size``), no masking,
    scheduler, evaluation, logging, scoring or I/O. Timed around the training loops only
    (the slowest worker). A dense baseline shared by several methods is one training.
builder
    ``zoo_builder.executor.build`` of the same runs with ``--workers`` CPU workers, end to end
    (cluster start, scoring, masked training, per-epoch evaluation, store writes, the entry's
    finalize with its stored statistics), plus its steady-state seconds per run per worker (the
    calibrated estimate's measure: intervals between a worker's completions).

Prints seconds per training per worker for both, the ratios (end to end and steady state), the
floor extrapolated to the whole preset, the best build's timeline (:func:`timeline_text`: when the
client was ready and the workers began, each worker's time in runs, between runs and idle at the
end, the tail, the finalize after the last task, and the mean seconds of each part of a run per
method) and the calibrated estimate's error against the measured wall time. ``--timeline`` only
builds the subset once and prints its timeline, when each entry's finalize ran on a worker, and
the process tree's memory (:class:`RssSampler`: the peak of the sum, each process's own peak and
its RSS per 5 s, and its CPU seconds); ``--keep DIR`` keeps that zoo (e.g. to compare two builds
array by array).
"""
from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_ONLY = ["method=magnitude", "sparsity=0.9", "seed=0,1"]  # 4 variants × 2 seeds = 8 runs, 2 tasks


def trainings(specs) -> list:
    """One spec per distinct training (a dense baseline shared by several methods counts once)."""
    from zoo_builder.plan import _training_key

    out, seen = [], set()
    for s in specs:
        key = _training_key(s) if s.sparsity == 0.0 else s.hash
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out


def floor_worker(specs, threads: int, data_root) -> tuple[float, float]:
    """(wall, CPU) seconds to train ``specs`` with the bare SGD loop (the compute floor), in this process."""
    import torch
    import torch.nn.functional as F

    from zoo_builder import datasets, models

    torch.set_num_threads(threads)
    loaded = {s.dataset: datasets.load(s.dataset, train=True, root=data_root) for s in specs}
    nets = [models.build(s.arch, s.dataset, seed=s.seed) for s in specs]
    t0, c0 = time.perf_counter(), time.process_time()
    for s, model in zip(specs, nets):
        r, split = s.recipe, loaded[s.dataset]
        opt = torch.optim.SGD(model.parameters(), lr=r.lr, momentum=r.momentum, nesterov=r.nesterov,
                              weight_decay=r.weight_decay)
        g = torch.Generator().manual_seed(s.seed)
        model.train()
        for _ in range(r.epochs):
            order = torch.randperm(len(split), generator=g)
            for i in range(0, len(split), r.batch_size):
                idx = order[i:i + r.batch_size]
                loss = F.cross_entropy(model(split.x[idx]), split.y[idx])
                opt.zero_grad(set_to_none=False)
                loss.backward()
                opt.step()
    return time.perf_counter() - t0, time.process_time() - c0


def measure_floor(specs, workers: int, threads: int, data_root) -> tuple[float, float]:
    """(wall, CPU) seconds of the floor for ``specs`` on ``workers`` processes: the slowest worker's
    loops, and the CPU time of every worker's loops."""
    shares = [specs[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        times = list(pool.map(floor_worker, shares, [threads] * workers, [data_root] * workers))
    return max(t[0] for t in times), sum(t[1] for t in times)


def cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and of its children that have exited."""
    import resource

    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def measure_build(sub, root: Path, workers: int, data_root, calibration_runs: int):
    from zoo_builder import executor
    from zoo_builder.executor import ClusterOptions
    from zoo_builder.progress import Progress

    from zoo_builder import store

    class Collect(Progress):
        metas: list = []

        def update(self, meta):
            self.metas.append(meta)
            super().update(meta)

    progress = Collect(quiet=True, calibration_runs=calibration_runs)
    finalize, spent = store.finalize, []

    def timed_finalize(*a, **kw):  # the entries' manifests and stored statistics, in this process
        c = time.process_time()
        try:
            return finalize(*a, **kw)
        finally:
            spent.append(time.process_time() - c)

    store.finalize = timed_finalize
    t0, c0, s0 = time.perf_counter(), cpu_seconds(), time.process_time()
    try:
        summary = executor.build(sub, root, ClusterOptions(workers=workers), data_root=data_root,
                                 progress=progress)
    finally:
        store.finalize = finalize
    wall, cpu, own = time.perf_counter() - t0, cpu_seconds() - c0, time.process_time() - s0
    assert summary.ok and summary.done == len(sub), summary.text()
    shutil.rmtree(root, ignore_errors=True)
    in_runs = sum(m.get("cpu", 0.0) for m in progress.metas)
    print(f"    build CPU: {in_runs:.1f} s inside the runs (run + store write), {cpu - own - in_runs:.1f} s in the "
          f"workers outside them (process start, imports, dataset load, task set-up, the entries finalized "
          f"there: {', '.join(summary.finalized_early) or 'none'}), {own - sum(spent):.1f} s in the client and "
          f"scheduler, {sum(spent):.1f} s finalizing entries in the client (manifest, stored statistics)")
    progress.run_cpu = in_runs
    progress.summary = summary
    return wall, cpu, progress


def timeline_text(summary, metas: list) -> str:
    """The breakdown of one build from its metadata (``run_task``'s ``started`` / ``finished`` /
    ``phases``) and the client's :attr:`~zoo_builder.executor.Summary.timeline`: when the workers
    began, what their runs spent where, how long each stood idle, the tail and the finalize."""
    from collections import defaultdict

    tl = summary.timeline
    t0 = tl["start"]
    done = [m for m in metas if m.get("status") == "done" and "started" in m]
    lines = ["timeline (seconds from the build's start):",
             "  client: " + ", ".join(f"{k} {tl[k] - t0:.1f}" for k in
                                     ("prepared", "cluster", "submitted", "trained", "finalized") if k in tl)]
    end = tl.get("trained", max(m["finished"] for m in done))
    by_worker = defaultdict(list)
    for m in done:
        by_worker[m["worker"]].append(m)
    lasts = []
    for w, ms in sorted(by_worker.items()):
        ms.sort(key=lambda m: m["started"])
        busy = sum(m["finished"] - m["started"] for m in ms)
        first, last = ms[0]["started"] - t0, ms[-1]["finished"] - t0
        lasts.append(last)
        lines.append(f"  worker {w}: {len(ms)} runs, first run began at {first:.1f}, last ended at {last:.1f}; "
                     f"in runs {busy:.1f} s, between runs {last - first - busy:.1f} s (task dispatch, lock, "
                     f"completed scan), idle at the end {end - t0 - last:.1f} s")
    lines.append(f"  tail imbalance (last ends of the workers): {max(lasts) - min(lasts):.1f} s; finalize "
                 f"{tl.get('finalized', end) - end:.1f} s after the last task")
    early = [k[len("finalize returned "):] for k in tl if k.startswith("finalize returned ")]
    if early:
        lines.append("  entries finalized on the workers (submitted-returned): " + ", ".join(
            f"{e} {tl['finalize submitted ' + e] - t0:.1f}-{tl['finalize returned ' + e] - t0:.1f}" for e in early))
    by_method = defaultdict(lambda: defaultdict(float))
    count = defaultdict(int)
    for m in done:
        key = "dense" if m["sparsity"] == 0 else m["method"]
        count[key] += 1
        for k, v in m.items():
            if k.startswith("phase_"):
                by_method[key][k[len("phase_"):]] += v
    for key in sorted(by_method):
        ph = by_method[key]
        lines.append(f"  {key:<10} {count[key]:>3} runs, mean s/run: " + ", ".join(
            f"{k} {v / count[key]:.3f}" for k, v in ph.items()))
    return "\n".join(lines)


class RssSampler:
    """Resident memory of this process and all its descendants (the scheduler runs in this
    process; the Nannies and their worker processes are children), sampled every ``interval``
    seconds in a thread: the peak of the sum, and each process's own peak."""

    def __init__(self, interval: float = 0.2) -> None:
        import threading

        self.interval, self.peak, self.peak_at, self.per_process = interval, 0, 0.0, {}
        self.samples: list = []  # (epoch seconds, pid, RSS bytes)
        self.cpu: dict = {}  # pid -> (name, CPU seconds at its largest sample)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    rss = proc.memory_info().rss
                    name = "client+scheduler" if proc.pid == me.pid else _process_label(proc)
                    times = proc.cpu_times()
                    self.cpu[proc.pid] = (name, max(times.user + times.system, self.cpu.get(proc.pid, ("", 0.0))[1]))
                except psutil.Error:  # exited meanwhile
                    continue
                total += rss
                self.samples.append((time.time(), proc.pid, rss))
                old = self.per_process.get(proc.pid, (name, 0, 0.0))
                if rss > old[1]:
                    self.per_process[proc.pid] = (name, rss, time.time())
            if total > self.peak:
                self.peak, self.peak_at = total, time.time()
            self._stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def text(self, t0: float) -> str:
        mib = 2 ** 20
        parts = [f"{name} (pid {pid}) {rss / mib:.0f} MiB at {at - t0:.1f} s"
                 for pid, (name, rss, at) in sorted(self.per_process.items(), key=lambda kv: -kv[1][1])]
        lines = [f"  peak RSS of the process tree (every {self.interval:g} s): {self.peak / mib:.0f} MiB at "
                 f"{self.peak_at - t0:.1f} s; each process's own peak: " + "; ".join(parts)]
        lines.append("    CPU seconds of each process (its largest sample): " + ", ".join(
            f"{name} {pid} {total:.1f}" for pid, (name, total) in sorted(self.cpu.items())))
        for pid, (name, rss, _) in sorted(self.per_process.items()):
            if rss > 100 * mib:  # its largest RSS in each 5 s of the build
                bins: dict = {}
                for t, p, r in self.samples:
                    if p == pid:
                        bins[int((t - t0) // 5)] = max(bins.get(int((t - t0) // 5), 0), r)
                lines.append(f"    {name} {pid}, MiB per 5 s: " + " ".join(f"{bins[b] / mib:.0f}" for b in sorted(bins)))
        return "\n".join(lines)


def _process_label(proc) -> str:
    """'worker' for a process started by multiprocessing (a Dask worker: the Nannies live in this
    process and spawn them), else the process's name."""
    return "worker" if "multiprocessing" in " ".join(proc.cmdline()) else proc.name()


def timeline(sub, workers: int, data_root, keep: str | None = None) -> None:
    """Build ``sub`` once in a temporary folder and print :func:`timeline_text` and the peak RSS of
    the process tree (``keep``: move the built zoo there before the folder is removed, e.g. to
    compare two builds)."""
    from zoo_builder import executor
    from zoo_builder.executor import ClusterOptions
    from zoo_builder.progress import Progress

    metas = []
    tmp = Path(tempfile.mkdtemp(prefix="bench_timeline_"))
    root = tmp / "zoo"

    class Collect(Progress):
        def update(self, meta):
            metas.append(meta)
            super().update(meta)

    with RssSampler() as rss:
        summary = executor.build(sub, root, ClusterOptions(workers=workers), data_root=data_root,
                                 progress=Collect(quiet=True))
    if keep:
        shutil.move(str(root), keep)
    shutil.rmtree(tmp, ignore_errors=True)
    assert summary.ok and summary.done == len(sub), summary.text()
    print(f"build of {len(sub)} runs: {summary.seconds:.1f} s wall")
    print(timeline_text(summary, metas))
    print(rss.text(summary.timeline["start"]), flush=True)


def phases(spec, data_root, threads: int) -> None:
    """Seconds of the parts of one run of ``spec`` in this process (best of 2)."""
    import torch

    from zoo_builder import datasets, store, training
    from zoo_builder.run import prepare, run

    torch.set_num_threads(threads)
    te = datasets.load(spec.dataset, train=False, root=data_root)
    floor = min(floor_worker([spec], threads, data_root)[0] for _ in range(2))
    model, pruned = prepare(spec, data_root=data_root)
    best = {}
    for _ in range(2):
        tmp = Path(tempfile.mkdtemp(prefix="bench_phase_"))
        store.plan_entries(str(tmp), [spec])
        t = time.perf_counter()
        result = run(spec, data_root=data_root)
        t_run = time.perf_counter() - t
        t = time.perf_counter()
        store.write_run(str(tmp), result)
        t_write = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(spec.recipe.epochs):
            training.evaluate(model, te)
        t_eval = time.perf_counter() - t
        shutil.rmtree(tmp, ignore_errors=True)
        for k, v in {"run": t_run, "train": sum(result.history["seconds"]), "eval": t_eval, "write": t_write}.items():
            best[k] = min(best.get(k, math.inf), v)
    print(f"one run in-process ({threads} thread(s)), best of 2: floor {floor:.2f} s; run() {best['run']:.2f} s "
          f"(of which masked training with evaluation {best['train']:.2f} s, {spec.recipe.epochs} evaluations "
          f"{best['eval']:.2f} s); store.write_run {best['write']:.2f} s; run+write / floor = "
          f"{(best['run'] + best['write']) / floor:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="mini")
    ap.add_argument("--only", action="append", help=f"grid filter (default: {' '.join(DEFAULT_ONLY)})")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2, help="best of N for the floor and the build")
    ap.add_argument("--calibration-runs", type=int, default=1,
                    help="completion intervals per worker before the estimate is calibrated")
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--phases", action="store_true", help="also time the parts of one run in this process")
    ap.add_argument("--timeline", action="store_true",
                    help="only build the subset once and print its timeline (no floor)")
    ap.add_argument("--keep", metavar="DIR", help="with --timeline: keep the built zoo in DIR (to compare builds)")
    args = ap.parse_args()

    import torch

    from zoo_builder import datasets, executor, plan, presets

    full = plan.from_config(presets.load(args.preset))
    sub = full.select(plan.parse_filters(args.only or DEFAULT_ONLY))
    cores = executor.available_cores()
    threads = max(1, cores // args.workers)
    work = trainings(sub.specs)
    print(f"preset {args.preset!r} subset {' '.join(args.only or DEFAULT_ONLY)}: {len(sub)} runs, {len(work)} "
          f"trainings, {len(sub.tasks)} tasks; {cores} cores, {args.workers} workers × {threads} thread(s); "
          f"torch {torch.__version__}; load average before: {' '.join(f'{x:.2f}' for x in _loadavg())}")
    for name in {s.dataset for s in sub.specs}:  # on disk for every side (the MNIST download, once)
        datasets.load(name, train=True, root=args.data_root)
        datasets.load(name, train=False, root=args.data_root)
    if args.phases:
        phases(work[0], args.data_root, threads)
    if args.timeline:
        timeline(sub, args.workers, args.data_root, args.keep)
        return

    tmp = Path(tempfile.mkdtemp(prefix="bench_build_"))
    floors, builds = [], []
    for rep in range(args.repeats):
        floors.append(measure_floor(work, args.workers, threads, args.data_root))
        builds.append(measure_build(sub, tmp / f"zoo{rep}", args.workers, args.data_root, args.calibration_runs))
        print(f"  repeat {rep + 1}: floor {floors[-1][0]:.1f} s wall / {floors[-1][1]:.1f} s CPU, build "
              f"{builds[-1][0]:.1f} s wall / {builds[-1][1]:.1f} s CPU (load average {_loadavg()[0]:.2f})", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    report(args, full, sub, work, floors, builds)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in _loadavg())} (the cores are shared: ratios, "
          "not absolute times, are the result; under load the CPU-time ratio is the steadier one)")


def report(args, full, sub, work, floors, builds) -> None:
    """Print the floor, the builder, their ratios and the estimate's error (best of the repeats)."""
    floor_wall, floor_cpu = min(f[0] for f in floors), min(f[1] for f in floors)
    wall, cpu, progress = min(builds, key=lambda b: b[0])
    cpu = min(b[1] for b in builds)
    per_worker = math.ceil(len(work) / args.workers)
    floor_per = floor_wall / per_worker
    build_per = wall * args.workers / len(sub)
    steady = progress.calibration.seconds_per_run
    epochs = work[0].recipe.epochs
    print(f"compute floor: {floor_per:.2f} s wall per training per worker ({per_worker} trainings of {epochs} "
          f"epochs per worker in {floor_wall:.1f} s); {floor_cpu / len(work):.2f} CPU s per training")
    print(f"builder end to end: {wall:.1f} s wall for {len(sub)} runs = {build_per:.2f} s per run per worker, "
          f"ratio to the floor {build_per / floor_per:.2f}x; CPU {cpu:.1f} s = {cpu / len(sub):.2f} CPU s per run, "
          f"ratio to the floor's CPU time {cpu / floor_cpu * len(work) / len(sub):.2f}x")
    print(f"builder steady state: {steady:.2f} s per run per worker (intervals between a worker's completions), "
          f"ratio to the floor {steady / floor_per:.2f}x")
    run_cpu = min(b[2].run_cpu for b in builds) / len(sub)
    print(f"builder CPU inside its runs (scoring, masked training, evaluation, store write): {run_cpu:.2f} CPU s per "
          f"run, ratio to the floor's CPU time {run_cpu / (floor_cpu / len(work)):.2f}x")
    n_full = len(trainings(full.specs))
    print(f"floor of the whole {args.preset!r} ({len(full)} runs, {n_full} trainings) on {args.workers} workers: "
          f"{n_full * floor_per / args.workers / 60:.1f} min at this load; the builder at its steady-state "
          f"rate: {len(full) * steady / args.workers / 60:.1f} min")
    print(timeline_text(progress.summary, progress.metas))
    e = progress.calibrated
    if e is not None:
        print(f"calibrated estimate after {e.runs_measured} intervals ({e.elapsed:.1f} s in): whole build "
              f"{e.total:.1f} s vs measured {wall:.1f} s ({(e.total - wall) / wall:+.0%})")


def _loadavg() -> tuple[float, float, float]:
    try:
        import os

        return os.getloadavg()
    except OSError:  # pragma: no cover - not Unix
        return (math.nan,) * 3


if __name__ == "__main__":
    main()
