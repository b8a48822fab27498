"""Open a report in headless Chromium and check that every figure rendered, offline.

Driven through the Chrome DevTools Protocol over ``--remote-debugging-pipe`` (file descriptors 3
and 4, NUL-terminated JSON), with the standard library only: no port to race for, no WebSocket
client, no browser download (Debian's ``chromium`` package). The page is watched from before the
navigation, so every console message, uncaught exception and network request is seen.

``python -m analysis check-report DIR`` runs :func:`check` on ``DIR/index.html``.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
         "--disable-dev-shm-usage",
         "--remote-debugging-pipe"]

# Per figure container: its SVG (or canvas) and how many drawn marks it holds.
_PROBE = """(() => {
  const out = {};
  for (const el of document.querySelectorAll('[data-figure]')) {
    const svg = el.querySelector('svg');
    const canvas = el.querySelector('canvas');
    const marks = svg ? svg.querySelectorAll('g.role-mark path, g.role-mark line, g.role-mark rect, '
                                           + 'g.role-mark text, g.role-mark circle').length : 0;
    out[el.dataset.figure] = {svg: !!svg, canvas: !!canvas, marks: marks,
                              width: svg ? svg.getBoundingClientRect().width : 0};
  }
  return JSON.stringify({figures: out, rendered: document.body.dataset.rendered || null,
                         failed: document.body.dataset.failed || null});
})()"""


def find_chromium() -> str | None:
    """Path of a Chromium binary (``$CHROMIUM``, ``chromium``, ``chromium-browser``, ``google-chrome``)."""
    env = os.environ.get("CHROMIUM")
    if env:
        return env
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageCheck:
    """What a headless browser saw while loading a report.

    Attributes
    ----------
    figures : dict
        Figure name → ``{"svg", "canvas", "marks", "width"}``.
    console_errors : list of str
        Console messages of level error, uncaught exceptions and log entries of level error.
    requests : list of str
        URLs the page requested other than the page itself and ``data:`` / ``blob:`` / ``about:`` URLs.
    screenshot : pathlib.Path or None
    """

    figures: dict = field(default_factory=dict)
    console_errors: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    screenshot: Path | None = None
    rendered: int | None = None

    @property
    def blank(self) -> list[str]:
        """Figures with no SVG/canvas or no drawn marks."""
        return [n for n, f in self.figures.items() if not (f["svg"] or f["canvas"]) or f["marks"] == 0]

    @property
    def ok(self) -> bool:
        return bool(self.figures) and not self.blank and not self.console_errors and not self.requests

    def __str__(self) -> str:
        state = "ok" if self.ok else "FAILED"
        return (f"{state}: {len(self.figures) - len(self.blank)}/{len(self.figures)} figures rendered, "
                f"{len(self.console_errors)} console errors, {len(self.requests)} network requests"
                + "".join(f"\n  blank figure: {n}" for n in self.blank)
                + "".join(f"\n  console: {e}" for e in self.console_errors)
                + "".join(f"\n  request: {u}" for u in self.requests))


class _Pipe:
    """CDP over the two pipes: send a command, read messages until its reply, keeping events."""

    def __init__(self, proc, write_fd: int, read_fd: int):
        self.proc, self.w, self.r = proc, write_fd, read_fd
        self.buf, self.next_id, self.events = b"", 0, []

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read(deadline)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error'].get('message')}")
                return m.get("result", {})
            self.events.append(m)

    def pump(self, seconds: float) -> None:
        """Collect events for ``seconds``."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.events.append(self._read(deadline))
            except TimeoutError:
                return

    def _read(self, deadline: float) -> dict:
        import select

        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self.r], [], [], left)
            if not ready:
                raise TimeoutError("no answer from Chromium")
            chunk = os.read(self.r, 1 << 20)
            if not chunk:
                raise RuntimeError(f"Chromium closed the pipe (exit code {self.proc.poll()})")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        return json.loads(raw)


