"""The `respawn score` subcommand: score a snapshot date or a tenure cohort, as the Launchpad does.

It runs the ML domain's `churn_scoring` job (the one the code location has, with the same
resources) in process with the run config the Dagster UI takes, so the run (its metadata, its
drift check) is recorded in the Dagster instance of `$DAGSTER_HOME` (default
`$RESPAWN_HOME/dagster`, the one `make dev` shows), then prints the lists a live-ops team acts
on. (It builds the ML domain's definitions, not the whole location's: the location imports this
domain, and the domain does not import the location back.)
"""

from __future__ import annotations

import argparse
import os
import shutil
from datetime import date
from pathlib import Path
from typing import Any

HELP = "score a snapshot date or a tenure cohort with the churn model, and print who is at risk"
DESCRIPTION = (
    "Score the latest snapshot (default), a chosen date or every player on day N after install "
    "with the newest churn model that passed its checks (else the better baseline, said so), "
    "write ml.churn_scores / ml.churn_reasons (a date scored again is replaced), and print the "
    "players most at risk who are still reachable, and the lapsed ones apart."
)
INSTANCE_CONFIG = Path(__file__).resolve().parents[2] / "dagster_home" / "dagster.yaml"


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-01") from None


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("score", help=HELP, description=DESCRIPTION)
    p.add_argument("--date", type=_date, help="snapshot date to score (default: the latest)")
    p.add_argument(
        "--tenure-days",
        type=int,
        metavar="N",
        help="score a cohort: every player on day N after install (on --date, else every date)",
    )
    p.add_argument(
        "--reachable-days",
        type=int,
        default=3,
        help="reachable: a session on one of this many last days (default %(default)s)",
    )
    p.add_argument("--top", type=int, default=10, help="players listed (default %(default)s)")
    p.add_argument("--home", type=Path, help="data folder (default $RESPAWN_HOME, else ./data)")
    p.set_defaults(func=_run)


def run_config(
    snapshot_date: date | None, tenure_days: int | None, reachable_days: int
) -> dict[str, Any]:
    """The `churn_scoring` job's run config (what the Launchpad takes, as a dict)."""
    config: dict[str, Any] = {"reachable_days": reachable_days}
    if snapshot_date is not None:
        config["snapshot_date"] = snapshot_date.isoformat()
    if tenure_days is not None:
        config["tenure_days"] = tenure_days
    return {"ops": {"score_churn": {"config": config}}}


def _run(args: argparse.Namespace) -> int:
    # Heavy imports only when the command runs.
    import dagster as dg
    import duckdb

    from ingestion.settings import respawn_home, warehouse_path
    from ml.report import at_risk_markdown, most_at_risk, segment_counts, segments_markdown
    from ml.score import LAPSED, REACHABLE, SNAPSHOT_SCOPE, cohort_scope
    from orchestration.ml.definitions import SCORING_JOB, defs
    from orchestration.resources import build_resources

    home = (args.home or respawn_home()).resolve()
    os.environ["RESPAWN_HOME"] = str(home)
    dagster_home = Path(os.environ.setdefault("DAGSTER_HOME", str(home / "dagster")))
    dagster_home.mkdir(parents=True, exist_ok=True)
    if not (dagster_home / "dagster.yaml").exists():
        shutil.copy(INSTANCE_CONFIG, dagster_home / "dagster.yaml")
    location = dg.Definitions.merge(defs, dg.Definitions(resources=build_resources(home)))
    job = location.resolve_job_def(SCORING_JOB)
    # Dagster's step-by-step log lines stay in the run (the UI); the terminal gets the result.
    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    result = job.execute_in_process(
        run_config={**run_config(args.date, args.tenure_days, args.reachable_days), **quiet},
        instance=dg.DagsterInstance.get(),
        raise_on_error=False,
    )
    if not result.success:
        failures = [
            e.event_specific_data.error.message.strip().splitlines()[-1]  # type: ignore[union-attr]
            for e in result.all_events
            if e.is_step_failure and e.event_specific_data is not None
        ]
        print(f"respawn score: the scoring run {result.run_id} failed: {'; '.join(failures)}")
        return 1
    scores = result.asset_materializations_for_node("score_churn")
    if not scores:
        print("respawn score: no churn model is registered yet; train one first (make demo).")
        return 1
    meta = scores[0].metadata
    print(
        f"scored {meta['dagster/row_count'].value:,} players: {meta['scored'].value}, "
        f"with the {meta['scored with'].value} of {meta['model version'].value}"
    )
    print(f"  ({meta['why this scorer'].value}; run {result.run_id})")
    scope = SNAPSHOT_SCOPE if args.tenure_days is None else cohort_scope(args.tenure_days)
    with duckdb.connect(str(warehouse_path(home)), read_only=True) as con:
        print()
        print(segments_markdown(segment_counts(con, args.date, scope), args.reachable_days))
        for segment, title in ((REACHABLE, "still reachable"), (LAPSED, "lapsed")):
            print(f"\nMost at risk, {title}:\n")
            print(at_risk_markdown(most_at_risk(con, args.date, args.top, segment, scope)))
    return 0
