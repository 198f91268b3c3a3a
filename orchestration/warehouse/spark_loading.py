"""The landing loaded into Spark: the dbt project's source `raw.events` on the `spark` target.

The same rows as the DuckDB loader (`loading.py`, `dedupe.py`), with PySpark:
- every line of the published event shards of the given receive dates, with its shard path
  (relative to the landing root) and 1-based line number, into `raw.raw_events`, partitioned by
  `receive_date` (loading a day again replaces its partition: idempotent);
- the typed columns of `raw_schema.EVENT_COLUMNS`, read from the landed-line format
  (`ingestion.landing.lines.EVENT_LINE_COLUMNS`) by the same rules: timestamps with a zone as
  UTC instants, a type-specific field only on a `valid` event of a type that owns it;
- `raw.events`: one row per event_id, the earliest received copy (ties by shard path, then
  line), whatever the order the days were loaded in, rewritten from `raw.raw_events`.

What this loader does not do (the Dagster path does it on DuckDB): the pandera contract checks
and their quarantine, the record of payload conflicts, the manifest of loaded shards with their
checksums. On the simulator's and the ingestor's output they change nothing (every landed copy
passed the contract at the edge); the Spark path is for running the dbt project at scale.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from ingestion.contract import ALL_FIELDS, BASE_FIELDS, FieldSpec
from ingestion.landing.layout import Stream, published_shards
from ingestion.landing.lines import EVENT_LINE_COLUMNS, LogicalType
from orchestration.warehouse.raw_schema import EVENT_COLUMNS, FIELD_OWNERS, RAW_SCHEMA, column_name

RAW_EVENTS = f"{RAW_SCHEMA}.raw_events"
EVENTS = f"{RAW_SCHEMA}.events"
_EVENT = "event"  # the landed line's field that holds the client's event
_BASE_NAMES = {spec.name for spec in BASE_FIELDS}
# DuckDB's types of raw_schema.EVENT_COLUMNS, as Spark spells them (JSON is kept as its text)
_SPARK_TYPES = {
    "VARCHAR": "string",
    "INTEGER": "int",
    "BIGINT": "bigint",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
    "DATE": "date",
    "JSON": "string",
}
SPARK_EVENT_COLUMNS: dict[str, str] = {
    name: _SPARK_TYPES[dtype] for name, dtype in EVENT_COLUMNS.items()
}


def spark_settings(
    home: Path, cores: int = 2, shuffle_partitions: int = 4, codegen: bool = True
) -> dict[str, str]:
    """The Spark settings of the dbt profile's `spark` target for RESPAWN_HOME `home`
    (dbt_project/profiles.yml, whose env vars RESPAWN_SPARK_CORES, _SHUFFLE_PARTITIONS and
    _CODEGEN are the arguments): the warehouse directory and the Derby metastore under
    `home/spark`, UTC session time."""
    spark_home = home / "spark"
    return {
        "spark.master": f"local[{cores}]",
        "spark.app.name": "respawn-dbt",
        "spark.sql.warehouse.dir": str(spark_home / "warehouse"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={spark_home / 'metastore_db'};create=true"
        ),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={spark_home}",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.codegen.wholeStage": str(codegen).lower(),
    }


def spark_session(home: Path, **settings: Any) -> Any:
    """The process's SparkSession with the profile's settings (dbt's `session` method then uses
    this same session: one JVM for the loader and every dbt invocation of the process)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.enableHiveSupport()
    for key, value in spark_settings(home, **settings).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _utc(column: Any) -> Any:
    """An ISO 8601 text with a zone as a timestamp (NULL when it is not one)."""
    from pyspark.sql import functions as F

    return F.try_to_timestamp(column)


def _logical(keys: Iterable[str]) -> LogicalType:
    logical: Any = EVENT_LINE_COLUMNS
    for key in keys:
        logical = logical[key]
    return logical


def _typed_field(spec: FieldSpec) -> Any:
    from pyspark.sql import functions as F

    assert _logical([_EVENT]) == "json", "the event is a JSON object"
    value = F.get_json_object(F.col("line.event"), f"$.{spec.name}")
    if column_name(spec) != spec.name:  # the client's `timestamp`, typed as `client_ts`
        return _utc(value)
    if spec.kind == "integer":
        value = value.try_cast("int")
    elif spec.kind == "boolean":
        value = value.try_cast("boolean")
    if spec.name in _BASE_NAMES:
        return value
    owners = list(FIELD_OWNERS[spec.name])
    event_name = F.get_json_object(F.col("line.event"), "$.event_name")
    return F.when((F.col("line.status") == "valid") & event_name.isin(owners), value)


def _line_schema() -> Any:
    """The landed line's top level, as Spark reads it: every field a string (the event, a JSON
    object, is kept as its text)."""
    from pyspark.sql.types import StringType, StructField, StructType

    for name, logical in EVENT_LINE_COLUMNS.items():
        assert logical in ("string", "json"), f"{name}: a scalar or JSON of the line"
    return StructType([StructField(name, StringType()) for name in EVENT_LINE_COLUMNS])


