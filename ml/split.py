"""Time-based split of labeled snapshots into train, calibration and evaluation slices.

A label at `d` looks at sessions in `(d, d + horizon]`. Slices are therefore separated by
`horizon` unused days: the last training label window ends the day before the calibration slice
starts, and the same between calibration and evaluation. A player can appear in several slices
(that is how production works: the model scores players it has seen), but nothing a training row
was labeled with happens inside a later slice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

SLICES: tuple[str, ...] = ("train", "calibration", "evaluation")


@dataclass(frozen=True)
class TimeSplit:
    train: tuple[date, date]
    calibration: tuple[date, date]
    evaluation: tuple[date, date]
    gap_train_calibration_days: int
    gap_calibration_evaluation_days: int
    horizon_days: int

    def ranges(self) -> dict[str, tuple[date, date]]:
        return {"train": self.train, "calibration": self.calibration, "evaluation": self.evaluation}

    def masks(self, snapshot_dates: pd.Series) -> dict[str, np.ndarray]:
        """Boolean row masks per slice; rows falling in a gap belong to no slice."""
        days = pd.to_datetime(snapshot_dates).to_numpy()
        out = {}
        for name, (start, end) in self.ranges().items():
            lo, hi = np.datetime64(start, "ns"), np.datetime64(end, "ns")
            out[name] = (days >= lo) & (days <= hi)
        return out

    @classmethod
    def from_dict(cls, described: Mapping[str, Any]) -> TimeSplit:
        """The split that `as_dict` described (a registered model's training window)."""

        def days(name: str) -> tuple[date, date]:
            entry = described[name]
            return date.fromisoformat(entry["start"]), date.fromisoformat(entry["end"])

        return cls(
            *(days(name) for name in SLICES),
            gap_train_calibration_days=int(described["gap_train_calibration_days"]),
            gap_calibration_evaluation_days=int(described["gap_calibration_evaluation_days"]),
            horizon_days=int(described["horizon_days"]),
        )

    def as_dict(
        self, snapshot_dates: pd.Series | None = None, labels: np.ndarray | None = None
    ) -> dict[str, Any]:
        """The split for metadata: date ranges, gaps and (given the rows) counts and churn rates."""
        out: dict[str, Any] = {
            "horizon_days": self.horizon_days,
            "gap_train_calibration_days": self.gap_train_calibration_days,
            "gap_calibration_evaluation_days": self.gap_calibration_evaluation_days,
        }
        masks = self.masks(snapshot_dates) if snapshot_dates is not None else {}
        for name, (start, end) in self.ranges().items():
            entry: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat()}
            if name in masks:
                entry["rows"] = int(masks[name].sum())
                if labels is not None and masks[name].any():
                    entry["churn_rate"] = round(float(labels[masks[name]].mean()), 4)
            out[name] = entry
        return out


def time_split(
    snapshot_dates: pd.Series,
    horizon_days: int,
    *,
    calibration_fraction: float = 0.2,
    evaluation_fraction: float = 0.2,
) -> TimeSplit:
    """Split the calendar span of labeled snapshot dates, oldest to newest.

    Days left after the two `horizon_days` gaps are shared out by the fractions. When the span is
    too short for two gaps, calibration sits right after training (only evaluation stays fully
    separated, because that is what the reported metrics depend on), and the dict says so.
    """
    if snapshot_dates.empty:
        raise ValueError("no labeled snapshot dates to split")
    days = pd.to_datetime(snapshot_dates)
    first, last = days.min().date(), days.max().date()
    span = (last - first).days + 1
    gap_cal = gap_eval = horizon_days
    usable = span - gap_cal - gap_eval
    if usable < 3:
        gap_cal = 0
        usable = span - gap_eval
    if usable < 3:
        raise ValueError(
            f"labeled snapshots span {span} day(s), {first} to {last}; a time split with a "
            f"{horizon_days}-day gap before evaluation needs at least {horizon_days + 3}. "
            "Simulate or ingest more days of events."
        )
    n_eval = max(1, round(usable * evaluation_fraction))
    n_cal = max(1, round(usable * calibration_fraction))
    n_train = usable - n_eval - n_cal
    if n_train < 1:
        n_train, n_cal = 1, usable - n_eval - 1
    train_end = first + timedelta(days=n_train - 1)
    cal_start = train_end + timedelta(days=gap_cal + 1)
    cal_end = cal_start + timedelta(days=n_cal - 1)
    eval_start = cal_end + timedelta(days=gap_eval + 1)
    return TimeSplit(
        train=(first, train_end),
        calibration=(cal_start, cal_end),
        evaluation=(eval_start, last),
        gap_train_calibration_days=gap_cal,
        gap_calibration_evaluation_days=gap_eval,
        horizon_days=horizon_days,
    )
