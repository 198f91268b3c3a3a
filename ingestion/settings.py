"""Where respawn keeps its data. Everything lives under `$RESPAWN_HOME` (default `./data`)."""

from __future__ import annotations

import os
from pathlib import Path


def respawn_home() -> Path:
    return Path(os.environ.get("RESPAWN_HOME", "data")).resolve()


def landing_root(home: Path | None = None) -> Path:
    return (home or respawn_home()) / "landing"


def warehouse_path(home: Path | None = None) -> Path:
    return (home or respawn_home()) / "warehouse.duckdb"


def models_root(home: Path | None = None) -> Path:
    return (home or respawn_home()) / "models"


def truth_root(home: Path | None = None) -> Path:
    """The simulator's ground truth (players.csv, ...); read for evaluation only, never training."""
    return (home or respawn_home()) / "truth"
