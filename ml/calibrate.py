"""Turning the booster's margin into an honest probability.

Isotonic regression when the calibration slice has at least `MIN_ISOTONIC_ROWS` rows (it is
flexible but overfits small samples), Platt scaling (a 1-D logistic regression) below that.
Both map the margin, and both are stored as plain numbers (JSON), so a model directory holds no
pickles and applying a calibrator needs nothing but numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

MIN_ISOTONIC_ROWS = 1_000
# A calibrated 0 or 1 would claim certainty and make log loss infinite; isotonic steps can reach
# both, so probabilities are kept this far from the ends.
PROBABILITY_FLOOR = 1e-4


@dataclass(frozen=True)
class Calibrator:
    method: str  # "isotonic" or "platt"
    x_thresholds: tuple[float, ...] = ()
    y_thresholds: tuple[float, ...] = ()
    slope: float = 1.0
    intercept: float = 0.0
    rows: int = 0

    def probability(self, margin: np.ndarray) -> np.ndarray:
        margin = np.asarray(margin, dtype=np.float64)
        if self.method == "isotonic":
            out = np.interp(margin, np.array(self.x_thresholds), np.array(self.y_thresholds))
        elif self.method == "platt":
            out = 1.0 / (1.0 + np.exp(-(self.slope * margin + self.intercept)))
        else:
            raise ValueError(f"unknown calibration method {self.method!r}")
        return np.clip(out, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "x_thresholds": list(self.x_thresholds),
            "y_thresholds": list(self.y_thresholds),
            "slope": self.slope,
            "intercept": self.intercept,
            "rows": self.rows,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibrator:
        return cls(
            method=str(data["method"]),
            x_thresholds=tuple(float(x) for x in data.get("x_thresholds", ())),
            y_thresholds=tuple(float(y) for y in data.get("y_thresholds", ())),
            slope=float(data.get("slope", 1.0)),
            intercept=float(data.get("intercept", 0.0)),
            rows=int(data.get("rows", 0)),
        )


def fit_calibrator(
    margin: np.ndarray, labels: np.ndarray, min_isotonic_rows: int = MIN_ISOTONIC_ROWS
) -> Calibrator:
    """Fit on the calibration slice: margins of the booster and the true labels."""
    margin = np.asarray(margin, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if margin.size == 0 or np.unique(labels).size < 2:
        raise ValueError(
            f"calibration needs churners and stayers; the calibration slice has {margin.size} "
            f"row(s) and {int(labels.sum())} churner(s). Use a longer window of labeled snapshots."
        )
    if margin.size >= min_isotonic_rows:
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0, increasing=True)
        iso.fit(margin, labels)
        return Calibrator(
            method="isotonic",
            x_thresholds=tuple(float(x) for x in iso.X_thresholds_),
            y_thresholds=tuple(float(y) for y in iso.y_thresholds_),
            rows=int(margin.size),
        )
    platt = LogisticRegression(C=1e6, solver="lbfgs", max_iter=1000)
    platt.fit(margin.reshape(-1, 1), labels.astype(int))
    return Calibrator(
        method="platt",
        slope=float(platt.coef_[0, 0]),
        intercept=float(platt.intercept_[0]),
        rows=int(margin.size),
    )
