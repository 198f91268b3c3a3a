"""Jobs: the load of landed shards (sensor), the nightly run and the weekly retrain (schedules).

Jobs select by asset key, group and cadence tag, so an asset joins them without an edit here: an
asset downstream of landing joins the nightly job unless it is tagged weekly
(`orchestration.cadence`).
"""

from __future__ import annotations

import dagster as dg

from orchestration import asset_keys
from orchestration.cadence import WEEKLY_ASSETS

LANDING = dg.AssetSelection.assets(asset_keys.RAW_EVENTS, asset_keys.DEADLETTER_EVENTS)

load_landed_events = dg.define_asset_job(
    "load_landed_events",
    selection=dg.AssetSelection.groups("landing", "warehouse"),
    description="Load a day's new shards into raw_events / deadletter_events and merge events.",
)

nightly = dg.define_asset_job(
    "nightly",
    selection=LANDING.downstream() - WEEKLY_ASSETS,
    description=(
        "The previous day through raw_events -> events -> dbt build (-> scoring), in order, "
        "one step at a time (warehouse pool)."
    ),
)

weekly_churn_retrain = dg.define_asset_job(
    "weekly_churn_retrain",
    # the weekly assets and everything downstream of them: scores, reasons, their exports
    selection=WEEKLY_ASSETS.downstream(),
    description=(
        "Rebuild the training set, retrain and register the churn model, then re-score the "
        "latest snapshot (with the new model if it passed, else the previous one) and export it."
    ),
)
