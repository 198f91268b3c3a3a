"""A `dbt` command run while another process holds the warehouse (a Dagster step, a DuckDB
shell): it waits for the lock and says who holds it; past its timeout it fails in one line that
names the holder and what to do, not with a traceback. The real dbt CLI, the real lock."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.dbt import scenario
from tests.dbt.conftest import load_events
from tests.dbt.harness import PROJECT_DIR, REPO

DBT = REPO / ".venv" / "bin" / "dbt"
HOLD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])  # read-write: DuckDB's exclusive file lock
print("locked", flush=True)
sys.stdin.read()  # until the test closes our stdin
con.close()
"""


@contextmanager
def lock_held(database: Path) -> Iterator[subprocess.Popen[str]]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(database)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield holder
    finally:
        release(holder)


def release(holder: subprocess.Popen[str]) -> None:
    if holder.stdin is not None and not holder.stdin.closed:
        holder.stdin.close()
    holder.wait(timeout=30)


def dbt_run(home: Path, target: Path, **env: str) -> subprocess.Popen[str]:
    """`dbt run` of staging from dbt_project/, as the guide has it, in the background."""
    return subprocess.Popen(
        [str(DBT), "run", "--profiles-dir", ".", "--select", "stg_respawn__events",
         "--target-path", str(target), "--log-path", str(target / "logs")],
        cwd=PROJECT_DIR, env={**os.environ, "RESPAWN_HOME": str(home), **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


@pytest.fixture
def home(tmp_path: Path) -> Path:
    load_events(tmp_path, scenario.HISTORY)
    return tmp_path


def test_dbt_waits_for_the_warehouse_lock_and_says_who_holds_it(home: Path) -> None:
    with lock_held(home / "warehouse.duckdb") as holder:
        run = dbt_run(home, home / "target")
        assert run.stdout is not None
        waited: list[str] = []
        for line in run.stdout:
            waited.append(line)
            if "waiting for the warehouse file lock" in line:
                break
        assert f"(PID {holder.pid})" in waited[-1], "".join(waited)
        time.sleep(1)  # dbt keeps waiting while the lock is held
        assert run.poll() is None
        release(holder)
        output = "".join(waited) + run.stdout.read()
    assert run.wait(timeout=120) == 0, output
    assert "the warehouse file lock is free" in output
    assert "Completed successfully" in output


def test_dbt_fails_in_one_line_naming_the_holder_after_its_timeout(home: Path) -> None:
    with lock_held(home / "warehouse.duckdb") as holder:
        run = dbt_run(home, home / "target", RESPAWN_DBT_LOCK_TIMEOUT_SECONDS="1")
        output, _ = run.communicate(timeout=120)
    assert run.returncode != 0
    assert "Traceback" not in output
    (error,) = [line for line in output.splitlines() if "is locked by" in line]
    assert f"(PID {holder.pid})" in error
    assert "RESPAWN_HOME=/tmp/copy" in error
    assert len(output.splitlines()) < 25, output
