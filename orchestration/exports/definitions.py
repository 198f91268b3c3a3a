"""What the exports domain contributes to the code location: the export, its job, and the sensor
that re-exports after any scoring run that did not export (the weekly retrain, a UI launch).
Built by a function, since its resource names the exports folder of the code location's home."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration import asset_keys
from orchestration.exports.assets import churn_score_exports
from orchestration.exports.layout import exports_root
from orchestration.exports.resources import ExportsResource

export_churn_scores = dg.define_asset_job(
    "export_churn_scores",
    selection=[asset_keys.CHURN_SCORE_EXPORTS],
    description="Write the latest scores, reasons and report under $RESPAWN_HOME/exports.",
)

# The export's automation condition (eager: after its parents update) is evaluated here. The
# nightly job exports in the same run as it scores, so this only acts on other scoring runs.
exports_after_scoring = dg.AutomationConditionSensorDefinition(
    "exports_after_scoring",
    target=dg.AssetSelection.assets(asset_keys.CHURN_SCORE_EXPORTS),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Re-exports the scores after a scoring run that did not export them.",
)


def build_exports_definitions(home: Path | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=[churn_score_exports],
        jobs=[export_churn_scores],
        sensors=[exports_after_scoring],
        resources={"exports": ExportsResource(root=str(exports_root(home)))},
    )
