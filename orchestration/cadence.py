"""How often an asset is refreshed, as a tag the jobs select by.

An asset downstream of the landing assets joins the nightly job (`orchestration.automation.jobs`)
unless it carries the tags `WEEKLY`: such assets (model training) run in a weekly job of their own.
"""

import dagster as dg

CADENCE_TAG = "respawn/cadence"
WEEKLY = {CADENCE_TAG: "weekly"}
WEEKLY_ASSETS = dg.AssetSelection.tag(CADENCE_TAG, WEEKLY[CADENCE_TAG])
