"""Metadata shown on each materialization: column schemas, time ranges, preview tables."""

from __future__ import annotations

from datetime import date
from typing import Any

import dagster as dg

from orchestration.warehouse.raw_schema import COLUMN_DESCRIPTIONS

PREVIEW_ROWS = 5
# The event columns a preview shows (the payload is too wide for a table cell).
EVENT_PREVIEW = (
    "event_name, event_id, user_id, client_ts, received_at, status, shard_path, line_number"
)
_CELL_CHARS = 40


def column_schema(columns: dict[str, str]) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name, dtype.lower(), description=COLUMN_DESCRIPTIONS.get(name))
            for name, dtype in columns.items()
        ]
    )


def markdown_table(header: list[str], rows: list[tuple[Any, ...]]) -> str:
    """A small markdown table; long cells are cut and `|` escaped so the table stays a table."""

    def cell(value: Any) -> str:
        text = "" if value is None else str(value)
        if len(text) > _CELL_CHARS:
            text = text[: _CELL_CHARS - 1] + "…"
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def preview(con: Any, sql: str, params: Any = None) -> dg.MetadataValue:
    """The first rows of a query as a markdown table."""
    result = con.execute(f"select * from ({sql}) limit {PREVIEW_ROWS}", params)
    header = [d[0] for d in result.description]
    rows = result.fetchall()
    if not rows:
        return dg.MetadataValue.md("_no rows_")
    return dg.MetadataValue.md(markdown_table(header, rows))


def day_stats(con: Any, table: str, column: str, days: list[date]) -> dict[str, Any]:
    """Row count and time range of `table` over the receive dates `days`."""
    rows, first, last = con.execute(
        f"select count(*), min({column}), max({column}) from {table} "
        "where receive_date in (select unnest($days::date[]))",
        {"days": days},
    ).fetchall()[0]
    stats: dict[str, Any] = {"dagster/row_count": dg.MetadataValue.int(rows)}
    if first is not None:
        stats[f"{column} first"] = dg.MetadataValue.text(first.isoformat(sep=" "))
        stats[f"{column} last"] = dg.MetadataValue.text(last.isoformat(sep=" "))
    return stats


def table_rows(con: Any, table: str) -> int:
    return con.execute(f"select count(*) from {table}").fetchall()[0][0]
