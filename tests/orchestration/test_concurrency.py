"""The nightly job end to end, launched as the UI and the daemon launch runs: a process per run,
the code location's executor, the instance's pool settings. Two days at once (a backfill, or
the schedule while the sensor loads) take turns through the warehouse pool: one writer at a
time, never a file-lock error. One scenario, run once, read by the tests below."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from itertools import pairwise
from pathlib import Path

import dagster as dg
import pytest

from orchestration.resources import LOCK_WAIT_MESSAGE
from tests.orchestration.landed import Landing, at, session
from tests.orchestration.runs import query
from tests.support.dagster_job import launch_job

REPO = Path(__file__).resolve().parents[2]
DAYS = (date(2026, 1, 30), date(2026, 1, 31))
USER = "88888888-8888-4888-8888-888888888888"
STEP_END = (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE)
# Both tests read one scenario: two nightly runs in processes of their own, with dbt.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@dataclass
class Scenario:
    home: Path
    events_landed: int
    outputs: list[str]
    returncodes: list[int | None]
    runs: list[dg.DagsterRun]
    spans: dict[str, list[float]]  # "<run>:<step>" -> [start, end]
    lock_waits: list[str]  # log messages of a step that found the warehouse locked


def _launch(day: date, home: Path, dagster_home: Path) -> subprocess.Popen[str]:
    """One run of the nightly job in its own process, as the run launcher starts one."""
    return launch_job("nightly", day, home, dagster_home)


EVENT_LOG_SLACK_SECONDS = 1.0


def _spans(instance: dg.DagsterInstance, runs: list[dg.DagsterRun]) -> dict[str, list[float]]:
    spans: dict[str, list[float]] = {}
    for run in runs:
        for record in instance.all_logs(run.run_id):
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            key = f"{run.tags['dagster/partition']}:{event.step_key}"
            if event.event_type == dg.DagsterEventType.STEP_START:
                spans[key] = [record.timestamp]
            elif event.event_type in STEP_END:
                spans[key].append(record.timestamp)
    return spans


@pytest.fixture(scope="module")
def nightly_twice_at_once(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    root = tmp_path_factory.mktemp("nightly")
    home, dagster_home = root / "home", root / "dagster_home"
    dagster_home.mkdir(parents=True)
    landing = Landing(home)
    events = 0
    for day in DAYS:
        day_events = [*session(USER, at(day, 9)), *session(USER, at(day, 21), matches=3)]
        landing.events(day_events)
        events += len(day_events)
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", dagster_home / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(dagster_home)):
        pass  # the storage exists before runs start, as under `dagster dev`

    procs = [_launch(day, home, dagster_home) for day in DAYS]
    outputs = [proc.communicate(timeout=540)[0] for proc in procs]
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = list(instance.get_runs())
        spans = _spans(instance, runs)
        lock_waits = [
            record.user_message
            for run in runs
            for record in instance.all_logs(run.run_id)
            if LOCK_WAIT_MESSAGE in (record.user_message or "")
        ]
    return Scenario(home, events, outputs, [p.returncode for p in procs], runs, spans, lock_waits)


def test_the_nightly_job_runs_landing_events_and_dbt_build_in_order(
    nightly_twice_at_once: Scenario,
) -> None:
    s = nightly_twice_at_once
    for code, output in zip(s.returncodes, s.outputs, strict=True):
        assert code == 0, output[-3000:]
    assert len(s.runs) == 2 and all(run.is_success for run in s.runs)
    for day in DAYS:
        start = {k.split(":", 1)[1]: v[0] for k, v in s.spans.items() if k.startswith(str(day))}
        assert start["load_landed_shards"] < start["deduplicate_events"]
        assert start["deduplicate_events"] < start["respawn_dbt_models"]
    assert query(s.home, "select count(*) from raw.events") == [(s.events_landed,)]
    assert query(s.home, "select count(*) from staging.stg_respawn__events") == [(s.events_landed,)]


def test_concurrent_runs_take_turns_on_the_warehouse_and_never_hit_the_file_lock(
    nightly_twice_at_once: Scenario,
) -> None:
    s = nightly_twice_at_once
    assert not any("Could not set lock" in output for output in s.outputs)
    assert not any(LOCK_WAIT_MESSAGE in output for output in s.outputs)
    assert not s.lock_waits
    writers = sorted((v, k) for k, v in s.spans.items() if "landing_freshness" not in k)
    assert len(writers) >= 8  # load, dedupe, unique-id check, dbt (and scoring): in each run
    for ((_, end), first), ((start, _), second) in pairwise(writers):
        # One warehouse step at a time, across both runs. Step events are written by each run's
        # own process, so on a loaded machine their timestamps can differ from the pool's claim
        # and release by a fraction of a second; a real overlap of warehouse connections is
        # caught by the lock wait that the resource reports (asserted above).
        assert start >= end - EVENT_LOG_SLACK_SECONDS, (
            f"{second} started {end - start:.3f} s before {first} ended"
        )
