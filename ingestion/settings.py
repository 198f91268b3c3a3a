"""Where respawn keeps its data. Everything lives under `$RESPAWN_HOME` (default `./data`)."""

from __future__ import annotations

import os
from pathlib import Path


def respawn_home() -> Path:
    return Path(os.environ.get("RESPAWN_HOME", "data")).resolve()


# Where published shards go when not beside the in-flight ones: `s3://bucket/prefix` (object
# storage, ingestion.landing.store). In-flight shards always stay on local disk, in landing_root.
LANDING_URL_VARIABLE = "RESPAWN_LANDING_URL"
# The endpoint of an S3-compatible store other than AWS (SeaweedFS, MinIO, R2...).
S3_ENDPOINT_VARIABLE = "RESPAWN_S3_ENDPOINT_URL"


def landing_root(home: Path | None = None) -> Path:
    """The local landing directory: in-flight shards, and published ones unless
    `RESPAWN_LANDING_URL` sends those to object storage."""
    return (home or respawn_home()) / "landing"


def landing_url() -> str | None:
    """`RESPAWN_LANDING_URL` (s3://bucket/prefix), or None: shards are published locally."""
    return os.environ.get(LANDING_URL_VARIABLE, "").strip() or None


def landing_location(home: Path | None = None) -> str:
    """Where published shards are read from: `RESPAWN_LANDING_URL`, else the local directory."""
    return landing_url() or str(landing_root(home))


def s3_endpoint_url() -> str | None:
    return os.environ.get(S3_ENDPOINT_VARIABLE, "").strip() or None


def warehouse_path(home: Path | None = None) -> Path:
    return (home or respawn_home()) / "warehouse.duckdb"


def models_root(home: Path | None = None) -> Path:
    return (home or respawn_home()) / "models"


def truth_root(home: Path | None = None) -> Path:
    """The simulator's ground truth (players.csv, ...); read for evaluation only, never training."""
    return (home or respawn_home()) / "truth"
