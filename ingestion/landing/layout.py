"""Where shards live and what they are called.

    landing/events/dt=YYYY-MM-DD/hour=HH/<node>-<pid>-<start>-<seq>.jsonl
    landing/deadletter/dt=YYYY-MM-DD/hour=HH/<node>-<pid>-<start>-<seq>.jsonl

Partitions are by the server's receive time (UTC). A shard is written under a hidden in-flight
name (`.<name>.inflight`) and published by an atomic rename followed by an fsync of the
directory, so a reader that lists `*.jsonl` never sees a partial file. The same layout maps onto
object storage (one PUT per published shard), which is why nothing reads in-flight files but
recovery.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path, PurePath, PurePosixPath


class Stream(StrEnum):
    """The two streams of the landing, each in its own folder."""

    EVENTS = "events"  # accepted events (valid, or unknown to this build)
    DEADLETTER = "deadletter"  # refused events and frames, kept with their failure


SHARD_SUFFIX = ".jsonl"
INFLIGHT_SUFFIX = ".inflight"
_SHARD_NAME = re.compile(
    r"(?P<node>.+)-(?P<pid>\d+)-(?P<start>\d{8}T\d{12}Z)-(?P<seq>\d{6})\.jsonl"
)
# A published shard's path relative to the landing root (never an in-flight, hidden name).
PUBLISHED_REL = re.compile(r"(events|deadletter)/dt=\d{4}-\d\d-\d\d/hour=\d\d/[^./][^/]*\.jsonl")


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


def published_shards(landing_root: Path, stream: Stream, day: date | None = None) -> list[Path]:
    """Published shards of a stream (all days, or one receive date), in a stable order."""
    base = landing_root / stream
    pattern = f"dt={day:%Y-%m-%d}/hour=*/*{SHARD_SUFFIX}" if day else f"dt=*/hour=*/*{SHARD_SUFFIX}"
    return sorted(base.glob(pattern))


def inflight_shards(landing_root: Path) -> list[Path]:
    return sorted(landing_root.glob(f"*/dt=*/hour=*/.*{INFLIGHT_SUFFIX}"))


def stream_of(shard: Path | str) -> Stream:
    """The stream of a shard, from its path or URL (`<root>/<stream>/dt=…/hour=…/<name>`)."""
    return Stream(PurePosixPath(str(shard)).parts[-4])


def shard_day(shard: PurePath) -> date:
    """The receive date a shard belongs to, from its `dt=` folder."""
    return date.fromisoformat(shard.parent.parent.name.removeprefix("dt="))
