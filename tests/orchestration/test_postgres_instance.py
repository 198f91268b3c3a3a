"""Dagster on Postgres, as in production: the instance of `dagster_home/dagster.production.yaml`
on a real Postgres server (Debian's), its connection settings from the environment, the nightly
job launched as a run process is (`dagster job execute`). The run's records are in Postgres'
tables, the day's rows in the warehouse, and nothing falls back to SQLite files in DAGSTER_HOME.
One scenario, run once, read by the tests below."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import pytest
import yaml

from tests.orchestration.conftest import query
from tests.orchestration.landed import Landing, at, session
from tests.orchestration.postgres_server import PostgresServer, running_postgres
from tests.support.dagster_job import launch_job

pytest.importorskip("dagster_postgres", reason="the `postgres` extra is not installed")

REPO = Path(__file__).resolve().parents[2]
PRODUCTION_CONFIG = REPO / "dagster_home" / "dagster.production.yaml"
DEMO_CONFIG = REPO / "dagster_home" / "dagster.yaml"
DAY = date(2026, 1, 31)
USER = "77777777-7777-4777-8777-777777777777"
DB_NAME = "dagster"


@dataclass
class Scenario:
    server: PostgresServer
    home: Path
    dagster_home: Path
    events_landed: int
    returncode: int | None
    output: str


def _rows(server: PostgresServer, sql: str, params: tuple = ()) -> list[tuple]:
    con = server.connect(DB_NAME)
    try:
        with con.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def nightly_on_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    with running_postgres() as server, pytest.MonkeyPatch.context() as env:
        server.create_database(DB_NAME)
        # What an operator exports on the daemon's and the webserver's host (see the docs).
        env.setenv("DAGSTER_PG_HOST", server.host)
        env.setenv("DAGSTER_PG_PORT", str(server.port))
        env.setenv("DAGSTER_PG_DB", DB_NAME)
        env.setenv("DAGSTER_PG_USER", server.user)
        env.setenv("DAGSTER_PG_PASSWORD", server.password)

        root = tmp_path_factory.mktemp("postgres-instance")
        home, dagster_home = root / "home", root / "dagster_home"
        dagster_home.mkdir(parents=True)
        shutil.copy(PRODUCTION_CONFIG, dagster_home / "dagster.yaml")
        events = [*session(USER, at(DAY, 9)), *session(USER, at(DAY, 20), matches=3)]
        Landing(home).events(events)

        proc = launch_job("nightly", DAY, home, dagster_home)
        output = proc.communicate(timeout=300)[0]
        yield Scenario(server, home, dagster_home, len(events), proc.returncode, output)


@pytest.mark.slow
def test_the_production_instance_keeps_every_record_in_postgres_behind_a_run_queue(
    nightly_on_postgres: Scenario,
) -> None:
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_postgres import (
        PostgresEventLogStorage,
        PostgresRunStorage,
        PostgresScheduleStorage,
    )

    with dg.DagsterInstance.from_config(str(nightly_on_postgres.dagster_home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        # SQLAlchemy 2.1 reads a bare `postgresql://` as psycopg 3: the driver is named.
        assert instance.run_storage.postgres_url.startswith("postgresql+psycopg2://")
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        pools = instance.get_concurrency_config().pool_config
        assert pools.default_pool_limit == 1
        assert pools.pool_granularity is not None and pools.pool_granularity.value == "op"
        assert not instance.telemetry_enabled
    # The same pools and run limits as the demo's instance: one DuckDB writer at a time.
    production = yaml.safe_load(PRODUCTION_CONFIG.read_text())
    demo = yaml.safe_load(DEMO_CONFIG.read_text())
    assert production["concurrency"] == demo["concurrency"]


@pytest.mark.slow
def test_the_nightly_job_runs_on_postgres_and_its_run_is_recorded_there(
    nightly_on_postgres: Scenario,
) -> None:
    s = nightly_on_postgres
    assert s.returncode == 0, s.output[-3000:]
    runs = _rows(s.server, "select run_id, pipeline_name, status, partition from runs")
    assert [(job, status, partition) for _, job, status, partition in runs] == [
        ("nightly", "SUCCESS", DAY.isoformat())
    ]
    run_id = runs[0][0]
    succeeded = {
        step
        for (step,) in _rows(
            s.server,
            "select step_key from event_logs where run_id = %s and dagster_event_type = %s",
            (run_id, "STEP_SUCCESS"),
        )
    }
    assert {"load_landed_shards", "deduplicate_events", "respawn_dbt_models"} <= succeeded
    materialized = _rows(
        s.server,
        "select count(*) from event_logs where run_id = %s and dagster_event_type = %s",
        (run_id, "ASSET_MATERIALIZATION"),
    )
    assert materialized[0][0] >= 3
    # The warehouse pool's slots are kept in Postgres too, at the configured default limit.
    assert _rows(s.server, 'select concurrency_key, "limit" from concurrency_limits') == [
        ("warehouse", 1)
    ]
    # Nothing was written to the SQLite storage Dagster falls back to without a storage config.
    assert not [p.name for p in s.dagster_home.rglob("*.db")]


@pytest.mark.slow
def test_the_nightly_run_on_postgres_loads_the_day_into_the_warehouse(
    nightly_on_postgres: Scenario,
) -> None:
    s = nightly_on_postgres
    assert s.returncode == 0, s.output[-3000:]
    assert query(s.home, "select count(*) from raw.events") == [(s.events_landed,)]
    assert query(s.home, "select count(*) from staging.stg_respawn__events") == [(s.events_landed,)]
