"""Evaluation against a known truth: for simulated data only, never a production input.

`respawn simulate` writes `players.csv` into its truth directory (`--truth-dir`): per player the
date of the last session before they churned (`churn_date`), the day they came back
(`return_date`, if they did) and the last session before churning again (`churn_again_date`).
A player truly churned at snapshot `d` when they are gone at `d + horizon`: the question the
model answers, asked of what really happened rather than of the observed sessions.

Nothing in the Dagster assets calls this module: the demo's report and the benchmarks do, as an
explicit step after training, with a registered model and the warehouse it was trained on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ml.dataset import LabeledSet
from ml.evaluate import compare
from ml.pipeline import evaluation_candidates
from ml.registry import RegisteredModel
from ml.split import TimeSplit

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


def compare_with_truth(
    model: RegisteredModel, data: LabeledSet, truth: pd.Series
) -> pd.DataFrame | None:
    """The model's held-out comparison with the baselines, scored against `truth` (aligned with
    `data`'s rows, NA where unknown) instead of the observed labels: the same evaluation rows
    (the model's registered time split of `data`, the data it was trained on), the same
    candidates. None when the truth knows none of those rows."""
    split = TimeSplit.from_dict(model.manifest["training_window"])
    masks = split.masks(data.keys["snapshot_date"])
    train, held_out = data.subset(masks["train"]), data.subset(masks["evaluation"])
    truth_held_out = pd.Series(truth).reset_index(drop=True)[masks["evaluation"]]
    known = truth_held_out.notna().to_numpy()
    if not known.any():
        return None
    candidates = evaluation_candidates(
        model.margin(held_out.features), model.calibrator, train, held_out
    )
    return compare(
        truth_held_out[known].to_numpy(dtype=np.int8),
        {name: candidate.subset(known) for name, candidate in candidates.items()},
    )
