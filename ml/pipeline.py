"""One training run: split, train, calibrate, evaluate against the baselines, explain, package.

Both the Dagster `churn_model` asset and the benchmark call `train_and_evaluate`; registering the
result (`ml.registry.register`) is left to the caller so a run can be inspected before it lands.
`evaluation_candidates` scores the model and the baselines on held-out rows: the training run
compares them with the observed labels, `ml.ground_truth` (evaluation only) with a known truth.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ml.baselines import Baselines
from ml.calibrate import MIN_ISOTONIC_ROWS, Calibrator, fit_calibrator
from ml.dataset import LabeledSet
from ml.drift import reference_profile
from ml.evaluate import (
    LOGISTIC,
    MODEL,
    RECENCY,
    Candidate,
    beats,
    calibration_table,
    cohort_comparison,
    compare,
    records,
)
from ml.explain import contributions, global_ranking
from ml.feature_contract import RECENCY_FEATURE, TENURE_FEATURE
from ml.registry import ModelArtifacts
from ml.split import TimeSplit, time_split
from ml.train import predict_margin, train_booster

MODEL_UNCALIBRATED = "model_uncalibrated"
# The registry's gate: the model must beat each baseline's ROC-AUC on the evaluation slice, or it
# is registered as failed and never scores (a blocking check per baseline in Dagster).
CHECK_BEATS_RECENCY = "beats_recency_roc_auc"
CHECK_BEATS_LOGISTIC = "beats_logistic_roc_auc"
CHECKED_BASELINES: dict[str, str] = {CHECK_BEATS_RECENCY: RECENCY, CHECK_BEATS_LOGISTIC: LOGISTIC}
# Global SHAP ranking and the summary plot use at most this many evaluation rows.
EXPLAIN_SAMPLE_ROWS = 20_000
# The drift reference is a sample of this many labeled rows at most (its deciles and band shares
# are as good from a sample, and quantiles over millions of rows cost seconds per feature).
DRIFT_SAMPLE_ROWS = 200_000


@dataclass(frozen=True)
class TrainingResult:
    artifacts: ModelArtifacts
    split: TimeSplit
    comparison: pd.DataFrame  # metrics x candidates on the evaluation slice
    calibration: pd.DataFrame  # reliability table of the shipped (calibrated) probabilities
    calibration_uncalibrated: pd.DataFrame
    ranking: pd.DataFrame  # global SHAP ranking
    cohorts: pd.DataFrame  # ROC-AUC per tenure cohort of the evaluation slice, per candidate
    evaluation_labels: np.ndarray
    evaluation_scores: dict[str, Candidate]
    shap_features: pd.DataFrame  # the explained sample of evaluation rows
    shap_values: np.ndarray  # its contributions (rows, features + 1)
    timings: dict[str, float] = field(default_factory=dict)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def fit_baselines(train: LabeledSet) -> Baselines:
    """The recency rule (on RECENCY_FEATURE) and the logistic regression, fit on `train`."""
    return Baselines.fit(train.features, train.labels, train.feature_names, RECENCY_FEATURE)


def evaluation_candidates(
    margin: np.ndarray, calibrator: Calibrator, baselines: Baselines, held_out: LabeledSet
) -> dict[str, Candidate]:
    """The model (calibrated and not, from its `margin` on `held_out`) and the two baselines,
    each scoring the rows of `held_out`."""
    return {
        MODEL: Candidate(calibrator.probability(margin)),
        MODEL_UNCALIBRATED: Candidate(_sigmoid(margin)),
        **baselines.candidates(held_out.features),
    }


def checks_for(comparison: pd.DataFrame) -> dict[str, bool]:
    """Each registry check: does the model's ROC-AUC strictly beat that baseline's?"""
    return {check: beats(comparison, baseline) for check, baseline in CHECKED_BASELINES.items()}


def tenure_of(data: LabeledSet) -> np.ndarray:
    """Each row's tenure in days (0 for all rows when the features carry no tenure)."""
    if TENURE_FEATURE in data.features.columns:
        return data.features[TENURE_FEATURE].to_numpy(dtype=np.float64)
    return np.zeros(len(data))


