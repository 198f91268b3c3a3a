"""Hypothesis strategies for delivery histories: what a few players' clients send, how the
ingestor lands it, and in which order the nightly job loads it.

A history holds players' sessions (with or without a `session_start`, across midnight, matches
re-reported under a new event_id, rage quits at the window's edge), device clocks that run
ahead or behind, and deliveries of those events: in batches with or without `sent_at`, hours
or days late, again (duplicates) and with a conflicting copy (the same event_id, another
payload: another result, time or session). Each delivery lands as one shard; a shard lands at
some step of the schedule, and each step loads some receive days (plain or `replace`), the
way the nightly job and its backfills do, before an incremental build.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from tests.dbt.clients import (
    ENTRY_POINTS,
    REASONS,
    RESULTS,
    delivered,
    disconnect,
    match_played,
    session_start,
)
from tests.dbt.harness import Copy

DAY_ZERO = datetime(2026, 3, 10)
# Device clock minus true time: exact, ahead within and beyond the 300 s tolerance, behind by
# an hour and by two days.
SKEWS = (0, 0, 200, 900, -3600, -2 * 86400)
# Seconds after midnight a session may start: a morning, and minutes before midnight.
STARTS = (10 * 3600, 23 * 3600 + 57 * 60, 86400 - 20)
# Seconds between two events of a session: at and one past the 60 s rage-quit window.
STEPS = (5, 60, 61, 600)
# How late a batch is received after its last event.
DELAYS = (timedelta(seconds=1), timedelta(hours=3), timedelta(days=1, hours=2),
          timedelta(days=2, hours=1))  # fmt: skip


@dataclass
class Step:
    """Land the shards due at this step, load these receive days, build incrementally."""

    days: list[date]
    replace: bool
    shards: list[list[Copy]] = field(default_factory=list)


@dataclass
class History:
    steps: list[Step]

    @property
    def copies(self) -> int:
        return sum(len(shard) for step in self.steps for shard in step.shards)


@st.composite
def sessions(draw: st.DrawFn, user: str, number: int) -> tuple[int, list[dict[str, Any]]]:
    """One session's client events (device clock), and the device's skew in seconds."""
    name = f"{user}-s{number}"
    skew = draw(st.sampled_from(SKEWS))
    true_at = DAY_ZERO + timedelta(
        days=draw(st.integers(0, 3)), seconds=draw(st.sampled_from(STARTS))
    )
    device = timedelta(seconds=skew)
    events: list[dict[str, Any]] = []
    if draw(st.booleans()) or draw(st.booleans()):  # 3 in 4 sessions send their start
        events.append(
            session_start(f"{name}-start", user, name, true_at + device,
                          draw(st.sampled_from(ENTRY_POINTS)))
        )  # fmt: skip
    for index in range(draw(st.integers(0 if events else 1, 3))):
        true_at += timedelta(seconds=draw(st.sampled_from(STEPS)))
        match = f"{name}-match{index}"
        result = draw(st.sampled_from(RESULTS))
        opponent = draw(st.sampled_from(("human", "bot")))
        events.append(match_played(f"{match}-report", user, name, true_at + device, result,
                                   match, opponent))  # fmt: skip
        if draw(st.integers(0, 5)) == 0:  # the client re-reports it under a new event_id
            events.append(match_played(f"{match}-retry", user, name, true_at + device,
                                       result, match, opponent))  # fmt: skip
    if draw(st.booleans()):
        true_at += timedelta(seconds=draw(st.sampled_from(STEPS)))
        events.append(
            disconnect(f"{name}-end", user, name, true_at + device,
                       draw(st.sampled_from(REASONS)))
        )  # fmt: skip
    return skew, events


def true_time(event: dict[str, Any], skew: int) -> datetime:
    device = datetime.fromisoformat(event["timestamp"].replace("Z", ""))
    return device - timedelta(seconds=skew)


@st.composite
def deliveries(draw: st.DrawFn, skew: int, events: list[dict[str, Any]]) -> list[list[Copy]]:
    """One to three batches of the session's events (a copy of some or all of them each)."""
    batches = []
    for number in range(draw(st.integers(1, 3))):
        chosen = draw(
            st.lists(st.sampled_from(events), min_size=1, max_size=len(events), unique_by=id)
        )
        delay = draw(st.sampled_from(DELAYS))
        received = max(true_time(e, skew) for e in chosen) + delay
        # a batch held back offline is stamped when it is finally sent
        batches.append(
            delivered(chosen, received, with_sent_at=draw(st.booleans()), sent_after=delay,
                      batch=f"{chosen[0]['session_id']}-{number}")
        )  # fmt: skip
    return batches


@st.composite
def conflicting_copy(draw: st.DrawFn, played: list[tuple[int, list[dict[str, Any]]]]) -> list[Copy]:
    """Another payload under an event_id already sent: another result, time or session."""
    skew, events = draw(st.sampled_from(played))
    original = draw(st.sampled_from(events))
    # a client's event_ids are its own: the other session is one of the same player
    other_skew, other_events = draw(
        st.sampled_from([s for s in played if s[1][0]["user_id"] == original["user_id"]])
    )
    changed = dict(original)
    change = draw(st.sampled_from(("session", "time", "result")))
    if change == "session" or "result" not in original:
        changed["session_id"] = other_events[0]["session_id"]
        changed["timestamp"] = other_events[-1]["timestamp"]
        skew = other_skew
    elif change == "time":
        moved = datetime.fromisoformat(original["timestamp"].replace("Z", ""))
        changed["timestamp"] = (moved + timedelta(hours=20)).isoformat() + "Z"
    else:
        changed["result"] = draw(st.sampled_from([r for r in RESULTS if r != original["result"]]))
    delay = draw(st.sampled_from(DELAYS))
    received = true_time(changed, skew) + delay
    return delivered([changed], received, with_sent_at=draw(st.booleans()), sent_after=delay,
                     batch="conflict")  # fmt: skip


@st.composite
def histories(draw: st.DrawFn) -> History:
    played: list[tuple[int, list[dict[str, Any]]]] = []
    for user_number in range(draw(st.integers(1, 3))):
        user = f"p{user_number}"
        for number in range(draw(st.integers(1, 3))):
            played.append(draw(sessions(user, number)))
    shards = [shard for skew, events in played for shard in draw(deliveries(skew, events))]
    if draw(st.booleans()):
        shards.append(draw(conflicting_copy(played)))
    days = sorted({copy.receive_date for shard in shards for copy in shard})
    # Each step loads some receive days, in any order (a nightly run or a backfill); a later
    # step may load a day again (a re-run) or replace it. A shard lands at some step up to the
    # first one that loads its day, or later: a straggler that only a re-run picks up.
    steps = [
        Step(draw(st.lists(st.sampled_from(days), min_size=1, max_size=3, unique=True)),
             draw(st.integers(0, 3)) == 0)
        for _ in range(draw(st.integers(2, 3)))
    ]  # fmt: skip
    for shard in shards:
        loads = [i for i, step in enumerate(steps) if shard[0].receive_date in step.days]
        latest = loads[-1] if loads else len(steps) - 1
        steps[draw(st.integers(0, latest))].shards.append(shard)
    return History(steps)
