"""The landed-line format: the one place that says what a line of a shard holds.

One landed line (stream `events`):
    {"received_at": "...Z", "sent_at": "...|null", "batch_id": "...|null",
     "connection_id": "...", "status": "valid|unknown", "event": {<client event as received>}}
One dead-letter line (stream `deadletter`):
    {"received_at": "...Z", "sent_at": ..., "batch_id": ..., "connection_id": ..., "index": i|null,
     "failure": {"code": ..., "field": ..., "message": ...}, "raw": "<text as received>",
     "raw_encoding": "utf-8|base64", "raw_bytes": n, "raw_sha256": "<hex>"}

`raw` holds the refused bytes exactly: as text when they are UTF-8, else base64 of them
(`raw_encoding` says which). Of more than `MAX_RAW_BYTES` only a prefix is kept; `raw_bytes`
and `raw_sha256` are the length and hash of everything received, so a truncated copy still
says what it was cut from.

The client's event is nested, never merged, so a client cannot forge a server field. The
ingestor and the simulator both turn a frame into lines with `frame_lines`; `event_line` and
`deadletter_line` state the format plainly, one line at a time; `EVENT_LINE_COLUMNS` and
`DEADLETTER_LINE_COLUMNS` are the same format as columns, for the readers (the warehouse loader
derives its JSON reader's columns from them).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import orjson

from ingestion.contract import MAX_EVENT_BYTES, VALID, Failure, Verdict

# -- timestamps -----------------------------------------------------------------------------


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_ts(dt: datetime) -> str:
    """UTC, microseconds, `Z`: the one format for every timestamp the server writes."""
    if dt.tzinfo is UTC and dt.year >= 1000:  # the ingestor, once a frame: ~2x faster
        return dt.isoformat(timespec="microseconds")[:-6] + "Z"  # drops "+00:00"
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- the columns ----------------------------------------------------------------------------
# Logical types, for any engine: a string, an integer, a JSON document kept as text, or a
# struct (a mapping of its fields). Every field may be null.

LogicalType = Literal["string", "integer", "json"] | Mapping[str, "LogicalType"]

# The server's fields, first in both kinds of line and the same for every line of a frame.
_SERVER_COLUMNS: dict[str, LogicalType] = {
    "received_at": "string",  # format_ts of the receive time
    "sent_at": "string",  # the batch envelope's sent_at, normalized by format_ts
    "batch_id": "string",
    "connection_id": "string",  # null for a line written by recovery, not by a connection
}
EVENT_LINE_COLUMNS: dict[str, LogicalType] = {
    **_SERVER_COLUMNS,
    "status": "string",  # "valid" or "unknown" (a Verdict's status)
    "event": "json",  # the client's event, whole
}
DEADLETTER_LINE_COLUMNS: dict[str, LogicalType] = {
    **_SERVER_COLUMNS,
    "index": "integer",  # of the refused event in its frame; null when the frame was refused
    "failure": {f.name: "string" for f in dataclasses.fields(Failure)},
    "raw": "string",  # the refused bytes, as received (a prefix of them, past MAX_RAW_BYTES)
    "raw_encoding": "string",  # "utf-8": raw is that text; "base64": raw is base64 of the bytes
    "raw_bytes": "integer",  # how many bytes were received (more than raw holds: truncated)
    "raw_sha256": "string",  # hex SHA-256 of every byte received
}

# Of a refused text longer than this, dead-letter keeps this many bytes: whole events (even too
# large ones, up to 8 times the limit) and whole batches of small events are kept; a frame of
# garbage near the 1 MiB frame limit keeps a quarter of it.
MAX_RAW_BYTES = 8 * MAX_EVENT_BYTES


# -- one line at a time ---------------------------------------------------------------------


def _server_fields(
    received_at: str, connection_id: str | None, sent_at: str | None, batch_id: str | None
) -> dict[str, Any]:
    return {
        "received_at": received_at,
        "sent_at": sent_at,
        "batch_id": batch_id,
        "connection_id": connection_id,
    }


def event_line(
    event: Any,
    received_at: str,
    connection_id: str,
    status: str,
    sent_at: str | None = None,
    batch_id: str | None = None,
) -> bytes:
    line = _server_fields(received_at, connection_id, sent_at, batch_id)
    line["status"] = status
    line["event"] = event
    return orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE)


def raw_fields(raw: bytes | str) -> dict[str, Any]:
    """The `raw*` fields of a dead-letter line for refused bytes (or text): byte-exact."""
    data = raw.encode() if isinstance(raw, str) else bytes(raw)
    kept = data[:MAX_RAW_BYTES]
    try:
        text, encoding = kept.decode(), "utf-8"
    except UnicodeDecodeError as e:
        if e.start >= len(kept) - 3 and len(data) > MAX_RAW_BYTES:  # a character cut in two
            kept = kept[: e.start]
            text, encoding = kept.decode(), "utf-8"
        else:
            text, encoding = base64.b64encode(kept).decode(), "base64"
    return {
        "raw": text,
        "raw_encoding": encoding,
        "raw_bytes": len(data),
        "raw_sha256": hashlib.sha256(data).hexdigest(),
    }


def raw_bytes(line: Mapping[str, Any]) -> bytes:
    """What a dead-letter line keeps of the refused bytes (all of them unless truncated)."""
    if line["raw_encoding"] == "base64":
        return base64.b64decode(line["raw"])
    return str(line["raw"]).encode()


def deadletter_line(
    raw: bytes | str,
    failure: Failure,
    received_at: str,
    connection_id: str | None,
    sent_at: str | None = None,
    batch_id: str | None = None,
    index: int | None = None,
) -> bytes:
    line = _server_fields(received_at, connection_id, sent_at, batch_id)
    line["index"] = index
    line["failure"] = failure.as_dict()
    line.update(raw_fields(raw))
    return orjson.dumps(line, option=orjson.OPT_APPEND_NEWLINE)


LINE_END = b"}\n"


class LineEncoder:
    """Encodes the lines of one frame, byte for byte as `event_line` and `deadletter_line` do.

    The server fields are the same for every event of a frame, so they are encoded once: a landed
    line is then `prefix(status) + orjson.dumps(event) + LINE_END`, and the ingestor already has
    `orjson.dumps(event)` because it measures the event's size with it."""

    __slots__ = ("_head", "_prefixes", "_server")

    def __init__(
        self,
        received_at: str,
        connection_id: str,
        sent_at: str | None = None,
        batch_id: str | None = None,
    ) -> None:
        self._server = (received_at, connection_id, sent_at, batch_id)
        # Without the closing brace: the status and the event follow.
        self._head = orjson.dumps(_server_fields(*self._server))[:-1]
        self._prefixes: dict[str, bytes] = {}

    def prefix(self, status: str) -> bytes:
        """Everything of a landed line before the event's JSON."""
        prefix = self._prefixes.get(status)
        if prefix is None:
            prefix = self._head + b',"status":' + orjson.dumps(status) + b',"event":'
            self._prefixes[status] = prefix
        return prefix

    def deadletter(self, raw: bytes | str, failure: Failure, index: int | None = None) -> bytes:
        return deadletter_line(raw, failure, *self._server, index)


