"""A small client of the Chrome DevTools Protocol: launch headless Chromium and drive pages.

Only what the browser tests need: isolated pages (one browser context each, so each test has its
own localStorage), navigate/reload, `evaluate` with awaited promises, and screenshots. It speaks
CDP over the `websockets` library already in the stack, so the tests need no WebDriver and no
download. Used by the browser client's tests (tests/ingestion/client) and by the tests of the
pages people read (the game team's HTML report, the Dagster UI's asset pages).

    with headless_chromium(tmp_path) as browser:
        page = browser.new_page()
        page.navigate(url)
        page.screenshot(tmp_path / "page.png")
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

INSTALL_HINT = (
    "headless Chromium is needed for the browser tests: install Debian's package with "
    "`sudo apt-get install chromium` (or point RESPAWN_CHROMIUM at a Chromium binary)"
)

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--mute-audio",
    # pages must keep their timers running at full speed (batch ages, reconnect backoff)
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--remote-debugging-port=0",
)
_DEVTOOLS = re.compile(r"DevTools listening on (ws://\S+)")


class CDPError(RuntimeError):
    pass


def find_chromium() -> str | None:
    """The Chromium binary: $RESPAWN_CHROMIUM, else `chromium` or `chromium-browser` on PATH."""
    explicit = os.environ.get("RESPAWN_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@contextlib.contextmanager
def headless_chromium(profile_dir: Path) -> Iterator[Browser]:
    """One headless Chromium for a block; the test is skipped where there is none (it fails
    instead under CI=true, where the browser tests must run)."""
    import pytest  # only the tests use this helper

    binary = find_chromium()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{INSTALL_HINT}. CI=true: the browser tests must run, not skip.")
        pytest.skip(INSTALL_HINT)
    browser = Browser(binary, profile_dir)
    try:
        yield browser
    finally:
        browser.close()


class Browser:
    """One headless Chromium process and its browser-level DevTools connection."""

    def __init__(self, binary: str, profile_dir: Path, startup_timeout: float = 30.0) -> None:
        self.profile_dir = profile_dir
        self.stderr_path = profile_dir / "chromium-stderr.log"
        profile_dir.mkdir(parents=True, exist_ok=True)
        with self.stderr_path.open("wb") as err:  # a file, not a pipe: nothing can fill it up
            self.proc = subprocess.Popen(
                [binary, *FLAGS, f"--user-data-dir={profile_dir / 'profile'}", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []
        try:
            self.ws: ClientConnection = connect(
                self._devtools_url(startup_timeout),
                max_size=None,
                open_timeout=startup_timeout,
                legacy=True,  # a connection held by this object, not a `with` block
            )
        except BaseException:
            self._kill()
            raise

    def _devtools_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = _DEVTOOLS.search(self.stderr_path.read_text(errors="replace"))
            if m:
                return m.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise CDPError(
            f"Chromium did not start (exit {self.proc.poll()}); its stderr:\n"
            + self.stderr_path.read_text(errors="replace")[-3000:]
        )

    # -- protocol ------------------------------------------------------------------------------
    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session_id: str | None = None,
        timeout: float = 15.0,
    ) -> dict[str, Any]:
        msg_id = next(self._ids)
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = self._recv(deadline, f"{method} (no reply within {timeout}s)")
            if reply.get("id") == msg_id:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            if "method" in reply:
                self._events.append(reply)

    def wait_event(
        self,
        method: str,
        session_id: str | None,
        timeout: float = 15.0,
        where: Callable[[dict[str, Any]], bool] = lambda _: True,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self._events):
                if ev["method"] == method and ev.get("sessionId") == session_id and where(ev):
                    return self._events.pop(i)
            reply = self._recv(deadline, f"event {method} did not come within {timeout}s")
            if "method" in reply:
                self._events.append(reply)

    def take_events(self, method: str, session_id: str | None) -> list[dict[str, Any]]:
        """Remove and return the buffered events of one kind (e.g. console messages)."""
        taken, kept = [], []
        for e in self._events:
            mine = e["method"] == method and e.get("sessionId") == session_id
            (taken if mine else kept).append(e)
        self._events = kept
        return taken

    def _recv(self, deadline: float, what: str) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(what)
        try:
            return dict(json.loads(self.ws.recv(timeout=remaining)))
        except TimeoutError:
            raise TimeoutError(what) from None

    # -- pages ---------------------------------------------------------------------------------
    def new_page(self) -> Page:
        """A blank page in a fresh browser context: its own cookies and localStorage."""
        context = self.call("Target.createBrowserContext")["browserContextId"]
        target = self.call(
            "Target.createTarget", {"url": "about:blank", "browserContextId": context}
        )["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        page = Page(self, context, target, session)
        page.send("Page.enable")
        page.send("Runtime.enable")
        return page

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close", timeout=5)
        with contextlib.suppress(Exception):
            self.ws.close()
        self._kill()

    def _kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Page:
    def __init__(self, browser: Browser, context: str, target: str, session: str) -> None:
        self.browser = browser
        self.context = context
        self.target = target
        self.session = session

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 15.0) -> Any:
        return self.browser.call(method, params, self.session, timeout)

    def _load(self, method: str, params: dict[str, Any], timeout: float) -> None:
        self.browser.take_events("Page.loadEventFired", self.session)
        result = self.send(method, params, timeout)
        if result.get("errorText"):
            raise CDPError(f"{method} {params}: {result['errorText']}")
        self.browser.wait_event("Page.loadEventFired", self.session, timeout)

    def navigate(self, url: str, timeout: float = 15.0) -> None:
        self._load("Page.navigate", {"url": url}, timeout)

    def reload(self, timeout: float = 15.0) -> None:
        self._load("Page.reload", {"ignoreCache": True}, timeout)

    def evaluate(self, expression: str, timeout: float = 15.0) -> Any:
        """The value of a JS expression (promises are awaited), as JSON data."""
        result = self.send(
            "Runtime.evaluate",
            {
                "expression": expression,
                "awaitPromise": True,
                "returnByValue": True,
                "timeout": int(timeout * 1000),
            },
            timeout=timeout + 5,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CDPError(f"JS error in {expression[:200]!r}: {text}\n{self.console()}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 15.0, interval: float = 0.05) -> Any:
        """Poll a JS expression until it is truthy; its value. Raises TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{expression!r} still falsy ({value!r}) after {timeout}s\n{self.console()}"
                )
            time.sleep(interval)

    def set_viewport(self, width: int, height: int) -> None:
        """The page's layout size in CSS pixels (what a screenshot shows)."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def screenshot(self, path: Path, *, full_page: bool = False) -> Path:
        """A PNG of the viewport (or of the whole page) written to `path`."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {
                "x": 0,
                "y": 0,
                "width": size["width"],
                "height": size["height"],
                "scale": 1,
            }
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", params, timeout=60)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def console(self) -> str:
        """What the page logged so far (for failure messages)."""
        lines = []
        for ev in self.browser.take_events("Runtime.consoleAPICalled", self.session):
            args = ev["params"].get("args", [])
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in args)
            lines.append(f"console.{ev['params'].get('type')}: {text}")
        for ev in self.browser.take_events("Runtime.exceptionThrown", self.session):
            lines.append(f"exception: {ev['params']['exceptionDetails'].get('text')}")
        return "\n".join(lines[-40:])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.browser.call("Target.closeTarget", {"targetId": self.target}, timeout=5)
        with contextlib.suppress(Exception):
            self.browser.call(
                "Target.disposeBrowserContext", {"browserContextId": self.context}, timeout=5
            )
