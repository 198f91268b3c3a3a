"""Landing shards for the orchestration tests, written with the landing module itself."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ingestion.contract import Code, Failure
from ingestion.landing.layout import Stream
from ingestion.landing.lines import deadletter_line, event_line, format_ts
from ingestion.landing.writer import ShardWriter
from ingestion.settings import landing_root

START = datetime(2026, 1, 1, tzinfo=UTC)


def at(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


def event(name: str, when: datetime, user_id: str, session_id: str, **fields: Any) -> dict:
    base = {
        "event_name": name,
        "event_version": "v1",
        "event_id": str(uuid.uuid4()),
        "user_id": user_id,
        "session_id": session_id,
        "timestamp": format_ts(when),
        "client_version": "1.4.2",
        "platform": "web",
    }
    return {**base, **fields}


def session(user_id: str, start: datetime, matches: int = 2) -> list[dict]:
    """A realistic session: start, a few matches, a quit."""
    sid = str(uuid.uuid4())
    events = [event("session_start", start, user_id, sid, is_new_user=False, entry_point="lobby")]
    t = start
    for i in range(matches):
        t += timedelta(minutes=6)
        events.append(
            event(
                "match_played",
                t,
                user_id,
                sid,
                match_id=str(uuid.uuid4()),
                match_duration_sec=330,
                result="win" if i % 2 else "loss",
                opponent_type="human",
            )
        )
    events.append(
        event(
            "disconnect",
            t + timedelta(seconds=30),
            user_id,
            sid,
            disconnect_reason="quit",
            time_since_session_start_sec=int((t - start).total_seconds()) + 30,
        )
    )
    return events


@dataclass
class Landing:
    """Writes shards under `home`'s landing root as the ingestor does: one writer per call."""

    home: Path
    writers: int = 0
    published: list[Path] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return landing_root(self.home)

    def _writer(self, stream: Any) -> ShardWriter:
        self.writers += 1
        return ShardWriter(self.root, stream, node="test", pid=self.writers, start=START)

    def events(
        self,
        events: list[dict],
        received: datetime | None = None,
        status: str = "valid",
        delay: timedelta = timedelta(seconds=1),
    ) -> list[Path]:
        """Land `events`, each received `delay` after its client time (or all at `received`)."""
        writer = self._writer(Stream.EVENTS)
        for ev in events:
            when = received or datetime.fromisoformat(ev["timestamp"]) + delay
            writer.write(
                event_line(ev, format_ts(when), "conn-1", status, format_ts(when), "batch-1"),
                when,
            )
        writer.publish()
        self.published += writer.published
        return writer.published

    def deadletter(self, raws: list[str], received: datetime) -> list[Path]:
        writer = self._writer(Stream.DEADLETTER)
        for i, raw in enumerate(raws):
            failure = Failure(Code.INVALID_JSON, None, "frame is not JSON")
            writer.write(
                deadletter_line(raw, failure, format_ts(received), "conn-1", index=i), received
            )
        writer.publish()
        self.published += writer.published
        return writer.published
