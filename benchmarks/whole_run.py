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
(load + dedupe, per event), the sessions aggregation as one CREATE TABLE AS (dbt),
`xgboost.train` with the model's params and rounds (train) and
`Booster.predict(pred_contribs=True)` (score).

Every figure is printed beside its goal (issue 18, 10M events on 2 cores) and whether it is met,
or by how much it is missed. The nightly run is broken down by step (load, dedupe, the asset
checks, the dbt increment, scoring), with what is left of its wall time (Dagster's run and step
overhead) and, inside the dbt step, dbt's start-up and parse against the nodes' own time. The
load average is printed at the start and the end: the machine may be shared.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb

REPO = Path(__file__).resolve().parents[1]
if Path(sys.path[0]).resolve() == REPO / "benchmarks":
    sys.path[0] = str(REPO)  # this folder would shadow the `ml` package

from benchmarks.dbt_build import bare_baseline as bare_sessions_aggregation  # noqa: E402
from benchmarks.load import Measure, bare_duckdb, measuring  # noqa: E402
from ingestion.landing.layout import Stream, published_shards, shard_day  # noqa: E402
from ingestion.settings import landing_root, models_root, warehouse_path  # noqa: E402
from orchestration.dbt_project import DBT_PROJECT_DIR  # noqa: E402
from orchestration.demo.materialize import landed_days  # noqa: E402

DAYS_PER_RUN = 7  # the assets' backfill policy
FAILED_HINT = "see the errors above, and dbt-output.log in the home (--keep keeps it)"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

# Issue 18's goals: (figure, the bound, "max" if the figure must stay at or under it).
GOALS = {
    "load + dedupe ratio": 2.0,  # x bare DuckDB per event
    "load peak GB": 4.0,  # peak RSS of the load and the dedupe
    "increment share": 0.05,  # the nightly's load + dedupe of one day / the full load
    "dbt full s": 100.0,
    "dbt increment share": 0.15,  # the nightly's dbt step / the first full build
    "score ratio": 1.2,  # x bare pred_contribs
    "nightly s": 45.0,
}
# The nightly job's steps, by stage (a step key is the asset's or check's op name).
NIGHTLY_STAGES = {
    "load": ("load_landed_shards",),
    "dedupe": ("deduplicate_events",),
    "dbt increment": ("respawn_dbt_models",),
    "score": ("score_churn",),
    "exports": ("churn_score_exports",),
}


def verdict(figure: float, goal: float, unit: str = "") -> str:
    """'met' or 'MISSED by ...' for a figure that must stay at or under its goal."""
    if figure <= goal:
        return f"goal <= {goal:g}{unit}: met"
    return f"goal <= {goal:g}{unit}: MISSED by {figure - goal:.3g}{unit} ({figure / goal - 1:.0%})"


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


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


def lines_by_day(home: Path) -> dict[date, int]:
    """Landed event lines per receive date."""
    counts: dict[date, int] = {}
    for path in published_shards(landing_root(home), Stream.EVENTS):
        with path.open("rb") as f:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 22), b""))
        counts[shard_day(path)] = counts.get(shard_day(path), 0) + lines
    return counts


def nightly_stages(steps: dict[str, float], wall: float) -> dict[str, float]:
    """The nightly run's step seconds by stage; the asset checks; and the rest of the wall time
    (run start and end, step launches, event writes: Dagster's own cost)."""
    stages = {stage: sum(steps.get(k, 0.0) for k in keys) for stage, keys in NIGHTLY_STAGES.items()}
    named = {k for keys in NIGHTLY_STAGES.values() for k in keys}
    stages["asset checks"] = sum(v for k, v in steps.items() if k not in named)
    stages["Dagster run overhead"] = wall - sum(steps.values())
    return stages


