"""Live progress of a build: a tqdm bar (runs done / total, ETA, runs per hour) and one log
line per finished run. Thread-safe (events arrive on the Dask client's event-loop thread)."""
from __future__ import annotations

import sys
import threading
import time


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
    """

    def __init__(self, *, quiet: bool = False, stream=None, bar: bool | None = None) -> None:
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.show_bar = (self.stream.isatty() if hasattr(self.stream, "isatty") else False) if bar is None else bar
        self._bar = None
        self._lock = threading.Lock()
        self.total = self.done = self.initial = 0
        self._t0 = time.perf_counter()

    def start(self, total: int, done: int) -> None:
        self.total, self.done, self.initial = total, done, done
        self._t0 = time.perf_counter()
        if self.quiet:
            return
        if self.show_bar:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=done, unit="run", file=self.stream, dynamic_ncols=True,
                             smoothing=0.1, desc="zoo")
        if done:
            self._write(f"resuming: {done} of {total} runs already complete")

    def _rate(self) -> float:
        elapsed = time.perf_counter() - self._t0
        return (self.done - self.initial) / elapsed * 3600 if elapsed > 0 else 0.0

    def _eta(self) -> str:
        rate = self._rate()
        if rate <= 0:
            return "?"
        left = (self.total - self.done) / rate * 3600
        return time.strftime("%H:%M:%S", time.gmtime(left)) if left < 86400 else f"{left / 86400:.1f} d"

    def _write(self, line: str) -> None:
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def update(self, meta: dict) -> None:
        """One run finished (``meta`` from :func:`zoo_builder.executor.run_task`)."""
        with self._lock:
            self.done += 1
            if self.quiet:
                return
            status = meta["status"]
            where = (f"{meta['entry']} {meta['variant']:<8} s={meta['sparsity']:<6g} seed={meta['seed']}")
            if status == "done":
                what = f"acc {meta['accuracy'] * 100:6.2f}%  {meta['seconds']:6.1f}s"
            elif status == "failed":
                what = f"FAILED {meta.get('error', '')}"
            else:
                what = "already complete"
            self._write(f"[{self.done:>{len(str(self.total))}}/{self.total}] {where}  {what}  "
                        f"({self._rate():.0f} runs/h, ETA {self._eta()})")
            if self._bar is not None:
                self._bar.update(1)
                self._bar.set_postfix_str(f"{self._rate():.0f} runs/h", refresh=False)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
