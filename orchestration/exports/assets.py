"""`churn_score_exports`: the latest scoring date, written where the game team reads it.

Downstream of the scores and reasons, so it joins the nightly job after scoring without an edit
to the scoring asset; after any other scoring run (the weekly retrain, a launch from the UI) its
eager automation condition has `exports_after_scoring` export again. It reads the warehouse once, in
the warehouse pool like every reader of the file, and writes only files.
"""

import time
from collections.abc import Iterator

import dagster as dg

from ml.score import HIGH_RISK, MEDIUM_RISK, TIERS
from orchestration import asset_keys
from orchestration.exports.resources import ExportsResource
from orchestration.exports.tables import read_scored_day
from orchestration.exports.writer import write_export
from orchestration.inline_plots import histogram_plot
from orchestration.owners import ML_ENGINEERING
from orchestration.resources import WAREHOUSE_POOL, WarehouseResource

EXPORTS_GROUP = "exports"


@dg.asset(
    key=asset_keys.CHURN_SCORE_EXPORTS,
    deps=[asset_keys.CHURN_SCORES, asset_keys.CHURN_REASONS, asset_keys.CHURN_FEATURES],
    group_name=EXPORTS_GROUP,
    owners=ML_ENGINEERING,
    kinds={"parquet", "csv", "html"},
    pool=WAREHOUSE_POOL,
    output_required=False,
    automation_condition=dg.AutomationCondition.eager(),
    description=(
        "The game team's copy of the latest scoring date, readable without the warehouse: "
        "`$RESPAWN_HOME/exports/<scoring date>/` holds the scores (with when each player last "
        "played, their tenure and their reasons) and the reasons as Parquet and CSV, the tiers "
        "of every date scored, and `report.html`: risk distribution, tiers over time, top "
        "drivers, and a searchable table of the players at risk who are still reachable. "
        "`exports/latest` points to the newest date; `respawn scores` prints segments of it. "
        "Skipped while nothing is scored."
    ),
)
def churn_score_exports(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, exports: ExportsResource
) -> Iterator[dg.MaterializeResult]:
    started = time.perf_counter()
    with warehouse.get_connection() as con:
        day = read_scored_day(con)
    if day is None:
        context.log.warning("ml.churn_scores holds no scores yet: nothing to export")
        return
    export = write_export(day, exports.path)
    files, manifest = export.files, export.manifest
    by_tier = manifest["players_by_tier"]
    assert isinstance(by_tier, dict)
    context.log.info(
        f"exported {len(day.scores):,} players of {day.scoring_date} to {files.directory}"
    )
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(len(day.scores)),
            "scoring date": dg.MetadataValue.text(day.scoring_date.isoformat()),
            "report": dg.MetadataValue.path(str(files.report)),
            "export folder": dg.MetadataValue.path(str(files.directory)),
            "latest": dg.MetadataValue.path(str(export.latest)),
            "scores (parquet)": dg.MetadataValue.path(str(files.scores_parquet)),
            "reasons (parquet)": dg.MetadataValue.path(str(files.reasons_parquet)),
            **{
                f"{tier} risk players": dg.MetadataValue.int(int(by_tier.get(tier, 0)))
                for tier in TIERS
            },
            "at risk, still reachable": dg.MetadataValue.int(int(manifest["at_risk_reachable"])),
            "reachable means": dg.MetadataValue.text(str(manifest["reachable_rule"])),
            "reason rows": dg.MetadataValue.int(len(day.reasons)),
            "risk distribution": histogram_plot(
                day.scores["churn_probability"].to_numpy(),
                marks={"Medium": MEDIUM_RISK, "High": HIGH_RISK},
            ),
            "seconds": dg.MetadataValue.float(round(time.perf_counter() - started, 2)),
        }
    )
