"""Materialize the whole asset graph in order, with the same definitions the UI loads.

Runs in process and records every run in the Dagster instance at `$DAGSTER_HOME`, so that
`make dev` afterwards shows them (and the assets' metadata and plots) on the same data.
"""

from __future__ import annotations

import contextlib
import time
from datetime import date
from pathlib import Path

import dagster as dg

from ingestion.landing.layout import Stream, published_shards, shard_day
from ingestion.settings import landing_root
from orchestration import asset_keys

# The demo prints its own progress; Dagster's DEBUG to WARNING lines stay in the run's logs (UI)
# (a warning such as dbt's source tests being observations, not checks, would only confuse here).
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


class DemoRunFailed(RuntimeError):
    pass


def landed_days(home: Path) -> list[date]:
    root = landing_root(home)
    return sorted({shard_day(p) for stream in Stream for p in published_shards(root, stream)})


def _check(result: dg.ExecuteInProcessResult, what: str, started: float) -> bool:
    seconds = time.monotonic() - started
    if result.success:
        print(f"    {what}: ok in {seconds:,.1f} s (run {result.run_id[:8]})")
        return True
    failed = [
        f"{e.step_key}: {e.event_specific_data.error.message.strip().splitlines()[-1]}"  # type: ignore[union-attr]
        for e in result.all_events
        if e.is_step_failure and e.event_specific_data is not None
    ]
    print(
        f"    {what}: FAILED after {seconds:,.1f} s (run {result.run_id}); open `make dev` for logs"
    )
    for line in failed:
        print(f"      {line}")
    return False


def materialize_everything(home: Path) -> bool:
    """Load every landed partition, then everything downstream of `events`; False on a failure
    (the report still runs, and says what is missing)."""
    from orchestration.definitions import build_definitions

    defs = build_definitions(home)
    instance = dg.DagsterInstance.get()
    load = defs.resolve_job_def("load_landed_events")
    for day in landed_days(home):
        started = time.monotonic()
        result = load.execute_in_process(
            partition_key=day.isoformat(), instance=instance, run_config=QUIET, raise_on_error=False
        )
        if not _check(result, f"load partition {day}", started):
            return False

    everything_after_events = dg.AssetSelection.assets(asset_keys.EVENTS).downstream(
        include_self=False
    )
    # dagster-dbt echoes every line of dbt's output to stdout (the UI's compute logs): here it
    # goes to a file, so that the demo's own progress stays readable
    dbt_log = home / "logs" / "demo-dbt.log"
    dbt_log.parent.mkdir(parents=True, exist_ok=True)
    print(f"    dbt build, churn model training and scoring (dbt's output: {dbt_log})")
    started = time.monotonic()
    with dbt_log.open("w") as log, contextlib.redirect_stdout(log):
        result = dg.materialize(
            assets=[*(defs.assets or ()), *(defs.asset_checks or ())],
            selection=everything_after_events,
            instance=instance,
            resources=defs.resources,
            run_config=QUIET,
            raise_on_error=False,
        )
    return _check(result, "dbt build, churn model training and scoring", started)
