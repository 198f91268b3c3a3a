"""Scoring a chosen date or a tenure cohort: the Launchpad's run config and `respawn score`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ingestion.settings import models_root, warehouse_path
from ml.pipeline import TrainingResult
from ml.registry import register
from orchestration.cli import main
from orchestration.dbt.as_of import AS_OF_ENV
from orchestration.ml import definitions
from orchestration.ml.assets import ScoringConfig
from orchestration.ml.command import run_config
from orchestration.resources import WarehouseResource
from tests.support import synthetic
from tests.support.churn_data import N_DAYS, day


@pytest.fixture
def scoring_home(
    home: Path, strong_data: synthetic.SyntheticData, strong_result: TrainingResult
) -> Path:
    """A home with the strong warehouse and a registered model that passed."""
    con = duckdb.connect(str(warehouse_path(home)))
    synthetic.write_tables(con, strong_data)
    con.close()
    register(strong_result.artifacts, models_root(home))
    return home


def _job(home: Path) -> dg.JobDefinition:
    warehouse = WarehouseResource(database=str(warehouse_path(home)))
    location = dg.Definitions(
        assets=definitions.defs.assets,
        asset_checks=definitions.defs.asset_checks,
        jobs=definitions.defs.jobs,
        resources={"warehouse": warehouse},
    )
    return location.resolve_job_def(definitions.SCORING_JOB)


def _scored(home: Path) -> list[tuple]:
    with duckdb.connect(str(warehouse_path(home)), read_only=True) as con:
        return con.execute(
            "SELECT scope, scoring_date, count(*) FROM ml.churn_scores GROUP BY ALL ORDER BY ALL"
        ).fetchall()


def test_the_launchpad_config_scores_a_chosen_date_then_a_tenure_cohort(
    scoring_home: Path, instance: dg.DagsterInstance, strong_data: synthetic.SyntheticData
) -> None:
    job = _job(scoring_home)
    chosen = day(N_DAYS - 10)
    run = job.execute_in_process(run_config=run_config(chosen, None, 3), instance=instance)
    assert run.success
    on_date = int((strong_data.features["snapshot_date"] == str(chosen)).sum())
    assert _scored(scoring_home) == [("snapshot", chosen, on_date)]
    meta = run.asset_materializations_for_node("score_churn")[0].metadata
    assert meta["scored"].value == str(chosen) and meta["scoring date"].value == str(chosen)

    cohort = job.execute_in_process(run_config=run_config(None, 2, 3), instance=instance)
    assert cohort.success
    on_day_2 = strong_data.features[strong_data.features["tenure_days"] == 2]
    cohort_rows = [row for row in _scored(scoring_home) if row[0] == "tenure_day_2"]
    assert sum(n for *_, n in cohort_rows) == len(on_day_2)
    assert ("snapshot", chosen, on_date) in _scored(scoring_home)  # untouched
    text = cohort.asset_materializations_for_node("score_churn")[0].metadata["scored"].value
    assert text == "every player on day 2 after install, on every snapshot date"


def test_a_date_that_is_not_a_date_fails_the_run_with_what_to_write(
    scoring_home: Path, instance: dg.DagsterInstance
) -> None:
    bad = {"ops": {"score_churn": {"config": {"snapshot_date": "last tuesday"}}}}
    run = _job(scoring_home).execute_in_process(
        run_config=bad, instance=instance, raise_on_error=False
    )
    assert not run.success
    failure = next(e for e in run.all_events if e.is_step_failure)
    assert "is not a date like 2026-03-01" in failure.event_specific_data.error.message


def test_respawn_score_scores_a_date_and_prints_who_to_act_on(
    scoring_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    chosen = day(N_DAYS - 3)
    argv = ["score", "--home", str(scoring_home), "--date", str(chosen), "--top", "3"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert f"players: {chosen}, with the model of" in out
    assert "Most at risk, still reachable:" in out and "Most at risk, lapsed:" in out
    assert "| reachable (played in the last 3 days: act now) |" in out
    assert [row[:2] for row in _scored(scoring_home)] == [("snapshot", chosen)]
    # A cohort from the command line: every player on day 3 after install.
    assert main(["score", "--home", str(scoring_home), "--tenure-days", "3", "--top", "2"]) == 0
    out = capsys.readouterr().out
    assert "every player on day 3 after install, on every snapshot date" in out
    scopes = {row[0] for row in _scored(scoring_home)}
    assert scopes == {"snapshot", "tenure_day_3"}
    # The runs are in the instance the UI reads.
    with dg.DagsterInstance.get() as recorded:
        runs = recorded.get_runs()
    assert [r.job_name for r in runs] == [definitions.SCORING_JOB] * 2


def test_an_as_of_time_picks_the_snapshot_of_its_last_complete_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(AS_OF_ENV, raising=False)
    assert ScoringConfig().request().snapshot_date is None  # the latest snapshot
    assert ScoringConfig(as_of="2026-03-10").request().snapshot_date == date(2026, 3, 9)
    monkeypatch.setenv(AS_OF_ENV, "2026-03-20T06:00:00")  # the `respawn` command's setting
    assert ScoringConfig().request().snapshot_date == date(2026, 3, 19)
    # a chosen date or cohort is what the run asked for
    assert ScoringConfig(snapshot_date="2026-03-01").request().snapshot_date == date(2026, 3, 1)
    assert ScoringConfig(tenure_days=3).request().snapshot_date is None
    with pytest.raises(dg.Failure, match="not an ISO date"):
        ScoringConfig(as_of="yesterday").request()
