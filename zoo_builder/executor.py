"""Distributed execution of a build plan with Dask.

One engine, three ways to get workers:

- ``--gpus N``: a local :class:`distributed.SpecCluster` of N worker processes (``Nanny``), each
  with one thread and its own ``CUDA_VISIBLE_DEVICES`` (set in the worker's environment before it
  starts, as dask-cuda does), so every worker sees exactly one GPU as ``cuda:0``.
- ``--workers N``: the same on the CPU: N single-threaded worker processes with
  ``CUDA_VISIBLE_DEVICES=""`` and ``OMP_NUM_THREADS = cores // N``; each task also calls
  ``torch.set_num_threads(cores // N)``.
- ``--scheduler ADDRESS``: a :class:`distributed.Client` connected to an existing cluster
  (e.g. dask-jobqueue on SLURM, see ``docs/slurm.md``). The zoo folder must be on a shared
  file system.

One Dask task per pruning (arch, dataset, method, sparsity, seed): :func:`run_task` runs every
variant of that pruning in the worker (so :func:`zoo_builder.run.prepare` scores once), writes
each finished run through :mod:`zoo_builder.store` and returns small metadata only. The dense
baselines of one (arch, dataset, seed) are one task whose network is trained once (see
:func:`run_task`).

Order and finalize: tasks are submitted in :func:`zoo_builder.plan.schedule`'s order, and each
entry whose runs are all written is finalized (stored statistics, manifest) by
:func:`finalize_entry` on a worker while the others train (:class:`EntryTracker` says when);
entries with failures are finalized at the end, in the client.

Idempotence: runs are identified by :attr:`RunSpec.hash`; complete runs are skipped when the
plan is submitted and again inside the task (after taking a per-task file lock, so two builders
on one zoo never train the same pruning at the same time). A run that raises (e.g.
:class:`~zoo_builder.training.TrainingDiverged`) is recorded with ``store.record_failure`` and
the others go on; failed runs are retried by the next build unless ``skip_failed``.
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from paistats.vocabulary import REFERENCE_VARIANT
from zoo_builder.plan import schedule
from zoo_builder.spec import RunSpec

TOPIC = "zoo_builder.run"
LOCK_DIR = Path(".builder") / "tasks"  # under the zoo folder; hidden, never published


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# ----------------------------------------------------------------------------- options

@dataclass(frozen=True)
class TaskOptions:
    """What a task needs to know (small and picklable: it travels with every task).

    Attributes
    ----------
    zoo_dir : str
        Absolute path of the zoo (shared file system for remote workers).
    device : {"auto", "cpu", "cuda"}
        ``auto``: CUDA when the worker sees a GPU, else the CPU.
    torch_threads : int or None
        ``torch.set_num_threads`` in the worker before running (None: leave as is).
    amp : bool
        Train under ``torch.autocast`` with bfloat16 (scoring and the stored weights stay float32).
    channels_last : bool
        Train 4-D convolutions in the ``channels_last`` memory format.
    data_root : str or None
        Dataset folder (default ``$ZOO_DATA`` or ``~/.cache/zoo_builder/data`` on the worker).
    inject_failure : tuple
        TEST ONLY: predicates (see :mod:`zoo_builder.testing`) of runs made to fail.
    lock : bool
        Take the per-task file lock in ``<zoo>/.builder/tasks/``.
    """

    zoo_dir: str
    device: str = "auto"
    torch_threads: int | None = None
    amp: bool = False
    channels_last: bool = False
    data_root: str | None = None
    inject_failure: tuple = ()
    lock: bool = True


@dataclass
class ClusterOptions:
    """How to get workers: exactly one of ``gpus``, ``workers`` (CPU) or ``scheduler``."""

    gpus: int | None = None
    workers: int | None = None
    scheduler: str | None = None
    in_process: bool = False  # workers as threads of this process (tests, debugging)
    torch_threads: int | None = None
    dashboard: bool = False

    def n_workers(self) -> int:
        return self.gpus or self.workers or 1


def worker_torch_threads(opts: ClusterOptions) -> int | None:
    if opts.torch_threads:
        return opts.torch_threads
    if opts.scheduler:
        return None
    if opts.gpus:
        return 1
    return max(1, available_cores() // max(1, opts.workers or 1))


#: Modules each worker process of the builder's own cluster imports as it starts (Dask's
#: ``preload``), before its first task arrives: torch and the training code (≈ 1.5 s), which
#: then overlap the client's planning (:func:`build` starts the cluster first).
PRELOAD = ["zoo_builder.run"]


def cluster_spec(opts: ClusterOptions) -> tuple[dict, dict]:
    """``(scheduler, workers)`` specifications of the local :class:`distributed.SpecCluster`.

    ``--gpus N``: worker ``gpu-i`` is a ``Nanny`` (its own process) with one thread, resource
    ``GPU=1`` and ``CUDA_VISIBLE_DEVICES`` = the i-th device (the i-th entry of the builder's own
    ``CUDA_VISIBLE_DEVICES`` when that is set) in its ``env``, which the Nanny applies before the
    worker process starts: CUDA in that process only ever sees its own GPU, as ``cuda:0`` (the
    approach of dask-cuda's ``LocalCUDACluster``). ``--workers N``: ``cpu-i`` likewise with
    ``CUDA_VISIBLE_DEVICES=""`` and ``OMP_NUM_THREADS = cores // N`` (or in-process ``Worker``
    threads with ``in_process``). Worker processes import :data:`PRELOAD` as they start.
    """
    from distributed import Nanny, Scheduler, Worker

    if opts.in_process and opts.gpus:
        raise ValueError("--in-process works with --workers only (one CUDA device per process)")
    threads = worker_torch_threads(opts) or 1
    # ":0": a free port for the scheduler's HTTP endpoints (serves the dashboard with --dashboard)
    scheduler = {"cls": Scheduler, "options": {"dashboard_address": ":0", "dashboard": opts.dashboard}}
    workers = {}
    if opts.gpus:
        visible = [d.strip() for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
        devices = visible or [str(i) for i in range(opts.gpus)]
        if len(devices) < opts.gpus:
            raise ValueError(f"--gpus {opts.gpus}: CUDA_VISIBLE_DEVICES lists only {len(devices)} device(s)")
        for i in range(opts.gpus):
            env = {"CUDA_VISIBLE_DEVICES": devices[i], "OMP_NUM_THREADS": str(threads)}
            workers[f"gpu-{i}"] = {"cls": Nanny, "options": {"nthreads": 1, "env": env, "resources": {"GPU": 1},
                                                             "silence_logs": logging.ERROR, "preload": PRELOAD}}
    else:
        for i in range(opts.workers or 1):
            if opts.in_process:
                workers[f"cpu-{i}"] = {"cls": Worker, "options": {"nthreads": 1}}
            else:
                env = {"CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": str(threads),
                       "MKL_NUM_THREADS": str(threads)}
                workers[f"cpu-{i}"] = {"cls": Nanny, "options": {"nthreads": 1, "env": env,
                                                                 "silence_logs": logging.ERROR, "preload": PRELOAD}}
    return scheduler, workers


#: Set by Dask's Nanny (``distributed.nanny.pre-spawn-environ``) to 65536 before it spawns a worker.
#: Setting it fixes glibc's mmap threshold at 128 KiB, so every training step's batch, activation
#: and gradient buffers are mmap-ed and unmapped afresh: measured here, LeNet-300-100 runs took
#: 4.6 s instead of 3.25 s in two plain processes with the variable set (42 % slower). Memory
#: allocation does not change any arithmetic (torch aligns its buffers itself): results are the same.
MALLOC_TRIM = "MALLOC_TRIM_THRESHOLD_"


def pre_spawn_environ(environ: dict) -> dict:
    """Dask's pre-spawn environment for the builder's workers: ``environ`` without :data:`MALLOC_TRIM`."""
    return {k: v for k, v in environ.items() if k != MALLOC_TRIM}


#: Dask's monitoring, turned down in the builder's own cluster (unless ``--dashboard``, which shows
#: it): the workers' statistical profiler (a thread that samples the training thread's stack every
#: 10 ms, taking the GIL each time), the GIL-contention monitor, the system monitor (every 500 ms)
#: and the Nanny's and worker's memory monitors (every 100 ms). Measured here (2 Nanny workers,
#: LeNet-300-100 trainings): the CPU time of every process outside the training threads fell from
#: 1.29-1.33 to 1.03-1.14 s per 3.9 s training. Monitoring only: no result changes; a worker over
#: its memory limit is stopped up to 1 s after it crosses it (was 0.1 s). Also the event-loop
#: "tick" of every Dask server (scheduler, Nannies, workers), which only measures how late the
#: loop runs: every 1 s instead of every 20 ms. Measured here with two workers each running a
#: task that sleeps: the builder's process (scheduler and Nannies) used 3.1–3.6 % of a core and
#: each worker process 1.5 %, against 0.7–0.8 % and 0.3 % with the 1 s tick; over a 15 min build
#: that is about 45 CPU s of the two cores.
QUIET_MONITORING = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.tick.interval": "1s",
}

#: Dask settings of the builder's own cluster in every case: the scheduler hands a worker its
#: next task only when it is free (``worker-saturation`` 1.0; Dask's default 1.1 rounds up to two
#: tasks per one-thread worker, one of them waiting in the worker's own queue), so at the end of
#: the build the last tasks go to whichever worker frees first, and an entry's finalize task
#: (priority 1) is the next task of the next free worker. Order only: no result changes.
SCHEDULING = {"distributed.scheduler.worker-saturation": 1.0}


def make_cluster(opts: ClusterOptions):
    """Start the local cluster of :func:`cluster_spec` (None when ``opts.scheduler`` is given).

    Its worker processes start without Dask's ``MALLOC_TRIM_THRESHOLD_`` (see :data:`MALLOC_TRIM`)
    and, unless ``opts.dashboard``, with :data:`QUIET_MONITORING`; its scheduler with
    :data:`SCHEDULING`.
    """
    if opts.scheduler:
        return None
    import dask
    from distributed import SpecCluster

    environ = dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {}
    if os.environ.get(MALLOC_TRIM) == str(environ.get(MALLOC_TRIM)):
        os.environ.pop(MALLOC_TRIM)  # left in this process by an earlier Nanny (they set it here, then spawn)
    scheduler, workers = cluster_spec(opts)
    settings = {"distributed.nanny.pre-spawn-environ": pre_spawn_environ(environ), **SCHEDULING}
    if not opts.dashboard:
        settings.update(QUIET_MONITORING)
    with dask.config.set(settings):
        return SpecCluster(workers=workers, scheduler=scheduler, silence_logs=logging.ERROR, name="zoo_builder")


class ClusterStart:
    """:func:`make_cluster` run in a thread from now on, so the cluster (and its workers' imports,
    :data:`PRELOAD`) starts while the client plans the build.

    Parameters
    ----------
    opts : ClusterOptions
    """

    def __init__(self, opts: ClusterOptions) -> None:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(1, thread_name_prefix="zoo_builder-cluster-start")
        self._future = pool.submit(make_cluster, opts)
        pool.shutdown(wait=False)
        self.taken = False

    def take(self):
        """The started cluster (None for ``--scheduler``); re-raises a failed start. The caller
        closes it."""
        self.taken = True
        return self._future.result()

    def discard(self) -> None:
        """Close the cluster unless it was taken (a build with nothing to run, or one that failed
        before it submitted)."""
        if self.taken:
            return
        self.taken = True
        with contextlib.suppress(Exception):
            cluster = self._future.result()
            if cluster is not None:
                cluster.close()


# ----------------------------------------------------------------------------- worker side

def _resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but this worker sees no CUDA device")
    return device


def _resolve_device_name(device: str, cluster: ClusterOptions) -> str:
    """The device the workers will train on, as far as the client can tell (for the cost table)."""
    if device != "auto":
        return device
    return "cuda" if cluster.gpus else "cpu"


def _emit(meta: dict) -> None:
    """Send a per-run event to the client (live progress); silent outside a Dask worker."""
    try:
        from distributed import get_worker

        get_worker().log_event(TOPIC, meta)
    except Exception:  # noqa: BLE001 - no worker (sequential use) or scheduler gone
        pass


@contextlib.contextmanager
def _task_lock(zoo_dir: str, task_id: str, enabled: bool):
    """Exclusive ``flock`` on ``<zoo>/.builder/tasks/<task_id>.lock`` (released when the process dies);
    yields the lock file, open for reading and appending (None when not ``enabled``)."""
    if not enabled:
        yield None
        return
    import fcntl

    path = Path(zoo_dir) / LOCK_DIR / f"{task_id}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield f
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _mark_started(lock) -> bool:
    """Whether the held run lock ``lock`` (from :func:`_task_lock`) already says that a builder
    started its run; marks it started. False without a lock."""
    if lock is None:
        return False
    lock.seek(0)
    before = bool(lock.read(1))
    if not before:
        lock.write(f"started by {socket.gethostname()} pid {os.getpid()}\n")
        lock.flush()
    return before


def _worker_name() -> str:
    """This worker's Dask name, else ``pid<N>`` (sequential use): runs are timed per worker."""
    try:
        from distributed import get_worker

        return str(get_worker().name)
    except Exception:  # noqa: BLE001 - not inside a Dask worker
        return f"pid{os.getpid()}"


