"""The simulator's ground truth, for evaluation only (never for training).

`respawn simulate` writes `players.csv` under `ingestion.settings.truth_root()`: per player the
date of the last session before they churned (`churn_date`), the day they came back
(`return_date`, if they did) and the last session before churning again (`churn_again_date`).
A player truly churned at snapshot `d` when they are gone at `d + horizon`: the question the
model answers, asked of what really happened rather than of the observed sessions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

PLAYERS_FILE = "players.csv"
_DATE_COLUMNS = ("churn_date", "return_date", "churn_again_date")


def load_players(truth_dir: Path) -> pd.DataFrame | None:
    """The players' churn dates, or None when there is no ground truth (real, not simulated)."""
    path = truth_dir / PLAYERS_FILE
    if not path.is_file():
        return None
    frame = pd.read_csv(path, usecols=["user_id", *_DATE_COLUMNS], dtype=str)
    for column in _DATE_COLUMNS:
        frame[column] = pd.to_datetime(frame[column], errors="coerce")
    return frame


def true_churn(keys: pd.DataFrame, players: pd.DataFrame, horizon_days: int) -> pd.Series:
    """For each (user_id, snapshot_date) row of `keys`: 1 when the player is truly gone at
    `snapshot_date + horizon_days`, 0 when not, NA when the player is unknown to the simulator."""
    rows = keys[["user_id", "snapshot_date"]].merge(
        players, on="user_id", how="left", validate="m:1"
    )
    at = pd.to_datetime(rows["snapshot_date"]) + pd.Timedelta(days=horizon_days)
    first = rows["churn_date"].le(at) & ~rows["return_date"].le(at)
    again = rows["churn_again_date"].le(at)
    known = rows["user_id"].isin(players["user_id"]).to_numpy()
    values = (first | again).astype(np.int8).to_numpy()
    return pd.Series(pd.array(np.where(known, values, 0), dtype="Int8")).mask(~known)
