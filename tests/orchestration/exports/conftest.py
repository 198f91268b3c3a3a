"""A warehouse that has been scored: the strong synthetic players (tests/support/churn_data.py),
their model, and `ml.churn_scores` / `ml.churn_reasons` written for two snapshot dates by the
real scoring, in the test's own RESPAWN_HOME; and its export."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingestion.settings import warehouse_path
from ml.registry import RegisteredModel
from ml.score import score_snapshot
from ml.score_tables import write_scores
from orchestration.exports.layout import ExportFiles, export_files, exports_root
from orchestration.exports.tables import read_scored_day
from orchestration.exports.writer import write_export
from tests.support import synthetic


@pytest.fixture
def scored_dates(
    home: Path, strong_data: synthetic.SyntheticData, strong_model: RegisteredModel
) -> list[date]:
    """The scoring dates written to the test's warehouse, oldest first."""
    dates = sorted(strong_data.features["snapshot_date"].dt.date.unique())[-2:]
    con = duckdb.connect(str(warehouse_path(home)))
    try:
        synthetic.write_tables(con, strong_data)
        for day in dates:
            write_scores(con, score_snapshot(con, strong_model, day))
    finally:
        con.close()
    return dates


@pytest.fixture
def exports(home: Path) -> Path:
    return exports_root(home)


@pytest.fixture
def exported(home: Path, scored_dates: list[date], exports: Path) -> ExportFiles:
    """The latest scoring date exported, as the asset writes it."""
    con = duckdb.connect(str(warehouse_path(home)), read_only=True)
    try:
        write_export(read_scored_day(con), exports)
    finally:
        con.close()
    return export_files(exports)
