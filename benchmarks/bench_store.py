"""Zoo store benchmarks (plain script; prints measurements and the ratios the targets are about).

Targets (issue 3):
- ``paistats.load`` of a cached entry < 0.5 s, and flat when the entry grows 10× (metadata only);
- bytes on disk ≤ 0.5 × the same tensors saved as one ``torch.save`` checkpoint per run;
- streaming read of every trained weight ≥ 50 % of the speed of reading the same bytes from raw files.

Synthetic runs with LeNet-300-100 shapes (266k weights) are written through the real writer.
Usage: ``python benchmarks/bench_store.py [--seeds 2] [--grow 10]``
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def synthetic_payload(spec, tensors, rng):
    from paistats.store.plan import RunPayload

    initial, reinit, trained, scores, masks = {}, {}, {}, {}, {}
    seeded = np.random.default_rng(spec.seed)
    for t in tensors:
        shape, dtype = t.shape, np.dtype(t.dtype)
        initial[t.name] = (seeded.standard_normal(shape) * 0.05).astype(dtype)
        reinit[t.name] = (seeded.standard_normal(shape) * 0.05).astype(dtype)
    for t in tensors:
        w = initial[t.name]
        if t.prunable:
            scores[t.name] = np.abs(w)
            keep = rng.random(t.shape) >= spec.sparsity
            masks[t.name] = keep
            trained[t.name] = np.where(keep, w + rng.standard_normal(t.shape).astype(w.dtype) * 0.01, 0).astype(w.dtype)
        else:
            trained[t.name] = w + 0.01
    return RunPayload(spec.hash, spec.variant, spec.sparsity, spec.seed, initial, reinit, trained, scores, masks,
                      {"train_loss": [1.0] * spec.recipe.epochs, "test_loss": [1.0] * spec.recipe.epochs,
                       "test_accuracy": [0.9] * spec.recipe.epochs}, 0.9, 1 - spec.sparsity, 1.0)


def drop_page_cache() -> bool:
    """Drop the OS page cache (Linux, root) so the next read comes from disk; False if not allowed."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def time_load(name, zoo, repeats=5):
    import paistats

    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        paistats.load(name, zoo=zoo)
        best = min(best, time.perf_counter() - t)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--grow", type=int, default=10)
    args = ap.parse_args()
    import torch

    from paistats.store import writer
    from zoo_builder import RunSpec, store

    rng = np.random.default_rng(0)
    variants, sparsities = ("original", "shuffle", "reinit", "invert"), (0.5, 0.9)
    with tempfile.TemporaryDirectory() as tmp:
        zoo = Path(tmp) / "zoo"

        def specs(seeds):
            return [RunSpec("lenet300", "mnist", "magnitude", v, s, k, "lenet_mnist_cpu")
                    for v in variants for s in sparsities for k in seeds]

        small = specs(range(args.seeds))
        (entry,) = store.plan_entries(zoo, small)
        tensors = store.entry_plan(small).tensors
        payloads = {}
        t0 = time.perf_counter()
        for s in small:
            payloads[s.hash] = p = synthetic_payload(s, tensors, rng)
            writer.write_run(zoo, entry, p)
        write_s = (time.perf_counter() - t0) / len(small)
        store.finalize(zoo, entry)
        load_small = time_load(entry, zoo)

        # --- bytes on disk vs one torch.save checkpoint per run
        ckpt_dir = Path(tmp) / "ckpt"
        ckpt_dir.mkdir()
        raw_dir = Path(tmp) / "raw"
        raw_dir.mkdir()
        for h, p in payloads.items():
            as_t = {k: {n: torch.from_numpy(np.ascontiguousarray(v)) for n, v in getattr(p, k).items()}
                    for k in ("initial", "reinit", "trained", "scores", "masks")}
            torch.save(as_t, ckpt_dir / f"{h}.pt")
            for n, v in p.trained.items():  # the raw-file baseline for streaming reads
                if any(t.name == n and t.prunable for t in tensors):
                    np.ascontiguousarray(v).tofile(raw_dir / f"{h}-{n}.bin")
        disk_ratio = du(zoo / entry) / du(ckpt_dir)

        # --- streaming read of every trained weight, from disk (page cache dropped before each
        # read, as for a zoo larger than memory) and from a warm page cache
        import dask

        import paistats

        tree = paistats.load(entry, zoo=zoo)
        arrays = [tree[name]["trained"].data for name in paistats.layers(tree)]
        raw_files = sorted(raw_dir.iterdir())
        nbytes = sum(a.nbytes for a in arrays)

        def read_zarr():
            dask.compute(*arrays)

        def read_raw():
            [np.fromfile(f, dtype=np.float32) for f in raw_files]

        def warm_code():
            # dropping the page cache also evicts the pages of loaded libraries; page the code
            # back in on data the timed reads do not touch, so only the tensor bytes come cold
            dask.compute(tree["accuracy"].data, tree[paistats.layers(tree)[0]]["init"].data)
            np.fromfile(ckpt_dir / next(iter(payloads)).__add__(".pt"), dtype=np.uint8)

        stream = {}
        for cache in ("cold", "warm"):
            if cache == "cold" and not drop_page_cache():
                continue
            best_z = best_r = float("inf")
            for _ in range(3):
                for fn, which in ((read_zarr, "z"), (read_raw, "r")):
                    if cache == "cold":
                        drop_page_cache()
                        warm_code()
                    else:
                        fn()
                    t = time.perf_counter()
                    fn()
                    dt = time.perf_counter() - t
                    if which == "z":
                        best_z = min(best_z, dt)
                    else:
                        best_r = min(best_r, dt)
            stream[cache] = (best_z, best_r)

        # --- grow 10× along seed and load again
        big = specs(range(args.seeds * args.grow))
        store.plan_entries(zoo, big)
        for s in big[:: max(1, len(big) // 16)]:
            if s.hash not in payloads:
                writer.write_run(zoo, entry, synthetic_payload(s, tensors, rng))
        load_big = time_load(entry, zoo)

    print(f"runs written: {len(small)} (LeNet-300-100 shapes), {write_s * 1000:.0f} ms per run")
    print(f"load() cached entry: {load_small * 1000:.0f} ms ({len(small)} runs) -> {load_big * 1000:.0f} ms "
          f"after growing {args.grow}x; target < 500 ms and flat: ratio big/small = {load_big / load_small:.2f}")
    print(f"bytes on disk / torch.save per run = {disk_ratio:.3f} (target <= 0.5)")
    for cache, (best_z, best_r) in stream.items():
        print(f"streaming read of trained weights ({cache} page cache): {nbytes / best_z / 1e6:.0f} MB/s vs "
              f"raw files {nbytes / best_r / 1e6:.0f} MB/s: ratio {best_r / best_z:.2f} (target >= 0.5)")
    if "cold" not in stream:
        print("(cold-cache read not measured: /proc/sys/vm/drop_caches is not writable; run as root)")

if __name__ == "__main__":
    main()
