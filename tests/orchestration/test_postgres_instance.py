"""Dagster on Postgres, as in production (docs/data-engineers.md, "Dagster on Postgres in
production", runs these steps): the instance of `dagster_home/dagster.production.yaml` on a real
Postgres server (Debian's), its connection settings from the environment; the nightly job
launched as a run process is (`dagster job execute`), its records in Postgres' tables and the
day's rows in the warehouse, nothing in SQLite files; then the daemon and the webserver on the
same instance. One scenario, run once, read by the tests below."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml

from tests.orchestration.landed import Landing, at, session
from tests.orchestration.runs import query
from tests.support.dagster_job import launch_job
from tests.support.ingestor import free_port
from tests.support.postgres import PostgresServer, running_postgres

pytest.importorskip("dagster_postgres", reason="the `postgres` extra is not installed")

REPO = Path(__file__).resolve().parents[2]
PRODUCTION_CONFIG = REPO / "dagster_home" / "dagster.production.yaml"
DEMO_CONFIG = REPO / "dagster_home" / "dagster.yaml"
DAY = date(2026, 1, 31)
USER = "77777777-7777-4777-8777-777777777777"
DB_NAME = "dagster"
# Loading the workspace (a code server per process) takes ~10 s on a quiet 2-core machine.
STARTUP_TIMEOUT = 180.0
RUNS_QUERY = "{ runsOrError { ... on Runs { results { jobName status tags { key value } } } } }"


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
        server.client("createdb", DB_NAME)
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
        # The queue comes from the config, not from a default.
        assert instance.get_ref().run_coordinator_data.class_name == "QueuedRunCoordinator"
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
    runs = s.server.client(
        "psql", DB_NAME, "-At", "-c", "select pipeline_name, status, partition from runs"
    )
    assert runs.splitlines() == [f"nightly|SUCCESS|{DAY.isoformat()}"]
    [(run_id,)] = _rows(s.server, "select run_id from runs")
    succeeded = {
        step
        for (step,) in _rows(
            s.server,
            "select step_key from event_logs where run_id = %s and dagster_event_type = %s",
            (run_id, "STEP_SUCCESS"),
        )
    }
    assert {"load_landed_shards", "deduplicate_events", "respawn_dbt_models"} <= succeeded
    [(materializations,)] = _rows(
        s.server,
        "select count(*) from event_logs where run_id = %s and dagster_event_type = %s",
        (run_id, "ASSET_MATERIALIZATION"),
    )
    assert materializations >= 3
    # The warehouse pool's slots are kept in Postgres too, at the configured default limit.
    assert _rows(s.server, 'select concurrency_key, "limit" from concurrency_limits') == [
        ("warehouse", 1)
    ]
    # Nothing went to the SQLite storage Dagster falls back to without a storage config.
    assert not [p.name for p in s.dagster_home.rglob("*.db")]


@pytest.mark.slow
def test_the_nightly_run_on_postgres_loads_the_day_into_the_warehouse(
    nightly_on_postgres: Scenario,
) -> None:
    s = nightly_on_postgres
    assert s.returncode == 0, s.output[-3000:]
    assert query(s.home, "select count(*) from raw.events") == [(s.events_landed,)]
    assert query(s.home, "select count(*) from staging.stg_respawn__events") == [(s.events_landed,)]


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """A long-running Dagster process in its own process group (its code server included)."""
    return subprocess.Popen(
        [str(Path(sys.executable).parent / args[0]), *args[1:]],
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_for(what: str, probe: Callable[[], Any], procs: list[subprocess.Popen[bytes]]) -> Any:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        exited = [p.args for p in procs if p.poll() is not None]
        assert not exited, f"exited while waiting for {what}: {exited}"
        try:
            if (found := probe()) is not None:
                return found
        except OSError:
            pass  # not listening yet
        time.sleep(0.5)
    raise AssertionError(f"no {what} within {STARTUP_TIMEOUT:.0f} s")


def _runs_seen_by_the_ui(port: int) -> list[dict] | None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": RUNS_QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["data"]["runsOrError"]["results"]


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_the_daemon_and_the_webserver_run_on_the_postgres_instance(
    nightly_on_postgres: Scenario, tmp_path: Path
) -> None:
    s = nightly_on_postgres
    # An empty data directory: the sensor finds nothing to load, so the daemon launches no run.
    env = {**os.environ, "DAGSTER_HOME": str(s.dagster_home), "RESPAWN_HOME": str(tmp_path)}
    port = free_port()
    procs = [
        _start(["dagster-daemon", "run", "-w", "workspace.yaml"], env, tmp_path / "daemon.log"),
        _start(
            ["dagster-webserver", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            env,
            tmp_path / "webserver.log",
        ),
    ]
    try:
        # Each daemon (the run queue's coordinator, the sensor, the scheduler) beats in Postgres.
        beating = _wait_for(
            "daemon heartbeat in Postgres",
            lambda: (
                {t for (t,) in _rows(s.server, "select daemon_type from daemon_heartbeats")}
                >= {"QUEUED_RUN_COORDINATOR", "SENSOR", "SCHEDULER"}
                or None
            ),
            procs,
        )
        assert beating
        # The UI reads the nightly run, launched from the CLI, from the same records.
        runs = _wait_for("webserver", lambda: _runs_seen_by_the_ui(port), procs)
        assert [
            (run["jobName"], run["status"], tag["value"])
            for run in runs
            for tag in run["tags"]
            if tag["key"] == "dagster/partition"
        ] == [("nightly", "SUCCESS", DAY.isoformat())]
    finally:
        _stop(procs)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each process group (the code servers go with their parent), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
        try:
            for proc in procs:
                proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
