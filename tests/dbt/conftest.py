"""One real `dbt build` per test session, on a temporary DuckDB warehouse (dbt in this
process, on the project parsed once: tests/dbt/harness.py).

The session builds the project three times on the scenario of `scenario.py`: `history` (a
full build with every data test and unit test, on HISTORY), `incremental` (the LATER events
appended, then an incremental build with the data tests) and `full_refresh` (a full rebuild of
the same data, for the incremental == full refresh test). Each result is kept in its own copy
of the warehouse.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingestion.settings import warehouse_path
from orchestration.warehouse.raw_schema import EVENT_COLUMNS, create_event_table
from tests.dbt import guide, scenario
from tests.dbt.harness import Dbt, DbtFailed

REPO = Path(__file__).resolve().parents[2]
PROJECT_DIR = REPO / "dbt_project"


@dataclass(frozen=True)
class Build:
    """A built warehouse and what dbt said about the run."""

    home: Path
    results: list[dict[str, Any]]

    @property
    def warehouse(self) -> Path:
        return warehouse_path(self.home)

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()

    def one(self, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
        rows = self.query(sql, params)
        assert len(rows) == 1, f"expected one row, got {len(rows)}: {sql}"
        return rows[0]


def run_dbt(dbt: Dbt, home: Path, *args: str) -> list[dict[str, Any]]:
    """Run dbt in this process (the session's parsed project); fail with dbt's errors."""
    try:
        result = dbt(home, *args)
    except DbtFailed as failed:
        pytest.fail(str(failed))
    return [
        {"unique_id": r.node.unique_id, "status": str(r.status)}
        for r in getattr(result.result, "results", [])
    ]


def load_events(home: Path, events: list[dict[str, Any]]) -> None:
    home.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse_path(home))) as con:
        create_event_table(con, "events")
        columns = list(EVENT_COLUMNS)
        placeholders = ", ".join("?" for _ in columns)
        if events:
            con.executemany(
                f"insert into raw.events ({', '.join(columns)}) values ({placeholders})",
                [[row[name] for name in columns] for row in events],
            )


@dataclass(frozen=True)
class Builds:
    history: Build
    incremental: Build
    full_refresh: Build
    target: Path


@pytest.fixture(scope="session")
def builds(tmp_path_factory: pytest.TempPathFactory, dbt: Dbt) -> Builds:
    root = tmp_path_factory.mktemp("dbt")
    target = dbt.target
    # every dbt run uses the same home (and so keeps its partial parse); results are copied
    live = root / "live"

    def snapshot(name: str, results: list[dict[str, Any]]) -> Build:
        (root / name).mkdir()
        shutil.copyfile(warehouse_path(live), warehouse_path(root / name))
        return Build(root / name, results)

    load_events(live, scenario.HISTORY)
    history = snapshot("history", run_dbt(dbt, live, "build"))
    load_events(live, scenario.LATER)
    incremental = snapshot(
        "incremental", run_dbt(dbt, live, "build", "--exclude", "test_type:unit")
    )
    full_refresh = Build(live, run_dbt(dbt, live, "run", "--full-refresh"))
    return Builds(history, incremental, full_refresh, target)


@pytest.fixture(scope="session")
def history(builds: Builds) -> Build:
    return builds.history


@pytest.fixture(scope="session", autouse=True)
def sqlfluff_lint() -> Iterator[subprocess.Popen[str]]:
    """The guide's lint command (docs/analytics-engineers.md), run while dbt builds: both are
    slow, the machine has two cores."""
    process = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", guide.lint_command()],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where warehouses that are built many times live: a RAM file system when there is one
    with room (a DuckDB commit syncs the file: on a busy disk that, not the SQL, is the cost),
    else the temporary directory. The files are real DuckDB files either way."""
    shm = Path("/dev/shm")
    if shm.is_dir() and shutil.disk_usage(shm).free > 2 * 1024**3:
        root = Path(tempfile.mkdtemp(prefix="respawn-dbt-", dir=shm))
        yield root
        shutil.rmtree(root, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("scratch")


@pytest.fixture(scope="session")
def dbt(scratch: Path) -> Dbt:
    """The project parsed once, run in this process (tests/dbt/harness.py)."""
    return Dbt(scratch / "dbt-in-process")
