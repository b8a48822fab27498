"""Render Vega-Lite specifications to PNG / SVG / PDF bytes with vl-convert, here or in a worker.

A module of its own that imports nothing but vl-convert, so that the worker process rendering a
report's figures ahead (:class:`Worker`, ``python -m paistats.plot._render``) starts in a fraction
of a second. vl-convert holds the GIL while it renders, so threads would not overlap it with the
caller's work; a separate interpreter started with ``subprocess`` does, and (unlike a
``multiprocessing`` pool) needs no ``if __name__ == "__main__"`` guard in the caller's script.
"""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections import deque
from concurrent.futures import Future
from pathlib import Path


def render(vl: dict, formats, vl_version: str, scale: float = 2.0, ppi: float = 144.0) -> dict[str, bytes]:
    """``{format: bytes}`` of the Vega-Lite spec ``vl`` for each of ``formats`` (png, svg, pdf, json).

    One Vega layout (the SVG) is computed; PNG and PDF are converted from it (2-3× faster than
    rendering each). SVG and JSON come back UTF-8 encoded.
    """
    import vl_convert as vlc

    out = {}
    svg = vlc.vegalite_to_svg(vl, vl_version=vl_version) if {"svg", "png", "pdf"} & set(formats) else None
    for fmt in formats:
        if fmt == "png":
            out[fmt] = vlc.svg_to_png(svg, scale=scale, ppi=ppi)
        elif fmt == "svg":
            out[fmt] = svg.encode("utf-8")
        elif fmt == "pdf":
            out[fmt] = vlc.svg_to_pdf(svg)
        else:
            out[fmt] = json.dumps(vl).encode("utf-8")
    return out


class WorkerError(RuntimeError):
    """The render worker failed on a figure or stopped (the caller renders that figure itself)."""


class Worker:
    """One worker process rendering figures in the order submitted (:meth:`submit` returns a future).

    Requests travel as one JSON line each on the worker's stdin; each answer is a JSON line
    ``{"sizes": {format: n}}`` followed by the bytes of each format, or ``{"error": message}``.
    """

    def __init__(self):
        root = str(Path(__file__).resolve().parents[2])   # this paistats, also from a source checkout
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        self._proc = subprocess.Popen([sys.executable, "-m", "paistats.plot._render"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, env=env)
        self._pending: deque[Future] = deque()
        self._lock = threading.Lock()
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read, daemon=True, name="paistats-render-reader")
        self._writer = threading.Thread(target=self._write, daemon=True, name="paistats-render-writer")
        self._reader.start()
        self._writer.start()

    def submit(self, vl: dict, formats, vl_version: str, scale: float = 2.0, ppi: float = 144.0) -> Future:
        """A future of :func:`render`'s result, computed in the worker."""
        fut: Future = Future()
        line = json.dumps({"vl": vl, "formats": list(formats), "vl_version": vl_version, "scale": scale,
                           "ppi": ppi}).encode("utf-8") + b"\n"
        with self._lock:
            self._pending.append(fut)
        # a thread writes: the pipe holds 64 kB, and a larger spec waits until the worker has rendered
        # the previous figures, which the caller should not
        self._outbox.put(line)
        return fut

    def _write(self) -> None:
        while (line := self._outbox.get()) is not None:
            try:
                self._proc.stdin.write(line)
                self._proc.stdin.flush()
            except (OSError, ValueError) as e:
                self._fail_all(WorkerError(f"render worker stopped: {e}"))
        try:
            self._proc.stdin.close()   # the worker ends after the last request
        except OSError:
            pass

    def _read(self) -> None:
        out = self._proc.stdout
        while True:
            head = out.readline()
            if not head:
                break
            with self._lock:
                fut = self._pending.popleft() if self._pending else None
            msg = json.loads(head)
            if "error" in msg:
                result = WorkerError(msg["error"])
            else:
                result = {fmt: out.read(n) for fmt, n in msg["sizes"].items()}
            if fut is not None:
                (fut.set_exception if isinstance(result, Exception) else fut.set_result)(result)
        self._fail_all(WorkerError(f"render worker exited (code {self._proc.poll()})"))

    def _fail_all(self, err: Exception) -> None:
        with self._lock:
            while self._pending:
                fut = self._pending.popleft()
                if not fut.done():
                    fut.set_exception(err)

    def close(self) -> None:
        """Let the worker finish what was submitted, then stop it."""
        self._outbox.put(None)
        self._writer.join()
        self._proc.wait()
        self._reader.join()


def _serve() -> None:
    """The worker's loop (``python -m paistats.plot._render``): one request per stdin line."""
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        try:
            req = json.loads(line)
            done = render(req["vl"], req["formats"], req["vl_version"], req["scale"], req["ppi"])
            head = {"sizes": {fmt: len(data) for fmt, data in done.items()}}
        except Exception as e:  # noqa: BLE001 - reported to the parent, which renders the figure itself
            done, head = {}, {"error": f"{type(e).__name__}: {e}"}
        out.write(json.dumps(head).encode("utf-8") + b"\n")
        for data in done.values():
            out.write(data)
        out.flush()


if __name__ == "__main__":
    _serve()
