"""The landing layout: where accepted and refused events are written, and how shards are published.

    landing/events/dt=YYYY-MM-DD/hour=HH/<node>-<pid>-<start>-<seq>.jsonl
    landing/deadletter/dt=YYYY-MM-DD/hour=HH/<node>-<pid>-<start>-<seq>.jsonl

Partitions are by the server's receive time (UTC). A shard is written under a hidden in-flight
name (`.<name>.inflight`) and published by an atomic rename followed by an fsync of the
directory, so a reader that lists `*.jsonl` never sees a partial file. The same layout maps onto
object storage (one PUT per published shard), which is why nothing reads in-flight files but
recovery.

One landed line (events):
    {"received_at": "...Z", "sent_at": "...|null", "batch_id": "...|null",
     "connection_id": "...", "status": "valid|unknown", "event": {<client event as received>}}
One dead-letter line:
    {"received_at": "...Z", "sent_at": ..., "batch_id": ..., "connection_id": ..., "index": i|null,
     "failure": {"code": ..., "field": ..., "message": ...}, "raw": "<text as received>"}
The client's event is nested, never merged, so a client cannot forge a server field.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import orjson

from ingestion.contract import Code, Failure

Stream = Literal["events", "deadletter"]
EVENTS: Stream = "events"
DEADLETTER: Stream = "deadletter"
SHARD_SUFFIX = ".jsonl"
INFLIGHT_SUFFIX = ".inflight"
_SHARD_NAME = re.compile(
    r"(?P<node>.+)-(?P<pid>\d+)-(?P<start>\d{8}T\d{12}Z)-(?P<seq>\d{6})\.jsonl"
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def format_ts(dt: datetime) -> str:
    """UTC, microseconds, `Z`: the one format for every timestamp the server writes."""
    if dt.tzinfo is UTC and dt.year >= 1000:  # the ingestor, once a frame: ~2x faster
        return dt.isoformat(timespec="microseconds")[:-6] + "Z"  # drops "+00:00"
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def node_name() -> str:
    """This host's name, made safe for a file name (the shard name's `-` separators stay unique)."""
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "node"


def partition_dir(landing_root: Path, stream: Stream, when: datetime) -> Path:
    when = when.astimezone(UTC)
    return landing_root / stream / f"dt={when:%Y-%m-%d}" / f"hour={when:%H}"


def shard_name(node: str, pid: int, start: datetime, seq: int) -> str:
    return f"{node}-{pid}-{start.astimezone(UTC):%Y%m%dT%H%M%S%f}Z-{seq:06d}{SHARD_SUFFIX}"


@dataclass(frozen=True)
class ShardName:
    node: str
    pid: int
    start: str
    seq: int


def parse_shard_name(name: str) -> ShardName | None:
    """Parse a published (or, without its dot and suffix, an in-flight) shard name."""
    if name.startswith(".") and name.endswith(INFLIGHT_SUFFIX):
        name = name[1 : -len(INFLIGHT_SUFFIX)]
    m = _SHARD_NAME.fullmatch(name)
    if m is None:
        return None
    return ShardName(m["node"], int(m["pid"]), m["start"], int(m["seq"]))


def inflight_path(final: Path) -> Path:
    return final.with_name(f".{final.name}{INFLIGHT_SUFFIX}")


def published_path(inflight: Path) -> Path:
    assert inflight.name.startswith(".") and inflight.name.endswith(INFLIGHT_SUFFIX)
    return inflight.with_name(inflight.name[1 : -len(INFLIGHT_SUFFIX)])


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(inflight: Path) -> Path:
    """Atomically make an in-flight shard visible under its final name."""
    final = published_path(inflight)
    os.replace(inflight, final)
    fsync_dir(final.parent)
    return final


def published_shards(landing_root: Path, stream: Stream, day: date | None = None) -> list[Path]:
    """Published shards of a stream (all days, or one receive date), in a stable order."""
    base = landing_root / stream
    pattern = f"dt={day:%Y-%m-%d}/hour=*/*{SHARD_SUFFIX}" if day else f"dt=*/hour=*/*{SHARD_SUFFIX}"
    return sorted(base.glob(pattern))


def inflight_shards(landing_root: Path) -> list[Path]:
    return sorted(landing_root.glob(f"*/dt=*/hour=*/.*{INFLIGHT_SUFFIX}"))


def shard_day(shard: Path) -> date:
    """The receive date a shard belongs to, from its `dt=` folder."""
    return date.fromisoformat(shard.parent.parent.name.removeprefix("dt="))


# -- line encoding --------------------------------------------------------------------------


def event_line(
    event: Any,
    received_at: str,
    connection_id: str,
    status: str,
    sent_at: str | None = None,
    batch_id: str | None = None,
) -> bytes:
    return orjson.dumps(
        {
            "received_at": received_at,
            "sent_at": sent_at,
            "batch_id": batch_id,
            "connection_id": connection_id,
            "status": status,
            "event": event,
        },
        option=orjson.OPT_APPEND_NEWLINE,
    )


def deadletter_line(
    raw: str,
    failure: Failure,
    received_at: str,
    connection_id: str | None,
    sent_at: str | None = None,
    batch_id: str | None = None,
    index: int | None = None,
) -> bytes:
    return orjson.dumps(
        {
            "received_at": received_at,
            "sent_at": sent_at,
            "batch_id": batch_id,
            "connection_id": connection_id,
            "index": index,
            "failure": failure.as_dict(),
            "raw": raw,
        },
        option=orjson.OPT_APPEND_NEWLINE,
    )


LINE_END = b"}\n"


class LineEncoder:
    """Encodes the lines of one frame, byte for byte as `event_line` and `deadletter_line` do.

    The server fields are the same for every event of a frame, so they are encoded once: a landed
    line is then `prefix(status) + orjson.dumps(event) + LINE_END`, and the ingestor already has
    `orjson.dumps(event)` because it measures the event's size with it."""

    __slots__ = ("_head", "_prefixes", "batch_id", "connection_id", "received_at", "sent_at")

    def __init__(
        self,
        received_at: str,
        connection_id: str,
        sent_at: str | None = None,
        batch_id: str | None = None,
    ) -> None:
        self.received_at = received_at
        self.connection_id = connection_id
        self.sent_at = sent_at
        self.batch_id = batch_id
        self._head = orjson.dumps(
            {
                "received_at": received_at,
                "sent_at": sent_at,
                "batch_id": batch_id,
                "connection_id": connection_id,
            }
        )[:-1]  # without the closing brace: the status and the event follow
        self._prefixes: dict[str, bytes] = {}

    def prefix(self, status: str) -> bytes:
        """Everything of a landed line before the event's JSON."""
        prefix = self._prefixes.get(status)
        if prefix is None:
            prefix = self._head + b',"status":' + orjson.dumps(status) + b',"event":'
            self._prefixes[status] = prefix
        return prefix

    def event(self, status: str, event_json: bytes) -> bytes:
        """The landed line of one event whose `orjson.dumps` is `event_json`."""
        return self.prefix(status) + event_json + LINE_END

    def deadletter(self, raw: str, failure: Failure, index: int | None = None) -> bytes:
        return deadletter_line(
            raw,
            failure,
            self.received_at,
            self.connection_id,
            sent_at=self.sent_at,
            batch_id=self.batch_id,
            index=index,
        )