def _meta(spec: RunSpec, status: str, **kw) -> dict:
    return {"hash": spec.hash, "entry": spec.entry, "variant": spec.variant, "sparsity": spec.sparsity,
            "seed": spec.seed, "method": spec.method, "status": status, **kw}


def _build_info(opts: TaskOptions, device: str) -> dict:
    import torch

    return {"device": device, "amp": opts.amp, "channels_last": opts.channels_last,
            "torch_threads": torch.get_num_threads(), "host": socket.gethostname(),
            "torch": torch.__version__}


def _reuse_dense(base, spec: RunSpec, device: str, data_root):
    """The dense baseline of ``spec.method`` from another method's dense run ``base`` (see
    :func:`zoo_builder.run.reuse_dense`); None when it cannot be shared."""
    from zoo_builder.run import reuse_dense

    return reuse_dense(base, spec, device=device, data_root=data_root)


def run_task(specs: list[RunSpec], opts: TaskOptions, task_id: str | None = None) -> list[dict]:
    """Run the not-yet-complete ``specs`` of one task in this process; write each through the store.

    Returns one small metadata dict per spec (``status``: ``done`` / ``failed`` / ``skipped``;
    ``accuracy``, ``seconds`` (wall) and ``cpu`` (CPU seconds of this process) of the run and its
    store write, ``started`` / ``finished`` (epoch seconds) and ``phase_<part>`` (wall seconds of
    its parts: each of :attr:`zoo_builder.run.RunResult.timings` and ``write``), or ``error``;
    ``worker``: the worker's name). Never returns tensors.

    With ``opts.lock``, the task holds ``<zoo>/.builder/tasks/<task_id>.lock`` and each run
    ``run-<spec hash>.lock`` while it runs; a run whose lock file says that a builder started it
    before is checked again once the lock is held, and skipped if it is complete: two builders
    never train one run twice, whatever tasks they grouped it in (a build alone on its zoo reads
    no extra completion list).
    """
    import torch

    from zoo_builder import store, testing
    from zoo_builder.run import run
    from zoo_builder.training import TrainingDiverged

    if opts.torch_threads:
        torch.set_num_threads(opts.torch_threads)
    device = _resolve_device(opts.device)
    task_id = task_id or "-".join(sorted(s.hash for s in specs))[:64]
    worker = _worker_name()
    out: list[dict] = []
    shared = None  # dense task: the first successful dense run

    def one(spec: RunSpec) -> dict:
        nonlocal shared
        start, cpu, started = time.perf_counter(), time.process_time(), time.time()
        try:
            if opts.inject_failure and testing.matches(spec, opts.inject_failure):
                raise TrainingDiverged(testing.INJECTED)
            result = None
            if shared is not None and spec.sparsity == 0.0:
                result = _reuse_dense(shared, spec, device, opts.data_root)
            if result is None:
                result = run(spec, device=device, data_root=opts.data_root, channels_last=opts.channels_last)
                result.extra.setdefault("build", _build_info(opts, device))
                if spec.sparsity == 0.0 and spec.variant == REFERENCE_VARIANT:
                    shared = result
            mark = time.perf_counter()
            store.write_run(opts.zoo_dir, result)
            phases = {f"phase_{k}": v for k, v in {**result.timings, "write": time.perf_counter() - mark}.items()}
            return _meta(spec, "done", accuracy=float(result.accuracy), density=float(result.density),
                         seconds=time.perf_counter() - start, cpu=time.process_time() - cpu, worker=worker,
                         started=started, finished=time.time(), **phases)
        except Exception as e:  # noqa: BLE001 - any run failure is recorded, the others go on
            error = f"{type(e).__name__}: {e}"
            store.record_failure(opts.zoo_dir, spec, error)
            return _meta(spec, "failed", error=error, seconds=time.perf_counter() - start, worker=worker)

    with _task_lock(opts.zoo_dir, task_id, opts.lock):
        complete: dict[str, set] = {}
        for entry in dict.fromkeys(s.entry for s in specs):
            complete[entry] = set(store.completed(opts.zoo_dir, entry))
        for spec in specs:
            # Each run under its own lock too: another builder's tasks may group the runs otherwise
            # (plan.split_tail depends on its workers and remaining runs). A run whose lock file
            # already says it was started is checked again once the lock is held.
            with _task_lock(opts.zoo_dir, f"run-{spec.hash}", opts.lock) as lock:
                started_before = _mark_started(lock)
                if spec.hash in complete[spec.entry] or (
                        started_before and spec.hash in store.completed(opts.zoo_dir, spec.entry)):
                    meta = _meta(spec, "skipped")
                else:
                    meta = one(spec)
            out.append(meta)
            _emit(meta)
    return out


