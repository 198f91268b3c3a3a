"""The landing layout: shard names and partitions, rotation, atomic publish, crash recovery."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingestion.contract import Code, Failure
from ingestion.landing.layout import (
    Stream,
    inflight_shards,
    node_name,
    parse_shard_name,
    published_shards,
    shard_day,
)
from ingestion.landing.lines import LINE_END, LineEncoder, deadletter_line, event_line, read_lines
from ingestion.landing.recovery import recover_inflight
from ingestion.landing.writer import ShardWriter
from tests.ingestion.helpers import event

NOON = datetime(2026, 1, 30, 12, 15, tzinfo=UTC)


def line(i: int) -> bytes:
    return event_line(event(seq=i), "2026-01-30T12:15:00.000000Z", "c-1", "valid")


def test_a_shard_is_hidden_while_in_flight_and_visible_once_published(tmp_path: Path) -> None:
    w = ShardWriter(tmp_path, Stream.EVENTS)
    w.write(line(1), NOON)
    assert published_shards(tmp_path, Stream.EVENTS) == []
    assert w.inflight is not None and w.inflight.name.startswith(".")
    final = w.publish()
    assert final is not None and published_shards(tmp_path, Stream.EVENTS) == [final]
    assert inflight_shards(tmp_path) == []
    assert final.parent == tmp_path / "events" / "dt=2026-01-30" / "hour=12"
    assert shard_day(final).isoformat() == "2026-01-30"
    name = parse_shard_name(final.name)
    assert name is not None and name.pid == os.getpid() and name.seq == 1


def test_a_shard_is_due_at_its_size(tmp_path: Path) -> None:
    w = ShardWriter(tmp_path, Stream.EVENTS, max_bytes=1000)
    while not w.due():
        w.write(line(0), NOON)
    assert w.publish() is not None


def test_a_shard_is_due_at_its_age(tmp_path: Path) -> None:
    w = ShardWriter(tmp_path, Stream.EVENTS, max_age_seconds=0.05)
    w.write(line(0), NOON)
    assert not w.due()
    time.sleep(0.06)
    assert w.due()


def test_a_new_hour_publishes_the_previous_hours_shard(tmp_path: Path) -> None:
    w = ShardWriter(tmp_path, Stream.EVENTS)
    w.write(line(1), NOON)
    w.write(line(2), NOON + timedelta(hours=1))
    assert [p.parent.name for p in published_shards(tmp_path, Stream.EVENTS)] == ["hour=12"]
    w.publish()
    assert [p.parent.name for p in published_shards(tmp_path, Stream.EVENTS)] == [
        "hour=12",
        "hour=13",
    ]


def test_an_empty_shard_is_removed_not_published(tmp_path: Path) -> None:
    w = ShardWriter(tmp_path, Stream.EVENTS)
    w.write(b"", NOON)
    assert w.publish() is None
    assert list(tmp_path.rglob("*")) == []


def test_a_reader_listing_shards_never_sees_a_partial_file(tmp_path: Path) -> None:
    """A writer publishes shards of many lines while a reader lists and reads *.jsonl: every
    file the reader sees is complete (its line count is what was written into it)."""
    per_shard, shards = 200, 15
    script = (
        "import datetime, pathlib, sys\n"
        "from ingestion.landing.layout import Stream\n"
        "from ingestion.landing.writer import ShardWriter\n"
        "w = ShardWriter(pathlib.Path(sys.argv[1]), Stream.EVENTS)\n"
        "now = datetime.datetime.now(datetime.UTC)\n"
        "for s in range(int(sys.argv[2])):\n"
        "    for i in range(int(sys.argv[3])):\n"
        "        w.write(b'{\"pad\":\"' + b'x' * 500 + b'\"}\\n', now)\n"
        "    w.publish()\n"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path), str(shards), str(per_shard)],
        cwd=Path(__file__).resolve().parents[2],
    )
    seen: set[Path] = set()
    try:
        while writer.poll() is None or len(seen) < shards:
            for shard in published_shards(tmp_path, Stream.EVENTS):
                lines = shard.read_bytes().splitlines(keepends=True)
                assert len(lines) == per_shard, f"{shard.name} was seen partial"
                assert all(x.endswith(b"\n") for x in lines)
                seen.add(shard)
            if writer.poll() is not None and len(seen) < shards:
                break
    finally:
        writer.wait(30)
    assert writer.returncode == 0
    assert len(published_shards(tmp_path, Stream.EVENTS)) == shards


def test_recovery_publishes_complete_lines_and_dead_letters_a_torn_last_line(
    tmp_path: Path,
) -> None:
    w = ShardWriter(tmp_path, Stream.EVENTS, pid=_dead_pid())
    w.write(line(1) + line(2), NOON)
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
    live.write(line(1), NOON)
    other = ShardWriter(tmp_path, Stream.EVENTS, node="elsewhere", pid=_dead_pid())
    other.write(line(2), NOON)
    report = recover_inflight(tmp_path)
    assert report.published == []
    assert len(inflight_shards(tmp_path)) == 2
    assert node_name() != "elsewhere"


def test_recovery_removes_an_in_flight_shard_with_nothing_complete(tmp_path: Path) -> None:
    w = ShardWriter(tmp_path, Stream.EVENTS, pid=_dead_pid())
    w.write(b'{"torn', NOON)
    report = recover_inflight(tmp_path)
    assert report.torn_lines == 1
    assert published_shards(tmp_path, Stream.EVENTS) == []
    assert inflight_shards(tmp_path) == []


def test_an_abandoned_shard_stays_in_flight_and_the_next_write_opens_a_new_one(
    tmp_path: Path,
) -> None:
    w = ShardWriter(tmp_path, Stream.EVENTS)
    w.write(line(1), NOON)
    abandoned = w.abandon()
    assert abandoned is not None and abandoned.exists()
    w.write(line(2), NOON)
    assert w.inflight != abandoned
    w.publish()
    assert len(published_shards(tmp_path, Stream.EVENTS)) == 1
    assert inflight_shards(tmp_path) == [abandoned]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


# -- the frame encoder writes the same bytes as the line functions ---------------------------

text = st.text(max_size=20)
json_scalars = st.one_of(text, st.integers(-(2**40), 2**40), st.booleans(), st.none())
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(
    received_at=text,
    connection_id=text,
    sent_at=st.one_of(st.none(), text),
    batch_id=st.one_of(st.none(), text),
    payload=st.dictionaries(text, json_values, max_size=5),
    status=st.sampled_from(["valid", "unknown"]),
    index=st.one_of(st.none(), st.integers(0, 499)),
)
def test_the_frame_line_encoder_writes_exactly_the_documented_lines(
    received_at: str,
    connection_id: str,
    sent_at: str | None,
    batch_id: str | None,
    payload: dict,
    status: str,
    index: int | None,
) -> None:
    encoder = LineEncoder(received_at, connection_id, sent_at, batch_id)
    expected = event_line(payload, received_at, connection_id, status, sent_at, batch_id)
    assert encoder.prefix(status) + orjson.dumps(payload) + LINE_END == expected
    failure = Failure(Code.INVALID_UUID, "user_id", "user_id must be a UUID")
    raw = orjson.dumps(payload).decode()
    assert encoder.deadletter(raw, failure, index) == deadletter_line(
        raw, failure, received_at, connection_id, sent_at, batch_id, index
    )


@pytest.mark.parametrize("stream", list(Stream))
def test_streams_have_their_own_folders(tmp_path: Path, stream: str) -> None:
    w = ShardWriter(tmp_path, stream)  # type: ignore[arg-type]
    w.write(line(1), NOON)
    final = w.publish()
    assert final is not None and final.relative_to(tmp_path).parts[0] == stream