def _local(url: str, page_url: str) -> bool:
    return url == page_url or url.split(":", 1)[0] in ("data", "blob", "about", "chrome-error")


def check(index: str | os.PathLike, *, screenshot: str | os.PathLike | None = None, timeout: float = 120,
          width: int = 1400, height: int = 2000, chromium: str | None = None) -> PageCheck:
    """Load ``index`` (an HTML file) in headless Chromium and report what rendered.

    Parameters
    ----------
    index : path-like
        The report's ``index.html``.
    screenshot : path-like, optional
        Where to save a full-page PNG screenshot.
    timeout : float
        Seconds to wait for every figure to render.
    chromium : str, optional
        Browser binary (default :func:`find_chromium`).

    Returns
    -------
    PageCheck

    Raises
    ------
    FileNotFoundError
        No Chromium found (``apt-get install chromium``) or no such page.
    """
    index = Path(index).resolve()
    if not index.is_file():
        raise FileNotFoundError(f"no report at {index}")
    binary = chromium or find_chromium()
    if binary is None:
        raise FileNotFoundError("no Chromium found: install Debian's `chromium` package (apt-get install chromium) "
                                "or set CHROMIUM to a browser binary")
    page_url = index.as_uri()
    with tempfile.TemporaryDirectory(prefix="paistats-chromium-") as profile:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        # the child must see the pipes as fds 3 (commands in) and 4 (replies out)
        cmd = ["bash", "-c", f'exec "$0" "$@" 3<&{to_child_r} 4>&{from_child_w}', binary, *FLAGS,
               f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"]
        proc = subprocess.Popen(cmd, pass_fds=(to_child_r, from_child_w), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        cdp = _Pipe(proc, to_child_w, from_child_r)
        try:
            return _drive(cdp, page_url, screenshot, timeout, width)
        finally:
            try:
                cdp.send("Browser.close", timeout=5)
            except Exception:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            os.close(to_child_w)
            os.close(from_child_r)


def _drive(cdp: _Pipe, page_url: str, screenshot, timeout: float, width: int) -> PageCheck:
    targets = cdp.send("Target.getTargets")["targetInfos"]
    page = next((t for t in targets if t["type"] == "page"), None)
    target = page["targetId"] if page else cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    sid = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        cdp.send(f"{domain}.enable", session=sid)
    cdp.send("Page.navigate", {"url": page_url}, session=sid)
    result = PageCheck()
    deadline = time.monotonic() + timeout
    state = {}
    while time.monotonic() < deadline:
        cdp.pump(0.25)
        value = cdp.send("Runtime.evaluate", {"expression": _PROBE, "returnByValue": True}, session=sid)
        state = json.loads(value["result"].get("value") or "{}") if value.get("result", {}).get("type") == "string" else {}
        if state.get("rendered") is not None:
            break
    result.figures = state.get("figures", {})
    result.rendered = int(state["rendered"]) if state.get("rendered") is not None else None
    cdp.pump(0.5)
    for ev in cdp.events:
        method, params = ev.get("method"), ev.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            result.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            result.console_errors.append(d.get("exception", {}).get("description") or d.get("text", "exception"))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            result.console_errors.append(f"{params['entry'].get('text')} ({params['entry'].get('url', '')})")
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if not _local(url, page_url):
                result.requests.append(url)
    if result.rendered is None:
        result.console_errors.append(f"the page did not finish rendering within {timeout:.0f} s")
    if screenshot is not None:
        metrics = cdp.send("Page.getLayoutMetrics", session=sid)
        h = int(metrics.get("cssContentSize", metrics.get("contentSize", {})).get("height", 2000))
        shot = cdp.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                   "clip": {"x": 0, "y": 0, "width": width, "height": min(h, 16000),
                                                            "scale": 1}}, session=sid, timeout=60)
        path = Path(screenshot)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        result.screenshot = path
    return result
