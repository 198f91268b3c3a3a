"""Import a history file: each line validated by the contract, landed as published shards.

A line is one v1 event, as a client would have sent it, optionally with a top-level
`received_at` (when the studio's own server stamped one): it is the line's receive time and is
taken out of the event before the contract sees it. Without it, the receive time is the event's
own `timestamp`, so that dbt's corrected event time is the event's time and no clock looks
behind. Either way the line lands in the partition of that receive time, through the landed-line
format's own `event_line` and `deadletter_line` (`ingestion.landing.lines`), with
`connection_id = import-<digest>`: the provenance of every line, in the unchanged format.

Refused lines go to dead-letter with the contract's failure and the line's bytes exactly, their
`index` the line's position in the file (0-based). A `received_at` the server could not have
stamped (before 1970, or after the import started) is refused as `out_of_range`, and so is a
`timestamp` before 1970; a `timestamp` after the import started (a device clock ahead) is
received at the import's start, and dbt shifts its session as it does for live traffic.

Exactly once, whatever happens: the file's lines are read in chunks; each chunk's lines are
grouped by (stream, receive hour) and each group is one published shard whose name says which
import and which chunk wrote it (`import_<digest>-<chunk>-<hour>-000001.jsonl`). The manifest
(`ingestion.history.manifest`) records the chunking when an import starts, so a run after an
interruption cuts the same chunks, skips every shard already published, and lands the rest; a
finished import is never landed again. Memory holds one chunk.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ingestion.contract import Code, Failure, is_plain, parse_timestamp, validate_batch
from ingestion.history import manifest
from ingestion.history.source import SourceDigest, chunks, digest
from ingestion.landing.layout import (
    Stream,
    inflight_shards,
    parse_shard_name,
    partition_dir,
    shard_name,
)
from ingestion.landing.lines import deadletter_line, event_line, format_ts, utc_now
from ingestion.landing.writer import ShardWriter

CHUNK_LINES = 20_000  # lines per chunk: a chunk of parsed events takes ~40 MB of memory
CHUNK_BYTES = 64 * 1024 * 1024
IO_THREADS = 8  # shards written at once: their fsyncs overlap
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_TIMESTAMP_LENGTH = 64


def import_node(sha256: str) -> str:
    """The node part of an import's shard names (no `-`: the name's separator)."""
    return f"import_{sha256[:16]}"


def import_connection_id(sha256: str) -> str:
    """The `connection_id` of every line an import lands: which content it came from."""
    return f"import-{sha256[:16]}"


@dataclass
class ImportResult:
    """What importing one file did (or, when `already_imported`, what its first import did)."""

    path: Path
    source: SourceDigest
    already_imported: bool = False
    resumed: bool = False  # an earlier run of this import was interrupted; this one finished it
    blank: int = 0
    valid: int = 0
    unknown: int = 0
    refused: Counter[str] = field(default_factory=Counter)  # dead-lettered lines by code
    shards_written: int = 0
    shards_kept: int = 0  # published by the interrupted run, left as they were
    first_received_at: str | None = None
    last_received_at: str | None = None
    seconds: float = 0.0
    imported_from: str | None = None  # the path of the first import, when already imported

    @property
    def landed(self) -> int:
        return self.valid + self.unknown

    @property
    def deadlettered(self) -> int:
        return sum(self.refused.values())

    def counts(self) -> dict[str, Any]:
        return {
            "lines": self.source.lines,
            "blank": self.blank,
            "valid": self.valid,
            "unknown": self.unknown,
            "deadletter": self.deadlettered,
            "refused": dict(sorted(self.refused.items())),
            "shards": self.shards_written + self.shards_kept,
            "first_received_at": self.first_received_at,
            "last_received_at": self.last_received_at,
        }


def _hour(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _exact_int(text: str) -> Any:
    value = int(text)
    return value if -(2**63) <= value < 2**64 else orjson.Fragment(text)


def _exact_event(raw: bytes) -> dict[str, Any] | None:
    """The line's event with every number as written: orjson reads floats (and integers past
    64 bits) as doubles, so an event that is not plain is read again, as the ingestor does."""
    try:
        exact = json.loads(raw, parse_float=orjson.Fragment, parse_int=_exact_int)
    except (RecursionError, ValueError):
        return None
    if type(exact) is not dict:
        return None
    exact.pop("received_at", None)
    return exact


class _Chunk:
    """One chunk's lines, grouped by (stream, receive hour), and what they count."""

    def __init__(self, result: ImportResult, connection_id: str, import_time: datetime) -> None:
        self.result = result
        self.connection_id = connection_id
        # No line was received after the import started; a refused line that says no time
        # (or an impossible one) is dead-lettered as received then.
        self.until = self.fallback = import_time
        # Lines are copied into one buffer per group: orjson gives each line a buffer of 4 KiB
        # or more, ten times its length, so a list of them would hold ten times the chunk.
        self.groups: dict[tuple[Stream, datetime], bytearray] = {}

    def _add(self, stream: Stream, when: datetime, line: bytes) -> None:
        key = (stream, _hour(when))
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = bytearray()
        group += line

    def refuse(self, index: int, raw: bytes, failure: Failure, when: datetime | None) -> None:
        when = when if when is not None and EPOCH <= when <= self.until else self.fallback
        message = f"line {index + 1}: {failure.message}"
        failure = Failure(failure.code, failure.field, message)
        line = deadletter_line(raw, failure, format_ts(when), self.connection_id, index=index)
        self._add(Stream.DEADLETTER, when, line)
        self.result.refused[str(failure.code)] += 1

    def _in_range(self, when: datetime, name: str) -> Failure | None:
        if EPOCH <= when <= self.until:
            return None
        return Failure(
            Code.OUT_OF_RANGE,
            name,
            f"{name} {format_ts(when)} is not a time a server could have received this event "
            f"(before 1970, or after the import started at {format_ts(self.until)})",
        )

    def add_lines(self, first_index: int, lines: list[bytes]) -> None:
        # (index, raw, event, receive time given by the line)
        pending: list[tuple[int, bytes, dict[str, Any], datetime | None]] = []
        for offset, raw in enumerate(lines):
            index = first_index + offset
            if not raw.strip():
                self.result.blank += 1
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as e:
                self.refuse(index, raw, Failure(Code.INVALID_JSON, None, f"not JSON: {e}"), None)
                continue
            received = None
            if type(obj) is dict and "received_at" in obj:
                value = obj.pop("received_at")
                if type(value) is str and len(value) <= _MAX_TIMESTAMP_LENGTH:
                    received = parse_timestamp(value)
                if received is None:
                    failure = Failure(
                        Code.INVALID_TIMESTAMP,
                        "received_at",
                        "received_at must be ISO 8601 with a zone, e.g. 2026-01-30T18:12:45Z",
                    )
                    self.refuse(index, raw, failure, _event_time(obj))
                    continue
            pending.append((index, raw, obj, received))
        self._validate(pending)

    def _validate(self, pending: list[tuple[int, bytes, Any, datetime | None]]) -> None:
        # Only the sizes are kept (orjson's buffers are large: see `groups`); an event orjson
        # cannot write (an integer past 64 bits) is measured after it is read exactly.
        sizes: list[int] = []
        unwritable: set[int] = set()
        for position, (_, raw, event, _) in enumerate(pending):
            try:
                sizes.append(len(orjson.dumps(event)))
            except orjson.JSONEncodeError:
                unwritable.add(position)
                exact = _exact_event(raw)
                try:
                    sizes.append(len(orjson.dumps(exact)))
                except orjson.JSONEncodeError:  # nested too deep: refused when it is written
                    sizes.append(len(raw))
        verdicts, _ = validate_batch([e for _, _, e, _ in pending], sizes)
        for position, ((index, raw, event, received), verdict) in enumerate(
            zip(pending, verdicts, strict=True)
        ):
            if verdict.failure is not None:
                self.refuse(index, raw, verdict.failure, received or _event_time(event))
                continue
            given = received is not None
            when = received if received is not None else parse_timestamp(event["timestamp"])
            assert when is not None, "an accepted event has a valid timestamp"
            if not given and when > self.until:
                # A device clock ahead of the import: the event was received by now at the
                # latest, and dbt shifts a session whose clock runs ahead, as for the ingestor.
                when = self.until
            failure = self._in_range(when, "received_at" if given else "timestamp")
            if failure is not None:
                self.refuse(index, raw, failure, None)
                continue
            if position in unwritable or not is_plain(event, verdict):
                exact = _exact_event(raw)
                event = exact if exact is not None else event
            received_at = format_ts(when)
            try:
                line = event_line(event, received_at, self.connection_id, verdict.status)
            except orjson.JSONEncodeError as e:
                failure = Failure(Code.INVALID_JSON, None, f"the event cannot be stored: {e}")
                self.refuse(index, raw, failure, when)
                continue
            self._add(Stream.EVENTS, when, line)
            if verdict.status == "valid":
                self.result.valid += 1
            else:
                self.result.unknown += 1
            r = self.result
            if r.first_received_at is None or received_at < r.first_received_at:
                r.first_received_at = received_at
            if r.last_received_at is None or received_at > r.last_received_at:
                r.last_received_at = received_at