def dbt_invocation_profile(since: float) -> str | None:
    """Where the latest dbt invocation (dagster-dbt's own target dir, made after `since`) spent
    its time: its total against the execution dbt reports (the rest is start-up and parse), and
    its slowest nodes; None when there is none."""
    import json

    runs = [
        p
        for p in (DBT_PROJECT_DIR / "target").glob("*/run_results.json")
        if p.stat().st_mtime >= since
    ]
    if not runs:
        return None
    latest = max(runs, key=lambda p: p.stat().st_mtime)
    results = json.loads(latest.read_text())
    nodes = sorted(
        ((r["execution_time"], r["unique_id"].split(".")[-1]) for r in results["results"]),
        reverse=True,
    )
    models = sum(t for t, uid in ((r["execution_time"], r["unique_id"]) for r in results["results"])
                 if uid.startswith("model."))  # fmt: skip
    tests = sum(t for t, _ in nodes) - models
    log = latest.parent / "dbt.log"
    parse = "partial parse" if log.exists() and "Unable to do partial parsing" not in (
        log.read_text(errors="replace")
    ) else "full parse"  # fmt: skip
    slowest = ", ".join(f"{name} {seconds:.1f}" for seconds, name in nodes[:6])
    return (
        f"dbt's execution {results['elapsed_time']:.1f} s (models {models:.1f} s, data tests "
        f"{tests:.1f} s, 2 threads; {parse}); slowest: {slowest}"
    )


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


