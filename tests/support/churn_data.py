"""Simulated players with a planted churn signal, in a real DuckDB file: the fixtures of the ML
tests (tests/ml, tests/orchestration/ml), registered for the whole suite by tests/conftest.py
(`pytest_plugins`), so that each session-scoped set is built once however many folders use it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ml.dataset import LabeledSet, load_labeled
from ml.pipeline import TrainingResult, train_and_evaluate
from ml.registry import RegisteredModel, register
from tests.support import synthetic

START = date(2026, 1, 1)
N_USERS = 600
N_DAYS = 70
HORIZON = 14


def day(index: int) -> date:
    return START + timedelta(days=index)


def as_of(data: synthetic.SyntheticData, last_day: date) -> synthetic.SyntheticData:
    """What the marts hold when the data ends on `last_day`: later snapshots do not exist yet and
    labels whose horizon passes `last_day` are censored."""
    cut = pd.Timestamp(last_day)
    features = data.features[data.features["snapshot_date"] <= cut].reset_index(drop=True)
    labels = data.labels[data.labels["snapshot_date"] <= cut].reset_index(drop=True).copy()
    censored = labels["label_horizon_end"] > cut
    labels["is_censored"] = censored
    labels["churned"] = labels["churned"].mask(censored, pd.NA)
    truth = data.truth[data.truth["snapshot_date"] <= cut].reset_index(drop=True)
    sessions = None
    if data.sessions is not None:
        before = data.sessions["started_at"] < cut + pd.Timedelta(days=1)
        sessions = data.sessions[before].reset_index(drop=True)
    return synthetic.SyntheticData(features, labels, truth, sessions)


def labels_are_the_recency_rule(con: duckdb.DuckDBPyConnection) -> None:
    """Relabel so that churn is exactly "4 days or more since the last session": the recency
    rule is then perfect, and no model can beat it."""
    con.execute(
        "UPDATE marts.churn_labels l SET churned = f.days_since_last_session >= 4 "
        "FROM marts.churn_features f WHERE f.user_id = l.user_id "
        "AND f.snapshot_date = l.snapshot_date AND NOT l.is_censored"
    )


def warehouse(path: Path, data: synthetic.SyntheticData) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    synthetic.write_tables(con, data)
    return con


@pytest.fixture(scope="session")
def strong_data() -> synthetic.SyntheticData:
    """Players whose quitting is strongly driven by rage quits while losing and loss streaks."""
    return synthetic.generate(
        N_USERS, N_DAYS, start=START, horizon_days=HORIZON, signal=3.0, seed=5
    )


@pytest.fixture(scope="session")
def strong_db(
    tmp_path_factory: pytest.TempPathFactory, strong_data: synthetic.SyntheticData
) -> Iterator[duckdb.DuckDBPyConnection]:
    con = warehouse(tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb", strong_data)
    yield con
    con.close()


@pytest.fixture
def strong_copy(
    tmp_path: Path, strong_data: synthetic.SyntheticData
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A warehouse of the test's own holding the strong data, for a test that changes it."""
    con = warehouse(tmp_path / "copy.duckdb", strong_data)
    yield con
    con.close()


@pytest.fixture(scope="session")
def strong_labeled(strong_db: duckdb.DuckDBPyConnection) -> LabeledSet:
    return load_labeled(strong_db)


@pytest.fixture(scope="session")
def strong_result(strong_labeled: LabeledSet) -> TrainingResult:
    return train_and_evaluate(strong_labeled)


@pytest.fixture(scope="session")
def strong_model(
    tmp_path_factory: pytest.TempPathFactory, strong_result: TrainingResult
) -> RegisteredModel:
    return register(strong_result.artifacts, tmp_path_factory.mktemp("models"))
