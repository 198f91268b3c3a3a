"""A day backfilled after later days: dedupe still keeps the earliest received copy.

A simulated history lands over several days; a client then re-sends events of the first day
through a real `respawn serve` (today's partition: the latest copy). The later days, today
included, are loaded and built into the marts first; the first day is backfilled last. The kept
copy of every event_id must then be its earliest landed copy, read from the shards themselves:
(received_at, shard path, line number), the smallest wins; and the next incremental dbt build
must take the backfilled day in, exactly as a full refresh would."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect

from ingestion.landing.layout import Stream, published_shards
from ingestion.landing.lines import format_ts, read_lines
from ingestion.settings import landing_root
from tests.e2e.pipeline import (
    TOKEN,
    Copy,
    Pipeline,
    landed_copies,
    landed_days,
    query,
    simulate_to_landing,
)
from tests.support.ingestor import Ingestor, running_ingestor

RESENT = 40


async def resend(ingestor: Ingestor, events: list[dict[str, Any]]) -> dict[str, Any]:
    """One batch, as a client flushing its offline queue days later; returns the ack."""
    async with connect(ingestor.url, additional_headers=ingestor.auth_headers) as ws:
        batch = {"batch_id": "late-resend-1", "sent_at": format_ts(datetime.now(UTC))}
        await ws.send(orjson.dumps({**batch, "events": events}))
        return orjson.loads(await ws.recv())


def kept_in_warehouse(home: Path) -> dict[str, Copy]:
    rows = query(home, "select event_id, received_at, shard_path, line_number from raw.events")
    return {row[0]: Copy(*row) for row in rows}


def earliest_landed(home: Path) -> dict[str, Copy]:
    earliest: dict[str, Copy] = {}
    for c in landed_copies(home):
        key = (c.received_at, c.shard_path, c.line_number)
        if c.event_id not in earliest or key < (
            (e := earliest[c.event_id]).received_at,
            e.shard_path,
            e.line_number,
        ):
            earliest[c.event_id] = c
    return earliest


@pytest.mark.slow
def test_a_day_backfilled_after_later_days_keeps_the_earliest_copy_and_reaches_the_marts(
    home: Path, pipeline: Pipeline
) -> None:
    first: date = simulate_to_landing(home, players=50, days=4, seed=31)[0]
    day_one = {
        line["event"]["event_id"]: line["event"]
        for shard in published_shards(landing_root(home), Stream.EVENTS, first)
        for line in read_lines(shard)
    }
    originals = list(day_one.values())[:RESENT]
    assert len(originals) == RESENT
    with running_ingestor(home, token=TOKEN) as ing:
        ack = asyncio.run(resend(ing, originals))
        assert ack == {
            "type": "ack",
            "batch_id": "late-resend-1",
            "accepted": RESENT,
            "rejected": [],
        }
        assert ing.stop() == 0
    resent = {e["event_id"] for e in originals}

    later, backfilled = landed_days(home)[1:], first
    assert len(later) >= 3 and later[-1] > first
    # The simulated days in one run (a backfill of a range), then today's partition alone.
    assert pipeline.backfill(later[0], later[-2]).success
    assert pipeline.load(later[-1]).success
    assert pipeline.build_marts().success
    kept = kept_in_warehouse(home)
    # Only the late copies are loaded so far: they are the ones kept.
    assert {kept[i].received_at.date() for i in resent} == {later[-1]}

    assert pipeline.load(backfilled).success
    kept = kept_in_warehouse(home)
    earliest = earliest_landed(home)
    assert {kept[i].received_at.date() for i in resent} == {first}
    assert kept.keys() == earliest.keys()
    assert kept == earliest

    assert pipeline.build_marts().success  # incremental: no full refresh
    staged = "select cast(event_id as varchar), received_at from staging.stg_respawn__events"
    assert sorted(query(home, staged)) == sorted(
        (event_id, copy.received_at) for event_id, copy in earliest.items()
    )
    sessions = "select cast(session_id as varchar), events from marts.fct_sessions"
    assert sorted(query(home, sessions)) == sorted(
        query(
            home,
            "select session_id, count(*) from raw.events where status = 'valid' group by 1",
        )
    )