def landed_copies(spark: Any, landing_root: Path, days: Iterable[date]) -> Any:
    """A DataFrame of every landed copy of the days' published event shards, typed as
    `SPARK_EVENT_COLUMNS`; None when those days have no shard."""
    from pyspark.sql import functions as F

    root = landing_root.resolve()
    shards = [p for day in sorted(set(days)) for p in published_shards(root, Stream.EVENTS, day)]
    if not shards:
        return None
    files = spark.read.text([str(p) for p in shards], wholetext=True).select(
        F.input_file_name().alias("uri"), "value"
    )
    # a shard's lines by position: the line number is exact by construction; the piece after
    # the last newline is empty in a published shard
    lines = files.select(
        "uri", F.posexplode(F.split("value", "\n")).alias("position", "text")
    ).where(F.col("text") != "")
    prefix = root.as_uri().rstrip("/") + "/"
    parsed = lines.select(
        F.expr(f"substring(uri, {len(prefix) + 1})").alias("shard_path"),
        (F.col("position") + 1).cast("bigint").alias("line_number"),
        F.from_json("text", _line_schema(), {"mode": "FAILFAST"}).alias("line"),
    )
    values = {column_name(spec): _typed_field(spec) for spec in ALL_FIELDS}
    values |= {
        "client_timestamp": F.get_json_object(F.col("line.event"), "$.timestamp"),
        "status": F.col("line.status"),
        "payload": F.col("line.event"),
        "received_at": _utc(F.col("line.received_at")),
        "sent_at": _utc(F.col("line.sent_at")),
        "batch_id": F.col("line.batch_id"),
        "connection_id": F.col("line.connection_id"),
        # the partition in the shard's path (dt=YYYY-MM-DD), as on DuckDB
        "receive_date": F.to_date(F.regexp_extract("shard_path", r"dt=(\d{4}-\d{2}-\d{2})", 1)),
        "shard_path": F.col("shard_path"),
        "line_number": F.col("line_number"),
    }
    assert set(values) == set(SPARK_EVENT_COLUMNS), "one value per column"
    return parsed.select(
        *(values[name].cast(dtype).alias(name) for name, dtype in SPARK_EVENT_COLUMNS.items())
    )


def _columns_ddl() -> str:
    return ", ".join(f"{name} {dtype}" for name, dtype in SPARK_EVENT_COLUMNS.items())


def create_raw_tables(spark: Any) -> None:
    """`raw.raw_events` (partitioned by receive_date) and `raw.events`, if they do not exist."""
    spark.sql(f"create database if not exists {RAW_SCHEMA}")
    spark.sql(
        f"create table if not exists {RAW_EVENTS} ({_columns_ddl()}) using parquet "
        "partitioned by (receive_date)"
    )
    spark.sql(f"create table if not exists {EVENTS} ({_columns_ddl()}) using parquet")


def load_days(spark: Any, landing_root: Path, days: Iterable[date]) -> int:
    """Load the days' shards (replacing what was loaded of them before), then rewrite
    `raw.events` from every loaded copy. Returns the number of copies loaded."""
    days = sorted(set(days))
    create_raw_tables(spark)
    copies = landed_copies(spark, landing_root, days)
    loaded = 0
    if copies is not None:
        columns = [name for name in SPARK_EVENT_COLUMNS if name != "receive_date"]
        # a loaded day is replaced whole: the days' partitions, and only them
        spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
        copies.createOrReplaceTempView("_landed_copies")
        spark.sql(
            f"insert overwrite table {RAW_EVENTS} partition (receive_date) "
            f"select {', '.join(columns)}, receive_date from _landed_copies"
        )
        spark.catalog.dropTempView("_landed_copies")
        listed = ", ".join(f"date'{day}'" for day in days)
        loaded = spark.sql(
            f"select count(*) from {RAW_EVENTS} where receive_date in ({listed})"
        ).collect()[0][0]
    rewrite_events(spark)
    return loaded


def rewrite_events(spark: Any) -> None:
    """`raw.events` from `raw.raw_events`: the earliest received copy of each event_id (a copy
    without a receive time sorts last; ties by shard path, then line), as `dedupe.merge_events`
    keeps it. A copy without an event_id cannot be deduplicated and fails the contract there:
    it is left out here too."""
    columns = ", ".join(SPARK_EVENT_COLUMNS)
    spark.sql(
        f"""
        insert overwrite table {EVENTS}
        select {columns} from (
            select *, row_number() over (
                partition by event_id
                order by received_at asc nulls last, shard_path, line_number
            ) as copy_rank
            from {RAW_EVENTS}
            where event_id is not null
        ) where copy_rank = 1
        """
    )


def main(argv: list[str] | None = None) -> None:
    """`python -m orchestration.warehouse.spark_loading [DAY ...]`: load the landing of
    $RESPAWN_HOME (every landed receive date, or the dates given) into Spark's `raw.events`."""
    import argparse

    from ingestion.landing.layout import shard_day
    from ingestion.settings import landing_root, respawn_home

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("days", nargs="*", type=date.fromisoformat, help="YYYY-MM-DD")
    options = parser.parse_args(argv)
    home = respawn_home()
    root = landing_root(home)
    days = options.days or sorted({shard_day(p) for p in published_shards(root, Stream.EVENTS)})
    if not days:
        raise SystemExit(f"nothing landed under {root}: run `respawn simulate --to-landing` first")
    spark = spark_session(home)
    try:
        loaded = load_days(spark, root, days)
        kept = spark.table(EVENTS).count()
    finally:
        spark.stop()
    print(
        f"loaded {loaded} landed copies of {len(days)} receive date(s) into Spark's "
        f"{RAW_EVENTS}; {EVENTS} holds {kept} events ({home / 'spark'})"
    )


if __name__ == "__main__":
    main()
