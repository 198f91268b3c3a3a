"""Evaluation against a known truth: for simulated data only, never a production input.

`respawn simulate` writes `players.csv` into its truth directory (`--truth-dir`): per player the
date of the last session before they churned (`churn_date`), the day they came back
(`return_date`, if they did) and the last session before churning again (`churn_again_date`).
A player truly churned at snapshot `d` when they are gone at `d + horizon`: the question the
model answers, asked of what really happened rather than of the observed sessions.

`oracle.csv` (the simulator's `--profile casual-mobile` and later) holds, per player and day
from install, what an oracle that knows the simulator's true hazard says at the end of that day:
`p_quiet_<M>d`, the true probability of no session start in the next M days (M = 7, 10, 14), the
very question of a label with horizon M. Its ROC-AUC on the rows a model is evaluated on is the
ceiling for that model on simulated data (issue 14's goal: within 0.02 of it).

Nothing in the Dagster assets calls this module (a test enforces it): the demo's report and the
benchmarks do, as an explicit step after training, with a registered model and the warehouse it
was trained on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from ml.dataset import LabeledSet
from ml.evaluate import MODEL, Candidate, compare
from ml.new_players import NewPlayerEvaluation
from ml.pipeline import evaluation_candidates, fit_baselines
from ml.registry import RegisteredModel
from ml.split import TimeSplit

PLAYERS_FILE = "players.csv"
ORACLE_FILE = "oracle.csv"
ORACLE = "oracle"
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
        model.margin(held_out.features), model.calibrator, fit_baselines(train), held_out
    )
    return compare(
        truth_held_out[known].to_numpy(dtype=np.int8),
        {name: candidate.subset(known) for name, candidate in candidates.items()},
    )


def load_oracle(truth_dir: Path) -> pd.DataFrame | None:
    """The oracle's rows keyed like the features (user_id, snapshot_date = the oracle's day),
    with `tenure_days`, `p_gone` and every `p_quiet_<M>d`; None without an oracle file."""
    oracle_path, players_path = truth_dir / ORACLE_FILE, truth_dir / PLAYERS_FILE
    if not (oracle_path.is_file() and players_path.is_file()):
        return None
    players = pd.read_csv(players_path, usecols=["user_id", "player_index"], dtype=str)
    oracle = pd.read_csv(oracle_path, dtype={"player_index": str}, engine="pyarrow")
    oracle = oracle.merge(players, on="player_index", how="left", validate="m:1")
    oracle["snapshot_date"] = pd.to_datetime(oracle.pop("date"))
    return oracle.drop(columns=["player_index"])


def oracle_probability(keys: pd.DataFrame, oracle: pd.DataFrame, horizon_days: int) -> np.ndarray:
    """The oracle's probability of no session in the `horizon_days` after each (user_id,
    snapshot_date) of `keys`; NaN where the oracle does not know the row."""
    column = f"p_quiet_{horizon_days}d"
    if column not in oracle.columns:
        known = sorted(c for c in oracle.columns if c.startswith("p_quiet_"))
        raise ValueError(f"the oracle has no {column} (it knows {known}); pick one of those")
    rows = keys[["user_id", "snapshot_date"]].assign(
        snapshot_date=lambda k: pd.to_datetime(k["snapshot_date"])
    )
    aligned = rows.merge(
        oracle[["user_id", "snapshot_date", column]],
        on=["user_id", "snapshot_date"],
        how="left",
        validate="m:1",
    )
    return aligned[column].to_numpy(dtype=np.float64)


def against_oracle(
    labels: np.ndarray, candidates: dict[str, Candidate], oracle_p: np.ndarray
) -> dict[str, float | int]:
    """ROC-AUC of each candidate and of the oracle on the rows the oracle knows, the count of
    those rows, and the model's gap to the oracle (oracle minus model)."""
    known = ~np.isnan(oracle_p)
    out: dict[str, float | int] = {"rows": int(known.sum())}
    if known.sum() == 0 or np.unique(labels[known]).size < 2:
        return out
    for name, candidate in {**candidates, ORACLE: Candidate(oracle_p)}.items():
        ranking = candidate.probability if candidate.ranking is None else candidate.ranking
        out[name] = round(float(roc_auc_score(labels[known], ranking[known])), 4)
    if MODEL in out:
        out["model_gap_to_oracle"] = round(float(out[ORACLE]) - float(out[MODEL]), 4)
    return out


def new_players_against_oracle(
    evaluation: NewPlayerEvaluation, oracle: pd.DataFrame
) -> dict[str, float | int]:
    """The new-player evaluation's test players, scored by the oracle beside the candidates."""
    horizon = int(evaluation.summary["setting"]["horizon_days"])
    probability = oracle_probability(evaluation.test_keys, oracle, horizon)
    return against_oracle(evaluation.test_labels, evaluation.candidates, probability)
