"""Reading the marts into a training set, and the time-based split."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.dataset import feature_columns, load_labeled, load_snapshot
from ml.feature_contract import contract_features
from ml.split import time_split
from tests.support import synthetic
from tests.support.churn_data import HORIZON, N_DAYS, START, day


def test_feature_columns_are_every_non_key_column_sorted_by_name(
    strong_db: duckdb.DuckDBPyConnection,
) -> None:
    columns = feature_columns(strong_db)
    assert columns == sorted(contract_features())
    assert "user_id" not in columns and "snapshot_date" not in columns


def test_training_set_holds_only_labeled_rows_and_infers_the_horizon(
    strong_db: duckdb.DuckDBPyConnection, strong_data: synthetic.SyntheticData
) -> None:
    labeled = load_labeled(strong_db)
    expected = strong_data.labels[~strong_data.labels["is_censored"]]
    assert len(labeled) == len(expected)
    assert labeled.horizon_days == HORIZON
    assert set(np.unique(labeled.labels)) == {0, 1}
    last_labeled = pd.Timestamp(day(N_DAYS - 1 - HORIZON))
    assert labeled.keys["snapshot_date"].max() == last_labeled
    assert labeled.keys.equals(
        labeled.keys.sort_values(["snapshot_date", "user_id"]).reset_index(drop=True)
    )


def test_training_as_of_a_date_uses_only_labels_known_by_then(
    strong_db: duckdb.DuckDBPyConnection,
) -> None:
    cut = day(40)
    labeled = load_labeled(strong_db, as_of=cut)
    assert labeled.keys["snapshot_date"].max() == pd.Timestamp(cut - timedelta(days=HORIZON))


def test_a_null_feature_is_refused_with_the_column_named(
    strong_copy: duckdb.DuckDBPyConnection,
) -> None:
    strong_copy.execute("UPDATE marts.churn_features SET win_rate_7d = NULL WHERE rowid = 3")
    with pytest.raises(ValueError, match="win_rate_7d"):
        load_labeled(strong_copy)


def test_a_text_feature_column_is_refused(strong_copy: duckdb.DuckDBPyConnection) -> None:
    strong_copy.execute("ALTER TABLE marts.churn_features ADD COLUMN favourite_map VARCHAR")
    with pytest.raises(TypeError, match="favourite_map"):
        feature_columns(strong_copy)


def test_snapshot_defaults_to_the_latest_date_and_includes_censored_players(
    strong_db: duckdb.DuckDBPyConnection, strong_data: synthetic.SyntheticData
) -> None:
    snapshot = load_snapshot(strong_db, ["days_since_last_session", "rage_quits_7d"])
    latest = strong_data.features["snapshot_date"].max()
    assert snapshot.snapshot_date == latest.date()
    assert len(snapshot.user_ids) == int((strong_data.features["snapshot_date"] == latest).sum())
    assert list(snapshot.features.columns) == ["days_since_last_session", "rage_quits_7d"]


def test_split_slices_are_ordered_and_separated_by_the_horizon() -> None:
    dates = pd.Series(pd.date_range(START, periods=60, freq="D"))
    split = time_split(dates, HORIZON)
    (train_start, train_end), (cal_start, cal_end), (eval_start, eval_end) = (
        split.train,
        split.calibration,
        split.evaluation,
    )
    assert train_start == START and eval_end == START + timedelta(days=59)
    # The last training label window (d, d + horizon] ends before calibration starts, etc.
    assert train_end + timedelta(days=HORIZON) < cal_start
    assert cal_end + timedelta(days=HORIZON) < eval_start
    masks = split.masks(dates)
    assert not (masks["train"] & masks["evaluation"]).any()
    summary = split.as_dict(dates, np.ones(60))
    assert summary["evaluation"]["start"] == eval_start.isoformat()
    assert (
        summary["train"]["rows"] + summary["calibration"]["rows"] + summary["evaluation"]["rows"]
        == 60 - 2 * HORIZON
    )


def test_a_short_span_keeps_the_gap_before_evaluation_and_says_so() -> None:
    dates = pd.Series(pd.date_range(START, periods=HORIZON + 10, freq="D"))
    split = time_split(dates, HORIZON)
    assert split.gap_train_calibration_days == 0
    assert split.calibration[1] + timedelta(days=HORIZON) < split.evaluation[0]


def test_a_span_too_short_to_evaluate_honestly_is_refused() -> None:
    dates = pd.Series(pd.date_range(START, periods=HORIZON + 2, freq="D"))
    with pytest.raises(ValueError, match="more days"):
        time_split(dates, HORIZON)
