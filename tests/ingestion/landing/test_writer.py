"""Writing shards: partitions by receive hour, rotation by size and age, atomic publish."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from ingestion.landing.layout import (
    Stream,
    inflight_shards,
    parse_shard_name,
    published_shards,
    shard_day,
)
from ingestion.landing.writer import ShardWriter
from tests.ingestion.helpers import NOON, landed_line


def test_a_shard_is_hidden_while_in_flight_and_visible_once_published(tmp_path: Path) -> None:
    w = ShardWriter(tmp_path, Stream.EVENTS)
    w.write(landed_line(1), NOON)
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
        w.write(landed_line(0), NOON)
    assert w.publish() is not None


def test_a_shard_is_due_at_its_age(tmp_path: Path) -> None:
    w = ShardWriter(tmp_path, Stream.EVENTS, max_age_seconds=0.05)
    w.write(landed_line(0), NOON)
    assert not w.due()
    time.sleep(0.06)
    assert w.due()


def test_a_new_hour_publishes_the_previous_hours_shard(tmp_path: Path) -> None:
    w = ShardWriter(tmp_path, Stream.EVENTS)
    w.write(landed_line(1), NOON)
    w.write(landed_line(2), NOON + timedelta(hours=1))
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
        cwd=Path(__file__).resolve().parents[3],
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


def test_a_rewind_cuts_the_shard_back_to_its_last_checkpoint_and_keeps_writing_it(
    tmp_path: Path,
) -> None:
    one, two, three = landed_line(1), landed_line(2), landed_line(3)
    w = ShardWriter(tmp_path, Stream.EVENTS)
    w.write(one, NOON)
    w.checkpoint()  # line 1 acknowledged
    w.write(two[:30], NOON)  # a write the disk cut short
    shard = w.inflight
    w.rewind()
    w.write(three, NOON)
    assert w.inflight == shard
    final = w.publish()
    assert final is not None and final.read_bytes() == one + three
    assert inflight_shards(tmp_path) == []


def test_an_empty_shard_is_never_due_however_old(tmp_path: Path) -> None:
    w = ShardWriter(tmp_path, Stream.EVENTS, max_age_seconds=0.01)
    w.write(landed_line(1), NOON)
    w.rewind()  # nothing was acknowledged: back to empty, the file kept for the next write
    time.sleep(0.02)
    assert not w.due() and w.inflight is not None


@pytest.mark.parametrize("stream", list(Stream))
def test_streams_have_their_own_folders(tmp_path: Path, stream: str) -> None:
    w = ShardWriter(tmp_path, stream)  # type: ignore[arg-type]
    w.write(landed_line(1), NOON)
    final = w.publish()
    assert final is not None and final.relative_to(tmp_path).parts[0] == stream
