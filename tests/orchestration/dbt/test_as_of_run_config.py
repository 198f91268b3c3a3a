"""The as-of time of a run: the dbt assets' run config, else RESPAWN_AS_OF, else the data's own.

A history of 2024 imported long after it happened (received today, timed by its events) is
built by the real dbt assets in process: with no setting the marts describe it as of the end of
its last complete day; the Launchpad's `as_of` (run config) and the `respawn` command's
environment variable move that reference, which dbt receives as the var `as_of`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest

from orchestration.dbt.as_of import (
    AS_OF_ENV,
    AsOfConfig,
    dbt_vars_args,
    parse_as_of,
    resolve_as_of,
)
from tests.dbt.conftest import load_events
from tests.dbt.scenario import played_session, uid
from tests.e2e.pipeline import Pipeline, query

TODAY = "2026-12-01 10:00:00"


def history() -> list[dict]:
    """Sessions from March to November 2024: u_sent's sent through the socket today (received
    today, no sent_at), u_imported's landed as `respawn import` lands them (received at their
    own time)."""
    rows = []
    for user, days in {
        "u_sent": ["2024-03-01", "2024-06-01", "2024-11-29"],
        "u_imported": ["2024-03-02", "2024-11-30"],
    }.items():
        for n, day in enumerate(days):
            for row in played_session(user, f"{user}-s{n}", day):
                row["received_at"] = (
                    datetime.fromisoformat(TODAY) if user == "u_sent" else row["client_ts"]
                )
                row["receive_date"] = row["received_at"].date()
                rows.append(row)
    return rows


def build(home: Path, instance: dg.DagsterInstance, as_of: str | None = None) -> None:
    run_config = {"ops": {"respawn_dbt_models": {"config": {"as_of": as_of}}}} if as_of else {}
    pipeline = Pipeline(home, instance)
    events = dg.AssetKey("events")
    selection = dg.AssetSelection.assets(events).downstream(include_self=False) - (
        dg.AssetSelection.groups("ml")
    )
    result = dg.materialize(
        assets=list(pipeline.defs.assets or ()),
        selection=selection,
        instance=instance,
        resources=pipeline.defs.resources,
        run_config=run_config,
    )
    assert result.success


def references(home: Path) -> tuple:
    """The references, and how many of the imported events are flagged as a clock behind."""
    return query(
        home,
        "select as_of_at, last_complete_day::varchar, "
        "(select max(snapshot_date)::varchar from marts.churn_features), "
        "(select count(*) from marts.churn_labels where not is_censored), "
        "(select max(gap_ended_at) from marts.fct_inactivity_gaps where is_open), "
        "(select count(*) from intermediate.int_events_time_corrected "
        " where is_clock_behind_suspected and user_id = ?) "
        "from intermediate.int_as_of_dates",
        [uid("u_imported")],
    )[0]


@pytest.mark.slow
def test_a_history_is_described_as_of_its_own_end_unless_the_run_sets_it(
    home: Path, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(AS_OF_ENV, raising=False)
    load_events(home, history())

    build(home, instance)
    as_of_at, last_day, last_snapshot, labelled, open_gaps_end, flagged = references(home)
    # the data's own: events end on 2024-11-30, not on the receive day (2026-12-01)
    assert as_of_at == datetime(2024, 12, 1)
    assert last_day == last_snapshot == "2024-11-30"
    assert open_gaps_end == datetime(2024, 12, 1)
    assert labelled > 0  # the snapshots of March to mid-November have their answer
    assert flagged == 0  # imported history is never a suspect clock for being old

    # the Launchpad's run config, passed to dbt as a var, over the `respawn` command's
    # environment variable (which alone sets it: the test below)
    monkeypatch.setenv(AS_OF_ENV, "2024-09-01T12:00:00")
    build(home, instance, as_of="2024-06-15")
    as_of_at, last_day, last_snapshot, *_ = references(home)
    assert as_of_at == datetime(2024, 6, 15)
    assert last_day == last_snapshot == "2024-06-14"


def test_as_of_comes_from_the_run_config_else_the_environment_and_reaches_dbt_as_a_var(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(AS_OF_ENV, raising=False)
    assert resolve_as_of(None) is None
    assert dbt_vars_args(None) == []
    assert parse_as_of("2025-06-01") == datetime(2025, 6, 1)
    assert parse_as_of("2025-06-01T14:00:00+02:00") == datetime(2025, 6, 1, 12)
    monkeypatch.setenv(AS_OF_ENV, "2025-06-01 06:30:00")
    assert resolve_as_of(None) == datetime(2025, 6, 1, 6, 30)
    assert AsOfConfig().resolved() == datetime(2025, 6, 1, 6, 30)  # what the assets read
    assert AsOfConfig(as_of="2025-01-01").resolved() == datetime(2025, 1, 1)  # run config first
    assert dbt_vars_args(datetime(2025, 6, 1, 6, 30)) == [
        "--vars",
        '{"as_of": "2025-06-01 06:30:00"}',
    ]
    with pytest.raises(ValueError, match="not an ISO date"):
        parse_as_of("last tuesday")
