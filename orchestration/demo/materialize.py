"""Run the code location's own jobs over the landed data, as production would, in process.

The runs are those of the jobs the UI shows: `load_landed_events` for each landed day but the
last (what the shard sensor launches), `nightly` for the last day (its load, the dbt build, the
scoring and export once a model exists), `weekly_churn_retrain` (training set, model, scores),
then `export_churn_scores` (in production the `exports_after_scoring` sensor exports after a
retrain). Every run is recorded in the Dagster instance at `$DAGSTER_HOME`, so `make dev`
afterwards shows them, their metadata and plots on the same data; each prints its progress as
its events are stored.
"""

from __future__ import annotations

import contextlib
import sys
import time
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import dagster as dg

from ingestion.landing.layout import Stream, published_shards, shard_day
from ingestion.settings import landing_root
from orchestration.demo.progress import RunProgress

# The demo prints its own progress (a failed step with its error's last line); Dagster's log lines
# stay in the run's logs (the UI) instead of the terminal.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
LOAD, NIGHTLY, RETRAIN = "load_landed_events", "nightly", "weekly_churn_retrain"
EXPORT = "export_churn_scores"


@dataclass
class DemoRuns:
    """The runs the demo launched, in order, and whether each succeeded."""

    run_ids: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # "<job> (run <id>)"

    @property
    def ok(self) -> bool:
        return not self.failed


def landed_days(home: Path) -> list[date]:
    root = landing_root(home)
    return sorted({shard_day(p) for stream in Stream for p in published_shards(root, stream)})


def _run(
    defs: dg.Definitions,
    job_name: str,
    runs: DemoRuns,
    *,
    title: str,
    partition: date | None = None,
    log: Path,
) -> bool:
    """One run of a job of the code location, its progress printed as it goes."""
    out = sys.stdout
    instance = dg.DagsterInstance.get()
    run_id = str(uuid.uuid4())
    started = time.monotonic()
    print(f"    {title} (job {job_name}, run {run_id[:8]})", flush=True)
    job = defs.resolve_job_def(job_name)
    # dagster-dbt echoes every line of dbt's output to stdout (the UI's compute logs): here it
    # goes to a file, so that the progress lines stay readable.
    with (
        RunProgress(job_name, run_id, instance, out=out, indent="    "),
        log.open("a") as sink,
        contextlib.redirect_stdout(sink),
    ):
        result = job.execute_in_process(
            run_id=run_id,
            instance=instance,
            partition_key=partition.isoformat() if partition else None,
            run_config=QUIET,
            raise_on_error=False,
        )
    runs.run_ids.append(run_id)
    seconds = time.monotonic() - started
    if result.success:
        print(f"    {title}: ok in {seconds:,.1f} s", flush=True)
        return True
    runs.failed.append(f"{job_name} (run {run_id})")
    print(f"    {title}: FAILED after {seconds:,.1f} s; `make dev` shows run {run_id[:8]}'s logs")
    return False


def materialize_everything(home: Path) -> DemoRuns:
    """Load every landed day, build the marts and score, retrain and re-score, export; stops at
    the first failed run (the report still runs, and says what is missing)."""
    # Where pyspark is installed (`make test`'s extras), importing it (pandera does) warns about
    # pandas 3, in the middle of the progress lines; the demo runs no Spark.
    warnings.filterwarnings("ignore", "PySpark does not yet fully support", FutureWarning)
    from orchestration.definitions import build_definitions

    defs = build_definitions(home)
    runs = DemoRuns()
    log = home / "logs" / "demo-runs.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(f"    (dbt's output and Dagster's logs of these runs: {log})")
    days = landed_days(home)
    if not days:
        print("    nothing landed: no run to launch")
        runs.failed.append("no landed day")
        return runs
    *earlier, last = days
    for day in earlier:
        if not _run(defs, LOAD, runs, title=f"load of {day}", partition=day, log=log):
            return runs
    title = f"nightly run of {last}: load, dbt build, scoring"
    if not _run(defs, NIGHTLY, runs, title=title, partition=last, log=log):
        return runs
    if not _run(defs, RETRAIN, runs, title="weekly retrain: training set, model, scores", log=log):
        return runs
    _run(defs, EXPORT, runs, title="export of the scores for the game team", log=log)
    return runs
