"""The landing checks: what a load may add, and whether the ingestor keeps publishing.

The two checks about the rows a load adds run inside that materialization (they see its
transaction's result and cost no extra process); `landing_freshness` is about landing itself and
runs on its own, so that it can also be launched from the UI.
"""

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg

from ingestion.landing.layout import INFLIGHT_SUFFIX, SHARD_SUFFIX, Stream
from orchestration import asset_keys
from orchestration.check_results import check_result
from orchestration.resources import LandingResource
from orchestration.table_metadata import table_metadata
from orchestration.warehouse.raw_schema import IN_DAYS
from orchestration.warehouse.validation import FUTURE_TOLERANCE

# Above this share of a day's lines in dead-letter, someone should look (warn).
DEADLETTER_SHARE_THRESHOLD = 0.05
# While the ingestor writes (an in-flight shard changed recently), a shard should be published at
# least this often (the ingestor publishes every 60 s by default).
LANDING_STALE_AFTER = timedelta(minutes=10)

RECEIVED_NOT_IN_FUTURE = "received_at_not_in_future"
DEADLETTER_SHARE = "deadletter_share_under_threshold"
LANDING_FRESH = "landing_freshness"


# -- checks computed inside the load ------------------------------------------------------------


def received_not_in_future(con: Any, days: list[date]) -> dg.AssetCheckResult:
    limit = datetime.now(UTC).replace(tzinfo=None) + FUTURE_TOLERANCE
    count, latest = con.execute(
        "select count(*), max(received_at) from raw.raw_events "
        f"where {IN_DAYS} and received_at > $limit",
        {"days": days, "limit": limit},
    ).fetchall()[0]
    return check_result(
        asset_keys.RAW_EVENTS,
        RECEIVED_NOT_IN_FUTURE,
        f"{count} row(s) received after now (+{FUTURE_TOLERANCE}); the ingestor's clock?"
        if count
        else None,
        {"rows in the future": count, "latest received_at": str(latest or "")},
    )


def deadletter_share(con: Any, days: list[date]) -> dg.AssetCheckResult:
    rows = con.execute(
        f"""
        with d as (select unnest($days::date[]) as receive_date),
        dl as (select receive_date, count(*) as n from raw.deadletter_events
               where {IN_DAYS} group by 1),
        ev as (select receive_date, count(*) as n from raw.raw_events
               where {IN_DAYS} group by 1)
        select d.receive_date, coalesce(dl.n, 0), coalesce(ev.n, 0)
        from d left join dl using (receive_date) left join ev using (receive_date)
        order by 1
        """,
        {"days": days},
    ).fetchall()
    shares = [(day, dl, ev, dl / (dl + ev) if dl + ev else 0.0) for day, dl, ev in rows]
    worst = max((s[3] for s in shares), default=0.0)
    return dg.AssetCheckResult(
        asset_key=asset_keys.DEADLETTER_EVENTS,
        check_name=DEADLETTER_SHARE,
        passed=worst <= DEADLETTER_SHARE_THRESHOLD,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"highest dead-letter share {worst:.2%} "
        f"(threshold {DEADLETTER_SHARE_THRESHOLD:.0%})",
        metadata={
            "highest share": dg.MetadataValue.float(worst),
            "threshold": dg.MetadataValue.float(DEADLETTER_SHARE_THRESHOLD),
            "by day": table_metadata(
                ["receive_date", "dead-letter", "events", "share"],
                [(d, dl, ev, f"{s:.2%}") for d, dl, ev, s in shares],
            ),
        },
    )


# -- standalone -----------------------------------------------------------------------------------


@dg.asset_check(
    asset=asset_keys.RAW_EVENTS,
    name=LANDING_FRESH,
    description=(
        "While the ingestor is writing (an in-flight shard changed recently), the newest "
        f"published shard is at most {LANDING_STALE_AFTER} old."
    ),
)
def landing_freshness(landing: LandingResource) -> dg.AssetCheckResult:
    return landing_freshness_result(landing, time.time())


def landing_freshness_result(landing: LandingResource, now: float) -> dg.AssetCheckResult:
    if not landing.store().local:
        # In-flight shards are on the ingestors' own disks: traffic is not visible from here.
        return dg.AssetCheckResult(
            asset_key=asset_keys.RAW_EVENTS,
            check_name=LANDING_FRESH,
            passed=True,
            description=f"not evaluated: the landing {landing.root} is on object storage "
            "(watch the ingestors' respawn_shards_published_total instead)",
        )
    root = landing.path
    published = [p.stat().st_mtime for s in Stream for p in _newest(root, s)]
    inflight = [p.stat().st_mtime for p in root.glob(f"*/dt=*/hour=*/.*{INFLIGHT_SUFFIX}")]
    stale_after = LANDING_STALE_AFTER.total_seconds()
    traffic = any(now - mtime <= stale_after for mtime in inflight)
    newest = max(published, default=None)
    age = None if newest is None else now - newest
    passed = not traffic or (age is not None and age <= stale_after)
    return dg.AssetCheckResult(
        asset_key=asset_keys.RAW_EVENTS,
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


def _newest(root: Path, stream: Stream) -> list[Path]:
    """The newest published shard of a stream (names sort by day, hour, then writer)."""
    days = sorted((root / stream).glob("dt=*"))
    for day in reversed(days):
        shards = sorted(day.glob(f"hour=*/*{SHARD_SUFFIX}"))
        if shards:
            return [max(shards, key=lambda p: p.stat().st_mtime)]
    return []


def _age(seconds: float | None) -> str:
    return "unknown" if seconds is None else str(timedelta(seconds=round(seconds)))
