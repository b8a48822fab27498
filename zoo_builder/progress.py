"""Live progress of a build: a tqdm bar (runs done / total, ETA, runs per hour), one log line per
finished run, and an estimate calibrated on the build's own first runs.

Thread-safe (events arrive on the Dask client's event-loop thread).

The calibrated estimate (:class:`Calibration`) replaces the dry run's table-based guess
(:meth:`zoo_builder.plan.Plan.estimate_seconds`) once each worker has finished a few runs: it times
the interval between consecutive completions of the same worker on the client's clock (so a run's
scoring, store write, task lock and Dask dispatch are all inside it; the first completion of each
worker, which also holds the worker's start-up, is only a reference point), and projects

    remaining wall seconds = remaining runs × measured seconds per run / workers.

Runs are not all alike: a dense baseline that reuses another method's training takes a fraction of
a second. So each run counts by its cost in the dry run's table (:meth:`zoo_builder.plan.Plan.run_costs`;
all 1 when none is given): measured seconds per unit of cost × the remaining cost / workers, which
is the formula above when every run costs the same. The table's absolute speed does not matter,
only the runs' relative costs.
"""
from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable

#: Completion intervals per worker, on average, before the estimate counts as calibrated.
CALIBRATION_RUNS = 4


@dataclass(frozen=True)
class Estimate:
    """A calibrated projection of a build's wall time.

    Attributes
    ----------
    runs_measured : int
        Completion intervals the projection rests on (runs, pooled over workers).
    seconds_per_run : float
        Mean wall seconds one worker spent per measured run (s/run).
    workers : int
        Workers the remaining runs are spread over.
    remaining_runs : int
        Runs not yet finished when the projection was made.
    elapsed : float
        Seconds since the build started (the progress display's start), when it was made.
    remaining : float
        Projected wall seconds still to go: ``remaining_runs × seconds_per_run / workers`` when
        the runs cost the same, else the remaining cost × measured seconds per unit of cost /
        workers.
    """

    runs_measured: int
    seconds_per_run: float
    workers: int
    remaining_runs: int
    elapsed: float
    remaining: float

    @property
    def total(self) -> float:
        """Projected wall seconds of the whole build (``elapsed + remaining``)."""
        return self.elapsed + self.remaining


def remaining_seconds(remaining_runs: int, seconds_per_run: float, workers: int) -> float:
    """Wall seconds for ``remaining_runs`` runs of ``seconds_per_run`` each on ``workers`` workers.

    Parameters
    ----------
    remaining_runs : int
        Runs still to do (≥ 0).
    seconds_per_run : float
        Wall seconds one worker spends per run.
    workers : int
        Workers running in parallel (≥ 1).

    Returns
    -------
    float
        ``remaining_runs × seconds_per_run / workers`` (seconds).
    """
    if remaining_runs < 0 or workers < 1 or not seconds_per_run >= 0:
        raise ValueError(f"remaining_runs ≥ 0, seconds_per_run ≥ 0 and workers ≥ 1 are required, got "
                         f"{remaining_runs}, {seconds_per_run}, {workers}")
    return remaining_runs * seconds_per_run / workers


class Calibration:
    """Seconds per run measured from the completion times of each worker's runs.

    Parameters
    ----------
    workers : int
        Workers of the build (the divisor of the projection).
    runs : int
        Completion intervals per worker (pooled: ``runs × workers`` in all) before :attr:`ready`.

    Notes
    -----
    Per worker, the first completion is the reference point; every later one adds the interval
    since that worker's previous completion. ``seconds_per_run`` is the pooled mean interval.
    """

    def __init__(self, workers: int = 1, runs: int = CALIBRATION_RUNS) -> None:
        if workers < 1 or runs < 1:
            raise ValueError(f"workers and runs must be ≥ 1, got workers={workers}, runs={runs}")
        self.workers = int(workers)
        self.runs = int(runs)
        self._last: dict[str, float] = {}
        self.intervals = 0
        self.busy = 0.0
        self.cost = 0.0

    def observe(self, worker: str, now: float, cost: float = 1.0) -> None:
        """Worker ``worker`` finished a run of relative cost ``cost`` at clock time ``now`` (seconds)."""
        last = self._last.get(worker)
        if last is not None:
            self.intervals += 1
            self.busy += now - last
            self.cost += cost
        self._last[worker] = now

    @property
    def ready(self) -> bool:
        """Enough intervals measured (``runs × workers``) to project the remaining runs."""
        return self.intervals >= self.runs * self.workers

    @property
    def seconds_per_run(self) -> float:
        """Mean interval between two completions of one worker (seconds; NaN before any)."""
        return self.busy / self.intervals if self.intervals else float("nan")

    @property
    def seconds_per_cost(self) -> float:
        """Measured seconds per unit of run cost (NaN before any interval)."""
        return self.busy / self.cost if self.cost > 0 else float("nan")

    def estimate(self, remaining_runs: int, elapsed: float, remaining_cost: float | None = None) -> Estimate:
        """The projection for ``remaining_runs`` runs (of total cost ``remaining_cost``, default one
        per run), ``elapsed`` seconds into the build."""
        cost = remaining_runs if remaining_cost is None else remaining_cost
        return Estimate(self.intervals, self.seconds_per_run, self.workers, remaining_runs, elapsed,
                        remaining_seconds(cost, self.seconds_per_cost, self.workers))


def _fmt_seconds(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(seconds)) if seconds < 86400 else f"{seconds / 86400:.1f} d"


