"""`raw_events` and `deadletter_events`: the day's published shards, loaded as they are.

One step loads both streams in one DuckDB transaction, so a run killed half-way leaves the
warehouse as it was and the manifest never claims a shard whose rows are missing.
"""

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg
from pydantic import Field

from ingestion.landing.layout import Stream
from orchestration import asset_keys
from orchestration.landing import checks
from orchestration.partitions import BACKFILL_POLICY, daily_partitions, partition_days
from orchestration.resources import (
    WAREHOUSE_POOL,
    LandingResource,
    WarehouseResource,
    transaction,
)
from orchestration.warehouse.loading import LoadOutcome, load_shards
from orchestration.warehouse.metadata import (
    EVENT_PREVIEW,
    day_stats,
    preview,
    raw_table_spec,
    table_rows,
)
from orchestration.warehouse.raw_schema import (
    DEADLETTER_COLUMNS,
    EVENT_COLUMNS,
    IN_DAYS,
    create_raw_tables,
)
from orchestration.warehouse.shards import plan_load


class LoadConfig(dg.Config):
    replace: bool = Field(
        default=False,
        description=(
            "Reload every shard of the partition(s) from landing, replacing their rows. "
            "By default only shards not loaded yet are read."
        ),
    )


# What the two landed tables share: written by the load, from one landing stream each.
_LANDED = {"group_name": "landing", "kinds": {"duckdb", "python"}, "skippable": True}

RAW_EVENTS_SPEC = raw_table_spec(asset_keys.RAW_EVENTS, "raw_events", EVENT_COLUMNS, **_LANDED)
DEADLETTER_SPEC = raw_table_spec(
    asset_keys.DEADLETTER_EVENTS, "deadletter_events", DEADLETTER_COLUMNS, **_LANDED
)

# The landing stream each asset is loaded from, and the columns its preview shows.
_STREAMS: dict[dg.AssetKey, Stream] = {
    asset_keys.RAW_EVENTS: Stream.EVENTS,
    asset_keys.DEADLETTER_EVENTS: Stream.DEADLETTER,
}
_PREVIEW_COLUMNS = {
    asset_keys.RAW_EVENTS: EVENT_PREVIEW,
    asset_keys.DEADLETTER_EVENTS: "received_at, failure_code, failure_field, raw, shard_path, "
    "line_number",
}

# The checks computed inside the load, on its transaction's result.
_IN_STEP_CHECKS = {
    dg.AssetCheckKey(asset_keys.RAW_EVENTS, checks.RECEIVED_NOT_IN_FUTURE): (
        checks.received_not_in_future
    ),
    dg.AssetCheckKey(asset_keys.DEADLETTER_EVENTS, checks.DEADLETTER_SHARE): (
        checks.deadletter_share
    ),
}


@dg.multi_asset(
    name="load_landed_shards",
    specs=[RAW_EVENTS_SPEC, DEADLETTER_SPEC],
    check_specs=[
        dg.AssetCheckSpec(
            checks.RECEIVED_NOT_IN_FUTURE,
            asset=asset_keys.RAW_EVENTS,
            description="No row of the loaded days was received in the future.",
        ),
        dg.AssetCheckSpec(
            checks.DEADLETTER_SHARE,
            asset=asset_keys.DEADLETTER_EVENTS,
            description=(
                "Dead-letter lines are at most "
                f"{checks.DEADLETTER_SHARE_THRESHOLD:.0%} of each loaded day's lines (warn)."
            ),
        ),
    ],
    partitions_def=daily_partitions,
    backfill_policy=BACKFILL_POLICY,
    can_subset=True,
    pool=WAREHOUSE_POOL,
)
def load_landed_shards(
    context: dg.AssetExecutionContext,
    config: LoadConfig,
    warehouse: WarehouseResource,
    landing: LandingResource,
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Load the partition's new published shards of both landing streams (or replace them)."""
    days = partition_days(context)
    selected = [key for key in _STREAMS if key in context.selected_asset_keys]
    now = datetime.now(UTC)
    results: list[dg.MaterializeResult | dg.AssetCheckResult] = []
    with warehouse.get_connection() as con:
        create_raw_tables(con)
        with transaction(con):
            outcomes: dict[dg.AssetKey, tuple[LoadOutcome, float]] = {}
            for key in selected:
                started = time.perf_counter()
                plan = plan_load(con, landing.store(), _STREAMS[key], days, replace=config.replace)
                outcome = load_shards(con, plan, context.run.run_id, now)
                outcomes[key] = (outcome, time.perf_counter() - started)
                context.log.info(
                    f"{outcome.table}: {outcome.rows_loaded} rows from {outcome.shards_loaded} "
                    f"new shard(s), {outcome.shards_skipped} already loaded"
                )
            for key, (outcome, seconds) in outcomes.items():
                results.append(_materialization(con, key, outcome, seconds))
            for check_key, check in _IN_STEP_CHECKS.items():
                if check_key in context.selected_asset_check_keys:
                    results.append(check(con, days))
    yield from results


def _materialization(
    con: Any, key: dg.AssetKey, outcome: LoadOutcome, seconds: float
) -> dg.MaterializeResult:
    days = outcome.days
    metadata: dict[str, Any] = {
        **day_stats(con, outcome.table, "received_at", days),
        "rows loaded": dg.MetadataValue.int(outcome.rows_loaded),
        "shards loaded": dg.MetadataValue.int(outcome.shards_loaded),
        "shards already loaded": dg.MetadataValue.int(outcome.shards_skipped),
        "bytes loaded": dg.MetadataValue.int(outcome.bytes_loaded),
        "replaced partition": outcome.replaced,
        "rows removed": dg.MetadataValue.int(outcome.rows_removed),
        "table rows (all days)": dg.MetadataValue.int(table_rows(con, outcome.table)),
        "load seconds": dg.MetadataValue.float(round(seconds, 3)),
        "rows per second": dg.MetadataValue.float(
            round(outcome.rows_loaded / seconds, 1) if seconds > 0 else 0.0
        ),
        "preview": preview(
            con,
            f"select {_PREVIEW_COLUMNS[key]} from {outcome.table} where {IN_DAYS} "
            "order by shard_path, line_number",
            {"days": days},
        ),
    }
    if outcome.missing_shards:
        metadata["shards gone from landing"] = dg.MetadataValue.json(outcome.missing_shards[:50])
    return dg.MaterializeResult(asset_key=key, metadata=metadata)
