"""Reading what the simulator produced: landed lines in arrival order, and true event times."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ingestion.contract import parse_timestamp
from ingestion.landing.layout import Stream, published_shards
from ingestion.landing.lines import read_lines


def ts(text: str) -> datetime:
    parsed = parse_timestamp(text)
    assert parsed is not None, f"not a timestamp: {text!r}"
    return parsed


@dataclass
class Landed:
    """Landed lines sorted by arrival: receive time, then shard and line (a frame's order)."""

    lines: list[dict[str, Any]]
    deadletter: list[dict[str, Any]]
    copies: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # event_id -> lines

    def first_copies(self) -> list[dict[str, Any]]:
        return [copies[0] for copies in self.copies.values()]

    def by_session(self) -> dict[str, list[dict[str, Any]]]:
        """First copies of each session's events, in arrival order."""
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for line in self.first_copies():
            out[line["event"]["session_id"]].append(line)
        return out


def _read(landing_root: Path, stream: Any) -> list[dict[str, Any]]:
    rows = []
    for shard in published_shards(landing_root, stream):
        for n, line in enumerate(read_lines(shard)):
            rows.append((line["received_at"], str(shard), n, line))
    rows.sort(key=lambda r: r[:3])
    return [r[3] for r in rows]


def read_landing(landing_root: Path) -> Landed:
    lines = _read(landing_root, Stream.EVENTS)
    copies: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        copies.setdefault(line["event"]["event_id"], []).append(line)
    return Landed(lines, _read(landing_root, Stream.DEADLETTER), copies)


def event_at(line: dict[str, Any]) -> datetime:
    """The platform's corrected event time when the batch carried `sent_at` (issue 5); the
    client's own timestamp otherwise."""
    client = ts(line["event"]["timestamp"])
    if line["sent_at"] is None:
        return client
    return ts(line["received_at"]) - (ts(line["sent_at"]) - client)
