"""The two simple models every churn model must beat, fit on the same training rows.

- Recency rule: the longer a player has been away, the likelier they churn. Its ranking is
  `days_since_last_session` itself; its probabilities are the training churn rate per value
  (isotonic, so the rule stays monotone), which makes Brier score and log loss comparable.
- Logistic regression on the same features, standardized.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ml.calibrate import PROBABILITY_FLOOR
from ml.feature_contract import RECENCY_FEATURE


@dataclass(frozen=True)
class BaselineScores:
    probability: np.ndarray
    ranking: np.ndarray  # the score the rule ranks by (equals probability for fitted models)


@dataclass(frozen=True)
class RecencyRule:
    curve: IsotonicRegression

    @classmethod
    def fit(cls, features: pd.DataFrame, labels: np.ndarray) -> RecencyRule:
        if RECENCY_FEATURE not in features.columns:
            raise ValueError(
                f"the recency baseline needs the {RECENCY_FEATURE!r} feature, which "
                "marts.churn_features must provide (naming contract)"
            )
        curve = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True)
        curve.fit(features[RECENCY_FEATURE].to_numpy(), labels.astype(np.float64))
        return cls(curve)

    def score(self, features: pd.DataFrame) -> BaselineScores:
        days = features[RECENCY_FEATURE].to_numpy(dtype=np.float64)
        probability = np.clip(self.curve.predict(days), PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
        return BaselineScores(probability=probability, ranking=days)


@dataclass(frozen=True)
class LogisticBaseline:
    pipeline: Pipeline
    feature_names: list[str]

    @classmethod
    def fit(
        cls, features: pd.DataFrame, labels: np.ndarray, feature_names: list[str]
    ) -> LogisticBaseline:
        pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
        pipeline.fit(features[feature_names].to_numpy(), labels.astype(int))
        return cls(pipeline, list(feature_names))

    def score(self, features: pd.DataFrame) -> BaselineScores:
        probability = self.pipeline.predict_proba(features[self.feature_names].to_numpy())[:, 1]
        probability = np.clip(probability, PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
        return BaselineScores(probability=probability, ranking=probability)
