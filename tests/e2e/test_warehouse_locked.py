"""The warehouse file locked by another process (a DuckDB shell, a notebook): the load fails with
an error that names the lock and its holder and says what to do; once the lock is released, a
retry succeeds. A lock released while the load is still waiting for it fails nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ingestion.settings import warehouse_path
from orchestration.resources import WarehouseResource
from tests.e2e.pipeline import (
    Pipeline,
    failure_text,
    landed_copies,
    reconciliation,
    scalar,
    simulate_to_landing,
)

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])  # read-write: DuckDB's exclusive file lock
print("locked", flush=True)
if float(sys.argv[2]) > 0:
    time.sleep(float(sys.argv[2]))
else:
    sys.stdin.read()  # until the test closes our stdin
con.close()
"""


@contextmanager
def lock_held(database: Path, seconds: float = 0.0) -> Iterator[subprocess.Popen[str]]:
    """Another process with the warehouse open read-write: until the block ends, or `seconds`."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(database), str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        if holder.stdin is not None:
            holder.stdin.close()
        try:
            holder.wait(timeout=30)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()


def warehouse_waiting(home: Path, seconds: float) -> dict[str, object]:
    """The warehouse resource of the code location, with a shorter wait for the lock."""
    return {
        "warehouse": WarehouseResource(
            database=str(warehouse_path(home)), lock_timeout_seconds=seconds
        )
    }


@pytest.mark.slow
def test_a_locked_warehouse_fails_the_load_naming_the_lock_then_the_retry_succeeds(
    home: Path, pipeline: Pipeline
) -> None:
    day = simulate_to_landing(home, players=20, days=1, seed=41)[0]

    with lock_held(warehouse_path(home)) as holder:
        failed = pipeline.load(day, resources=warehouse_waiting(home, 1.0), raise_on_error=False)
        assert not failed.success
        message = failure_text(failed)
        assert str(warehouse_path(home)) in message
        assert "is locked by" in message and f"(PID {holder.pid})" in message
        assert "DuckDB file lock" in message
        assert "close that process" in message and "re-execute this run" in message
    assert holder.returncode == 0

    retried = pipeline.load(day, resources=warehouse_waiting(home, 1.0))
    assert retried.success
    assert scalar(home, "select count(*) from raw.raw_events") == len(landed_copies(home, day))
    assert all(c.ok for c in reconciliation(home))


@pytest.mark.slow
def test_a_lock_released_while_the_load_waits_for_it_fails_nothing(
    home: Path, pipeline: Pipeline
) -> None:
    day = simulate_to_landing(home, players=20, days=1, seed=42)[0]
    with lock_held(warehouse_path(home), seconds=2.0) as holder:
        assert holder.poll() is None
        result = pipeline.load(day, resources=warehouse_waiting(home, 60.0))
        # The holder let go by itself while the load waited; the load then went on.
        assert holder.poll() == 0
    assert result.success
    assert scalar(home, "select count(*) from raw.raw_events") == len(landed_copies(home, day))
