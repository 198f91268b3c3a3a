"""`raw.events`: one row per event_id, the earliest received copy, whatever the load order.

A merge for some receive dates recomputes every event_id those dates touch (ids with a copy on
them, ids whose quarantined row came from them, and ids a `replace` of them removed copies of)
from all loaded copies in `raw.raw_events`. The kept copy of an id is thus always the minimum
over every copy loaded so far by (received_at, shard_path, line_number), so materializing day 2
then day 1 gives the same table as day 1 then day 2.

The merge reads the copies of those ids once, on narrow columns, and groups them by event_id
once: the kept copy, the number of copies. Only the kept copies are read whole, to be checked
against the contract (`validation.contract_failures_sql`, the pandera model compiled to SQL) in
the database. `raw.events` is a view of the copies flagged `is_kept` in `raw.raw_events`: a merge
flips the flags that change instead of writing every event twice. Copies whose payload differs
from the kept one go to `raw.event_id_conflicts`; a kept row that fails the contract goes to
`raw.quarantined_events` instead of `raw.events`, so it never reaches the marts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from orchestration.warehouse.raw_schema import EVENT_COLUMNS, IN_DAYS
from orchestration.warehouse.validation import (
    MAX_EXAMPLES,
    VALIDATED_COLUMNS,
    ValidationReport,
    contract_failures_sql,
    example,
)

_ORDER = "received_at, shard_path, line_number"
# Selects the rows of raw.raw_events whose rowid is in `{rids}`, reading only the receive dates
# those rows are on (`$on`): the scan skips every other day's row groups.
_BY_ROWID = "list_contains($on::date[], receive_date) and rowid in (select rid from {rids})"


@dataclass
class MergeOutcome:
    affected_ids: int
    events_written: int
    events_replaced: int  # rows of these ids that were in raw.events before the merge
    quarantined: int
    conflicts: int
    validation: ValidationReport


def merge_events(con: Any, days: list[date], now: datetime) -> MergeOutcome:
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
            union all select event_id from raw.pending_merge where {IN_DAYS}
        ) where event_id is not null
        """,
        params,
    )
    # Every copy of the affected ids, on the columns that choose the kept one; and the rows of
    # these days without an id (they fail the contract: an event without an id cannot be
    # deduplicated, so each is its own kept copy, and is quarantined).
    con.execute(
        f"""
        create or replace temp table _copies as
        select rowid as rid, event_id, {_ORDER}, receive_date, is_kept
        from raw.raw_events where event_id in (select event_id from _affected)
        union all
        select rowid, null, {_ORDER}, receive_date, is_kept
        from raw.raw_events where event_id is null and {IN_DAYS}
        """,
        params,
    )
    # The order that picks the kept copy, (received_at, shard_path, line_number), as one number
    # (an aggregate compares numbers several times faster than tuples): the receive time in
    # microseconds (a copy without one sorts last), then the shard's rank among the shards of
    # these copies, then the line (a shard of at most 64 MB has far fewer than 2^32 lines).
    con.execute(
        """
        create or replace temp table _shard_ranks as
        select shard_path, row_number() over (order by shard_path) as shard_rank
        from (select distinct shard_path from _copies)
        """
    )
    # One pass keyed by event_id: its kept copy (named by rowid) and how many copies it has.
    con.execute(
        """
        create or replace temp table _kept as
        with ordered as (
            select c.event_id, c.rid,
                   coalesce(epoch_us(c.received_at), 9223372036854775807)::hugeint
                   * 18446744073709551616 + r.shard_rank * 4294967296 + c.line_number as position
            from _copies c join _shard_ranks r using (shard_path)
        )
        select event_id, arg_min(rid, position) as rid, count(*) as copies
        from ordered where event_id is not null group by event_id
        union all
        select null, rid, 1 from _copies where event_id is null
        """
    )
    kept_days = _days_of(con, "_copies")  # where the kept copies are, and a few more
    con.execute(
        f"""
        create or replace temp table _verdicts as
        select rowid as rid, event_id, receive_date,
               {contract_failures_sql(now)} as failures
        from raw.raw_events where {_BY_ROWID.format(rids="_kept")}
        """,
        {"on": kept_days},
    )
    report = _report(con)
    replaced = con.execute("select count(*) from _copies where is_kept").fetchall()[0][0]
    # Exactly the kept, valid copy of each affected id is flagged; every other copy is not.
    # Only the flags that change are written.
    con.execute(
        """
        create or replace temp table _flags as
        select c.rid, g.rid is not null as kept
        from _copies c left join (
            select rid from _verdicts where event_id is not null and len(failures) = 0
        ) g on c.rid = g.rid
        where c.is_kept is distinct from (g.rid is not null)
        """
    )
    con.execute(
        """
        update raw.raw_events set is_kept = f.kept
        from _flags f where raw.raw_events.rowid = f.rid
        """
    )
    written = report.rows - report.failed
    con.execute(
        f"""
        delete from raw.quarantined_events
        where event_id in (select event_id from _affected)
           or (event_id is null and {IN_DAYS})
        """,
        params,
    )
    con.execute(
        "create or replace temp table _bad as select * from _verdicts where len(failures) > 0"
    )
    quarantined = con.execute(
        f"""
        insert into raw.quarantined_events
        select {", ".join(f"r.{c}" for c in EVENT_COLUMNS)},
               array_to_string(b.failures, '; '), $stamp::timestamp
        from (select rowid as rid, * from raw.raw_events
              where {_BY_ROWID.format(rids="_bad")}) r
        join _bad b using (rid)
        """,
        {"on": _days_of(con, "_bad"), "stamp": stamp},
    ).fetchall()[0][0]
    conflicts = _record_conflicts(con, stamp)
    affected = con.execute("select count(*) from _affected").fetchall()[0][0]
    con.execute(f"delete from raw.pending_merge where {IN_DAYS}", params)
    for table in ("_affected", "_copies", "_shard_ranks", "_kept", "_verdicts", "_flags", "_bad"):
        con.execute(f"drop table {table}")
    return MergeOutcome(
        affected_ids=affected,
        events_written=written,
        events_replaced=replaced,
        quarantined=quarantined,
        conflicts=conflicts,
        validation=report,
    )


