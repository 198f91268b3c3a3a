"""Jobs: the load of landed shards (sensor) and the nightly run (schedule)."""

from __future__ import annotations

import dagster as dg

from orchestration.checks import DEADLETTER_EVENTS, RAW_EVENTS

# Assets that run on a cadence of their own (e.g. weekly model training) carry this tag with
# the value "weekly" and stay out of the nightly job; everything else downstream of landing
# (the dbt models, ML scoring) joins it without an edit here.
CADENCE_TAG = "respawn/cadence"

LANDING = dg.AssetSelection.assets(RAW_EVENTS, DEADLETTER_EVENTS)

load_landed_events = dg.define_asset_job(
    "load_landed_events",
    selection=dg.AssetSelection.groups("landing", "warehouse"),
    description="Load a day's new shards into raw_events / deadletter_events and merge events.",
)

nightly = dg.define_asset_job(
    "nightly",
    selection=LANDING.downstream() - dg.AssetSelection.tag(CADENCE_TAG, "weekly"),
    description=(
        "The previous day through raw_events -> events -> dbt build (-> scoring), in order, "
        "one step at a time (warehouse pool)."
    ),
)