def finalize_entry(zoo_dir: str, entry: str, derived: bool = True) -> str:
    """:func:`zoo_builder.store.finalize` of one complete entry, run as a task on a worker.

    Its statistics run on dask's threaded scheduler inside this process (never on the build's
    own cluster, whose worker threads run the training tasks). Returns ``entry``.
    """
    import dask

    from zoo_builder import store

    try:
        with dask.config.set(scheduler="threads"):
            store.finalize(zoo_dir, entry, derived=derived)
    finally:
        release_freed_memory()
    return entry


def release_freed_memory() -> bool:
    """Hand the C heap's free pages back to the system (glibc's ``malloc_trim(0)``).

    An entry's statistics run in a worker process that also trains: they allocate a few hundred
    MiB from the arenas of dask's scheduler threads, and glibc keeps what they free in those
    arenas, which the training thread does not reuse. Measured on a ``mini`` entry in a process
    holding torch and MNIST: 1045 MiB before, 1437 MiB at the peak, 1346 MiB after, 1180 MiB
    after the trim. Memory only; no result changes.

    Returns
    -------
    bool
        Whether glibc's ``malloc_trim`` was found and called (False elsewhere, e.g. musl or macOS).
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return False
    trim(0)
    return True


class EntryTracker:
    """Which entries of a build are complete, so each can be finalized while the others train.

    An entry is ready when every run of it that this build runs has been reported without a
    failure and, unless it is a random-pruner entry, the random-pruner entry of its (arch,
    dataset), if the build has one, has been finalized (:meth:`finished`): every entry's distances
    read the random entry's tensors, which are then complete and no longer touched, as in
    :func:`zoo_builder.store.finalize_entries`'s order. Entries with a failed run (and the entries
    that need them) are left to the end of the build.

    Parameters
    ----------
    specs : list of RunSpec
        Every run of the plan.
    todo : iterable of RunSpec
        The runs this build runs (the others are complete already).
    """

    def __init__(self, specs, todo) -> None:
        from paistats.vocabulary import RANDOM_PRUNER

        self.entries = list(dict.fromkeys(s.entry for s in specs))
        self.pending: dict[str, set] = {e: set() for e in self.entries}
        for s in todo:
            self.pending[s.entry].add(s.hash)
        randoms = {(s.arch, s.dataset): s.entry for s in specs if s.method == RANDOM_PRUNER}
        self.needs = {s.entry: randoms.get((s.arch, s.dataset)) for s in specs}
        for e, r in self.needs.items():
            if r == e:
                self.needs[e] = None
        self.failed: set[str] = set()
        self.started: list[str] = []
        self.done: set[str] = set()

    def update(self, meta: dict) -> None:
        """Count a run's outcome (``run_task``'s metadata)."""
        self.pending[meta["entry"]].discard(meta["hash"])
        if meta["status"] == "failed":
            self.failed.add(meta["entry"])

    def finished(self, entry: str) -> None:
        """Note that ``entry`` has been finalized."""
        self.done.add(entry)

    def ready(self) -> list[str]:
        """Entries complete now and not yet handed out (random-pruner entries first); marks them handed out."""
        from zoo_builder import store

        out = [e for e in store.statistics_order(self.entries)
               if e not in self.started and not self.pending[e] and e not in self.failed
               and (self.needs[e] is None or self.needs[e] in self.done)]
        self.started += out
        return out


# ----------------------------------------------------------------------------- client side

@dataclass
class Summary:
    """Outcome of a build."""

    plan_name: str
    zoo_dir: str
    total: int
    skipped: int = 0            # already complete when the build started
    done: int = 0               # written by this build
    failed: dict = field(default_factory=dict)  # hash -> (meta dict)
    seconds: float = 0.0
    entries: list = field(default_factory=list)
    disconnected: int = 0       # complete runs of the entries whose pruned network carries no signal
    #: Epoch seconds of the build's steps on the client: ``start``, ``prepared`` (entries planned,
    #: complete runs listed), ``cluster`` (client connected), ``submitted``, ``trained`` (last task
    #: returned), ``finalized`` (every entry's statistics and manifest written); ``finalize
    #: submitted <entry>`` / ``finalize returned <entry>`` for each entry finalized on a worker.
    #: Timings only.
    timeline: dict = field(default_factory=dict)
    #: Entries finalized (statistics, manifest) on the workers while the build still trained others.
    finalized_early: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def runs_per_hour(self) -> float:
        return self.done / self.seconds * 3600 if self.seconds > 0 else 0.0

    def text(self) -> str:
        from zoo_builder.plan import _fmt_duration

        head = (f"built plan {self.plan_name!r} into {self.zoo_dir}: {self.total} runs "
                f"({self.done} run now, {self.skipped} already complete, {len(self.failed)} failed) "
                f"in {_fmt_duration(self.seconds)} ({self.runs_per_hour():.0f} runs/h)")
        lines = [head]
        if self.disconnected:
            lines.append(f"{self.disconnected} complete run(s) are disconnected (a prunable layer at density 0 or no "
                         "signal from input to output, e.g. inverted SynFlow): root variable `disconnected`")
        if self.failed:
            lines.append(f"failed runs ({len(self.failed)}):")
            for h, m in self.failed.items():
                lines.append(f"  {m['entry']} variant={m['variant']} sparsity={m['sparsity']:g} "
                             f"seed={m['seed']} [{h}]: {m.get('error', '?')}")
        return "\n".join(lines)


def _count_disconnected(zoo_dir: str, entries: list[str]) -> int:
    """Complete runs flagged ``disconnected`` in ``entries`` (two small root arrays per entry)."""
    import numpy as np

    from paistats.store.reader import open_group

    n = 0
    for e in entries:
        group = open_group(Path(zoo_dir) / e)
        n += int(np.sum(np.asarray(group["disconnected"][...]) & np.asarray(group["complete"][...])))
    return n


def build(plan, zoo_dir: str | os.PathLike, cluster: ClusterOptions, *, device: str = "auto",
          amp: bool = False, channels_last: bool = False, data_root: str | None = None,
          skip_failed: bool = False, progress=None, lock: bool = True,
          inject_failure: tuple = (), derived: bool = True) -> Summary:
    """Build every run of ``plan`` into ``zoo_dir`` on a Dask cluster; resume where it stopped.

    A local cluster starts at once, in a thread (:class:`ClusterStart`), while the entries are
    planned and the complete runs listed; it is closed again when nothing is left to run.

    Parameters
    ----------
    plan : zoo_builder.plan.Plan
    zoo_dir : path
        The zoo folder (created if missing).
    cluster : ClusterOptions
        Local GPU/CPU workers, or the address of an existing scheduler.
    device : {"auto", "cpu", "cuda"}
    amp, channels_last : bool
        CUDA speed options (see :class:`TaskOptions`); they run on the CPU as well.
    skip_failed : bool
        Do not retry runs that a previous build recorded as failed.
    derived : bool
        Run the builder's derived step for each entry before its manifest is written
        (:func:`zoo_builder.store.finalize_entries`: layer statistics, distances and noise floors,
        as ``paistats stats`` stores them).
    progress : zoo_builder.progress.Progress, optional
        Receives ``start(total, done, workers, costs)`` (``costs``: each remaining run's estimated
        seconds, :meth:`zoo_builder.plan.Plan.run_costs`), ``update(meta)`` (``meta["worker"]``
        names the worker, for the calibrated estimate) and ``close()``.

    Returns
    -------
    Summary
    """
    t0 = time.perf_counter()
    timeline = {"start": time.time()}
    starting = ClusterStart(cluster) if not cluster.scheduler else None
    try:
        return _build(plan, zoo_dir, cluster, starting, t0, timeline, device=device, amp=amp,
                      channels_last=channels_last, data_root=data_root, skip_failed=skip_failed,
                      progress=progress, lock=lock, inject_failure=inject_failure, derived=derived)
    finally:
        if starting is not None:
            starting.discard()


def _build(plan, zoo_dir, cluster: ClusterOptions, starting: "ClusterStart | None", t0: float, timeline: dict, *,
           device, amp, channels_last, data_root, skip_failed, progress, lock, inject_failure, derived) -> Summary:
    """:func:`build` once its cluster is starting (``starting``; None: connect to ``cluster.scheduler``)."""
    from zoo_builder import store

    if amp and not all(s.amp for s in plan.specs):
        plan = plan.with_amp()  # bf16 runs are other runs (own spec hashes), never mixed with float32 ones
    zoo_dir = str(Path(zoo_dir).resolve())
    Path(zoo_dir).mkdir(parents=True, exist_ok=True)
    entries = list(store.plan_entries(zoo_dir, plan.specs))
    complete: set[str] = set()
    failed_before: set[str] = set()
    for e in entries:
        complete |= set(store.completed(zoo_dir, e))
        if skip_failed:
            failed_before |= set(store.failures(zoo_dir, e))
    summary = Summary(plan.name, zoo_dir, total=len(plan.specs), entries=entries, timeline=timeline)
    summary.skipped = sum(s.hash in complete for s in plan.specs)
    todo_specs = [s for s in plan.specs if s.hash not in complete and s.hash not in failed_before]
    costs = plan.run_costs(todo_specs, gpu=_resolve_device_name(device, cluster) == "cuda")
    todo_tasks = []
    for task in schedule(plan.tasks, costs, workers=cluster.n_workers()):
        todo = [s for s in task.specs if s.hash not in complete and s.hash not in failed_before]
        if todo:
            todo_tasks.append((task, todo))
    n_todo = sum(len(t) for _, t in todo_tasks)
    timeline["prepared"] = time.time()
    if progress is not None:
        progress.start(total=len(plan.specs), done=len(plan.specs) - n_todo, workers=cluster.n_workers(),
                       costs=costs)
    seen: set[str] = set()
    lock_ = threading.Lock()

    def record(meta: dict) -> None:
        with lock_:
            if meta["hash"] in seen:
                return
            seen.add(meta["hash"])
            if meta["status"] == "failed":
                summary.failed[meta["hash"]] = meta
            elif meta["status"] == "done":
                summary.done += 1
            elif meta["status"] == "skipped":  # completed meanwhile by a concurrent builder
                summary.skipped += 1
        if progress is not None:
            progress.update(meta)

    if todo_tasks:
        opts = TaskOptions(zoo_dir=zoo_dir, device=device, torch_threads=worker_torch_threads(cluster),
                           amp=amp, channels_last=channels_last,
                           data_root=str(Path(data_root).resolve()) if data_root else None,
                           inject_failure=tuple(inject_failure), lock=lock)
        tracker = EntryTracker(plan.specs, [s for _, todo in todo_tasks for s in todo])
        summary.finalized_early = _submit_and_wait(todo_tasks, opts, cluster, record, timeline,
                                                   tracker=tracker, derived=derived, starting=starting)
    timeline["trained"] = time.time()
    # the builder's own step: each entry's statistics (derived=True), then the store's manifest; the
    # entries finished on the workers during the build are done
    store.finalize_entries(zoo_dir, [e for e in entries if e not in summary.finalized_early], derived=derived)
    timeline["finalized"] = time.time()
    summary.disconnected = _count_disconnected(zoo_dir, entries)
    summary.seconds = time.perf_counter() - t0
    if progress is not None:
        progress.close()
    return summary


def _submit_and_wait(todo_tasks, opts: TaskOptions, cluster_opts: ClusterOptions,
                     record: Callable[[dict], None], timeline: dict | None = None, *,
                     tracker: EntryTracker | None = None, derived: bool = True,
                     starting: ClusterStart | None = None) -> list[str]:
    """Run ``todo_tasks`` (in this order) on the cluster; ``record`` each run's metadata.

    The cluster is ``starting``'s, else started here (:func:`make_cluster`); it is closed at the end.

    With ``tracker``, each entry that becomes complete is finalized on a worker at once (a task
    of higher priority than the training tasks still queued), so the entries' statistics overlap
    the training of the others. Returns the entries finalized that way.
    """
    from distributed import Client, as_completed

    from zoo_builder import store

    cluster = starting.take() if starting is not None else make_cluster(cluster_opts)
    try:
        with Client(cluster if cluster is not None else cluster_opts.scheduler, set_as_default=False) as client:
            if timeline is not None:
                timeline["cluster"] = time.time()
            if cluster_opts.dashboard:
                print(f"dask dashboard: {client.dashboard_link}", file=sys.stderr, flush=True)
            client.subscribe_topic(TOPIC, lambda event: record(event[1]))
            futures = {}
            for task, todo in todo_tasks:
                # A deterministic key: two builders on one scheduler share the task instead of doubling it.
                fut = client.submit(run_task, todo, opts, task.id, key=f"zoo_builder-task-{task.id}",
                                    resources={"GPU": 1} if cluster_opts.gpus else None)
                futures[fut] = todo
            if timeline is not None:
                timeline["submitted"] = time.time()
            finalizing: dict = {}
            finalized: list[str] = []

            def submit_ready() -> None:
                for entry in tracker.ready() if tracker is not None else []:
                    f = client.submit(finalize_entry, opts.zoo_dir, entry, derived, pure=False, priority=1,
                                      key=f"zoo_builder-finalize-{entry}-{uuid.uuid4().hex[:8]}")
                    finalizing[f] = entry
                    pending.add(f)
                    if timeline is not None:
                        timeline[f"finalize submitted {entry}"] = time.time()

            pending = as_completed(list(futures), loop=client.loop)
            submit_ready()  # entries whose runs were all complete before the build
            for fut in pending:
                if fut in finalizing:
                    if timeline is not None:
                        timeline[f"finalize returned {finalizing[fut]}"] = time.time()
                    if fut.status == "finished":
                        finalized.append(finalizing[fut])
                        tracker.finished(finalizing[fut])
                        submit_ready()
                    # else: left to the builder's final pass, which raises the error in the client
                    fut.release()
                    continue
                todo = futures[fut]
                try:
                    metas = fut.result()
                except Exception as e:  # noqa: BLE001 - e.g. the worker died repeatedly (KilledWorker)
                    error = f"task failed: {type(e).__name__}: {e}"
                    done = set()
                    for entry in dict.fromkeys(s.entry for s in todo):
                        done |= set(store.completed(opts.zoo_dir, entry))
                    metas = []
                    for s in todo:
                        if s.hash not in done:
                            store.record_failure(opts.zoo_dir, s, error)
                            metas.append(_meta(s, "failed", error=error))
                for meta in metas:
                    record(meta)
                    if tracker is not None:
                        tracker.update(meta)
                fut.release()
                submit_ready()
            with contextlib.suppress(Exception):
                client.unsubscribe_topic(TOPIC)
    finally:
        if cluster is not None:
            cluster.close()
    return finalized


def run_sequential(specs: list[RunSpec], zoo_dir, *, data_root=None, torch_threads: int | None = None) -> float:
    """A plain loop over ``specs`` (no Dask): the benchmark's baseline. Returns seconds."""
    from zoo_builder import store
    from zoo_builder.run import run

    import torch

    if torch_threads:
        torch.set_num_threads(torch_threads)
    t0 = time.perf_counter()
    store.plan_entries(str(zoo_dir), specs)
    for s in specs:
        store.write_run(str(zoo_dir), run(s, data_root=data_root))
    return time.perf_counter() - t0


__all__ = ["ClusterOptions", "ClusterStart", "EntryTracker", "Summary", "TaskOptions", "build", "finalize_entry", "cluster_spec", "make_cluster", "release_freed_memory", "run_sequential", "run_task"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: python -m zoo_builder")
