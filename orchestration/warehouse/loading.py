"""Loading published shards into `raw.raw_events` and `raw.deadletter_events`, and recording them
in the manifest `raw.loaded_shards`.

One statement reads the shards and inserts their rows. Each shard is read whole (`read_text`)
and split at its newlines, so a row's line number is its position in that list: exact by
construction, whatever order DuckDB's threads read the files in, and with no window over the
scan (a `row_number() over ()` would hold the whole load to one thread). Each line is then parsed
once: one `json_extract_string` over the line's paths yields the server's fields, the client's
event whole (`payload`) and every typed field of the v1 contract. A line that is not JSON fails
the load with its shard and line (a published shard has none), and the rows of every shard are
counted against its newlines once more before anything is committed.

A landing on object storage is read the same way, through its store's filesystem (s3fs), which
the connection registers for the load (`read_text` of s3:// URLs: DuckDB's own httpfs cannot be
installed offline); the line counts and checksums read the same bytes through the same store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd

from ingestion.contract import ALL_FIELDS, BASE_FIELDS, FieldSpec
from ingestion.landing.layout import Stream
from ingestion.landing.lines import DEADLETTER_LINE_COLUMNS, EVENT_LINE_COLUMNS, LogicalType
from ingestion.landing.store import LandingStore
from orchestration.warehouse.raw_schema import (
    DEADLETTER_COLUMNS,
    EVENT_COLUMNS,
    FIELD_OWNERS,
    IN_DAYS,
    column_name,
)
from orchestration.warehouse.shards import LoadPlan, Shard

_CHUNK = 4 * 1024 * 1024
_BASE_NAMES = {spec.name for spec in BASE_FIELDS}
_EVENT = "event"  # the landed line's field that holds the client's event (EVENT_LINE_COLUMNS)


class _Paths:
    """The JSON paths one `json_extract_string` reads from a line, and how to name each value."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def value(self, *keys: str) -> str:
        path = "$." + ".".join(f'"{key}"' for key in keys)
        if path not in self.paths:
            self.paths.append(path)
        return f"v[{self.paths.index(path) + 1}]"

    def extract(self) -> str:
        quoted = ", ".join("'" + p.replace("'", "''") + "'" for p in self.paths)
        return f"json_extract_string(line, [{quoted}])"


def _utc(expr: str) -> str:
    """An ISO 8601 text with a zone as a naive UTC timestamp (NULL when it is not one). A
    TIMESTAMPTZ holds UTC microseconds: taking them is exact, and cheaper than `timezone()`."""
    return f"make_timestamp(epoch_us(try_cast({expr} as timestamptz)))"


def _logical(columns: Mapping[str, LogicalType], keys: Sequence[str]) -> LogicalType:
    """The logical type of a field of a landed line (`ingestion.landing.lines`); a KeyError names
    a field the line format does not have, so a renamed field fails here, not as NULLs."""
    logical: Any = columns
    for key in keys:
        logical = logical[key]
    return logical


def _read(paths: _Paths, columns: Mapping[str, LogicalType], *keys: str) -> str:
    """One field of a landed line, typed as the line format types it."""
    logical = _logical(columns, keys)
    value = paths.value(*keys)
    if logical == "integer":
        return f"try_cast({value} as bigint)"
    if logical == "json":  # JSON text; a scalar other than an object is kept as a JSON string
        return f"case when starts_with({value}, '{{') then {value}::json else to_json({value}) end"
    assert logical == "string", f"{'.'.join(keys)} is not a scalar of the line"
    return value


def _typed_field(paths: _Paths, spec: FieldSpec) -> str:
    assert _logical(EVENT_LINE_COLUMNS, [_EVENT]) == "json", "the event is a JSON object"
    value = paths.value(_EVENT, spec.name)
    if spec.kind == "integer":
        value = f"try_cast({value} as integer)"
    elif spec.kind == "boolean":
        value = f"try_cast({value} as boolean)"
    if column_name(spec) != spec.name:  # the client's `timestamp`, typed as `client_ts`
        return _utc(value)
    if spec.name in _BASE_NAMES:
        return value
    owners = ", ".join(f"'{name}'" for name in FIELD_OWNERS[spec.name])
    event_name = paths.value(_EVENT, "event_name")
    status = _read(paths, EVENT_LINE_COLUMNS, "status")
    return f"case when {status} = 'valid' and {event_name} in ({owners}) then {value} end"


# The columns every loaded row gets from its shard, not from its line.
_PROVENANCE = ("receive_date", "shard_path", "line_number")


def _lines(files: str) -> str:
    """Every line of the shards, with its shard and 1-based line number. The list a shard splits
    into ends with what follows its last newline: nothing, in a published shard."""
    return f"""
        select s.shard_path, s.receive_date, unnest(f.lines) as line,
               generate_subscripts(f.lines, 1) as line_number, len(f.lines) as pieces
        from (select filename, string_split(content, chr(10)) as lines from read_text({files})) f
        join _load_shards s on f.filename = s.filename
    """