def read_lines(shard: Path) -> Iterator[dict[str, Any]]:
    with shard.open("rb") as f:
        for line in f:
            yield orjson.loads(line)


# -- writing --------------------------------------------------------------------------------


class ShardWriter:
    """Appends lines to one in-flight shard of a stream and publishes it when it is full, old, or
    its hour ends. Not thread-safe: the ingestor calls it from one task, the simulator from one
    loop. `write` buffers in the OS; `sync` makes what was written durable (fsync)."""

    def __init__(
        self,
        landing_root: Path,
        stream: Stream,
        *,
        max_bytes: int = 64 * 1024 * 1024,
        max_age_seconds: float = 60.0,
        node: str | None = None,
        pid: int | None = None,
        start: datetime | None = None,
    ) -> None:
        self.landing_root = landing_root
        self.stream = stream
        self.max_bytes = max_bytes
        self.max_age_seconds = max_age_seconds
        self.node = node or node_name()
        self.pid = pid if pid is not None else os.getpid()
        self.start = start or utc_now()
        self._seq = 0
        self._fd: int | None = None
        self._path: Path | None = None
        self._hour: tuple[int, int, int, int] | None = None
        self._bytes = 0
        self._opened_at = 0.0
        self.published: list[Path] = []

    @property
    def inflight(self) -> Path | None:
        return self._path

    def _open(self, when: datetime) -> None:
        directory = partition_dir(self.landing_root, self.stream, when)
        directory.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        final = directory / shard_name(self.node, self.pid, self.start, self._seq)
        self._path = inflight_path(final)
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        fsync_dir(directory)  # the in-flight file itself must survive a crash to be recovered
        when = when.astimezone(UTC)
        self._hour = (when.year, when.month, when.day, when.hour)
        self._bytes = 0
        self._opened_at = time.monotonic()

    def write(self, data: bytes, when: datetime) -> None:
        """Append complete lines received at `when`, rotating first if `when` is another hour."""
        if not data:
            return
        w = when.astimezone(UTC)
        if self._fd is not None and self._hour != (w.year, w.month, w.day, w.hour):
            self.publish()
        if self._fd is None:
            self._open(w)
        assert self._fd is not None
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        self._bytes += len(data)

    def sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def due(self) -> bool:
        """Whether the open shard has reached its size or age and should be published."""
        if self._fd is None:
            return False
        return (
            self._bytes >= self.max_bytes
            or time.monotonic() - self._opened_at >= self.max_age_seconds
        )

    def publish(self) -> Path | None:
        """fsync and publish the open shard; an empty shard is removed instead."""
        if self._fd is None or self._path is None:
            return None
        os.fsync(self._fd)
        os.close(self._fd)
        path, empty = self._path, self._bytes == 0
        self._fd, self._path, self._hour = None, None, None
        if empty:
            path.unlink()
            return None
        final = publish(path)
        self.published.append(final)
        return final

    close = publish

    def abandon(self) -> Path | None:
        """Stop writing to the open shard without publishing it, after a failed write or fsync:
        its tail may be torn, so it is left in flight for `recover_inflight` at the next start.
        The next `write` opens a new shard."""
        if self._fd is None:
            return None
        path = self._path
        try:
            os.close(self._fd)
        finally:
            self._fd, self._path, self._hour = None, None, None
        return path


