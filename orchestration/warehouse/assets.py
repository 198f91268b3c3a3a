"""`events`: one row per event_id across all days, with its conflicts and its quarantine.

The merge recomputes every id the partition touches from all loaded copies (see
`orchestration.warehouse.dedupe`), validates the kept rows with the pandera contract and keeps
the ones that fail out of `events`, in one DuckDB transaction.
"""

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg

from orchestration import asset_keys
from orchestration.partitions import BACKFILL_POLICY, daily_partitions, partition_days
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource, transaction
from orchestration.warehouse import checks
from orchestration.warehouse.dedupe import merge_events
from orchestration.warehouse.metadata import (
    EVENT_PREVIEW,
    day_stats,
    preview,
    raw_table_spec,
    table_rows,
)
from orchestration.warehouse.raw_schema import (
    CONFLICT_COLUMNS,
    EVENT_COLUMNS,
    IN_DAYS,
    QUARANTINE_COLUMNS,
    create_raw_tables,
)

# What the three merged tables share: written by the dedupe step from the loaded copies.
_MERGED = {"group_name": "warehouse", "deps": [asset_keys.RAW_EVENTS]}

EVENTS_SPEC = raw_table_spec(
    asset_keys.EVENTS, "events", EVENT_COLUMNS, kinds={"duckdb", "python", "pandera"}, **_MERGED
)
CONFLICTS_SPEC = raw_table_spec(
    asset_keys.EVENT_ID_CONFLICTS,
    "event_id_conflicts",
    CONFLICT_COLUMNS,
    kinds={"duckdb", "python"},
    **_MERGED,
)
QUARANTINE_SPEC = raw_table_spec(
    asset_keys.QUARANTINED_EVENTS,
    "quarantined_events",
    QUARANTINE_COLUMNS,
    kinds={"duckdb", "python", "pandera"},
    **_MERGED,
)
_TABLE_NAMES = {
    spec.key: spec.metadata["dagster/table_name"]
    for spec in (EVENTS_SPEC, CONFLICTS_SPEC, QUARANTINE_SPEC)
}


@dg.multi_asset(
    name="deduplicate_events",
    specs=[EVENTS_SPEC, CONFLICTS_SPEC, QUARANTINE_SPEC],
    check_specs=[
        dg.AssetCheckSpec(
            checks.MATCHES_CONTRACT,
            asset=asset_keys.EVENTS,
            description="The rows this materialization keeps pass the v1 pandera contract; "
            "failing rows are quarantined.",
        ),
        dg.AssetCheckSpec(
            checks.NO_NEW_CONFLICTS,
            asset=asset_keys.EVENT_ID_CONFLICTS,
            description="No copy of an event_id of these days carries a different payload (warn).",
        ),
    ],
    partitions_def=daily_partitions,
    backfill_policy=BACKFILL_POLICY,
    pool=WAREHOUSE_POOL,
)
def deduplicate_events(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Merge the partition's loaded copies into `events`; record conflicts and quarantine."""
    days = partition_days(context)
    results: list[dg.MaterializeResult | dg.AssetCheckResult] = []
    with warehouse.get_connection() as con:
        create_raw_tables(con)
        with transaction(con):
            started = time.perf_counter()
            outcome = merge_events(con, days, datetime.now(UTC))
            seconds = time.perf_counter() - started
            context.log.info(
                f"raw.events: {outcome.events_written} rows written for {outcome.affected_ids} "
                f"ids, {outcome.quarantined} quarantined, {outcome.conflicts} conflicting copies"
            )
            results += [
                _materialization(
                    con,
                    asset_keys.EVENTS,
                    days,
                    {
                        "ids touched": dg.MetadataValue.int(outcome.affected_ids),
                        "rows written": dg.MetadataValue.int(outcome.events_written),
                        "rows replaced": dg.MetadataValue.int(outcome.events_replaced),
                        "rows quarantined": dg.MetadataValue.int(outcome.quarantined),
                        "merge seconds": dg.MetadataValue.float(round(seconds, 3)),
                    },
                    preview_columns=EVENT_PREVIEW,
                    preview_order="order by received_at, shard_path, line_number",
                ),
                _materialization(
                    con,
                    asset_keys.EVENT_ID_CONFLICTS,
                    days,
                    {"conflicting copies of these ids": dg.MetadataValue.int(outcome.conflicts)},
                    preview_columns="event_id, kept_shard_path, kept_line_number, shard_path, "
                    "line_number, payload",
                ),
                _materialization(
                    con,
                    asset_keys.QUARANTINED_EVENTS,
                    days,
                    {"rows quarantined": dg.MetadataValue.int(outcome.quarantined)},
                    preview_columns="event_id, failures, shard_path, line_number",
                ),
                checks.matches_contract(outcome.validation),
                checks.no_new_conflicts(con, days, outcome.conflicts),
            ]
    yield from results


def _materialization(
    con: Any,
    key: dg.AssetKey,
    days: list[date],
    merged: dict[str, dg.MetadataValue],
    *,
    preview_columns: str,
    preview_order: str = "",
) -> dg.MaterializeResult:
    """One table the merge wrote (a spec above): its rows of `days`, what the merge did to it
    (`merged`), its size, and a preview."""
    table = _TABLE_NAMES[key]
    rows = f"select {preview_columns} from {table} where {IN_DAYS} {preview_order}"
    return dg.MaterializeResult(
        asset_key=key,
        metadata={
            **day_stats(con, table, "received_at", days),
            **merged,
            "table rows (all days)": dg.MetadataValue.int(table_rows(con, table)),
            "preview": preview(con, rows, {"days": days}),
        },
    )
