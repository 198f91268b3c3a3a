"""Fixtures of the end-to-end tests: a RESPAWN_HOME per test, the dbt manifest once, Dagster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from tests.e2e.pipeline import Pipeline

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


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> Path:
    """The dbt manifest the code location's dbt assets are built from, parsed as
    tests/orchestration does, but only when it is missing or older than the project (a full
    parse costs 15-30 s on this machine)."""
    from orchestration.dbt_project import dbt_project

    manifest = Path(dbt_project.manifest_path)
    if not manifest_is_current(manifest, Path(dbt_project.project_dir)):
        dbt_project.preparer.prepare(dbt_project)
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


@pytest.fixture
def pipeline(home: Path, instance: dg.DagsterInstance) -> Pipeline:
    return Pipeline(home, instance)
