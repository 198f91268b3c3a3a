"""dim_users on the real build."""

from __future__ import annotations

from datetime import datetime

from tests.dbt.conftest import Build
from tests.dbt.scenario import uid


def test_the_first_entry_point_is_null_when_the_first_session_has_no_session_start(
    history: Build,
) -> None:
    """u_session's first session (2026-03-02) never sent a session_start; its second one came
    from an invite. The first session's entry point is unknown: null, not the second's."""
    assert history.one(
        "select first_session_at, first_entry_point from marts.dim_users where user_id = ?",
        [uid("u_session")],
    ) == (datetime(2026, 3, 2, 9, 5), None)
