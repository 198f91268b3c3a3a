"""TreeSHAP explanations from XGBoost itself (`pred_contribs=True`).

Contributions are in the booster's margin (log-odds) space: per row they add up, with the bias
column, to the raw margin. Calibration is monotone, so a feature pushing the margin up pushes the
calibrated probability up too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb

from ml.train import dmatrix

REASONS_PER_PLAYER = 3


def contributions(
    booster: xgb.Booster, features: pd.DataFrame, feature_names: list[str]
) -> np.ndarray:
    """(rows, features + 1) SHAP values; the last column is the bias (expected margin)."""
    return booster.predict(dmatrix(features, feature_names), pred_contribs=True)


def global_ranking(contribs: np.ndarray, feature_names: list[str]) -> pd.DataFrame:
    """Features by mean absolute contribution, largest first."""
    mean_abs = np.abs(contribs[:, : len(feature_names)]).astype(np.float64).mean(axis=0)
    total = mean_abs.sum()
    frame = pd.DataFrame(
        {
            "feature": feature_names,
            "mean_abs_contribution": mean_abs,
            "share": mean_abs / total if total > 0 else 0.0,
        }
    )
    frame = frame.sort_values(["mean_abs_contribution", "feature"], ascending=[False, True])
    return frame.reset_index(drop=True)


@dataclass(frozen=True)
class TopContributions:
    """Per row, the k features pushing hardest toward churn, strongest first.

    `index` is -1 where a row has fewer than k positive contributions.
    """

    index: np.ndarray  # (rows, k) int feature positions
    value: np.ndarray  # (rows, k) contributions (0 where index is -1)


def top_positive(contribs: np.ndarray, k: int = REASONS_PER_PLAYER) -> TopContributions:
    values = contribs[:, :-1]  # a view: no copy of (rows, features) floats
    width = values.shape[1]
    k = min(k, width)
    # argpartition finds the k largest in O(features); only those k get sorted.
    candidates = np.argpartition(values, width - k, axis=1)[:, width - k :]
    picked = np.take_along_axis(values, candidates, axis=1).astype(np.float64)
    order = np.lexsort((candidates, -picked), axis=1)  # by value desc, then feature position
    index = np.take_along_axis(candidates, order, axis=1)
    value = np.take_along_axis(picked, order, axis=1)
    positive = value > 0
    return TopContributions(
        index=np.where(positive, index, -1), value=np.where(positive, value, 0.0)
    )
