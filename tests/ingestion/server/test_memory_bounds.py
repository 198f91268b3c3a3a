"""Bounded memory: a client that floods pings and never reads the pongs is cut off before the
server's memory grows; a stalled disk holds at most `--max-buffered-bytes` of frames (every
connection waits, none is dropped); `--max-connections` must fit the file-descriptor limit."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import psutil
import pytest
from websockets.asyncio.client import connect

from ingestion.landing.writer import FileOps
from ingestion.server.app import IngestServer
from ingestion.server.config import ServerConfig
from tests.ingestion.helpers import batch, dumps, event, landed
from tests.support.ingestor import Ingestor, running_ingestor

REPO = Path(__file__).resolve().parents[3]
MiB = 1024 * 1024
SOCKET_READ = 256 * 1024  # asyncio selector transports recv() up to this much


def rss(pid: int) -> int:
    return int(psutil.Process(pid).memory_info().rss)


def upgraded_socket(port: int) -> socket.socket:
    """A raw TCP connection after the WebSocket handshake, that reads as little as it can."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(
        (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += s.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return s


def ping_frame(payload: bytes) -> bytes:
    """A masked ping (a client's frames are masked; a zero mask leaves the payload as is)."""
    return bytes([0x89, 0x80 | len(payload)]) + b"\0\0\0\0" + payload


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingestor]:
    with running_ingestor(tmp_path_factory.mktemp("memory")) as ingestor:
        yield ingestor


def test_a_ping_flood_that_never_reads_the_pongs_is_closed_before_memory_grows(
    plain: Ingestor,
) -> None:
    before = rss(plain.pid)
    s = upgraded_socket(plain.port)
    chunk = ping_frame(b"p" * 125) * 1000
    sent, cut = 0, False
    deadline = time.monotonic() + 30
    s.settimeout(5)
    try:
        while sent < 600_000 and time.monotonic() < deadline:  # 75 MiB of pongs if answered
            s.sendall(chunk)
            sent += 1000
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        cut = True
    grown = rss(plain.pid) - before
    s.close()
    assert cut, f"the server still read pings after {sent:,} of them and never closed"
    assert grown < 24 * MiB, f"the server grew by {grown / MiB:.0f} MiB"
    assert plain.healthz() == 200
    assert "respawn_connections_closed_total" in plain.metrics()


def test_max_connections_beyond_the_file_descriptor_limit_is_refused_with_the_fix(
    tmp_path: Path,
) -> None:
    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, 512))

    cmd = [sys.executable, "-m", "ingestion.server", "--port", "0", "--data-dir", str(tmp_path)]
    try:
        result = subprocess.run(
            [*cmd, "--max-connections", "5000"],
            preexec_fn=low_limit,
            capture_output=True,
            text=True,
            timeout=15,
            cwd=REPO,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("respawn serve started with more connections allowed than it can open")
    assert result.returncode == 2
    assert "--max-connections 5000" in result.stderr and "file descriptors" in result.stderr
    assert "ulimit -n" in result.stderr


class StalledDisk(FileOps):
    """fsync waits until the test lets it go: a disk that stopped answering."""

    def __init__(self) -> None:
        self.go = threading.Event()

    def fsync(self, fd: int) -> None:
        self.go.wait(30)
        super().fsync(fd)


@contextlib.contextmanager
def in_process_server(config: ServerConfig, disk: FileOps) -> Iterator[IngestServer]:
    """The server in a thread of this process, so that the test sees its buffer accounting."""
    loop = asyncio.new_event_loop()
    server = IngestServer(config, fs=disk)
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(20)
    try:
        yield server
    finally:
        asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_a_stalled_disk_holds_at_most_the_buffer_budget_and_every_frame_lands_after(
    tmp_path: Path,
) -> None:
    budget = 2 * MiB
    config = ServerConfig(
        port=0, data_dir=tmp_path, max_buffered_bytes=budget, rate_limit=0, log_level="WARNING"
    )
    disk = StalledDisk()
    frames = [
        [batch([event(pad="x" * 20_000) for _ in range(10)]) for _ in range(12)] for _ in range(5)
    ]  # 5 connections x 12 frames of 200 KB: 12 MB offered, 2 MiB allowed in
    with in_process_server(config, disk) as server:
        url = f"ws://127.0.0.1:{server.port}/"

        async def client(mine: list[dict]) -> int:
            async with connect(url, max_size=2**22) as ws:
                for f in mine:
                    await ws.send(dumps(f))
                return sum([orjson.loads(await ws.recv())["accepted"] for _ in mine])

        async def main() -> list[int]:
            tasks = [asyncio.create_task(client(mine)) for mine in frames]
            await asyncio.sleep(1.5)  # everything the clients could push in has been pushed
            held = server.budget.peak
            disk.go.set()
            counts = await asyncio.gather(*tasks)
            # past the budget, a connection holds at most the frame that crossed it and the
            # frames its last socket read completed (asyncio reads up to 256 KiB at once)
            frame_bytes = max(len(dumps(f)) for mine in frames for f in mine)
            assert held <= budget + len(frames) * (frame_bytes + SOCKET_READ), held
            assert server.budget.paused_total > 0  # connections were made to wait
            return counts

        counts = asyncio.run(main())
    assert counts == [120] * len(frames)
    sent = {e["event_id"] for mine in frames for f in mine for e in f["events"]}
    assert sent <= set(landed(config.landing_root))
