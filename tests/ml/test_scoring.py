"""Scoring: the tables, their keys, history by scoring date, and which model gets used."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from ml.dataset import load_labeled
from ml.pipeline import CHECK_BEATS_RECENCY, TrainingResult, train_and_evaluate
from ml.registry import FAILED, PASSED, RegisteredModel, latest_passed, manifests, register
from ml.score import HIGH_RISK, MEDIUM_RISK, score_snapshot
from ml.score_tables import (
    REASONS_COLUMNS,
    REASONS_TABLE,
    SCORES_COLUMNS,
    SCORES_TABLE,
    write_scores,
)
from tests.support import synthetic
from tests.support.churn_data import N_DAYS, day

LATEST = day(N_DAYS - 1)


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE {table}").fetchall()
    return {name: kind for name, kind, *_ in rows}


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
    scores = strong_copy.execute(f"SELECT * FROM {SCORES_TABLE}").df()
    assert sorted(scores["user_id"]) == sorted(eligible["user_id"])
    assert (scores["scoring_date"] == pd.Timestamp(LATEST)).all()
    assert sorted(scores["risk_rank"]) == list(range(1, len(scores) + 1))
    assert scores["model_version"].eq(strong_model.version).all()
    p = scores["churn_probability"]
    assert ((p > 0) & (p < 1)).all()
    expected_tier = np.where(p >= HIGH_RISK, "High", np.where(p >= MEDIUM_RISK, "Medium", "Low"))
    assert (scores["risk_tier"] == expected_tier).all()
    reasons = strong_copy.execute(f"SELECT * FROM {REASONS_TABLE}").df()
    assert reasons.groupby("user_id").size().max() == 3
    assert set(reasons["user_id"]) <= set(scores["user_id"])
    assert (reasons["contribution"] > 0).all()
    # Keys are enforced by the tables themselves.
    duplicate = strong_copy.execute(f"SELECT count(*) FROM {SCORES_TABLE}").fetchone()
    assert duplicate == (len(scores),)
    try:
        strong_copy.execute(f"INSERT INTO {SCORES_TABLE} SELECT * FROM {SCORES_TABLE} LIMIT 1")
        raise AssertionError("a duplicate (scoring_date, user_id) was accepted")
    except duckdb.ConstraintException:
        pass


def test_rescoring_a_date_replaces_only_that_date(
    strong_copy: duckdb.DuckDBPyConnection, strong_model: RegisteredModel
) -> None:
    earlier, latest = day(N_DAYS - 8), LATEST
    write_scores(strong_copy, score_snapshot(strong_copy, strong_model, earlier))
    write_scores(strong_copy, score_snapshot(strong_copy, strong_model, latest))
    before = {
        table: strong_copy.execute(f"SELECT * FROM {table} ORDER BY ALL").df()
        for table in (SCORES_TABLE, REASONS_TABLE)
    }
    again = score_snapshot(strong_copy, strong_model, earlier)
    write_scores(strong_copy, again)
    for table in (SCORES_TABLE, REASONS_TABLE):
        after = strong_copy.execute(f"SELECT * FROM {table} ORDER BY ALL").df()
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


def test_a_failed_write_leaves_the_previous_scores_intact(
    strong_copy: duckdb.DuckDBPyConnection, strong_model: RegisteredModel
) -> None:
    good = score_snapshot(strong_copy, strong_model)
    write_scores(strong_copy, good)
    broken = score_snapshot(strong_copy, strong_model)
    broken.reasons.loc[0, "reason"] = None  # violates NOT NULL, after the scores were replaced
    try:
        write_scores(strong_copy, broken)
        raise AssertionError("a reason without text was written")
    except duckdb.ConstraintException:
        pass
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
    # Labels that are exactly the recency rule: the rule is perfect, so no model can beat it.
    strong_copy.execute(
        "UPDATE marts.churn_labels l SET churned = f.days_since_last_session >= 4 "
        "FROM marts.churn_features f WHERE f.user_id = l.user_id "
        "AND f.snapshot_date = l.snapshot_date AND NOT l.is_censored"
    )
    failing = train_and_evaluate(load_labeled(strong_copy))
    assert failing.artifacts.checks == {CHECK_BEATS_RECENCY: False}
    newer = register(failing.artifacts, root, now=datetime(2026, 3, 8, tzinfo=UTC))
    assert [m["status"] for m in manifests(root)] == [PASSED, FAILED]
    chosen = latest_passed(root)
    assert chosen is not None and chosen.version == good.version != newer.version
    scores = score_snapshot(strong_copy, chosen).scores
    assert scores["model_version"].eq(good.version).all()


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
