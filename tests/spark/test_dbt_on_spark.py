"""The dbt project on Spark gives the same answers as on DuckDB, full and incremental.

One simulated landing is loaded and built twice: by the DuckDB loader and `dbt build` (target
`dev`), and by the PySpark loader (`orchestration.warehouse.spark_loading`; its first load by
its command, as docs/data-engineers.md runs it) and `dbt build --target spark` (dbt-spark's
session method, local mode, in this process: one JVM for the module's builds). First every
receive date but two (one in the middle: a backfill later), a full build with every model, data
test and unit test; then the two late days, an incremental build with the data tests, as the
nightly job runs it. After each build, every model holds the same rows on both engines (EXCEPT
ALL both ways; doubles rounded to 9 decimals, ids and timestamps compared as text and
instants), and so does the loaders' `raw.events`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingestion.settings import landing_root
from tests.dbt.harness import NIGHTLY, Dbt, DbtFailed, Warehouse, failures
from tests.e2e.pipeline import simulate_to_landing

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("java") is None,
        reason="no Java: dbt on Spark needs a JVM (.ci/run installs openjdk-17-jre-headless)",
    ),
]

REPO = Path(__file__).resolve().parents[2]
PROJECT_DIR = REPO / "dbt_project"
PLAYERS, DAYS, SEED = 24, 6, 16
# the profile's env vars: tiny inputs, so one shuffle partition and no code generation
SPARK_ENV = {
    "RESPAWN_SPARK_CORES": "2",
    "RESPAWN_SPARK_SHUFFLE_PARTITIONS": "1",
    "RESPAWN_SPARK_CODEGEN": "false",
}
# how a column is compared, by its DuckDB type
_DOUBLE_DIGITS = 9


@dataclass
class Engines:
    duckdb: Warehouse
    spark: Any  # the SparkSession
    spark_home: Path
    models: list[str]  # schema.name of every model
    full: dict[str, list[str]]  # relation -> differences after the full build
    full_rows: dict[str, int]  # relation -> its rows on Spark after the full build
    incremental: dict[str, list[str]]
    incremental_changes: list[tuple[str, bool]]  # (model, is_everything) after the increment


def _compared(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """A select of `relation` (on DuckDB) whose columns compare across engines."""
    columns = con.execute(f"describe select * from {relation}").fetchall()
    exprs = []
    for name, dtype, *_ in columns:
        if dtype == "DOUBLE" or dtype.startswith("DECIMAL") or dtype == "FLOAT":
            exprs.append(f"round(cast({name} as double), {_DOUBLE_DIGITS}) as {name}")
        elif dtype.startswith("TIMESTAMP"):
            exprs.append(f"cast({name} as timestamp) as {name}")
        elif dtype in ("UUID", "JSON", "VARCHAR"):
            exprs.append(f"cast({name} as varchar) as {name}")
        else:
            exprs.append(name)
    return ", ".join(sorted(exprs, key=lambda e: e.split(" as ")[-1]))


def differences(
    warehouse: Warehouse, spark: Any, relations: list[str], counts: dict[str, int] | None = None
) -> dict[str, list[str]]:
    """Per relation, up to 5 rows each engine has and the other has not; `counts` gets each
    relation's rows on Spark."""
    found: dict[str, list[str]] = {}
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        for relation in relations:
            frame = spark.table(relation).toArrow()
            con.register("spark_rows", frame)
            if counts is not None:
                counts[relation] = frame.num_rows
            ours = [row[0] for row in con.execute(f"describe select * from {relation}").fetchall()]
            theirs = [row[0] for row in con.execute("describe select * from spark_rows").fetchall()]
            rows = []
            if sorted(ours) != sorted(theirs):
                rows.append(f"columns differ: duckdb {ours} | spark {theirs}")
            else:
                for this, other, label in (
                    (relation, "spark_rows", "duckdb only"),
                    ("spark_rows", relation, "spark only"),
                ):
                    extra = con.execute(
                        f"select * from (select {_compared(con, this)} from {this} except all "
                        f"select {_compared(con, other)} from {other}) limit 5"
                    ).fetchall()
                    rows += [f"{label}: {row}" for row in extra]
            con.unregister("spark_rows")
            if rows:
                found[relation] = rows
    return found


