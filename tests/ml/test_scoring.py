"""Scoring: the tables and their keys, what is scored (a date, a tenure cohort), history by
scoring date, the lists a team acts on, and which model (or baseline) scores."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.dataset import load_labeled
from ml.evaluate import MODEL, RECENCY
from ml.feature_contract import RECENCY_FEATURE
from ml.pipeline import CHECK_BEATS_RECENCY, TrainingResult, train_and_evaluate
from ml.registry import (
    FAILED,
    PASSED,
    RegisteredModel,
    choose_scorer,
    latest_passed,
    manifests,
    register,
)
from ml.report import most_at_risk
from ml.score import (
    HIGH_RISK,
    LAPSED,
    MEDIUM_RISK,
    REACHABLE,
    SHOWN_PROBABILITY,
    SNAPSHOT_SCOPE,
    ScoringRequest,
    model_choice,
    score,
    score_snapshot,
)
from ml.score_tables import (
    REASONS_COLUMNS,
    REASONS_TABLE,
    SCORES_COLUMNS,
    SCORES_TABLE,
    write_scores,
)
from tests.support import synthetic
from tests.support.churn_data import N_DAYS, day, labels_are_the_recency_rule

LATEST = day(N_DAYS - 1)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE {table}").fetchall()
    return {name: kind for name, kind, *_ in rows}


def _table(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    return con.execute(f"SELECT * FROM {table} ORDER BY ALL").df()


def test_scores_and_reasons_tables_have_the_documented_schema_and_keys(
    strong_copy: duckdb.DuckDBPyConnection,
    strong_data: synthetic.SyntheticData,
    strong_model: RegisteredModel,
) -> None:
    result = score_snapshot(strong_copy, strong_model)
    write_scores(strong_copy, result)
    for table, columns in ((SCORES_TABLE, SCORES_COLUMNS), (REASONS_TABLE, REASONS_COLUMNS)):
        assert _columns(strong_copy, table) == {
            name: kind.replace(" NOT NULL", "") for name, kind in columns.items()
        }
    eligible = strong_data.features[strong_data.features["snapshot_date"] == pd.Timestamp(LATEST)]
    scores = _table(strong_copy, SCORES_TABLE)
    assert sorted(scores["user_id"]) == sorted(eligible["user_id"])
    assert (scores["scoring_date"] == pd.Timestamp(LATEST)).all()
    assert (scores["scope"] == SNAPSHOT_SCOPE).all()
    assert sorted(scores["risk_rank"]) == list(range(1, len(scores) + 1))
    assert scores["model_version"].eq(strong_model.version).all()
    assert scores["scored_with"].eq(MODEL).all()
    p = scores["churn_probability"]
    assert ((p >= SHOWN_PROBABILITY[0]) & (p <= SHOWN_PROBABILITY[1])).all()
    expected_tier = np.where(p >= HIGH_RISK, "High", np.where(p >= MEDIUM_RISK, "Medium", "Low"))
    assert (scores["risk_tier"] == expected_tier).all()
    reasons = _table(strong_copy, REASONS_TABLE)
    assert reasons.groupby("user_id").size().max() == 3
    assert set(reasons["user_id"]) <= set(scores["user_id"])
    assert (reasons["contribution"] > 0).all()
    assert set(reasons["reference_kind"]) <= {"usual", "peers", "population"}
    # Keys are enforced by the tables themselves.
    with pytest.raises(duckdb.ConstraintException):
        strong_copy.execute(f"INSERT INTO {SCORES_TABLE} SELECT * FROM {SCORES_TABLE} LIMIT 1")


def test_players_still_playing_are_ranked_apart_from_the_lapsed(
    strong_copy: duckdb.DuckDBPyConnection,
    strong_data: synthetic.SyntheticData,
    strong_model: RegisteredModel,
) -> None:
    write_scores(strong_copy, score_snapshot(strong_copy, strong_model))
    scores = _table(strong_copy, SCORES_TABLE)
    features = strong_data.features[strong_data.features["snapshot_date"] == pd.Timestamp(LATEST)]
    away = features.set_index("user_id")["days_since_last_session"]
    reachable = scores["user_id"].map(away) < 3  # a session on one of the last 3 days
    assert (scores["segment"] == np.where(reachable, REACHABLE, LAPSED)).all()
    assert scores["days_since_last_session"].tolist() == scores["user_id"].map(away).tolist()
    for segment, group in scores.groupby("segment"):
        # A segment's ranks follow the overall ranks: 1..n, most at risk first.
        ordered = group.sort_values("risk_rank")
        assert ordered["segment_rank"].tolist() == list(range(1, len(group) + 1)), segment
        assert ordered["churn_probability"].is_monotonic_decreasing
    # Equal probabilities (calibration steps) are ordered by the model's own score, then by
    # the longer time away.
    gap = scores["user_id"].map(features.set_index("user_id")[RECENCY_FEATURE])
    ordered = scores.assign(gap=gap).sort_values("risk_rank")
    for _, tie in ordered.groupby("churn_probability"):
        keys = list(zip(-tie["model_score"], -tie["gap"], strict=True))
        assert keys == sorted(keys)
    assert (ordered.groupby("churn_probability").size() > 1).any()  # ties do happen
    top = most_at_risk(strong_copy, n=5)
    assert (top["segment"] == REACHABLE).all() and top["rank"].tolist() == [1, 2, 3, 4, 5]
    lapsed = most_at_risk(strong_copy, n=5, segment=LAPSED)
    assert (lapsed["days_since_last_session"] >= 3).all()


def test_rescoring_a_date_replaces_only_that_date(
    strong_copy: duckdb.DuckDBPyConnection, strong_model: RegisteredModel
) -> None:
    earlier, latest = day(N_DAYS - 8), LATEST
    write_scores(strong_copy, score_snapshot(strong_copy, strong_model, earlier))
    write_scores(strong_copy, score_snapshot(strong_copy, strong_model, latest))
    before = {table: _table(strong_copy, table) for table in (SCORES_TABLE, REASONS_TABLE)}
    again = score_snapshot(strong_copy, strong_model, earlier)
    write_scores(strong_copy, again)
    for table in (SCORES_TABLE, REASONS_TABLE):
        after = _table(strong_copy, table)
        keep = before[table]["scoring_date"] == pd.Timestamp(latest)
        pd.testing.assert_frame_equal(
            after[after["scoring_date"] == pd.Timestamp(latest)].reset_index(drop=True),
            before[table][keep].reset_index(drop=True),
        )
        assert (after["scoring_date"] == pd.Timestamp(earlier)).sum() == (~keep).sum()
    rescored_at = strong_copy.execute(
        f"SELECT DISTINCT scored_at FROM {SCORES_TABLE} WHERE scoring_date = ?", [earlier]
    ).fetchall()
    assert rescored_at == [(again.scores["scored_at"].iloc[0].to_pydatetime(),)]


def test_a_tenure_cohort_is_scored_apart_and_replaced_as_a_whole(
    strong_copy: duckdb.DuckDBPyConnection,
    strong_data: synthetic.SyntheticData,
    strong_model: RegisteredModel,
) -> None:
    choice = model_choice(strong_model)
    write_scores(strong_copy, score(strong_copy, choice))
    snapshot = _table(strong_copy, SCORES_TABLE)
    cohort = score(strong_copy, choice, ScoringRequest(tenure_days=3))
    write_scores(strong_copy, cohort)
    on_day_3 = strong_data.features[strong_data.features["tenure_days"] == 3]
    rows = strong_copy.execute(
        f"SELECT user_id, scoring_date FROM {SCORES_TABLE} WHERE scope = 'tenure_day_3' "
        "ORDER BY scoring_date, user_id"
    ).df()
    expected = on_day_3.sort_values(["snapshot_date", "user_id"])[["user_id", "snapshot_date"]]
    assert rows["user_id"].tolist() == expected["user_id"].tolist()  # every player, on day 3
    assert rows["scoring_date"].tolist() == expected["snapshot_date"].tolist()
    assert rows["scoring_date"].nunique() > 10  # on every snapshot date
    assert sorted(cohort.scores["risk_rank"]) == list(range(1, len(expected) + 1))
    kept = _table(strong_copy, SCORES_TABLE).query("scope == @SNAPSHOT_SCOPE")
    pd.testing.assert_frame_equal(kept.reset_index(drop=True), snapshot)
    # One date of the cohort, scored again, replaces only that date of the cohort.
    one_day = rows["scoring_date"].iloc[-1].date()
    write_scores(strong_copy, score(strong_copy, choice, ScoringRequest(one_day, 3)))
    assert strong_copy.execute(
        f"SELECT count(*) FROM {SCORES_TABLE} WHERE scope = 'tenure_day_3'"
    ).fetchone() == (len(rows),)


def test_dates_the_warehouse_no_longer_has_are_removed(
    strong_copy: duckdb.DuckDBPyConnection, strong_model: RegisteredModel
) -> None:
    gone, kept = day(N_DAYS - 5), day(N_DAYS - 4)
    write_scores(strong_copy, score_snapshot(strong_copy, strong_model, gone))
    strong_copy.execute("DELETE FROM marts.churn_features WHERE snapshot_date = ?", [gone])
    written = write_scores(strong_copy, score_snapshot(strong_copy, strong_model, kept))
    assert written.stale_dates_removed == [gone]
    for table in (SCORES_TABLE, REASONS_TABLE):
        dates = strong_copy.execute(f"SELECT DISTINCT scoring_date FROM {table}").fetchall()
        assert dates == [(kept,)], table


def test_scores_of_an_earlier_layout_are_kept_apart_not_dropped(
    strong_copy: duckdb.DuckDBPyConnection, strong_model: RegisteredModel
) -> None:
    strong_copy.execute("CREATE SCHEMA ml")
    strong_copy.execute(
        "CREATE TABLE ml.churn_scores (scoring_date DATE, user_id VARCHAR, "
        "churn_probability DOUBLE)"
    )
    strong_copy.execute("INSERT INTO ml.churn_scores VALUES ('2026-01-05', 'someone', 0.4)")
    written = write_scores(strong_copy, score_snapshot(strong_copy, strong_model))
    (old,) = written.kept_apart
    assert old.startswith("ml.churn_scores_before_")
    assert strong_copy.execute(f"SELECT user_id FROM {old}").fetchall() == [("someone",)]
    assert _columns(strong_copy, SCORES_TABLE).keys() == SCORES_COLUMNS.keys()


def test_a_failed_write_leaves_the_previous_scores_intact(
    strong_copy: duckdb.DuckDBPyConnection, strong_model: RegisteredModel
) -> None:
    good = score_snapshot(strong_copy, strong_model)
    write_scores(strong_copy, good)
    broken = score_snapshot(strong_copy, strong_model)
    broken.reasons.loc[0, "reason"] = None  # violates NOT NULL, after the scores were replaced
    with pytest.raises(duckdb.ConstraintException):
        write_scores(strong_copy, broken)
    kept = strong_copy.execute(f"SELECT DISTINCT scored_at FROM {SCORES_TABLE}").fetchall()
    assert kept == [(good.scores["scored_at"].iloc[0].to_pydatetime(),)]
    assert strong_copy.execute(f"SELECT count(*) FROM {REASONS_TABLE}").fetchone() == (
        len(good.reasons),
    )


def test_a_model_that_fails_its_check_never_becomes_the_scoring_model(
    strong_copy: duckdb.DuckDBPyConnection, tmp_path: Path, strong_result: TrainingResult
) -> None:
    root = tmp_path / "models"
    good = register(strong_result.artifacts, root, now=datetime(2026, 3, 1, tzinfo=UTC))
    labels_are_the_recency_rule(strong_copy)
    failing = train_and_evaluate(load_labeled(strong_copy))
    assert failing.artifacts.checks[CHECK_BEATS_RECENCY] is False
    assert not failing.artifacts.passed
    newer = register(failing.artifacts, root, now=datetime(2026, 3, 8, tzinfo=UTC))
    assert [m["status"] for m in manifests(root)] == [PASSED, FAILED]
    chosen = latest_passed(root)
    assert chosen is not None and chosen.version == good.version != newer.version
    choice = choose_scorer(root)
    assert choice is not None and choice.scored_with == MODEL
    assert choice.model.version == good.version and newer.version in choice.note
    scores = score(strong_copy, choice).scores
    assert scores["model_version"].eq(good.version).all()


def test_with_no_model_that_passed_the_better_baseline_scores_and_says_so(
    strong_copy: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    labels_are_the_recency_rule(strong_copy)
    failing = train_and_evaluate(load_labeled(strong_copy))
    version = register(failing.artifacts, tmp_path / "models")
    choice = choose_scorer(tmp_path / "models")
    assert choice is not None and choice.model.version == version.version
    assert choice.scored_with == RECENCY  # perfect here, so better than the logistic regression
    assert choice.note.startswith("no model has passed its checks: scored with the recency rule")
    result = score(strong_copy, choice)
    write_scores(strong_copy, result)
    scores = _table(strong_copy, SCORES_TABLE)
    assert scores["scored_with"].eq(RECENCY).all()
    # The rule ranks by time away: the longer away, the higher on the list.
    gap = strong_copy.execute(
        f"SELECT user_id, {RECENCY_FEATURE} FROM marts.churn_features WHERE snapshot_date = ?",
        [LATEST],
    ).df()
    ordered = scores.merge(gap, on="user_id").sort_values("risk_rank")
    assert ordered["churn_probability"].is_monotonic_decreasing
    assert ordered[RECENCY_FEATURE].is_monotonic_decreasing
    reasons = _table(strong_copy, REASONS_TABLE)
    assert set(reasons["feature"]) == {RECENCY_FEATURE}
    assert reasons["scored_with"].eq(RECENCY).all()
    assert reasons["reason"].str.startswith("away for").all()


def test_an_interrupted_registration_is_invisible(
    tmp_path: Path, strong_result: TrainingResult
) -> None:
    root = tmp_path / "models"
    good = register(strong_result.artifacts, root)
    half = root / ".tmp-20991231T000000000000Z-deadbeef-1"
    half.mkdir()
    (half / "booster.json").write_text("{")
    assert [m["version"] for m in manifests(root)] == [good.version]
    assert latest_passed(root).version == good.version
