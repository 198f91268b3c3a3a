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
        # open until the as-of time, the latest receive time of the data
        (uid("s_g3"), None, 739830.0, True, True, datetime(2026, 3, 21, 0, 0, 30)),
    ]


def test_every_user_has_exactly_one_open_gap(history: Build) -> None:
    assert (
        history.query(
            "select user_id from marts.fct_inactivity_gaps group by 1 "
            "having count(*) filter (where is_open) != 1"
        )
        == []
    )


def test_as_of_is_the_latest_receive_time_and_the_day_before_is_complete(history: Build) -> None:
    assert history.one(
        "select as_of_at, last_complete_day::varchar from intermediate.int_as_of_dates"
    ) == (datetime(2026, 3, 21, 0, 0, 30), "2026-03-20")
