"""Crash recovery: what a dead process left in flight is published, a torn last line is kept."""

from __future__ import annotations

import os
from pathlib import Path

from ingestion.landing.layout import Stream, inflight_shards, node_name, published_shards
from ingestion.landing.lines import read_lines
from ingestion.landing.recovery import recover_inflight
from ingestion.landing.writer import ShardWriter
from tests.ingestion.helpers import NOON, dead_pid, landed_line


def test_recovery_publishes_complete_lines_and_dead_letters_a_torn_last_line(
    tmp_path: Path,
) -> None:
    w = ShardWriter(tmp_path, Stream.EVENTS, pid=dead_pid())
    w.write(landed_line(1) + landed_line(2), NOON)
    assert w.inflight is not None
    with w.inflight.open("ab") as f:
        f.write(b'{"received_at": "2026-01-30T12:')  # the crash cut this write
    report = recover_inflight(tmp_path)
    assert report.torn_lines == 1
    events = [x for p in published_shards(tmp_path, Stream.EVENTS) for x in read_lines(p)]
    assert [e["event"]["seq"] for e in events] == [1, 2]
    (dead,) = [x for p in published_shards(tmp_path, Stream.DEADLETTER) for x in read_lines(p)]
    assert dead["failure"]["code"] == "torn_write"
    assert dead["raw"] == '{"received_at": "2026-01-30T12:'
    assert inflight_shards(tmp_path) == []


def test_recovery_leaves_shards_of_live_processes_and_other_nodes_alone(tmp_path: Path) -> None:
    live = ShardWriter(tmp_path, Stream.EVENTS, pid=os.getppid())
    live.write(landed_line(1), NOON)
    other = ShardWriter(tmp_path, Stream.EVENTS, node="elsewhere", pid=dead_pid())
    other.write(landed_line(2), NOON)
    report = recover_inflight(tmp_path)
    assert report.published == []
    assert len(inflight_shards(tmp_path)) == 2
    assert node_name() != "elsewhere"


def test_recovery_removes_an_in_flight_shard_with_nothing_complete(tmp_path: Path) -> None:
    w = ShardWriter(tmp_path, Stream.EVENTS, pid=dead_pid())
    w.write(b'{"torn', NOON)
    report = recover_inflight(tmp_path)
    assert report.torn_lines == 1
    assert published_shards(tmp_path, Stream.EVENTS) == []
    assert inflight_shards(tmp_path) == []
