"""Running the landing and warehouse assets on a test's home, and reading its warehouse."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from ingestion.settings import warehouse_path
from orchestration.landing.assets import load_landed_shards
from orchestration.resources import build_resources
from orchestration.warehouse.assets import deduplicate_events


def run_days(
    home: Path,
    instance: dg.DagsterInstance,
    day: str,
    *,
    only_landing: bool = False,
    replace: bool = False,
    raise_on_error: bool = True,
    warehouse: object | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize one partition of the landing (and warehouse) assets, in process."""
    resources = build_resources(home)
    if warehouse is not None:
        resources["warehouse"] = warehouse
    assets = [load_landed_shards] if only_landing else [load_landed_shards, deduplicate_events]
    return dg.materialize(
        assets,
        partition_key=day,
        resources=resources,
        instance=instance,
        run_config={"ops": {"load_landed_shards": {"config": {"replace": replace}}}},
        raise_on_error=raise_on_error,
    )


def raw_rows(home: Path, table: str = "raw_events") -> int:
    """How many rows `raw.<table>` of the test's warehouse holds."""
    return query(home, f"select count(*) from raw.{table}")[0][0]


def query(home: Path, sql: str, params: object = None) -> list[tuple]:
    """Rows of a query on the test's warehouse (connection closed before returning)."""
    con = duckdb.connect(str(warehouse_path(home)))
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()
