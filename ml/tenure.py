"""Tenure bands: comparing a player with players at the same point of their life in the game.

Tenure is `tenure_days` of `marts.churn_features`: whole days from the player's first seen date
to the snapshot, 0 on the install day. "Day N after install" is `tenure_days = N`, everywhere in
respawn (the scoring cohorts, the reports, the reasons).

Three uses, three bandings (each a partition of tenure, 0 to forever):
- `COHORTS`: the evaluation's cohorts (AUC per cohort in the model's report), starting at the
  days a live-ops team asks about (day 1, 3, 5, 7, 14 and later), with the install day apart.
- `PEERS`: the "typical player at the same tenure" of the reasons; finer where players change
  fastest (the first days), coarser later.
- `DRIFT`: the drift check's reference, per band, so a young population is never compared with an
  old one (the check would then flag the game's growth, not a change in behaviour).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TenureBands:
    """Bands starting at `starts` (tenure days, ascending, the first 0); the last is open-ended."""

    starts: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.starts or self.starts[0] != 0 or list(self.starts) != sorted(set(self.starts)):
            raise ValueError(f"tenure bands must start at 0 and ascend, got {self.starts}")

    def __len__(self) -> int:
        return len(self.starts)

    def index(self, tenure_days: np.ndarray) -> np.ndarray:
        """The band of each tenure (negative tenures count as the install day)."""
        tenure = np.maximum(np.asarray(tenure_days, dtype=np.float64), 0.0)
        return np.searchsorted(np.asarray(self.starts), tenure, side="right") - 1

    def label(self, band: int) -> str:
        """ "install day", "day 1", "days 3-4", "day 14+"."""
        first = self.starts[band]
        if band == len(self.starts) - 1:
            return f"day {first}+"
        last = self.starts[band + 1] - 1
        if first == last:
            return "install day" if first == 0 else f"day {first}"
        return f"days {first}-{last}"

    def labels(self) -> list[str]:
        return [self.label(band) for band in range(len(self.starts))]


COHORTS = TenureBands((0, 1, 3, 5, 7, 14))
PEERS = TenureBands((0, 1, 2, 3, 5, 7, 14, 28, 56))
DRIFT = TenureBands((0, 1, 3, 7, 14, 28, 56, 112))
