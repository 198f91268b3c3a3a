"""How the `raw.*` tables look in the UI: their asset specs (described columns), and the metadata
of each materialization (time ranges, row counts, previews)."""

from __future__ import annotations

from datetime import date
from typing import Any

import dagster as dg

from orchestration.owners import DATA_ENGINEERING
from orchestration.table_metadata import column_schema, table_metadata
from orchestration.warehouse.raw_schema import (
    COLUMN_DESCRIPTIONS,
    IN_DAYS,
    RAW_SCHEMA,
    TABLE_DESCRIPTIONS,
)

PREVIEW_ROWS = 5
# The event columns a preview shows (the payload is too wide for a table cell).
EVENT_PREVIEW = (
    "event_name, event_id, user_id, client_ts, received_at, status, shard_path, line_number"
)


def raw_table_spec(
    key: dg.AssetKey, table: str, columns: dict[str, str], **spec: Any
) -> dg.AssetSpec:
    """The asset of the table `raw.<table>` (data engineering's), described as `raw_schema`
    describes it and its columns; `spec` is the rest of the `AssetSpec` (group, kinds, ...)."""
    return dg.AssetSpec(
        key,
        description=TABLE_DESCRIPTIONS[table],
        owners=DATA_ENGINEERING,
        metadata={
            "dagster/table_name": f"{RAW_SCHEMA}.{table}",
            "dagster/column_schema": column_schema(columns, COLUMN_DESCRIPTIONS),
        },
        **spec,
    )


def preview(con: Any, sql: str, params: Any = None) -> dg.MetadataValue:
    """The first rows of a query as a markdown table."""
    result = con.execute(f"select * from ({sql}) limit {PREVIEW_ROWS}", params)
    header = [d[0] for d in result.description]
    rows = result.fetchall()
    if not rows:
        return dg.MetadataValue.md("_no rows_")
    return table_metadata(header, rows)


def day_stats(con: Any, table: str, column: str, days: list[date]) -> dict[str, Any]:
    """Row count and time range of `table` over the receive dates `days`."""
    rows, first, last = con.execute(
        f"select count(*), min({column}), max({column}) from {table} where {IN_DAYS}",
        {"days": days},
    ).fetchall()[0]
    stats: dict[str, Any] = {"dagster/row_count": dg.MetadataValue.int(rows)}
    if first is not None:
        stats[f"{column} first"] = dg.MetadataValue.text(first.isoformat(sep=" "))
        stats[f"{column} last"] = dg.MetadataValue.text(last.isoformat(sep=" "))
    return stats


def table_rows(con: Any, table: str) -> int:
    return con.execute(f"select count(*) from {table}").fetchall()[0][0]