@contextlib.contextmanager
def dbt_prepared_for(home: Path) -> Iterator[None]:
    """The dbt project prepared (manifest, partial-parse state) for `home`, as a deployment's
    `make dbt-manifest` prepares it for its RESPAWN_HOME; the worktree's state put back after.

    dbt's partial parse is valid for the profile it was made with, whose warehouse path is
    `$RESPAWN_HOME/warehouse.duckdb`: against a state made for another home every dbt step
    would parse the whole project again, which a deployed nightly run never does.
    """
    from orchestration.dbt_project import dbt_project

    project = dbt_project()
    target = DBT_PROJECT_DIR / "target"
    kept = [target / name for name in ("manifest.json", "partial_parse.msgpack")]
    saved = {path: path.read_bytes() for path in kept if path.exists()}
    _log("preparing the dbt project for this home (not timed)")
    assert project.preparer is not None
    project.preparer.prepare(project)
    try:
        yield
    finally:
        for path in kept:
            if path in saved:
                path.write_bytes(saved[path])
            else:
                path.unlink(missing_ok=True)


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
    from orchestration.automation.jobs import LOAD_CHECKS

    tmp = Path(tempfile.mkdtemp(prefix="respawn-whole-run-"))
    home = tmp / "home"
    os.environ["RESPAWN_HOME"] = str(home)  # the dbt profile reads it
    print(f"load average at the start: {load_average()}", flush=True)
    try:
        with measuring() as prepared:
            prepare_home(home, args.landing, args.players, args.days, args.seed)
        days = landed_days(home)
        history, last = days[:-1], days[-1]
        per_day = lines_by_day(home)
        lines, last_lines = sum(per_day.values()), per_day.get(last, 0)
        _log(f"{lines:,} landed event lines over {len(days)} days; {last} held back")

        with dbt_prepared_for(home), dg.DagsterInstance.ephemeral() as instance:
            stages = Stages(home, instance)
            # Runs as a backfill of the sensor's job (`load_landed_events`) makes them: the
            # load's own checks, not the dbt tests of the `events` source (a dbt invocation
            # per run; they come with the dbt build).
            raw = dg.AssetSelection.assets(asset_keys.RAW_EVENTS, asset_keys.DEADLETTER_EVENTS)
            stages.run("load", raw.without_checks() | (raw & LOAD_CHECKS), history)
            dedupe = dg.AssetSelection.assets(asset_keys.EVENTS).required_multi_asset_neighbors()
            stages.run("dedupe", dedupe.without_checks() | (dedupe & LOAD_CHECKS), history)
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
            night_started = time.time()
            night = stages.nightly(last)
            dbt_profile = dbt_invocation_profile(night_started)

        _log("bare tools on the same data")
        with measuring() as measured:
            bare_duckdb(home, tmp / "bare.duckdb")
        bare_load = measured().seconds
        (tmp / "bare.duckdb").unlink()
        bare_dbt = bare_sessions_aggregation(warehouse_path(home))
        bare_train, bare_score = bare_model(home)

        m = stages.measures
        history_lines = lines - last_lines
        full_load = m["load"].seconds + m["dedupe"].seconds
        # per event: ours loads the history, bare reads every landed day
        load_ratio = (full_load / history_lines) / (bare_load / lines)
        ours = {
            "load + dedupe": (full_load, bare_load, load_ratio),
            "dbt": (m["dbt"].seconds, bare_dbt, m["dbt"].seconds / bare_dbt),
            "train": (m["train"].seconds, bare_train, m["train"].seconds / bare_train),
            "score": (m["score"].seconds, bare_score, m["score"].seconds / bare_score),
        }
        total = sum(m[s].seconds for s in ("load", "dedupe", "dbt", "train", "score"))
        if args.landing is None:
            print(f"\nsimulated to landing: {prepared().seconds:.1f} s")
        print(f"\nwhole run on {lines:,} landed lines ({len(history)} days), {events:,} events "
              f"in events before the nightly day, {scored:,} players scored")  # fmt: skip
        print(f"{'stage':<10}{'seconds':>10}{'peak GB':>10}")
        for stage in ("load", "dedupe", "dbt", "train", "score"):
            print(f"{stage:<10}{m[stage].seconds:>10.1f}{m[stage].peak_rss / 1e9:>10.2f}")
        peak = max(m[s].peak_rss for s in m)
        print(f"{'total':<10}{total:>10.1f}{peak / 1e9:>10.2f}")
        print("\nagainst the bare tools in the same run:")
        for name, (seconds, bare, ratio) in ours.items():
            print(f"  {name:<14} ours {seconds:8.1f} s | bare {bare:8.1f} s | ratio {ratio:5.2f}")
        print("  (load + dedupe: ours over the history's lines, bare over every landed day's; "
              "the ratio is per event)")  # fmt: skip

        steps = nightly_stages(night, m["nightly"].seconds)
        increment = steps["load"] + steps["dedupe"]
        load_peak = max(m["load"].peak_rss, m["dedupe"].peak_rss) / 1e9
        dbt_share = steps["dbt increment"] / m["dbt"].seconds
        night_s = m["nightly"].seconds
        goals = [
            ("load + dedupe", f"{load_ratio:.2f} x bare per event",
             verdict(load_ratio, GOALS["load + dedupe ratio"], "x")),
            ("load peak memory", f"{load_peak:.2f} GB",
             verdict(load_peak, GOALS["load peak GB"], " GB")),
            ("one-day increment", f"{increment:.1f} s = {increment / full_load:.1%} of the load",
             verdict(increment / full_load, GOALS["increment share"])),
            ("dbt full build", f"{m['dbt'].seconds:.1f} s",
             verdict(m["dbt"].seconds, GOALS["dbt full s"], " s")),
            ("dbt increment", f"{steps['dbt increment']:.1f} s = {dbt_share:.1%} of the full",
             verdict(dbt_share, GOALS["dbt increment share"])),
            ("scoring", f"{ours['score'][2]:.2f} x bare pred_contribs",
             verdict(ours["score"][2], GOALS["score ratio"], "x")),
            ("nightly job", f"{night_s:.1f} s", verdict(night_s, GOALS["nightly s"], " s")),
        ]  # fmt: skip
        print("\ngoals (issue 18):")
        for name, figure, result in goals:
            print(f"  {name:<18}{figure:<36}{result}")

        print(f"\nnightly job on {last} ({last_lines:,} landed lines on top of {len(history)} "
              f"days): {m['nightly'].seconds:.1f} s wall, "
              f"peak {m['nightly'].peak_rss / 1e9:.2f} GB")  # fmt: skip
        for stage, seconds in sorted(steps.items(), key=lambda kv: -kv[1]):
            print(f"  {stage:<28}{seconds:8.1f} s  {seconds / m['nightly'].seconds:5.0%}")
        print("  steps:")
        for step, seconds in sorted(night.items(), key=lambda kv: -kv[1]):
            print(f"    {step:<40}{seconds:8.1f} s")
        if dbt_profile:
            print(f"  inside respawn_dbt_models: {dbt_profile}")
        print(f"\nload average at the end: {load_average()}")
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
