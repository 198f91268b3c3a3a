"""The simulator's ground truth, read as "is the player gone at snapshot + horizon"."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ml.ground_truth import PLAYERS_FILE, load_players, true_churn


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