def _event_time(obj: Any) -> datetime | None:
    """A refused line's own time, when it has one: its dead-letter line lands beside its day."""
    if type(obj) is dict:
        value = obj.get("timestamp")
        if type(value) is str and len(value) <= _MAX_TIMESTAMP_LENGTH:
            return parse_timestamp(value)
    return None


def _drop_unpublished(landing_root: Path, node: str) -> None:
    """Remove the in-flight shards an interrupted run of this import left: never published,
    never read, and written again by this run (no other process writes under this node)."""
    for path in inflight_shards(landing_root):
        name = parse_shard_name(path.name)
        if name is not None and name.node == node:
            path.unlink(missing_ok=True)


def _publish(
    landing_root: Path,
    node: str,
    chunk_number: int,
    groups: dict[tuple[Stream, datetime], bytearray],
    pool: ThreadPoolExecutor,
    result: ImportResult,
) -> None:
    """One published shard per (stream, hour) of the chunk, unless it is already there."""
    jobs = []
    for stream, hour in sorted(groups):
        final = partition_dir(landing_root, stream, hour) / shard_name(node, chunk_number, hour, 1)
        if final.exists():  # published by the interrupted run: the same lines, by construction
            result.shards_kept += 1
            continue
        jobs.append((stream, hour, groups[(stream, hour)], final))

    def write(job: tuple[Stream, datetime, bytearray, Path]) -> None:
        stream, hour, data, final = job
        writer = ShardWriter(
            landing_root,
            stream,
            node=node,
            pid=chunk_number,
            start=hour,
            max_age_seconds=float("inf"),
        )
        writer.write(data, hour)
        published = writer.publish()
        assert published == final, f"{published} was expected at {final}"

    for _ in pool.map(write, jobs):
        pass
    result.shards_written += len(jobs)