def _select(values: Mapping[str, str], paths: _Paths, columns: Mapping[str, str]) -> str:
    """The rows of the shards as `columns`: `values` (column -> SQL over the line's values `v`)
    and the provenance columns."""
    assert set(values) | set(_PROVENANCE) == set(columns), "one value per column"
    return f"""
        with parsed as (
            select shard_path, receive_date, line_number, {paths.extract()} as v
            from ({_lines("$files")})
            where line_number < pieces or line != ''
        )
        select {", ".join(f"{values.get(c, c)} as {c}" for c in columns)} from parsed
    """


def _event_select() -> str:
    paths = _Paths()

    def read(*keys: str) -> str:
        return _read(paths, EVENT_LINE_COLUMNS, *keys)

    values = {column_name(spec): _typed_field(paths, spec) for spec in ALL_FIELDS}
    values |= {
        "client_timestamp": paths.value(_EVENT, "timestamp"),  # as sent
        "status": read("status"),
        "payload": read(_EVENT),  # the client's event, whole
        "received_at": _utc(read("received_at")),
        "sent_at": _utc(read("sent_at")),
        "batch_id": read("batch_id"),
        "connection_id": read("connection_id"),
    }
    return _select(values, paths, EVENT_COLUMNS)


def _deadletter_select() -> str:
    paths = _Paths()

    def read(*keys: str) -> str:
        return _read(paths, DEADLETTER_LINE_COLUMNS, *keys)

    values = {
        "received_at": _utc(read("received_at")),
        "sent_at": _utc(read("sent_at")),
        "batch_id": read("batch_id"),
        "connection_id": read("connection_id"),
        "event_index": read("index"),
        "failure_code": read("failure", "code"),
        "failure_field": read("failure", "field"),
        "failure_message": read("failure", "message"),
        "raw": read("raw"),
    }
    return _select(values, paths, DEADLETTER_COLUMNS)


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


@dataclass(frozen=True)
class ShardDigest:
    """What the loader learns from a shard's bytes, read once: its newlines and its SHA-256."""

    lines: int
    sha256: str


def digest_shard(path: str | Path, store: LandingStore | None = None) -> ShardDigest:
    """The newlines and SHA-256 of a published shard (read through `store` when it is given)."""
    digest = hashlib.sha256()
    lines = 0
    with store.open(str(path)) if store is not None else open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            lines += chunk.count(b"\n")
    return ShardDigest(lines, digest.hexdigest())


@contextmanager
def reading_landing(con: Any, store: LandingStore | None) -> Iterator[None]:
    """While the block runs, `con` reads the store's URLs (s3://) through its filesystem; a
    local landing needs nothing. A filesystem the connection already has is left to its owner."""
    fs = store.filesystem() if store is not None else None
    names = [fs.protocol] if fs is not None and isinstance(fs.protocol, str) else []
    if fs is not None and not names:
        names = list(fs.protocol)[:1]
    if fs is None or con.filesystem_is_registered(names[0]):
        yield
        return
    con.register_filesystem(fs)
    try:
        yield
    finally:
        con.unregister_filesystem(names[0])


def load_shards(con: Any, plan: LoadPlan, run_id: str, now: datetime) -> LoadOutcome:
    """Load the plan's shards into their table and the manifest. Runs inside the caller's
    transaction: a failure anywhere leaves both as they were."""
    table, columns, select = _TARGETS[plan.stream]
    days = list(plan.days)
    removed = 0
    if plan.replace:
        removed = _remove_days(con, plan.stream, table, days)
    shards = plan.to_load
    rows = 0
    if shards:
        con.register("_load_shards", _shard_frame(shards))
        # The shards' bytes are hashed while DuckDB reads them (hashlib releases the GIL).
        with ThreadPoolExecutor(max_workers=1) as pool, reading_landing(con, plan.store):
            digests = pool.submit(lambda: [digest_shard(s.path, plan.store) for s in shards])
            try:
                with _any_insertion_order(con):
                    rows = con.execute(
                        f"insert into raw.{table} ({', '.join(columns)}) {select()}",
                        {"files": [str(s.path) for s in shards]},
                    ).fetchall()[0][0]
            except duckdb.InvalidInputException as exc:
                raise _unreadable_lines(shards, exc, plan.store) from exc
            read = digests.result()
        counts = _rows_per_shard(con, table, days)
        _check_line_numbers(shards, read, counts)
        _record_manifest(con, plan.stream, shards, read, counts, run_id, now)
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


