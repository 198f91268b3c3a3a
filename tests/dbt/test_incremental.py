"""Incremental models: a run after more data gives exactly what a full refresh gives."""

from __future__ import annotations

import pytest

from tests.dbt.conftest import Builds
from tests.dbt.scenario import uid

RELATIONS = [
    "staging.stg_respawn__events",
    "intermediate.int_as_of_dates",
    "intermediate.int_events_time_corrected",
    "intermediate.int_matches_deduplicated",
    "intermediate.int_user_snapshot_dates",
    "intermediate.int_user_running_totals",
    "marts.fct_sessions",
    "marts.fct_rage_quits",
    "marts.fct_inactivity_gaps",
    "marts.fct_user_daily_activity",
    "marts.dim_users",
    "marts.churn_features",
    "marts.churn_labels",
]


@pytest.mark.parametrize("relation", RELATIONS)
def test_incremental_run_equals_full_refresh(builds: Builds, relation: str) -> None:
    incremental = builds.incremental.query(f"select * from {relation}")
    full_refresh = builds.full_refresh.query(f"select * from {relation}")
    assert len(incremental) > 0
    assert sorted(incremental, key=repr) == sorted(full_refresh, key=repr)


def test_the_incremental_run_took_in_a_late_event_of_an_old_session(builds: Builds) -> None:
    assert builds.incremental.one(
        "select matches, losses from marts.fct_sessions where session_id = ?", [uid("s_g3")]
    ) == (2, 2)
    assert builds.incremental.one(
        "select max_loss_streak_1d, current_loss_streak from marts.churn_features "
        "where user_id = ? and snapshot_date = '2026-03-12'",
        [uid("u_gap")],
    ) == (2, 2)


def test_the_incremental_run_took_in_receive_dates_older_than_the_latest_built(
    builds: Builds,
) -> None:
    """A backfilled day reaches every mart without a full refresh (out-of-order loads)."""
    sessions = builds.incremental.query(
        "select cast(started_date as varchar), matches from marts.fct_sessions "
        "where user_id = ? order by started_date",
        [uid("u_backfill")],
    )
    assert sessions == [("2026-03-15", 1), ("2026-03-20", 1)]
    assert builds.incremental.one(
        "select rage_quit_kind from marts.fct_rage_quits where session_id = ?", [uid("s_b1")]
    ) == ("quit_after_loss",)
    assert builds.incremental.one(
        "select sessions_7d from marts.churn_features "
        "where user_id = ? and snapshot_date = '2026-03-20'",
        [uid("u_backfill")],
    ) == (2,)
