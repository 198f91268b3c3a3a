"""Writing one scoring date's export, whole or not at all, and pointing `latest` at it.

The files are written into a hidden folder beside the date's folder, which then replaces it by
renames; `latest` is a relative symlink replaced by a rename too. An export can be re-run (same
date: replaced) and readers never see half of one.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from orchestration.exports.html_report import render_report
from orchestration.exports.layout import LATEST, ExportFiles, export_files
from orchestration.exports.segments import at_risk, reachable, reachable_rule
from orchestration.exports.tables import ScoredDay

# CSVs are read by people and spreadsheets: six significant digits are plenty.
CSV_FLOAT_FORMAT = "%.6g"


@dataclass(frozen=True)
class Export:
    files: ExportFiles  # the date's folder (not `latest`)
    latest: Path
    manifest: dict[str, object]


def _write_tables(files: ExportFiles, day: ScoredDay) -> None:
    for frame, parquet, csv in (
        (day.scores, files.scores_parquet, files.scores_csv),
        (day.reasons, files.reasons_parquet, files.reasons_csv),
    ):
        frame.to_parquet(parquet, index=False)
        frame.to_csv(csv, index=False, float_format=CSV_FLOAT_FORMAT)
    day.tiers_over_time.to_csv(files.tiers_over_time, index=False)


def _manifest(day: ScoredDay, exported_at: datetime) -> dict[str, object]:
    scores = day.scores
    tiers = scores["risk_tier"].value_counts()
    return {
        "scoring_date": day.scoring_date.isoformat(),
        "exported_at": exported_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model_versions": day.model_versions,
        "players": len(scores),
        "reasons": len(day.reasons),
        "players_by_tier": {str(k): int(v) for k, v in tiers.items()},
        "at_risk_reachable": int((at_risk(scores) & reachable(scores)).sum()),
        "reachable_rule": reachable_rule(scores),
        "score_columns": list(scores.columns),
    }


def _replace_dir(staged: Path, target: Path) -> None:
    """`target` becomes `staged`: two renames, the old folder removed after the swap."""
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    if target.exists():
        target.rename(old)
    staged.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _point_latest(root: Path, name: str) -> Path:
    latest = root / LATEST
    link = root / f".{LATEST}-{uuid.uuid4().hex[:8]}"
    link.symlink_to(name, target_is_directory=True)
    os.replace(link, latest)  # atomic on POSIX, also over an existing link
    return latest


def write_export(day: ScoredDay, root: Path, exported_at: datetime | None = None) -> Export:
    """Write `day`'s export under `root` (`$RESPAWN_HOME/exports`); `latest` points to the
    newest scoring date exported (a re-export of an older date leaves it alone)."""
    exported_at = exported_at or datetime.now(UTC)
    root.mkdir(parents=True, exist_ok=True)
    target = export_files(root, day.scoring_date)
    staged = ExportFiles.at(root / f".{day.scoring_date.isoformat()}-{uuid.uuid4().hex[:8]}")
    staged.directory.mkdir()
    try:
        _write_tables(staged, day)
        staged.report.write_text(render_report(day, exported_at), encoding="utf-8")
        manifest = _manifest(day, exported_at)
        staged.manifest.write_text(json.dumps(manifest, indent=2) + "\n")
        _replace_dir(staged.directory, target.directory)
    except BaseException:
        shutil.rmtree(staged.directory, ignore_errors=True)
        raise
    newest = max(
        (p.name for p in root.iterdir() if p.is_dir() and not p.is_symlink() and _is_date(p.name)),
        default=target.directory.name,
    )
    latest = _point_latest(root, newest)
    return Export(target, latest, manifest)


def _is_date(name: str) -> bool:
    try:
        datetime.strptime(name, "%Y-%m-%d")
    except ValueError:
        return False
    return True


def read_scores(files: ExportFiles) -> pd.DataFrame:
    """The exported scores (what `respawn scores` reads), with a clear error when absent."""
    if not files.scores_parquet.exists():
        raise FileNotFoundError(
            f"no export at {files.directory}: run the scoring (`make demo`, or materialize "
            "churn_score_exports in the Dagster UI) first"
        )
    return pd.read_parquet(files.scores_parquet)
