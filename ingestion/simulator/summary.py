"""Counts of a run, merged across workers and connections, and the closing summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ingestion.simulator.behaviour import PlayerLife
from ingestion.simulator.delivery import OLD_CLIENT, Delivery


@dataclass
class Counts:
    # what happened (truth)
    players: int = 0
    sessions: int = 0
    events: int = 0  # distinct valid events generated
    rage_quits: int = 0
    churned_players: int = 0
    returned_players: int = 0
    # how it was delivered
    frames: int = 0  # first sends of frames (resends not counted)
    events_sent: int = 0  # every copy sent: valid, malformed, duplicates and resends
    duplicates_sent: int = 0  # extra copies the client sent on purpose
    malformed_sent: int = 0
    retried_frames: int = 0  # frames sent again because their ack did not come
    retried_events: int = 0
    offline_sessions: int = 0
    out_of_order_sessions: int = 0
    skewed_clocks: int = 0
    old_client_events: int = 0
    # what the ingestor said (WebSocket mode) or what was landed (--to-landing)
    acked: int = 0  # event copies the ingestor acknowledged as accepted
    refused: Counter[str] = field(default_factory=Counter)  # event copies refused, by code
    frame_errors: Counter[str] = field(default_factory=Counter)  # error replies, by code
    reconnects: int = 0
    dropped_connections: int = 0
    ack_timeouts: int = 0
    landed_lines: int = 0
    deadletter_lines: int = 0
    shards: int = 0

    def add_player(self, life: PlayerLife, delivery: Delivery) -> None:
        self.players += 1
        self.sessions += len(life.sessions)
        self.events += sum(len(s.events) for s in life.sessions)
        self.rage_quits += sum(len(s.rage_quits) for s in life.sessions)
        self.churned_players += bool(life.churns)
        self.returned_players += bool(life.churns and life.churns[0].return_ms is not None)
        self.duplicates_sent += delivery.duplicates
        self.malformed_sent += delivery.malformed
        self.skewed_clocks += delivery.clock.skewed
        for s, d in zip(life.sessions, delivery.sessions, strict=True):
            self.offline_sessions += d.offline
            self.out_of_order_sessions += d.out_of_order
            if d.client_version == OLD_CLIENT:
                self.old_client_events += len(s.events)

    def merge(self, other: Counts) -> None:
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, Counter):
                mine.update(theirs)
            else:
                setattr(self, f.name, mine + theirs)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["refused"] = dict(sorted(self.refused.items()))
        out["frame_errors"] = dict(sorted(self.frame_errors.items()))
        return out


def _codes(counter: Counter[str]) -> str:
    if not counter:
        return "0"
    return (
        f"{sum(counter.values()):,} ("
        + ", ".join(f"{code} {n:,}" for code, n in sorted(counter.items()))
        + ")"
    )


def format_summary(counts: Counts, mode: str, seconds: float) -> str:
    c = counts
    rate = c.events_sent / seconds if seconds > 0 else 0.0
    lines = [
        f"simulated {c.players:,} players, {c.sessions:,} sessions, {c.events:,} events "
        f"({c.rage_quits:,} rage quits; {c.churned_players:,} churned, "
        f"{c.returned_players:,} came back)",
        f"sent {c.events_sent:,} event copies in {c.frames:,} frames in {seconds:.1f} s "
        f"({rate:,.0f}/s): {c.duplicates_sent:,} duplicates, {c.malformed_sent:,} malformed, "
        f"{c.retried_frames:,} frames retried ({c.retried_events:,} events)",
        f"faults: {c.offline_sessions:,} offline sessions, {c.out_of_order_sessions:,} out of "
        f"order, {c.skewed_clocks:,} skewed clocks, {c.old_client_events:,} old-client events",
    ]
    if mode == "websocket":
        lines.append(
            f"ingestor: acked {c.acked:,}, refused {_codes(c.refused)}, frame errors "
            f"{_codes(c.frame_errors)}; {c.dropped_connections:,} connections dropped, "
            f"{c.ack_timeouts:,} ack timeouts, {c.reconnects:,} reconnects"
        )
    else:
        lines.append(
            f"landed {c.landed_lines:,} event lines and {c.deadletter_lines:,} dead-letter lines "
            f"in {c.shards:,} shards"
        )
    return "\n".join(lines)
