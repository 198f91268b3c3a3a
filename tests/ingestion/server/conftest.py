"""Fixtures of the ingestion tests: real `respawn serve` processes on loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ingestion.helpers import Client, open_client
from tests.support.ingestor import Ingestor, running_ingestor


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ingestor]:
    """One plain ingestor (no auth, default limits) shared by a test module."""
    with running_ingestor(tmp_path_factory.mktemp("ingestor")) as ingestor:
        yield ingestor


@pytest.fixture
def client(server: Ingestor) -> Iterator[Client]:
    c = open_client(server.url)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"
