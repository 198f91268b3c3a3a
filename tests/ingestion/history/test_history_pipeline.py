"""A studio's history, brought in with `respawn import` and built by the real pipeline: 15 months
of play that ended more than a year before today, loaded by the code location's own load job (a
single-run backfill of every imported day) and `dbt build`. The marts must describe the history,
not the day it was imported: events at their own dates, no clock suspected for being old, open
gaps that end where the data ends, labels censored at the data's end, no snapshot past it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from ingestion.landing.lines import format_ts
from ingestion.settings import landing_root
from tests.e2e.pipeline import Pipeline, landed_days, query, scalar
from tests.ingestion.history.histories import Player, long_history, write_history
from tests.support.docs import section_block

REPO = Path(__file__).resolve().parents[3]
SECTION = "## Bring your history"
FIRST, LAST = date(2024, 5, 1), date(2025, 7, 31)
PLAYERS = [
    Player("00000000-0000-4000-8000-00000000000a", FIRST, LAST, every_days=3, hour=18),
    Player("00000000-0000-4000-8000-00000000000b", date(2024, 5, 10), date(2024, 9, 28), 4, 20),
    Player("00000000-0000-4000-8000-00000000000c", date(2025, 7, 1), date(2025, 7, 19), 1, 12),
    Player("00000000-0000-4000-8000-00000000000d", date(2024, 6, 2), date(2025, 7, 27), 9, 7),
]
CHURN_HORIZON_DAYS = 14  # dbt_project.yml's churn_horizon_days


@pytest.fixture(scope="module")
def history_events() -> list[dict]:
    events = long_history(PLAYERS)
    # the studio's server stamped some events: received 2 s after the device's time
    for ev in events[::5]:
        ev["received_at"] = format_ts(
            datetime.fromisoformat(ev["timestamp"]) + timedelta(seconds=2)
        )
    return events


def documented_commands() -> list[str]:
    """The commands of docs/data-engineers.md, "Bring your history", in order."""
    block = section_block("docs/data-engineers.md", SECTION)
    return [c for c in block.commands if not c.lstrip().startswith("#")]


def run_documented(command: str, cwd: Path, env: dict[str, str]) -> str:
    """One documented command, as a user types it (bash, the environment's `respawn` and
    `dagster` first on PATH); its output."""
    done = subprocess.run(
        ["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@dataclass(frozen=True)
class Built:
    home: Path
    events: list[dict]
    outputs: list[str]  # of the documented commands


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, dbt_manifest: Path, history_events: list[dict]
) -> Iterator[Built]:
    """The history exported as the guide's two files and imported by the guide's commands; every
    imported day loaded in one backfill run of `load_landed_events`, then the marts built: once
    for the module (a build takes a minute)."""
    root = tmp_path_factory.mktemp("history")
    home = root / "home"
    home.mkdir()
    in_2024 = [e for e in history_events if e["timestamp"] < "2025"]
    in_2025 = [e for e in history_events if e["timestamp"] >= "2025"]
    write_history(root / "exports" / "events-2024.jsonl.gz", in_2024, gz=True)
    # a refused line that says its time: dead-lettered beside its day, loaded with it
    broken = {**in_2025[-1], "user_id": "not-a-uuid", "event_id": str(uuid.uuid4())}
    write_history(root / "exports" / "events-2025.jsonl", [*in_2025, broken])
    env = {
        **os.environ,
        "RESPAWN_HOME": str(home),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(REPO),
    }
    env.pop("RESPAWN_FIRST_DAY", None)
    outputs = [run_documented(c, root, env) for c in documented_commands()]
    with pytest.MonkeyPatch.context() as mp, dg.DagsterInstance.ephemeral() as instance:
        mp.setenv("RESPAWN_HOME", str(home))
        pipeline = Pipeline(home, instance)
        days = landed_days(home)
        assert pipeline.backfill(days[0], days[-1]).success
        assert pipeline.build_marts().success
        yield Built(home, history_events, outputs)


def test_the_guides_commands_import_once_and_load_every_day(built: Built) -> None:
    first, again = built.outputs
    in_2024 = sum(e["timestamp"] < "2025" for e in built.events)
    assert f"{in_2024:,} events landed" in first
    assert f"{len(built.events) - in_2024:,} events landed" in first
    assert "invalid_uuid 1" in first
    assert f"total: {len(built.events):,} events landed, 1 dead-lettered" in first
    assert "already imported" in again and "nothing landed" in again
    # the load covered every imported day: each day's shards are in the load manifest
    days = landed_days(built.home)
    assert days[0] == FIRST and days[-1] == LAST
    loaded = query(built.home, "select distinct receive_date from raw.loaded_shards")
    assert {d for (d,) in loaded} == set(days)
    assert (landing_root(built.home) / "imports").is_dir()
    # the guide's query of the refused lines
    refused = query(
        built.home,
        "select failure_code, failure_field, count(*) from raw.deadletter_events where "
        "connection_id like 'import-%' group by all",
    )
    assert refused == [("invalid_uuid", "user_id", 1)]


def _own_dates(events: list[dict]) -> dict[str, set[date]]:
    dates: dict[str, set[date]] = {}
    for ev in events:
        dates.setdefault(ev["user_id"], set()).add(datetime.fromisoformat(ev["timestamp"]).date())
    return dates


def test_imported_events_are_at_their_own_dates_and_no_clock_is_suspected(built: Built) -> None:
    home, imported = built.home, built.events
    assert scalar(home, "select count(*) from raw.events") == len(imported)
    # every event at its own time: no correction, and no clock behind for being old
    rows = query(
        home,
        "select count(*), count(*) filter (where event_at <> client_ts), "
        "count(*) filter (where is_clock_behind_suspected), "
        "count(*) filter (where is_clock_ahead_shifted) "
        "from intermediate.int_events_time_corrected",
    )
    assert rows == [(len(imported), 0, 0, 0)]
    assert (
        scalar(home, "select count(*) from marts.fct_sessions where is_clock_behind_suspected") == 0
    )
    activity = query(
        home,
        "select cast(user_id as varchar), activity_date from marts.fct_user_daily_activity "
        "where sessions > 0",
    )
    got: dict[str, set[date]] = {}
    for user, day in activity:
        got.setdefault(user, set()).add(day)
    assert got == _own_dates(imported)


def test_open_gaps_end_where_the_data_ends_not_today(built: Built) -> None:
    data_end = datetime(LAST.year, LAST.month, LAST.day) + timedelta(days=1)  # naive UTC
    open_gaps = query(
        built.home,
        "select cast(user_id as varchar), gap_ended_at, gap_days from marts.fct_inactivity_gaps "
        "where is_open order by 1",
    )
    assert [u for u, _, _ in open_gaps] == [p.user_id for p in PLAYERS]
    last_days = {user: max(days) for user, days in _own_dates(built.events).items()}
    for user, ended_at, gap_days in open_gaps:
        assert ended_at <= data_end
        # from the player's last session to the data's end, not to today (500+ days more)
        assert (LAST - last_days[user]).days - 1 <= gap_days <= (LAST - last_days[user]).days + 1


def test_labels_are_censored_at_the_data_end_and_no_snapshot_is_past_it(built: Built) -> None:
    home = built.home
    last_snapshot = scalar(home, "select max(snapshot_date) from marts.churn_labels")
    assert last_snapshot <= LAST
    assert scalar(home, "select max(snapshot_date) from marts.churn_features") <= LAST
    # a label whose horizon passes the data's end is censored; well inside the data, none is
    uncensored_past_end = scalar(
        home,
        "select count(*) from marts.churn_labels where not is_censored "
        f"and snapshot_date + interval {CHURN_HORIZON_DAYS} day > date '{LAST.isoformat()}'",
    )
    assert uncensored_past_end == 0
    censored_inside = scalar(
        home,
        "select count(*) from marts.churn_labels where is_censored "
        f"and snapshot_date + interval {CHURN_HORIZON_DAYS + 2} day <= date '{LAST.isoformat()}'",
    )
    assert censored_inside == 0
    # player b left in Sept 2024: labelled churned then, and that label is not censored
    b = PLAYERS[1].user_id
    b_last = max(_own_dates(built.events)[b])
    churned = query(
        home,
        "select churned, is_censored from marts.churn_labels "
        "where cast(user_id as varchar) = ? and snapshot_date = ?",
        [b, b_last],
    )
    assert churned == [(True, False)]
    assert datetime.now(UTC).date() - LAST > timedelta(days=365)  # the premise: long ago
