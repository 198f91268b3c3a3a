"""Asset checks: the rules the loaded data must keep, and how bad a breach is.

Checks about the rows a materialization adds run inside that materialization (they see its
transaction's result and cost no extra process); checks about a whole table or about landing
are standalone, so that they can also be run on their own from the UI.
"""

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from ingestion.landing.layout import INFLIGHT_SUFFIX, SHARD_SUFFIX, Stream
from orchestration.resources import WAREHOUSE_POOL, LandingResource, WarehouseResource
from orchestration.validation import FUTURE_TOLERANCE, ValidationReport
from orchestration.warehouse.metadata import markdown_table

# Above this share of a day's lines in dead-letter, someone should look (warn).
DEADLETTER_SHARE_THRESHOLD = 0.05
# While the ingestor writes (an in-flight shard changed recently), a shard should be published at
# least this often (the ingestor publishes every 60 s by default).
LANDING_STALE_AFTER = timedelta(minutes=10)

RAW_EVENTS = dg.AssetKey("raw_events")
DEADLETTER_EVENTS = dg.AssetKey("deadletter_events")
EVENTS = dg.AssetKey("events")
EVENT_ID_CONFLICTS = dg.AssetKey("event_id_conflicts")

RECEIVED_NOT_IN_FUTURE = "received_at_not_in_future"
DEADLETTER_SHARE = "deadletter_share_under_threshold"
MATCHES_CONTRACT = "rows_match_contract"
NO_NEW_CONFLICTS = "no_new_conflicts"
EVENT_ID_UNIQUE = "event_id_unique"
LANDING_FRESH = "landing_freshness"

_DAYS = "(select unnest($days::date[]))"


# -- checks computed inside a materialization -----------------------------------------------------


def received_not_in_future(con: Any, days: list[date]) -> dg.AssetCheckResult:
    limit = datetime.now(UTC).replace(tzinfo=None) + FUTURE_TOLERANCE
    count, latest = con.execute(
        f"select count(*), max(received_at) from raw.raw_events "
        f"where receive_date in {_DAYS} and received_at > $limit",
        {"days": days, "limit": limit},
    ).fetchall()[0]
    return dg.AssetCheckResult(
        asset_key=RAW_EVENTS,
        check_name=RECEIVED_NOT_IN_FUTURE,
        passed=count == 0,
        description=None
        if count == 0
        else f"{count} row(s) received after now (+{FUTURE_TOLERANCE}); the ingestor's clock?",
        metadata={"rows in the future": count, "latest received_at": str(latest or "")},
    )


def deadletter_share(con: Any, days: list[date]) -> dg.AssetCheckResult:
    rows = con.execute(
        f"""
        with d as (select unnest($days::date[]) as receive_date),
        dl as (select receive_date, count(*) as n from raw.deadletter_events
               where receive_date in {_DAYS} group by 1),
        ev as (select receive_date, count(*) as n from raw.raw_events
               where receive_date in {_DAYS} group by 1)
        select d.receive_date, coalesce(dl.n, 0), coalesce(ev.n, 0)
        from d left join dl using (receive_date) left join ev using (receive_date)
        order by 1
        """,
        {"days": days},
    ).fetchall()
    shares = [(day, dl, ev, dl / (dl + ev) if dl + ev else 0.0) for day, dl, ev in rows]
    worst = max((s[3] for s in shares), default=0.0)
    return dg.AssetCheckResult(
        asset_key=DEADLETTER_EVENTS,
        check_name=DEADLETTER_SHARE,
        passed=worst <= DEADLETTER_SHARE_THRESHOLD,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"highest dead-letter share {worst:.2%} "
        f"(threshold {DEADLETTER_SHARE_THRESHOLD:.0%})",
        metadata={
            "highest share": dg.MetadataValue.float(worst),
            "threshold": dg.MetadataValue.float(DEADLETTER_SHARE_THRESHOLD),
            "by day": dg.MetadataValue.md(
                markdown_table(
                    ["receive_date", "dead-letter", "events", "share"],
                    [(d, dl, ev, f"{s:.2%}") for d, dl, ev, s in shares],
                )
            ),
        },
    )


def matches_contract(report: ValidationReport) -> dg.AssetCheckResult:
    failed = len(report.failed_rows)
    metadata: dict[str, Any] = {
        "rows validated": report.rows,
        "rows failed (quarantined)": failed,
    }
    if failed:
        metadata["failures by rule"] = dg.MetadataValue.md(
            markdown_table(["rule", "rows"], report.failures_by_check.most_common())
        )
        metadata["examples"] = dg.MetadataValue.md(
            markdown_table(
                ["event_id", "rule", "value"],
                [(e["event_id"], e["rule"], e["value"]) for e in report.examples],
            )
        )
    return dg.AssetCheckResult(
        asset_key=EVENTS,
        check_name=MATCHES_CONTRACT,
        passed=failed == 0,
        description=None
        if failed == 0
        else f"{failed} of {report.rows} rows broke the v1 contract and were quarantined in "
        "raw.quarantined_events instead of reaching raw.events",
        metadata=metadata,
    )


def no_new_conflicts(con: Any, days: list[date], conflicts: int) -> dg.AssetCheckResult:
    examples = con.execute(
        f"select event_id, kept_shard_path, kept_line_number, shard_path, line_number "
        f"from raw.event_id_conflicts where receive_date in {_DAYS} "
        "order by event_id, shard_path, line_number limit 5",
        {"days": days},
    ).fetchall()
    return dg.AssetCheckResult(
        asset_key=EVENT_ID_CONFLICTS,
        check_name=NO_NEW_CONFLICTS,
        passed=conflicts == 0,
        severity=dg.AssetCheckSeverity.WARN,
        description=None
        if conflicts == 0
        else f"{conflicts} copies reuse an event_id with a different payload (a client bug or a "
        "forged id); the earliest copy was kept, the others are in raw.event_id_conflicts",
        metadata={
            "conflicting copies": conflicts,
            "examples": dg.MetadataValue.md(
                markdown_table(
                    ["event_id", "kept shard", "kept line", "conflicting shard", "line"], examples
                )
            ),
        },
    )


# -- standalone checks ------------------------------------------------------------------------


@dg.asset_check(
    asset=EVENTS,
    name=EVENT_ID_UNIQUE,
    description="Every event_id appears once in raw.events (blocks the marts when it does not).",
    blocking=True,
    pool=WAREHOUSE_POOL,
)
def event_id_unique(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection() as con:
        duplicated = con.execute(
            "select event_id, count(*) as copies from raw.events "
            "group by event_id having count(*) > 1 order by copies desc, event_id limit 5"
        ).fetchall()
        total = con.execute(
            "select count(*) from (select event_id from raw.events "
            "group by event_id having count(*) > 1)"
        ).fetchall()[0][0]
    return dg.AssetCheckResult(
        passed=total == 0,
        metadata={
            "duplicated ids": total,
            "examples": dg.MetadataValue.md(markdown_table(["event_id", "copies"], duplicated)),
        },
    )


@dg.asset_check(
    asset=RAW_EVENTS,
    name=LANDING_FRESH,
    description=(
        "While the ingestor is writing (an in-flight shard changed recently), the newest "
        f"published shard is at most {LANDING_STALE_AFTER} old."
    ),
)
def landing_freshness(landing: LandingResource) -> dg.AssetCheckResult:
    return landing_freshness_result(landing, time.time())


def landing_freshness_result(landing: LandingResource, now: float) -> dg.AssetCheckResult:
    root = landing.path
    published = [p.stat().st_mtime for s in Stream for p in _newest(root, s)]
    inflight = [p.stat().st_mtime for p in root.glob(f"*/dt=*/hour=*/.*{INFLIGHT_SUFFIX}")]
    stale_after = LANDING_STALE_AFTER.total_seconds()
    traffic = any(now - mtime <= stale_after for mtime in inflight)
    newest = max(published, default=None)
    age = None if newest is None else now - newest
    passed = not traffic or (age is not None and age <= stale_after)
    return dg.AssetCheckResult(
        asset_key=RAW_EVENTS,
        check_name=LANDING_FRESH,
        passed=passed,
        description=(
            "no ingestor traffic (no in-flight shard written recently)"
            if not traffic
            else f"newest published shard is {_age(age)} old while the ingestor writes"
        ),
        metadata={
            "ingestor writing": traffic,
            "newest shard age (s)": dg.MetadataValue.float(-1.0 if age is None else age),
            "threshold (s)": dg.MetadataValue.float(stale_after),
        },
    )


def _newest(root: Path, stream: str) -> list[Path]:
    """The newest published shard of a stream (names sort by day, hour, then writer)."""
    days = sorted((root / stream).glob("dt=*"))
    for day in reversed(days):
        shards = sorted(day.glob(f"hour=*/*{SHARD_SUFFIX}"))
        if shards:
            return [max(shards, key=lambda p: p.stat().st_mtime)]
    return []


def _age(seconds: float | None) -> str:
    return "unknown" if seconds is None else str(timedelta(seconds=round(seconds)))