@contextmanager
def _any_insertion_order(con: Any) -> Iterator[None]:
    """Let DuckDB insert rows in the order its threads produce them: a line number does not
    depend on it, and keeping the files' order costs the insert about a tenth of its time."""
    (before,) = con.execute("select current_setting('preserve_insertion_order')").fetchone()
    con.execute("set preserve_insertion_order = false")
    try:
        yield
    finally:
        con.execute(f"set preserve_insertion_order = {bool(before)}")


def _remove_days(con: Any, stream: str, table: str, days: list[date]) -> int:
    """Delete the days' rows and manifest entries (a replace). The ids of the event copies
    removed are queued in `raw.pending_merge`: a copy that was kept or quarantined may have gone
    with them, and the next merge of these days recomputes those ids from the copies left."""
    params = {"days": days}
    if table == "raw_events":
        con.execute(
            f"insert into raw.pending_merge select distinct event_id, receive_date "
            f"from raw.raw_events where {IN_DAYS} and event_id is not null",
            params,
        )
    removed = con.execute(f"delete from raw.{table} where {IN_DAYS}", params).fetchall()[0][0]
    con.execute(
        f"delete from raw.loaded_shards where stream = $stream and {IN_DAYS}",
        {"stream": stream, **params},
    )
    return removed


def _shard_frame(shards: Sequence[Shard]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "filename": [str(s.path) for s in shards],
            "shard_path": [s.rel for s in shards],
            "receive_date": pd.to_datetime([s.day for s in shards]).date,
        }
    )


class ShardReadError(dg.Failure):
    """A shard did not read as one JSON row per newline-terminated line."""


def _read_error(problems: Sequence[str], shards: Sequence[str]) -> ShardReadError:
    return ShardReadError(
        description=(
            f"{len(shards)} shard(s) did not read as one JSON row per newline-terminated line, "
            "so their lines cannot be loaded exactly; nothing was loaded. A published shard has "
            "no blank, partial or non-JSON lines: inspect these files (a manual edit? a copy "
            f"that was cut?) and move them out of landing. {'; '.join(problems[:5])}"
        ),
        metadata={"shards": list(shards)},
        allow_retries=False,
    )


def _unreadable_lines(
    shards: Sequence[Shard], exc: Exception, store: LandingStore | None = None
) -> Exception:
    """The shards and lines that are not JSON, found apart from the failed transaction."""
    with duckdb.connect() as scratch, reading_landing(scratch, store):
        scratch.register("_load_shards", _shard_frame(shards))
        bad = scratch.execute(
            f"select shard_path, line_number, left(line, 60) from ({_lines('$files')}) "
            "where (line_number < pieces or line != '') and not json_valid(line) "
            "order by shard_path, line_number limit 20",
            {"files": [str(s.path) for s in shards]},
        ).fetchall()
    if not bad:
        return exc
    problems = [f"{path} line {line}: {text!r} is not JSON" for path, line, text in bad]
    return _read_error(problems, sorted({path for path, _, _ in bad}))


def _rows_per_shard(con: Any, table: str, days: list[date]) -> dict[str, tuple[int, int, int]]:
    """shard_path -> (rows, first line, last line) of the shards being loaded."""
    rows = con.execute(
        f"""
        select t.shard_path, count(*), min(t.line_number), max(t.line_number)
        from (select shard_path, receive_date, line_number from raw.{table} where {IN_DAYS}) t
        semi join _load_shards s on t.shard_path = s.shard_path and t.receive_date = s.receive_date
        group by t.shard_path
        """,
        {"days": days},
    ).fetchall()
    return {path: (n, lo, hi) for path, n, lo, hi in rows}


def _check_line_numbers(
    shards: Sequence[Shard], read: Sequence[ShardDigest], counts: Mapping[str, tuple[int, int, int]]
) -> None:
    bad = []
    for shard, digest in zip(shards, read, strict=True):
        rows, lo, hi = counts.get(shard.rel, (0, 1, 0))
        if (rows, lo, hi) != (digest.lines, 1, digest.lines):
            bad.append((shard.rel, digest.lines, rows, lo, hi))
    if bad:
        raise _read_error(
            [
                f"{path}: {lines} lines in the file, {rows} rows read (lines {lo}..{hi})"
                for path, lines, rows, lo, hi in bad
            ],
            [row[0] for row in bad],
        )


def _record_manifest(
    con: Any,
    stream: str,
    shards: Sequence[Shard],
    read: Sequence[ShardDigest],
    counts: Mapping[str, tuple[int, int, int]],
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
                "row_count": [counts.get(s.rel, (0, 0, 0))[0] for s in shards],
                "checksum": [d.sha256 for d in read],
            }
        ),
    )
    con.execute(
        """
        insert into raw.loaded_shards
        select ?, shard_path, receive_date, size_bytes, mtime_ns, row_count, checksum,
               ?::timestamp, ?
        from _loaded
        """,
        [stream, now.replace(tzinfo=None), run_id],
    )
    con.unregister("_loaded")
