"""The shard sensor knows what is new by the load manifest (`raw.loaded_shards`) and the shards
it requested, never by a shard's name or sequence: a shard published late (by recovery, with a
lower sequence than shards seen before it) is still loaded, shards already loaded launch no run,
and the cursor stays small however long the landing grows."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import orjson

from ingestion.landing.layout import Stream, partition_dir, shard_name
from ingestion.landing.lines import event_line, format_ts
from ingestion.settings import landing_root, warehouse_path
from tests.orchestration.automation.shard_sensor import evaluate_shard_sensor
from tests.orchestration.landed import Landing, at, session
from tests.orchestration.runs import run_days

DAY1, DAY2 = date(2026, 1, 30), date(2026, 1, 31)
USER = "88888888-8888-4888-8888-888888888888"
WRITER_START = datetime(2026, 1, 30, 8, tzinfo=UTC)


def publish_by_hand(home: Path, day: date, seq: int) -> Path:
    """A shard of one writer (same node, pid and start) with sequence `seq`, as recovery
    publishes one that its writer left in flight."""
    when = at(day, 10)
    directory = partition_dir(landing_root(home), Stream.EVENTS, when)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / shard_name("node", 4242, WRITER_START, seq)
    lines = [event_line(e, format_ts(when), "conn", "valid") for e in session(USER, at(day, 9), 1)]
    path.write_bytes(b"".join(lines))
    return path


def test_a_shard_published_late_with_a_lower_sequence_is_still_requested(
    home: Path, instance: dg.DagsterInstance
) -> None:
    publish_by_hand(home, DAY1, 1)
    publish_by_hand(home, DAY1, 3)  # seq 2 stayed in flight after a failed write
    first = evaluate_shard_sensor(home, None, instance)
    assert [r.tags["respawn/new_shards"] for r in first.run_requests] == ["2"]
    publish_by_hand(home, DAY1, 2)  # recovery publishes it, after seq 3 was seen
    later = evaluate_shard_sensor(home, first.cursor, instance)
    assert [(r.partition_key, r.tags["respawn/new_shards"]) for r in later.run_requests] == [
        ("2026-01-30", "1")
    ]


def test_shards_the_warehouse_already_loaded_launch_no_run(
    home: Path, landing: Landing, instance: dg.DagsterInstance
) -> None:
    """The first `make dev` after `make demo`: the demo loaded everything, the sensor starts
    with no cursor, and must not launch a run that loads nothing."""
    landing.events(session(USER, at(DAY1, 9)))
    landing.deadletter(["nope"], at(DAY1, 10))
    run_days(home, instance, DAY1.isoformat(), only_landing=True)
    result = evaluate_shard_sensor(home, None, instance)
    assert result.run_requests == []
    landing.events(session(USER, at(DAY1, 15)))  # a new one is still seen
    requests = evaluate_shard_sensor(home, None, instance).run_requests
    assert [r.tags["respawn/new_shards"] for r in requests] == ["1"]


def test_the_cursor_forgets_what_the_warehouse_has_loaded(
    home: Path, landing: Landing, instance: dg.DagsterInstance
) -> None:
    for hour in range(0, 24, 2):  # a writer per shard, as after many restarts
        landing.events(session(USER, at(DAY1, hour)))
        landing.events(session(USER, at(DAY2, hour)))
    first = evaluate_shard_sensor(home, None, instance)
    assert len(first.run_requests) == 2
    assert first.cursor is not None and len(orjson.loads(first.cursor)) > 0
    requested_again = evaluate_shard_sensor(home, first.cursor, instance)
    assert requested_again.run_requests == []  # requested, not loaded yet: not twice
    for day in (DAY1, DAY2):
        run_days(home, instance, day.isoformat(), only_landing=True)
    settled = evaluate_shard_sensor(home, first.cursor, instance)
    assert settled.run_requests == []
    assert settled.cursor is not None and len(settled.cursor) < 64, settled.cursor


HOLD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
sys.stdin.read()
"""


def test_while_a_load_holds_the_warehouse_the_sensor_waits_for_the_next_tick(
    home: Path, landing: Landing, instance: dg.DagsterInstance
) -> None:
    landing.events(session(USER, at(DAY1, 9)))
    run_days(home, instance, DAY1.isoformat(), only_landing=True)
    landing.events(session(USER, at(DAY1, 15)))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(warehouse_path(home))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        busy = evaluate_shard_sensor(home, None, instance)
        assert busy.run_requests == [] and busy.skip_reason is not None
        assert "busy" in busy.skip_reason.skip_message
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(30)
    assert len(evaluate_shard_sensor(home, busy.cursor, instance).run_requests) == 1
