"""fct_rage_quits: the window's edges and the two kinds, on the real build."""

from __future__ import annotations

from typing import Any

from tests.dbt.conftest import Build
from tests.dbt.scenario import uid


def rage_quits(build: Build, session: str) -> list[tuple[Any, ...]]:
    return build.query(
        "select rage_quit_id, match_id, rage_quit_kind, seconds_after_match, loss_streak_before "
        "from marts.fct_rage_quits where session_id = ?",
        [uid(session)],
    )


def test_a_quit_exactly_at_the_window_after_a_loss_is_a_rage_quit(history: Build) -> None:
    assert rage_quits(history, "s_r60") == [
        (uid("r60-2"), uid("r60-match"), "quit_after_loss", 60.0, 1)
    ]


def test_a_quit_one_second_past_the_window_is_not(history: Build) -> None:
    assert rage_quits(history, "s_r61") == []


def test_a_network_disconnect_after_a_loss_is_never_a_rage_quit(history: Build) -> None:
    assert rage_quits(history, "s_net") == []


def test_an_abandoned_match_wins_over_a_quit_after_loss(history: Build) -> None:
    # the quit came 30 s after a loss and 20 s before the report of an abandoned match; the
    # user brought 4 losses in a row into that match (streaks run across sessions)
    assert rage_quits(history, "s_aband") == [
        (uid("ab-2"), uid("ab-abandoned"), "abandoned_match", -20.0, 4)
    ]


def test_sessions_and_days_count_their_rage_quits(history: Build) -> None:
    user = uid("u_rage")
    assert history.one(
        "select sum(rage_quits) from marts.fct_sessions where user_id = ?", [user]
    ) == (2,)
    assert history.query(
        "select activity_date::varchar, rage_quits from marts.fct_user_daily_activity "
        "where user_id = ? and rage_quits > 0 order by 1",
        [user],
    ) == [("2026-03-05", 1), ("2026-03-08", 1)]
