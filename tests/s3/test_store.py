"""The landing on object storage, at the store: a shard is in flight on local disk until one
conditional PUT publishes it; a published name is never overwritten; recovery publishes what a
dead process left in flight, also when its PUT had gone through before it died."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingestion.landing.layout import Stream, inflight_shards, published_path
from ingestion.landing.lines import event_line, format_ts
from ingestion.landing.recovery import recover_inflight
from ingestion.landing.store import ObjectStore, ShardExistsError, open_store
from ingestion.landing.writer import REAL_FILES, ShardWriter
from tests.s3.conftest import Bucket

WHEN = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def lines(n: int, tag: str = "e") -> bytes:
    return b"".join(
        event_line({"event_id": f"{tag}-{i}"}, format_ts(WHEN), "c1", "valid") for i in range(n)
    )


def test_a_shard_is_local_while_in_flight_and_one_object_once_published(
    tmp_path: Path, bucket: Bucket
) -> None:
    store = open_store(bucket.url)
    assert isinstance(store, ObjectStore)
    writer = ShardWriter(tmp_path, Stream.EVENTS, store=store)
    writer.write(lines(3), WHEN)
    writer.sync()
    inflight = writer.inflight
    assert inflight is not None and inflight.exists()
    assert store.published(Stream.EVENTS) == []  # nothing visible before the publish

    url = writer.publish()

    assert url == f"{bucket.url}/events/dt=2026-03-04/hour=05/{published_path(inflight).name}"
    [shard] = store.published(Stream.EVENTS)
    assert (shard.location, shard.size, shard.day) == (url, len(lines(3)), WHEN.date())
    assert shard.rel == published_path(inflight).relative_to(tmp_path).as_posix()
    with store.open(shard.location) as f:
        assert f.read() == lines(3)
    assert not inflight.exists() and inflight_shards(tmp_path) == []
    assert store.published(Stream.DEADLETTER) == []
    assert store.published(Stream.EVENTS, WHEN.date().replace(day=5)) == []


def test_a_second_publish_of_a_name_is_refused_by_the_server_and_overwrites_nothing(
    tmp_path: Path, bucket: Bucket
) -> None:
    store = open_store(bucket.url)
    rel = "events/dt=2026-03-04/hour=05/node-1-20260304T050607000000Z-000001.jsonl"
    first = tmp_path / "first"
    first.write_bytes(lines(2, "first"))
    store.publish(first, rel, REAL_FILES)
    other = tmp_path / "other"
    other.write_bytes(lines(2, "other"))

    with pytest.raises(ShardExistsError, match="never overwritten"):
        store.publish(other, rel, REAL_FILES)

    # The refusal is the server's (If-None-Match: *), not a check made before the PUT.
    s3 = bucket.server.filesystem()
    key = f"{bucket.key_prefix}/{rel}"
    with pytest.raises(OSError, match="pre-condition"):
        s3.pipe_file(key, b"overwritten?\n", mode="create")
    assert s3.cat_file(key) == lines(2, "first")
    assert other.exists()  # the refused shard is kept


def test_recovery_after_a_kill_between_the_put_and_the_removal_publishes_nothing_twice(
    tmp_path: Path, bucket: Bucket
) -> None:
    """The process died after its PUT and before it removed the in-flight file: recovery's PUT
    is refused (the name exists) with the same bytes, which counts as published."""
    store = open_store(bucket.url)
    dead_pid = 2**22 + 17  # no such process
    writer = ShardWriter(tmp_path, Stream.EVENTS, store=store, pid=dead_pid)
    writer.write(lines(5), WHEN)
    writer.sync()
    inflight = writer.inflight
    assert inflight is not None
    rel = published_path(inflight).relative_to(tmp_path).as_posix()
    store.publish(inflight, rel, REAL_FILES)  # ...and then the process was killed
    assert inflight.exists()

    report = recover_inflight(tmp_path, store=store)

    assert report.published == [f"{bucket.url}/{rel}"]
    assert report.torn_lines == 0
    assert inflight_shards(tmp_path) == []
    [shard] = store.published(Stream.EVENTS)
    with store.open(shard.location) as f:
        assert f.read() == lines(5)


def test_recovery_publishes_a_file_whose_name_holds_other_bytes_under_a_name_of_its_own(
    tmp_path: Path, bucket: Bucket
) -> None:
    """The dead process's PUT went through though its answer was lost, then it cut the file back
    and wrote other lines: recovery keeps both, never overwriting the object."""
    store = open_store(bucket.url)
    writer = ShardWriter(tmp_path, Stream.EVENTS, store=store, pid=2**22 + 19)
    writer.write(lines(3, "later"), WHEN)
    writer.sync()
    inflight = writer.inflight
    assert inflight is not None
    taken = tmp_path / "taken"
    taken.write_bytes(lines(2, "answer-lost"))
    rel = published_path(inflight).relative_to(tmp_path).as_posix()
    store.publish(taken, rel, REAL_FILES)

    report = recover_inflight(tmp_path, store=store)

    assert len(report.published) == 1 and report.published[0] != f"{bucket.url}/{rel}"
    contents = set()
    for shard in store.published(Stream.EVENTS):
        with store.open(shard.location) as f:
            contents.add(f.read())
    assert contents == {lines(2, "answer-lost"), lines(3, "later")}
    assert inflight_shards(tmp_path) == []


def test_recovery_puts_what_in_flight_files_hold_and_dead_letters_a_torn_line(
    tmp_path: Path, bucket: Bucket
) -> None:
    store = open_store(bucket.url)
    dead_pid = 2**22 + 18
    writer = ShardWriter(tmp_path, Stream.EVENTS, store=store, pid=dead_pid)
    writer.write(lines(4) + b'{"received_at": "torn', WHEN)  # the crash cut the last write
    inflight = writer.inflight
    assert inflight is not None
    os.close(writer._fd)  # type: ignore[arg-type]  # the process is gone

    report = recover_inflight(tmp_path, store=store)

    assert report.torn_lines == 1
    [events] = store.published(Stream.EVENTS)
    [torn] = store.published(Stream.DEADLETTER)
    with store.open(events.location) as f:
        assert f.read() == lines(4)
    with store.open(torn.location) as f:
        assert b"torn_write" in f.read()
    assert sorted(report.published) == sorted([events.location, torn.location])
    assert inflight_shards(tmp_path) == []


def test_a_writer_whose_name_was_taken_publishes_under_the_next_name(
    tmp_path: Path, bucket: Bucket
) -> None:
    """A PUT that went through though its answer was lost leaves the name taken by other bytes
    than the file holds later: the writer moves on to its next name, and loses nothing."""
    store = open_store(bucket.url)
    writer = ShardWriter(tmp_path, Stream.EVENTS, store=store)
    writer.write(lines(2, "kept"), WHEN)
    inflight = writer.inflight
    assert inflight is not None
    taken = tmp_path / "taken"
    taken.write_bytes(lines(1, "lost-answer"))
    store.publish(taken, published_path(inflight).relative_to(tmp_path).as_posix(), REAL_FILES)

    url = writer.publish()

    assert isinstance(url, str) and url.endswith("-000002.jsonl")
    contents = {}
    for shard in store.published(Stream.EVENTS):
        with store.open(shard.location) as f:
            contents[shard.location.rsplit("-", 1)[1]] = f.read()
    assert contents == {"000001.jsonl": lines(1, "lost-answer"), "000002.jsonl": lines(2, "kept")}
    assert inflight_shards(tmp_path) == []


def test_a_landing_url_of_another_scheme_is_refused_with_what_to_write() -> None:
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        open_store("gs://bucket/landing")
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        ObjectStore("s3://")