def drift_reference(data: LabeledSet) -> dict[str, Any]:
    """The drift profile of every labeled row the model was trained, calibrated and evaluated
    on (its training window), per tenure band; a seeded sample when there are many."""
    rows = np.arange(len(data))
    if rows.size > DRIFT_SAMPLE_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(rows, DRIFT_SAMPLE_ROWS, replace=False))
    sample = data.subset(np.isin(np.arange(len(data)), rows))
    return reference_profile(sample.features, tenure_of(sample))


def train_and_evaluate(
    data: LabeledSet,
    *,
    params: dict[str, Any] | None = None,
    min_isotonic_rows: int = MIN_ISOTONIC_ROWS,
    calibration_fraction: float = 0.2,
    evaluation_fraction: float = 0.2,
) -> TrainingResult:
    """Train on the oldest slice, calibrate on the next, evaluate on the newest."""
    timings: dict[str, float] = {}
    split = time_split(
        data.keys["snapshot_date"],
        data.horizon_days,
        calibration_fraction=calibration_fraction,
        evaluation_fraction=evaluation_fraction,
    )
    masks = split.masks(data.keys["snapshot_date"])
    for name, mask in masks.items():
        if not mask.any():
            raise ValueError(f"the {name} slice {split.ranges()[name]} has no labeled rows")
    train, cal, ev = (data.subset(masks[name]) for name in ("train", "calibration", "evaluation"))
    names = data.feature_names

    started = time.perf_counter()
    trained = train_booster(
        train.features, train.labels, cal.features, cal.labels, names, params=params
    )
    timings["train_seconds"] = time.perf_counter() - started

    started = time.perf_counter()
    calibrator = fit_calibrator(
        predict_margin(trained.booster, cal.features, names), cal.labels, min_isotonic_rows
    )
    timings["calibrate_seconds"] = time.perf_counter() - started

    started = time.perf_counter()
    eval_margin = predict_margin(trained.booster, ev.features, names)
    baselines = fit_baselines(train)
    candidates = evaluation_candidates(eval_margin, calibrator, baselines, ev)
    comparison = compare(ev.labels, candidates)
    cohorts = cohort_comparison(
        ev.labels, {name: candidates[name] for name in (MODEL, RECENCY, LOGISTIC)}, tenure_of(ev)
    )
    calibration = calibration_table(ev.labels, candidates[MODEL].probability)
    calibration_raw = calibration_table(ev.labels, candidates[MODEL_UNCALIBRATED].probability)
    timings["evaluate_seconds"] = time.perf_counter() - started

    started = time.perf_counter()
    rng = np.random.default_rng(0)
    sample = np.sort(rng.permutation(len(ev))[:EXPLAIN_SAMPLE_ROWS])
    shap_features = ev.features.iloc[sample].reset_index(drop=True)
    shap_values = contributions(trained.booster, shap_features, names)
    ranking = global_ranking(shap_values, names)
    timings["explain_seconds"] = time.perf_counter() - started

    checks = checks_for(comparison)
    window = split.as_dict(data.keys["snapshot_date"], data.labels)
    metrics = {
        "comparison": comparison.to_dict(),
        "calibration_table": calibration.to_dict(orient="records"),
        "global_ranking": ranking.head(30).to_dict(orient="records"),
        "cohorts": records(cohorts),
        "recency_feature": RECENCY_FEATURE,
        "best_iteration": trained.best_iteration,
        "rounds_run": trained.rounds_run,
        "positive_weight": trained.positive_weight,
        "calibration_method": calibrator.method,
        "calibration_rows": calibrator.rows,
    }
    artifacts = ModelArtifacts(
        booster=trained.booster,
        feature_names=names,
        calibrator=calibrator,
        metrics=metrics,
        training_window=window,
        drift_profile=drift_reference(data),
        checks=checks,
        baselines=baselines,
        params=trained.params,
        horizon_days=data.horizon_days,
    )
    return TrainingResult(
        artifacts=artifacts,
        split=split,
        comparison=comparison,
        calibration=calibration,
        calibration_uncalibrated=calibration_raw,
        ranking=ranking,
        cohorts=cohorts,
        evaluation_labels=ev.labels,
        evaluation_scores=candidates,
        shap_features=shap_features,
        shap_values=shap_values,
        timings=timings,
    )
