"""fct_sessions and its matches, on the real build."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.dbt.conftest import Build
from tests.dbt.scenario import uid


def session(build: Build, name: str, columns: str) -> tuple[Any, ...]:
    return build.one(f"select {columns} from marts.fct_sessions where session_id = ?", [uid(name)])


def test_a_session_without_session_start_starts_at_its_earliest_event(history: Build) -> None:
    columns = "started_at, ended_at, is_missing_session_start, entry_point, ended_by"
    assert session(history, "s_nostart", columns) == (
        datetime(2026, 3, 2, 9, 5),
        datetime(2026, 3, 2, 9, 9),
        True,
        None,
        "network",
    )


def test_events_delivered_out_of_order_give_the_same_session(history: Build) -> None:
    assert session(
        history,
        "s_ooo",
        "started_at, ended_at, duration_seconds, is_missing_session_start, entry_point, "
        "matches, wins, ended_by, disconnects_crash",
    ) == (datetime(2026, 3, 3, 9, 0), datetime(2026, 3, 3, 9, 20), 1200.0, False, "invite",
          1, 1, "crash", 1)  # fmt: skip


def test_a_match_sent_twice_counts_once(history: Build) -> None:
    assert session(history, "s_r60", "matches, losses") == (1, 1)
    assert history.one(
        "select count(*), any_value(event_id::varchar) "
        "from intermediate.int_matches_deduplicated where match_id = ?",
        [uid("r60-match")],
    ) == (1, uid("r60-1"))


def test_sessions_count_match_disconnects_and_bot_share(history: Build) -> None:
    assert session(history, "s_aband", "matches, losses, match_disconnects, bot_share") == (
        2,
        1,
        1,
        0.0,
    )


def test_every_session_belongs_to_a_known_user(history: Build) -> None:
    assert history.one(
        "select count(*) from marts.fct_sessions s left join marts.dim_users u using (user_id) "
        "where u.user_id is null"
    ) == (0,)