class SparkDbt:
    """`dbt --target spark` in this process, on the project parsed once for Spark."""

    def __init__(self, home: Path, target: Path) -> None:
        from dbt.cli.main import dbtRunner

        self.home, self.target = home, target
        parsed = dbtRunner().invoke(["parse", *self._args()])
        if not parsed.success:
            raise DbtFailed(f"dbt parse --target spark failed: {parsed.exception}")
        self.manifest = parsed.result

    def _args(self) -> list[str]:
        return [
            "--target", "spark", "--project-dir", str(PROJECT_DIR),
            "--profiles-dir", str(PROJECT_DIR), "--target-path", str(self.target),
            "--log-path", str(self.target / "logs"), "--quiet",
        ]  # fmt: skip

    def __call__(self, *args: str) -> None:
        from dbt.cli.main import dbtRunner

        result = dbtRunner(manifest=self.manifest).invoke([*args, *self._args()])
        if not result.success:
            raise DbtFailed(f"dbt {' '.join(args)} --target spark failed: {failures(result)}")


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    pytest.importorskip("pyspark")
    from orchestration.warehouse.spark_loading import load_days, spark_session

    base = tmp_path_factory.mktemp("spark-parity")
    landed = base / "landed"
    days = simulate_to_landing(landed, players=PLAYERS, days=DAYS, seed=SEED)
    assert len(days) >= 5, f"expected a week of receive dates, got {days}"
    late: list[date] = [days[len(days) // 2], days[-1]]
    first = [day for day in days if day not in late]

    duck_home, spark_home = base / "duckdb", base / "spark"
    for home in (duck_home, spark_home):
        shutil.copytree(landing_root(landed), landing_root(home))
    warehouse = Warehouse(duck_home)
    duck_dbt = Dbt(base / "duckdb-target")

    # the first load as docs/data-engineers.md runs it ("Running the dbt project on Spark"): the
    # loader's command, in its own JVM; the metastore it leaves is the one this module opens
    loader = subprocess.run(
        [sys.executable, "-m", "orchestration.warehouse.spark_loading",
         *(day.isoformat() for day in first)],
        cwd=REPO, env={**os.environ, **SPARK_ENV, "RESPAWN_HOME": str(spark_home)},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert loader.returncode == 0, loader.stdout + loader.stderr[-3000:]
    assert f"of {len(first)} receive date(s)" in loader.stdout, loader.stdout

    saved = {name: os.environ.get(name) for name in [*SPARK_ENV, "RESPAWN_HOME"]}
    os.environ.update({**SPARK_ENV, "RESPAWN_HOME": str(spark_home)})
    spark = spark_session(spark_home, shuffle_partitions=1, codegen=False)
    spark.sparkContext.setLogLevel("ERROR")
    try:
        spark_dbt = SparkDbt(spark_home, base / "spark-target")
        models = duck_dbt.models()
        relations = ["raw.events", *models]

        for day in first:
            warehouse.load(day)
        duck_dbt(duck_home, *NIGHTLY)
        spark_dbt("build")  # every model, data test and unit test
        full_rows: dict[str, int] = {}
        full = differences(warehouse, spark, relations, full_rows)

        for day in late:
            warehouse.load(day)
        duck_dbt(duck_home, *NIGHTLY)
        load_days(spark, landing_root(spark_home), late)
        spark_dbt(*NIGHTLY)
        incremental = differences(warehouse, spark, relations)
        changes = [
            (row[0], row[1])
            for row in spark.sql(
                "select model_name, bool_or(is_everything) from main.dbt_reprocessing_changes "
                "group by 1 order by 1"
            ).collect()
        ]
        yield Engines(warehouse, spark, spark_home, models, full, full_rows, incremental, changes)
    finally:
        spark.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _report(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{relation}: {row}" for relation, rows in found.items() for row in rows)


@pytest.mark.timeout(1800)
def test_the_spark_loader_keeps_the_same_copy_of_each_event_as_the_duckdb_loader(
    engines: Engines,
) -> None:
    assert engines.duckdb.query("select count(*) from raw.events")[0][0] > 500
    for found in (engines.full, engines.incremental):
        assert "raw.events" not in found, _report({"raw.events": found["raw.events"]})


@pytest.mark.timeout(1800)
def test_a_full_build_on_spark_equals_the_build_on_duckdb_model_for_model(
    engines: Engines,
) -> None:
    assert len(engines.models) >= 12
    # the comparison is of real rows: every model but the as-of row and the labels of a week
    # of data (all censored, none in the future) has many
    for relation in ("marts.fct_sessions", "marts.fct_user_daily_activity", "marts.dim_users"):
        assert engines.full_rows[relation] >= 20, engines.full_rows
    assert not engines.full, "Spark and DuckDB differ after the full build:\n" + _report(
        engines.full
    )


@pytest.mark.timeout(1800)
def test_an_incremental_build_after_late_data_on_spark_equals_duckdb(engines: Engines) -> None:
    assert not engines.incremental, (
        "Spark and DuckDB differ after the incremental build:\n" + _report(engines.incremental)
    )
    # it was incremental: staging replaced the late receive dates, not everything
    changes = dict(engines.incremental_changes)
    assert changes.get("stg_respawn__events") is False, engines.incremental_changes
