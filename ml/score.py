"""Scoring players: calibrated probability, risk tier, ranks the game team can act on, reasons.

What is scored (`ScoringRequest`): the latest snapshot (default), a chosen snapshot date, or a
tenure cohort ("every player on day N after install", `tenure_days = N`) on one date or on every
date. A cohort's rows are kept apart from the daily snapshots' (their `scope`), so scoring a
cohort never replaces a date's full list.

What scores (`ml.registry.choose_scorer`): the newest model that passed its checks, else the
better baseline of the newest version; `scored_with` and the result's `note` say which and why.

Risk tiers are cut on the calibrated probability of churning within the horizon, so they mean the
same thing from one week to the next:
- High:   probability >= 0.50 (more likely to churn than to stay)
- Medium: 0.20 <= probability < 0.50
- Low:    probability < 0.20

Probabilities are shown between 1% and 99%: calibration is fit on a few thousand rows, and a
step of its curve at 0.9999 or 0 would claim a certainty no sample of that size supports.

Ranks: `risk_rank` orders every scored player; `segment_rank` orders the players of one segment:
- `reachable`: a session on one of the last `reachable_days` days (default 3) up to the
  snapshot: still playing, so a message, an offer or a fix can reach them in the game;
- `lapsed`: scored (a session within the eligibility window) but away longer: a list for
  win-back campaigns, shown apart, not mixed into the list of players to act on now.
Ties of probability (calibration is a step function) are broken by the uncalibrated score (the
model's margin: the ranking it learned), then by the longer time away, then by user id.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb
import numpy as np
import pandas as pd

from ml.dataset import ScoringRows, load_rows
from ml.drift import population_stability
from ml.evaluate import MODEL
from ml.feature_contract import DAYS_SINCE_LAST_SESSION, RECENCY_FEATURE, TENURE_FEATURE
from ml.reasons import ReasonCatalog, render_reasons
from ml.registry import RegisteredModel, ScoringChoice
from ml.train import dmatrix

HIGH_RISK = 0.50
MEDIUM_RISK = 0.20
TIERS = ("High", "Medium", "Low")
SHOWN_PROBABILITY = (0.01, 0.99)
REACHABLE_DAYS = 3
REACHABLE, LAPSED = "reachable", "lapsed"
SEGMENTS = (REACHABLE, LAPSED)
SNAPSHOT_SCOPE = "snapshot"
# Columns every scoring needs beyond the scorer's: the segment, the tie-break, the peers.
_CONTEXT = (DAYS_SINCE_LAST_SESSION, RECENCY_FEATURE, TENURE_FEATURE)


def cohort_scope(tenure_days: int) -> str:
    return f"tenure_day_{int(tenure_days)}"


@dataclass(frozen=True)
class ScoringRequest:
    snapshot_date: date | None = None  # None: the latest (or, for a cohort, every date)
    tenure_days: int | None = None  # a cohort: every player on day N after install
    reachable_days: int = REACHABLE_DAYS

    def __post_init__(self) -> None:
        if self.tenure_days is not None and self.tenure_days < 0:
            raise ValueError(f"tenure_days is days after install, 0 or more: {self.tenure_days}")
        if self.reachable_days < 1:
            raise ValueError(f"reachable_days must be at least 1, got {self.reachable_days}")

    @property
    def scope(self) -> str:
        return SNAPSHOT_SCOPE if self.tenure_days is None else cohort_scope(self.tenure_days)

    @property
    def whole_scope(self) -> bool:
        """A cohort on every date: its rows replace all of that cohort's earlier rows."""
        return self.tenure_days is not None and self.snapshot_date is None

    def describe(self) -> str:
        when = "the latest snapshot" if self.snapshot_date is None else str(self.snapshot_date)
        if self.tenure_days is None:
            return when
        on = "every snapshot date" if self.snapshot_date is None else when
        return f"every player on day {self.tenure_days} after install, on {on}"


@dataclass(frozen=True)
class ScoringResult:
    request: ScoringRequest
    scoring_dates: list[date]  # the snapshot dates of the scored rows
    model_version: str
    scored_with: str  # "model", "recency_rule" or "logistic_regression"
    note: str  # what scored and why, in plain words
    scores: pd.DataFrame  # the ml.churn_scores rows
    reasons: pd.DataFrame  # the ml.churn_reasons rows
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def scope(self) -> str:
        return self.request.scope

    @property
    def scoring_date(self) -> date:
        """The latest snapshot date scored (the only one, unless a cohort over every date)."""
        return self.scoring_dates[-1]


def risk_tier(probability: np.ndarray) -> pd.Categorical:
    codes = np.where(probability >= HIGH_RISK, 0, np.where(probability >= MEDIUM_RISK, 1, 2))
    return pd.Categorical.from_codes(codes.astype(np.int8), TIERS)


def _explain(choice: ScoringChoice, features: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """(contributions, margin, probability) of the chosen scorer on `features`. The margin is the
    sum of the contributions: TreeSHAP's are exact (they add up to the booster's margin, up to
    float32 rounding), so the trees are not walked a second time for it."""
    scorer = choice.scorer
    contribs = (
        choice.model.booster.predict(
            dmatrix(features, choice.model.feature_names), pred_contribs=True
        )
        if choice.scored_with == MODEL
        else scorer.contributions(features)
    )
    margin = contribs.sum(axis=1, dtype=np.float64)
    if choice.scored_with == MODEL:
        return contribs, margin, choice.model.calibrator.probability(margin)
    return contribs, margin, scorer.probability(features)


def _ranks(order_keys: tuple[np.ndarray, ...], groups: np.ndarray | None = None) -> np.ndarray:
    """1-based ranks by `order_keys` (np.lexsort: the last key is the primary one; equal keys
    keep the rows' order, by user id), counted within each value of `groups` when given."""
    order = np.lexsort(order_keys)
    rank = np.empty(order.size, dtype=np.int64)
    if groups is None:
        rank[order] = np.arange(1, order.size + 1)
        return rank
    ordered = groups[order]
    for value in np.unique(ordered):
        members = order[ordered == value]
        rank[members] = np.arange(1, members.size + 1)
    return rank


def _labels(values: np.ndarray | str, n: int) -> pd.Categorical:
    """A text column as categories: most of its values repeat, and DuckDB takes categories
    (Arrow dictionaries) without converting every row's string."""
    if isinstance(values, str):
        return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), [values])
    return pd.Categorical(values)


