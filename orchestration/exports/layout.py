"""Where an export lives and what its files are called.

    $RESPAWN_HOME/exports/<scoring date>/scores.{parquet,csv}     one row per scored player
                                         reasons.{parquet,csv}    up to three rows per player
                                         tiers_over_time.csv      players per tier, every date
                                         report.html              the game team's report
                                         manifest.json            what the export holds
                                         segments/<name>.csv      written by `respawn scores`
    $RESPAWN_HOME/exports/latest -> <scoring date>               (a relative symlink)

A date's folder is written beside it under a hidden name and renamed into place, and `latest` is
replaced by a rename too: a reader sees a whole export or the previous one, never half of one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ingestion.settings import respawn_home

LATEST = "latest"
MANIFEST = "manifest.json"
REPORT = "report.html"
TIERS_OVER_TIME = "tiers_over_time.csv"
SEGMENTS = "segments"


def exports_root(home: Path | None = None) -> Path:
    return (home or respawn_home()) / "exports"


@dataclass(frozen=True)
class ExportFiles:
    """The files of one export folder (`ExportFiles.at(folder)`)."""

    directory: Path
    scores_parquet: Path
    scores_csv: Path
    reasons_parquet: Path
    reasons_csv: Path
    tiers_over_time: Path
    report: Path
    manifest: Path
    segments: Path

    @classmethod
    def at(cls, directory: Path) -> ExportFiles:
        names = {
            "scores_parquet": "scores.parquet",
            "scores_csv": "scores.csv",
            "reasons_parquet": "reasons.parquet",
            "reasons_csv": "reasons.csv",
            "tiers_over_time": TIERS_OVER_TIME,
            "report": REPORT,
            "manifest": MANIFEST,
            "segments": SEGMENTS,
        }
        return cls(directory, **{field: directory / name for field, name in names.items()})

    def read_manifest(self) -> dict[str, Any]:
        return dict(json.loads(self.manifest.read_text()))


def export_files(root: Path, day: date | None = None) -> ExportFiles:
    """The export of `day` under `root` (default: the latest one)."""
    return ExportFiles.at(root / (day.isoformat() if day else LATEST))
