"""Benchmark of the whole run: landed shards to scored players, stage by stage, with peak memory.

    .venv/bin/python benchmarks/whole_run.py --landing /tmp/bench10m     # an existing data set
    .venv/bin/python benchmarks/whole_run.py --players 154000 --days 30  # simulate ~10M events
    .venv/bin/python benchmarks/whole_run.py --players 1500 --days 60    # a smoke run (the default)
    .venv/bin/python benchmarks/whole_run.py --vs-truth   # and the model against the truth after

`--landing` is a directory with `landing/` (and `truth/`) written by `respawn simulate
--to-landing`; it is copied into a temporary home, never changed. Every stage runs the assets the
UI loads (`build_definitions`), in process, on one ephemeral Dagster instance:

  load     load_landed_shards: every landed day but the last, as a backfill (7 days per run)
  dedupe   deduplicate_events on the same ranges
  dbt      respawn_dbt_models: the first full `dbt build`
  train    churn_training_set + churn_model (the weekly retrain)
  score    score_churn: every eligible player of the latest snapshot, with reasons
  nightly  the `nightly` job on the held-back last day: load, dedupe, incremental dbt, scoring

Each stage reports wall time and peak RSS of this process and its children (dbt runs in a
subprocess). Bare tools on the same data in the same run: DuckDB `read_json` + `row_number()`
(load + dedupe), the sessions aggregation as one CREATE TABLE AS (dbt), `xgboost.train` with the
model's params and rounds (train) and `Booster.predict(pred_contribs=True)` (score).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb

REPO = Path(__file__).resolve().parents[1]
if Path(sys.path[0]).resolve() == REPO / "benchmarks":
    sys.path[0] = str(REPO)  # this folder would shadow the `ml` package

from benchmarks.dbt_build import bare_baseline as bare_sessions_aggregation  # noqa: E402
from benchmarks.load import Measure, bare_duckdb, landed_lines, measuring  # noqa: E402
from ingestion.settings import landing_root, models_root, warehouse_path  # noqa: E402
from orchestration.demo.materialize import landed_days  # noqa: E402

DAYS_PER_RUN = 7  # the assets' backfill policy
FAILED_HINT = "see the errors above, and dbt-output.log in the home (--keep keeps it)"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Stages:
    """Runs asset selections of the project's definitions and keeps what each stage measured."""

    def __init__(self, home: Path, instance: dg.DagsterInstance) -> None:
        from orchestration.definitions import build_definitions

        self.home = home
        self.defs = build_definitions(home)
        self.instance = instance
        self.measures: dict[str, Measure] = {}

    def _materialize(
        self, selection: dg.AssetSelection, tags: dict[str, str] | None = None
    ) -> None:
        # dagster-dbt echoes dbt's output to stdout: keep it beside the warehouse instead
        with (self.home / "dbt-output.log").open("a") as log, contextlib.redirect_stdout(log):
            result = dg.materialize(
                assets=[*(self.defs.assets or ()), *(self.defs.asset_checks or ())],
                selection=selection,
                instance=self.instance,
                resources=self.defs.resources,
                run_config=QUIET,
                tags=tags,
                raise_on_error=False,
            )
        if not result.success:
            raise SystemExit(f"run {result.run_id} failed: {FAILED_HINT}")

    def run(self, stage: str, selection: dg.AssetSelection, days: Sequence[date] = ()) -> None:
        _log(f"{stage} ...")
        with measuring() as measured:
            if not days:
                self._materialize(selection)
            for first in range(0, len(days), DAYS_PER_RUN):
                chunk = days[first : first + DAYS_PER_RUN]
                self._materialize(
                    selection,
                    tags={
                        "dagster/asset_partition_range_start": chunk[0].isoformat(),
                        "dagster/asset_partition_range_end": chunk[-1].isoformat(),
                    },
                )
        self.measures[stage] = measured()
        _log(f"{stage}: {self.measures[stage].seconds:,.1f} s")

    def nightly(self, day: date) -> dict[str, float]:
        """The `nightly` job for one day, as the schedule launches it; seconds per step."""
        _log(f"nightly job on {day} ...")
        job = self.defs.resolve_job_def("nightly")
        with (
            measuring() as measured,
            (self.home / "dbt-output.log").open("a") as log,
            contextlib.redirect_stdout(log),
        ):
            result = job.execute_in_process(
                partition_key=day.isoformat(),
                instance=self.instance,
                run_config=QUIET,
                raise_on_error=False,
            )
        if not result.success:
            raise SystemExit(f"nightly run {result.run_id} failed: {FAILED_HINT}")
        self.measures["nightly"] = measured()
        return step_seconds(self.instance, result.run_id)


