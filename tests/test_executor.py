"""Dask execution: tasks, skipping complete runs, failures, dense sharing, worker pinning."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from zoo_builder import cli, config, executor, plan, presets, store, testing
from zoo_builder.executor import ClusterOptions, TaskOptions
from zoo_builder.progress import Progress

from _runs import assert_same_entries, paistats_ok

ROOT = Path(__file__).resolve().parents[1]
IN_PROCESS = ClusterOptions(workers=2, in_process=True)


def smoke_plan(*only):
    return plan.from_config(presets.load("smoke")).select(plan.parse_filters(list(only)))


def all_complete(zoo: Path, p) -> bool:
    done = set()
    for e in p.entries():
        done |= store.completed(zoo, e)
    return {s.hash for s in p.specs} <= done


def test_build_then_rerun_skips_everything(tmp_path):
    p = smoke_plan("method=snip,synflow", "sparsity=0,0.9")
    zoo = tmp_path / "zoo"
    s1 = executor.build(p, zoo, IN_PROCESS)
    assert s1.ok and s1.done == len(p) == 2 * 4 + 2 and s1.skipped == 0
    assert all_complete(zoo, p)
    s2 = executor.build(p, zoo, IN_PROCESS)
    assert s2.ok and s2.done == 0 and s2.skipped == len(p)
    for e in p.entries():
        assert paistats_ok(zoo / e)


def test_injected_failure_is_recorded_and_the_rest_complete(tmp_path, capsys, monkeypatch):
    p = smoke_plan("method=snip,random", "sparsity=0.9")
    zoo = tmp_path / "zoo"
    monkeypatch.setenv(testing.FAIL_ENV, "method=snip,variant=shuffle")
    rc = cli.main(["--preset", "smoke", "--only", "method=snip,random", "--only", "sparsity=0.9",
                   "--workers", "2", "--in-process", "--zoo", str(zoo)])
    out, err = capsys.readouterr()
    assert rc == 1
    bad = next(s for s in p.specs if s.method == "snip" and s.variant == "shuffle")
    assert "failed runs (1):" in out and bad.hash in out and "injected failure" in out
    assert set(store.failures(zoo, bad.entry)) == {bad.hash}  # that run only, recorded in its entry
    assert store.failures(zoo, "mnist1d_mlp-mnist1d-random") == {}
    assert "TrainingDiverged: injected failure" in store.failures(zoo, bad.entry)[bad.hash]
    done = store.completed(zoo, bad.entry) | store.completed(zoo, "mnist1d_mlp-mnist1d-random")
    assert done == {s.hash for s in p.specs} - {bad.hash}
    # without the hook the next build retries only the failed run, and it succeeds
    monkeypatch.delenv(testing.FAIL_ENV)
    s = executor.build(p, zoo, IN_PROCESS)
    assert s.ok and s.done == 1 and s.skipped == len(p) - 1
    assert store.failures(zoo, bad.entry) == {}


def test_injected_failures_and_skip_failed(tmp_path):
    p = smoke_plan("method=random")
    zoo = tmp_path / "zoo"
    inject = testing.parse_fail_spec("method=random,sparsity=0.5")
    s = executor.build(p, zoo, IN_PROCESS, inject_failure=inject)
    bad = {x.hash for x in p.specs if x.sparsity == 0.5}
    assert len(bad) == 4 and set(s.failed) == bad and s.done == len(p) - 4
    s2 = executor.build(p, zoo, IN_PROCESS, skip_failed=True)
    assert s2.done == 0 and not s2.failed and s2.skipped == len(p) - 4
    assert not bad & store.completed(zoo, p.specs[0].entry)


def test_training_diverged_is_a_recorded_failure(tmp_path, monkeypatch):
    """A real TrainingDiverged from training (not the hook) is caught per run."""
    from zoo_builder import training
    from zoo_builder.training import TrainingDiverged

    p = smoke_plan("method=magnitude", "sparsity=0.5")
    calls = {"n": 0}
    original = training.train

    def flaky(model, masks, recipe, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise TrainingDiverged("training loss became nan in epoch 1")
        return original(model, masks, recipe, *a, **k)

    monkeypatch.setattr(training, "train", flaky)
    zoo = tmp_path / "zoo"
    (task,) = p.tasks
    store.plan_entries(zoo, p.specs)
    metas = executor.run_task(list(task.specs), TaskOptions(zoo_dir=str(zoo)), task.id)
    assert [m["status"] for m in metas] == ["done", "failed", "done", "done"]
    assert "nan" in metas[1]["error"]
    assert set(store.failures(zoo, p.specs[0].entry)) == {task.specs[1].hash}


def test_task_returns_small_metadata_only(tmp_path):
    p = smoke_plan("method=grasp", "sparsity=0.5")
    zoo = tmp_path / "zoo"
    store.plan_entries(zoo, p.specs)
    metas = executor.run_task(list(p.tasks[0].specs), TaskOptions(zoo_dir=str(zoo)))
    for m in metas:
        assert all(isinstance(v, (str, int, float)) for v in m.values())
    assert all(len(repr(m)) < 800 for m in metas)  # scalars and timings only, no tensors


def test_dense_baselines_share_one_training_bit_identically(tmp_path):
    """The dense task trains once; the other methods' dense runs equal what run() gives them."""
    from zoo_builder import run

    p = smoke_plan("sparsity=0", "method=random,snip,synflow")
    (task,) = p.tasks
    assert task.dense and len(task.specs) == 3
    zoo = tmp_path / "zoo"
    store.plan_entries(zoo, p.specs)
    metas = executor.run_task(list(task.specs), TaskOptions(zoo_dir=str(zoo)))
    assert [m["status"] for m in metas] == ["done"] * 3
    shared = executor._reuse_dense(run(task.specs[0]), task.specs[2], "cpu", None)
    direct = run(task.specs[2])
    for field in ("initial", "reinit", "scores", "masks", "trained"):
        a, b = getattr(shared, field), getattr(direct, field)
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), field
    assert shared.history == direct.history | {"seconds": shared.history["seconds"]}
    assert shared.accuracy == direct.accuracy


