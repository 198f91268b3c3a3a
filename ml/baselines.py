"""The two simple models every churn model must beat, fit on the same training rows.

- Recency rule: the longer a player has been away, the likelier they churn. Its ranking is the
  recency feature itself (`RECENCY_FEATURE`: fractional days since the player's last event, at
  the resolution of the model's inputs); its probabilities are the training churn rate along that
  ranking (isotonic, so the rule stays monotone), which makes Brier score and log loss comparable.
- Logistic regression on the same features, standardized.

Both are stored with a model version as plain numbers (JSON), like the calibrator: when no model
has passed its checks, scoring falls back to the better of them (`ml.registry.choose_scorer`).
Both explain themselves in the model's terms, a margin (log-odds) split into per-feature
contributions plus a bias, so their scores get reasons like the model's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from ml.calibrate import PROBABILITY_FLOOR
from ml.evaluate import LOGISTIC, RECENCY, Candidate


def _clip(probability: np.ndarray) -> np.ndarray:
    return np.clip(probability, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)


def _logit(probability: np.ndarray) -> np.ndarray:
    p = _clip(np.asarray(probability, dtype=np.float64))
    return np.log(p / (1 - p))


class _Stored:
    """Stored as its fields, plain JSON numbers and strings (no pickles in a model directory)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        return cls(**{field.name: data[field.name] for field in fields(cls)})


@dataclass(frozen=True)
class RecencyRule(_Stored):
    feature: str
    x_thresholds: list[float]
    y_thresholds: list[float]
    base_rate: float  # the training churn rate: the rule's "expected" score

    name = RECENCY

    @property
    def feature_names(self) -> list[str]:
        return [self.feature]

    @classmethod
    def fit(cls, features: pd.DataFrame, labels: np.ndarray, feature: str) -> RecencyRule:
        if feature not in features.columns:
            raise ValueError(
                f"the recency baseline needs the {feature!r} feature, which "
                "marts.churn_features must provide (naming contract)"
            )
        curve = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True)
        curve.fit(features[feature].to_numpy(dtype=np.float64), labels.astype(np.float64))
        return cls(
            feature=feature,
            x_thresholds=[float(x) for x in curve.X_thresholds_],
            y_thresholds=[float(y) for y in curve.y_thresholds_],
            base_rate=float(np.mean(labels)),
        )

    def values(self, features: pd.DataFrame) -> np.ndarray:
        return features[self.feature].to_numpy(dtype=np.float64)

    def probability(self, features: pd.DataFrame) -> np.ndarray:
        curve = np.interp(self.values(features), self.x_thresholds, self.y_thresholds)
        return _clip(curve)

    def candidate(self, features: pd.DataFrame) -> Candidate:
        """Probabilities from the curve; the ranking is the recency itself (no ties added)."""
        return Candidate(self.probability(features), self.values(features))

    def contributions(self, features: pd.DataFrame) -> np.ndarray:
        """(rows, 2): the recency's push on the log-odds away from the base rate, then the bias."""
        bias = float(_logit(np.array([self.base_rate]))[0])
        margin = _logit(self.probability(features))
        return np.column_stack([margin - bias, np.full(margin.size, bias)])


@dataclass(frozen=True)
class LogisticBaseline(_Stored):
    feature_names: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]  # per standardized feature
    intercept: float

    name = LOGISTIC

    @classmethod
    def fit(
        cls, features: pd.DataFrame, labels: np.ndarray, feature_names: list[str]
    ) -> LogisticBaseline:
        data = features[feature_names].to_numpy(dtype=np.float64)
        scaler = StandardScaler().fit(data)
        regression = LogisticRegression(max_iter=2000, C=1.0)
        regression.fit(scaler.transform(data), labels.astype(int))
        return cls(
            feature_names=list(feature_names),
            mean=[float(x) for x in scaler.mean_],
            scale=[float(x) for x in scaler.scale_],
            coef=[float(x) for x in regression.coef_[0]],
            intercept=float(regression.intercept_[0]),
        )

    def _terms(self, features: pd.DataFrame) -> np.ndarray:
        data = features[self.feature_names].to_numpy(dtype=np.float64)
        return (data - np.asarray(self.mean)) / np.asarray(self.scale) * np.asarray(self.coef)

    def probability(self, features: pd.DataFrame) -> np.ndarray:
        margin = self._terms(features).sum(axis=1) + self.intercept
        return _clip(1.0 / (1.0 + np.exp(-margin)))

    def candidate(self, features: pd.DataFrame) -> Candidate:
        return Candidate(self.probability(features))

    def contributions(self, features: pd.DataFrame) -> np.ndarray:
        """(rows, features + 1): each standardized term, then the intercept. For a linear model
        these are exactly its SHAP values relative to the training mean."""
        terms = self._terms(features)
        return np.column_stack([terms, np.full(terms.shape[0], self.intercept)])


Baseline = RecencyRule | LogisticBaseline


@dataclass(frozen=True)
class Baselines:
    recency: RecencyRule
    logistic: LogisticBaseline

    @classmethod
    def fit(
        cls,
        features: pd.DataFrame,
        labels: np.ndarray,
        feature_names: list[str],
        recency_feature: str,
    ) -> Baselines:
        return cls(
            recency=RecencyRule.fit(features, labels, recency_feature),
            logistic=LogisticBaseline.fit(features, labels, feature_names),
        )

    def by_name(self) -> dict[str, Baseline]:
        return {RECENCY: self.recency, LOGISTIC: self.logistic}

    def candidates(self, features: pd.DataFrame) -> dict[str, Candidate]:
        return {name: rule.candidate(features) for name, rule in self.by_name().items()}

    def to_dict(self) -> dict[str, Any]:
        return {name: rule.to_dict() for name, rule in self.by_name().items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Baselines:
        return cls(
            recency=RecencyRule.from_dict(data[RECENCY]),
            logistic=LogisticBaseline.from_dict(data[LOGISTIC]),
        )
