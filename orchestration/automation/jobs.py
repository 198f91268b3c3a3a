"""Jobs: the load of landed shards (sensor), the nightly run and the weekly retrain (schedules).

Jobs select by asset key, group and cadence tag, so an asset joins them without an edit here: an
asset downstream of landing joins the nightly job unless it is tagged weekly
(`orchestration.cadence`).
"""

from __future__ import annotations

import dagster as dg

import orchestration.landing.definitions
import orchestration.warehouse.definitions
from orchestration import asset_keys
from orchestration.cadence import WEEKLY_ASSETS

LANDING = dg.AssetSelection.assets(asset_keys.RAW_EVENTS, asset_keys.DEADLETTER_EVENTS)

# The load's own checks. dbt's tests of the `events` source are checks of `events` too, but they
# run in the dbt step: they come with the dbt build (nightly), not with every load of a day.
_LOAD_DOMAINS = (orchestration.landing.definitions.defs, orchestration.warehouse.definitions.defs)
LOAD_CHECKS = dg.AssetSelection.checks(
    *(d for defs in _LOAD_DOMAINS for d in (*(defs.assets or ()), *(defs.asset_checks or ())))
)

load_landed_events = dg.define_asset_job(
    "load_landed_events",
    selection=dg.AssetSelection.groups("landing", "warehouse").without_checks() | LOAD_CHECKS,
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
    selection=dg.AssetSelection.assets(
        asset_keys.CHURN_TRAINING_SET,
        asset_keys.CHURN_MODEL,
        asset_keys.CHURN_SCORES,
        asset_keys.CHURN_REASONS,
    ),
    description=(
        "Rebuild the training set, retrain and register the churn model, then re-score the "
        "latest snapshot (with the new model if it passed, else the previous one)."
    ),
)
