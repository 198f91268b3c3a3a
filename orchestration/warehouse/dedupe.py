"""`raw.events`: one row per event_id, the earliest received copy, whatever the load order.

A merge for some receive dates recomputes every event_id those dates touch (ids with a copy on
them, or whose kept row or quarantined row came from them) from all loaded copies in
`raw.raw_events`. The kept copy of an id is thus always the minimum over every copy loaded so far
by (received_at, shard_path, line_number), so materializing day 2 then day 1 gives the same table
as day 1 then day 2. `raw.events` is a view of the copies flagged `is_kept` in `raw.raw_events`:
a merge flips flags instead of writing every event twice. Copies whose payload differs from the
kept one go to `raw.event_id_conflicts`; a kept row that fails the pandera contract goes to
`raw.quarantined_events` instead of `raw.events`, so it never reaches the marts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from orchestration.warehouse.raw_schema import EVENT_COLUMNS, IN_DAYS
from orchestration.warehouse.validation import VALIDATED_COLUMNS, ValidationReport, validate_events

_ORDER = "received_at, shard_path, line_number"


@dataclass
class MergeOutcome:
    affected_ids: int
    events_written: int
    events_replaced: int  # rows of these ids that were in raw.events before the merge
    quarantined: int
    conflicts: int
    validation: ValidationReport


def merge_events(
    con: Any,
    days: list[date],
    now: datetime,
    validate: Callable[[pd.DataFrame], ValidationReport] = validate_events,
) -> MergeOutcome:
    """Merge the copies loaded for `days` into raw.events. Runs inside the caller's transaction,
    on the raw tables the step created (`create_raw_tables`)."""
    params = {"days": days}
    stamp = now.replace(tzinfo=None)
    con.execute(
        f"""
        create or replace temp table _affected as
        select distinct event_id from (
            -- a kept copy is one of these raw_events rows (raw.events is a view of them)
            select event_id from raw.raw_events where {IN_DAYS}
            union all select event_id from raw.quarantined_events where {IN_DAYS}
        ) where event_id is not null
        """,
        params,
    )
    # The kept copy of every affected id, found on narrow columns and named by rowid, plus the
    # rows of these days without an id (they fail the contract: an event without an id cannot
    # be deduplicated, so it is quarantined).
    con.execute(
        f"""
        create or replace temp table _kept as
        select event_id, arg_min(rowid, ({_ORDER})) as rid, count(*) as copies
        from raw.raw_events
        where event_id in (select event_id from _affected)
        group by event_id
        union all
        select null, rowid, 1 from raw.raw_events
        where event_id is null and {IN_DAYS}
        """,
        params,
    )
    kept_rows = "raw.raw_events r join _kept k on r.rowid = k.rid"
    frame = (
        con.sql(
            f"select k.rid as _row, {', '.join(f'r.{c}' for c in VALIDATED_COLUMNS)} "
            f"from {kept_rows}"
        )
        .arrow()
        .read_all()
        .to_pandas()
    )
    report = validate(frame.set_index("_row"))
    del frame
    con.register(
        "_bad",
        pd.DataFrame(
            {
                "rid": pd.Series(list(report.reasons), dtype="int64"),
                "failures": ["; ".join(r) for r in report.reasons.values()],
            }
        ),
    )
    replaced = con.execute(
        "select count(*) from raw.raw_events "
        "where is_kept and event_id in (select event_id from _affected)"
    ).fetchall()[0][0]
    # Exactly the kept, valid copy of each affected id is flagged; every other copy is not.
    con.execute(
        """
        create or replace temp table _good as
        select rid from _kept where event_id is not null and rid not in (select rid from _bad)
        """
    )
    con.execute(
        """
        update raw.raw_events set is_kept = (rowid in (select rid from _good))
        where event_id in (select event_id from _affected)
        """
    )
    written = con.execute("select count(*) from _good").fetchall()[0][0]
    con.execute("drop table _good")
    of_kept = ", ".join(f"r.{c}" for c in EVENT_COLUMNS)
    con.execute(
        f"""
        delete from raw.quarantined_events
        where event_id in (select event_id from _affected)
           or (event_id is null and {IN_DAYS})
        """,
        params,
    )
    quarantined = con.execute(
        f"""
        insert into raw.quarantined_events
        select {of_kept}, b.failures, ?::timestamp
        from {kept_rows} join _bad b on b.rid = k.rid
        """,
        [stamp],
    ).fetchall()[0][0]
    con.unregister("_bad")
    con.execute(
        "delete from raw.event_id_conflicts where event_id in (select event_id from _affected)"
    )
    conflicts = con.execute(
        """
        insert into raw.event_id_conflicts
        select c.event_id, r.shard_path, r.line_number, r.received_at, r.payload,
               c.shard_path, c.line_number, c.received_at, c.receive_date, c.payload, ?::timestamp
        from (select * from _kept where copies > 1) k
        join raw.raw_events r on r.rowid = k.rid
        join raw.raw_events c on c.event_id = k.event_id
        where c.rowid != k.rid and c.payload::varchar != r.payload::varchar
        """,
        [stamp],
    ).fetchall()[0][0]
    affected = con.execute("select count(*) from _affected").fetchall()[0][0]
    con.execute("drop table _kept")
    con.execute("drop table _affected")
    return MergeOutcome(
        affected_ids=affected,
        events_written=written,
        events_replaced=replaced,
        quarantined=quarantined,
        conflicts=conflicts,
        validation=report,
    )
