"""Fixtures of the end-to-end tests: the pipeline of the test's RESPAWN_HOME on its Dagster
instance (the home, the instance and the dbt manifest are the suite's: tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from tests.e2e.pipeline import Pipeline


@pytest.fixture(scope="session", autouse=True)
def _dbt_manifest_for_the_pipeline(dbt_manifest: Path) -> Path:
    """Every test here runs the code location, whose dbt assets are built from the manifest."""
    return dbt_manifest


@pytest.fixture
def pipeline(home: Path, instance: dg.DagsterInstance) -> Pipeline:
    return Pipeline(home, instance)
