"""`events`: one row per event_id across all days, with its conflicts and its quarantine.

The merge recomputes every id the partition touches from all loaded copies (see
`orchestration.warehouse.dedupe`), validates the kept rows with the pandera contract and keeps
the ones that fail out of `events`, in one DuckDB transaction.
"""

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import dagster as dg

from orchestration import checks
from orchestration.assets.landing import BACKFILL, OWNERS
from orchestration.partitions import daily_partitions, partition_days
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource
from orchestration.warehouse.dedupe import merge_events
from orchestration.warehouse.metadata import (
    EVENT_PREVIEW,
    column_schema,
    day_stats,
    preview,
    table_rows,
)
from orchestration.warehouse.raw_schema import (
    CONFLICT_COLUMNS,
    EVENT_COLUMNS,
    QUARANTINE_COLUMNS,
    create_raw_tables,
)

QUARANTINED_EVENTS = dg.AssetKey("quarantined_events")


def _raw_table_spec(
    key: dg.AssetKey, table: str, columns: dict[str, str], kinds: set[str], description: str
) -> dg.AssetSpec:
    """A `raw.*` table the dedupe step writes from the loaded copies of `raw_events`."""
    return dg.AssetSpec(
        key,
        description=description,
        group_name="warehouse",
        kinds=kinds,
        owners=OWNERS,
        deps=[checks.RAW_EVENTS],
        metadata={
            "dagster/table_name": table,
            "dagster/column_schema": column_schema(columns),
        },
    )


EVENTS_SPEC = _raw_table_spec(
    checks.EVENTS,
    "raw.events",
    EVENT_COLUMNS,
    {"duckdb", "python", "pandera"},
    "One row per event_id across all receive dates (`raw.events`): the earliest received copy "
    "wins (ties by shard path, then line), whatever the order partitions are loaded in. Only "
    "rows that pass the v1 pandera contract. The dbt source `respawn.events`.",
)
CONFLICTS_SPEC = _raw_table_spec(
    checks.EVENT_ID_CONFLICTS,
    "raw.event_id_conflicts",
    CONFLICT_COLUMNS,
    {"duckdb", "python"},
    "Copies of an event_id whose payload differs from the kept one (`raw.event_id_conflicts`): "
    "a client bug or a forged id, recorded, never merged.",
)
QUARANTINE_SPEC = _raw_table_spec(
    QUARANTINED_EVENTS,
    "raw.quarantined_events",
    QUARANTINE_COLUMNS,
    {"duckdb", "python", "pandera"},
    "Kept copies that broke the v1 pandera contract (`raw.quarantined_events`), with the rules "
    "they failed; they are kept out of `events` and so out of the marts.",
)


@dg.multi_asset(
    name="deduplicate_events",
    specs=[EVENTS_SPEC, CONFLICTS_SPEC, QUARANTINE_SPEC],
    check_specs=[
        dg.AssetCheckSpec(
            checks.MATCHES_CONTRACT,
            asset=checks.EVENTS,
            description="The rows this materialization keeps pass the v1 pandera contract; "
            "failing rows are quarantined.",
        ),
        dg.AssetCheckSpec(
            checks.NO_NEW_CONFLICTS,
            asset=checks.EVENT_ID_CONFLICTS,
            description="No copy of an event_id of these days carries a different payload (warn).",
        ),
    ],
    partitions_def=daily_partitions,
    backfill_policy=BACKFILL,
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
        con.begin()
        try:
            started = time.perf_counter()
            outcome = merge_events(con, days, datetime.now(UTC))
            seconds = time.perf_counter() - started
            context.log.info(
                f"raw.events: {outcome.events_written} rows written for {outcome.affected_ids} "
                f"ids, {outcome.quarantined} quarantined, {outcome.conflicts} conflicting copies"
            )
            params = {"days": days}
            of_days = "where receive_date in (select unnest($days::date[]))"
            results.append(
                dg.MaterializeResult(
                    asset_key=checks.EVENTS,
                    metadata={
                        **day_stats(con, "raw.events", "received_at", days),
                        "ids touched": dg.MetadataValue.int(outcome.affected_ids),
                        "rows written": dg.MetadataValue.int(outcome.events_written),
                        "rows replaced": dg.MetadataValue.int(outcome.events_replaced),
                        "rows quarantined": dg.MetadataValue.int(outcome.quarantined),
                        "table rows (all days)": dg.MetadataValue.int(
                            table_rows(con, "raw.events")
                        ),
                        "merge seconds": dg.MetadataValue.float(round(seconds, 3)),
                        "preview": preview(
                            con,
                            f"select {EVENT_PREVIEW} from raw.events {of_days} "
                            "order by received_at, shard_path, line_number",
                            params,
                        ),
                    },
                )
            )
            results.append(
                dg.MaterializeResult(
                    asset_key=checks.EVENT_ID_CONFLICTS,
                    metadata={
                        **day_stats(con, "raw.event_id_conflicts", "received_at", days),
                        "conflicting copies of these ids": dg.MetadataValue.int(outcome.conflicts),
                        "table rows (all days)": dg.MetadataValue.int(
                            table_rows(con, "raw.event_id_conflicts")
                        ),
                        "preview": preview(
                            con,
                            f"select event_id, kept_shard_path, kept_line_number, shard_path, "
                            f"line_number, payload from raw.event_id_conflicts {of_days}",
                            params,
                        ),
                    },
                )
            )
            results.append(
                dg.MaterializeResult(
                    asset_key=QUARANTINED_EVENTS,
                    metadata={
                        **day_stats(con, "raw.quarantined_events", "received_at", days),
                        "rows quarantined": dg.MetadataValue.int(outcome.quarantined),
                        "table rows (all days)": dg.MetadataValue.int(
                            table_rows(con, "raw.quarantined_events")
                        ),
                        "preview": preview(
                            con,
                            f"select event_id, failures, shard_path, line_number "
                            f"from raw.quarantined_events {of_days}",
                            params,
                        ),
                    },
                )
            )
            results.append(checks.matches_contract(outcome.validation))
            results.append(checks.no_new_conflicts(con, days, outcome.conflicts))
            con.commit()
        except BaseException:
            con.rollback()
            raise
    yield from results
