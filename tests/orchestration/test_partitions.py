"""The daily partitions start on the configured first day: RESPAWN_FIRST_DAY, else the first
landed day, else today; computed when the definitions are built, never at import."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg
import pytest

from orchestration import asset_keys
from orchestration.definitions import build_definitions
from orchestration.partitions import FIRST_DAY_VARIABLE, first_day
from tests.orchestration.landed import Landing, at, session

REPO = Path(__file__).resolve().parents[2]
USER = "88888888-8888-4888-8888-888888888888"
DAY1, DAY2 = date(2026, 3, 2), date(2026, 3, 4)


def _partitioned(home: Path) -> dict[str, dg.PartitionsDefinition]:
    graph = build_definitions(home).resolve_asset_graph()
    return {
        key.to_user_string(): graph.get(key).partitions_def
        for key in graph.get_all_asset_keys()
        if graph.get(key).partitions_def is not None
    }


def test_partitions_start_on_the_first_landed_day_in_either_stream(
    home: Path, landing: Landing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(FIRST_DAY_VARIABLE, raising=False)
    landing.events(session(USER, at(DAY2, 9)))
    landing.deadletter(["not json"], at(DAY1, 23))  # the earlier day is only in dead-letter
    partitioned = _partitioned(home)
    assert {"raw_events", "deadletter_events", "events"} <= set(partitioned)
    for key, partitions in partitioned.items():
        keys = partitions.get_partition_keys()
        assert keys[0] == DAY1.isoformat(), key
        today = datetime.now(UTC).date()
        assert keys[-1] == today.isoformat(), key  # end offset 1: today's partition exists
    location = build_definitions(home)
    job = location.resolve_job_def("load_landed_events")
    assert job.partitions_def is not None
    assert job.partitions_def.get_first_partition_key() == DAY1.isoformat()
    result = job.execute_in_process(partition_key=DAY2.isoformat(), raise_on_error=False)
    assert result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert {asset_keys.RAW_EVENTS, asset_keys.EVENTS} <= materialized


def test_the_variable_overrides_the_first_landed_day_and_nothing_landed_means_today(
    home: Path, landing: Landing, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(FIRST_DAY_VARIABLE, raising=False)
    assert first_day(home) == datetime.now(UTC).date()
    landing.events(session(USER, at(DAY2, 9)))
    assert first_day(home) == DAY2
    earlier = DAY1 - timedelta(days=30)
    monkeypatch.setenv(FIRST_DAY_VARIABLE, earlier.isoformat())
    assert first_day(home) == earlier
    assert _partitioned(home)["raw_events"].get_partition_keys()[0] == earlier.isoformat()
    monkeypatch.setenv(FIRST_DAY_VARIABLE, "March 2nd")
    with pytest.raises(ValueError, match=r"RESPAWN_FIRST_DAY='March 2nd' is not a date"):
        build_definitions(home)


def test_importing_the_partitions_reads_neither_the_variable_nor_the_landing(home: Path) -> None:
    probe = (
        "import orchestration.partitions as p, orchestration.landing.assets, "
        "orchestration.warehouse.assets; print(p.daily_partitions.start.date())"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        env={**os.environ, FIRST_DAY_VARIABLE: "not a date", "RESPAWN_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "2025-01-01"  # the declared floor, replaced when built
