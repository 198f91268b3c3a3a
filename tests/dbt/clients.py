"""Client events of schema v1 as a game sends them, and the copies the ingestor lands of them.

Names stand for UUIDs (`scenario.uid`). A copy's `received_at` is the server's clock; the
event's `timestamp` is the device's, which may run ahead or behind.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ingestion.landing.lines import format_ts
from tests.dbt.harness import Copy
from tests.dbt.scenario import uid

RESULTS = ("win", "loss", "disconnect")
ENTRY_POINTS = ("lobby", "matchmaking", "invite")
REASONS = ("network", "quit", "crash")


def client_event(
    name: str, event_id: str, user: str, session: str, at: datetime, **fields: Any
) -> dict[str, Any]:
    """A valid v1 event named `name` whose device clock read `at`."""
    return {
        "event_name": name,
        "event_version": "v1",
        "event_id": uid(event_id),
        "user_id": uid(user),
        "session_id": uid(session),
        "timestamp": format_ts(at),
        "client_version": "1.4.2",
        "platform": "web",
        **fields,
    }


def session_start(event_id: str, user: str, session: str, at: datetime, entry: str = "lobby"):
    return client_event("session_start", event_id, user, session, at, is_new_user=False,
                        entry_point=entry)  # fmt: skip


def match_played(
    event_id: str, user: str, session: str, at: datetime, result: str, match: str,
    opponent: str = "human",
) -> dict[str, Any]:  # fmt: skip
    return client_event("match_played", event_id, user, session, at, match_id=uid(match),
                        match_duration_sec=120, result=result, opponent_type=opponent)  # fmt: skip


def disconnect(event_id: str, user: str, session: str, at: datetime, reason: str):
    return client_event("disconnect", event_id, user, session, at, disconnect_reason=reason,
                        time_since_session_start_sec=60)  # fmt: skip


def device_time(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["timestamp"].replace("Z", "")).replace(tzinfo=None)


def delivered(
    events: list[dict[str, Any]],
    received_at: datetime,
    *,
    with_sent_at: bool,
    batch: str = "batch",
    sent_after: timedelta = timedelta(seconds=5),
) -> list[Copy]:
    """One batch of `events` received at `received_at`; with `sent_at`, the device stamped the
    batch `sent_after` its last event (on the device's clock)."""
    sent_at = max(device_time(e) for e in events) + sent_after if with_sent_at else None
    return [
        Copy(e, received_at + timedelta(microseconds=i), sent_at, uid(batch) if sent_at else None)
        for i, e in enumerate(events)
    ]
