"""Crash safety (SIGKILL mid-write) and concurrent writers of one entry (started on a file
barrier after their imports, and checked to have overlapped in time)."""
from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest

import paistats

# Wait until ``n`` processes have reached the barrier folder (each adds a file), then go on.
BARRIER = r"""
import json, os, sys, time
from pathlib import Path
def barrier(folder, n):
    if not folder:
        return
    (Path(folder) / str(os.getpid())).touch()
    deadline = time.monotonic() + 120
    while len(os.listdir(folder)) < n:
        if time.monotonic() > deadline:
            sys.exit("barrier: the other processes never came")
        time.sleep(0.002)
def record_span(path, t0):
    if path:
        Path(path).write_text(json.dumps([t0, time.time()]))
"""

CHILD = BARRIER + r"""
import os, pickle, signal, sys, time
import paistats.store.durable as durable
from paistats.store import writer
zoo, entry, payload_file, kill_at = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
barrier_dir, n, span = (sys.argv[5], int(sys.argv[6]), sys.argv[7]) if len(sys.argv) > 5 else ("", 0, "")
payload = pickle.load(open(payload_file, "rb"))  # written by this test just before
real = durable.durable_write
count = 0
def dying_write(path, data, **kw):
    global count
    count += 1
    if count == kill_at:  # die half-way through writing this file's temporary copy
        os.makedirs(os.path.dirname(str(path)), exist_ok=True)
        with open(str(path) + ".dead.partial", "wb") as f:
            f.write(bytes(data)[: len(bytes(data)) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    return real(path, data, **kw)
durable.durable_write = dying_write
barrier(barrier_dir, n)
t0 = time.time()
writer.write_run(zoo, entry, payload)
record_span(span, t0)
"""


def _payloads(results):
    from zoo_builder.store import payload

    return [payload(r) for r in results]


def _child(tmp_path, zoo, entry, payload, kill_at=0, barrier=None, n=0):
    f = tmp_path / f"payload-{payload.hash}.pkl"
    f.write_bytes(pickle.dumps(payload))
    extra = [str(barrier), str(n), str(tmp_path / f"span-{payload.hash}.json")] if barrier else []
    return subprocess.Popen([sys.executable, "-c", CHILD, str(zoo), entry, str(f), str(kill_at), *extra])


def _spans(tmp_path) -> list[list[float]]:
    return [json.loads(p.read_text()) for p in sorted(tmp_path.glob("span-*.json"))]


def _overlapped(spans) -> bool:
    """Every process started before any finished: all of them were working at one moment."""
    return max(s[0] for s in spans) < min(s[1] for s in spans)


def _count_writes(tmp_path, zoo, entry, payload, monkeypatch):
    import paistats.store.durable as durable
    from paistats.store import writer

    scratch = tmp_path / "count"
    shutil.copytree(zoo, scratch)
    calls = []
    real = durable.durable_write
    monkeypatch.setattr(durable, "durable_write", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    writer.write_run(scratch, entry, payload)
    monkeypatch.setattr(durable, "durable_write", real)
    return len(calls)


def test_killed_writer_leaves_entry_loadable_and_run_incomplete(tmp_path, small_results, monkeypatch):
    from zoo_builder import store

    zoo = tmp_path / "zoo"
    done, victim = small_results[:2], small_results[2]  # victim shares seed 0: shared shards exist
    (entry,) = store.plan_entries(zoo, [r.spec for r in small_results[:4]])
    for r in done:
        store.write_run(zoo, r)
    p_victim = _payloads([victim])[0]
    n = _count_writes(tmp_path, zoo, entry, p_victim, monkeypatch)
    assert n > 5
    for kill_at in (1, n // 2, n):  # first file, middle, the completion flag itself
        proc = _child(tmp_path, zoo, entry, p_victim, kill_at)
        assert proc.wait(timeout=60) == -9
        assert store.completed(zoo, entry) == {r.spec.hash for r in done}
        tree = paistats.load(entry, zoo=zoo)
        assert not tree["complete"].sel(variant="reinit", sparsity=0.0, seed=0).values
        for r in done:
            cell = dict(variant=r.spec.variant, sparsity=r.spec.sparsity, seed=r.spec.seed)
            np.testing.assert_array_equal(tree["fc.1.weight"]["trained"].sel(cell).values,
                                          r.trained["fc.1.weight"].numpy())
            np.testing.assert_array_equal(tree["fc.1.weight"]["init"].sel(seed=0).values,
                                          r.initial["fc.1.weight"].numpy())
            assert tree["accuracy"].sel(cell).values == r.accuracy
    store.write_run(zoo, victim)  # a rerun completes it
    assert store.completed(zoo, entry) == {r.spec.hash for r in small_results[:3]}
    store.finalize(zoo, entry)
    assert not list((zoo / entry).rglob("*.partial")) and paistats.verify(zoo / entry).ok


def test_two_processes_write_runs_of_one_entry_at_once(tmp_path, small_results):
    from zoo_builder import store

    zoo = tmp_path / "zoo"
    runs = small_results[:4]
    (entry,) = store.plan_entries(zoo, [r.spec for r in runs])
    payloads = _payloads(runs)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = [_child(tmp_path, zoo, entry, p, barrier=barrier, n=len(payloads)) for p in payloads]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    spans = _spans(tmp_path)
    assert len(spans) == 4 and _overlapped(spans), spans
    assert store.completed(zoo, entry) == {r.spec.hash for r in runs}
    tree = paistats.load(entry, zoo=zoo)
    for r in runs:
        cell = dict(variant=r.spec.variant, sparsity=r.spec.sparsity, seed=r.spec.seed)
        for name in r.masks:
            np.testing.assert_array_equal(tree[name]["trained"].sel(cell).values, r.trained[name].numpy())
            np.testing.assert_array_equal(tree[name]["mask"].sel(cell).values, r.masks[name].numpy())


PLANNER = BARRIER + r"""
import sys, time
from zoo_builder import RunSpec, store
from zoo_builder.training.recipes import RECIPES
r = RECIPES.get("smoke").with_(epochs=1)
seeds = [int(s) for s in sys.argv[2].split(",")]
specs = [RunSpec("mnist1d_mlp", "mnist1d", "magnitude", "original", 0.5, s, r) for s in seeds]
store.entry_plan(specs)  # warm the model/tensor caches before the barrier
barrier(sys.argv[3], 2)
t0 = time.time()
store.plan_entries(sys.argv[1], specs)
record_span(sys.argv[4], t0)
"""


def test_concurrent_planning_unions_the_grids(tmp_path):
    zoo, barrier = tmp_path / "zoo", tmp_path / "barrier"
    barrier.mkdir()
    procs = [subprocess.Popen([sys.executable, "-c", PLANNER, str(zoo), seeds, str(barrier),
                               str(tmp_path / f"span-{i}.json")]) for i, seeds in enumerate(("0,1", "1,2"))]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    spans = _spans(tmp_path)
    assert len(spans) == 2 and _overlapped(spans), spans
    tree = paistats.load("mnist1d_mlp-magnitude", zoo=zoo)
    assert sorted(tree["seed"].values.tolist()) == [0, 1, 2] and len(tree.attrs["runs"]) == 3