def test_amp_and_channels_last_run_on_cpu(tmp_path):
    p = plan.from_config(config.parse({"grids": [{
        "arch": "digits_cnn", "dataset": "digits", "recipe": {"base": "smoke", "epochs": 1},
        "methods": ["magnitude"], "variants": ["original"], "sparsities": [0.5], "dense": False}]}))
    zoo = tmp_path / "zoo"
    s = executor.build(p, zoo, ClusterOptions(workers=1, in_process=True), amp=True, channels_last=True)
    assert s.ok and s.done == 1
    assert all_complete(zoo, p.with_amp())  # AMP is part of a run's identity
    assert not all_complete(zoo, p)


def test_gpu_workers_are_pinned_one_device_each(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5,7")
    _, workers = executor.cluster_spec(ClusterOptions(gpus=2))
    assert [w["options"]["env"]["CUDA_VISIBLE_DEVICES"] for w in workers.values()] == ["3", "5"]
    assert all(w["options"]["nthreads"] == 1 and w["options"]["resources"] == {"GPU": 1} for w in workers.values())
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    _, workers = executor.cluster_spec(ClusterOptions(gpus=3))
    assert [w["options"]["env"]["CUDA_VISIBLE_DEVICES"] for w in workers.values()] == ["0", "1", "2"]


def test_cpu_workers_split_the_cores():
    _, workers = executor.cluster_spec(ClusterOptions(workers=2))
    cores = executor.available_cores()
    for w in workers.values():
        assert w["options"]["nthreads"] == 1
        assert w["options"]["env"]["CUDA_VISIBLE_DEVICES"] == ""
        assert w["options"]["env"]["OMP_NUM_THREADS"] == str(max(1, cores // 2))


def test_progress_counts_and_quiet(capsys):
    import io

    buf = io.StringIO()
    pr = Progress(stream=buf, bar=False)
    pr.start(total=3, done=1)
    pr.update({"hash": "a", "entry": "e", "variant": "original", "sparsity": 0.5, "seed": 0,
               "status": "done", "accuracy": 0.5, "seconds": 1.0})
    pr.update({"hash": "b", "entry": "e", "variant": "invert", "sparsity": 0.5, "seed": 0,
               "status": "failed", "error": "boom"})
    pr.close()
    text = buf.getvalue()
    assert "resuming: 1 of 3" in text and "[2/3]" in text and "[3/3]" in text and "FAILED boom" in text
    assert "runs/h" in text and "ETA" in text
    quiet = io.StringIO()
    pq = Progress(stream=quiet, quiet=True)
    pq.start(total=3, done=1)
    pq.update({"hash": "a", "entry": "e", "variant": "original", "sparsity": 0.5, "seed": 0, "status": "done",
               "accuracy": 0.5, "seconds": 1.0})
    assert quiet.getvalue() == ""


def test_worker_processes_build_matches_in_process_build(tmp_path):
    """Real Nanny worker processes (python -m zoo_builder --workers 2) give the same entry bytes."""
    only = ["--only", "method=magnitude,grasp", "--only", "sparsity=0,0.9"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    a, b = tmp_path / "procs", tmp_path / "threads"
    proc = subprocess.run([sys.executable, "-m", "zoo_builder", "--preset", "smoke", *only, "--workers", "2",
                           "--zoo", str(a), "--quiet"], capture_output=True, text=True, env=env, cwd=tmp_path,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout == ""
    p = smoke_plan("method=magnitude,grasp", "sparsity=0,0.9")
    assert executor.build(p, b, ClusterOptions(workers=2, in_process=True)).ok
    assert_same_entries(a, b, p.entries())


# ----------------------------------------------------------------------------- calibrated estimate

class FakeClock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _done(worker: str, i: int = 0) -> dict:
    return {"hash": f"h{worker}{i}", "entry": "e", "variant": "original", "sparsity": 0.5, "seed": 0,
            "status": "done", "accuracy": 0.9, "seconds": 1.0, "worker": worker}


def test_remaining_seconds_is_runs_times_seconds_per_run_over_workers():
    from zoo_builder.progress import remaining_seconds

    assert remaining_seconds(100, 4.5, 2) == 225.0
    assert remaining_seconds(0, 4.5, 3) == 0.0
    with pytest.raises(ValueError, match="workers ≥ 1"):
        remaining_seconds(10, 1.0, 0)


def test_calibration_times_intervals_between_a_workers_completions():
    from zoo_builder.progress import Calibration

    cal = Calibration(workers=2, runs=2)
    # worker a finishes at 10, 14, 18; worker b at 30 (its start-up), 36, 42: intervals 4, 4, 6, 6
    for worker, t in [("a", 10), ("a", 14), ("b", 30), ("a", 18), ("b", 36)]:
        cal.observe(worker, t)
        assert not cal.ready
    cal.observe("b", 42)
    assert cal.ready and cal.intervals == 4
    assert cal.seconds_per_run == 5.0  # (4 + 4 + 6 + 6) / 4; the first completions are not intervals
    e = cal.estimate(remaining_runs=60, elapsed=42.0)
    assert e.remaining == 60 * 5.0 / 2 and e.total == 42.0 + 150.0


def test_progress_prints_the_calibrated_estimate_once_from_its_clock():
    import io

    clock = FakeClock(0.0)
    buf = io.StringIO()
    pr = Progress(stream=buf, bar=False, clock=clock, calibration_runs=2)
    pr.start(total=20, done=2, workers=2)
    assert pr.calibrated is None
    # the first completion per worker comes after 9 s of start-up; then each run takes 3 s (a) or 5 s (b)
    times = {"a": [9, 12, 15, 18], "b": [9, 14, 19]}
    events = sorted((t, w) for w, ts in times.items() for t in ts)
    for i, (t, w) in enumerate(events):
        clock.t = float(t)
        pr.update(_done(w, i))
    e = pr.calibrated
    # completions a 9, b 9, a 12, b 14, a 15, a 18, b 19: the 4th interval (a 15→18) makes it ready,
    # on intervals a 3, 3, 3 and b 5, with 6 events in (8 of 20 runs done)
    assert e.runs_measured == 4 and e.seconds_per_run == 3.5
    assert e.elapsed == 18.0
    assert e.remaining_runs == 12 and e.remaining == 12 * 3.5 / 2
    text = buf.getvalue()
    assert text.count("calibrated on 4 runs: 3.50 s/run per worker") == 1
    assert "whole build ≈ 39 s" in text  # 18 s elapsed + 21 s to go
    # later ETAs come from the calibration (runs left × s/run / workers), not from the start-up-laden rate
    clock.t = 21.0
    pr.update(_done("a", 99))
    assert pr.remaining() == pytest.approx((20 - 10) * (3 + 3 + 3 + 5 + 5 + 3) / 6 / 2)
    clock.t = 60.0
    pr.close()
    assert buf.getvalue().splitlines()[-1] == ("took 60 s; the estimate calibrated on the first 4 runs said 39 s "
                                               "(-35%)")


def test_calibration_weighs_runs_by_their_cost():
    """Cheap runs (dense baselines reusing a training) early on do not make the estimate optimistic."""
    clock = FakeClock(0.0)
    pr = Progress(quiet=True, clock=clock, calibration_runs=3)
    costs = {f"d{i}": 0.1 for i in range(5)} | {f"p{i}": 1.0 for i in range(20)}
    pr.start(total=25, done=0, workers=2, costs=costs)
    # every run takes 5 s per unit of cost. Worker a trains p0 (done at 5 s), then the five cheap
    # d's (0.5 s each: 5.5 ... 7.5 s); worker b trains p1 (5 s), p2 (10 s), ...
    events = [(5.0, "a", "p0"), (5.0, "b", "p1")] + [(5.5 + 0.5 * i, "a", f"d{i}") for i in range(5)] + \
        [(10.0, "b", "p2"), (12.5, "a", "p5")]
    for t, worker, h in events:
        clock.t = t
        pr.update({**_done(worker), "hash": h})
        if pr.calibrated is not None:
            break
    e = pr.calibrated
    # ready at b's p2 (the 6th interval): a 5 × 0.5 s for cost 0.5, b 5 s for cost 1
    assert (e.runs_measured, e.elapsed, e.remaining_runs) == (6, 10.0, 25 - 8)
    assert e.remaining == pytest.approx(17 * 1.0 * 5.0 / 2)  # p3 ... p19 left, 5 s per unit, 2 workers
    assert e.seconds_per_run == pytest.approx(7.5 / 6)  # the plain mean per run: 4.6x too optimistic
    # the printed s/run is the projection's (5 s per remaining run), not the cheap runs' plain mean
    assert pr.calibrated_text().startswith("calibrated on 6 runs: 5.00 s/run per worker; 17 runs left")


def test_skipped_runs_do_not_calibrate():
    clock = FakeClock(0.0)
    pr = Progress(quiet=True, clock=clock, calibration_runs=1)
    pr.start(total=10, done=0, workers=1)
    for t in range(5):
        clock.t = float(t)
        pr.update({**_done("a", t), "status": "skipped"})
    assert pr.calibration.intervals == 0 and pr.calibrated is None


def test_run_task_names_its_worker(tmp_path):
    p = smoke_plan("method=magnitude", "sparsity=0.9", "variant=original", "seed=0")
    from zoo_builder import store

    store.plan_entries(str(tmp_path), p.specs)
    metas = executor.run_task(list(p.specs), executor.TaskOptions(zoo_dir=str(tmp_path)))
    assert [m["worker"] for m in metas] == [f"pid{os.getpid()}"]


def test_worker_processes_start_without_dask_malloc_trim_threshold():
    """Dask's MALLOC_TRIM_THRESHOLD_ makes every training step mmap its buffers (42 % slower runs)."""
    import dask
    from distributed import Client

    default = dask.config.get("distributed.nanny.pre-spawn-environ")
    assert executor.pre_spawn_environ(default) == {k: v for k, v in default.items() if k != executor.MALLOC_TRIM}
    cluster = executor.make_cluster(ClusterOptions(workers=1))
    try:
        with Client(cluster, set_as_default=False) as client:
            seen = client.run(os.environ.get, executor.MALLOC_TRIM)
            quiet = client.run(lambda: {k: dask.config.get(k) for k in executor.QUIET_MONITORING})
            preloaded = client.run(lambda: sorted(m for m in executor.PRELOAD if m in sys.modules))
            saturation = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.WORKER_SATURATION)
            tick = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.periodic_callbacks["tick"].callback_time)
        assert list(seen.values()) == [None]
        assert list(quiet.values()) == [executor.QUIET_MONITORING]  # no stack sampling of the training thread
        assert list(preloaded.values()) == [sorted(executor.PRELOAD)]  # imported before the first task
        assert saturation == 1.0  # one task per free worker: none waits in a busy worker's queue
        assert tick == 1000  # ms: the scheduler's event-loop tick (the workers' is in QUIET_MONITORING)
    finally:
        cluster.close()


def test_cluster_start_is_closed_when_not_taken(monkeypatch):
    closed = []

    class FakeCluster:
        def close(self):
            closed.append(True)

    monkeypatch.setattr(executor, "make_cluster", lambda opts: FakeCluster())
    start = executor.ClusterStart(ClusterOptions(workers=1))
    start.discard()
    assert closed == [True]
    taken = executor.ClusterStart(ClusterOptions(workers=1))
    assert isinstance(taken.take(), FakeCluster)
    taken.discard()  # the taker closes it
    assert closed == [True]


def test_finalize_entry_hands_freed_memory_back_even_when_it_fails(monkeypatch):
    from zoo_builder import store

    calls = []
    monkeypatch.setattr(executor, "release_freed_memory", lambda: calls.append("trim") or True)
    monkeypatch.setattr(store, "finalize", lambda *a, **kw: calls.append("finalize"))
    assert executor.finalize_entry("zoo", "e") == "e"
    assert calls == ["finalize", "trim"]

    def broken(*a, **kw):
        raise OSError("disk full")

    monkeypatch.setattr(store, "finalize", broken)
    with pytest.raises(OSError):
        executor.finalize_entry("zoo", "e")
    assert calls == ["finalize", "trim", "trim"]


def test_release_freed_memory_calls_glibc_malloc_trim_on_linux():
    import platform

    released = executor.release_freed_memory()
    assert released is (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")


def test_run_task_skips_a_run_another_builder_completed_after_the_task_started(tmp_path, monkeypatch):
    """Builders may group runs into other tasks (plan.split_tail): each run is locked and checked again."""
    from zoo_builder import store

    p = smoke_plan("method=magnitude", "sparsity=0.9", "variant=original,shuffle", "seed=0")
    store.plan_entries(str(tmp_path), p.specs)
    opts = executor.TaskOptions(zoo_dir=str(tmp_path))
    assert [m["status"] for m in executor.run_task([p.specs[0]], opts)] == ["done"]  # the other builder's task
    real, calls = store.completed, []

    def scanned_before_it_finished(zoo, entry):
        calls.append(entry)
        return set() if len(calls) == 1 else real(zoo, entry)

    monkeypatch.setattr(store, "completed", scanned_before_it_finished)
    metas = executor.run_task(list(p.specs), opts)
    assert [m["status"] for m in metas] == ["skipped", "done"]
    assert len(calls) == 2  # the task's scan, then the run whose lock says it was started; not the fresh one
    assert (tmp_path / executor.LOCK_DIR / f"run-{p.specs[1].hash}.lock").read_text().startswith("started by")
