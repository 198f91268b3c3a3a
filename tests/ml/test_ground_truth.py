"""The simulator's ground truth, read as "is the player gone at snapshot + horizon"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.evaluate import MODEL, Candidate
from ml.ground_truth import (
    ORACLE_FILE,
    PLAYERS_FILE,
    against_oracle,
    load_oracle,
    load_players,
    oracle_probability,
    true_churn,
)


def test_truth_says_gone_at_the_horizon_end_and_respects_returns(tmp_path: Path) -> None:
    (tmp_path / PLAYERS_FILE).write_text(
        "user_id,player_index,churn_date,return_date,churn_again_date\n"
        "stays,0,,,\n"
        "leaves,1,2026-01-10,,\n"
        "returns,2,2026-01-05,2026-01-12,\n"
        "leaves_twice,3,2026-01-02,2026-01-06,2026-01-20\n"
    )
    players = load_players(tmp_path)
    assert players is not None
    keys = pd.DataFrame(
        {
            "user_id": ["stays", "leaves", "leaves", "returns", "returns", "leaves_twice", "ghost"],
            "snapshot_date": pd.to_datetime(
                [
                    "2026-01-01",
                    "2026-01-01",
                    "2025-12-20",
                    "2026-01-01",
                    "2025-12-25",
                    "2026-01-10",
                    "2026-01-01",
                ]
            ),
        }
    )
    truth = true_churn(keys, players, horizon_days=14)
    # leaves: gone by 01-15 (churned 01-10), not yet by 01-03; returns: back on 01-12, so not
    # gone at 01-15 but gone at 01-08; leaves_twice: gone again by 01-24; ghost: unknown.
    assert truth.tolist() == [0, 1, 0, 0, 1, 1, pd.NA]


def test_no_truth_directory_means_no_ground_truth(tmp_path: Path) -> None:
    assert load_players(tmp_path / "nowhere") is None


def _oracle_files(truth: Path) -> None:
    """The simulator's oracle (ingestion/simulator/truth.py: one row per player and day from
    install, `player_index` joining players.csv) for two players."""
    (truth / PLAYERS_FILE).write_text(
        "user_id,player_index,churn_date,return_date,churn_again_date\nu0,0,,,\nu1,1,,,\n"
    )
    (truth / ORACLE_FILE).write_text(
        "player_index,date,tenure_days,p_gone,p_quiet_7d,p_quiet_10d,p_quiet_14d\n"
        "0,2026-01-01,0,0.10,0.20,0.15,0.12\n"
        "0,2026-01-02,1,0.30,0.40,0.35,0.32\n"
        "1,2026-01-01,0,0.70,0.90,0.85,0.80\n"
    )


def test_the_oracle_is_read_per_player_and_snapshot_day(tmp_path: Path) -> None:
    _oracle_files(tmp_path)
    oracle = load_oracle(tmp_path)
    assert oracle is not None
    keys = pd.DataFrame(
        {
            "user_id": ["u1", "u0", "u0", "stranger"],
            "snapshot_date": pd.to_datetime(
                ["2026-01-01", "2026-01-02", "2026-01-05", "2026-01-01"]
            ),
        }
    )
    p = oracle_probability(keys, oracle, horizon_days=10)
    assert p[:2].tolist() == [0.85, 0.35] and np.isnan(p[2:]).all()
    assert oracle_probability(keys, oracle, horizon_days=7)[0] == 0.90
    with pytest.raises(ValueError, match="p_quiet_14d"):
        oracle_probability(keys, oracle, horizon_days=30)
    assert load_oracle(tmp_path / "nowhere") is None


def test_the_oracle_is_compared_on_the_rows_it_knows(tmp_path: Path) -> None:
    labels = np.array([1, 0, 1, 0, 1])
    oracle_p = np.array([0.9, 0.1, 0.8, 0.3, np.nan])
    model = Candidate(np.array([0.6, 0.7, 0.9, 0.2, 0.99]))
    out = against_oracle(labels, {MODEL: model}, oracle_p)
    assert out["rows"] == 4
    assert out["oracle"] == 1.0 and out[MODEL] == 0.75  # on the 4 known rows only
    assert out["model_gap_to_oracle"] == 0.25
