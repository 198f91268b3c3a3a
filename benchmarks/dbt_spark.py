"""Benchmark of the dbt project on Spark beside DuckDB, on the same input.

    .venv/bin/python benchmarks/dbt_spark.py                          # 100 players, 8 days
    .venv/bin/python benchmarks/dbt_spark.py --players 400 --days 14

The simulator lands one history (`respawn simulate --to-landing`); the last receive day is held
back. Each engine loads the rest with its own loader (DuckDB: the Dagster assets' functions,
`plan_load`, `load_shards`, `merge_events`; Spark: `orchestration.warehouse.spark_loading`), runs
the nightly build (`PRODUCTION_BUILD`: models and data tests) in full, then loads the held-back
day and runs the incremental build. dbt runs in this process (its parse is not timed: the
manifest is parsed once per engine first); Spark is local mode (`local[2]`, dbt-spark's
session method, the profile's settings), its JVM started before the timings. Printed: each
build's seconds on both engines and Spark's ratio to DuckDB; and the load average, since the
machine is shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ingestion.landing.layout import Stream, published_shards, shard_day  # noqa: E402
from ingestion.settings import landing_root, truth_root, warehouse_path  # noqa: E402
from orchestration.dbt_project import PRODUCTION_BUILD  # noqa: E402
from orchestration.warehouse.dedupe import merge_events  # noqa: E402
from orchestration.warehouse.loading import load_shards  # noqa: E402
from orchestration.warehouse.raw_schema import create_raw_tables  # noqa: E402
from orchestration.warehouse.shards import plan_load  # noqa: E402
from orchestration.warehouse.spark_loading import load_days, spark_session  # noqa: E402

PROJECT_DIR = REPO / "dbt_project"


class Project:
    """The dbt project for one target, parsed once, run in this process."""

    def __init__(self, target: str, home: Path, target_path: Path) -> None:
        from dbt.cli.main import dbtRunner

        self.target, self.home, self.target_path = target, home, target_path
        parsed = dbtRunner().invoke(["parse", *self.args()])
        assert parsed.success, f"dbt parse --target {target}: {parsed.exception}"
        self.manifest = parsed.result

    def args(self) -> list[str]:
        return [
            "--target", self.target, "--project-dir", str(PROJECT_DIR),
            "--profiles-dir", str(PROJECT_DIR), "--target-path", str(self.target_path),
            "--log-path", str(self.target_path / "logs"), "--quiet",
        ]  # fmt: skip

    def build(self) -> float:
        from dbt.cli.main import dbtRunner

        os.environ["RESPAWN_HOME"] = str(self.home)
        start = time.perf_counter()
        result = dbtRunner(manifest=self.manifest).invoke([*PRODUCTION_BUILD, *self.args()])
        elapsed = time.perf_counter() - start
        assert result.success, f"dbt build --target {self.target} failed: {result.exception}"
        if self.target == "dev":  # dbt-duckdb keeps the file open for the next invocation
            from dbt.adapters.duckdb.connections import DuckDBConnectionManager

            with DuckDBConnectionManager._LOCK:
                if DuckDBConnectionManager._ENV is not None:
                    DuckDBConnectionManager._ENV.close()
                    DuckDBConnectionManager._ENV = None
        return elapsed


def load_duckdb(home: Path, days: list[date]) -> float:
    start = time.perf_counter()
    now = datetime.now(UTC)
    with duckdb.connect(str(warehouse_path(home))) as con:
        con.execute("set TimeZone = 'UTC'")
        create_raw_tables(con)
        con.begin()
        plan = plan_load(con, landing_root(home), Stream.EVENTS, days, replace=False)
        load_shards(con, plan, run_id="benchmark", now=now)
        merge_events(con, days, now)
        con.commit()
    return time.perf_counter() - start


def load_spark(spark: Any, home: Path, days: list[date]) -> float:
    start = time.perf_counter()
    load_days(spark, landing_root(home), days)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=100)
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--seed", type=int, default=5)
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="respawn-dbt-spark-"))
    try:
        landed = work / "landed"
        subprocess.run(
            [sys.executable, "-m", "orchestration.cli", "simulate", "--no-progress",
             "--players", str(options.players), "--days", str(options.days),
             "--start", "2026-01-01", "--seed", str(options.seed),
             "--to-landing", str(landing_root(landed)), "--truth-dir", str(truth_root(landed))],
            cwd=REPO, check=True, capture_output=True,
        )  # fmt: skip
        days = sorted({shard_day(p) for p in published_shards(landing_root(landed), Stream.EVENTS)})
        held_back, first = days[-1], days[:-1]
        duck_home, spark_home = work / "duckdb", work / "spark"
        for home in (duck_home, spark_home):
            shutil.copytree(landing_root(landed), landing_root(home))

        os.environ["RESPAWN_HOME"] = str(spark_home)
        start = time.perf_counter()
        spark = spark_session(spark_home)
        spark.sparkContext.setLogLevel("ERROR")
        jvm = time.perf_counter() - start
        duck = Project("dev", duck_home, work / "duckdb-target")
        sparked = Project("spark", spark_home, work / "spark-target")

        figures: dict[str, tuple[float, float]] = {}
        figures["load (all but the last day)"] = (
            load_duckdb(duck_home, first),
            load_spark(spark, spark_home, first),
        )
        events = duckdb.connect(str(warehouse_path(duck_home)), read_only=True)
        (rows,) = events.execute("select count(*) from raw.events").fetchone()
        events.close()
        figures["full build (models + data tests)"] = (duck.build(), sparked.build())
        figures["load of the last day"] = (
            load_duckdb(duck_home, [held_back]),
            load_spark(spark, spark_home, [held_back]),
        )
        figures["incremental build after the last day"] = (duck.build(), sparked.build())
        spark.stop()

        print(
            f"dbt on Spark vs DuckDB: {options.players} players, {len(days)} receive days, "
            f"{rows} events before the last day; Spark local[2], JVM start {jvm:.1f} s "
            f"(not in the figures); load average {os.getloadavg()[0]:.1f}"
        )
        print(f"{'step':40} {'duckdb s':>9} {'spark s':>9} {'spark/duckdb':>13}")
        for step, (ours, theirs) in figures.items():
            print(f"{step:40} {ours:9.2f} {theirs:9.2f} {theirs / ours:13.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