def import_file(
    path: Path,
    landing_root: Path,
    *,
    chunk_lines: int = CHUNK_LINES,
    chunk_bytes: int = CHUNK_BYTES,
    on_progress: Callable[[int], None] | None = None,
    source: SourceDigest | None = None,
) -> ImportResult:
    """Import one history file into `landing_root`; `on_progress(n)` after each chunk of `n`
    lines is landed. A content already imported lands nothing (its result says so). `source`
    is the file's digest when the caller has read it already."""
    started = time.monotonic()
    path = path.resolve()
    source = source or digest(path)
    sha = source.sha256
    result = ImportResult(path, source)
    with manifest.locked(landing_root, sha):
        record = manifest.read_record(landing_root, sha)
        if record is not None and record["status"] == "done":
            result.already_imported = True
            result.imported_from = record["path"]
            counts = record["counts"]
            result.blank, result.valid, result.unknown = (
                counts["blank"], counts["valid"], counts["unknown"],
            )  # fmt: skip
            result.refused = Counter(counts["refused"])
            result.first_received_at = counts["first_received_at"]
            result.last_received_at = counts["last_received_at"]
            return result
        if record is None:
            record = {
                "sha256": sha,
                "file_sha256": source.file_sha256,
                "path": str(path),
                "file_bytes": source.file_bytes,
                "content_bytes": source.content_bytes,
                "compressed": source.compressed,
                "connection_id": import_connection_id(sha),
                "shard_node": import_node(sha),
                "status": "importing",
                "started_at": format_ts(utc_now()),
                "chunk_lines": chunk_lines,
                "chunk_bytes": chunk_bytes,
            }
            manifest.write_record(landing_root, record)
        else:
            result.resumed = True
        node = import_node(sha)
        _drop_unpublished(landing_root, node)
        import_time = datetime.fromisoformat(record["started_at"])
        index = 0
        with ThreadPoolExecutor(IO_THREADS, thread_name_prefix="import") as pool:
            for number, lines in enumerate(
                chunks(path, record["chunk_lines"], record["chunk_bytes"]), start=1
            ):
                chunk = _Chunk(result, import_connection_id(sha), import_time)
                chunk.add_lines(index, lines)
                _publish(landing_root, node, number, chunk.groups, pool, result)
                index += len(lines)
                if on_progress is not None:
                    on_progress(len(lines))
        record.update(
            status="done",
            path=str(path),
            finished_at=format_ts(utc_now()),
            resumed=result.resumed,
            counts=result.counts(),
        )
        manifest.write_record(landing_root, record)
    result.seconds = time.monotonic() - started
    return result
