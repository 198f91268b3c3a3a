"""Corrected event time: the three clock branches, on the real build."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.dbt.conftest import Build
from tests.dbt.scenario import uid

EVENTS = "intermediate.int_events_time_corrected"


def event_time(build: Build, event: str) -> tuple[datetime, str, bool, bool]:
    return build.one(
        f"select event_at, event_time_basis, is_clock_ahead_shifted, is_clock_behind_suspected "
        f"from {EVENTS} where event_id = ?",
        [uid(event)],
    )


def test_a_clock_ahead_beyond_tolerance_shifts_the_whole_session(history: Build) -> None:
    assert event_time(history, "ahead-1") == (
        datetime(2026, 3, 3, 12, 0, 0),
        "session_shifted",
        True,
        False,
    )
    assert event_time(history, "ahead-2")[0] == datetime(2026, 3, 3, 12, 5, 0)
    started_at, is_shifted = history.one(
        "select started_at, is_clock_ahead_shifted from marts.fct_sessions where session_id = ?",
        [uid("s_ahead")],
    )
    assert (started_at, is_shifted) == (datetime(2026, 3, 3, 12, 0, 0), True)


# event -> (event_at, event_time_basis, is_clock_ahead_shifted, is_clock_behind_suspected)
ONE_EVENT_CASES = {
    # received 12:00:31, sent 30 s after the event on a device clock two hours ahead
    "sent_at corrects a device clock two hours ahead": (
        "sent-1", (datetime(2026, 3, 2, 12, 0, 1), "sent_at", False, False),
    ),
    "a clock behind is kept and flagged": (
        "behind-1", (datetime(2026, 3, 4, 11, 0, 0), "client_clock", False, True),
    ),
    "a trusted clock keeps client time": (
        "g1-0", (datetime(2026, 3, 5, 23, 30, 0), "client_clock", False, False),
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", ONE_EVENT_CASES)
def test_the_clock_rule_of_one_event(history: Build, case: str) -> None:
    event, expected = ONE_EVENT_CASES[case]
    assert event_time(history, event) == expected


def test_unknown_events_stay_in_staging_and_never_reach_the_marts(history: Build) -> None:
    unknown = uid("unknown-1")
    assert history.one(
        "select event_status from staging.stg_respawn__events where event_id = ?", [unknown]
    ) == ("unknown",)
    assert history.one(f"select count(*) from {EVENTS} where event_id = ?", [unknown]) == (0,)
    assert history.one(
        "select events from marts.fct_sessions where session_id = ?", [uid("s_l2")]
    ) == (2,)
