"""fct_inactivity_gaps: consecutive sessions, midnight, long gaps, the open gap at the end."""

from __future__ import annotations

from datetime import datetime

from tests.dbt.conftest import Build
from tests.dbt.scenario import uid


def test_gaps_between_consecutive_sessions_and_the_open_gap_at_the_data_end(
    history: Build,
) -> None:
    assert history.query(
        "select previous_session_id, next_session_id, gap_seconds, is_open, is_long_gap, "
        "gap_ended_at from marts.fct_inactivity_gaps where user_id = ? "
        "order by previous_ended_at",
        [uid("u_gap")],
    ) == [
        # across midnight: 23:50 -> 00:10
        (uid("s_g1"), uid("s_g2"), 1200.0, False, False, datetime(2026, 3, 6, 0, 10)),
        (uid("s_g2"), uid("s_g3"), 553200.0, False, True, datetime(2026, 3, 12, 10, 0)),
        # open until the as-of time: the end of the last complete day of the data
        (uid("s_g3"), None, 739800.0, True, True, datetime(2026, 3, 21)),
    ]


def test_every_user_has_exactly_one_open_gap(history: Build) -> None:
    assert (
        history.query(
            "select user_id from marts.fct_inactivity_gaps group by 1 "
            "having count(*) filter (where is_open) != 1"
        )
        == []
    )


def test_as_of_is_the_end_of_the_last_day_the_data_has_passed(history: Build) -> None:
    # received up to 2026-03-21 00:00:30, events up to 2026-03-20 23:59:59: 2026-03-20 is the
    # last complete day, and the as-of time its end, not the receive clock
    assert history.one(
        "select as_of_at, last_complete_day::varchar, last_event_day::varchar "
        "from intermediate.int_as_of_dates"
    ) == (datetime(2026, 3, 21), "2026-03-20", "2026-03-20")
