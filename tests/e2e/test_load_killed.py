"""A load run killed in the middle: the warehouse is as before or as after, never half; the next
run completes it.

The run is the real thing, `dagster job execute` of `load_landed_events` in its own process, as
the run launcher starts it. It is killed with SIGKILL while it has a shard of the large
partition open, that is while it reads the partition inside its transaction."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import date
from pathlib import Path

import psutil
import pytest

from ingestion.landing.layout import Stream, published_shards
from ingestion.settings import landing_root
from tests.e2e.pipeline import (
    Pipeline,
    fingerprint,
    landed_copies,
    reconciliation,
    scalar,
    simulate_to_landing,
)
from tests.support.dagster_job import launch_job

# What the load step writes (one transaction), and what the dedupe step writes (another).
LOAD_TABLES = ("raw_events", "deadletter_events", "loaded_shards")
MERGE_TABLES = ("events", "event_id_conflicts", "quarantined_events")


def launch_load(day: date, home: Path, dagster_home: Path) -> subprocess.Popen[str]:
    dagster_home.mkdir(exist_ok=True)
    return launch_job("load_landed_events", day, home, dagster_home, own_session=True)


def reading(proc: subprocess.Popen[str], folder: Path) -> bool:
    """Whether the run's process (or a child) has a file under `folder` open right now."""
    try:
        tree = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        prefix = f"{folder}{os.sep}"
        return any(f.path.startswith(prefix) for p in tree for f in p.open_files())
    except psutil.Error:  # it exited meanwhile
        return False


def kill_while_reading(proc: subprocess.Popen[str], folder: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not reading(proc, folder):
        if proc.poll() is not None:
            output = proc.stdout.read() if proc.stdout else ""
            pytest.fail(
                f"the load ended before it could be killed mid-partition:\n{output[-3000:]}"
            )
        assert time.monotonic() < deadline, "the load did not start reading within the timeout"
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.slow
def test_a_load_killed_mid_partition_leaves_the_warehouse_as_before_and_the_next_run_completes_it(
    home: Path, pipeline: Pipeline, tmp_path: Path
) -> None:
    small, big = date(2026, 1, 1), date(2026, 1, 2)
    simulate_to_landing(home, players=100, days=1, seed=6, start=small)
    simulate_to_landing(home, players=2500, days=1, seed=5, start=big)
    assert pipeline.load(small).success
    before = fingerprint(home, LOAD_TABLES + MERGE_TABLES)
    assert before["events"][0] > 0
    big_lines = len(landed_copies(home, big))
    assert big_lines > 15_000

    proc = launch_load(big, home, tmp_path / "dagster_home")
    kill_while_reading(proc, landing_root(home) / Stream.EVENTS / f"dt={big.isoformat()}")
    assert proc.returncode == -signal.SIGKILL
    killed = fingerprint(home, LOAD_TABLES + MERGE_TABLES)

    assert pipeline.load(big).success, "the next run did not complete the partition"
    after = fingerprint(home, LOAD_TABLES + MERGE_TABLES)

    # Each step's tables are all as before or all as after: never some shards, never some rows.
    for tables in (LOAD_TABLES, MERGE_TABLES):
        state = {t: killed[t] for t in tables}
        assert state in ({t: before[t] for t in tables}, {t: after[t] for t in tables}), tables
    # ... and the merge never committed on top of a load that did not.
    if all(killed[t] == before[t] for t in LOAD_TABLES):
        assert all(killed[t] == before[t] for t in MERGE_TABLES)

    # After the next run the partition is whole: every landed line once, events one per id.
    assert scalar(home, "select count(*) from raw.raw_events where receive_date = ?", [big]) == (
        big_lines
    )
    assert scalar(
        home,
        "select count(*) from raw.loaded_shards where stream = 'events' and receive_date = ?",
        [big],
    ) == len(published_shards(landing_root(home), Stream.EVENTS, big))
    assert [c.line() for c in reconciliation(home) if not c.ok] == []
