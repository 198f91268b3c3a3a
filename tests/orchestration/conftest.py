"""Fixtures of the orchestration tests: landing shards written into the test's RESPAWN_HOME (the
home, the instance and the dbt manifest are the suite's: tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.orchestration.landed import Landing


@pytest.fixture(scope="session", autouse=True)
def _dbt_manifest_for_the_code_location(dbt_manifest: Path) -> Path:
    """These tests load the code location, whose dbt assets are built from the manifest."""
    return dbt_manifest


@pytest.fixture
def landing(home: Path) -> Landing:
    return Landing(home)