# -- crash recovery -------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class RecoveryReport:
    published: list[Path]
    torn_lines: int


def recover_inflight(landing_root: Path, *, node: str | None = None) -> RecoveryReport:
    """Publish the in-flight shards that a dead process of this node left behind.

    Complete lines are kept; a torn last line (a write cut by the crash, never acknowledged) goes
    to dead-letter as `torn_write`. Shards of live processes and of other nodes are left alone,
    so several ingestors can share one landing directory."""
    node = node or node_name()
    report = RecoveryReport([], 0)
    torn = ShardWriter(landing_root, DEADLETTER, node=node, start=utc_now())
    for path in inflight_shards(landing_root):
        name = parse_shard_name(path.name)
        if name is None or name.node != node:
            continue
        if name.pid != os.getpid() and _pid_alive(name.pid):
            continue
        data = path.read_bytes()
        cut = data.rfind(b"\n") + 1
        if cut < len(data):
            tail = data[cut:]
            now = utc_now()
            torn.write(
                deadletter_line(
                    tail.decode("utf-8", errors="replace"),
                    Failure(
                        Code.TORN_WRITE,
                        None,
                        f"incomplete last line of {published_path(path).name} after a crash",
                    ),
                    format_ts(now),
                    None,
                ),
                now,
            )
            report.torn_lines += 1
            with path.open("r+b") as f:
                f.truncate(cut)
                os.fsync(f.fileno())
        if cut == 0:
            path.unlink()
            continue
        report.published.append(publish(path))
    torn.publish()
    report.published.extend(torn.published)
    return report
