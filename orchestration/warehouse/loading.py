"""Loading published shards into `raw.raw_events` and `raw.deadletter_events` with DuckDB's JSON
reader, and recording them in the manifest `raw.loaded_shards`.

Each landed line is read once by `read_json` (explicit columns, newline-delimited); the client's
event stays whole as `payload` and is parsed once more by `json_transform` into the typed columns
of the v1 contract. Line numbers are exact: the scan keeps the files' order and each file's line
order (`preserve_insertion_order`), `row_number() over ()` numbers the lines as read, and each
shard's number is offset by the lines of the shards before it, counted in Python. The load then
checks every shard's rows against that count (1..n, no gap), so a reordered scan, a blank or a
torn line fails the load instead of mislabelling a row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from ingestion.contract import ALL_FIELDS, BASE_FIELDS, FieldSpec
from ingestion.landing.layout import Stream
from ingestion.landing.lines import DEADLETTER_LINE_COLUMNS, EVENT_LINE_COLUMNS, LogicalType
from orchestration.warehouse.raw_schema import (
    DEADLETTER_COLUMNS,
    EVENT_COLUMNS,
    FIELD_OWNERS,
    IN_DAYS,
    column_name,
)
from orchestration.warehouse.shards import LoadPlan, Shard, sha256_file

_CHUNK = 4 * 1024 * 1024
_JSON_TYPES = {"boolean": "BOOLEAN", "integer": "BIGINT"}
_BASE_NAMES = {spec.name for spec in BASE_FIELDS}

_DUCKDB_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "json": "JSON"}


def _duckdb_type(logical: LogicalType) -> str:
    if isinstance(logical, str):
        return _DUCKDB_TYPES[logical]
    return f"STRUCT({', '.join(f'{name} {_duckdb_type(t)}' for name, t in logical.items())})"


def _duckdb_struct(columns: dict[str, LogicalType]) -> str:
    """`read_json`'s `columns` argument for the columns of one kind of landed line."""
    return "{" + ", ".join(f"'{name}': '{_duckdb_type(t)}'" for name, t in columns.items()) + "}"


def _utc(expr: str) -> str:
    """An ISO 8601 text with a zone as a naive UTC timestamp (NULL when it is not one)."""
    return f"timezone('UTC', try_cast({expr} as timestamptz))"


def _typed_field(spec: FieldSpec) -> str:
    value = f'e."{spec.name}"'
    if spec.kind == "integer":
        value = f"try_cast({value} as integer)"
    if column_name(spec) != spec.name:  # the client's `timestamp`, typed as `client_ts`
        return f"{_utc(value)} as {column_name(spec)}"
    if spec.name in _BASE_NAMES:
        return f"{value} as {spec.name}"
    owners = ", ".join(f"'{name}'" for name in FIELD_OWNERS[spec.name])
    return f"case when status = 'valid' and e.event_name in ({owners}) then {value} end"


def _event_select() -> str:
    transform = json.dumps({s.name: _JSON_TYPES.get(s.kind, "VARCHAR") for s in ALL_FIELDS})
    typed = [_typed_field(spec) for spec in ALL_FIELDS]
    server = [
        'e."timestamp"',  # client_timestamp: as sent
        "status",
        "event",  # payload: the whole client event
        _utc("received_at"),
        _utc("sent_at"),
        "batch_id",
        "connection_id",
    ]
    return f"""
        with scanned as (
            select *, row_number() over () as scan_order
            from read_json($files, columns={_duckdb_struct(EVENT_LINE_COLUMNS)},
                           format='newline_delimited', filename=true)
        ),
        parsed as (
            select json_transform(event, '{transform}') as e, scanned.*
            from scanned
        )
        select {", ".join([*typed, *server])},
               s.receive_date, s.shard_path,
               scan_order - s.line_offset as line_number
        from parsed join _load_shards s on parsed.filename = s.filename
    """


def _deadletter_select() -> str:
    return f"""
        with scanned as (
            select *, row_number() over () as scan_order
            from read_json($files, columns={_duckdb_struct(DEADLETTER_LINE_COLUMNS)},
                           format='newline_delimited', filename=true)
        )
        select {_utc("received_at")}, {_utc("sent_at")}, batch_id, connection_id,
               "index", failure.code, failure.field, failure.message, "raw",
               s.receive_date, s.shard_path,
               scan_order - s.line_offset as line_number
        from scanned join _load_shards s on scanned.filename = s.filename
    """


_TARGETS = {
    Stream.EVENTS: ("raw_events", EVENT_COLUMNS, _event_select),
    Stream.DEADLETTER: ("deadletter_events", DEADLETTER_COLUMNS, _deadletter_select),
}


@dataclass
class LoadOutcome:
    stream: str
    table: str
    days: list[date]
    replaced: bool
    shards_loaded: int
    shards_skipped: int
    rows_loaded: int
    bytes_loaded: int
    rows_removed: int
    missing_shards: list[str]


