"""The nightly schedule: at 02:00 UTC, yesterday's partition through the whole graph."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from orchestration.jobs import nightly


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