def step_seconds(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    started: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            started[event.step_key] = record.timestamp
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            seconds[event.step_key] = record.timestamp - started[event.step_key]
    return seconds


def bare_model(home: Path) -> tuple[float, float]:
    """xgboost.train with the registered model's params and rounds on the same training rows, and
    Booster.predict with contributions on the latest snapshot: seconds of each."""
    import xgboost as xgb

    from ml.dataset import load_labeled, load_snapshot
    from ml.registry import latest_passed
    from ml.split import time_split
    from ml.train import dmatrix

    model = latest_passed(models_root(home))
    if model is None:
        raise SystemExit("no passed model was registered: the train stage did not succeed")
    with duckdb.connect(str(warehouse_path(home)), read_only=True) as con:
        labeled = load_labeled(con)
        snapshot = load_snapshot(con, model.feature_names)
    train_rows = labeled.subset(
        time_split(labeled.keys["snapshot_date"], labeled.horizon_days).masks(
            labeled.keys["snapshot_date"]
        )["train"]
    )  # the rows the model was fitted on: the time split's train slice
    started = time.perf_counter()
    matrix = dmatrix(
        train_rows.features,
        labeled.feature_names,
        train_rows.labels,
        model.metrics["positive_weight"],
    )
    xgb.train(model.manifest["params"], matrix, num_boost_round=int(model.metrics["rounds_run"]))
    train = time.perf_counter() - started
    started = time.perf_counter()
    model.booster.predict(dmatrix(snapshot.features, model.feature_names), pred_contribs=True)
    return train, time.perf_counter() - started


def print_against_ground_truth(home: Path) -> None:
    """The registered model's held-out comparison, scored against the simulator's truth: an
    evaluation step after the run (the assets never read the truth)."""
    from ml.dataset import load_labeled
    from ml.ground_truth import compare_with_truth, load_players, true_churn
    from ml.registry import latest_passed
    from ml.report import comparison_markdown

    players, model = load_players(home / "truth"), latest_passed(models_root(home))
    if players is None or model is None:
        print("\nno ground truth or no passed model: nothing to compare")
        return
    with duckdb.connect(str(warehouse_path(home)), read_only=True) as con:
        data = load_labeled(con)
    vs_truth = compare_with_truth(model, data, true_churn(data.keys, players, data.horizon_days))
    if vs_truth is not None:
        print("\nagainst the simulator's ground truth (true churn, not the observed label):")
        print(comparison_markdown(vs_truth))


def prepare_home(home: Path, source: Path | None, players: int, days: int, seed: int) -> None:
    if source is not None:
        _log(f"copying {source / 'landing'} into {home}")
        shutil.copytree(source / "landing", landing_root(home))
        if (source / "truth").exists():
            shutil.copytree(source / "truth", home / "truth")
        return
    from ingestion.simulator.config import SimConfig
    from ingestion.simulator.to_landing import run_to_landing

    _log(f"simulating {players:,} players over {days} days to landing")
    config = SimConfig(players=players, days=days, seed=seed)
    run_to_landing(config, landing_root(home), home / "truth")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landing", type=Path, help="a home with landing/ (and truth/)")
    parser.add_argument("--players", type=int, default=1500)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7, help="simulator seed, as the demo's")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    parser.add_argument(
        "--vs-truth",
        action="store_true",
        help="after the run, score the model against the simulator's ground truth (not timed)",
    )
    args = parser.parse_args(argv)

    from orchestration import asset_keys

    tmp = Path(tempfile.mkdtemp(prefix="respawn-whole-run-"))
    home = tmp / "home"
    os.environ["RESPAWN_HOME"] = str(home)  # the dbt profile reads it
    try:
        prepare_home(home, args.landing, args.players, args.days, args.seed)
        days = landed_days(home)
        history, last = days[:-1], days[-1]
        lines = landed_lines(home)
        _log(f"{lines:,} landed event lines over {len(days)} days; {last} held back")

        with dg.DagsterInstance.ephemeral() as instance:
            stages = Stages(home, instance)
            raw = dg.AssetSelection.assets(asset_keys.RAW_EVENTS).required_multi_asset_neighbors()
            stages.run("load", raw, history)
            dedupe = dg.AssetSelection.assets(asset_keys.EVENTS).required_multi_asset_neighbors()
            stages.run("dedupe", dedupe, history)
            dbt = dg.AssetSelection.assets(asset_keys.EVENTS).downstream(include_self=False)
            models = dbt - dg.AssetSelection.groups("ml")
            stages.run("dbt", models)
            stages.run(
                "train",
                dg.AssetSelection.assets(asset_keys.CHURN_TRAINING_SET, asset_keys.CHURN_MODEL),
            )
            stages.run(
                "score",
                dg.AssetSelection.groups("ml")
                - dg.AssetSelection.assets(asset_keys.CHURN_TRAINING_SET, asset_keys.CHURN_MODEL),
            )
            with duckdb.connect(str(warehouse_path(home)), read_only=True) as con:
                events, scored = (
                    con.execute("select count(*) from raw.events").fetchone()[0],
                    con.execute("select count(*) from ml.churn_scores").fetchone()[0],
                )
            night = stages.nightly(last)

        _log("bare tools on the same data")
        with measuring() as measured:
            bare_duckdb(home, tmp / "bare.duckdb")
        bare_load = measured().seconds
        (tmp / "bare.duckdb").unlink()
        bare_dbt = bare_sessions_aggregation(warehouse_path(home))
        bare_train, bare_score = bare_model(home)

        m = stages.measures
        ours = {
            "load + dedupe": (m["load"].seconds + m["dedupe"].seconds, bare_load),
            "dbt": (m["dbt"].seconds, bare_dbt),
            "train": (m["train"].seconds, bare_train),
            "score": (m["score"].seconds, bare_score),
        }
        total = sum(m[s].seconds for s in ("load", "dedupe", "dbt", "train", "score"))
        print(f"\nwhole run on {lines:,} landed lines ({len(history)} days), {events:,} events "
              f"in events before the nightly day, {scored:,} players scored")  # fmt: skip
        print(f"{'stage':<10}{'seconds':>10}{'peak GB':>10}")
        for stage in ("load", "dedupe", "dbt", "train", "score"):
            print(f"{stage:<10}{m[stage].seconds:>10.1f}{m[stage].peak_rss / 1e9:>10.2f}")
        peak = max(m[s].peak_rss for s in m)
        print(f"{'total':<10}{total:>10.1f}{peak / 1e9:>10.2f}")
        print("\nagainst the bare tools in the same run:")
        for name, (seconds, bare) in ours.items():
            ratio = seconds / bare
            print(f"  {name:<14} ours {seconds:8.1f} s | bare {bare:8.1f} s | ratio {ratio:5.1f}")
        print(f"\nnightly job on {last}: {m['nightly'].seconds:.1f} s wall, "
              f"peak {m['nightly'].peak_rss / 1e9:.2f} GB")  # fmt: skip
        for step, seconds in sorted(night.items(), key=lambda kv: -kv[1]):
            print(f"  {step:<40}{seconds:8.1f} s")
        if args.vs_truth:
            print_against_ground_truth(home)
        if args.keep:
            print(f"\nkept: {home}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
