"""On the simulator's casual-mobile players, the model is within 0.02 ROC-AUC of an oracle that
scores with the simulator's true hazard (issue 14), in the new-player setting.

The whole platform runs: `respawn simulate --profile casual-mobile --to-landing`, the load, dbt,
the new-player evaluation (`ml.new_players`) and the oracle's truth file (`oracle.csv`, read by
`ml.ground_truth`, an evaluation step production never runs). It needs a simulator that writes
`oracle.csv`; until that simulator is merged, the test is skipped and says why.
"""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from ingestion.settings import truth_root
from ml.ground_truth import load_oracle, new_players_against_oracle
from ml.new_players import PRESETS, new_player_evaluation
from tests.e2e.pipeline import Pipeline, landed_days, simulate, warehouse

ORACLE_GAP = 0.02
HAS_ORACLE = importlib.util.find_spec("ingestion.simulator.oracle") is not None


@pytest.mark.slow
@pytest.mark.skipif(
    not HAS_ORACLE,
    reason="the simulator writes no oracle.csv yet (sim-fast's --profile casual-mobile adds it)",
)
def test_the_model_is_within_002_auc_of_the_oracle_on_new_casual_players(
    home: Path, instance: dg.DagsterInstance
) -> None:
    simulate(
        "--profile", "casual-mobile",
        "--players", "8000",
        "--days", "70",
        "--start", "2026-01-01",
        "--seed", "3",
        "--no-faults",
        "--to-landing", str(home / "landing"),
        "--truth-dir", str(truth_root(home)),
    )  # fmt: skip
    pipeline = Pipeline(home, instance)
    days = landed_days(home)
    assert pipeline.backfill(days[0], days[-1]).success
    assert pipeline.build_marts().success
    oracle = load_oracle(truth_root(home))
    assert oracle is not None, "the simulator wrote no oracle.csv"
    with warehouse(home) as con:
        evaluation = new_player_evaluation(con, PRESETS["5+10"])
    assert evaluation.evaluated, evaluation.summary
    figures = new_players_against_oracle(evaluation, oracle)
    assert figures["rows"] == evaluation.summary["players"]["test"]  # the oracle knows them all
    assert figures["model_gap_to_oracle"] <= ORACLE_GAP, figures
    assert figures["model"] > figures["recency_rule"], figures
    assert date.fromisoformat(evaluation.summary["installs"]["test"][0]) >= date(2026, 1, 1)
