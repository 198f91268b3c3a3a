"""The raw tables that Dagster owns in the warehouse, derived from the v1 contract.

Typed columns come from `ingestion.contract.ALL_FIELDS`, so a field added to the contract becomes
a column here, in the pandera schema and in the dbt source docs without a second definition.
All timestamps are naive UTC `TIMESTAMP`s.
"""

from __future__ import annotations

from typing import Any

from ingestion.contract import ALL_FIELDS, FieldSpec

RAW_SCHEMA = "raw"

_DUCKDB_TYPES = {"boolean": "BOOLEAN", "integer": "INTEGER"}


def _contract_column(spec: FieldSpec) -> tuple[str, str]:
    if spec.name == "timestamp":  # typed as client_ts; the text as sent is kept beside it
        return ("client_ts", "TIMESTAMP")
    return (spec.name, _DUCKDB_TYPES.get(spec.kind, "VARCHAR"))


# name -> DuckDB type, in table order
EVENT_COLUMNS: dict[str, str] = {
    **dict(_contract_column(spec) for spec in ALL_FIELDS),
    "client_timestamp": "VARCHAR",
    "status": "VARCHAR",
    "payload": "JSON",
    "received_at": "TIMESTAMP",
    "sent_at": "TIMESTAMP",
    "batch_id": "VARCHAR",
    "connection_id": "VARCHAR",
    "receive_date": "DATE",
    "shard_path": "VARCHAR",
    "line_number": "BIGINT",
}

COLUMN_DESCRIPTIONS: dict[str, str] = {
    **{_contract_column(spec)[0]: spec.description for spec in ALL_FIELDS},
    "client_ts": "Client-side event time (`timestamp`), converted to naive UTC.",
    "client_timestamp": "The client's `timestamp` exactly as sent.",
    "status": "`valid` for a known v1 event; `unknown` when its name or version is newer than "
    "this build (kept so that a newer client never loses data).",
    "payload": "The full client event as received, including fields the contract does not name.",
    "received_at": "Server receive time (UTC, microseconds), stamped by the ingestor.",
    "sent_at": "The batch's `sent_at` (client clock, UTC) when the event came in an envelope.",
    "batch_id": "The batch envelope's id, when there was one.",
    "connection_id": "The ingestor connection that received the event.",
    "receive_date": "UTC date of `received_at`: the Dagster partition.",
    "shard_path": "Landing shard the copy was loaded from, relative to the landing root.",
    "line_number": "1-based line of the copy in its shard.",
}


def columns_ddl(columns: dict[str, str] | None = None) -> str:
    return ", ".join(f"{name} {dtype}" for name, dtype in (columns or EVENT_COLUMNS).items())


def create_event_table(con: Any, table: str) -> None:
    """Create `raw.<table>` with the event columns if it does not exist (DuckDB connection)."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(f"create table if not exists {RAW_SCHEMA}.{table} ({columns_ddl()})")
