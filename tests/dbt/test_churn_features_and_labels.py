"""churn_features and churn_labels: the naming contract with ml/, leakage, censoring."""

from __future__ import annotations

import pytest

from tests.dbt import scenario
from tests.dbt.conftest import Build, Builds
from tests.dbt.scenario import uid

WINDOWED = [
    "sessions", "matches", "wins", "losses", "win_rate", "loss_rate", "max_loss_streak",
    "rage_quits", "disconnects_network", "disconnects_quit", "disconnects_crash", "bot_share",
    "minutes_played",
]  # fmt: skip
# The feature naming contract of the team brief, shared with ml/.
FEATURES = [f"{name}_{n}d" for n in (1, 3, 7, 14, 28) for name in WINDOWED] + [
    "days_since_last_session", "gap_mean_days", "gap_max_days", "current_gap_days",
    "current_gap_vs_usual", "sessions_trend_7d", "matches_trend_7d", "minutes_trend_7d",
    "tenure_days", "entry_share_lobby_28d", "entry_share_matchmaking_28d",
    "entry_share_invite_28d", "current_loss_streak",
    # at the resolution of the data: hours, the rhythm of the last sessions, the first hours
    "hours_since_last_session", "tenure_hours", "sessions_to_date", "last_session_gap_hours",
    "recent_session_gap_mean_hours", "session_gap_trend",
    "hours_since_last_session_vs_recent_gap", "matches_last_session",
    "matches_per_session_recent", "matches_per_session_to_date", "matches_per_session_trend",
    "sessions_first_1h", "sessions_first_24h", "sessions_first_72h", "matches_first_24h",
    "first_session_matches", "hours_to_second_session",
]  # fmt: skip


def columns(build: Build, table: str) -> list[tuple[str, str]]:
    schema, name = table.split(".")
    return build.query(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, name],
    )


def test_churn_features_has_exactly_the_contracted_numeric_columns(history: Build) -> None:
    found = columns(history, "marts.churn_features")
    assert found[:2] == [("user_id", "VARCHAR"), ("snapshot_date", "DATE")]
    assert sorted(name for name, _ in found[2:]) == sorted(FEATURES)
    assert {dtype for _, dtype in found[2:]} <= {"INTEGER", "DOUBLE"}


def test_features_are_never_null(history: Build) -> None:
    nulls = " + ".join(f"count(*) filter (where {name} is null)" for name in FEATURES)
    rows, null_cells = history.one(f"select count(*), {nulls} from marts.churn_features")
    assert rows > 0
    assert null_cells == 0


def test_a_feature_row_at_d_uses_the_history_up_to_d(history: Build) -> None:
    assert history.one(
        "select sessions_1d, sessions_28d, matches_28d, win_rate_28d, days_since_last_session, "
        "tenure_days, entry_share_invite_28d, gap_max_days, current_gap_days "
        "from marts.churn_features where user_id = ? and snapshot_date = '2026-03-10'",
        [uid("u_fix")],
    ) == pytest.approx((1, 3, 3, 1.0, 0, 9, 1 / 3, 7 - 5 / 1440, 14 / 24 - 5 / 1440))


def test_users_are_eligible_only_within_14_days_of_a_session(history: Build) -> None:
    assert history.query(
        "select min(snapshot_date)::varchar, max(snapshot_date)::varchar, count(*) "
        "from marts.churn_features where user_id = ?",
        [uid("u_label")],
    ) == [("2026-03-01", "2026-03-19", 19)]


def test_features_before_later_events_do_not_change_when_they_arrive(builds: Builds) -> None:
    """No leakage: the full rebuild with the later events equals the first build before them."""
    before = f"snapshot_date < '{scenario.EARLIEST_LATER_DAY}'"
    history_rows = builds.history.query(f"select * from marts.churn_features where {before}")
    rebuilt_rows = builds.full_refresh.query(f"select * from marts.churn_features where {before}")
    assert len(history_rows) > 0
    assert sorted(rebuilt_rows) == sorted(history_rows)


def labels(build: Build, user_id: str) -> list[tuple]:
    return build.query(
        "select snapshot_date::varchar, churned, is_censored, label_horizon_end::varchar "
        "from marts.churn_labels where user_id = ? and snapshot_date between "
        "'2026-03-05' and '2026-03-07' order by 1",
        [uid(user_id)],
    )


def test_labels_at_the_censoring_boundary(history: Build) -> None:
    # last complete day 2026-03-20; churn_horizon_days 14
    assert labels(history, "u_label") == [
        ("2026-03-05", False, False, "2026-03-19"),  # the 2026-03-06 session follows
        ("2026-03-06", True, False, "2026-03-20"),  # horizon ends on the last complete day
        ("2026-03-07", None, True, "2026-03-21"),  # horizon passes it: right-censored
    ]


def test_a_censored_label_resolves_when_its_horizon_is_complete(builds: Builds) -> None:
    # one more day of data: the 2026-03-21 session keeps the 2026-03-07 snapshot
    assert labels(builds.incremental, "u_label")[2] == ("2026-03-07", False, False, "2026-03-21")


def test_labels_have_exactly_the_rows_of_the_features(history: Build) -> None:
    assert history.one(
        "select count(*) from (select user_id, snapshot_date from marts.churn_features "
        "except select user_id, snapshot_date from marts.churn_labels)"
    ) == (0,)
    assert history.one("select count(*) from marts.churn_labels") == history.one(
        "select count(*) from marts.churn_features"
    )
