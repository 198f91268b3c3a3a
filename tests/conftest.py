"""Fixtures of the whole suite: a RESPAWN_HOME per test, a Dagster instance, the dbt manifest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

# The simulated churn data sets (session-scoped, built on first use) of the ML tests.
pytest_plugins = ("tests.support.churn_data",)

# The longest modules (minutes each, mostly waiting on Spark, dbt and servers) start first, so
# that `make test`'s two workers (one module at a time each) do not end on one of them alone.
LONGEST_FIRST = (
    "tests/spark/test_dbt_on_spark.py",
    "tests/dbt/test_incremental_property.py",
    "tests/docs/",
    "tests/dbt/test_guide.py",
    "tests/orchestration/test_concurrency.py",
    "tests/orchestration/test_postgres_instance.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        starts = [i for i, prefix in enumerate(LONGEST_FIRST) if path.startswith(prefix)]
        return starts[0] if starts else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: every other test keeps its order


# What dbt parses into the manifest: a change to any of these makes it stale.
DBT_SOURCES = ("dbt_project.yml", "models", "macros", "tests", "seeds", "snapshots")


def manifest_is_current(manifest: Path, project_dir: Path) -> bool:
    if not manifest.exists():
        return False
    built = manifest.stat().st_mtime
    for name in DBT_SOURCES:
        path = project_dir / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        if any(f.stat().st_mtime > built for f in files):
            return False
    return True


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """The dbt manifest the code location's dbt assets are built from, parsed only when it is
    missing or older than the project (a full parse costs 15-30 s on this machine). The folders
    whose tests load the code location use it for every test (their conftest.py)."""
    from orchestration.dbt_project import dbt_project

    project = dbt_project()
    manifest = Path(project.manifest_path)
    if not manifest_is_current(manifest, Path(project.project_dir)):
        project.preparer.prepare(project)
    return manifest


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty RESPAWN_HOME: the resources, dbt's profile and the subprocesses read it."""
    path = tmp_path / "home"
    path.mkdir()
    monkeypatch.setenv("RESPAWN_HOME", str(path))
    return path


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst
