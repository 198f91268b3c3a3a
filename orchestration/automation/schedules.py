"""The schedules: the nightly run at 02:00 UTC, the weekly retrain on Mondays at 04:00 UTC."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from orchestration.automation.jobs import nightly, weekly_churn_retrain


@dg.schedule(
    job=nightly,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Yesterday's (UTC) receive date: load, dedupe, dbt build, then scoring.",
)
def nightly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    tick = context.scheduled_execution_time or datetime.now(UTC)
    day = (tick.astimezone(UTC) - timedelta(days=1)).date().isoformat()
    return dg.RunRequest(run_key=f"nightly-{day}", partition_key=day)


weekly_churn_retrain_schedule = dg.ScheduleDefinition(
    name="weekly_churn_retrain_schedule",
    job=weekly_churn_retrain,
    cron_schedule="0 4 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Mondays 04:00 UTC, after the nightly run has rebuilt the marts.",
)
