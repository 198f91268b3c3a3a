"""The same shard published twice by mistake (copied to a second shard name in its partition).

What the product documents: `raw_events` keeps every landed copy (the manifest is per shard
path, so the copy is a new shard and is loaded); `events` keeps one row per event_id, the
earliest received copy, ties broken by shard path then line. So the copy adds rows to
`raw_events` and changes nothing in `events`."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from ingestion.landing.layout import Stream, parse_shard_name, published_shards
from ingestion.settings import landing_root
from tests.e2e.pipeline import (
    Pipeline,
    fingerprint,
    query,
    reconciliation,
    scalar,
    simulate_to_landing,
)


def republish(shard: Path) -> Path:
    """The shard again under the next free name of its writer, as a buggy publish would do."""
    name = parse_shard_name(shard.name)
    assert name is not None
    copy = shard.with_name(f"{name.node}-{name.pid}-{name.start}-999999.jsonl")
    shutil.copy2(shard, copy)
    return copy


@pytest.mark.slow
def test_a_shard_published_twice_is_kept_twice_in_raw_events_and_once_in_events(
    home: Path, pipeline: Pipeline
) -> None:
    days = simulate_to_landing(home, players=60, days=3, seed=21)
    assert pipeline.backfill(days[0], days[-1]).success
    events_before = fingerprint(home, ("events", "event_id_conflicts", "quarantined_events"))
    raw_before = scalar(home, "select count(*) from raw.raw_events")

    day: date = days[1]
    original = max(
        published_shards(landing_root(home), Stream.EVENTS, day), key=lambda p: p.stat().st_size
    )
    copy = republish(original)
    rel = copy.relative_to(landing_root(home)).as_posix()
    lines = len(copy.read_bytes().splitlines())
    assert lines > 10

    assert pipeline.load(day).success

    # raw_events holds both copies: the second one loaded as the new shard it looks like.
    assert scalar(home, "select count(*) from raw.raw_events") == raw_before + lines
    assert scalar(home, "select count(*) from raw.raw_events where shard_path = ?", [rel]) == lines
    assert query(home, "select row_count from raw.loaded_shards where shard_path = ?", [rel]) == [
        (lines,)
    ]
    # events is unchanged: one row per event_id, still the copy of the original shard (same
    # receive time, its path sorts first), and no conflict since the payloads are identical.
    assert fingerprint(home, ("events", "event_id_conflicts", "quarantined_events")) == (
        events_before
    )
    assert scalar(home, "select count(*) from raw.events where shard_path = ?", [rel]) == 0
    assert scalar(home, "select count(*) - count(distinct event_id) from raw.events") == 0
    assert [c.line() for c in reconciliation(home) if not c.ok] == []
