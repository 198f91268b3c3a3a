"""Backfills that move a row of an event-dated model: the incremental build must drop it from
its old place. Each case is a delivery order the nightly job meets; the build after each load
is the nightly's incremental build, and the result must equal a full refresh, row for row."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from tests.dbt.clients import delivered, disconnect, match_played, session_start
from tests.dbt.harness import NIGHTLY, Copy, Dbt, Warehouse, assert_same_rows
from tests.dbt.scenario import uid

D = date(2026, 3, 10)


def at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second)


def played(user: str, session: str, day: date, hour: int = 10) -> list[Copy]:
    """An ordinary session, delivered at once in a batch with sent_at."""
    events = [
        session_start(f"{session}-start", user, session, at(day, hour)),
        match_played(f"{session}-m", user, session, at(day, hour, 5), "win", f"{session}-match"),
    ]
    return delivered(events, at(day, hour, 6), with_sent_at=True, batch=session)


def build_in_order(dbt: Dbt, warehouse: Warehouse, days: list[date]) -> Warehouse:
    """Load the receive days in this order, an incremental build after each; then a full
    refresh of the same data in a copy, to compare with."""
    for day in days:
        warehouse.load(day)
        dbt(warehouse.home, *NIGHTLY)
    reference = warehouse.copy_to(warehouse.home.parent / "full-refresh")
    dbt(reference.home, *NIGHTLY, "--full-refresh")
    return reference


def test_a_backfill_that_moves_a_session_later_leaves_no_row_at_its_old_date(
    dbt: Dbt, tmp_path: Path
) -> None:
    """The device clock runs two days behind. The session (a loss, then a quit: a rage quit) is
    delivered on D with sent_at, and re-sent on D + 2 without it. D + 2 is loaded first: the
    session sits at D - 2 by the device clock. Backfilling D moves it to D."""
    user, skewed = "u_skew", "s_skew"
    true_start = at(D, 18)
    device = -timedelta(days=2)
    events = [
        session_start("skew-start", user, skewed, true_start + device),
        match_played("skew-m", user, skewed, true_start + device + timedelta(minutes=10),
                     "loss", "skew-match"),
        disconnect("skew-quit", user, skewed, true_start + device + timedelta(minutes=10,
                   seconds=30), "quit"),
    ]  # fmt: skip
    warehouse = Warehouse(tmp_path / "incremental")
    for day in (D - timedelta(days=5), D - timedelta(days=1), D + timedelta(days=1)):
        warehouse.land(played(user, f"s_{day:%d}", day))
    warehouse.land(delivered(events, at(D, 18, 11), with_sent_at=True, batch="first"))
    warehouse.land(delivered(events, at(D + timedelta(days=2), 9), with_sent_at=False))

    reference = build_in_order(
        dbt,
        warehouse,
        [D - timedelta(days=5), D - timedelta(days=1), D + timedelta(days=1),
         D + timedelta(days=2), D],
    )  # fmt: skip

    assert_same_rows(warehouse, reference, dbt.models())
    assert warehouse.query(
        "select activity_date, sessions, matches, rage_quits from marts.fct_user_daily_activity "
        "where user_id = ? and activity_date in (?, ?)",
        [uid(user), D - timedelta(days=2), D],
    ) == [(D, 1, 1, 1)]
    assert warehouse.query(
        "select sessions from marts.dim_users where user_id = ?", [uid(user)]
    ) == [(4,)]


def test_a_conflicting_copy_that_moved_an_event_to_another_session_recomputes_that_session(
    dbt: Dbt, tmp_path: Path
) -> None:
    """The earliest copy of an event_id (received D) is a win in session A; a later, different
    copy (received D + 2 without sent_at, built first) reports it as a loss in session B, on
    D - 1 where B's other events were received. Backfilling D gives the event back to A: B, its
    gap, its day and the features after it must lose it."""
    user = "u_conflict"
    b_start = at(D - timedelta(days=1), 20)
    a_start = at(D, 12)
    warehouse = Warehouse(tmp_path / "incremental")
    warehouse.land(
        delivered(
            [session_start("b-start", user, "s_b", b_start)],
            b_start + timedelta(seconds=1), with_sent_at=True, batch="b",
        )
    )  # fmt: skip
    warehouse.land(
        delivered(
            [match_played("contested", user, "s_b", b_start + timedelta(minutes=10), "loss",
                          "b-match")],
            at(D + timedelta(days=2), 8), with_sent_at=False,
        )
    )  # fmt: skip
    warehouse.land(
        delivered(
            [
                session_start("a-start", user, "s_a", a_start),
                match_played("contested", user, "s_a", a_start + timedelta(minutes=5), "win",
                             "a-match"),
            ],
            a_start + timedelta(minutes=6), with_sent_at=True, batch="a",
        )
    )  # fmt: skip
    warehouse.land(played(user, "s_later", D + timedelta(days=2)))

    reference = build_in_order(dbt, warehouse, [D - timedelta(days=1), D + timedelta(days=2), D])

    assert_same_rows(warehouse, reference, dbt.models())
    assert warehouse.query(
        "select cast(session_id as varchar), match_result "
        "from intermediate.int_matches_deduplicated where event_id = ?",
        [uid("contested")],
    ) == [(uid("s_a"), "win")]
    assert warehouse.query(
        "select matches, losses from marts.fct_sessions where session_id = ?", [uid("s_b")]
    ) == [(0, 0)]