# -- a frame at a time ----------------------------------------------------------------------


@dataclass(slots=True)
class FrameLines:
    """The lines of one validated frame, and what its acknowledgement reports."""

    events: bytes = b""  # landed lines, in the frame's order
    deadletter: bytes = b""  # dead-letter lines of the refused events, in the frame's order
    valid: int = 0
    unknown: int = 0
    rejected: Sequence[tuple[int, Failure]] = ()  # (index, why) of each refused event, in order


def frame_lines(
    texts: list[bytes],
    verdicts: list[Verdict],
    received_at: str,
    connection_id: str,
    sent_at: str | None = None,
    batch_id: str | None = None,
    out: FrameLines | None = None,
) -> FrameLines:
    """The lines of a frame whose events encode (`orjson.dumps`) to `texts` and were judged
    `verdicts`: accepted events become landed lines, refused ones dead-letter lines that keep
    their index in the frame. Byte for byte `event_line` and `deadletter_line`.

    They are set on `out` when given (a fresh `FrameLines` otherwise): the ingestor passes the
    outcome it answers the frame with, so that a frame costs it one object, not two."""
    assert len(texts) == len(verdicts), "one verdict per event"
    encoder = LineEncoder(received_at, connection_id, sent_at, batch_id)
    if out is None:
        out = FrameLines()
    if verdicts.count(VALID) == len(verdicts):  # the common case: one join writes every line
        out.valid = len(texts)
        if texts:
            valid = encoder.prefix("valid")
            out.events = valid + (LINE_END + valid).join(texts) + LINE_END
        return out
    rejected: list[tuple[int, Failure]] = []
    parts: list[bytes] = []
    deadletter: list[bytes] = []
    for index, (text, verdict) in enumerate(zip(texts, verdicts, strict=True)):
        status = verdict.status
        if status == "rejected":
            failure = verdict.failure
            assert failure is not None
            deadletter.append(encoder.deadletter(text, failure, index))
            rejected.append((index, failure))
            continue
        if status == "valid":
            out.valid += 1
        else:
            out.unknown += 1
        parts += (encoder.prefix(status), text, LINE_END)
    out.events = b"".join(parts)
    out.deadletter = b"".join(deadletter)
    out.rejected = rejected
    return out


# -- reading --------------------------------------------------------------------------------


def read_lines(shard: Path) -> Iterator[dict[str, Any]]:
    with shard.open("rb") as f:
        for line in f:
            yield orjson.loads(line)
