"""What the automation domain contributes to the code location."""

import dagster as dg

from orchestration.automation.jobs import load_landed_events, nightly, weekly_churn_retrain
from orchestration.automation.schedules import nightly_schedule, weekly_churn_retrain_schedule
from orchestration.automation.sensors import landed_shards_sensor

defs = dg.Definitions(
    jobs=[load_landed_events, nightly, weekly_churn_retrain],
    schedules=[nightly_schedule, weekly_churn_retrain_schedule],
    sensors=[landed_shards_sensor],
)
