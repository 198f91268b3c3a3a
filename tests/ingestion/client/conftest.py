"""Fixtures of the browser tests: one headless Chromium, a loopback web server for the client
module and the test pages, and an isolated page per test."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.cdp import Browser, Page, headless_chromium

REPO_ROOT = Path(__file__).resolve().parents[3]
CLIENT_DIR = REPO_ROOT / "ingestion" / "client"
PAGES_DIR = Path(__file__).resolve().parent / "pages"


class _SiteHandler(SimpleHTTPRequestHandler):
    """`/client/*` is ingestion/client (what a game serves), everything else the test pages."""

    def translate_path(self, path: str) -> str:
        path = urlsplit(path).path
        if path.startswith("/client/"):
            self.directory, path = str(CLIENT_DIR), path.removeprefix("/client")
        else:
            self.directory = str(PAGES_DIR)
        return super().translate_path(path)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a reload must not use a stale module
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="session")
def site() -> Iterator[str]:
    """Origin (http://127.0.0.1:<port>) serving the client module and the test pages."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SiteHandler)
    thread = threading.Thread(target=server.serve_forever, name="test-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    with headless_chromium(tmp_path_factory.mktemp("chromium")) as b:
        yield b


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A blank page with its own storage (a fresh browser context)."""
    p = browser.new_page()
    try:
        yield p
    finally:
        p.close()
