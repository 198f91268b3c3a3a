"""After a scoring run that did not export (the weekly retrain, a launch from the UI), the
export's eager condition asks for it once; after the nightly run, which exports as it scores,
it asks for nothing. Evaluated by Dagster's own evaluator on a real instance's event log."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration import asset_keys
from orchestration.definitions import build_definitions
from orchestration.exports.definitions import exports_after_scoring

SCORING = (asset_keys.CHURN_FEATURES, asset_keys.CHURN_SCORES, asset_keys.CHURN_REASONS)


def test_the_export_follows_a_scoring_run_that_did_not_export_and_only_that(
    home: Path, instance: dg.DagsterInstance
) -> None:
    defs = build_definitions(home)
    target = dg.AssetSelection.assets(asset_keys.CHURN_SCORE_EXPORTS)
    cursor = None

    def requested_after(*materialized: dg.AssetKey) -> int:
        nonlocal cursor
        for key in materialized:
            instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key))
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=target, cursor=cursor
        )
        cursor = result.cursor
        return result.total_requested

    assert requested_after() == 0  # nothing scored yet
    assert requested_after(*SCORING) == 1  # scored, not exported: export
    assert requested_after() == 0  # asked once, not on every tick
    assert requested_after(asset_keys.CHURN_SCORE_EXPORTS) == 0
    assert requested_after(*SCORING, asset_keys.CHURN_SCORE_EXPORTS) == 0  # the nightly run
    assert requested_after(asset_keys.CHURN_SCORES, asset_keys.CHURN_REASONS) == 1  # weekly

    location = defs.get_repository_def()
    sensor = location.get_sensor_def(exports_after_scoring.name)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert location.get_job("export_churn_scores").asset_layer.selected_asset_keys == {
        asset_keys.CHURN_SCORE_EXPORTS
    }
