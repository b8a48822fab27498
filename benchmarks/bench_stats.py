"""Statistics benchmark (plain script; prints measurements and the ratios the targets are about).

Targets (issue 9), for full layer statistics + distances (with noise floor and ratio to random):
- ≥ 10× faster than the naive way of Singh & Liu's notebooks: load each run's tensors separately and
  call scipy once per metric per layer per pair;
- ≤ 2× the I/O floor: the time merely to read and decode every tensor the computation needs, once
  (``io_floor``: every chunk of ``mask``, ``trained``, ``init``, ``reinit`` and ``score`` of every layer,
  read and decoded by the same dask reader and threaded scheduler, reduced by a sum; page cache warm;
  best of ``--stats-repeat``, as is paistats' time); both again with every chunk read through zarr
  (``paistats.store.reader.DIRECT_READS = False``); beside them the bytes floor: the same chunk files
  read and decoded by numcodecs on a thread per core, no zarr or dask (what the bytes themselves cost:
  the gap to the I/O floor is the reader's own overhead);
- peak memory within a few runs' worth of one layer as the zoo grows (shown at 1× and 10× the runs,
  synthetic entries with the shapes of ``--mem-arch`` written through the real writer, grown along
  ``--grow-along`` sparsity (default) or seed); ``--seed-memory DIR`` (issue 16): peak RSS of a fresh
  process on one cell with ``--mem-seeds`` and ``--grow`` × as many seeds (goal: within 1.3×; the
  noise floor's tiles read their own seed groups, so it holds two groups of seeds, not every seed);
- ``--decompose``: the same computation on the tensors held in memory (nothing read), so that the
  output says how much of the floor the computation overlaps (perfect overlap: max of the two);
- reading the precomputed statistics of an entry < 0.5 s (when the entry has them, or --write-derived);
- (issue 16) stored statistics of the whole arch stack < 0.5 s, and the same question costing the same
  however the selection is spelled (scalar or list ``.sel``; an entry with or without ``random=``):
  ``--stored-only`` times just these (best of ``--repeat``), each with the ``source`` it reports.

Usage::

    python benchmarks/bench_stats.py ZOO [--name lenet300] [--naive-cells 40] [--mem-seeds 2] [--grow 10]
                                        [--grow-along sparsity|seed] [--write-derived] [--skip-memory]
                                        [--stored-only] [--repeat 5] [--stats-repeat 3] [--decompose]
    python benchmarks/bench_stats.py ZOO --seed-memory DIR [--mem-seeds 5] [--grow 10]

``--name``: an entry, alias or architecture (default: the first architecture of the zoo's index).
The naive method is timed on ``--naive-cells`` random (pruner, sparsity, seed) cells and scaled to
all cells (said so in the output); 0 times it on every cell.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

NAIVE_STAGES = ("init", "trained")


def _timed(f):
    t0 = time.perf_counter()
    out = f()
    return time.perf_counter() - t0, out


def ours(obj):
    """Everything in one pass: layer statistics, distances, noise floor, ratio to random."""
    from paistats.stats._compute import Request, compute

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compute(obj, Request())


def io_floor(obj):
    """Read and decode every array the statistics need, once (a trivial reduction per chunk)."""
    import dask

    from paistats.stats._inputs import layer_nodes

    sums = []
    for _, ds in layer_nodes(obj):
        for v in ("mask", "trained", "init", "reinit", "score"):
            sums.append(ds[v].data.sum())
    dask.compute(*sums)


_TENSORS = ("mask", "trained", "init", "reinit", "score")


def _chunk_files(obj) -> list[tuple[Path, object]] | str:
    """(chunk file, numcodecs codec that decodes it) of every stored chunk ``io_floor`` reads, or why
    not (an array whose codecs are not ``bytes`` + ``zstd`` or ``blosc``, e.g. a compacted entry's shards)."""
    import paistats
    from paistats.stats import derived
    from paistats.store.chunk_files import serial_codec

    files = []
    for entry in derived.entry_dirs(obj):
        for layer in paistats.layers(obj):
            for v in _TENSORS:
                meta = json.loads((entry / layer / v / "zarr.json").read_text())
                codec = serial_codec(meta["codecs"])
                if codec is None:
                    return f"{entry.name}/{layer}/{v} has codecs {[c['name'] for c in meta['codecs']]}"
                files += [(p, codec) for p in sorted((entry / layer / v / "c").rglob("*")) if p.is_file()]
    return files


def bytes_floor(files, threads: int) -> int:
    """Read and decode the chunk files themselves (no zarr, no dask), on ``threads`` threads: what
    the bytes cost, below any reader's overhead. Returns the decoded bytes."""
    from concurrent.futures import ThreadPoolExecutor

    def one(item):
        path, codec = item
        return len(codec.decode(path.read_bytes()))

    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(one, files, chunksize=max(1, len(files) // (8 * threads))))


def _cells(obj):
    from paistats.stats._inputs import complete_flags, pruner_dim

    flags = complete_flags(obj)
    pdim = pruner_dim(flags)
    pruners = [str(p) for p in flags[pdim].values] if pdim else [None]
    return flags, pdim, pruners, [str(v) for v in flags["variant"].values], list(flags["sparsity"].values), \
        list(flags["seed"].values)


def naive(obj, cells=None):
    """Singh & Liu's way: per cell, load each run's tensors separately; scipy per metric, layer, pair."""
    import scipy.stats as ss

    import paistats

    flags, pdim, pruners, variants, sparsities, seeds = _cells(obj)
    layers = paistats.layers(obj)
    todo = cells if cells is not None else list(itertools.product(pruners, sparsities, seeds))

    def run(p, variant, s, k, layer, stage):
        node = obj[layer] if p is None else obj[layer].sel({pdim: p})
        m = node["mask"].sel(variant=variant, sparsity=s, seed=k).values
        if stage == "trained":
            w = node["trained"].sel(variant=variant, sparsity=s, seed=k).values
        else:
            w = node["reinit" if variant == "reinit" else "init"].sel(seed=k).values
        return w[m].astype(np.float64)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for p, s, k in todo:
            for layer, stage in itertools.product(layers, NAIVE_STAGES):
                ref = run(p, "original", s, k, layer, stage)
                rnd = run("random", "original", s, k, layer, stage) if "random" in pruners and p is not None else None
                other = run(p, "original", s, seeds[(seeds.index(k) + 1) % len(seeds)], layer, stage)
                if ref.size == 0 or other.size == 0 or (rnd is not None and rnd.size == 0):
                    continue  # a fully pruned layer: no statistics (paistats gives NaN there)
                for v in variants:
                    x = run(p, v, s, k, layer, stage)
                    if x.size == 0:
                        continue
                    ss.describe(x), np.quantile(x, [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]), np.mean(x > 0)
                    for y in [ref] + ([rnd] if rnd is not None else []):
                        ss.ks_2samp(x, y), ss.wasserstein_distance(x, y), ss.energy_distance(x, y)
                ss.ks_2samp(ref, other), ss.wasserstein_distance(ref, other), ss.energy_distance(ref, other)
    return len(todo)


def decomposition(obj, repeat: int, t_io: float, t_ours: float) -> None:
    """Where paistats' time goes beyond the floor: the same computation on the tensors already in
    memory (``persist``: nothing is read; the kernels, the task graph and the tidy results), on the
    scheduler's threads and on one thread. If reading and computing overlapped perfectly, paistats
    would take about max(floor, in memory); if not at all, floor + in memory."""
    import dask

    held = obj.map_over_datasets(lambda ds: ds.persist())
    ours(held)
    t_mem, c_mem, _ = _best(lambda: ours(held), repeat)
    with dask.config.set(num_workers=1):
        t_one, _, _ = _best(lambda: ours(held), repeat)
    print(f"  the same on the tensors held in memory (nothing read; best of {repeat}): {t_mem:.2f} s on the threads "
          f"(CPU {c_mem:.2f} s), {t_one:.2f} s on one thread")
    print(f"  floor + in memory = {t_io + t_mem:.2f} s (no overlap) against {t_ours:.2f} s measured: reading and "
          f"computing overlap by {t_io + t_mem - t_ours:+.2f} s")


def peak_memory(f) -> int:
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        f()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def memory_growth(arch: str, dataset: str, recipe: str, seeds: int, grow: int, along: str) -> None:
    """Peak (traced) memory of the full computation on synthetic entries with 1× and ``grow``× runs,
    grown along ``along`` ("sparsity" or "seed"; flat expected in both)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_store import synthetic_payload

    import paistats
    from paistats.store import writer
    from zoo_builder import RunSpec, store

    rng = np.random.default_rng(0)
    variants = ("original", "shuffle", "reinit")
    rows = []
    for factor in (1, grow):
        n_sp = 2 * (factor if along == "sparsity" else 1)
        sparsities = [round(float(s), 4) for s in np.linspace(0.5, 0.95, n_sp)]
        n_seeds = seeds * (factor if along == "seed" else 1)
        with tempfile.TemporaryDirectory() as tmp:
            zoo = Path(tmp) / "zoo"
            specs = [RunSpec(arch, dataset, "magnitude", v, s, k, recipe)
                     for v in variants for s in sparsities for k in range(n_seeds)]
            (entry,) = store.plan_entries(zoo, specs)
            tensors = store.entry_plan(specs).tensors
            for s in specs:
                writer.write_run(zoo, entry, synthetic_payload(s, tensors, rng))
            tree = paistats.load(entry, zoo=zoo)
            layer_bytes = max(int(np.prod(t.shape)) for t in tensors if t.prunable) * 4
            t, _ = _timed(lambda: ours(tree))
            peak = peak_memory(lambda: ours(tree))
            rows.append((factor, len(specs), peak, layer_bytes, t))
    print(f"\npeak traced memory of the full computation ({arch} shapes, synthetic runs, grown along {along}):")
    for factor, n, peak, layer_bytes, t in rows:
        print(f"  {factor:>3}× runs ({n:>4} runs): peak {peak / 2**20:8.1f} MiB = {peak / layer_bytes:6.1f} × the "
              f"largest layer's float32 tensor; {t:.2f} s")
    print(f"  growth of the peak from 1× to {grow}×: {rows[1][2] / rows[0][2]:.2f}× (runs: {grow}×)")


def seed_entry(root, n_seeds: int, arch: str = "lenet300", dataset: str = "mnist",
               recipe: str = "lenet_mnist_cpu", sparsity: float = 0.5) -> tuple[Path, str]:
    """A synthetic entry with ``n_seeds`` seeds of one cell (one sparsity; variants original,
    shuffle, reinit) under ``root/seeds{n_seeds}`` (reused when already complete); (zoo, entry)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_store import synthetic_payload

    import paistats
    from paistats.store import writer
    from zoo_builder import RunSpec, store

    zoo = Path(root) / f"seeds{n_seeds}"
    specs = [RunSpec(arch, dataset, "magnitude", v, sparsity, k, recipe)
             for v in ("original", "shuffle", "reinit") for k in range(n_seeds)]
    (entry,) = store.plan_entries(zoo, specs)
    done = paistats.load(entry, zoo=zoo, tensors=False)["complete"]
    if int(done.sum()) < len(specs):
        rng = np.random.default_rng(0)
        tensors = store.entry_plan(specs).tensors
        for s in specs:
            writer.write_run(zoo, entry, synthetic_payload(s, tensors, rng))
    return zoo, entry


def _child_rss(zoo: str, entry: str) -> None:
    """(Run in a fresh process.) Print the RSS after loading and the peak RSS of one full computation."""
    import paistats

    tree = paistats.load(entry, zoo=zoo)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from paistats.stats._compute import Request, compute  # noqa: F401  (imports before the baseline)
    base = _status_bytes("VmRSS")
    ours(tree)
    print(f"{base} {_status_bytes('VmHWM')}")


def _status_bytes(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak) of this process, in bytes. (Not ``ru_maxrss``: Linux keeps
    it across exec, so a child would report its parent's peak at the fork.)"""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def seed_memory(root, seeds: int, grow: int, repeat: int = 1) -> list[tuple[int, int, int, int]]:
    """Peak RSS of the full computation (a fresh process each) on one cell with ``seeds`` and
    ``grow`` × ``seeds`` seeds. Prints and returns rows (seeds, layer bytes, RSS after load, peak RSS)."""
    import subprocess

    rows = []
    for n in (seeds, seeds * grow):
        zoo, entry = seed_entry(root, n)
        peaks = []
        for _ in range(repeat):  # every peak is printed: the lowest is the figure, the spread its noise
            out = subprocess.run([sys.executable, __file__, str(zoo), "--child-rss", str(zoo), entry], check=True,
                                 capture_output=True, text=True).stdout.split()
            peaks.append((int(out[0]), int(out[1])))
        base, peak = min(peaks, key=lambda p: p[1])
        print(f"  {n} seeds: peaks of {repeat} processes: {', '.join(f'{p / 2**20:.0f}' for _, p in peaks)} MiB")
        rows.append((n, base, peak))
    print(f"\npeak RSS of the full computation, one cell (3 variants × 1 sparsity), fresh process each "
          f"(best of {repeat}):")
    for n, base, peak in rows:
        print(f"  {n:>4} seeds: RSS after load {base / 2**20:7.1f} MiB, peak {peak / 2**20:7.1f} MiB "
              f"(+{(peak - base) / 2**20:7.1f} MiB for the computation)")
    (n0, b0, p0), (n1, b1, p1) = rows
    print(f"  growth from {n0} to {n1} seeds: peak {p1 / p0:.2f}×, computation's share {(p1 - b1) / (p0 - b0):.2f}× "
          f"(goal: peak ≤ 1.3×)")
    return rows


def _best(f, repeat: int):
    """(least wall time, least CPU time (user + system, every thread of this process), the last
    result) of ``repeat`` calls."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        c0 = time.process_time()
        t, out = _timed(f)
        walls.append(t)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus), out


def stored_reads(zoo, name: str, repeat: int = 5) -> None:
    """Best-of-``repeat`` wall time of questions the store can answer, and where each answer came
    from (``attrs["source"]``; ``?`` for a paistats that does not say). The page cache is warm."""
    import paistats
    from paistats.stats import distances, layer_stats

    def source(res):
        return ", ".join(str(r.attrs.get("source", "?")) for r in (res if isinstance(res, list) else [res]))

    arch = paistats.load(name, zoo=zoo)
    rows = [("load(tensors=False) + layer_stats + distances (arch stack)",
             lambda: [f(paistats.load(name, zoo=zoo, tensors=False)) for f in (layer_stats, distances)]),
            ("layer_stats + distances of the loaded arch stack", lambda: [layer_stats(arch), distances(arch)])]
    if "pruner" in arch.dims:
        methods = [str(p) for p in arch["pruner"].values]
        p = next((m for m in methods if m != "random"), methods[0])
        s = float(arch["sparsity"].values[-1])
        entry = paistats.load(f"{name}-{p}", zoo=zoo)
        rows += [(f"layer_stats(arch.sel(pruner={p!r}, sparsity={s}))", lambda: layer_stats(arch.sel(pruner=p, sparsity=s))),
                 (f"layer_stats(arch.sel(pruner=[{p!r}], sparsity=[{s}]))",
                  lambda: layer_stats(arch.sel(pruner=[p], sparsity=[s]))),
                 (f"distances(load({name}-{p}))", lambda: distances(entry))]
        if "random" in methods:
            rnd = paistats.load(f"{name}-random", zoo=zoo)
            rows.append((f"distances(load({name}-{p}), random=load({name}-random))",
                         lambda: distances(entry, random=rnd)))
    print(f"\nstored statistics (best of {repeat}):")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, f in rows:
            t, _, res = _best(f, repeat)
            ratio = ""
            if not isinstance(res, list) and "ks" in res:
                ratio = "; ratios to random: " + ("yes" if "ks_random_ratio" in res else "no")
            print(f"  {t:7.3f} s  {label}  [source: {source(res)}{ratio}]")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("zoo", help="a local zoo directory")
    ap.add_argument("--name", default=None, help="entry, alias or architecture (default: the first arch)")
    ap.add_argument("--naive-cells", type=int, default=40, help="cells timed for the naive way (0: all)")
    ap.add_argument("--write-derived", action="store_true", help="write precomputed statistics into the "
                    "entries if they lack fresh ones (modifies the zoo), then time reading them")
    ap.add_argument("--mem-arch", default="lenet300", help="architecture of the synthetic memory entries")
    ap.add_argument("--mem-dataset", default="mnist")
    ap.add_argument("--mem-recipe", default="lenet_mnist_cpu")
    ap.add_argument("--mem-seeds", type=int, default=2)
    ap.add_argument("--grow", type=int, default=10)
    ap.add_argument("--grow-along", choices=("sparsity", "seed"), default="sparsity")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--stored-only", action="store_true", help="time only questions the store answers")
    ap.add_argument("--repeat", type=int, default=5, help="calls per timing of --stored-only (best taken)")
    ap.add_argument("--stats-repeat", type=int, default=3, help="calls per timing of the floor and of paistats "
                    "(best taken; the two ratios use the best of each, measured in this one run)")
    ap.add_argument("--decompose", action="store_true", help="also time paistats on the tensors held in memory "
                    "(nothing read), on the threads and on one: how much of the floor its computation overlaps")
    ap.add_argument("--seed-memory", metavar="DIR", default=None, help="only the memory mode in seeds: peak RSS "
                    "of one cell with --mem-seeds and --grow × as many seeds (entries cached under DIR)")
    ap.add_argument("--mem-repeat", type=int, default=3, help="fresh processes per --seed-memory size (lowest "
                    "peak taken: the threaded scheduler's peak varies from run to run)")
    ap.add_argument("--child-rss", nargs=2, metavar=("ZOO", "ENTRY"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_rss:
        _child_rss(*args.child_rss)
        return
    if args.seed_memory:
        seed_memory(args.seed_memory, args.mem_seeds, args.grow, args.mem_repeat)
        return

    import paistats
    from paistats.stats import derived

    name = args.name
    if name is None:
        name = sorted(paistats.list_zoo(args.zoo)["arch"])[0]
    if args.stored_only:
        stored_reads(args.zoo, name, args.repeat)
        return
    obj = paistats.load(name, zoo=args.zoo)
    n_runs = int(obj["complete"].sum())
    print(f"{name}: {n_runs} complete runs, {len(paistats.layers(obj))} layers")

    io_floor(obj)  # warm the page cache and imports: every timing below reads from memory
    ours(obj)  # and load the compiled kernels (numba's cache; compiled on a machine's first run)
    t_io, c_io, _ = _best(lambda: io_floor(obj), args.stats_repeat)
    t_ours, c_ours, _ = _best(lambda: ours(obj), args.stats_repeat)
    flags, pdim, pruners, variants, sparsities, seeds = _cells(obj)
    cells = list(itertools.product(pruners, sparsities, seeds))
    rng = np.random.default_rng(0)
    sample = cells if not args.naive_cells or args.naive_cells >= len(cells) else \
        [cells[i] for i in rng.choice(len(cells), args.naive_cells, replace=False)]
    t_sample, _ = _timed(lambda: naive(obj, sample))
    t_naive = t_sample * len(cells) / len(sample)
    scaled = "" if len(sample) == len(cells) else f" (timed on {len(sample)} of {len(cells)} cells, scaled)"
    print(f"I/O floor (read + decode every needed tensor once, best of {args.stats_repeat}): {t_io:8.2f} s")
    print(f"paistats (stats + distances + noise floor + random):  {t_ours:8.2f} s   = {t_ours / t_io:5.2f}× the I/O floor "
          f"(goal ≤ 2)")
    print(f"  CPU seconds of this process (all threads; best of {args.stats_repeat}): floor {c_io:.2f} s, paistats "
          f"{c_ours:.2f} s = {c_ours / c_io:.2f}× (the wall ratio above is what a user waits; this one is the work)")
    from paistats.store import reader

    reader.DIRECT_READS = False
    try:
        t_io_z, _, _ = _best(lambda: io_floor(obj), args.stats_repeat)
        t_ours_z, _, _ = _best(lambda: ours(obj), args.stats_repeat)
    finally:
        reader.DIRECT_READS = True
    print(f"  every chunk through zarr instead (DIRECT_READS = False; best of {args.stats_repeat}): floor {t_io_z:.2f} s, "
          f"paistats {t_ours_z:.2f} s = {t_ours_z / t_io_z:.2f}× that floor; paistats' reads make the statistics "
          f"{t_ours_z / t_ours:.2f}× faster")
    files = _chunk_files(obj)
    if isinstance(files, str):
        print(f"  bytes floor: not measured ({files})")
    else:
        threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        bytes_floor(files, threads)
        t_bytes, c_bytes, n_bytes = _best(lambda: bytes_floor(files, threads), args.stats_repeat)
        print(f"  bytes floor (read + decode the {len(files)} chunk files themselves, {n_bytes / 2**20:.0f} MiB decoded, "
              f"no zarr or dask; {threads} threads, best of {args.stats_repeat}): {t_bytes:.2f} s (CPU {c_bytes:.2f} s); "
              f"the I/O floor is {t_io / t_bytes:.1f}× it, paistats {t_ours / t_bytes:.1f}×")
    if args.decompose:
        decomposition(obj, args.stats_repeat, t_io, t_ours)
    print(f"naive, Singh & Liu's way{scaled}: {t_naive:8.2f} s   = {t_naive / t_ours:5.1f}× paistats (goal ≥ 10)")

    dirs = derived.entry_dirs(obj)
    if args.write_derived:
        for d in sorted(dirs, key=lambda p: not p.name.endswith("-random")):  # random first: others use it
            derived.write_derived(d)
    fresh = [d for d in dirs if derived.read_derived(d, "layer_stats") is not None]
    if fresh and len(fresh) == len(dirs):
        from paistats.stats import distances, layer_stats

        t_pre, _ = _timed(lambda: [f(paistats.load(name, zoo=args.zoo, tensors=False)) for f in (layer_stats, distances)])
        t_again, _ = _timed(lambda: [f(paistats.load(name, zoo=args.zoo, tensors=False)) for f in (layer_stats, distances)])
        print(f"load(tensors=False) + precomputed layer_stats + distances: first call {t_pre:.2f} s, "
              f"again {t_again:.2f} s (goal < 0.5)")
    else:
        print("precomputed statistics: absent or stale (pass --write-derived to write and time them)")

    if not args.skip_memory:
        memory_growth(args.mem_arch, args.mem_dataset, args.mem_recipe, args.mem_seeds, args.grow, args.grow_along)


if __name__ == "__main__":
    main()
