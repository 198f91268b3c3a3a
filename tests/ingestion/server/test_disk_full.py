"""A real full disk: the data directory on an 8 MiB tmpfs (needs root to mount; skipped
otherwise). While the disk is full the server acknowledges nothing and /healthz says 503; every
line it did acknowledge is published while it lives; once space is freed it acknowledges again,
without a restart; SIGTERM publishes everything; it starts, and serves 503, on a full disk."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from ingestion import settings
from ingestion.landing.layout import Stream, inflight_shards, published_shards
from ingestion.landing.lines import event_line
from ingestion.landing.writer import ShardWriter
from tests.ingestion import helpers
from tests.ingestion.helpers import batch, dead_pid, event, open_client, wait_for
from tests.ingestion.server.test_lifecycle import assert_no_torn_line
from tests.support.ingestor import Ingestor, free_port

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("mount") is None,
    reason="mounting a small tmpfs needs root (the disk-full cases are also covered through "
    "the writer's FileOps seam: test_storage_errors.py)",
)

SIZE = 8 * 1024 * 1024


@dataclass
class SmallDiskIngestor(Ingestor):
    """Its data on the small disk, its logs elsewhere (a full disk must not cost the logs).
    With `answering`, it counts as started once /healthz answers at all: on a full disk it
    answers 503, by design."""

    log_dir: Path = Path()
    answering: bool = False

    @property
    def log_path(self) -> Path:
        return self.log_dir / f"serve-{self.starts}.log"

    def _wait_healthy(self) -> None:
        if not self.answering:
            super()._wait_healthy()
            return
        wait_for(self._answers, timeout=self.startup_timeout, what="/healthz to answer")

    def _answers(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(
                f"respawn serve exited with {self.proc.returncode}:\n{self.logs()}"
            )
        try:
            self.healthz()
        except OSError:
            return False
        return True


@contextlib.contextmanager
def serving(data_dir: Path, log_dir: Path, **kwargs: Any) -> Iterator[SmallDiskIngestor]:
    server = SmallDiskIngestor(data_dir=data_dir, port=free_port(), log_dir=log_dir, **kwargs)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill the disk until about `leave` bytes are free; returns the filler file."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        for size in (65536, 4096, 1):
            while shutil.disk_usage(disk).free > leave + size or (leave == 0 and size == 1):
                try:
                    os.write(fd, b"\0" * size)
                except OSError:
                    break
    finally:
        os.close(fd)
    return filler


def send_until_refused(url: str) -> list[str]:
    """Send batches until the server stops acknowledging; the acknowledged event ids."""
    acked: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            c = open_client(url)
        except (InvalidStatus, OSError):
            return acked  # 503: storage unavailable
        try:
            while time.monotonic() < deadline:
                frame = batch([event(pad="p" * 400) for _ in range(20)])
                reply = c.call(frame)
                if reply.get("type") != "ack":
                    return acked
                acked += [e["event_id"] for e in frame["events"]]
        except ConnectionClosed:
            return acked  # 1011: the commit failed
        finally:
            c.close()
    raise AssertionError("the disk never filled")


def test_a_full_disk_stops_acks_publishes_what_was_acked_and_recovers_without_restart(
    small_disk: Path, tmp_path: Path
) -> None:
    data_dir = small_disk / "data"
    extra = ("--shard-max-age", "1", "--shard-max-bytes", str(4 * 1024 * 1024))
    with serving(data_dir, tmp_path, extra_args=extra) as server:
        filler = fill(small_disk, leave=600_000)
        acked = send_until_refused(server.url)
        assert len(acked) > 100, "events were acknowledged before the disk filled"
        assert wait_for(lambda: server.healthz() == 503, what="/healthz to say 503")
        # Every acknowledged line is published while the server still runs, disk still full.
        wait_for(
            lambda: set(acked) <= set(helpers.landed(server.landing_root, inflight=False)),
            timeout=10,
            what="the acknowledged events to be published during the outage",
        )
        assert_no_torn_line(server.landing_root)
        in_flight = inflight_shards(server.landing_root)
        assert len(in_flight) <= 2, f"a new in-flight file per failed commit: {in_flight}"
        with pytest.raises(InvalidStatus) as refused:  # new connections: 503 as well
            open_client(server.url)
        assert refused.value.response.status_code == 503

        filler.unlink()  # space is back: no restart
        wait_for(lambda: server.healthz() == 200, what="/healthz to recover")
        c = open_client(server.url)
        again = batch([event() for _ in range(5)])
        assert c.call(again)["accepted"] == 5
        c.close()
        assert server.stop(signal.SIGTERM) == 0
    published = helpers.landed(server.landing_root, inflight=False)
    assert set(acked) | {e["event_id"] for e in again["events"]} <= set(published)
    assert inflight_shards(server.landing_root) == []
    assert_no_torn_line(server.landing_root)


def test_the_server_starts_on_a_full_disk_serves_503_and_recovers_when_space_frees(
    small_disk: Path, tmp_path: Path
) -> None:
    data_dir = small_disk / "data"
    landing_root = settings.landing_root(data_dir)
    crashed = ShardWriter(landing_root, Stream.EVENTS, pid=dead_pid())
    left = [event(), event()]
    for e in left:
        crashed.write(event_line(e, "2026-01-30T18:00:00.000000Z", "old", "valid"), crashed.start)
    assert crashed.inflight is not None
    with crashed.inflight.open("ab") as f:
        f.write(b'{"received_at":"2026-01-30T18:00:00.0000')  # torn by the crash
    filler = fill(small_disk)
    with serving(data_dir, tmp_path, answering=True) as server:
        assert server.healthz() == 503
        assert published_shards(landing_root, Stream.EVENTS) == []
        filler.unlink()
        wait_for(lambda: server.healthz() == 200, what="/healthz to recover")
        assert {e["event_id"] for e in left} <= set(helpers.landed(landing_root, inflight=False))
        codes = [d["failure"]["code"] for d in helpers.deadlettered(landing_root)]
        assert codes.count("torn_write") == 1
        c = open_client(server.url)
        assert c.call(event())["accepted"] == 1
        c.close()
        assert server.stop() == 0
    assert inflight_shards(landing_root) == []
    assert_no_torn_line(landing_root)
