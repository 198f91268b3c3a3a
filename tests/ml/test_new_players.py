"""The new-player evaluation: observe N days after install, churn = no session in the next M."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from ml.evaluate import LOGISTIC, MODEL, RECENCY
from ml.feature_contract import RECENCY_FEATURE
from ml.new_players import (
    PRESETS,
    PRODUCTION,
    NewPlayerSetting,
    evaluate_new_players,
    load_new_players,
    new_player_evaluation,
)
from ml.pipeline import TrainingResult
from ml.report import new_player_markdown

SESSIONS = [
    # user, session start (UTC). Install = the first session.
    ("a-comes-back", "2026-01-01 10:00"),
    ("a-comes-back", "2026-01-15 23:59"),  # 9 days 23:59 after the snapshot's end: not churned
    ("b-too-late", "2026-01-01 20:00"),
    ("b-too-late", "2026-01-03 08:00"),  # inside the observed days: not "after"
    ("b-too-late", "2026-01-16 00:30"),  # 10 days and 30 minutes after: too late, churned
    ("c-never", "2026-01-02 09:00"),
    ("d-unknown", "2026-01-08 12:00"),  # its 10 days pass the data's end: left out
]


@pytest.fixture
def hand_made(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.fct_sessions (user_id VARCHAR, started_at TIMESTAMP)")
    con.executemany("INSERT INTO marts.fct_sessions VALUES (?, ?)", SESSIONS)
    con.execute(
        "CREATE TABLE marts.churn_features (user_id VARCHAR, snapshot_date DATE, "
        "current_gap_days DOUBLE, tenure_days INTEGER)"
    )
    # A snapshot row per user and day, up to 2026-01-20 (the last day with features).
    con.execute(
        "INSERT INTO marts.churn_features SELECT u.user_id, d.day, 1.5, "
        "date_diff('day', u.installed, d.day) FROM "
        "(SELECT user_id, CAST(min(started_at) AS DATE) AS installed FROM marts.fct_sessions "
        "GROUP BY 1) u, (SELECT CAST(range AS DATE) AS day FROM "
        "range(DATE '2026-01-01', DATE '2026-01-21', INTERVAL 1 DAY)) d WHERE d.day >= u.installed"
    )
    return con


def test_labels_come_from_session_starts_in_the_m_days_after_the_nth_day(
    hand_made: duckdb.DuckDBPyConnection,
) -> None:
    data = load_new_players(hand_made, NewPlayerSetting(observe_days=5, horizon_days=10))
    # The snapshot is the end of install day + 4; "after" is from its midnight on, to the hour.
    assert data.keys["user_id"].tolist() == ["a-comes-back", "b-too-late", "c-never"]
    assert [d.date() for d in data.keys["snapshot_date"]] == [
        date(2026, 1, 5),
        date(2026, 1, 5),
        date(2026, 1, 6),
    ]
    assert data.labels.tolist() == [0, 1, 1]
    assert data.features["tenure_days"].tolist() == [4, 4, 4]
    # The same players, one day observed and a week after: b's session on day 3 counts now.
    one_day = load_new_players(hand_made, NewPlayerSetting(observe_days=1, horizon_days=7))
    assert dict(zip(one_day.keys["user_id"], one_day.labels, strict=True)) == {
        "a-comes-back": 1,
        "b-too-late": 0,
        "c-never": 1,
        "d-unknown": 1,
    }


def test_without_sessions_the_evaluation_says_why(hand_made: duckdb.DuckDBPyConnection) -> None:
    hand_made.execute("DROP TABLE marts.fct_sessions")
    evaluation = new_player_evaluation(hand_made)
    assert not evaluation.evaluated
    assert evaluation.summary["why_not"].startswith("the warehouse has no marts.fct_sessions")


def test_too_few_players_is_said_plainly(hand_made: duckdb.DuckDBPyConnection) -> None:
    evaluation = new_player_evaluation(hand_made, PRESETS["5+10"])
    assert not evaluation.evaluated
    assert "3 players fit the setting" in evaluation.summary["why_not"]
    text = new_player_markdown(evaluation.summary)
    assert "Not evaluated: 3 players fit the setting" in text


@pytest.fixture(scope="module")
def evaluated(strong_db: duckdb.DuckDBPyConnection, strong_result: TrainingResult):
    data = load_new_players(strong_db, PRESETS["5+10"])
    evaluation = evaluate_new_players(
        data,
        production=strong_result.artifacts,
        production_unseen_after=strong_result.split.calibration[1],
    )
    return data, evaluation


def test_the_later_players_by_install_time_are_the_test_players(evaluated) -> None:
    data, evaluation = evaluated
    summary = evaluation.summary
    assert summary["evaluated"]
    assert summary["players"]["test"] == round(0.3 * len(data))
    assert summary["players"]["train"] + summary["players"]["test"] == len(data)
    installed = data.keys["installed_at"]
    assert installed.is_monotonic_increasing
    test = evaluation.test_keys
    assert test["installed_at"].min() >= installed.iloc[: summary["players"]["train"]].max()
    assert (test["snapshot_date"] - test["installed_at"].dt.normalize()).dt.days.eq(4).all()


def test_the_model_and_both_baselines_are_scored_on_the_same_test_players(evaluated) -> None:
    data, evaluation = evaluated
    auc = evaluation.summary["roc_auc"]
    test = data.features.iloc[-len(evaluation.test_keys) :]
    labels = evaluation.test_labels
    assert auc[RECENCY] == round(roc_auc_score(labels, test[RECENCY_FEATURE]), 4)
    assert set(auc) == {MODEL, RECENCY, LOGISTIC}
    # The planted causes show early: the model, trained for the setting, beats the rule.
    assert evaluation.summary["model_beats"][RECENCY]
    assert auc[MODEL] > auc[RECENCY] + 0.03
    production = evaluation.summary[PRODUCTION]
    unseen = test.index[
        (
            evaluation.test_keys["installed_at"].dt.date
            > date.fromisoformat(production["installed_after"])
        ).to_numpy()
    ]
    assert production["players"] == len(unseen) > 0
    assert 0.5 < production["roc_auc"] <= 1.0


def test_the_report_says_what_it_evaluates_and_the_verdict(evaluated) -> None:
    _, evaluation = evaluated
    text = new_player_markdown(evaluation.summary)
    assert "the first 5 days after install observed" in text
    assert "no session in the next 10 days" in text
    assert "model, trained for this setting" in text
    assert "recency rule (current_gap_days, hour resolution)" in text
    assert "never trained on" in text
    auc = evaluation.summary["roc_auc"]
    expected = (
        "beats both baselines"
        if all(evaluation.summary["model_beats"].values())
        else ("does NOT beat")
    )
    assert expected in text and f"{auc[MODEL]:.3f}" in text
    assert np.isfinite(list(auc.values())).all()
