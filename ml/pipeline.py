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

from ml.baselines import LogisticBaseline, RecencyRule
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
    compare,
)
from ml.explain import contributions, global_ranking
from ml.registry import ModelArtifacts
from ml.split import TimeSplit, time_split
from ml.train import predict_margin, train_booster

MODEL_UNCALIBRATED = "model_uncalibrated"
CHECK_BEATS_RECENCY = "beats_recency_roc_auc"
# Global SHAP ranking and the summary plot use at most this many evaluation rows.
EXPLAIN_SAMPLE_ROWS = 20_000


@dataclass(frozen=True)
class TrainingResult:
    artifacts: ModelArtifacts
    split: TimeSplit
    comparison: pd.DataFrame  # metrics x candidates on the evaluation slice
    calibration: pd.DataFrame  # reliability table of the shipped (calibrated) probabilities
    calibration_uncalibrated: pd.DataFrame
    ranking: pd.DataFrame  # global SHAP ranking
    evaluation_labels: np.ndarray
    evaluation_scores: dict[str, Candidate]
    shap_features: pd.DataFrame  # the explained sample of evaluation rows
    shap_values: np.ndarray  # its contributions (rows, features + 1)
    timings: dict[str, float] = field(default_factory=dict)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def evaluation_candidates(
    margin: np.ndarray, calibrator: Calibrator, train: LabeledSet, held_out: LabeledSet
) -> dict[str, Candidate]:
    """The model (calibrated and not, from its `margin` on `held_out`) and the two baselines fit
    on `train`, each scoring the rows of `held_out`."""
    recency = RecencyRule.fit(train.features, train.labels).score(held_out.features)
    logistic = LogisticBaseline.fit(train.features, train.labels, train.feature_names).score(
        held_out.features
    )
    return {
        MODEL: Candidate(calibrator.probability(margin)),
        MODEL_UNCALIBRATED: Candidate(_sigmoid(margin)),
        RECENCY: Candidate(recency.probability, recency.ranking),
        LOGISTIC: Candidate(logistic.probability, logistic.ranking),
    }


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
    candidates = evaluation_candidates(eval_margin, calibrator, train, ev)
    comparison = compare(ev.labels, candidates)
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

    checks = {CHECK_BEATS_RECENCY: beats(comparison, RECENCY, "roc_auc")}
    window = split.as_dict(data.keys["snapshot_date"], data.labels)
    metrics = {
        "comparison": comparison.to_dict(),
        "calibration_table": calibration.to_dict(orient="records"),
        "global_ranking": ranking.head(30).to_dict(orient="records"),
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
        drift_profile=reference_profile(train.features),
        checks=checks,
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
        evaluation_labels=ev.labels,
        evaluation_scores=candidates,
        shap_features=shap_features,
        shap_values=shap_values,
        timings=timings,
    )