def _days_of(con: Any, table: str) -> list[date]:
    return [d for (d,) in con.execute(f"select distinct receive_date from {table}").fetchall()]


def _report(con: Any) -> ValidationReport:
    """The contract's findings on the kept copies (`_verdicts`), as the check reports them."""
    rows, failed = con.execute(
        "select count(*), count(*) filter (len(failures) > 0) from _verdicts"
    ).fetchall()[0]
    report = ValidationReport(rows=rows, failed=failed)
    if not failed:
        return report
    report.failures_by_check = Counter(
        dict(
            con.execute(
                "select rule, count(*) from (select unnest(failures) as rule from _verdicts) "
                "group by rule"
            ).fetchall()
        )
    )
    # The first failing rows, with the values their column rules saw.
    con.execute(
        "create or replace temp table _sample as select * from _verdicts "
        f"where len(failures) > 0 order by receive_date, rid limit {MAX_EXAMPLES}"
    )
    columns = ", ".join(f"r.{c}" for c in VALIDATED_COLUMNS)
    sample = con.execute(
        f"""
        select v.failures, {columns}
        from _sample v join (select rowid as rid, * from raw.raw_events
                             where {_BY_ROWID.format(rids="_sample")}) r using (rid)
        order by v.receive_date, v.rid
        """,
        {"on": _days_of(con, "_sample")},
    ).fetchall()
    con.execute("drop table _sample")
    for failures, *values in sample:
        row = dict(zip(VALIDATED_COLUMNS, values, strict=True))
        for rule in failures:
            column = rule.split(": ")[0]
            report.examples.append(example(row["event_id"], rule, row.get(column)))
    del report.examples[MAX_EXAMPLES:]
    return report


def _record_conflicts(con: Any, stamp: datetime) -> int:
    """The copies of the affected ids whose payload differs from the kept copy's."""
    con.execute(
        "delete from raw.event_id_conflicts where event_id in (select event_id from _affected)"
    )
    con.execute(
        """
        create or replace temp table _shared as
        select c.rid, c.event_id, c.receive_date, c.rid = k.rid as is_kept_copy
        from _kept k join _copies c using (event_id) where k.copies > 1
        """
    )
    con.execute(
        f"""
        create or replace temp table _shared_payloads as
        select s.event_id, s.is_kept_copy, r.shard_path, r.line_number, r.received_at,
               r.receive_date, r.payload
        from (select rowid as rid, * from raw.raw_events
              where {_BY_ROWID.format(rids="_shared")}) r
        join _shared s using (rid)
        """,
        {"on": _days_of(con, "_shared")},
    )
    conflicts = con.execute(
        """
        insert into raw.event_id_conflicts
        select c.event_id, k.shard_path, k.line_number, k.received_at, k.payload,
               c.shard_path, c.line_number, c.received_at, c.receive_date, c.payload,
               $stamp::timestamp
        from _shared_payloads k join _shared_payloads c using (event_id)
        where k.is_kept_copy and not c.is_kept_copy
          and c.payload::varchar != k.payload::varchar
        """,
        {"stamp": stamp},
    ).fetchall()[0][0]
    con.execute("drop table _shared")
    con.execute("drop table _shared_payloads")
    return conflicts
