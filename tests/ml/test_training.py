"""Training: reproducible, never fed censored rows, no leakage, calibrated, better than rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ml.calibrate import Calibrator, fit_calibrator
from ml.dataset import LabeledSet, load_labeled
from ml.evaluate import LOGISTIC, MIN_COHORT_CLASS_ROWS, MODEL, RECENCY, beats
from ml.feature_contract import RECENCY_FEATURE
from ml.ground_truth import compare_with_truth
from ml.pipeline import (
    CHECK_BEATS_LOGISTIC,
    CHECK_BEATS_RECENCY,
    MODEL_UNCALIBRATED,
    TrainingResult,
    checks_for,
    train_and_evaluate,
)
from ml.registry import FAILED, RegisteredModel, register
from ml.score import score_snapshot
from ml.tenure import COHORTS
from ml.train import train_booster
from tests.support import synthetic
from tests.support.churn_data import as_of, day, warehouse


def _booster_bytes(result: TrainingResult) -> bytes:
    return bytes(result.artifacts.booster.save_raw(raw_format="json"))


def test_same_data_gives_a_bit_identical_model_whatever_the_row_and_column_order(
    tmp_path: Path, strong_data: synthetic.SyntheticData
) -> None:
    rng = np.random.default_rng(1)
    shuffled_columns = [
        *strong_data.features.columns[:2],
        *rng.permutation(strong_data.features.columns[2:]),
    ]
    shuffled = synthetic.SyntheticData(
        features=strong_data.features[shuffled_columns].sample(frac=1.0, random_state=2),
        labels=strong_data.labels.sample(frac=1.0, random_state=3),
        truth=strong_data.truth,
    )
    first = warehouse(tmp_path / "a.duckdb", strong_data)
    second = warehouse(tmp_path / "b.duckdb", shuffled)
    a = train_and_evaluate(load_labeled(first))
    b = train_and_evaluate(load_labeled(second))
    assert _booster_bytes(a) == _booster_bytes(b)
    assert a.artifacts.calibrator == b.artifacts.calibrator
    pd.testing.assert_frame_equal(a.comparison, b.comparison)
    first.close()
    second.close()


def test_censored_rows_are_never_trained_on(
    tmp_path: Path, strong_data: synthetic.SyntheticData
) -> None:
    clean = warehouse(tmp_path / "clean.duckdb", strong_data)
    clean.execute(
        "DELETE FROM marts.churn_features f USING marts.churn_labels l "
        "WHERE f.user_id = l.user_id AND f.snapshot_date = l.snapshot_date "
        "AND l.is_censored"
    )
    # Same data, but the censored rows carry a tempting label and scrambled features.
    tampered = warehouse(tmp_path / "tampered.duckdb", strong_data)
    tampered.execute("UPDATE marts.churn_labels SET churned = true WHERE is_censored")
    tampered.execute(
        "UPDATE marts.churn_features f SET days_since_last_session = 99, rage_quits_7d = 50 "
        "FROM marts.churn_labels l WHERE f.user_id = l.user_id "
        "AND f.snapshot_date = l.snapshot_date AND l.is_censored"
    )
    training = load_labeled(tampered)
    censored = strong_data.labels[strong_data.labels["is_censored"]]
    overlap = training.keys.merge(censored, on=["user_id", "snapshot_date"])
    assert overlap.empty
    assert _booster_bytes(train_and_evaluate(training)) == _booster_bytes(
        train_and_evaluate(load_labeled(clean))
    )
    clean.close()
    tampered.close()


def test_scores_at_a_date_do_not_change_when_later_data_arrives(
    tmp_path: Path, strong_data: synthetic.SyntheticData
) -> None:
    cut = day(55)
    then = warehouse(tmp_path / "then.duckdb", as_of(strong_data, cut))
    now = warehouse(tmp_path / "now.duckdb", strong_data)  # 14 more days of snapshots and labels
    model_then = register(train_and_evaluate(load_labeled(then)).artifacts, tmp_path / "m1")
    model_now = register(
        train_and_evaluate(load_labeled(now, as_of=cut)).artifacts, tmp_path / "m2"
    )
    assert (
        model_then.path.joinpath("booster.json").read_bytes()
        == model_now.path.joinpath("booster.json").read_bytes()
    )
    scored_then = score_snapshot(then, model_then, cut)
    scored_now = score_snapshot(now, model_now, cut)
    volatile = ["scored_at", "model_version"]
    pd.testing.assert_frame_equal(
        scored_then.scores.drop(columns=volatile), scored_now.scores.drop(columns=volatile)
    )
    pd.testing.assert_frame_equal(
        scored_then.reasons.drop(columns=["model_version"]),
        scored_now.reasons.drop(columns=["model_version"]),
    )
    then.close()
    now.close()


def test_calibration_lowers_brier_and_log_loss_on_held_out_rows(
    strong_result: TrainingResult,
) -> None:
    # The evaluation slice was used neither for training nor for calibration.
    comparison = strong_result.comparison
    assert comparison.loc["brier", MODEL] < comparison.loc["brier", MODEL_UNCALIBRATED]
    assert comparison.loc["log_loss", MODEL] < comparison.loc["log_loss", MODEL_UNCALIBRATED]
    assert strong_result.artifacts.calibrator.method == "isotonic"


def test_with_a_strong_known_signal_the_model_beats_both_baselines(
    strong_result: TrainingResult,
) -> None:
    comparison = strong_result.comparison
    for metric in ("roc_auc", "pr_auc", "brier", "log_loss"):
        assert beats(comparison, RECENCY, metric), metric
        assert beats(comparison, LOGISTIC, metric), metric
    assert strong_result.artifacts.checks == {CHECK_BEATS_RECENCY: True, CHECK_BEATS_LOGISTIC: True}
    assert strong_result.artifacts.passed


def test_the_recency_rule_ranks_by_time_away_at_the_resolution_of_the_features(
    strong_result: TrainingResult, strong_labeled: LabeledSet
) -> None:
    # Fractional days since the last event, not whole days since the last session's start day:
    # a rule coarser than the model's own inputs would be an easier bar to clear.
    assert RECENCY_FEATURE == "current_gap_days"
    evaluation = strong_labeled.subset(
        strong_result.split.masks(strong_labeled.keys["snapshot_date"])["evaluation"]
    )
    rule = strong_result.evaluation_scores[RECENCY]
    np.testing.assert_array_equal(rule.ranking, evaluation.features[RECENCY_FEATURE])
    assert strong_result.comparison.loc["roc_auc", RECENCY] == roc_auc_score(
        evaluation.labels, evaluation.features[RECENCY_FEATURE]
    )
    assert strong_result.artifacts.metrics["recency_feature"] == RECENCY_FEATURE


def test_a_model_must_beat_each_baseline_to_pass(strong_result: TrainingResult) -> None:
    comparison = strong_result.comparison.copy()
    comparison.loc["roc_auc", LOGISTIC] = comparison.loc["roc_auc", MODEL]  # a tie is no win
    assert checks_for(comparison) == {CHECK_BEATS_RECENCY: True, CHECK_BEATS_LOGISTIC: False}
    comparison.loc["roc_auc", RECENCY] = comparison.loc["roc_auc", MODEL] + 0.01
    assert checks_for(comparison) == {CHECK_BEATS_RECENCY: False, CHECK_BEATS_LOGISTIC: False}


def test_a_registered_model_that_loses_to_a_baseline_is_marked_failed(
    tmp_path: Path, strong_result: TrainingResult
) -> None:
    artifacts = strong_result.artifacts
    losing = type(artifacts)(
        **{
            **{name: getattr(artifacts, name) for name in artifacts.__dataclass_fields__},
            "checks": {CHECK_BEATS_RECENCY: True, CHECK_BEATS_LOGISTIC: False},
        }
    )
    registered = register(losing, tmp_path / "models")
    assert registered.manifest["status"] == FAILED and not registered.passed


def test_roc_auc_per_tenure_cohort_covers_the_evaluation_slice(
    strong_result: TrainingResult, strong_labeled: LabeledSet
) -> None:
    cohorts = strong_result.cohorts
    assert cohorts["cohort"].tolist() == COHORTS.labels()
    evaluation = strong_labeled.subset(
        strong_result.split.masks(strong_labeled.keys["snapshot_date"])["evaluation"]
    )
    assert cohorts["rows"].sum() == len(evaluation)
    band = COHORTS.index(evaluation.features["tenure_days"].to_numpy())
    for index, row in cohorts.iterrows():
        labels = evaluation.labels[band == index]
        assert row["rows"] == labels.size
        enough = min(labels.sum(), labels.size - labels.sum()) >= MIN_COHORT_CLASS_ROWS
        assert np.isfinite(row[MODEL]) == enough, row["cohort"]
        if enough:
            scores = strong_result.evaluation_scores[RECENCY].ranking[band == index]
            assert row[RECENCY] == pytest.approx(roc_auc_score(labels, scores))
    # The planted signal holds at every tenure with enough players to say.
    said = cohorts.dropna(subset=[MODEL])
    assert len(said) >= 3 and (said[MODEL] > said[RECENCY]).all()
    stored = pd.DataFrame(strong_result.artifacts.metrics["cohorts"]).astype(cohorts.dtypes)
    pd.testing.assert_frame_equal(stored, cohorts)  # (too few to say: None, not NaN, in JSON)
    assert strong_result.artifacts.metrics["cohorts"][0][MODEL] is None


def test_ground_truth_is_compared_on_the_same_rows(
    strong_result: TrainingResult,
    strong_model: RegisteredModel,
    strong_labeled: LabeledSet,
    strong_data: synthetic.SyntheticData,
) -> None:
    # The comparison is a step after training, from the registered model and its data: scored
    # against the observed labels, it is exactly the training run's own evaluation.
    observed = compare_with_truth(strong_model, strong_labeled, pd.Series(strong_labeled.labels))
    assert observed is not None
    pd.testing.assert_frame_equal(observed, strong_result.comparison, check_exact=True)
    keys = strong_labeled.keys.merge(
        strong_data.truth, on=["user_id", "snapshot_date"], how="left", validate="1:1"
    )
    vs_truth = compare_with_truth(strong_model, strong_labeled, keys["quits_within_horizon"])
    assert vs_truth is not None
    assert list(vs_truth.columns) == list(strong_result.comparison.columns)
    assert vs_truth.loc["rows", MODEL] == strong_result.comparison.loc["rows", MODEL]
    # The planted causes are what the model learned, so it ranks true quitters well.
    assert vs_truth.loc["roc_auc", MODEL] > vs_truth.loc["roc_auc", RECENCY]


def test_isotonic_needs_a_thousand_rows_and_platt_covers_smaller_slices() -> None:
    rng = np.random.default_rng(0)
    margin = rng.normal(size=3000)
    labels = (rng.random(3000) < 1 / (1 + np.exp(-2 * margin))).astype(int)
    assert fit_calibrator(margin[:999], labels[:999]).method == "platt"
    isotonic = fit_calibrator(margin[:1000], labels[:1000])
    assert isotonic.method == "isotonic"
    for calibrator in (isotonic, fit_calibrator(margin[:500], labels[:500])):
        restored = Calibrator.from_dict(calibrator.to_dict())
        assert np.array_equal(restored.probability(margin), calibrator.probability(margin))
        assert np.all(np.diff(calibrator.probability(np.sort(margin))) >= 0)


def test_a_training_slice_with_one_class_is_refused_with_advice(
    strong_labeled: LabeledSet,
) -> None:
    stayers = strong_labeled.subset(strong_labeled.labels == 0)
    with pytest.raises(ValueError, match="churners and stayers"):
        train_booster(
            stayers.features,
            stayers.labels,
            stayers.features,
            stayers.labels,
            stayers.feature_names,
        )