def load_shards(con: Any, plan: LoadPlan, run_id: str, now: datetime) -> LoadOutcome:
    """Load the plan's shards into their table and the manifest. Runs inside the caller's
    transaction: a failure anywhere leaves both as they were."""
    table, columns, select = _TARGETS[plan.stream]
    days = list(plan.days)
    removed = 0
    if plan.replace:
        removed = con.execute(
            f"delete from raw.{table} where {IN_DAYS}", {"days": days}
        ).fetchall()[0][0]
        con.execute(
            f"delete from raw.loaded_shards where stream = $stream and {IN_DAYS}",
            {"stream": plan.stream, "days": days},
        )
    shards = plan.to_load
    rows = 0
    if shards:
        # The checksums are read while DuckDB reads the same files (hashlib releases the GIL).
        line_counts = [count_lines(s.path) for s in shards]
        with ThreadPoolExecutor(max_workers=1) as pool:
            checksums = pool.submit(lambda: [sha256_file(s.path) for s in shards])
            con.register("_load_shards", _shard_frame(shards, line_counts))
            rows = con.execute(
                f"insert into raw.{table} ({', '.join(columns)}) {select()}",
                {"files": [str(s.path) for s in shards]},
            ).fetchall()[0][0]
            digests = checksums.result()
        _check_line_numbers(con, table)
        _record_manifest(con, plan.stream, table, shards, digests, run_id, now)
        con.unregister("_load_shards")
    return LoadOutcome(
        stream=plan.stream,
        table=f"raw.{table}",
        days=days,
        replaced=plan.replace,
        shards_loaded=len(shards),
        shards_skipped=len(plan.already_loaded),
        rows_loaded=rows,
        bytes_loaded=plan.bytes_to_load,
        rows_removed=removed,
        missing_shards=plan.missing,
    )


def count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            lines += chunk.count(b"\n")
    return lines


def _shard_frame(shards: Sequence[Shard], line_counts: Sequence[int]) -> pd.DataFrame:
    offsets = [0]
    for n in line_counts[:-1]:
        offsets.append(offsets[-1] + n)
    return pd.DataFrame(
        {
            "filename": [str(s.path) for s in shards],
            "shard_path": [s.rel for s in shards],
            "receive_date": pd.to_datetime([s.day for s in shards]).date,
            "line_offset": offsets,
            "line_count": list(line_counts),
        }
    )


class ShardReadError(dg.Failure):
    """DuckDB read a shard's lines differently from the file's newline count."""


def _check_line_numbers(con: Any, table: str) -> None:
    bad = con.execute(
        f"""
        select s.shard_path, s.line_count, count(t.line_number), min(t.line_number),
               max(t.line_number)
        from _load_shards s left join raw.{table} t
          on t.shard_path = s.shard_path and t.receive_date = s.receive_date
        group by all
        having count(t.line_number) != s.line_count
            or coalesce(min(t.line_number), 1) != 1
            or coalesce(max(t.line_number), 0) != s.line_count
        """
    ).fetchall()
    if bad:
        details = "; ".join(
            f"{path}: {lines} lines in the file, {rows} rows read (lines {lo}..{hi})"
            for path, lines, rows, lo, hi in bad[:5]
        )
        raise ShardReadError(
            description=(
                f"{len(bad)} shard(s) did not read as one row per newline-terminated line, so "
                "their line numbers cannot be trusted; nothing was loaded. A published shard "
                "has no blank or partial lines: inspect these files (a manual edit? a copy "
                f"that was cut?) and move them out of landing. {details}"
            ),
            metadata={"shards": [row[0] for row in bad]},
            allow_retries=False,
        )


def _record_manifest(
    con: Any,
    stream: str,
    table: str,
    shards: Sequence[Shard],
    digests: Sequence[str],
    run_id: str,
    now: datetime,
) -> None:
    con.register(
        "_loaded",
        pd.DataFrame(
            {
                "shard_path": [s.rel for s in shards],
                "receive_date": pd.to_datetime([s.day for s in shards]).date,
                "size_bytes": [s.size for s in shards],
                "mtime_ns": [s.mtime_ns for s in shards],
                "checksum": list(digests),
            }
        ),
    )
    con.execute(
        f"""
        insert into raw.loaded_shards
        select ?, l.shard_path, l.receive_date, l.size_bytes, l.mtime_ns,
               coalesce(c.row_count, 0), l.checksum, ?::timestamp, ?
        from _loaded l left join (
            select shard_path, count(*) as row_count from raw.{table}
            where receive_date in (select distinct receive_date from _loaded)
              and shard_path in (select shard_path from _loaded)
            group by shard_path
        ) c using (shard_path)
        """,
        [stream, now.replace(tzinfo=None), run_id],
    )
    con.unregister("_loaded")
