"""Scoring every eligible player at a snapshot: calibrated probability, risk tier, three reasons.

Risk tiers are cut on the calibrated probability of churning within the horizon, so they mean the
same thing from one week to the next:
- High:   probability >= 0.50 (more likely to churn than to stay)
- Medium: 0.20 <= probability < 0.50
- Low:    probability < 0.20
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb
import numpy as np
import pandas as pd

from ml.dataset import Snapshot, load_snapshot
from ml.drift import population_stability
from ml.explain import REASONS_PER_PLAYER, contributions, top_positive
from ml.reasons import ReasonCatalog, render_reasons
from ml.registry import RegisteredModel

HIGH_RISK = 0.50
MEDIUM_RISK = 0.20
TIERS = ("High", "Medium", "Low")


@dataclass(frozen=True)
class ScoringResult:
    scoring_date: date
    model_version: str
    scores: pd.DataFrame  # the ml.churn_scores rows
    reasons: pd.DataFrame  # the ml.churn_reasons rows
    drift: pd.DataFrame  # PSI per feature, training window vs this snapshot
    timings: dict[str, float] = field(default_factory=dict)


def risk_tier(probability: np.ndarray) -> np.ndarray:
    return np.where(
        probability >= HIGH_RISK, TIERS[0], np.where(probability >= MEDIUM_RISK, TIERS[1], TIERS[2])
    ).astype(object)


def score_snapshot_features(model: RegisteredModel, snapshot: Snapshot) -> ScoringResult:
    """Score one snapshot's features with a registered model (no database writes)."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    features = snapshot.features[model.feature_names]
    probability = model.probability(features)
    timings["predict_seconds"] = time.perf_counter() - started

    started = time.perf_counter()
    contribs = contributions(model.booster, features, model.feature_names)
    top = top_positive(contribs, REASONS_PER_PLAYER)
    timings["explain_seconds"] = time.perf_counter() - started

    started = time.perf_counter()
    reasons = render_reasons(features, top, ReasonCatalog.for_frame(features))
    timings["reasons_seconds"] = time.perf_counter() - started

    scored_at = datetime.now(UTC).replace(tzinfo=None)
    order = np.lexsort((snapshot.user_ids.astype(str), -probability))
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(1, order.size + 1)
    scores = pd.DataFrame(
        {
            "scoring_date": pd.Timestamp(snapshot.snapshot_date),
            "user_id": snapshot.user_ids,
            "churn_probability": probability,
            "risk_tier": risk_tier(probability),
            "risk_rank": rank,
            "model_version": model.version,
            "scored_at": pd.Timestamp(scored_at),
        }
    )
    reasons.insert(0, "user_id", snapshot.user_ids[reasons.pop("row").to_numpy()])
    reasons.insert(0, "scoring_date", pd.Timestamp(snapshot.snapshot_date))
    reasons["model_version"] = model.version
    drift = population_stability(model.drift_profile, features)
    return ScoringResult(
        scoring_date=snapshot.snapshot_date,
        model_version=model.version,
        scores=scores,
        reasons=reasons,
        drift=drift,
        timings=timings,
    )


def score_snapshot(
    con: duckdb.DuckDBPyConnection, model: RegisteredModel, snapshot_date: date | None = None
) -> ScoringResult:
    """Score every player eligible at `snapshot_date` (default: the latest snapshot)."""
    snapshot = load_snapshot(con, model.feature_names, snapshot_date)
    if snapshot.user_ids.size == 0:
        raise ValueError(
            f"no eligible player at {snapshot.snapshot_date} in marts.churn_features; "
            "pick a snapshot date that has rows"
        )
    return score_snapshot_features(model, snapshot)
