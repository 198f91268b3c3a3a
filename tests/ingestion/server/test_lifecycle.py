"""Shards over a server's life: rotation and atomic publish while running, crash recovery after
`kill -9`, draining on SIGTERM and SIGINT, health of the landing directory, logs."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.exceptions import ConnectionClosed

from ingestion import settings
from ingestion.landing.layout import Stream, inflight_shards, parse_shard_name, published_shards
from ingestion.landing.lines import event_line
from ingestion.landing.writer import ShardWriter
from tests.ingestion.helpers import (
    batch,
    dead_pid,
    deadlettered,
    event,
    landed,
    open_client,
    wait_for,
)
from tests.support.ingestor import running_ingestor


def assert_no_torn_line(landing_root: Path) -> None:
    """Every published shard is whole lines of JSON."""
    for stream in Stream:
        for shard in published_shards(landing_root, stream):
            data = shard.read_bytes()
            assert data.endswith(b"\n"), f"{shard} ends in a torn line"
            for line in data.splitlines():
                orjson.loads(line)


def test_shards_rotate_by_size_while_running_and_a_reader_never_sees_a_partial_file(
    data_dir: Path,
) -> None:
    with running_ingestor(data_dir, extra_args=["--shard-max-bytes", "20000"]) as server:
        stop = threading.Event()
        seen: dict[Path, int] = {}
        problems: list[str] = []

        def reader() -> None:
            while not stop.is_set():
                for shard in published_shards(server.landing_root, Stream.EVENTS):
                    data = shard.read_bytes()
                    if not data.endswith(b"\n"):
                        problems.append(f"{shard.name} seen partial")
                    if seen.setdefault(shard, len(data)) != len(data):
                        problems.append(f"{shard.name} changed after it was published")

        watcher = threading.Thread(target=reader)
        watcher.start()
        try:
            c = open_client(server.url)
            frames = [batch([event() for _ in range(10)], batch_id=str(i)) for i in range(60)]
            for i in range(0, len(frames), 10):
                assert all(r["accepted"] == 10 for r in c.pipeline(frames[i : i + 10]))
            c.close()
            shards = wait_for(
                lambda: len(published_shards(server.landing_root, Stream.EVENTS)) >= 5,
                what="shards published by size while the server runs",
            )
        finally:
            stop.set()
            watcher.join(10)
        assert shards and not problems
        assert server.running
        sent = {e["event_id"] for f in frames for e in f["events"]}
        assert sent <= set(landed(server.landing_root))
    assert_no_torn_line(server.landing_root)


def test_shards_are_published_by_age_without_new_traffic(data_dir: Path) -> None:
    with running_ingestor(data_dir, extra_args=["--shard-max-age", "0.3"]) as server:
        c = open_client(server.url)
        e = event()
        c.call(e)
        shard = wait_for(
            lambda: published_shards(server.landing_root, Stream.EVENTS),
            timeout=5,
            what="the shard to be published by age",
        )
        assert e["event_id"] in landed(server.landing_root, inflight=False)
        assert len(shard) == 1 and server.running
        c.close()


def test_sigterm_publishes_every_shard_and_exits_0(data_dir: Path) -> None:
    with running_ingestor(data_dir) as server:
        c = open_client(server.url)
        ids = [e["event_id"] for e in [event() for _ in range(3)] if c.call(e)["accepted"]]
        c.close()
        assert published_shards(server.landing_root, Stream.EVENTS) == []  # still in flight
        assert server.stop(signal.SIGTERM) == 0
        assert inflight_shards(server.landing_root) == []
        assert set(ids) <= set(landed(server.landing_root, inflight=False))


def stream_until_closed(url: str, events_per_frame: int, window: int) -> tuple[list[str], Any]:
    """Send batches `window` at a time and collect the acknowledged event ids until the server
    goes away (within 30 s); returns them and the close exception."""
    acked: list[str] = []
    c = open_client(url)
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            chunk = [batch([event() for _ in range(events_per_frame)]) for _ in range(window)]
            for f in chunk:
                c.send(f)
            for f in chunk:
                reply = c.reply()
                assert reply["type"] == "ack", reply
                acked += [e["event_id"] for e in f["events"]]
    except (ConnectionClosed, OSError) as closed:
        return acked, closed
    raise AssertionError("the server was expected to go away mid-stream")


def test_sigterm_answers_frames_in_flight_then_closes_1001_and_publishes(data_dir: Path) -> None:
    with running_ingestor(data_dir) as server:
        timer = threading.Timer(0.8, server.proc.send_signal, (signal.SIGTERM,))  # type: ignore[union-attr]
        timer.start()
        started = time.monotonic()
        acked, closed = stream_until_closed(server.url, events_per_frame=20, window=40)
        assert server.wait() == 0
        assert time.monotonic() - started < 10
        assert acked, "frames were acknowledged before the signal"
        assert getattr(closed, "rcvd", None) is not None and closed.rcvd.code == 1001
        assert set(acked) <= set(landed(server.landing_root, inflight=False))
        assert inflight_shards(server.landing_root) == []
        assert_no_torn_line(server.landing_root)


def test_sigint_drains_like_sigterm(data_dir: Path) -> None:
    with running_ingestor(data_dir) as server:
        c = open_client(server.url)
        e = event()
        c.call(e)
        assert server.stop(signal.SIGINT) == 0
        assert e["event_id"] in landed(server.landing_root, inflight=False)


def test_after_kill_9_mid_stream_every_acknowledged_event_is_in_a_published_shard(
    data_dir: Path,
) -> None:
    with running_ingestor(data_dir) as server:
        timer = threading.Timer(0.8, server.proc.kill)  # type: ignore[union-attr]
        timer.start()
        acked, _ = stream_until_closed(server.url, events_per_frame=25, window=40)
        timer.join()
        server.proc.wait(10)  # type: ignore[union-attr]
        assert len(acked) > 100, "the kill was meant to land mid-stream"
        assert inflight_shards(server.landing_root), "the crash left shards in flight"
        server.start()  # recovery publishes them before the new process writes anything
        assert inflight_shards(server.landing_root) == []
        assert server.stop() == 0
        published = landed(server.landing_root, inflight=False)
        missing = [i for i in acked if i not in published]
        assert not missing, f"{len(missing)} acknowledged events were lost"
        assert inflight_shards(server.landing_root) == []
        assert_no_torn_line(server.landing_root)


def test_a_torn_last_line_left_by_a_crash_is_dead_lettered_as_torn_write_at_start(
    data_dir: Path,
) -> None:
    landing_root = settings.landing_root(data_dir)
    crashed = ShardWriter(landing_root, Stream.EVENTS, pid=dead_pid())
    whole = [event(), event()]
    now = crashed.start
    for e in whole:
        crashed.write(event_line(e, "2026-01-30T18:00:00.000000Z", "old-conn", "valid"), now)
    assert crashed.inflight is not None
    with crashed.inflight.open("ab") as f:
        f.write(b'{"received_at":"2026-01-30T18:00:00.0000')
    with running_ingestor(data_dir) as server:
        published = landed(server.landing_root, inflight=False)
        assert {e["event_id"] for e in whole} <= set(published)
        torn = [
            d for d in deadlettered(server.landing_root) if d["failure"]["code"] == "torn_write"
        ]
        assert len(torn) == 1 and torn[0]["raw"].startswith('{"received_at"')
        assert "recovered in-flight shards" in server.logs()
    assert_no_torn_line(landing_root)


def test_healthz_is_503_while_the_landing_directory_is_not_writable(data_dir: Path) -> None:
    with running_ingestor(data_dir) as server:
        assert server.healthz() == 200
        moved = server.landing_root.with_name("landing.moved")
        server.landing_root.rename(moved)
        server.landing_root.write_text("a file where the landing directory should be")
        try:
            assert server.healthz() == 503
        finally:
            server.landing_root.unlink()
            moved.rename(server.landing_root)
        assert server.healthz() == 200


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_healthz_is_503_when_the_landing_directory_is_read_only(data_dir: Path) -> None:
    with running_ingestor(data_dir) as server:
        server.landing_root.chmod(0o500)
        try:
            assert server.healthz() == 503
        finally:
            server.landing_root.chmod(0o755)


def test_startup_prints_one_line_with_url_landing_and_durability_then_json_logs(
    data_dir: Path,
) -> None:
    with running_ingestor(data_dir, durability="flush") as server:
        c = open_client(server.url)
        c.call(event())
        c.close()
        assert server.stop() == 0
    lines = server.logs().splitlines()
    (startup,) = [x for x in lines if x.startswith("respawn serve: listening on")]
    assert f"ws://127.0.0.1:{server.port}/" in startup
    assert f"data dir {server.data_dir}" in startup and "durability flush" in startup
    logs = [orjson.loads(x) for x in lines if x is not startup]
    assert all({"ts", "level", "logger", "msg"} <= set(x) for x in logs)
    assert {"listening", "connection opened", "connection closed", "stopped"} <= {
        x["msg"] for x in logs
    }


def test_flush_durability_lands_the_same_lines(data_dir: Path) -> None:
    with running_ingestor(data_dir, durability="flush") as server:
        c = open_client(server.url)
        e = event()
        assert c.call(e)["accepted"] == 1
        assert e["event_id"] in landed(server.landing_root)
        c.close()


def test_several_worker_processes_share_the_port_and_land_everything(data_dir: Path) -> None:
    with running_ingestor(data_dir, extra_args=["--workers", "2"]) as server:
        ids: list[str] = []
        for _ in range(8):
            c = open_client(server.url)
            frames = [batch([event() for _ in range(5)]) for _ in range(5)]
            assert all(r["accepted"] == 5 for r in c.pipeline(frames))
            ids += [e["event_id"] for f in frames for e in f["events"]]
            c.close()
        assert server.stop() == 0
    assert set(ids) <= set(landed(server.landing_root, inflight=False))
    assert inflight_shards(server.landing_root) == []
    writers = {
        parse_shard_name(p.name).pid for p in published_shards(server.landing_root, Stream.EVENTS)
    }  # type: ignore[union-attr]
    assert writers and server.pid not in writers  # the workers wrote, not the supervisor
