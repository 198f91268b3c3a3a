"""The raw tables that Dagster owns in the warehouse, derived from the v1 contract.

Typed columns come from `ingestion.contract.ALL_FIELDS`, so a field added to the contract becomes
a column here, in the pandera schema and in the dbt source docs without a second definition.
All timestamps are naive UTC `TIMESTAMP`s.
"""

from __future__ import annotations

from typing import Any

from ingestion.contract import ALL_FIELDS, EVENT_TYPES, FieldSpec

RAW_SCHEMA = "raw"

# Every raw table is partitioned by `receive_date`: a statement about some partitions binds their
# dates as the named parameter `$days` (a list of dates) and filters with `where {IN_DAYS}`.
# Written as `list_contains`, DuckDB pushes it into the scan, which then skips the row groups of
# other days by their min/max (an `in (select unnest(...))` would be a join over every row).
IN_DAYS = "list_contains($days::date[], receive_date)"

_DUCKDB_TYPES = {"boolean": "BOOLEAN", "integer": "INTEGER", "timestamp": "TIMESTAMP"}


def column_name(spec: FieldSpec) -> str:
    """The typed column of a contract field: its name, but `timestamp` is typed as `client_ts`
    (the text as sent is kept beside it as `client_timestamp`)."""
    return "client_ts" if spec.name == "timestamp" else spec.name