class Progress:
    """Progress display.

    Parameters
    ----------
    quiet : bool
        Show nothing (scripts). Failures still appear in the build summary.
    stream : file
        Where the bar and the log lines go (default ``sys.stderr``).
    bar : bool or None
        Show the tqdm bar; None: only when ``stream`` is a terminal (log lines are always written).
    clock : callable
        Seconds as a float (default :func:`time.perf_counter`; tests pass a fake clock).
    calibration_runs : int
        Completion intervals per worker before the calibrated estimate is printed.

    Attributes
    ----------
    calibrated : Estimate or None
        The estimate printed when the calibration became ready (None until then); also kept when
        ``quiet``.
    """

    def __init__(self, *, quiet: bool = False, stream=None, bar: bool | None = None,
                 clock: Callable[[], float] = time.perf_counter, calibration_runs: int = CALIBRATION_RUNS) -> None:
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.show_bar = (self.stream.isatty() if hasattr(self.stream, "isatty") else False) if bar is None else bar
        self._bar = None
        self._lock = threading.Lock()
        self._clock = clock
        self._calibration_runs = calibration_runs
        self.total = self.done = self.initial = 0
        self.calibration = Calibration(1, calibration_runs)
        self.calibrated: Estimate | None = None
        self._costs: dict[str, float] | None = None
        self._cost_left = 0.0
        self._t0 = clock()

    def start(self, total: int, done: int, workers: int = 1, costs: "dict[str, float] | None" = None) -> None:
        """The build begins: ``total`` runs, ``done`` of them already complete, ``workers`` workers;
        ``costs``: relative cost of each run still to do, by spec hash (default 1 each)."""
        self.total, self.done, self.initial = total, done, done
        self._costs = dict(costs) if costs else None
        self._cost_left = sum(self._costs.values()) if self._costs else float(total - done)
        self.calibration = Calibration(max(1, int(workers)), self._calibration_runs)
        self.calibrated = None
        self._t0 = self._clock()
        if self.quiet:
            return
        if self.show_bar:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=done, unit="run", file=self.stream, dynamic_ncols=True,
                             smoothing=0.1, desc="zoo")
        if done:
            self._write(f"resuming: {done} of {total} runs already complete")

    def _elapsed(self) -> float:
        return self._clock() - self._t0

    def _rate(self) -> float:
        elapsed = self._elapsed()
        return (self.done - self.initial) / elapsed * 3600 if elapsed > 0 else 0.0

    def remaining(self) -> float:
        """Projected seconds to go: calibrated once ready, else from the mean rate so far (NaN if none)."""
        left = self.total - self.done
        if self.calibration.ready:
            return self._estimate().remaining
        rate = self._rate()
        return left / rate * 3600 if rate > 0 else float("nan")

    def _estimate(self) -> Estimate:
        return self.calibration.estimate(self.total - self.done, self._elapsed(), max(self._cost_left, 0.0))

    def _eta(self) -> str:
        left = self.remaining()
        return "?" if left != left else _fmt_seconds(left)

    def _write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def update(self, meta: dict) -> None:
        """One run finished (``meta`` from :func:`zoo_builder.executor.run_task`; ``worker`` names
        the worker that ran it, when known)."""
        with self._lock:
            self.done += 1
            status = meta["status"]
            cost = self._costs.get(meta["hash"], 0.0) if self._costs else 1.0
            self._cost_left -= cost
            if status != "skipped":
                self.calibration.observe(str(meta.get("worker", "")), self._clock(), cost)
            newly = self.calibrated is None and self.calibration.ready
            if newly:
                self.calibrated = self._estimate()
            if self.quiet:
                return
            where = (f"{meta['entry']} {meta['variant']:<8} s={meta['sparsity']:<6g} seed={meta['seed']}")
            if status == "done":
                what = f"acc {meta['accuracy'] * 100:6.2f}%  {meta['seconds']:6.1f}s"
            elif status == "failed":
                what = f"FAILED {meta.get('error', '')}"
            else:
                what = "already complete"
            self._write(f"[{self.done:>{len(str(self.total))}}/{self.total}] {where}  {what}  "
                        f"({self._rate():.0f} runs/h, ETA {self._eta()})")
            if newly:
                self._write(self.calibrated_text())
            if self._bar is not None:
                self._bar.update(1)
                self._bar.set_postfix_str(f"{self._rate():.0f} runs/h", refresh=False)

    def calibrated_text(self) -> str:
        """The line printed when the calibration becomes ready ("" before)."""
        e = self.calibrated
        if e is None:
            return ""
        from zoo_builder.plan import _fmt_duration

        # the projection's mean time per remaining run (cost-weighted), not the mean of the runs measured:
        # the first runs of a build include near-free dense-reuse runs
        per_run = e.remaining * e.workers / e.remaining_runs if e.remaining_runs else e.seconds_per_run
        return (f"calibrated on {e.runs_measured} runs: {per_run:.2f} s/run per worker; "
                f"{e.remaining_runs} runs left ≈ {_fmt_duration(e.remaining)} on {e.workers} worker(s); "
                f"whole build ≈ {_fmt_duration(e.total)} (entry statistics at the end not included)")

    def close(self) -> None:
        """The build ended: close the bar and print the calibrated estimate against the time taken."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        e = self.calibrated
        if e is not None and not self.quiet:
            from zoo_builder.plan import _fmt_duration

            took = self._elapsed()
            self._write(f"took {_fmt_duration(took)}; the estimate calibrated on the first {e.runs_measured} runs "
                        f"said {_fmt_duration(e.total)} ({(e.total - took) / took:+.0%})")


__all__ = ["CALIBRATION_RUNS", "Calibration", "Estimate", "Progress", "remaining_seconds"]
