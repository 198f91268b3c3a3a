"""History files for the import tests: v1 events one per line, plain or gzipped, and reads of
what an import landed (from the shard files themselves)."""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from ingestion.landing.layout import Stream, published_shards
from ingestion.landing.lines import format_ts, raw_bytes, read_lines
from tests.orchestration.landed import session


def match(when: datetime, user_id: str | None = None, event_id: str | None = None) -> dict:
    """One valid `match_played` event at `when`."""
    return {
        "event_name": "match_played",
        "event_version": "v1",
        "event_id": event_id or str(uuid.uuid4()),
        "user_id": user_id or str(uuid.uuid4()),
        "session_id": str(uuid.uuid4()),
        "timestamp": format_ts(when),
        "client_version": "3.1.0",
        "platform": "web",
        "match_id": str(uuid.uuid4()),
        "match_duration_sec": 240,
        "result": "win",
        "opponent_type": "bot",
    }


def line(item: dict | bytes | str) -> bytes:
    """A history line: an event (or any JSON value) as JSON, or bytes/text exactly as given."""
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode()
    return orjson.dumps(item)


def write_history(path: Path, items: Iterable[dict | bytes | str], *, gz: bool = False) -> Path:
    """A history file of one line per item, newline-terminated; gzipped when `gz`."""
    data = b"".join(line(item) + b"\n" for item in items)
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def landed_lines(root: Path) -> list[dict[str, Any]]:
    """Every landed line of the events stream, shard by shard."""
    return [ln for shard in published_shards(root, Stream.EVENTS) for ln in read_lines(shard)]


def deadletter_lines(root: Path) -> list[dict[str, Any]]:
    return [ln for shard in published_shards(root, Stream.DEADLETTER) for ln in read_lines(shard)]


def deadlettered_raws(root: Path) -> list[bytes]:
    return [raw_bytes(ln) for ln in deadletter_lines(root)]


def shard_files(root: Path) -> list[Path]:
    return [p for stream in Stream for p in published_shards(root, stream)]


@dataclass(frozen=True)
class Player:
    """A player of the long history: sessions every `every_days` days from `first` to `last`."""

    user_id: str
    first: date
    last: date
    every_days: int
    hour: int


def long_history(players: list[Player]) -> list[dict]:
    """The events of `players`: realistic sessions (a start, two matches, a quit) on their
    days, in time order across players, as a studio's export would be."""
    events: list[dict] = []
    for p in players:
        day = p.first
        while day <= p.last:
            start = datetime(day.year, day.month, day.day, p.hour, 5, tzinfo=UTC)
            events += session(p.user_id, start)
            day += timedelta(days=p.every_days)
    return sorted(events, key=lambda e: e["timestamp"])