def score_rows(
    choice: ScoringChoice, rows: ScoringRows, request: ScoringRequest | None = None
) -> ScoringResult:
    """Score feature rows with the chosen scorer (no database writes)."""
    request = request or ScoringRequest()
    if len(rows) == 0:
        raise ValueError(
            f"no eligible player to score for {request.describe()} in marts.churn_features; "
            "pick a snapshot date (or tenure) that has rows"
        )
    timings: dict[str, float] = {}
    names = choice.scorer.feature_names
    features = rows.features[names]
    started = time.perf_counter()
    contribs, margin, probability = _explain(choice, features)
    probability = np.clip(probability, *SHOWN_PROBABILITY)
    timings["explain_seconds"] = time.perf_counter() - started

    started = time.perf_counter()
    context = {name: rows.features[name].to_numpy(np.float64) for name in _CONTEXT}
    catalog = ReasonCatalog(features, tenure_days=context[TENURE_FEATURE])
    reasons = render_reasons(catalog, contribs)
    timings["reasons_seconds"] = time.perf_counter() - started

    started = time.perf_counter()
    user_ids = rows.keys["user_id"].to_numpy(dtype=object)
    n = user_ids.size
    days_away = context[DAYS_SINCE_LAST_SESSION]
    reachable = days_away < request.reachable_days
    segment = pd.Categorical.from_codes(np.where(reachable, 0, 1).astype(np.int8), SEGMENTS)
    order_keys = (-context[RECENCY_FEATURE], -margin, -probability)
    scored_at = pd.Timestamp(datetime.now(UTC).replace(tzinfo=None))
    dates = rows.keys["snapshot_date"].to_numpy()
    scores = pd.DataFrame(
        {
            "scope": _labels(request.scope, n),
            "scoring_date": dates,
            "user_id": user_ids,
            "churn_probability": probability,
            "risk_tier": risk_tier(probability),
            "risk_rank": _ranks(order_keys),
            "segment": segment,
            "segment_rank": _ranks(order_keys, segment.codes),
            "days_since_last_session": days_away.astype(np.int32),
            "model_score": margin,
            "scored_with": _labels(choice.scored_with, n),
            "model_version": _labels(choice.model.version, n),
            "scored_at": scored_at,
        }
    )
    picked = reasons.pop("row").to_numpy()
    reasons.insert(0, "user_id", user_ids[picked])
    reasons.insert(0, "scoring_date", dates[picked])
    reasons.insert(0, "scope", _labels(request.scope, picked.size))
    reasons["scored_with"] = _labels(choice.scored_with, picked.size)
    reasons["model_version"] = _labels(choice.model.version, picked.size)
    timings["assemble_seconds"] = time.perf_counter() - started
    return ScoringResult(
        request=request,
        scoring_dates=rows.snapshot_dates,
        model_version=choice.model.version,
        scored_with=choice.scored_with,
        note=choice.note,
        scores=scores,
        reasons=reasons,
        timings=timings,
    )


def drift(model: RegisteredModel, rows: ScoringRows) -> pd.DataFrame:
    """PSI per feature of `rows` against the model's training window, at equal tenure (the
    `feature_drift_psi` check's figure; not part of scoring, which it would only slow down)."""
    features = rows.features[[n for n in model.feature_names if n in rows.features]]
    return population_stability(
        model.drift_profile, features, rows.features[TENURE_FEATURE].to_numpy(np.float64)
    )


def load_for_scoring(
    con: duckdb.DuckDBPyConnection, choice: ScoringChoice, request: ScoringRequest
) -> ScoringRows:
    """The rows `request` asks for, with the chosen version's features and scoring's context."""
    names = list(dict.fromkeys([*choice.model.feature_names, *_CONTEXT]))
    return load_rows(
        con, names, snapshot_date=request.snapshot_date, tenure_days=request.tenure_days
    )


def score(
    con: duckdb.DuckDBPyConnection, choice: ScoringChoice, request: ScoringRequest | None = None
) -> ScoringResult:
    """Load and score what `request` asks for (default: the latest snapshot)."""
    request = request or ScoringRequest()
    started = time.perf_counter()
    rows = load_for_scoring(con, choice, request)
    load_seconds = time.perf_counter() - started
    result = score_rows(choice, rows, request)
    result.timings["load_seconds"] = load_seconds
    return result


def model_choice(model: RegisteredModel) -> ScoringChoice:
    """Scoring with this very model (whatever its status): for tests, benchmarks, backfills."""
    return ScoringChoice(model=model, scored_with=MODEL, note=f"model {model.version}")


def score_snapshot(
    con: duckdb.DuckDBPyConnection, model: RegisteredModel, snapshot_date: date | None = None
) -> ScoringResult:
    """Score every player eligible at `snapshot_date` (default: the latest) with `model`."""
    return score(con, model_choice(model), ScoringRequest(snapshot_date=snapshot_date))
