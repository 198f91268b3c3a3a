"""`churn_score_exports`: after scoring, the game team's files under exports/<scoring date>/,
materialized through Dagster on a real, really scored DuckDB warehouse."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from ingestion.settings import warehouse_path
from orchestration import asset_keys
from orchestration.exports.assets import churn_score_exports
from orchestration.exports.definitions import build_exports_definitions
from orchestration.exports.layout import LATEST, export_files
from orchestration.exports.segments import REACHABLE_DAYS, at_risk
from orchestration.exports.tables import read_scored_day
from orchestration.exports.writer import write_export
from orchestration.inline_plots import UI_INLINE_LIMIT
from orchestration.resources import WarehouseResource


def _export(home: Path, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    resources = build_exports_definitions(home).resources or {}
    return dg.materialize(
        [churn_score_exports],
        resources={**resources, "warehouse": WarehouseResource(database=str(warehouse_path(home)))},
        instance=instance,
    )


def _warehouse(home: Path, sql: str, params: list[object] | None = None) -> pd.DataFrame:
    con = duckdb.connect(str(warehouse_path(home)), read_only=True)
    try:
        return con.execute(sql, params or []).df()
    finally:
        con.close()


def test_the_export_holds_the_latest_scores_and_reasons_as_parquet_and_csv(
    home: Path, instance: dg.DagsterInstance, scored_dates: list[date], exports: Path
) -> None:
    result = _export(home, instance)
    latest_day = scored_dates[-1]
    files = export_files(exports, latest_day)
    scores = pd.read_parquet(files.scores_parquet)
    in_warehouse = _warehouse(
        home, "select * from ml.churn_scores where scoring_date = ? order by user_id", [latest_day]
    )
    assert len(scores) == len(in_warehouse) > 0
    mine = scores.set_index("user_id").loc[in_warehouse["user_id"]]
    assert (mine["churn_probability"].to_numpy() == in_warehouse["churn_probability"]).all()
    assert (mine["risk_tier"].to_numpy() == in_warehouse["risk_tier"]).all()
    assert {"days_since_last_session", "tenure_days", "reasons"} <= set(scores.columns)
    assert scores["churn_probability"].is_monotonic_decreasing  # most at risk first

    reasons = pd.read_parquet(files.reasons_parquet)
    stored = _warehouse(home, "select * from ml.churn_reasons where scoring_date = ?", [latest_day])
    assert len(reasons) == len(stored) > 0
    first = scores.iloc[0]
    own = reasons[reasons["user_id"] == first["user_id"]].sort_values("reason_rank")
    assert first["reasons"] == "; ".join(own["reason"])

    csv = pd.read_csv(files.scores_csv)
    assert list(csv["user_id"]) == list(scores["user_id"])
    assert (csv["churn_probability"] - scores["churn_probability"]).abs().max() < 1e-5
    assert len(pd.read_csv(files.reasons_csv)) == len(reasons)

    latest = exports / LATEST
    assert latest.is_symlink() and latest.resolve() == files.directory.resolve()
    manifest = json.loads(files.manifest.read_text())
    assert manifest["scoring_date"] == latest_day.isoformat()
    assert manifest["players"] == len(scores)
    assert sum(manifest["players_by_tier"].values()) == len(scores)
    assert files.report.read_text().startswith("<!doctype html>")

    meta = result.asset_materializations_for_node("churn_score_exports")[0].metadata
    assert meta["dagster/row_count"].value == len(scores)
    assert meta["report"].value == str(files.report)
    assert meta["latest"].value == str(latest)
    assert meta["scoring date"].value == latest_day.isoformat()
    recent = scores["days_since_last_session"] < REACHABLE_DAYS
    expected_listed = int((at_risk(scores) & recent).sum())
    assert meta["at risk, still reachable"].value == expected_listed
    plot = meta["risk distribution"].value
    assert plot.startswith("![") and len(plot) < UI_INLINE_LIMIT
    assert meta["seconds"].value == round(meta["seconds"].value, 2)


def test_the_tiers_over_time_count_every_scoring_date(
    home: Path, instance: dg.DagsterInstance, scored_dates: list[date], exports: Path
) -> None:
    _export(home, instance)
    tiers = pd.read_csv(export_files(exports).tiers_over_time, parse_dates=["scoring_date"])
    stored = _warehouse(
        home, "select scoring_date, count(*) as n from ml.churn_scores group by 1 order by 1"
    )
    per_day = tiers.groupby("scoring_date")["players"].sum()
    assert [d.date() for d in per_day.index] == scored_dates
    assert list(per_day) == list(stored["n"])


def test_an_older_date_exported_again_replaces_its_folder_and_latest_stays_on_the_newest(
    home: Path, scored_dates: list[date], exports: Path
) -> None:
    older, newest = scored_dates
    con = duckdb.connect(str(warehouse_path(home)), read_only=True)
    try:
        first = write_export(read_scored_day(con, newest), exports)
        (first.files.directory / "stale.txt").write_text("from a previous export")
        again = write_export(read_scored_day(con, newest), exports)
        other = write_export(read_scored_day(con, older), exports)
    finally:
        con.close()
    assert not (again.files.directory / "stale.txt").exists()  # the folder was replaced whole
    assert other.files.directory.name == older.isoformat()
    assert (exports / LATEST).resolve() == again.files.directory.resolve()
    hidden = [p.name for p in exports.iterdir() if p.name.startswith(".")]
    assert hidden == []  # no staging folder or link left behind


def test_nothing_is_exported_while_nothing_is_scored(
    home: Path, instance: dg.DagsterInstance, exports: Path
) -> None:
    duckdb.connect(str(warehouse_path(home))).close()  # an empty warehouse
    result = _export(home, instance)
    assert result.success
    assert result.asset_materializations_for_node("churn_score_exports") == []
    assert not exports.exists()


@pytest.mark.parametrize(("flag", "reachable_when"), [("is_active", True), ("is_lapsed", False)])
def test_a_column_the_scoring_adds_reaches_the_export_and_a_reachable_flag_is_used(
    home: Path,
    instance: dg.DagsterInstance,
    scored_dates: list[date],
    exports: Path,
    flag: str,
    reachable_when: bool,
) -> None:
    con = duckdb.connect(str(warehouse_path(home)))
    try:  # as a newer scoring could: a flag that disagrees with the recency rule
        con.execute(f"alter table ml.churn_scores add column {flag} boolean")
        con.execute(f"update ml.churn_scores set {flag} = (risk_rank % 2 = 0) = {reachable_when}")
    finally:
        con.close()
    result = _export(home, instance)
    scores = pd.read_parquet(export_files(exports).scores_parquet)
    assert flag in scores.columns
    reachable = scores[flag] if reachable_when else ~scores[flag]
    meta = result.asset_materializations_for_node("churn_score_exports")[0].metadata
    assert meta["at risk, still reachable"].value == int((at_risk(scores) & reachable).sum())
    assert meta["reachable means"].value == f"the scores' `{flag}` flag"


def test_the_export_runs_after_scoring_in_the_nightly_job() -> None:
    from orchestration.definitions import defs

    location = defs()
    node = location.resolve_asset_graph().get(asset_keys.CHURN_SCORE_EXPORTS)
    assert {asset_keys.CHURN_SCORES, asset_keys.CHURN_REASONS} <= node.parent_keys
    assert node.group_name == "exports" and node.owners and node.kinds >= {"parquet", "html"}
    # Markdown keeps `<scoring date>` only inside a code span (bare, it is swallowed as a tag)
    assert "`$RESPAWN_HOME/exports/<scoring date>/`" in node.description
    nightly = location.resolve_job_def("nightly").asset_layer.selected_asset_keys
    assert {asset_keys.CHURN_SCORES, asset_keys.CHURN_SCORE_EXPORTS} <= nightly