# name -> DuckDB type, in table order
EVENT_COLUMNS: dict[str, str] = {
    **{column_name(spec): _DUCKDB_TYPES.get(spec.kind, "VARCHAR") for spec in ALL_FIELDS},
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
    **{column_name(spec): spec.description for spec in ALL_FIELDS},
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


# -- the other tables Dagster owns in `raw` -------------------------------------------------------

# Which event types carry each type-specific field: a typed column is filled only for a `valid`
# event of one of these types (an extra key of the same name on another type stays in `payload`).
FIELD_OWNERS: dict[str, tuple[str, ...]] = {
    spec.name: tuple(name for name, etype in EVENT_TYPES.items() if spec in etype.fields)
    for etype in EVENT_TYPES.values()
    for spec in etype.fields
}

DEADLETTER_COLUMNS: dict[str, str] = {
    "received_at": "TIMESTAMP",
    "sent_at": "TIMESTAMP",
    "batch_id": "VARCHAR",
    "connection_id": "VARCHAR",
    "event_index": "BIGINT",
    "failure_code": "VARCHAR",
    "failure_field": "VARCHAR",
    "failure_message": "VARCHAR",
    "raw": "VARCHAR",
    "receive_date": "DATE",
    "shard_path": "VARCHAR",
    "line_number": "BIGINT",
}

LOADED_SHARDS_COLUMNS: dict[str, str] = {
    "stream": "VARCHAR",
    "shard_path": "VARCHAR",
    "receive_date": "DATE",
    "size_bytes": "BIGINT",
    "mtime_ns": "BIGINT",
    "row_count": "BIGINT",
    "checksum": "VARCHAR",
    "loaded_at": "TIMESTAMP",
    "run_id": "VARCHAR",
}

CONFLICT_COLUMNS: dict[str, str] = {
    "event_id": "VARCHAR",
    "kept_shard_path": "VARCHAR",
    "kept_line_number": "BIGINT",
    "kept_received_at": "TIMESTAMP",
    "kept_payload": "JSON",
    "shard_path": "VARCHAR",
    "line_number": "BIGINT",
    "received_at": "TIMESTAMP",
    "receive_date": "DATE",
    "payload": "JSON",
    "detected_at": "TIMESTAMP",
}

QUARANTINE_COLUMNS: dict[str, str] = {
    **EVENT_COLUMNS,
    "failures": "VARCHAR",
    "quarantined_at": "TIMESTAMP",
}

# Event ids whose copies a `replace` removed from some days: one of them may have been the kept or
# the quarantined copy, so the next merge of those days recomputes these ids from what is left.
PENDING_MERGE_COLUMNS: dict[str, str] = {"event_id": "VARCHAR", "receive_date": "DATE"}

# `raw_events` also marks the copy of each event_id that `raw.events` shows (see EVENTS_VIEW).
# Its payloads, the widest column by far, are stored with zstd: measured on the simulator's
# events, that writes them in 60% of the CPU time of DuckDB's automatic choice (dictionary and
# FSST), 2.4 times smaller.
RAW_EVENTS_COLUMNS: dict[str, str] = {
    **EVENT_COLUMNS,
    "payload": "JSON USING COMPRESSION zstd",
    "is_kept": "BOOLEAN DEFAULT false",
}

# table -> columns, for every table Dagster owns in `raw`
RAW_TABLES: dict[str, dict[str, str]] = {
    "raw_events": RAW_EVENTS_COLUMNS,
    "deadletter_events": DEADLETTER_COLUMNS,
    "event_id_conflicts": CONFLICT_COLUMNS,
    "quarantined_events": QUARANTINE_COLUMNS,
    "loaded_shards": LOADED_SHARDS_COLUMNS,
    "pending_merge": PENDING_MERGE_COLUMNS,
}

COLUMN_DESCRIPTIONS.update(
    {
        "event_index": "Index of the event in its batch, when the refusal was of one event.",
        "failure_code": "Stable refusal code (`ingestion.contract.Code`).",
        "failure_field": "The offending field, when there is one.",
        "failure_message": "Why the line was refused, in words.",
        "raw": "The text as received.",
        "stream": "Landing stream of the shard: `events` or `deadletter`.",
        "size_bytes": "Shard size in bytes when it was loaded.",
        "mtime_ns": "Shard modification time (ns since the epoch) when it was loaded.",
        "row_count": "Lines loaded from the shard.",
        "checksum": "SHA-256 of the shard's bytes when it was loaded.",
        "loaded_at": "When the shard was loaded (UTC).",
        "run_id": "The Dagster run that loaded the shard.",
        "kept_shard_path": "Shard of the copy kept in `events`.",
        "kept_line_number": "Line of the copy kept in `events`.",
        "kept_received_at": "Receive time of the copy kept in `events`.",
        "kept_payload": "Payload of the copy kept in `events`.",
        "detected_at": "When the conflict was recorded (UTC).",
        "failures": "The pandera checks the row failed, `; `-separated.",
        "is_kept": "True on the one copy of its event_id that `raw.events` shows (the earliest "
        "received that passed the contract); set by the `events` asset.",
        "quarantined_at": "When the row was quarantined (UTC).",
    }
)


# What each table (or view) Dagster owns in `raw` holds: the description of its asset.
TABLE_DESCRIPTIONS: dict[str, str] = {
    "raw_events": "Every landed copy of every accepted event (`raw.raw_events`), one row per line "
    "of the day's published shards: typed v1 columns, the full client event as `payload`, server "
    "receive time, shard path and line number. Duplicates are kept here; `events` "
    "deduplicates them.",
    "deadletter_events": "Lines the ingestor refused (`raw.deadletter_events`): the raw text, the "
    "stable failure code, field and message, receive time, shard path and line number.",
    "events": "One row per event_id across all receive dates (`raw.events`): the earliest "
    "received copy wins (ties by shard path, then line), whatever the order partitions are "
    "loaded in. Only rows that pass the v1 pandera contract. The dbt source `respawn.events`.",
    "event_id_conflicts": "Copies of an event_id whose payload differs from the kept one "
    "(`raw.event_id_conflicts`): a client bug or a forged id, recorded, never merged.",
    "quarantined_events": "Kept copies that broke the v1 pandera contract "
    "(`raw.quarantined_events`), with the rules they failed; they are kept out of `events` and "
    "so out of the marts.",
}


# `raw.events` is the kept copies of `raw.raw_events`, with exactly the event columns: a view,
# so that deduplicating a day flips a flag instead of writing every event a second time.
EVENTS_VIEW = (
    f"create or replace view {RAW_SCHEMA}.events as "
    f"select {', '.join(EVENT_COLUMNS)} from {RAW_SCHEMA}.raw_events where is_kept"
)


def create_raw_tables(con: Any) -> None:
    """Create every table Dagster owns in `raw`, and the `raw.events` view, if they do not exist
    (DuckDB connection). A warehouse from before the view (`raw.events` a table) is migrated."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    for table, columns in RAW_TABLES.items():
        con.execute(f"create table if not exists {RAW_SCHEMA}.{table} ({columns_ddl(columns)})")
    kinds = con.execute(
        "select table_type from information_schema.tables "
        f"where table_schema = '{RAW_SCHEMA}' and table_name = 'events'"
    ).fetchall()
    if kinds == [("VIEW",)]:
        return
    if kinds:  # the old table: mark its rows as the kept copies, then replace it
        con.execute(
            f"alter table {RAW_SCHEMA}.raw_events add column if not exists is_kept "
            "BOOLEAN DEFAULT false"
        )
        con.execute(
            f"update {RAW_SCHEMA}.raw_events set is_kept = true where (shard_path, line_number) "
            f"in (select (shard_path, line_number) from {RAW_SCHEMA}.events)"
        )
        con.execute(f"drop table {RAW_SCHEMA}.events")
    con.execute(EVENTS_VIEW)
