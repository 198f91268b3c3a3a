"""The shard sensor and the nightly schedule (the nightly job itself: test_concurrency)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg

from tests.orchestration.automation.shard_sensor import evaluate_shard_sensor
from tests.orchestration.landed import Landing, at, session

DAY1, DAY2 = date(2026, 1, 30), date(2026, 1, 31)
USER = "77777777-7777-4777-8777-777777777777"


def test_the_sensor_requests_each_partition_with_new_shards_and_never_a_shard_twice(
    home: Path, landing: Landing, instance: dg.DagsterInstance
) -> None:
    landing.events(session(USER, at(DAY1, 9)))
    landing.events(session(USER, at(DAY1, 15)))
    landing.events(session(USER, at(DAY2, 9)))
    landing.deadletter(["nope"], at(DAY2, 10))

    first = evaluate_shard_sensor(home, None, instance)
    assert sorted(r.partition_key for r in first.run_requests) == ["2026-01-30", "2026-01-31"]
    assert {r.job_name for r in first.run_requests} <= {None, "load_landed_events"}
    tags = {r.partition_key: r.tags["respawn/new_shards"] for r in first.run_requests}
    assert tags == {"2026-01-30": "2", "2026-01-31": "2"}

    nothing_new = evaluate_shard_sensor(home, first.cursor, instance)
    assert not nothing_new.run_requests

    landing.events(session(USER, at(DAY2, 18)))  # one more shard, day 2 only
    later = evaluate_shard_sensor(home, first.cursor, instance)
    assert [r.partition_key for r in later.run_requests] == ["2026-01-31"]
    assert later.run_requests[0].tags["respawn/new_shards"] == "1"
    assert later.run_requests[0].run_key not in {r.run_key for r in first.run_requests}


def test_the_nightly_schedule_requests_yesterdays_partition_at_two_utc() -> None:
    from orchestration.automation.schedules import nightly_schedule

    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 2, 1, 2, 0, tzinfo=UTC)
    )
    request = nightly_schedule(context)
    assert request.partition_key == "2026-01-31"
    assert nightly_schedule.cron_schedule == "0 2 * * *"
