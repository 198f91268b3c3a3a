"""Fixtures of the orchestration tests: a RESPAWN_HOME per test, the dbt manifest once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from tests.orchestration.landed import Landing


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> Path:
    """Parse the dbt project once per session: the dbt assets are built from its manifest."""
    from orchestration.dbt_project import dbt_project

    dbt_project.preparer.prepare(dbt_project)
    return Path(dbt_project.manifest_path)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty RESPAWN_HOME (dbt's profile and the step processes read the variable)."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("RESPAWN_HOME", str(path))
    return path


@pytest.fixture
def landing(home: Path) -> Landing:
    return Landing(home)


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


def run_days(
    home: Path,
    instance: dg.DagsterInstance,
    day: str,
    *,
    only_landing: bool = False,
    replace: bool = False,
    raise_on_error: bool = True,
    warehouse: object | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize one partition of the landing (and warehouse) assets, in process."""
    from orchestration.assets.landing import load_landed_shards
    from orchestration.assets.warehouse import deduplicate_events
    from orchestration.resources import build_resources

    resources = build_resources(home)
    if warehouse is not None:
        resources["warehouse"] = warehouse
    assets = [load_landed_shards] if only_landing else [load_landed_shards, deduplicate_events]
    return dg.materialize(
        assets,
        partition_key=day,
        resources=resources,
        instance=instance,
        run_config={"ops": {"load_landed_shards": {"config": {"replace": replace}}}},
        raise_on_error=raise_on_error,
    )


def query(home: Path, sql: str, params: object = None) -> list[tuple]:
    """Rows of a query on the test's warehouse (connection closed before returning)."""
    import duckdb

    from ingestion.settings import warehouse_path

    con = duckdb.connect(str(warehouse_path(home)))
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()
