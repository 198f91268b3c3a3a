"""The `ml` Dagster assets, materialized in process on a real DuckDB warehouse file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb

from ingestion.settings import models_root, warehouse_path
from ml.pipeline import CHECK_BEATS_LOGISTIC, CHECK_BEATS_RECENCY, TrainingResult
from ml.registry import FAILED, PASSED, latest_passed, manifests, register
from orchestration import asset_keys
from orchestration.automation.jobs import weekly_churn_retrain
from orchestration.automation.schedules import weekly_churn_retrain_schedule
from orchestration.cadence import CADENCE_TAG
from orchestration.definitions import build_definitions
from orchestration.inline_plots import UI_INLINE_LIMIT
from orchestration.ml import definitions
from orchestration.ml.assets import (
    CHECK_NEW_PLAYERS,
    churn_model,
    churn_training_set,
    score_churn,
)
from orchestration.ml.checks import FEATURE_DRIFT
from orchestration.resources import WarehouseResource
from tests.support import synthetic
from tests.support.churn_data import labels_are_the_recency_rule


def _warehouse(home: Path, data: synthetic.SyntheticData) -> WarehouseResource:
    con = duckdb.connect(str(warehouse_path(home)))
    synthetic.write_tables(con, data)
    con.close()
    return WarehouseResource(database=str(warehouse_path(home)))


def _materialize(
    instance: dg.DagsterInstance, warehouse: WarehouseResource
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [*definitions.defs.assets, *definitions.defs.asset_checks],
        resources={"warehouse": warehouse},
        instance=instance,
        raise_on_error=False,
    )


def _checks(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_retraining_registers_a_model_and_scores_every_eligible_player(
    home: Path, instance: dg.DagsterInstance, strong_data: synthetic.SyntheticData
) -> None:
    warehouse = _warehouse(home, strong_data)
    result = _materialize(instance, warehouse)
    assert result.success
    checks = _checks(result)
    assert checks[CHECK_BEATS_RECENCY] is True and checks[CHECK_BEATS_LOGISTIC] is True
    assert CHECK_NEW_PLAYERS in checks
    # The game's own data passes its drift check: like is compared with like.
    assert checks[FEATURE_DRIFT] is True
    model_meta = result.asset_materializations_for_node("churn_model")[0].metadata
    for image in ("ROC", "calibration curve", "top drivers (TreeSHAP)"):
        # compact SVG, short enough for the UI to draw in place (orchestration.inline_plots)
        assert model_meta[image].value.startswith("![")
        assert "data:image/svg+xml," in model_meta[image].value
        assert len(model_meta[image].value) < UI_INLINE_LIMIT
    table = model_meta["metrics vs baselines (evaluation slice)"].value
    assert "recency_rule" in table and "logistic_regression" in table
    assert set(model_meta["split"].value) >= {"train", "calibration", "evaluation"}
    assert model_meta["verdict"].value.startswith("The model beats both baselines")
    cohorts = model_meta["ROC-AUC by tenure cohort (evaluation slice)"].value
    assert "days 7-13" in cohorts and "day 14+" in cohorts
    new_players = model_meta["new players"].value
    assert "the first 5 days after install observed" in new_players
    figures = model_meta["new players (figures)"].value
    assert figures["evaluated"] and set(figures["roc_auc"]) == {
        "model",
        "recency_rule",
        "logistic_regression",
    }
    # Rounded for reading, not 0.8721301033796781.
    assert model_meta["roc_auc"].value == round(model_meta["roc_auc"].value, 4)
    model = latest_passed(models_root())
    assert model is not None and model.manifest["status"] == PASSED
    scores = result.asset_materializations_for_node("score_churn")
    assert {m.asset_key for m in scores} == {asset_keys.CHURN_SCORES, asset_keys.CHURN_REASONS}
    latest = strong_data.features["snapshot_date"].max()
    eligible = int((strong_data.features["snapshot_date"] == latest).sum())
    with warehouse.get_connection() as con:
        assert con.execute(
            "SELECT count(*), min(model_version) FROM ml.churn_scores"
        ).fetchone() == (
            eligible,
            model.version,
        )


def test_scoring_is_skipped_until_a_model_is_registered(
    home: Path, instance: dg.DagsterInstance, strong_data: synthetic.SyntheticData
) -> None:
    warehouse = _warehouse(home, strong_data)
    result = dg.materialize([score_churn], resources={"warehouse": warehouse}, instance=instance)
    assert result.success
    assert result.asset_materializations_for_node("score_churn") == []


def test_a_model_that_does_not_beat_recency_fails_its_check_and_scoring_keeps_the_good_one(
    home: Path,
    instance: dg.DagsterInstance,
    strong_data: synthetic.SyntheticData,
    strong_result: TrainingResult,
) -> None:
    good = register(strong_result.artifacts, models_root(), now=datetime(2026, 3, 1, tzinfo=UTC))
    warehouse = _warehouse(home, strong_data)
    with warehouse.get_connection() as con:
        labels_are_the_recency_rule(con)  # no model can beat a perfect rule
    result = _materialize(instance, warehouse)
    assert not result.success  # the blocking check stops the run: visible in the UI
    assert _checks(result)[CHECK_BEATS_RECENCY] is False
    model_meta = result.asset_materializations_for_node("churn_model")[0].metadata
    assert model_meta["status"].value == FAILED
    assert model_meta["verdict"].value.startswith("The model does NOT beat the recency rule")
    assert [m["status"] for m in manifests(models_root())] == [PASSED, FAILED]
    assert latest_passed(models_root()).version == good.version
    # The blocking check skipped this run's scoring; the nightly scoring then uses the good one.
    assert result.asset_materializations_for_node("score_churn") == []
    nightly = dg.materialize([score_churn], resources={"warehouse": warehouse}, instance=instance)
    assert nightly.success
    with warehouse.get_connection() as con:
        versions = con.execute("SELECT DISTINCT model_version FROM ml.churn_scores").fetchall()
    assert versions == [(good.version,)]
    meta = nightly.asset_materializations_for_node("score_churn")[0].metadata
    assert meta["scored with"].value == "model"
    assert "failed them" in meta["why this scorer"].value


def test_with_no_model_that_passed_the_nightly_scores_with_the_better_baseline_and_says_so(
    home: Path, instance: dg.DagsterInstance, strong_data: synthetic.SyntheticData
) -> None:
    warehouse = _warehouse(home, strong_data)
    with warehouse.get_connection() as con:
        labels_are_the_recency_rule(con)
    assert not _materialize(instance, warehouse).success
    nightly = dg.materialize([score_churn], resources={"warehouse": warehouse}, instance=instance)
    meta = nightly.asset_materializations_for_node("score_churn")[0].metadata
    assert meta["scored with"].value == "recency_rule"
    assert meta["why this scorer"].value.startswith("no model has passed its checks")
    with warehouse.get_connection() as con:
        assert con.execute("SELECT DISTINCT scored_with FROM ml.churn_reasons").fetchall() == [
            ("recency_rule",)
        ]


def test_training_is_weekly_and_scoring_joins_the_nightly_run() -> None:
    training_tags = churn_training_set.tags_by_key[asset_keys.CHURN_TRAINING_SET]
    assert training_tags.get(CADENCE_TAG) == "weekly"
    assert churn_model.tags_by_key[asset_keys.CHURN_MODEL].get(CADENCE_TAG) == "weekly"
    for key in (asset_keys.CHURN_SCORES, asset_keys.CHURN_REASONS):
        assert CADENCE_TAG not in score_churn.tags_by_key[key]
    assert weekly_churn_retrain_schedule.cron_schedule == "0 4 * * 1"
    # The weekly job and its schedule are the code location's, and the job is the ML chain.
    location = build_definitions()
    weekly = location.resolve_job_def(weekly_churn_retrain.name)
    assert weekly.asset_layer.selected_asset_keys == {
        asset_keys.CHURN_TRAINING_SET,
        asset_keys.CHURN_MODEL,
        asset_keys.CHURN_SCORES,
        asset_keys.CHURN_REASONS,
    }
    schedule = location.resolve_schedule_def(weekly_churn_retrain_schedule.name)
    assert schedule.job_name == weekly_churn_retrain.name
    for definition in [*definitions.defs.assets, *definitions.defs.asset_checks]:
        assert definition.op.pool == "warehouse", definition
