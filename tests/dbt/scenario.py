"""Hand-made events that pin the rules of the dbt project, in two deliveries.

`HISTORY` is what the warehouse holds at first (received up to 2026-03-21 00:00:30, so the
last complete day is 2026-03-20); `LATER` arrives afterwards: a new day, a late event of an
old session (received 2026-03-21, for a session of 2026-03-12), and a backfill of receive dates
older than the latest built one. Each user exercises one rule;
the tests in this folder read the marts dbt builds from them. Names stand for UUIDs (`uid`).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from orchestration.warehouse.raw_schema import EVENT_COLUMNS

RECEIVE_LAG = timedelta(seconds=1)
_NAMESPACE = uuid.UUID("5f2b7c1e-6f0e-4a53-9d2c-7a1b2c3d4e5f")


def uid(name: str) -> str:
    """The UUID that stands for a readable scenario name (ids are UUIDs, as the contract says)."""
    return str(uuid.uuid5(_NAMESPACE, name))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def event(
    event_id: str,
    user_id: str,
    session_id: str,
    event_name: str,
    client_ts: str,
    *,
    received_at: str | None = None,
    sent_at: str | None = None,
    status: str = "valid",
    **fields: Any,
) -> dict[str, Any]:
    """One row of raw.events; received one second after client_ts unless told otherwise."""
    client = at(client_ts)
    received = at(received_at) if received_at else client + RECEIVE_LAG
    row: dict[str, Any] = dict.fromkeys(EVENT_COLUMNS)
    if "match_id" in fields:
        fields["match_id"] = uid(fields["match_id"])
    row.update(
        event_id=uid(event_id),
        event_name=event_name,
        event_version="v1",
        user_id=uid(user_id),
        session_id=uid(session_id),
        client_ts=client,
        client_timestamp=client.isoformat() + "Z",
        client_version="1.0.0",
        platform="web",
        status=status,
        payload="{}",
        received_at=received,
        sent_at=at(sent_at) if sent_at else None,
        batch_id=uid("batch-" + session_id) if sent_at else None,
        connection_id="conn-1",
        receive_date=received.date(),
        shard_path=f"events/dt={received.date()}/hour=00/test.jsonl",
        line_number=1,
        **fields,
    )
    return row


def start(event_id: str, user: str, session: str, ts: str, entry: str = "lobby", **kw: Any):
    return event(event_id, user, session, "session_start", ts, entry_point=entry,
                 is_new_user=False, **kw)  # fmt: skip


def match(event_id: str, user: str, session: str, ts: str, result: str, match_id: str, **kw: Any):
    return event(event_id, user, session, "match_played", ts, match_id=match_id,
                 match_duration_sec=120, result=result, opponent_type="human", **kw)  # fmt: skip


def disconnect(event_id: str, user: str, session: str, ts: str, reason: str, **kw: Any):
    return event(event_id, user, session, "disconnect", ts, disconnect_reason=reason,
                 time_since_session_start_sec=60, **kw)  # fmt: skip


def played_session(user: str, session: str, day: str, entry: str = "lobby") -> list[dict[str, Any]]:
    """An ordinary session at 10:00 of `day`: a start and one won match."""
    return [
        start(f"{session}-start", user, session, f"{day} 10:00:00", entry),
        match(f"{session}-m1", user, session, f"{day} 10:05:00", "win", f"{session}-match-1"),
    ]


HISTORY: list[dict[str, Any]] = [
    # --- clocks -----------------------------------------------------------------------------
    # batch with sent_at: the device clock is 2 h ahead, the batch left 30 s after the event
    start("sent-1", "u_clock", "s_sent", "2026-03-02 14:00:00", sent_at="2026-03-02 14:00:30",
          received_at="2026-03-02 12:00:31"),
    # no sent_at, the device clock 10 min ahead: the whole session moves back by 600 s
    start("ahead-1", "u_clock", "s_ahead", "2026-03-03 12:10:00",
          received_at="2026-03-03 12:00:00"),
    match("ahead-2", "u_clock", "s_ahead", "2026-03-03 12:15:00", "win", "ahead-match",
          received_at="2026-03-03 12:05:50"),
    # no sent_at, the device clock 1 h behind: kept as is, flagged
    start("behind-1", "u_clock", "s_behind", "2026-03-04 11:00:00",
          received_at="2026-03-04 12:00:00"),
    # --- sessions ---------------------------------------------------------------------------
    # no session_start ever arrived
    match("nostart-1", "u_session", "s_nostart", "2026-03-02 09:05:00", "loss", "nostart-match"),
    disconnect("nostart-2", "u_session", "s_nostart", "2026-03-02 09:09:00", "network"),
    # delivered in reverse order: the disconnect first, the session_start last
    disconnect("ooo-3", "u_session", "s_ooo", "2026-03-03 09:20:00", "crash",
               received_at="2026-03-03 09:20:01"),
    match("ooo-2", "u_session", "s_ooo", "2026-03-03 09:10:00", "win", "ooo-match",
          received_at="2026-03-03 09:20:02"),
    start("ooo-1", "u_session", "s_ooo", "2026-03-03 09:00:00", "invite",
          received_at="2026-03-03 09:20:03"),
    # --- rage quits -------------------------------------------------------------------------
    start("r60-0", "u_rage", "s_r60", "2026-03-05 18:00:00"),
    match("r60-1", "u_rage", "s_r60", "2026-03-05 18:10:00", "loss", "r60-match"),
    # the same match re-sent under a new event_id (a client retry): counted once
    match("r60-1b", "u_rage", "s_r60", "2026-03-05 18:10:00", "loss", "r60-match",
          received_at="2026-03-05 18:10:30"),
    disconnect("r60-2", "u_rage", "s_r60", "2026-03-05 18:11:00", "quit"),
    start("r61-0", "u_rage", "s_r61", "2026-03-06 18:00:00"),
    match("r61-1", "u_rage", "s_r61", "2026-03-06 18:10:00", "loss", "r61-match"),
    disconnect("r61-2", "u_rage", "s_r61", "2026-03-06 18:11:01", "quit"),
    start("net-0", "u_rage", "s_net", "2026-03-07 18:00:00"),
    match("net-1", "u_rage", "s_net", "2026-03-07 18:10:00", "loss", "net-match"),
    disconnect("net-2", "u_rage", "s_net", "2026-03-07 18:10:10", "network"),
    start("ab-0", "u_rage", "s_aband", "2026-03-08 18:00:00"),
    match("ab-1", "u_rage", "s_aband", "2026-03-08 18:10:00", "loss", "ab-lost"),
    disconnect("ab-2", "u_rage", "s_aband", "2026-03-08 18:10:30", "quit"),
    match("ab-3", "u_rage", "s_aband", "2026-03-08 18:10:50", "disconnect", "ab-abandoned"),
    # --- gaps -------------------------------------------------------------------------------
    start("g1-0", "u_gap", "s_g1", "2026-03-05 23:30:00"),
    match("g1-1", "u_gap", "s_g1", "2026-03-05 23:50:00", "win", "g1-match"),
    start("g2-0", "u_gap", "s_g2", "2026-03-06 00:10:00"),
    match("g2-1", "u_gap", "s_g2", "2026-03-06 00:20:00", "win", "g2-match"),
    start("g3-0", "u_gap", "s_g3", "2026-03-12 10:00:00"),
    match("g3-1", "u_gap", "s_g3", "2026-03-12 10:30:00", "loss", "g3-match"),
    # --- labels -----------------------------------------------------------------------------
    *played_session("u_label", "s_l1", "2026-03-01"),
    *played_session("u_label", "s_l2", "2026-03-06", "matchmaking"),
    event("unknown-1", "u_label", "s_l2", "emote_sent", "2026-03-06 10:06:00", status="unknown"),
    # --- features at d stay put when later events arrive -------------------------------------
    *played_session("u_fix", "s_f1", "2026-03-01"),
    *played_session("u_fix", "s_f2", "2026-03-03", "invite"),
    *played_session("u_fix", "s_f3", "2026-03-10"),
    # the latest receive time: the as-of, 2026-03-21 00:00:30; last complete day 2026-03-20
    *played_session("u_fix", "s_f4", "2026-03-20"),
    disconnect("f4-end", "u_fix", "s_f4", "2026-03-20 23:59:59", "quit",
               received_at="2026-03-21 00:00:30"),
]  # fmt: skip

LATER: list[dict[str, Any]] = [
    *played_session("u_fix", "s_f5", "2026-03-21"),
    *played_session("u_label", "s_l3", "2026-03-21"),
    # a match of a 2026-03-12 session that was buffered offline, delivered nine days late
    match("g3-late", "u_gap", "s_g3", "2026-03-12 10:40:00", "loss", "g3-late-match",
          received_at="2026-03-21 08:00:00"),
    # a backfill: receive dates older than the latest one already built, loaded after it (a
    # day the loader missed, 2026-03-15, and more events of a day already built, 2026-03-20)
    start("b1-0", "u_backfill", "s_b1", "2026-03-15 20:00:00"),
    match("b1-1", "u_backfill", "s_b1", "2026-03-15 20:10:00", "loss", "b1-match"),
    disconnect("b1-2", "u_backfill", "s_b1", "2026-03-15 20:10:40", "quit"),
    *played_session("u_backfill", "s_b2", "2026-03-20"),
    # the new as-of: 2026-03-22 00:00:10, the last complete day 2026-03-21
    disconnect("f5-end", "u_fix", "s_f5", "2026-03-21 23:59:58", "crash",
               received_at="2026-03-22 00:00:10"),
]  # fmt: skip

# The earliest event day LATER touches: features before it must not change.
EARLIEST_LATER_DAY = "2026-03-12"
BACKFILLED_RECEIVE_DATES = ("2026-03-15", "2026-03-20")
